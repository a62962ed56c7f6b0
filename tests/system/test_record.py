"""Record and replay as a user runs them: `check --record` against a simulator process,
`simulate --replay` of the folder, and an exporter on the folder's config.yaml serving
exactly the series and values expected.prom says (times and its own requests aside)."""

from __future__ import annotations

import httpx

from convoso_exporter.record.expect import sample_lines
from convoso_exporter.record.folder import REPLAY_URL
from tests.support import free_port, process, simulator_process, wait_http
from tests.system.test_cli import assert_one_line_error, run_cli

TOKEN = "record-T0KEN-s3cret"


def test_check_record_then_simulate_replay_serves_the_exporter_what_the_account_sent(tmp_path):
    folder = tmp_path / "recording"
    with simulator_process("--agents", "20", "--style", "live", "--seed", "5", token=TOKEN) as (_, base_url):
        config = tmp_path / "config.yaml"
        config.write_text(f"convoso:\n  base_url: {base_url}\n  auth_token: {TOKEN}\npoll_interval: 1m\n"
                          "targets:\n  - name: spanish\n    skills: [spanish]\ndiscovery:\n  enabled: true\n")
        checked = run_cli("check", "--config.file", str(config), "--record", str(folder), timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # 9 searches, user-activity and agent-performance beside the account and the 3 campaigns
    assert f"Recorded 17 requests and what came back in {folder}, redacted (" in checked.stdout
    expected = (folder / "expected.prom").read_text().splitlines()
    assert TOKEN not in "".join(path.read_text() for path in folder.iterdir())

    replay_port, exporter_port = free_port(), free_port()
    replay_url = f"http://127.0.0.1:{replay_port}/v1"
    exporter_config = tmp_path / "exporter.yaml"
    exporter_config.write_text((folder / "config.yaml").read_text().replace(REPLAY_URL, replay_url))
    with process(["simulate", "--replay", str(folder), "--web.listen-address", f"127.0.0.1:{replay_port}"]) as replay:
        wait_http(f"http://127.0.0.1:{replay_port}/", status=404, proc=replay)
        with process(["--config.file", str(exporter_config), "--web.listen-address",
                      f"127.0.0.1:{exporter_port}"]) as exporter:
            wait_http(f"http://127.0.0.1:{exporter_port}/-/ready", proc=exporter, timeout=30)
            scraped = httpx.get(f"http://127.0.0.1:{exporter_port}/metrics", timeout=10).text
        assert "no recorded answer" not in replay.output()
    assert sample_lines(scraped) == expected
    assert len(expected) > 500 and 'convoso_up{target="spanish"} 1.0' in expected


def test_a_folder_that_is_not_a_recording_or_is_in_use_is_one_line_and_exit_2(tmp_path):
    replayed = run_cli("simulate", "--replay", str(tmp_path / "nothing"), timeout=60)
    assert_one_line_error(replayed, "manifest.json: cannot read")
    assert replayed.stderr.count("\n") == 1

    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    config = tmp_path / "config.yaml"
    config.write_text(f"convoso:\n  base_url: http://127.0.0.1:{free_port()}/v1\n  auth_token: {TOKEN}\n")
    checked = run_cli("check", "--config.file", str(config), "--record", str(tmp_path / "used"), timeout=60)
    assert_one_line_error(checked, "exists and is not an empty folder")
    assert checked.stderr.count("\n") == 1
    assert (tmp_path / "used" / "notes.txt").read_text() == "mine"
