"""The scrape loop and the immutable per-target state it publishes."""
