"""`python -m bench`: run the figures, print the table, clean up every process.

A figure that fails (a process died, a wrong answer) gets a row saying so, counted as
a missed goal, and the run goes on with the next figure. Ctrl-C or SIGTERM stop the
run; either way every process started is stopped before the harness exits.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from bench import busy, costs, crowd, figures, scrapes
from bench.procs import ProcessFailed, Processes
from bench.report import Row, Table, markdown
from bench.services import Bench, BenchError
from bench.sizes import FULL, QUICK

# The figures in the order they run, by the name `--figure` selects them with.
FIGURES = (
    ("round", figures.poll_round),
    ("model", figures.model),
    ("stages", costs.stages),
    ("render", costs.render),
    ("naive", figures.naive),
    ("scrape", scrapes.scrape_latency),
    ("busy", busy.busy_scrapes),
    ("crowd", crowd.crowd_latency),
)
FIGURE_KEYS = [key for key, _ in FIGURES]


def machine() -> str:
    """nproc, CPU model, memory and Python version, on one line."""
    model = "unknown CPU"
    memory = "unknown memory"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
                break
    return f"{os.cpu_count()} CPUs ({model}), {memory}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_figures(bench: Bench, keys: Sequence[str], table: Table) -> None:
    for key, figure in FIGURES:
        if key not in keys:
            continue
        try:
            for row in figure(bench):
                table.add(row)
        except (BenchError, ProcessFailed, OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
            table.add(Row(f"{key}: failed", f"{type(exc).__name__}: {exc}"[:300], "—", None, "runs", False))
        finally:
            bench.procs.stop_all()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Benchmark convoso-exporter against baselines measured in the same run.")
    parser.add_argument("--quick", action="store_true", help="the same figures at smaller sizes (under 60 s)")
    parser.add_argument("--figure", action="append", choices=FIGURE_KEYS, help="run only this figure (repeatable)")
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (configs, process logs)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    # Also SIGINT: a shell starts background jobs with it ignored, and Ctrl-C must still work.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="convoso-bench-"))
    print(f"machine: {machine()}", flush=True)
    print(f"mode: {'quick' if args.quick else 'full'}; work folder {workdir}", flush=True)
    table = Table(sys.stdout)
    started = time.monotonic()
    try:
        with Processes(workdir) as procs:
            table.start()
            run_figures(Bench(sizes, procs, workdir), args.figure or FIGURE_KEYS, table)
    except KeyboardInterrupt:
        print("interrupted: every process started was stopped", file=sys.stderr)
        return 130
    table.finish()
    print(f"took {time.monotonic() - started:.0f} s", flush=True)
    if args.markdown:
        args.markdown.write_text(f"machine: {machine()}\n\n" + markdown(table.rows))
    failed = any(row.figure.endswith(": failed") for row in table.rows)
    if failed or args.keep:
        print(f"process logs kept in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
