"""record/expect.py: what the exporter makes of answers, minus when and how fast."""

from __future__ import annotations

import asyncio

from convoso_exporter.config.schema import Config, ConvosoSettings, DiscoverySettings
from convoso_exporter.record.expect import EXCLUDED, exposition, sample_lines
from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator

TOKEN = "expect-test-token-0123456789"

EXPOSITION = """# HELP convoso_up 1 if ...
# TYPE convoso_up gauge
convoso_up{target="b"} 1.0
convoso_up{target="a"} 0.0
convoso_last_success_timestamp_seconds{target="a"} 1.7e+09
convoso_exporter_api_request_duration_seconds_bucket{endpoint="search",le="0.1"} 3.0
convoso_exporter_api_request_duration_seconds_sum{endpoint="search"} 0.2
convoso_exporter_api_requests_total{endpoint="search",outcome="success"} 3.0
convoso_exporter_build_info{python_version="3.11.2",revision="abc",version="1"} 1.0
process_cpu_seconds_total 0.5
convoso_exporter_api_budget_calls_per_minute 9.0
convoso_up_something_new{target="a"} 2.0
"""


def test_the_samples_are_kept_sorted_without_the_families_that_say_when_and_how_fast():
    assert sample_lines(EXPOSITION) == [
        "convoso_exporter_api_budget_calls_per_minute 9.0",
        'convoso_up_something_new{target="a"} 2.0',  # a family added later is in
        'convoso_up{target="a"} 0.0',
        'convoso_up{target="b"} 1.0',
    ]
    assert "convoso_exporter_api_requests_total" in EXCLUDED


def test_the_exporter_polls_the_account_discovers_and_polls_every_other_target_once():
    clock = FakeClock(0.0)
    center = ContactCenter(agents=15, campaigns=2, queues=2, seed=6, clock=clock, start_wall=1795514400.0)
    clock.advance(900)
    sim = Simulator(center, token=TOKEN, style="live")
    config = Config(convoso=ConvosoSettings(base_url="http://sim.invalid/v1", auth_token=TOKEN),
                    discovery=DiscoverySettings(enabled=True, queues=False))
    lines = sample_lines(asyncio.run(exposition(config, sim.transport(), 1795515300.0)))
    ups = sorted(line for line in lines if line.startswith("convoso_up{"))
    assert ups == ['convoso_up{target="account"} 1.0', 'convoso_up{target="campaign:1001"} 1.0',
                   'convoso_up{target="campaign:1002"} 1.0']
    agents = [float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("convoso_agents{")]
    assert sum(agents) == 15
    assert 'convoso_exporter_discovered_scopes{kind="queue",outcome="polled"} 0.0' in lines
    assert 'convoso_exporter_discovered_scopes{kind="campaign",outcome="polled"} 2.0' in lines
