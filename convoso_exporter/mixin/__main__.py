"""`python -m convoso_exporter.mixin` (also `convoso-exporter mixin`): regenerate every
generated file, or check that none is stale.

Without --output-dir it writes into the source checkout it runs from (an installed
package has none, so it writes under the current folder). --check writes nothing and
exits 1 naming each file that differs from what would be generated, which is how CI
proves the committed files are fresh.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from convoso_exporter.mixin import dashboards, kubernetes, rules
from convoso_exporter.mixin.files import COMMAND, Generated
from convoso_exporter.mixin.settings import Settings, SettingsError, apply_overrides, defaults_text

PROG = "convoso_exporter.mixin"
# Dependency order: the rules, the PrometheusRule carrying them, the dashboards drawing their lines.
GENERATORS: tuple[Callable[[Settings], list[Generated]], ...] = (rules.files, kubernetes.files, dashboards.files)


def default_output_dir() -> Path:
    """The checkout this package runs from (`pip install -e`), else the current folder."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


def generate(settings: Settings) -> list[Generated]:
    """Every generated file, all in memory: a bad setting fails before anything is written."""
    return [file for generator in GENERATORS for file in generator(settings)]


def is_current(file: Generated, root: Path) -> bool:
    """Whether the file on disk is exactly the generated text (a missing file is not)."""
    path = root / file.path
    return path.is_file() and path.read_text(encoding="utf-8") == file.text


def write(files: list[Generated], root: Path) -> None:
    """Write the files that differ, naming each, so unchanged files keep their timestamps."""
    for file in files:
        if not is_current(file, root):
            path = root / file.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(file.text, encoding="utf-8")
            print(f"wrote {file.path}")


def check(files: list[Generated], root: Path) -> int:
    """0 when every file is current; else 1, naming each stale file on stderr."""
    stale = [file.path for file in files if not is_current(file, root)]
    for path in stale:
        print(f"{PROG}: {path} is stale: run {COMMAND}", file=sys.stderr)
    return 1 if stale else 0


def parse_args(argv: list[str] | None, prog: str = COMMAND) -> argparse.Namespace:
    """The command line: --check, --set NAME=VALUE (repeatable), --output-dir (or --out)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Generate the Prometheus rules, the PrometheusRule and the Grafana dashboards.",
        epilog=f"Settings and their defaults: {defaults_text()}",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming each stale file")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a setting")
    parser.add_argument(
        "--output-dir",
        "--out",
        dest="output_dir",
        type=Path,
        default=None,
        help="folder the files are written under, at their repository paths "
        "(default: the source checkout, or the current folder for an installed package)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, prog: str = COMMAND) -> int:
    """Generate everything in memory, then check or write it; 2 on a bad setting."""
    args = parse_args(argv, prog)
    root = args.output_dir or default_output_dir()
    try:
        files = generate(apply_overrides(Settings(), args.set))
    except SettingsError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    if args.check:
        return check(files, root)
    write(files, root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
