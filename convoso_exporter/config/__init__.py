"""Configuration: the strict YAML loader, the typed settings and their validation, units."""
