"""The exporter as one process, over real HTTP, against a simulator process:
every endpoint, reload (good and bad, HTTP and SIGHUP), SIGTERM, and the demo."""

from __future__ import annotations

import gzip
import re
import signal
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import free_port, process, simulator_process, wait_http

TOKEN = "app-T0KEN-s3cret/+="


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def targets_in(text: str) -> set[str]:
    return set(re.findall(r'^convoso_up\{target="([^"]+)"\}', text, re.M))


def write_config(path, base_url: str, targets: list[dict], interval: str = "1s", discovery: bool = False) -> None:
    lines = [
        "convoso:",
        f"  base_url: {base_url}",
        "  auth_token_file: token",
        "  timeout: 2s",
        f"poll_interval: {interval}",
        "discovery:",
        f"  enabled: {str(discovery).lower()}",
        f"  interval: {interval}",
        "targets:" if targets else "targets: []",
    ]
    for target in targets:
        lines.append(f"  - name: {target['name']}")
        for key, value in target.items():
            if key != "name":
                lines.append(f'    {key}: "{value}"')
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def sim():
    with simulator_process("--agents", "40", "--campaigns", "2", "--queues", "2", "--seed", "5", token=TOKEN) as (
        proc,
        base_url,
    ):
        state = httpx.get(base_url.removesuffix("/v1") + "/_sim/state", params={"auth_token": TOKEN}).json()
        yield base_url, state


@pytest.fixture
def exporter(sim, tmp_path):
    base_url, state = sim
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "token").chmod(0o600)
    config = tmp_path / "config.yaml"
    campaign = state["campaigns"][0]["campaign_id"]
    write_config(config, base_url, [{"name": "first-campaign", "campaign_id": campaign}])
    port = free_port()
    args = ["--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "debug"]
    with process(args, env={"CONVOSO_AUTH_TOKEN": ""}) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", proc=proc)
        yield proc, url, config


def scrape(url: str) -> str:
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    return response.text


def test_metrics_are_served_and_parse(exporter):
    proc, url, _ = exporter
    text = scrape(url)
    # The account is always polled; discovery is off when the config lists targets.
    assert targets_in(text) == {"account", "first-campaign"}
    assert sample(text, "convoso_up", target="account") == 1.0
    assert sample(text, "convoso_agent_count", target="account") == 40
    agents = [s for f in text_string_to_metric_families(text) for s in f.samples if s.name == "convoso_agents"]
    assert sum(s.value for s in agents) == 40 and "target" not in agents[0].labels
    response = httpx.get(f"{url}/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")


def test_metrics_gzip_is_the_same_document(exporter):
    proc, url, _ = exporter
    raw = httpx.get(f"{url}/metrics", headers={"Accept-Encoding": "gzip"}, follow_redirects=False)
    # httpx decodes gzip transparently; check the header and that the body parses.
    assert raw.headers.get("content-encoding") == "gzip"
    assert "convoso_up" in raw.text
    with httpx.stream("GET", f"{url}/metrics", headers={"Accept-Encoding": "gzip"}) as stream:
        body = b"".join(stream.iter_raw())
    assert gzip.decompress(body).startswith(b"# HELP")


def test_landing_page_health_and_ready(exporter):
    proc, url, _ = exporter
    page = httpx.get(url + "/")
    assert page.status_code == 200
    assert 'href="/metrics"' in page.text
    assert "first-campaign" in page.text
    assert httpx.get(f"{url}/-/healthy").status_code == 200
    assert httpx.get(f"{url}/-/ready").status_code == 200
    assert httpx.get(f"{url}/nope").status_code == 404
    assert httpx.post(f"{url}/metrics").status_code == 405


def test_token_is_nowhere_the_exporter_answers_or_logs(exporter):
    proc, url, _ = exporter
    pages = [httpx.get(url + path).text for path in ("/", "/metrics", "/-/healthy", "/-/ready")]
    pages.append(httpx.post(f"{url}/-/reload").text)
    time.sleep(0.5)
    for text in pages + [proc.output()]:
        assert TOKEN not in text
        assert "app-T0KEN" not in text


def test_reload_good_adds_a_target(exporter, sim):
    proc, url, config = exporter
    base_url, state = sim
    write_config(config, base_url, [{"name": "spanish", "skills": "spanish"}])
    response = httpx.post(f"{url}/-/reload")
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and targets_in(scrape(url)) != {"account", "spanish"}:
        time.sleep(0.2)
    text = scrape(url)
    assert targets_in(text) == {"account", "spanish"}
    assert sample(text, "convoso_exporter_config_last_reload_successful") == 1.0


def test_reload_bad_keeps_the_running_config(exporter):
    proc, url, config = exporter
    before = targets_in(scrape(url))
    config.write_text(config.read_text() + "surprise_key: 1\n")
    response = httpx.post(f"{url}/-/reload")
    assert response.status_code >= 400
    assert "surprise_key" in response.text
    assert "\n" not in response.text.strip()
    time.sleep(1.5)
    text = scrape(url)
    assert targets_in(text) == before
    assert sample(text, "convoso_exporter_config_last_reload_successful") == 0.0
    assert sample(text, "convoso_up", target="account") == 1.0


def test_sighup_reloads_a_rotated_token(exporter, sim, tmp_path):
    proc, url, config = exporter
    (config.parent / "token").write_text("rotated-but-wrong\n")
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sample(scrape(url), "convoso_up", target="account") != 0.0:
        time.sleep(0.2)
    assert sample(scrape(url), "convoso_up", target="account") == 0.0
    assert "rotated-but-wrong" not in proc.output()
    (config.parent / "token").write_text(TOKEN + "\n")
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sample(scrape(url), "convoso_up", target="account") != 1.0:
        time.sleep(0.2)
    assert sample(scrape(url), "convoso_up", target="account") == 1.0


def test_sigterm_exits_cleanly_within_two_seconds(exporter):
    proc, url, _ = exporter
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=5)
    elapsed = time.monotonic() - started
    assert code == 0
    assert elapsed < 2.0, f"took {elapsed:.2f}s"
    assert "Traceback" not in proc.output()


def test_demo_is_the_default_and_comes_alive():
    port = free_port()
    with process(["--web.listen-address", f"127.0.0.1:{port}"]) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", proc=proc, timeout=30)
        first = scrape(url)
        # No target list: the account, and every campaign and queue discovered from it.
        assert sample(first, "convoso_up", target="account") == 1.0
        assert {"campaign:1001", "queue:2001"} <= targets_in(first) and len(targets_in(first)) >= 5
        # Live: the simulated center moves, and the exporter follows it.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            time.sleep(1)
            later = scrape(url)
            if _agent_lines(later) != _agent_lines(first):
                break
        assert _agent_lines(later) != _agent_lines(first)
        assert "demo" in proc.output()


def _agent_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("convoso_agent_status_time_seconds{")]


def test_a_failing_targets_data_is_served_briefly_then_removed(sim, tmp_path):
    # Its own exporter with a 2 s interval: the window where a target is down but its
    # last numbers are still served (3 intervals from the last success) is then wide
    # enough to observe reliably.
    base_url, state = sim
    campaign = state["campaigns"][0]["campaign_id"]
    (tmp_path / "token").write_text(TOKEN)
    (tmp_path / "token").chmod(0o600)
    config = tmp_path / "config.yaml"
    write_config(config, base_url, [{"name": "first-campaign", "campaign_id": campaign}], "2s")
    port = free_port()
    args = ["--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}"]
    control = base_url.removesuffix("/v1")
    with process(args, env={"CONVOSO_AUTH_TOKEN": ""}) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", proc=proc)
        fault = {"fault": "500", "campaign_id": campaign}
        assert httpx.post(f"{control}/_sim/fault", params={"auth_token": TOKEN}, json=fault).status_code == 200
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and sample(scrape(url), "convoso_up", target="first-campaign") != 0.0:
                time.sleep(0.1)
            down = scrape(url)
            assert sample(down, "convoso_up", target="first-campaign") == 0.0
            # Down at once, but the last numbers are still served for up to 3 intervals...
            assert sample(down, "convoso_agent_count", target="first-campaign") is not None
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and sample(scrape(url), "convoso_agent_count", target="first-campaign") is not None:
                time.sleep(0.2)
            gone = scrape(url)
            # ...then removed, so no dashboard shows frozen numbers as live; health stays.
            assert sample(gone, "convoso_agent_count", target="first-campaign") is None
            assert sample(gone, "convoso_up", target="first-campaign") == 0.0
            assert sample(gone, "convoso_last_success_timestamp_seconds", target="first-campaign") is not None
            assert sample(gone, "convoso_agent_count", target="account") is not None
        finally:
            httpx.post(f"{control}/_sim/fault", params={"auth_token": TOKEN}, json={"fault": None})
