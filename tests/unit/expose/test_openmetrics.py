"""OpenMetrics 1.0.0 from the renderer: the same samples as text 0.0.4, told as only
OpenMetrics can (gauge histograms, counters' _created, units, # EOF), byte-identical to
prometheus_client's OpenMetrics writer over the same families, and parsed by its
OpenMetrics parser."""

from __future__ import annotations

import dataclasses
import gzip

from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from convoso_exporter.derive.history import Deriver
from convoso_exporter.expose.exposition import render_openmetrics, to_prometheus_client
from tests.unit.expose.support import INFO, NOW, account, agent, api_stats, families, hostile_states, renderer


def derived_states():
    """The hostile states, the account's with counters and agent time begun 60 s ago."""
    states = hostile_states()
    first, deriver = states[0], Deriver()
    started = deriver.advance(first.target, None, first.snapshot, NOW - 60)
    later = deriver.advance(first.target, started, first.snapshot, NOW - 5)
    return [dataclasses.replace(first, derived=later), *states[1:]]


def parsed(body: bytes) -> dict:
    return {family.name: family for family in openmetrics_families(body.decode())}


def test_openmetrics_is_what_prometheus_client_writes_for_the_same_families():
    r, states, stats = renderer(), derived_states(), api_stats()
    exposition = r.render(states, stats, NOW, INFO)
    merged = families(r, states, stats)

    class Fixed:
        def collect(self):
            return to_prometheus_client(merged, created=True)

    assert exposition.om_body == render_openmetrics(merged) == generate_openmetrics(Fixed())
    assert exposition.om_body.endswith(b"# EOF\n") and exposition.om_body.count(b"# EOF") == 1
    assert gzip.decompress(exposition.om_gzip_body) == exposition.om_body


def test_gauge_histograms_units_counters_and_created_are_told_as_such():
    om = parsed(renderer().render(derived_states(), api_stats(), NOW, INFO).om_body)
    for name in ("convoso_agents_status_time_seconds", "convoso_agents_calls_today",
                 "convoso_target_agents_status_time_seconds", "convoso_target_agents_calls_today"):
        assert om[name].type == "gaugehistogram", name
        assert {s.name.removeprefix(name) for s in om[name].samples} == {"_bucket", "_gcount", "_gsum"}
    assert om["convoso_agent_status_time_seconds"].unit == "seconds"
    assert om["convoso_last_success_timestamp_seconds"].unit == "seconds"
    assert om["convoso_agent_calls_today"].unit == ""
    assert om["convoso_agent_count"].type == "unknown"
    # The counters the exporter keeps start when it first saw their figure: _created.
    created = {s.labels["target"]: s.value for s in om["convoso_calls"].samples if s.name == "convoso_calls_created"}
    assert created == {"account": NOW - 60}  # the custom targets here derive nothing
    cells = om["convoso_agents_status_seconds"].samples
    assert {s.value for s in cells if s.name.endswith("_created")} == {NOW - 60}
    totals = [s for s in cells if s.name.endswith("_total")]
    assert len(totals) == len(cells) / 2 and any(s.value > 0 for s in totals)


def test_text_and_openmetrics_hold_the_same_samples():
    exposition = renderer().render(derived_states(), api_stats(), NOW, INFO)
    text = {(s.name, frozenset(s.labels.items()), s.value)
            for f in text_string_to_metric_families(exposition.body.decode()) for s in f.samples}
    om = {(s.name, frozenset(s.labels.items()), s.value) for f in parsed(exposition.om_body).values() for s in f.samples}
    assert text <= om
    assert all(name.endswith("_created") for name, _, _ in om - text)
    assert b"_created" not in exposition.body  # text 0.0.4 is what it always was


def test_unchanged_targets_share_their_rendered_pieces_across_formats():
    # A gauge's lines are the same in both formats: one rendering, one compression.
    r = renderer()
    states = [account((agent("1", "READY"), agent("2", "INCALL")))]
    first = r.render(states, api_stats(), NOW, INFO)
    again = r.render(states, api_stats(), NOW, INFO)
    assert first.om_body == again.om_body and first.body == again.body
    line = b'convoso_agent_status_time_seconds{status="READY",user_id="1"} 30.0\n'
    assert line in first.body and line in first.om_body
