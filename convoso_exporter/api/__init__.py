"""The Convoso API: the HTTP client, tolerant parsing into the typed model, the error taxonomy."""
