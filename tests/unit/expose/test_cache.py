"""convoso_exporter.expose.cache: cached per-target pieces → the exposition, plain and gzip."""

from __future__ import annotations

import dataclasses
import gzip
import zlib

import pytest

from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import Target
from convoso_exporter.expose import cache
from convoso_exporter.expose.cache import MetricsRenderer
from tests.unit.expose.support import (
    INFO,
    NOW,
    agent,
    api_stats,
    families,
    full_snapshot,
    hostile_states,
    reference,
    renderer,
    samples,
    state,
    value,
)


def test_body_is_byte_identical_to_generate_latest_for_the_same_families():
    r = renderer()
    states, stats = hostile_states(), api_stats()
    body = r.render(states, stats, NOW, INFO).body
    assert body == reference(families(r, states, stats, NOW, INFO))
    # Rendered again from the cache, and with one target re-rendered: still identical.
    assert r.render(states, stats, NOW, INFO).body == body
    states[1] = dataclasses.replace(states[1], generation=2, snapshot=full_snapshot((agent("9", "READY"),)))
    assert r.render(states, stats, NOW, INFO).body == reference(families(r, states, stats, NOW, INFO))



# (g) ------------------------------------------------------------------------------


class Counting:
    """Wraps the renderer's target_families to count calls per target."""

    def __init__(self, r: MetricsRenderer, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        original = cache.target_families

        def counted(state, now, options):
            self.calls.append(state.target.name)
            return original(state, now, options)

        monkeypatch.setattr(cache, "target_families", counted)

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


def test_cache_rerenders_only_changed_targets(monkeypatch):
    r = renderer()
    counter = Counting(r, monkeypatch)
    states = [state("a", (agent("1"),)), state("b", (agent("2"),)), state("c", (agent("3"),))]
    first = r.render(states, ApiStats(), NOW, INFO)
    assert counter.take() == ["a", "b", "c"]

    assert r.render(states, ApiStats(), NOW, INFO).body == first.body
    assert counter.take() == []

    states[1] = dataclasses.replace(states[1], generation=2, snapshot=full_snapshot((agent("2", "INCALL"),)))
    changed = r.render(states, ApiStats(), NOW, INFO).body
    assert counter.take() == ["b"]
    assert value(changed, "convoso_target_agents", target="b", status="INCALL") == 1
    assert value(changed, "convoso_target_agents", target="a", status="READY") == 1

    # The same name with another config is another target, even at the same generation.
    states[2] = dataclasses.replace(states[2], target=Target("c", queue_id="9"))
    r.render(states, ApiStats(), NOW, INFO)
    assert counter.take() == ["c"]


def test_removed_targets_disappear_and_are_evicted(monkeypatch):
    r = renderer()
    counter = Counting(r, monkeypatch)
    a, b = state("a", (agent("1"),)), state("b", (agent("2"),))
    r.render([a, b], ApiStats(), NOW, INFO)
    counter.take()
    body = r.render([a], ApiStats(), NOW, INFO).body
    assert counter.take() == []
    assert not any(dict(labels).get("target") == "b" for _, labels in samples(body))
    assert body == reference(families(r, [a], ApiStats(), NOW, INFO))
    counter.take()  # families() builds afresh, uncached
    # Evicted: bringing it back renders it again.
    r.render([a, b], ApiStats(), NOW, INFO)
    assert counter.take() == ["b"]


def test_staleness_flip_rerenders_the_target(monkeypatch):
    r = renderer()
    counter = Counting(r, monkeypatch)
    s = state("a", (agent("1"),), age=40)
    r.render([s], ApiStats(), NOW, INFO)
    r.render([s], ApiStats(), NOW + 1, INFO)
    assert counter.take() == ["a"]
    r.render([s], ApiStats(), NOW + 10, INFO)
    assert counter.take() == ["a"]


# (h) ------------------------------------------------------------------------------


def test_gzip_body_decompresses_to_body():
    r = renderer(process_metrics=True)
    states = hostile_states()
    for step in range(3):
        exposition = r.render(states, api_stats(), NOW, INFO)
        assert gzip.decompress(exposition.gzip_body) == exposition.body
        # One gzip member, checked with zlib's own gzip reader too (CRC and length).
        decompressor = zlib.decompressobj(wbits=31)
        assert decompressor.decompress(exposition.gzip_body) == exposition.body
        assert decompressor.eof and decompressor.unused_data == b""
        assert len(exposition.gzip_body) < len(exposition.body)
        states[step % 3] = dataclasses.replace(states[step % 3], generation=10 + step)


def test_gzip_of_an_empty_target_list_is_valid():
    exposition = renderer().render([], ApiStats(), NOW, INFO)
    assert gzip.decompress(exposition.gzip_body) == exposition.body
    assert value(exposition.body, "convoso_exporter_targets", kind="custom") == 2


# (i) ------------------------------------------------------------------------------



# --- a target that cannot be rendered never freezes the rest -------------------------------


def test_a_target_whose_values_cannot_be_rendered_keeps_its_health_and_the_rest_renders(caplog):
    """A value beyond float range used to make every render fail (OverflowError), so the
    app kept serving old metrics for every target."""
    huge = dataclasses.replace(full_snapshot((agent("1"),)), agent_total=10**400)
    good = state("good", (agent("2"),))
    r = renderer()
    with caplog.at_level("INFO", logger="convoso_exporter.expose.cache"):
        body = r.render([state("broken", snapshot=huge), good], ApiStats(), NOW, INFO).body
        assert value(body, "convoso_up", target="broken") == 1
        assert value(body, "convoso_agent_count", target="broken") is None  # its data left out
        assert value(body, "convoso_agent_count", target="good") == 1
        # A new state with the same problem: not logged again.
        r.render([state("broken", snapshot=huge, generation=2), good], ApiStats(), NOW, INFO)
        fixed = r.render([state("broken", (agent("1"),), generation=3), good], ApiStats(), NOW, INFO).body
    assert value(fixed, "convoso_agent_count", target="broken") == 1
    lines = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert lines == [
        ("ERROR", "target broken: its metrics cannot be rendered, publishing its health only: "
                  "OverflowError: int too large to convert to float"),
        ("INFO", "target broken: its metrics render again"),
    ]


def test_an_exposition_made_without_openmetrics_bodies_has_an_empty_one_and_its_real_gzip():
    # The default gzip body was the plain "# EOF\n": a client told Content-Encoding: gzip got text.
    from convoso_exporter.expose.cache import Exposition

    exposition = Exposition(b"up 1\n", gzip.compress(b"up 1\n"), 1)
    assert exposition.om_body == b"# EOF\n"
    assert gzip.decompress(exposition.om_gzip_body) == exposition.om_body
