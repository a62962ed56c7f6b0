"""convoso_exporter.derive.agreement: the API's own agent counts against our count of
its agents list, figure by figure, with the one status that would explain a gap."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.model import FOLDED, Agent, SearchResult
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import Config
from convoso_exporter.derive.agreement import COUNTED, FIGURES, Gap, compare, describe, listed
from convoso_exporter.expose.cache import MetricsRenderer
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.poll.discovery import Discovery
from convoso_exporter.poll.plan import ACCOUNT_NAME, plan
from convoso_exporter.poll.poller import Poller
from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator
from convoso_exporter.web.board import View
from convoso_exporter.web.pages import landing_page

WALL = 1795514400.0  # 2026-11-24 10:00:00 UTC: a weekday morning, the center busy


def agents(*statuses: str | None) -> tuple[Agent, ...]:
    return tuple(Agent(user_id=str(100 + i), status=status) for i, status in enumerate(statuses))


# Each status a different number of agents, so a gap points at one of them.
FLOOR = agents(*["READY"] * 4, "RINGING", *["INCALL"] * 3, *["PAUSED"] * 2, *["WRAP"] * 5, *["LOGGED_OUT"] * 6)


def answer(listed_agents=FLOOR, **figures) -> SearchResult:
    documented = {"agent_total": 21, "agent_ready": 4, "agent_incall": 3, "agent_paused": 2}
    return SearchResult(agents=listed_agents, **{**documented, **figures})


def by_figure(snapshot: SearchResult) -> dict[str, Gap]:
    return {gap.figure: gap for gap in compare(snapshot)}


def test_the_documented_rule_agrees_on_every_figure():
    gaps = compare(answer())
    assert [gap.figure for gap in gaps] == list(FIGURES) == ["total", "ready", "incall", "paused"]
    assert [(gap.api, gap.counted, gap.difference, gap.hint) for gap in gaps] == [
        (21, 21, 0, None), (4, 4, 0, None), (3, 3, 0, None), (2, 2, 0, None),
    ]


def test_the_total_counts_logged_out_agents_and_each_other_figure_one_status():
    assert {figure: statuses for figure, _, statuses in COUNTED} == {
        "total": None, "ready": {"READY"}, "incall": {"INCALL"}, "paused": {"PAUSED"},
    }
    assert by_figure(answer(agents("LOGGED_OUT", "LOGGED_OUT"), agent_total=2))["total"].difference == 0


def test_ringing_counted_as_ready_shows_and_is_named():
    ready = by_figure(answer(agent_ready=5))["ready"]
    assert (ready.api, ready.counted, ready.difference, ready.hint) == (5, 4, 1, "RINGING")
    assert describe(ready) == "Convoso counts 5 ready, we count 4 (counting RINGING?)"


def test_wrap_counted_as_paused_and_logged_out_left_out_of_the_total():
    gaps = by_figure(answer(agent_paused=7, agent_total=15))
    assert (gaps["paused"].difference, gaps["paused"].hint) == (5, "WRAP")
    assert (gaps["total"].difference, gaps["total"].hint) == (-6, "LOGGED_OUT")
    assert describe(gaps["total"]) == "Convoso counts 15 agents, we count 21 (leaving out LOGGED_OUT?)"


def test_no_hint_when_no_status_or_several_would_explain_the_gap():
    # TRANSFER and RINGING have one agent each: no guess between them.
    two = FLOOR + (Agent(user_id="999", status="TRANSFER"),)
    assert by_figure(answer(two, agent_total=22, agent_incall=4))["incall"].hint is None
    assert by_figure(answer(agent_incall=10))["incall"].hint is None  # nothing has 7
    assert describe(by_figure(answer(agent_incall=10))["incall"]) == "Convoso counts 10 in call, we count 3"
    assert by_figure(answer(agent_total=22))["total"].hint is None  # every status is in the total already
    assert by_figure(answer(agent_ready=0))["ready"].hint == "READY"  # it counts no READY agent at all


def test_agents_without_a_status_or_folded_are_counted_in_the_total_and_never_named():
    odd = agents("READY", None, FOLDED)
    gaps = by_figure(answer(odd, agent_total=3, agent_ready=2, agent_incall=0, agent_paused=0))
    assert gaps["total"].difference == 0
    assert (gaps["ready"].difference, gaps["ready"].hint) == (1, None)  # "" and (other) hold one each


def test_a_figure_the_answer_does_not_send_is_not_compared():
    snapshot = SearchResult(agents=FLOOR, agent_ready=2)
    assert [gap.figure for gap in compare(snapshot)] == ["ready"]
    assert compare(SearchResult(agents=FLOOR)) == ()


def test_an_agent_listed_twice_is_counted_once():
    twice = FLOOR + (Agent(user_id="100", status="INCALL"),)  # 100 again: READY, the first entry, wins
    gaps = by_figure(answer(twice))
    assert gaps["total"].counted == 21 and gaps["ready"].counted == 4 and gaps["incall"].counted == 3


def test_an_empty_list_against_the_apis_figures_is_a_gap():
    """agents: null in an answer that still counts 21 agents: every figure differs."""
    assert [gap.difference for gap in compare(answer(()))] == [21, 4, 3, 2]


def test_a_figures_only_answer_is_compared_through_the_statuses_counted_as_it_was_read():
    only = SearchResult(agent_total=10, agent_ready=3, statuses=(("READY", 2), ("RINGING", 1), ("WRAP", 7)))
    assert listed(only) == {"READY": 2, "RINGING": 1, "WRAP": 7}
    gaps = by_figure(only)
    assert gaps["total"].difference == 0 and (gaps["ready"].difference, gaps["ready"].hint) == (1, "RINGING")


def test_counts_given_by_the_caller_are_used_as_they_are():
    assert listed(answer(), list(FLOOR[3:5])) == {"READY": 1, "RINGING": 1}
    assert compare(answer(), {"READY": 2})[0] == Gap("total", 21, 2, None)


def test_large_numbers_read_with_separators():
    assert describe(Gap("total", 12_000, 11_950)) == "Convoso counts 12,000 agents, we count 11,950"


# --- a simulator counting by another rule, through the real client, poller, renderer, page ---


async def poll_simulated(count_style: str) -> tuple[bytes, str, SearchResult]:
    """The account and every discovered campaign and queue of a simulator whose answers
    count by `count_style`, polled in-process: the exposition, the landing page, the
    account answer."""
    clock = FakeClock(0.0)
    # No machine answers: the seed then gives the floor the hint below was worked out on.
    center = ContactCenter(agents=60, campaigns=2, queues=3, seed=11, clock=clock, start_wall=WALL, machine_share=0)
    clock.advance(1800)
    sim = Simulator(center, token="agree-token", count_style=count_style)
    async with ConvosoClient("http://simulator.invalid/v1", "agree-token", transport=sim.transport()) as client:
        poller = Poller(plan(Config(), (), None), client, interval=15.0, max_backoff=60.0,
                        clock=lambda: 0.0, wall=lambda: WALL)
        await poller.poll_once(ACCOUNT_NAME)
        found = Discovery(Config().discovery).update(poller.states[ACCOUNT_NAME].snapshot, WALL)
        poller.replace(plan(Config(), found.targets, None))
        for target in found.targets:
            await poller.poll_once(target.name)
        states = poller.states
    info = ExporterInfo(version="t", targets={}, reload_ok=True, reload_timestamp=WALL)
    body = MetricsRenderer(agent_metrics=False, max_agents_per_target=100).render(
        states.values(), ApiStats(), WALL, info).body
    page = landing_page(View(states=states), version="t", telemetry_path="/metrics", series=0, now=WALL)
    return body, page, states[ACCOUNT_NAME].snapshot


def disagreements(body: bytes) -> dict[tuple[str, str], float]:
    (family,) = [f for f in text_string_to_metric_families(body.decode())
                 if f.name == "convoso_exporter_count_disagreement"]
    return {(s.labels["target"], s.labels["figure"]): s.value for s in family.samples}


def test_a_simulator_counting_ringing_as_ready_shows_in_the_metrics_and_on_the_landing_page():
    body, page, account = asyncio.run(poll_simulated("ringing-as-ready"))
    ringing = sum(agent.status == "RINGING" for agent in account.agents)
    ready = sum(agent.status == "READY" for agent in account.agents)
    assert ringing > 0
    gaps = disagreements(body)
    assert len({target for target, _ in gaps}) == 6  # the account, 2 campaigns, 3 queues: every one compared
    assert gaps[("account", "ready")] == ringing
    campaigns = [n for (target, figure), n in gaps.items() if target.startswith("campaign:") and figure == "ready"]
    assert len(campaigns) == 2 and sum(campaigns) == ringing
    assert {n for (_, figure), n in gaps.items() if figure != "ready"} == {0}
    assert f"<li>account: Convoso counts {ready + ringing} ready, we count {ready} (counting RINGING?)</li>" in page
    assert "agree with ours" not in page


def test_a_simulator_counting_as_documented_agrees_everywhere():
    body, page, _ = asyncio.run(poll_simulated("documented"))
    gaps = disagreements(body)
    assert len(gaps) == 24 and set(gaps.values()) == {0}
    assert "Convoso's own agent counts agree with ours (6 targets compared)." in page
