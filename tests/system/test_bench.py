"""Smoke tests of the benchmark harness's building blocks (no timing assertions)."""

from __future__ import annotations

import dataclasses
import gzip
import io
import os

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench import figures
from bench.harness import machine, run_figures
from bench.loadgen import Load, fetch, percentile, run_load
from bench.procs import Processes, cpu_seconds, rss_bytes
from bench.report import Row, Table, goals_line, markdown
from bench.services import Bench, samples, series_count
from bench.sizes import QUICK

TINY = dataclasses.replace(QUICK, round_targets=4, round_concurrency=2, round_latency=0.05, round_agents_per_target=3)


@pytest.fixture
def bench(tmp_path):
    with Processes(tmp_path) as procs:
        yield Bench(TINY, procs, tmp_path)


def test_table_prints_rows_then_goals_line_counting_only_judged_rows():
    out = io.StringIO()
    table = Table(out)
    table.start()
    table.add(Row("render 1k series", "1.0 ms", "generate_latest 9.0 ms", 1 / 9, "≤ 1×", True))
    table.add(Row("poll round", "4.0 s", "ideal 3.2 s", 1.25, "≤ 1.15×", False))
    table.add(Row("naive", "p99 2 ms", "naive p99 1 s", 0.002, "report", None))
    table.finish()
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:6] == ["figure", "value", "baseline", "ratio", "goal", "met"]
    assert "0.11×" in lines[2] and lines[2].rstrip().endswith("yes")
    assert "1.25×" in lines[3] and lines[3].rstrip().endswith("NO")
    assert lines[4].rstrip().endswith("—")
    assert lines[-1] == "goals met: 1/2"
    assert goals_line(table.rows) == "goals met: 1/2"


def test_markdown_table_escapes_pipes_and_ends_with_goals_line():
    text = markdown([Row("a | b", "1", "2", 0.5, "≤ 1×", True)])
    assert "| a \\| b | 1 | 2 | 0.50× | ≤ 1× | yes |" in text
    assert text.rstrip().endswith("goals met: 1/1")


def test_percentile_interpolates_between_ranks():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_series_count_and_target_samples():
    body = (
        b"# HELP convoso_up x\n# TYPE convoso_up gauge\n"
        b'convoso_up{target="a"} 1.0\nconvoso_up{target="b"} 0.0\n'
        b'convoso_agents{target="a",status="READY"} 3.0\n'
    )
    assert series_count(body) == 3
    assert samples(body, "convoso_up") == {"a": 1.0, "b": 0.0}


def test_proc_readers_see_this_process():
    assert cpu_seconds(os.getpid()) > 0
    assert rss_bytes(os.getpid()) > 1024 * 1024


def test_machine_line_names_cpus_memory_and_python():
    line = machine()
    assert "CPUs" in line and "RAM" in line and "Python 3." in line


def test_processes_are_stopped_when_the_block_ends(tmp_path):
    with Processes(tmp_path) as procs:
        proc = procs.python("sleeper", ["-c", "import time; time.sleep(60)"])
        assert proc.poll() is None
    assert proc.poll() is not None


def test_static_server_serves_exact_bytes_to_the_load_generator(bench):
    body = b"convoso_up 1.0\n" * 5000
    compressed = gzip.compress(body)
    port = bench.static_server("static", body, compressed)
    assert fetch(port, "/metrics").body == body
    answer = fetch(port, "/metrics", gzip=True)
    assert answer.headers["content-encoding"] == "gzip" and answer.body == compressed
    result = run_load(Load(port, gzip=False, concurrency=2, requests=3, warmup=1))
    assert len(result.latencies) == 6 and not result.errors
    assert result.body_bytes == len(body)
    # The same, through the load generator's own process.
    assert len(bench.load(Load(port, gzip=True, concurrency=1, requests=4)).latencies) == 4


def test_naive_exporter_serves_valid_exposition_from_the_simulator(bench):
    sim = bench.simulator("sim", agents=30, campaigns=3, latency=0.0)
    config = bench.exporter_config("naive", sim, poll_interval=15, concurrency=2)
    port = bench.naive_exporter("naive", config)
    answer = fetch(port, "/metrics")
    assert answer.status == 200
    families = {f.name: f for f in text_string_to_metric_families(answer.body.decode())}
    up = {s.labels["target"]: s.value for s in families["convoso_up"].samples}
    assert up == {f"campaign-{cid}": 1.0 for cid in sim.campaign_ids}
    assert sum(s.value for s in families["convoso_agents"].samples) == 30
    assert len(families["convoso_agent_info"].samples) == 30
    # Every scrape calls the API again: once per target.
    served = sim.state()["requests_served"]
    fetch(port, "/metrics")
    assert sim.state()["requests_served"] == served + 3


def test_poll_round_figure_runs_end_to_end(bench):
    rows = list(figures.poll_round(bench))
    # 4 campaign targets and the account.
    assert [r.figure for r in rows] == ["poll round: 5 targets, 50.0 ms API, concurrency 2", "  TCP connections opened for that round"]
    assert rows[0].baseline == "ideal 150 ms" and rows[0].ratio > 0
    # Keep-alive: at most one connection per slot (behaviour, not timing).
    assert int(rows[1].value) <= 2 and rows[1].met


def test_a_failing_figure_becomes_a_missed_row_and_stops_its_processes(bench, monkeypatch):
    def broken(b):
        b.procs.python("leftover", ["-c", "import time; time.sleep(60)"])
        raise figures.BenchError("simulated failure")
        yield  # a generator, like every figure

    monkeypatch.setattr("bench.harness.FIGURES", (("broken", broken),))
    table = Table(io.StringIO())
    run_figures(bench, ["broken"], table)
    assert [(r.figure, r.met) for r in table.rows] == [("broken: failed", False)]
    assert "simulated failure" in table.rows[0].value
    assert bench.procs.children == {}


def test_model_figure_polls_the_account_and_every_discovered_scope(bench):
    # The window spans at least two polls (every 1 s in quick sizes): a 0.5 s one could
    # see none, and an idle exporter's CPU rounds to 0 ticks (a CI run did).
    bench.sizes = dataclasses.replace(TINY, model_agents=(300,), cpu_window=2.5)
    rows = list(figures.model(bench))
    # 300 agents: 3 campaigns and 6 queues discovered, and the account.
    assert [r.figure for r in rows] == [
        "300 agents, 10 targets: CPU per 15 s round",
        "300 agents: peak memory (Pss); series",
    ]
    assert rows[0].ratio > 0 and "per 1k agents" in rows[0].value and rows[0].met is None
    assert "MB per 1k agents" in rows[1].value and "series" in rows[1].value


def test_stage_costs_come_from_the_exporters_own_code():
    from bench.stages import measure

    data = measure(200, 1)
    assert data["agents"] == 200 and data["answer_bytes"] > 200 * 300
    assert data["series"] > 4 * 200  # every agent's series and the account's families
    assert all(data[key] > 0 for key in ("json_loads", "parse", "derive", "render"))


def test_render_figure_checks_ours_against_generate_latest():
    from bench.render import measure

    data = measure(1000, 1)  # raises SystemExit if the two texts differ
    assert 500 < data["series"] < 2000 and data["ours"] > 0 and data["generate_latest"] > 0


def test_busy_figure_scrapes_as_prometheus_does_while_the_exporter_polls(bench):
    from bench.busy import busy_scrapes

    bench.sizes = dataclasses.replace(TINY, design_agents=(300,), design_window=1.5)
    rows = list(busy_scrapes(bench))
    assert [r.figure for r in rows] == [
        "300 agents, default intervals: scrape latency while polling",
        "300 agents, default intervals: CPU and memory meanwhile",
    ]
    # The largest size is judged against the rule; n counts paced scrapes (one per 250 ms).
    assert rows[0].goal == "worst ≤ 1 s, p99 ≤ 250 ms" and rows[0].met is not None
    assert "worst" in rows[0].value and "(n=" in rows[0].value
    assert "peak Pss" in rows[1].value and rows[1].met is None
