"""Figures measured in a process of their own, in-process code only: the per-agent cost
of each stage of a poll (bench/stages.py) and the render against prometheus_client
(bench/render.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

from bench.figures import ms, thousands
from bench.procs import child_env, die_with_parent
from bench.report import Row
from bench.services import ROOT, Bench, BenchError

# Decode + parse and render, per agent (CPU time).
STAGE_GOAL_US = 2.0


def run_module(module: str, *args: str) -> dict:
    argv = [sys.executable, "-m", module, *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=ROOT, env=child_env(),
                          preexec_fn=die_with_parent)
    if done.returncode != 0:
        raise BenchError(f"{module} failed: {done.stderr.strip()[-300:]}")
    return json.loads(done.stdout)


def us(seconds: float, agents: int) -> float:
    return seconds / agents * 1e6


def stages(bench: Bench) -> Iterator[Row]:
    """CPU time per agent of decode + parse, derive and render, against json.loads of the
    same answer (see bench/stages.py)."""
    for agents in bench.sizes.stage_agents:
        data = run_module("bench.stages", "--agents", str(agents), "--repeats", str(bench.sizes.stage_repeats))
        n = data["agents"]
        base = us(data["json_loads"], n)
        baseline = f"json.loads {base:.2f} µs/agent"
        per_agent = data["answer_bytes"] / n
        for key, what, goal in (
            ("parse", f"decode + parse, {n:,} agents ({per_agent:.0f} B/agent)", STAGE_GOAL_US),
            ("derive", f"derive (counters, agent time), {n:,} agents", None),
            ("render", f"render, {n:,} agents ({thousands(data['series'])} series)", STAGE_GOAL_US),
        ):
            value = us(data[key], n)
            yield Row(
                what,
                f"{value:.2f} µs/agent ({ms(data[key])} CPU)",
                baseline,
                value / base,
                f"≤ {goal:g} µs/agent" if goal is not None else "report",
                value <= goal if goal is not None else None,
            )


def render(bench: Bench) -> Iterator[Row]:
    """A cold render of the model's states, ours vs generate_latest (see bench/render.py)."""
    for series in bench.sizes.render_series:
        data = run_module("bench.render", "--series", str(series), "--repeats", str(bench.sizes.render_repeats))
        ours, baseline = data["ours"], data["generate_latest"]
        yield Row(
            f"render {thousands(data['series'])} series, cold (states → every format + gzip)",
            f"{ms(ours)} (text 0.0.4 alone {ms(data['text_only'])})",
            f"generate_latest {ms(baseline)}",
            ours / baseline,
            "≤ 1× (never slower)",
            ours <= baseline,
        )
