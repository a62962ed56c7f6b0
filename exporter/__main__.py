"""`python -m exporter` runs the same command as `convoso-exporter`."""

from exporter.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
