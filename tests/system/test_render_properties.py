"""Every snapshot the parser can return renders, through the real families and the cached
renderer (the account target included), to an exposition with no series listed twice
that `promtool check metrics` accepts.

Snapshots come from generated answers (tests/api_strategies.py) parsed as the client
parses them. Each example is rendered and checked in-process; promtool runs once, at
the end, over the whole batch: each exposition's metric names get a prefix of their
own (b0_, b1_, ...) so the batch is one valid exposition.
"""

from __future__ import annotations

import gzip
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convoso_exporter.api.errors import ConvosoError
from convoso_exporter.api.parse import parse_search
from convoso_exporter.config.schema import ACCOUNT, Target
from convoso_exporter.derive.history import Deriver
from convoso_exporter.poll.state import TargetState
from tests.api_strategies import good_documents
from tests.support import require_binary
from tests.unit.expose.support import INFO, NOW, api_stats, renderer, samples

pytestmark = pytest.mark.prometheus

TOKEN = "render-T0ken/+="
TARGETS = (Target("account", kind=ACCOUNT), Target("east", campaign_id="1"), Target("skills", skills=("a", "b")))


def states(docs: list[dict]) -> list[TargetState]:
    """A published state per answer (the first is the account's), polled twice so the
    derived counters and agent time have values."""
    deriver = Deriver()
    result = []
    for target, doc in zip(TARGETS, docs):
        try:
            snapshot = parse_search(doc, secret=TOKEN)
        except ConvosoError:
            continue  # not a snapshot: the renderer never sees it
        derived = deriver.advance(target, None, snapshot, NOW - 15)
        derived = deriver.advance(target, derived, snapshot, NOW)
        result.append(TargetState(target, stale_after=45.0, snapshot=snapshot, last_success=NOW, up=True,
                                  attempted=True, last_duration=0.2, generation=2, derived=derived))
    return result


def prefixed(body: str, prefix: str) -> str:
    """The exposition with every metric name prefixed: HELP, TYPE and sample lines."""
    lines = []
    for line in body.split("\n"):  # not splitlines(): a label value may hold \r or \u2028
        if line.startswith(("# HELP ", "# TYPE ")):
            lines.append(line[:7] + prefix + line[7:])
        elif line and not line.startswith("#"):
            lines.append(prefix + line)
    return "\n".join(lines) + "\n"


def test_every_snapshot_renders_to_an_exposition_promtool_accepts():
    promtool = require_binary("promtool")
    bodies: list[str] = []

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(good_documents(), min_size=1, max_size=len(TARGETS)))
    def render(docs):
        exposition = renderer().render(states(docs), api_stats(), NOW, INFO)
        samples(exposition.body)  # parses, and no series is listed twice
        assert gzip.decompress(exposition.gzip_body) == exposition.body
        text = exposition.body.decode("utf-8")
        assert TOKEN not in text
        bodies.append(text)

    render()
    batch = "".join(prefixed(body, f"b{index}_") for index, body in enumerate(bodies))
    done = subprocess.run([promtool, "check", "metrics"], input=batch.encode(), capture_output=True, timeout=60)
    report = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0 and report == "", report[:2000]
    print(f"promtool accepted {len(bodies)} generated expositions ({len(batch) / 1e6:.1f} MB) in one run")
