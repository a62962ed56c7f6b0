"""The contact-center model over real processes: a simulator process and an exporter
process with discovery and no campaign or queue listed by hand.

- at every scrape the breakdown adds up to the account's agents, the simulator's own count;
- every campaign and queue the simulator has shows up, with its name, as a target;
- overlapping explicit targets never repeat an agent's series;
- campaigns and queues added and removed at run time come and go without a config change.
"""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import free_port, process, simulator_process, wait_http

TOKEN = "disc-T0KEN-s3cret"
PER_AGENT = ("convoso_agent_status_time_seconds", "convoso_agent_calls_today", "convoso_agent_session_calls",
             "convoso_agent_info")


def write_config(path, base_url: str) -> None:
    path.write_text(
        "convoso:\n"
        f"  base_url: {base_url}\n"
        f"  auth_token: {TOKEN}\n"
        "  timeout: 2s\n"
        "poll_interval: 1s\n"
        "discovery:\n"
        "  enabled: true\n"
        "  interval: 1s\n"
        "targets:\n"  # two slices that overlap each other and every campaign
        "  - name: first-campaign\n"
        '    campaign_id: "1001"\n'
        "  - name: spanish\n"
        "    skills: [spanish]\n"
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with simulator_process("--agents", "30", "--campaigns", "2", "--queues", "3", "--seed", "11",
                           token=TOKEN) as (sim, base_url):
        config = tmp_path_factory.mktemp("discovery") / "config.yaml"
        write_config(config, base_url)
        port = free_port()
        with process(["--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}"]) as proc:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/-/ready", proc=proc)
            yield url, base_url.removesuffix("/v1"), proc


def samples(url: str) -> list:
    text = httpx.get(f"{url}/metrics").text
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def control(base: str, path: str, method: str = "GET", **body):
    response = httpx.request(method, f"{base}/_sim/{path}", params={"auth_token": TOKEN}, json=body or None)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s")


def test_the_breakdown_adds_up_to_the_account_at_every_scrape(stack):
    url, sim, _ = stack
    agents = len(control(sim, "state")["agents"])
    for _ in range(8):
        current = samples(url)
        breakdown = sum(s.value for s in current if s.name == "convoso_agents")
        account = [s.value for s in current if s.name == "convoso_agent_count" and s.labels["target"] == "account"]
        assert breakdown == account[0] == agents
        time.sleep(0.5)


def test_every_campaign_and_queue_shows_up_with_its_name(stack):
    url, sim, _ = stack
    state = control(sim, "state")
    current = samples(url)
    campaigns = {s.labels["campaign_id"]: s.labels["campaign_name"] for s in current if s.name == "convoso_campaign_info"}
    queues = {s.labels["queue_id"]: s.labels["queue_name"] for s in current if s.name == "convoso_queue_info"}
    assert campaigns == {c["campaign_id"]: c["campaign_name"] for c in state["campaigns"]}
    assert queues == {q["queue_id"]: q["queue_name"] for q in state["queues"]}
    targets = {s.labels["target"] for s in current if s.name == "convoso_up"}
    assert {f"campaign:{c}" for c in campaigns} | {f"queue:{q}" for q in queues} <= targets


def test_overlapping_explicit_targets_never_repeat_an_agents_series(stack):
    url, _, _ = stack
    current = samples(url)
    assert {"first-campaign", "spanish"} <= {s.labels["target"] for s in current if s.name == "convoso_up"}
    for name in PER_AGENT:
        users = Counter(s.labels["user_id"] for s in current if s.name == name)
        assert users and max(users.values()) == 1, name
        assert all("target" not in s.labels for s in current if s.name == name)


def test_campaigns_and_queues_come_and_go_without_a_config_change(stack):
    url, sim, proc = stack

    def targets() -> set[str]:
        return {s.labels["target"] for s in samples(url) if s.name == "convoso_up"}

    added = control(sim, "campaign", "POST", action="add", name="Winter Promo", agents=3)
    campaign, queue = added["campaign_id"], added["queue_id"]
    extra = control(sim, "queue", "POST", action="add", campaign_id="1001", name="Night Shift", agents=2)["queue_id"]
    wanted = {f"campaign:{campaign}", f"queue:{queue}", f"queue:{extra}"}
    wait_for(lambda: wanted <= targets())
    names = {s.labels["campaign_id"]: s.labels["campaign_name"] for s in samples(url) if s.name == "convoso_campaign_info"}
    assert names[campaign] == "Winter Promo"
    up = {s.labels["target"]: s.value for s in samples(url) if s.name == "convoso_up"}
    assert all(up[name] == 1.0 for name in wanted)

    control(sim, "campaign", "POST", action="remove", campaign_id=campaign)
    control(sim, "queue", "POST", action="remove", queue_id=extra)
    # Gone after the linger window (3 discovery intervals), with no reload or restart.
    wait_for(lambda: not wanted & targets())
    current = samples(url)
    assert campaign not in {s.labels["campaign_id"] for s in current if s.name == "convoso_campaign_info"}
    assert sum(s.value for s in current if s.name == "convoso_agents") == len(control(sim, "state")["agents"])
    assert "reload" not in proc.output()
