"""record/folder.py: a recording written and read back whole; a folder that is not one
is named in one line; the config survives without its token."""

from __future__ import annotations

import json
import re
import stat

import pytest

from convoso_exporter.config.schema import Config, ConvosoSettings, DiscoverySettings, Target, parse_config
from convoso_exporter.record.capture import Exchange
from convoso_exporter.record.folder import (
    CONFIG, MANIFEST, REPLAY_TOKEN, REPLAY_URL, RecordingError, load, prepare, write,
)

CONFIG_USED = Config(
    convoso=ConvosoSettings(base_url="https://api.convoso.com/v1", auth_token="real-T0KEN", timeout=7.5,
                            concurrency=3, max_response_bytes=65536, max_backoff=30.0),
    poll_interval=20.0, timezone="America/New_York", agent_metrics=False, agent_names=False,
    max_agents_per_target=12,
    discovery=DiscoverySettings(enabled=True, queues=False, exclude=re.compile("^Test"), interval=90.0, max_targets=5),
    targets=(Target("spanish", skills=("spanish", "sales")), Target("one", user_id="0111", campaign_id="7")),
)
EXCHANGES = (
    Exchange(1, 1700000000.25, "POST", "/agent-monitor/search", {}, 200,
             {"content-type": "application/json"}, b'{"agents": []}', 14, complete=True, seconds=0.01),
    Exchange(2, 1700000000.5, "POST", "/agent-monitor/search", {"filter_by_skill_options": "spanish,sales"}, 429,
             {"content-type": "text/html", "retry-after": "5"}, b"", 0),
    Exchange(3, 1700000001.0, "POST", "/agent-monitor/search", {"user_id": "0111"}, None, failure="ConnectError"),
)


def test_a_recording_reads_back_as_written_private_to_its_user(tmp_path):
    folder = tmp_path / "rec"
    prepare(folder)
    written = write(folder, EXCHANGES, CONFIG_USED, redacted=True, replaced={"names": 3})
    again = load(folder)
    assert again.exchanges == EXCHANGES and again.redacted and again.manifest == written.manifest
    assert sorted(p.name for p in folder.iterdir()) == [
        "001-search.json", "002-search-filter_by_skill_options=spanish_sales.html", CONFIG, MANIFEST]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    assert "real-T0KEN" not in "".join(p.read_text() for p in folder.iterdir())


def test_the_config_comes_back_but_for_where_the_api_is_and_its_token(tmp_path):
    prepare(tmp_path / "rec")
    recording = write(tmp_path / "rec", EXCHANGES, CONFIG_USED, redacted=False, replaced={})
    config = recording.config("http://127.0.0.1:1/v1", "t")
    assert config.convoso.base_url == "http://127.0.0.1:1/v1" and config.convoso.auth_token == "t"
    same = lambda c: (c.poll_interval, c.timezone, c.agent_metrics, c.agent_names, c.max_agents_per_target,
                      c.discovery, c.targets, c.convoso.timeout, c.convoso.concurrency, c.convoso.max_response_bytes,
                      c.convoso.max_backoff)
    assert same(config) == same(CONFIG_USED)
    # config.yaml is a config the exporter loads as it is, pointing at the replay
    text = (tmp_path / "rec" / CONFIG).read_text()
    from_file = parse_config(text, environ={})
    assert (from_file.convoso.base_url, from_file.convoso.auth_token) == (REPLAY_URL, REPLAY_TOKEN)
    assert same(from_file) == same(CONFIG_USED)


def test_a_folder_in_use_is_refused(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "x").write_text("x")
    with pytest.raises(RecordingError, match="exists and is not an empty folder"):
        prepare(tmp_path / "old")
    prepare(tmp_path / "empty")
    prepare(tmp_path / "empty")  # empty is fine


def broken(tmp_path, change) -> str:
    prepare(tmp_path / "rec")
    recording = write(tmp_path / "rec", EXCHANGES, CONFIG_USED, redacted=False, replaced={})
    manifest = json.loads(json.dumps(recording.manifest))
    change(manifest)
    (tmp_path / "rec" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(RecordingError) as err:
        load(tmp_path / "rec")
    return str(err.value)


@pytest.mark.parametrize(("change", "says"), [
    (lambda m: m.update(format=2), "not a recording of format 1"),
    (lambda m: m.pop("exchanges"), "expected 'config' (an object) and 'exchanges' (a list)"),
    (lambda m: m["exchanges"][0].update(status="200"), "exchanges[0].status: expected null or int, got \"200\""),
    (lambda m: m["exchanges"][1].update(complete=1), "exchanges[1].complete: expected bool, got 1"),
    (lambda m: m["exchanges"][0].update(body="../../etc/passwd"), "body: '../../etc/passwd' is not a file"),
    (lambda m: m["exchanges"][0].update(body="nothing.json"), "exchanges[0].body: cannot read"),
    (lambda m: m["exchanges"][0]["params"].update(x=1), "exchanges[0].params: expected text names and values"),
], ids=["format", "no exchanges", "status", "complete", "traversal", "missing body", "params"])
def test_what_is_wrong_with_a_recording_is_one_line_naming_it(tmp_path, change, says):
    message = broken(tmp_path, change)
    assert says in message and str(tmp_path / "rec" / MANIFEST) in message and "\n" not in message


def test_a_folder_without_a_manifest_or_with_a_bad_one_says_so(tmp_path):
    with pytest.raises(RecordingError, match="cannot read .*is .* a recording"):
        load(tmp_path)
    (tmp_path / MANIFEST).write_text("{nope")
    with pytest.raises(RecordingError, match="not JSON"):
        load(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({"format": 1, "config": {"poll_interval": "soon"}, "exchanges": []}))
    with pytest.raises(RecordingError, match="config: .*poll_interval"):
        load(tmp_path).config()
