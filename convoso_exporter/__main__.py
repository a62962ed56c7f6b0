"""`python -m convoso_exporter` runs the same command as `convoso-exporter`."""

from convoso_exporter.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
