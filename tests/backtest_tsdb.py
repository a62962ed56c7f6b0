"""The backtest's Prometheus: samples written as blocks, the shipped rules evaluated over
the past with promtool, then queried like a Prometheus that had run all along.

    promtool tsdb create-blocks-from openmetrics   the exporter's samples ▶ blocks
    prometheus (Debian's, loopback, own storage)   serves them (retention 60d)
    promtool tsdb create-blocks-from rules         each recording rule ▶ blocks, by levels

`create-blocks-from rules` evaluates each rule with query_range against the running
Prometheus, so a rule that reads another recording rule sees it only once that rule's
blocks are in the data folder: the rules are split into levels (a rule's level is one
more than the highest level of the recording rules it reads), each level is backfilled,
its blocks moved in and Prometheus restarted before the next. Groups keep their own
`interval` (the tiles: 15m); the others are evaluated every EVAL_INTERVAL. Every level
is written to the same file, named the same in every run: a group's evaluation times are
offset by a hash of its name and file, so this way a rule and the rules it reads share
their times, as they do in Prometheus (where a group evaluates its rules one after the
other), and every run evaluates at the same times. Alerting
rules are never backfilled: `Alerts` evaluates their expressions with query_range and
applies their `for:` the way Prometheus's rule manager does.

promtool and Prometheus cut blocks of 2h by default, and each 2h block costs a pass over
the whole input and, for rules, one query per rule; `--max-block-duration` (a hidden
flag in Prometheus 2.42's promtool) makes them a few weeks long: seconds instead of
minutes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.e2e_stack import Prometheus, binary_process
from tests.support import free_port, wait_http

EVAL_INTERVAL = 300  # seconds, for groups without their own interval (Prometheus's would be 15s)
# A block at most this long: query_range answers at most 11,000 steps (486h at 5m is 5,832).
BLOCK = "486h"
MAX_STEPS = 10_000
RECORD_RE = re.compile(r"convoso:[a-z0-9_]+:[a-z0-9_]+")


def rule_levels(groups: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The recording rules as rule files' groups, one list of groups per level."""
    records = {rule["record"]: rule for group in groups for rule in group["rules"] if "record" in rule}
    level: dict[str, int] = {}

    def of(name: str) -> int:
        if name not in level:
            reads = [found for found in RECORD_RE.findall(records[name]["expr"]) if found in records]
            level[name] = 1 + max((of(found) for found in reads), default=0)
        return level[name]

    levels: list[list[dict[str, Any]]] = []
    for number in range(1, 1 + max((of(name) for name in records), default=0)):
        kept = []
        for group in groups:
            rules = [rule for rule in group["rules"] if "record" in rule and of(rule["record"]) == number]
            if rules:
                kept.append({**{k: v for k, v in group.items() if k != "rules"}, "rules": rules})
        levels.append(kept)
    return levels


class Backtest:
    """A data folder with the samples, a Prometheus on it, the rules backfilled into it."""

    def __init__(self, folder: Path, prometheus: str, promtool: str) -> None:
        self.folder, self.binary, self.promtool = folder, prometheus, promtool
        self.data = folder / "data"
        self.port = free_port()
        self.config = folder / "prometheus.yml"
        self.config.write_text("global:\n  scrape_interval: 1m\n")
        self.timings: dict[str, float] = {}

    def run(self, *args: str) -> None:
        done = subprocess.run(
            [self.promtool, *args], capture_output=True, text=True, timeout=120, cwd=self.folder, check=False
        )
        assert done.returncode == 0, f"promtool {' '.join(args)}: {done.stdout}{done.stderr}"

    def load_samples(self, openmetrics: str) -> None:
        path = self.folder / "samples.om.txt"
        path.write_text(openmetrics)
        self.run("tsdb", "create-blocks-from", "openmetrics", "--quiet", f"--max-block-duration={BLOCK}",
                 str(path), str(self.data))

    @contextmanager
    def serving(self) -> Iterator[Prometheus]:
        """Prometheus on the data folder, ready; stopped at the end."""
        args = [
            self.binary, f"--config.file={self.config}", f"--storage.tsdb.path={self.data}",
            "--storage.tsdb.retention.time=60d", f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        with binary_process(args, self.folder / "prometheus.log") as proc:
            url = f"http://127.0.0.1:{self.port}"
            wait_http(f"{url}/-/ready", proc=proc, timeout=30)
            prometheus = Prometheus(url)
            try:
                yield prometheus
            finally:
                prometheus.close()

    def backfill(self, rules_file: Path, start: float, end: float) -> int:
        """Every recording rule of `rules_file` evaluated from `start` to `end`; the levels."""
        levels = rule_levels(yaml.safe_load(rules_file.read_text())["groups"])
        level_file = self.folder / "rules" / rules_file.name
        level_file.parent.mkdir(exist_ok=True)
        for number, groups in enumerate(levels, start=1):
            level_file.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
            output = self.folder / f"level{number}"
            with self.serving():
                self.run(
                    "tsdb", "create-blocks-from", "rules", "--quiet", f"--url=http://127.0.0.1:{self.port}",
                    f"--start={start:.0f}", f"--end={end:.0f}", f"--eval-interval={EVAL_INTERVAL}s",
                    f"--max-block-duration={BLOCK}", f"--output-dir={output}",
                    str(level_file.relative_to(self.folder)),
                )
            for block in output.iterdir():
                shutil.move(str(block), self.data / block.name)
        return len(levels)


def raw_samples(prometheus: Prometheus, selector: str, start: float, end: float) -> dict[tuple, list]:
    """labels (sorted items) -> [(time, value)]: every stored sample of `selector` in [start, end]."""
    found = prometheus.query(f"{selector}[{end - start:.0f}s]", end)
    return {tuple(sorted(s["metric"].items())): [(float(t), float(v)) for t, v in s["values"]] for s in found}


def query_range(prometheus: Prometheus, expr: str, start: float, end: float, step: int) -> dict[tuple, list]:
    """labels (sorted items) -> [(time, value)], over as many requests as the step count needs."""
    series: dict[tuple, list] = {}
    at = start
    while at <= end:
        until = min(end, at + step * (MAX_STEPS - 1))
        data = prometheus._get("/api/v1/query_range", {"query": expr, "start": at, "end": until, "step": step})
        for found in data["result"]:
            key = tuple(sorted(found["metric"].items()))
            series.setdefault(key, []).extend((float(t), float(v)) for t, v in found["values"])
        at = until + step
    return series


def alert_periods(points: list[float], step: int, for_seconds: float, end: float) -> list[tuple[float, float | None]]:
    """When an alert fired and resolved, given the times its expression returned the series.

    The rule manager's way: the first evaluation that returns the series makes the alert
    pending (active since then); an evaluation at least `for` after that, still
    returning it, fires it; the first evaluation without it resolves it (a missed step
    breaks the run). (fired, resolved, or None if still firing at `end`) per firing."""
    periods: list[tuple[float, float | None]] = []
    active = fired = previous = None
    for at in points:
        if previous is None or at - previous > step:
            if fired is not None:
                periods.append((fired, previous + step))
            active, fired = at, None
        if fired is None and at - active >= for_seconds:
            fired = at
        previous = at
    if fired is not None:
        periods.append((fired, previous + step if previous + step <= end else None))
    return periods
