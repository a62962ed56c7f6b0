"""convoso-exporter: Prometheus metrics for the Convoso contact-center API."""

__version__ = "0.1.0"
