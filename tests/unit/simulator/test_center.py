"""The simulated contact center: determinism, the agent state machine, counters,
drop ratio and surges, filters and error codes, driven by a fake clock."""

from __future__ import annotations

import json
import re
import time
from collections import Counter

import pytest

from convoso_exporter.api.model import Agent
from convoso_exporter.api.parse import parse_search
from convoso_exporter.simulator.center import MAX_CATCHUP, ContactCenter, FakeClock

MIDNIGHT = 1_767_225_600  # 2026-01-01 00:00:00 UTC
DAY = 86400
NOON = MIDNIGHT + 12 * 3600

AGENT_TYPES = {
    "user_id": str, "user_full_name": str, "campaign_id": str, "campaign_name": str,
    "queue_id": str, "queue_name": str, "queue_assignment": str, "list_id": str,
    "extension": str, "channel_type": str, "call_type": str, "lead_id": str,
    "call_log_id": str, "calls_today": int, "total_calls": int, "status": str,
    "status_label": str, "status_time_sec": int, "status_time_mmss": str,
    "connection_type": str, "skill_options": str,
}
ROOT_COUNTS = (
    "queue_dialable_leads", "queue_calls_today", "queue_dropped", "queue_answered",
    "agent_total", "agent_incall", "agent_ready", "agent_paused",
)
# Who may follow whom, watching every second (logout by the API aside).
NEXT = {
    "READY": {"RINGING"},
    "RINGING": {"INCALL"},
    "INCALL": {"WRAP", "TRANSFER"},
    "TRANSFER": {"WRAP"},
    "WRAP": {"READY", "PAUSED", "LOGGED_OUT"},
    "PAUSED": {"READY"},
    "LOGGED_OUT": {"READY"},
}


def make(clock: FakeClock | None = None, **kwargs) -> tuple[ContactCenter, FakeClock]:
    clock = clock or FakeClock()
    kwargs.setdefault("start_wall", NOON)
    return ContactCenter(clock=clock, **kwargs), clock


def statuses(center: ContactCenter) -> dict[str, str]:
    return {agent.user_id: agent.status for agent in center.select().agents}


def counters(answer: dict) -> tuple[int, int, int]:
    data = answer["call_data"]
    return data["total_calls"], data["answered"], data["dropped"]


# --- clock and determinism ------------------------------------------------------------


def test_fake_clock_moves_only_when_told():
    clock = FakeClock(10.0)
    assert clock() == 10.0
    clock.advance(2.5)
    assert clock() == 12.5
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_same_seed_gives_the_same_center_and_the_same_future():
    first, clock_a = make(seed=42)
    second, clock_b = make(seed=42)
    other, clock_c = make(seed=43)
    assert first.search() == second.search()
    assert first.search() != other.search()
    for step in (1, 7, 60, 300, 1000):
        for clock in (clock_a, clock_b, clock_c):
            clock.advance(step)
        assert first.search() == second.search()
        assert first.logout("100003") == second.logout("100003")


def test_listings_are_consistent():
    center, _ = make(agents=30, campaigns=3, queues=5)
    assert center.campaign_ids() == ["1001", "1002", "1003"]
    assert len(set(center.queue_ids())) == 5
    assert len(set(center.agent_ids())) == 30
    owned = [queue_id for campaign in center.campaigns() for queue_id in campaign["queue_ids"]]
    assert sorted(owned) == sorted(center.queue_ids())
    for queue in center.queues():
        campaign = next(c for c in center.campaigns() if c["campaign_id"] == queue["campaign_id"])
        assert queue["queue_id"] in campaign["queue_ids"]


@pytest.mark.parametrize(
    "kwargs",
    [{"queues": 2, "campaigns": 3}, {"agents": -1}, {"campaigns": 0}, {"drop_ratio": 1.0}, {"drop_ratio": -0.1},
     {"leads_per_queue": 0}, {"machine_share": 1.0}, {"machine_share": "0.3"}],
)
def test_bad_sizes_are_refused_with_one_line(kwargs):
    with pytest.raises(ValueError) as raised:
        make(**kwargs)
    assert "\n" not in str(raised.value)
    assert next(iter(kwargs)).split("_")[0] in str(raised.value)


# --- the documented shape --------------------------------------------------------------


def test_documented_shape_has_every_field_with_its_json_type():
    center, clock = make(agents=40)
    clock.advance(90)
    answer = json.loads(json.dumps(center.search()))
    assert set(answer) == {"agents", "call_data", *ROOT_COUNTS}
    assert set(answer["call_data"]) == {"total_calls", "answered", "dropped"}
    assert all(type(answer["call_data"][name]) is int for name in answer["call_data"])
    assert all(type(answer[name]) is int for name in ROOT_COUNTS)
    assert len(answer["agents"]) == answer["agent_total"] == 40
    for agent in answer["agents"]:
        assert {name: type(value) for name, value in agent.items()} == AGENT_TYPES
        minutes, seconds = divmod(agent["status_time_sec"], 60)
        assert agent["status_time_mmss"] == f"{minutes:02d}:{seconds:02d}"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", agent["queue_assignment"])
        assert agent["status"] in NEXT


def test_the_client_parser_reads_every_documented_field():
    center, _ = make(agents=20)
    result = parse_search(json.loads(json.dumps(center.search())))
    assert result.agent_total == 20 and result.call_data is not None
    for agent in result.agents:
        missing = [name for name in Agent.__slots__ if getattr(agent, name) is None]
        assert missing == []


def test_root_counts_match_the_agents():
    center, clock = make(agents=60)
    clock.advance(500)
    answer = center.search()
    listed = [agent["status"] for agent in answer["agents"]]
    assert answer["agent_total"] == len(listed)
    assert answer["agent_incall"] == listed.count("INCALL")
    assert answer["agent_ready"] == listed.count("READY")
    assert answer["agent_paused"] == listed.count("PAUSED")
    assert counters(answer) == (answer["queue_calls_today"], answer["queue_answered"], answer["queue_dropped"])


# --- the state machine -----------------------------------------------------------------


def test_agents_cycle_through_the_states_in_order():
    center, clock = make(agents=100, seed=5)
    seen: set[str] = set()
    moves: set[tuple[str, str]] = set()
    before = statuses(center)
    for _ in range(3 * 3600):
        clock.advance(1)
        center.now()
        after = statuses(center)
        for user_id, status in after.items():
            seen.add(status)
            if status != before[user_id]:
                assert status in NEXT[before[user_id]], (before[user_id], status)
                moves.add((before[user_id], status))
        before = after
    assert seen == set(NEXT)
    assert {("WRAP", "LOGGED_OUT"), ("LOGGED_OUT", "READY"), ("INCALL", "TRANSFER"), ("WRAP", "PAUSED")} <= moves


def test_logged_out_agents_are_rare():
    center, clock = make(agents=200, seed=9)
    samples = logged_out = 0
    for _ in range(120):
        clock.advance(60)
        found = list(statuses(center).values())
        samples += len(found)
        logged_out += found.count("LOGGED_OUT")
    assert 0 < logged_out < 0.05 * samples


def test_status_time_grows_then_resets_on_change():
    center, clock = make(agents=5, seed=3)
    user_id = "100002"
    previous = center.search(user_id=user_id)["agents"][0]
    changes = 0
    for _ in range(1200):
        clock.advance(1)
        current = center.search(user_id=user_id)["agents"][0]
        if current["status"] == previous["status"]:
            assert current["status_time_sec"] == previous["status_time_sec"] + 1
        else:
            changes += 1
            assert current["status_time_sec"] == 0
        previous = current
    assert changes >= 4


def test_status_time_does_not_move_within_a_second():
    center, clock = make(agents=5)
    first = center.search()
    clock.advance(0.6)
    assert center.search() == first


def test_calls_are_counted_for_agents_and_their_session():
    center, clock = make(agents=30, seed=4)
    start = {a["user_id"]: a for a in center.search()["agents"]}
    clock.advance(1800)
    end = {a["user_id"]: a for a in center.search()["agents"]}
    grew = [uid for uid in end if end[uid]["calls_today"] > start[uid]["calls_today"]]
    assert len(grew) > 20
    for agent in end.values():
        assert 0 <= agent["total_calls"] <= agent["calls_today"]


# --- queues and counters ----------------------------------------------------------------


def test_dialable_leads_go_down_as_calls_are_placed():
    center, clock = make(agents=40, leads_per_queue=1_000_000)
    queue_id = center.queue_ids()[0]
    levels = []
    for _ in range(6):
        levels.append(center.search(queue_id=queue_id)["queue_dialable_leads"])
        clock.advance(600)
    assert levels == sorted(levels, reverse=True) and levels[-1] < levels[0]


def test_an_exhausted_queue_loads_a_fresh_list():
    center, clock = make(agents=40, leads_per_queue=60)
    queue_id = center.queue_ids()[0]
    lists, levels = set(), []
    for _ in range(120):
        clock.advance(30)
        answer = center.search(queue_id=queue_id)
        levels.append(answer["queue_dialable_leads"])
        lists.update(agent["list_id"] for agent in answer["agents"])
    assert all(1 <= level <= 60 for level in levels)
    assert any(later > earlier for earlier, later in zip(levels, levels[1:]))  # a refill
    assert len(lists) >= 3


def test_counters_accumulate_per_queue_and_add_up_per_campaign():
    center, clock = make(agents=60, campaigns=2, queues=4)
    before = {cid: counters(center.search(campaign_id=cid)) for cid in center.campaign_ids()}
    clock.advance(3600)
    total = [0, 0, 0]
    for campaign in center.campaigns():
        cid = campaign["campaign_id"]
        answer = center.search(campaign_id=cid)
        queues = [counters(center.search(queue_id=qid)) for qid in campaign["queue_ids"]]
        assert counters(answer) == tuple(map(sum, zip(*queues)))
        assert answer["queue_dialable_leads"] == sum(
            center.search(queue_id=qid)["queue_dialable_leads"] for qid in campaign["queue_ids"]
        )
        assert all(now > then for now, then in zip(counters(answer), before[cid]))
        calls, answered, dropped = counters(answer)
        assert calls >= answered >= dropped
        total = [t + c for t, c in zip(total, counters(answer))]
    assert list(counters(center.search())) == total


def test_counters_start_again_at_midnight():
    # Live calls only (30 s or more, most far longer): no agent takes two in 100 s. An
    # answering machine's call takes seconds, so with machines some agents would.
    center, clock = make(agents=40, start_wall=MIDNIGHT - 1800, machine_share=0.0)
    clock.advance(1700)
    late = center.search()
    clock.advance(200)  # 00:01:40
    early = center.search()
    assert counters(early)[1] < counters(late)[1] / 10
    assert max(agent["calls_today"] for agent in early["agents"]) <= 1
    assert early["queue_dialable_leads"] < late["queue_dialable_leads"]  # leads do not come back


def test_a_long_clock_jump_is_skipped_not_replayed():
    jumped, jump_clock = make(agents=50, start_wall=MIDNIGHT)
    stepped, step_clock = make(agents=50, start_wall=MIDNIGHT)
    jump_clock.advance(12 * 3600)
    for _ in range(12 * 6):
        step_clock.advance(600)
        stepped.now()
    assert jumped.now() == stepped.now() == 12 * 3600
    # Only the last MAX_CATCHUP seconds of the jump are played.
    assert 0 < counters(jumped.search())[1] < counters(stepped.search())[1] / 4
    assert all(agent["status_time_sec"] <= MAX_CATCHUP + 1800 for agent in jumped.search()["agents"])


# --- drops ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [0.02, 0.05])
def test_drop_ratio_converges(ratio):
    center, clock = make(agents=300, drop_ratio=ratio, start_wall=MIDNIGHT, seed=11)
    for _ in range(8 * 6):
        clock.advance(600)
        center.now()
    _, answered, dropped = counters(center.search())
    assert answered > 20_000
    assert dropped / answered == pytest.approx(ratio, abs=0.002)


def test_a_surge_raises_drops_within_minutes_and_ends():
    center, clock = make(agents=100, start_wall=MIDNIGHT + 3600)

    def window(seconds: int) -> float:
        _, answered_before, dropped_before = counters(center.search())
        clock.advance(seconds)
        _, answered, dropped = counters(center.search())
        return (dropped - dropped_before) / (answered - answered_before)

    assert window(1800) < 0.06
    center.set_drop_ratio(0.2)
    assert center.drop_ratio == 0.2
    assert window(300) > 0.12
    center.set_drop_ratio(None)
    assert center.drop_ratio == 0.02
    assert window(1800) < 0.06
    with pytest.raises(ValueError):
        center.set_drop_ratio(1.5)


def test_the_machine_share_changes_at_run_time_and_answered_still_counts_machines():
    center, clock = make(agents=40, start_wall=MIDNIGHT + 3600)

    def window(seconds: int) -> tuple[int, int]:
        """(machine answers, answered) in the next `seconds`."""
        before = center.truth()["performance"][center.truth()["today"]]["account"]
        clock.advance(seconds)
        after = center.truth()["performance"][center.truth()["today"]]["account"]
        return after["machine"] - before["machine"], after["answered"] - before["answered"]

    machine, answered = window(1800)
    assert center.machine_share == 0.3 and 0.2 < machine / answered < 0.4
    center.set_machine_share(0.0)
    assert window(1800)[0] == 0
    center.set_machine_share(None)
    assert center.machine_share == 0.3 and window(1800)[0] > 0
    with pytest.raises(ValueError, match="machine share must be a number in"):
        center.set_machine_share(-0.1)


# --- filters and errors ----------------------------------------------------------------------


def test_filter_by_campaign_queue_user_and_skills():
    center, _ = make(agents=80, campaigns=3, queues=6)
    everyone = center.search()["agents"]
    cid = center.campaign_ids()[1]
    by_campaign = center.search(campaign_id=cid)["agents"]
    assert by_campaign == [a for a in everyone if a["campaign_id"] == cid] and by_campaign
    qid = center.queue_ids()[4]
    by_queue = center.search(queue_id=qid)["agents"]
    assert by_queue == [a for a in everyone if a["queue_id"] == qid] and by_queue
    by_user = center.search(user_id="100010")
    assert [a["user_id"] for a in by_user["agents"]] == ["100010"] and by_user["agent_total"] == 1
    assert counters(by_user) == counters(center.search(queue_id=by_user["agents"][0]["queue_id"]))
    spanish = center.search(skills="spanish, sales")["agents"]
    assert spanish == [a for a in everyone if {"spanish", "sales"} & set(a["skill_options"].split(","))]
    assert 0 < len(spanish) < len(everyone)
    assert center.search(skills=["spanish", "sales"]) == center.search(skills="sales,spanish")
    nobody = center.search(skills="klingon")
    assert nobody["agents"] == [] and nobody["agent_total"] == 0 and counters(nobody) == (0, 0, 0)


def test_filters_combine():
    center, _ = make(agents=40, campaigns=2, queues=4)
    campaign = center.campaigns()[0]
    foreign_queue = center.campaigns()[1]["queue_ids"][0]
    assert center.search(campaign_id=campaign["campaign_id"], queue_id=foreign_queue)["agents"] == []
    own_queue = campaign["queue_ids"][0]
    both = center.search(campaign_id=campaign["campaign_id"], queue_id=own_queue)
    assert both == center.search(queue_id=own_queue)


@pytest.mark.parametrize(
    "filters, code, error",
    [
        ({"campaign_id": "999"}, 6026, "Campaign not found"),
        ({"queue_id": "999"}, 6041, "Queue not found"),
        ({"user_id": "999"}, 6006, "User not found"),
    ],
)
def test_unknown_ids_answer_the_documented_errors(filters, code, error):
    center, _ = make(agents=10)
    assert center.search(**filters) == {"success": False, "code": code, "error": error}


# --- logout --------------------------------------------------------------------------------


def test_logout_then_not_logged_in_then_back_later():
    center, clock = make(agents=10, seed=2)
    user_id = next(uid for uid, status in statuses(center).items() if status != "LOGGED_OUT")
    assert center.logout(user_id) == {"success": True}
    agent = center.search(user_id=user_id)["agents"][0]
    assert agent["status"] == "LOGGED_OUT" and agent["status_time_sec"] == 0
    assert center.logout(user_id) == {"success": False, "code": 6012, "error": "User is not logged in"}
    for _ in range(1800):
        clock.advance(1)
        agent = center.search(user_id=user_id)["agents"][0]
        if agent["status"] != "LOGGED_OUT":
            break
    assert agent["status"] == "READY"
    assert agent["total_calls"] == 0  # a new session


@pytest.mark.parametrize("user_id", [None, "", "999"])
def test_logout_of_missing_or_unknown_user(user_id):
    center, _ = make(agents=5)
    assert center.logout(user_id) == {"success": False, "code": 6006, "error": "User not found"}


# --- campaigns and queues at run time --------------------------------------------------------


def ids_in(answer: dict) -> set[str]:
    return {agent[name] for agent in answer["agents"] for name in ("campaign_id", "queue_id")}


def test_an_added_campaign_is_listed_searchable_and_takes_calls():
    center, clock = make(agents=40, campaigns=2, queues=3)
    before = center.agent_ids()
    cid = center.add_campaign("Winter Promo", agents=6)
    assert cid == "1003" and center.campaign_ids() == ["1001", "1002", "1003"]
    listed = next(c for c in center.campaigns() if c["campaign_id"] == cid)
    assert listed["campaign_name"] == "Winter Promo" and listed["queue_ids"] == ["2004"]
    answer = center.search(campaign_id=cid)
    assert answer["agent_total"] == 6 and {a["queue_id"] for a in answer["agents"]} == {"2004"}
    assert center.agent_ids() == before  # the account keeps its agents: they moved
    assert center.search(queue_id="2004")["agents"] == answer["agents"]
    clock.advance(1800)
    assert counters(center.search(campaign_id=cid))[1] > 0
    assert center.add_campaign() == "1004"  # a generated name, no agents
    empty = center.search(campaign_id="1004")
    assert empty["agents"] == [] and counters(empty) == (0, 0, 0) and empty["queue_dialable_leads"] > 0


def test_an_added_queue_belongs_to_its_campaign():
    center, _ = make(agents=20, campaigns=2, queues=2)
    qid = center.add_queue("1002", agents=3)
    assert qid == "2003" and center.campaigns()[1]["queue_ids"] == ["2002", "2003"]
    answer = center.search(campaign_id="1002", queue_id=qid)
    assert answer["agent_total"] == 3 and {a["campaign_id"] for a in answer["agents"]} == {"1002"}
    name = center.campaigns()[1]["campaign_name"]
    assert center.queues()[-1] == {"queue_id": qid, "queue_name": f"{name} Spanish", "campaign_id": "1002"}


def test_a_removed_queue_answers_6041_and_its_agents_move_round_robin():
    center, _ = make(agents=40, campaigns=2, queues=4)
    gone = "2002"
    movers = [a["user_id"] for a in center.search(queue_id=gone)["agents"]]
    assert len(movers) >= 4
    center.remove_queue(gone)
    assert center.search(queue_id=gone) == {"success": False, "code": 6041, "error": "Queue not found"}
    assert center.queue_ids() == ["2001", "2003", "2004"]
    places = {a["user_id"]: a["queue_id"] for a in center.search()["agents"]}
    assert [places[uid] for uid in movers] == [["2001", "2003", "2004"][turn % 3] for turn in range(len(movers))]
    assert len(places) == 40 and gone not in ids_in(center.search())


def test_a_removed_campaign_answers_6026_and_vanishes_with_its_queues():
    center, _ = make(agents=40, campaigns=3, queues=5)
    queues = center.campaigns()[1]["queue_ids"]
    center.remove_campaign("1002")
    assert center.search(campaign_id="1002") == {"success": False, "code": 6026, "error": "Campaign not found"}
    for qid in queues:
        assert center.search(queue_id=qid)["code"] == 6041
    everyone = center.search()
    assert everyone["agent_total"] == 40
    assert not ({"1002", *queues} & ids_in(everyone))
    assert "1002" not in center.campaign_ids() and not set(queues) & set(center.queue_ids())
    assert center.removed_ids() == ({"1002"}, set(queues))


def test_ids_are_never_reused():
    center, _ = make(agents=10, campaigns=2, queues=2)
    first = center.add_campaign()
    center.remove_campaign(first)
    second = center.add_campaign()
    queue = center.add_queue(second)
    center.remove_queue(queue)
    assert (first, second) == ("1003", "1004")
    assert center.add_queue(second) == "2006" and queue == "2005"
    assert center.search(campaign_id=first)["code"] == 6026


def test_removals_that_would_leave_no_queue_are_refused():
    center, _ = make(agents=10, campaigns=1, queues=1)
    with pytest.raises(ValueError, match="account's last queue"):
        center.remove_queue("2001")
    with pytest.raises(ValueError, match="last queue"):
        center.remove_campaign("1001")
    other = center.add_campaign()
    with pytest.raises(ValueError, match="remove the campaign instead"):
        center.remove_queue(center.campaigns()[1]["queue_ids"][0])
    center.remove_campaign(other)
    assert center.campaign_ids() == ["1001"] and center.search()["agent_total"] == 10


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.remove_queue("2999"),
        lambda c: c.remove_campaign("1999"),
        lambda c: c.add_queue("1999"),
    ],
)
def test_unknown_ids_are_lookup_errors_in_one_line(change):
    center, _ = make(agents=5)
    with pytest.raises(LookupError) as raised:
        change(center)
    assert "\n" not in str(raised.value) and "999" in str(raised.value) and "not found" in str(raised.value)


@pytest.mark.parametrize("kwargs", [{"name": ""}, {"name": "  "}, {"name": 7}, {"agents": -1}, {"agents": True}])
def test_bad_names_and_agent_counts_are_refused_and_change_nothing(kwargs):
    center, _ = make(agents=5)
    with pytest.raises(ValueError):
        center.add_campaign(**kwargs)
    assert center.campaign_ids() == ["1001", "1002", "1003"] and len(center.queue_ids()) == 4


def test_cached_selections_follow_removals_within_the_same_tick():
    center, _ = make(agents=30, campaigns=2, queues=4)
    mover = center.search(queue_id="2003")["agents"][0]["user_id"]
    center.search(campaign_id="1001"), center.search(user_id=mover), center.search(skills="spanish")
    center.remove_queue("2003")  # no clock move: only the layout change can refresh the caches
    assert center.search(queue_id="2003")["code"] == 6041
    assert center.search(user_id=mover)["agents"][0]["queue_id"] != "2003"
    assert "2003" not in ids_in(center.search(campaign_id="1001"))
    assert "2003" not in ids_in(center.search(skills="spanish"))
    added = center.add_queue("1001")
    assert center.search(queue_id=added)["agent_total"] == 0


def test_today_counters_do_not_fall_when_a_queue_or_campaign_goes():
    center, clock = make(agents=40, campaigns=2, queues=4)
    clock.advance(1800)
    account, campaign = counters(center.search()), counters(center.search(campaign_id="1001"))
    center.remove_queue("2003")  # 1001's second queue
    assert counters(center.search(campaign_id="1001")) == campaign
    assert counters(center.search()) == account
    center.remove_campaign("1002")
    assert counters(center.search()) == account
    clock.advance(600)
    assert all(now >= then for now, then in zip(counters(center.search()), account))


# --- the day boundary in a time zone --------------------------------------------------------------

WINTER_NY_MIDNIGHT = 1_768_453_200  # 2026-01-15 00:00 America/New_York = 05:00 UTC
SUMMER_NY_MIDNIGHT = 1_784_088_000  # 2026-07-15 00:00 America/New_York = 04:00 UTC


@pytest.mark.parametrize("midnight, utc_hour", [(WINTER_NY_MIDNIGHT, 5), (SUMMER_NY_MIDNIGHT, 4)])
def test_new_york_counters_reset_at_its_local_midnight(midnight, utc_hour):
    assert time.gmtime(midnight).tm_hour == utc_hour
    # Start an hour before the UTC midnight that precedes New York's: UTC's must not reset.
    start = midnight - utc_hour * 3600 - 3600
    center, clock = make(agents=60, start_wall=start, timezone="America/New_York")
    assert center.timezone == "America/New_York"
    assert center.truth()["today"] == time.strftime("%Y-%m-%d", time.gmtime(midnight - DAY))
    answered = [counters(center.search())[1]]
    while clock() < midnight - start - 1:
        clock.advance(min(600, midnight - start - 1 - clock()))
        answered.append(counters(center.search())[1])
    assert answered == sorted(answered) and answered[-1] > 2 * answered[0]  # through 00:00 UTC
    late = center.search()
    clock.advance(1)  # local midnight
    early = center.search()
    assert counters(early)[1] < counters(late)[1] / 10
    assert max(agent["calls_today"] for agent in early["agents"]) <= 1 < max(a["calls_today"] for a in late["agents"])
    assert center.truth()["today"] == time.strftime("%Y-%m-%d", time.gmtime(midnight))


def test_a_timezone_must_be_an_iana_name():
    for bad in ("Mars/Olympus", "utc", "", "../etc/passwd"):
        with pytest.raises(ValueError) as raised:
            make(timezone=bad)
        assert "\n" not in str(raised.value) and "zone" in str(raised.value)


def test_timestamps_are_local_time_of_the_zone():
    utc, _ = make(agents=3, start_wall=NOON)
    tokyo, _ = make(agents=3, start_wall=NOON, timezone="Asia/Tokyo")
    assert utc.wall_text(0) == "2026-01-01 12:00:00" and tokyo.wall_text(0) == "2026-01-01 21:00:00"


# --- ground truth ------------------------------------------------------------------------------------


def places(center: ContactCenter) -> dict[str, tuple[str, str, str]]:
    return {a["user_id"]: (a["campaign_id"], a["queue_id"], a["status"]) for a in center.search()["agents"]}


def fresh(center: ContactCenter, queue_id: str | None = None) -> list[str]:
    """Agents (of a queue) that changed status this very second, logged in."""
    answer = center.search(queue_id=queue_id)
    return [a["user_id"] for a in answer["agents"] if a["status_time_sec"] == 0 and a["status"] != "LOGGED_OUT"]


def test_truth_books_every_agent_second_where_the_agent_was():
    """Watch every second (a second's operations come before its look), add up what was
    seen, and hold the truth to it: logouts, a surge, removals, added campaigns, and
    stays cut short in the second they began (a logout, a move)."""
    center, clock = make(agents=24, campaigns=3, queues=5, seed=6)
    center.add_campaign(agents=2)  # a move at tick 0: 1004 / 2006
    seen_seconds: Counter = Counter()
    seen_entries: Counter = Counter(places(center).values())
    before = places(center)
    # (from tick, when, what): each done once, at the first tick it may.
    pending = [
        (300, lambda: fresh(center), lambda: center.logout(fresh(center)[0])),
        (301, lambda: True, lambda: center.logout(next(u for u, p in places(center).items() if p[2] == "READY"))),
        (600, lambda: True, lambda: center.set_drop_ratio(0.3)),
        (900, lambda: fresh(center, "2002"), lambda: center.remove_queue("2002")),
        (1200, lambda: True, lambda: center.add_campaign(agents=4)),
        (1500, lambda: fresh(center, "2003"), lambda: center.remove_campaign("1003")),
        (1800, lambda: True, lambda: center.set_drop_ratio(None)),
    ]
    for tick in range(1, 2401):
        seen_seconds.update(before.values())  # the second [tick - 1, tick)
        clock.advance(1)
        if pending and tick >= pending[0][0] and pending[0][1]():
            pending.pop(0)[2]()
        now = places(center)
        seen_entries.update(place for uid, place in now.items() if place != before[uid])
        before = now
    assert not pending
    truth = center.truth()
    assert truth["tick"] == 2400 and truth["skipped_seconds"] == 0 and truth["agents"] == 24
    assert truth["agent_seconds"] == dict(seen_seconds)
    assert truth["entries"] == dict(seen_entries)
    assert {key[:2] for key in truth["agent_seconds"]} >= {("1003", "2003"), ("1002", "2002"), ("1005", "2007")}
    assert sum(truth["agent_seconds"].values()) == 24 * 2400


def day_counters(center: ContactCenter) -> dict:
    """What the today counters show now, shaped like a day of the truth."""

    def shown(**scope) -> dict:
        calls, answered, dropped = counters(center.search(**scope))
        return {"calls": calls, "answered": answered, "dropped": dropped}

    return {
        "account": shown(),
        "campaigns": {cid: shown(campaign_id=cid) for cid in center.campaign_ids()},
        "queues": {qid: shown(queue_id=qid) for qid in center.queue_ids()},
    }


def test_truth_per_day_is_what_the_today_counters_showed_just_before_midnight():
    start = WINTER_NY_MIDNIGHT - 2 * 3600  # 22:00 in New York, 2026-01-14
    center, clock = make(agents=50, campaigns=2, queues=4, start_wall=start, timezone="America/New_York")

    def run_to(seconds_before_midnight: int, midnight: int) -> None:
        while clock() < midnight - start - seconds_before_midnight:
            clock.advance(min(900, midnight - start - seconds_before_midnight - clock()))
            center.now()

    run_to(3600, WINTER_NY_MIDNIGHT)
    gone = day_counters(center)["queues"]["2003"]
    center.remove_queue("2003")  # 23:00: the day keeps what it showed when it went
    run_to(1, WINTER_NY_MIDNIGHT)  # 23:59:59
    first = day_counters(center)
    expected = {**first, "queues": {**first["queues"], "2003": gone}}
    assert center.truth()["days"]["2026-01-14"] == expected
    clock.advance(1)
    truth = center.truth()
    assert truth["today"] == "2026-01-15" and truth["days"]["2026-01-14"] == expected
    assert truth["days"]["2026-01-15"] == day_counters(center)  # so far
    assert sum(c["answered"] for c in first["campaigns"].values()) == first["account"]["answered"]

    run_to(12 * 3600, WINTER_NY_MIDNIGHT + DAY)
    added = center.add_campaign(agents=10)
    run_to(1, WINTER_NY_MIDNIGHT + DAY)
    second = day_counters(center)
    clock.advance(1)
    assert center.truth()["days"]["2026-01-15"] == second and second["campaigns"][added]["answered"] > 0
    assert second["account"]["answered"] > 2 * first["account"]["answered"]  # a whole day, not two hours


def test_days_and_agent_time_across_a_skipped_clock_jump():
    center, clock = make(agents=30, start_wall=MIDNIGHT + 22 * 3600)
    clock.advance(1800)
    shown = day_counters(center)
    center.logout(next(u for u, p in places(center).items() if p[2] != "LOGGED_OUT"))
    clock.advance(50 * 3600)  # to 00:30 on Jan 4: frozen from 22:30 Jan 1 to 23:30 Jan 3
    truth = center.truth()
    assert truth["skipped_seconds"] == 50 * 3600 - MAX_CATCHUP
    assert sum(truth["agent_seconds"].values()) == 30 * (truth["tick"] - truth["skipped_seconds"])
    assert truth["days"]["2026-01-01"] == shown
    assert truth["days"]["2026-01-02"]["account"] == {"calls": 0, "answered": 0, "dropped": 0}
    assert truth["days"]["2026-01-03"]["account"]["answered"] > 0 and truth["today"] == "2026-01-04"
    clock.advance(2 * 3600)
    later = center.truth()
    assert sum(later["agent_seconds"].values()) == 30 * (later["tick"] - later["skipped_seconds"])
    assert all(later["agent_seconds"][key] >= value for key, value in truth["agent_seconds"].items())


def test_truth_is_plain_data_and_its_json_keys_are_joined():
    from convoso_exporter.simulator.truth import truth_json

    center, clock = make(agents=10, campaigns=1, queues=1)
    clock.advance(600)
    truth = center.truth()
    as_json = json.loads(json.dumps(truth_json(truth)))
    assert as_json["agent_seconds"] == {"/".join(key): value for key, value in truth["agent_seconds"].items()}
    assert as_json["entries"]["1001/2001/INCALL"] == truth["entries"][("1001", "2001", "INCALL")]
    assert as_json["days"] == truth["days"] and as_json["timezone"] == "UTC" and as_json["wall"] == NOON + 600
    assert center.truth() == truth  # asking changes nothing
