"""The HTTP server, the web config (TLS, basic auth) and the endpoints it serves."""
