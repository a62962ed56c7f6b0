"""The result table: one row per figure, printed as each figure completes.

Every row compares a measured `value` with a `baseline` from the same run; `ratio` is
value ÷ baseline (lower is better for every figure here), and `met` says whether the
goal holds. A row with `met=None` is reported only and does not count toward
`goals met: N/M`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, TextIO

COLUMNS = ("figure", "value", "baseline", "ratio", "goal", "met")
WIDTHS = (62, 44, 34, 7, 20, 3)


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    baseline: str
    ratio: float | None
    goal: str
    met: bool | None


def ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    if ratio >= 100:
        return f"{ratio:.0f}×"
    return f"{ratio:.2f}×" if ratio >= 0.1 else f"{ratio:.2g}×"


def met_text(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "NO")


def cells(row: Row) -> tuple[str, ...]:
    return (row.figure, row.value, row.baseline, ratio_text(row.ratio), row.goal, met_text(row.met))


def format_line(values: Iterable[str]) -> str:
    """One fixed-width line; a cell longer than its column pushes the rest right."""
    return "  ".join(v.ljust(w) for v, w in zip(values, WIDTHS)).rstrip()


def header() -> str:
    return format_line(COLUMNS) + "\n" + format_line("-" * w for w in WIDTHS)


def goals_line(rows: Iterable[Row]) -> str:
    judged = [row.met for row in rows if row.met is not None]
    return f"goals met: {sum(judged)}/{len(judged)}"


def markdown(rows: Iterable[Row]) -> str:
    """The table as GitHub markdown (for docs/benchmarks.md), with the goals line."""
    rows = list(rows)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n\n" + goals_line(rows) + "\n"


class Table:
    """Prints the header at once, each row as it is added, and the goals line last."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.rows: list[Row] = []

    def start(self) -> None:
        print(header(), file=self.out, flush=True)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(format_line(cells(row)), file=self.out, flush=True)

    def finish(self) -> None:
        print(goals_line(self.rows), file=self.out, flush=True)
