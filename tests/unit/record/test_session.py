"""record/session.py: `check --record` against the simulator, in both styles, replays into
the series and values the exporter makes of the simulator itself; redacted, the same but
for the names, and no name or token is left in any file."""

from __future__ import annotations

import asyncio
import io
import re

import pytest

from convoso_exporter.api.errors import secret_forms
from convoso_exporter.check import check, report
from convoso_exporter.config.schema import Config, ConvosoSettings, Target
from convoso_exporter.record.expect import exposition, read_expected, sample_lines
from convoso_exporter.record.folder import load
from convoso_exporter.record.session import record_check, summary
from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator

TOKEN = "rec/T0KEN+s3cret"
WALL = 1795514400.0  # 2026-11-24 10:00 UTC, a busy weekday morning
CONFIG = Config(
    convoso=ConvosoSettings(base_url="http://simulator.invalid/v1", auth_token=TOKEN),
    targets=(Target("spanish", skills=("spanish",)), Target("ghost", campaign_id="9999")),
)
NAME_LABEL = re.compile(r'user_full_name="([^"]*)"')


def simulator(style: str) -> Simulator:
    clock = FakeClock(0.0)
    center = ContactCenter(agents=20, campaigns=2, queues=3, seed=8, clock=clock, start_wall=WALL)
    clock.advance(1800)  # the simulator stands still from here: every request sees one moment
    return Simulator(center, token=TOKEN, style=style)


def record(style: str, folder, redact: bool):
    """(what `check --record` wrote, what the exporter makes of the simulator directly)."""
    sim = simulator(style)

    async def main():
        recorded = await record_check(CONFIG, folder, redact=redact, transport=sim.transport(), wall=lambda: WALL + 1800)
        direct = sample_lines(await exposition(CONFIG, sim.transport(), WALL + 1800))
        return recorded, direct

    return asyncio.run(main())


@pytest.mark.parametrize("style", ["documented", "live"])
def test_a_recording_replays_into_the_same_series_and_values(tmp_path, style):
    recorded, direct = record(style, tmp_path / "rec", redact=False)
    assert recorded.expected == direct
    assert read_expected(load(tmp_path / "rec")) == direct  # expected.prom says so too
    assert 'convoso_up{target="account"} 1.0' in direct and 'convoso_up{target="ghost"} 0.0' in direct
    assert 'convoso_exporter_poll_errors_total{kind="api",target="ghost"} 1.0' in direct
    assert sum(line.startswith("convoso_agent_info{") for line in direct) == 20


@pytest.mark.parametrize("style", ["documented", "live"])
def test_redacted_the_same_series_and_values_but_no_name_and_no_token_in_any_file(tmp_path, style):
    recorded, direct = record(style, tmp_path / "rec", redact=True)
    anonymous = lambda lines: [NAME_LABEL.sub('user_full_name="?"', line) for line in lines]
    assert anonymous(recorded.expected) == anonymous(direct)
    names = set(NAME_LABEL.findall("\n".join(direct)))
    pseudonyms = set(NAME_LABEL.findall("\n".join(recorded.expected)))
    assert len(pseudonyms) == len(names) > 10 and all(p.startswith("Agent ") for p in pseudonyms)
    files = {path.name: path.read_text() for path in (tmp_path / "rec").iterdir()}
    assert {"manifest.json", "expected.prom", "config.yaml", "001-search.json"} <= files.keys()
    for name, text in files.items():
        assert not [n for n in names if n in text], name
        assert not [form for form in secret_forms(TOKEN) if form in text], name
    manifest = load(tmp_path / "rec").manifest
    assert manifest["redacted"] is True and manifest["replaced"]["names"] == len(names)
    assert "redacted (" in summary(recorded)


def test_without_redaction_the_token_is_still_in_no_file(tmp_path):
    record("live", tmp_path / "rec", redact=False)
    text = "".join(path.read_text() for path in (tmp_path / "rec").iterdir())
    assert not [form for form in secret_forms(TOKEN) if form in text]
    assert '"auth_token"' not in text


def test_recording_changes_nothing_check_reports(tmp_path):
    recorded, _ = record("documented", tmp_path / "rec", redact=True)
    outcomes, budget = asyncio.run(check(CONFIG, transport=simulator("documented").transport(), wall=lambda: WALL + 1800))
    with_record, without = io.StringIO(), io.StringIO()
    assert report(recorded.outcomes, recorded.budget, with_record) == report(outcomes, budget, without) == 1
    strip = lambda text: re.sub(r"\s+", " ", re.sub(r"\d+ ms", "", text))  # latencies differ
    assert strip(with_record.getvalue()) == strip(without.getvalue())
    # every request check made is in the recording: account, 5 discovered, 2 of the config,
    # user-activity beside the account and 2 campaigns, agent-performance of the same 3
    assert len(recorded.recording.exchanges) == 14
    endpoints = [exchange.endpoint for exchange in recorded.recording.exchanges]
    assert endpoints.count("/user-activity/search") == endpoints.count("/agent-performance/search") == 3
