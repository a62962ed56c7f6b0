"""`python -m bench [--quick]`: run every figure and print the table."""

from bench.harness import main

if __name__ == "__main__":
    raise SystemExit(main())
