"""convoso_exporter.simulator.performance: agent-performance search answered from the day
book — the answer for a day is the ground truth per agent and, summed, per campaign;
the account's local days; filters, errors, styles, pagination."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from convoso_exporter.simulator.center import ContactCenter, FakeClock
from convoso_exporter.simulator.performance import hms, percent, search

ZONE = zoneinfo.ZoneInfo("America/New_York")
START = datetime.datetime(2026, 1, 1, 20, 0, tzinfo=ZONE).timestamp()  # 01:00 UTC on 2 January
DAYS = ("2026-01-01", "2026-01-02")
BOTH = {"date_start": DAYS[0], "date_end": DAYS[1]}


def seconds(text: str) -> int:
    hours, minutes, secs = (int(part) for part in text.split(":"))
    assert 0 <= minutes < 60 and 0 <= secs < 60
    return 3600 * hours + 60 * minutes + secs


@pytest.fixture(scope="module")
def center() -> ContactCenter:
    """12 agents from 20:00 local on 1 January to 03:00 on the 2nd, one queue removed at 23:00."""
    clock = FakeClock()
    center = ContactCenter(agents=12, campaigns=3, queues=4, seed=9, clock=clock, start_wall=START,
                           timezone="America/New_York")
    for hour in range(7):
        if hour == 3:
            center.remove_queue("2004")
        clock.advance(3600)
        center.now()
    return center


def ask(center: ContactCenter, style: str = "documented", fault: str | None = None, **params) -> dict:
    return search(center, {key: str(value) for key, value in params.items()}, style, fault)


def day(center: ContactCenter, date: str, **params) -> list[dict]:
    answer = ask(center, date_start=date, date_end=date, **params)
    assert answer["success"] is True and answer["total"] == len(answer["data"])
    return answer["data"]


# --- the answer is the truth ------------------------------------------------------------------


@pytest.mark.parametrize("date", DAYS)
def test_a_days_answer_is_the_truth_per_agent(center, date):
    truth = center.truth()["performance"][date]["agents"]
    listed = day(center, date)
    assert [item["user_id"] for item in listed] == sorted(truth)  # every agent worked both days
    for item in listed:
        expected = truth[item["user_id"]]
        assert item["am"] == expected["machine"]
        assert item["others"] == item["human_answered"] == expected["live_handled"]
        assert item["calls"] == item["am"] + item["others"]
        for field, activity in (("talk_sec", "talk"), ("wait_sec", "wait"), ("pause_sec", "pause"),
                                ("wrap_sec", "wrap"), ("total_time", "logged_in")):
            assert seconds(item[field]) == expected[activity], (item["user_id"], field)
        assert item["talk_sec_pt"] == percent(expected["talk"], expected["logged_in"])
        assert item["am_pt"] == percent(item["am"], item["calls"])
        assert abs(item["am_pt"] + item["others_pt"] - 100) < 0.02


@pytest.mark.parametrize("date", DAYS)
def test_a_campaigns_answer_sums_to_its_truth_and_answered_is_machine_live_and_dropped(center, date):
    truth = center.truth()
    for campaign_id in ("1001", "1002", "1003"):
        listed = day(center, date, campaign_ids=campaign_id)
        expected = truth["performance"][date]["campaigns"][campaign_id]
        assert sum(item["am"] for item in listed) == expected["machine"] > 0
        assert sum(item["human_answered"] for item in listed) == expected["live_handled"] > 0
        for field, activity in (("talk_sec", "talk"), ("wait_sec", "wait"), ("pause_sec", "pause"),
                                ("wrap_sec", "wrap"), ("total_time", "logged_in")):
            assert sum(seconds(item[field]) for item in listed) == expected[activity]
        # The agent-monitor counters of that local day: answered counts machine answers too.
        counted = truth["days"][date]["campaigns"][campaign_id]
        assert counted["answered"] == expected["machine"] + expected["live_handled"] + counted["dropped"]


def test_days_are_the_accounts_local_days(center):
    """20:00-24:00 local is 1 January in New York (in UTC, all of it is the 2nd): four
    hours of each agent's time, and a range of both days adds them up."""
    first, second, both = day(center, DAYS[0]), day(center, DAYS[1]), ask(center, **BOTH)["data"]
    rows = center.day_rows(DAYS[0])
    assert sum(sum(row) for row in rows.values()) - sum(row[0] + row[1] for row in rows.values()) == 12 * 4 * 3600
    assert all(seconds(item["total_time"]) <= 4 * 3600 for item in first)
    assert all(seconds(item["total_time"]) <= 3 * 3600 for item in second)
    for one, two, whole in zip(first, second, both):
        assert whole["calls"] == one["calls"] + two["calls"]
        assert seconds(whole["total_time"]) == seconds(one["total_time"]) + seconds(two["total_time"])
    assert day(center, "2025-12-31") == [] and day(center, "2026-01-03") == []


def test_hours_pass_24_and_shares_of_nothing_are_zero():
    assert hms(0) == "00:00:00" and hms(59) == "00:00:59" and hms(90061) == "25:01:01" and hms(360000) == "100:00:00"
    assert percent(0, 0) == 0.0 and percent(1, 3) == 33.33


# --- filters ----------------------------------------------------------------------------------


def test_filters_combine(center):
    everyone = {item["user_id"]: item for item in ask(center, **BOTH)["data"]}
    users = day(center, DAYS[1], user_ids="100002, 100005")
    assert [item["user_id"] for item in users] == ["100002", "100005"]
    queue = day(center, DAYS[1], queue_ids="2001")
    both_queues = day(center, DAYS[1], queue_ids="2001,2002")
    assert {item["user_id"] for item in queue} < {item["user_id"] for item in both_queues}
    campaign = day(center, DAYS[1], campaign_ids="1001", user_ids=",".join(everyone))
    alone = day(center, DAYS[1], campaign_ids="1001")
    assert campaign == alone and len(alone) < len(everyone)
    lists = {key[2] for key in center.day_rows(DAYS[1])}
    listed = day(center, DAYS[1], list_ids=sorted(lists)[0])
    assert 0 < sum(item["calls"] for item in listed) < sum(item["calls"] for item in day(center, DAYS[1]))
    assert day(center, DAYS[1], list_ids="999") == []


def test_the_removed_queues_days_stay_and_its_agents_moved(center):
    """Queue 2004 went at 23:00 local: it has rows on the 1st only; its id is still known."""
    assert day(center, DAYS[0], queue_ids="2004") and day(center, DAYS[1], queue_ids="2004") == []


def test_status_ids_keep_the_calls_of_those_statuses(center):
    full = {item["user_id"]: item for item in day(center, DAYS[1])}
    machines = day(center, DAYS[1], status_ids="AM")
    humans = {item["user_id"]: item for item in day(center, DAYS[1], status_ids="HUMAN")}
    assert machines and all(item["human_answered"] == 0 for item in machines)
    assert all(item["am"] == full[item["user_id"]]["am"] for item in machines)
    assert all(item["wait_sec"] == item["pause_sec"] == "00:00:00" for item in machines)
    assert all(item["am_pt"] == 100.0 for item in machines)
    for item in machines:
        other = humans.get(item["user_id"])
        talk = seconds(item["talk_sec"]) + (seconds(other["talk_sec"]) if other else 0)
        assert talk == seconds(full[item["user_id"]]["talk_sec"])
    assert day(center, DAYS[1], status_ids="SALE") == []
    assert [i["user_id"] for i in day(center, DAYS[1], status_ids="AM,HUMAN")] == list(full)


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"campaign_ids": "1001,1099"}, 6026, "Campaign not found"),
        ({"queue_ids": "2099"}, 6041, "Queue not found"),
        ({"user_ids": "100001,999"}, 6006, "User not found"),
        ({"date_start": ""}, 400, "date_start is required"),
        ({"date_end": "2026-02-30"}, 400, "date_end must be a date"),
        ({"date_start": "20260101"}, 400, "date_start must be a date"),
        ({"date_start": "2026-01-03"}, 400, "before date_start"),
        ({"page": "0"}, 400, "page must be"),
        ({"limit": "ten"}, 400, "limit must be"),
        ({"user_ids": ",".join(str(n) for n in range(1001))}, 400, "at most 1000"),
    ],
)
def test_bad_requests_answer_success_false_with_a_code(center, params, code, words):
    answer = ask(center, **{**BOTH, **params})
    assert answer["success"] is False and answer["code"] == code and words in answer["error"]
    assert "\n" not in answer["error"]


# --- styles and pages -------------------------------------------------------------------------


def test_live_style_keys_by_user_id_with_some_counts_as_strings(center):
    documented = ask(center, **BOTH)
    live = ask(center, "live", **BOTH)
    assert live["success"] is True and live["code"] == 200 and live["total"] == documented["total"] == 12
    assert list(live["data"]) == [item["user_id"] for item in documented["data"]]
    for item in documented["data"]:
        shown = live["data"][item["user_id"]]
        odd = int(item["user_id"]) % 2 == 1
        assert shown["calls"] == (str(item["calls"]) if odd else item["calls"])
        assert {k: str(v) for k, v in shown.items()} == {k: str(v) for k, v in item.items()}
    assert ask(center, "live", date_start="2025-01-01", date_end="2025-01-01") == {
        "success": True, "code": 200, "total": 0, "data": []
    }


def test_content_faults_strings_and_keyed_by_id(center):
    strings = ask(center, fault="strings", **BOTH)
    assert strings["total"] == "12" and strings["data"][0]["am_pt"] == str(ask(center, **BOTH)["data"][0]["am_pt"])
    keyed = ask(center, fault="keyed_by_id", **BOTH)
    assert list(keyed["data"]) == [item["user_id"] for item in ask(center, **BOTH)["data"]]


def test_pages_put_together_are_the_whole_answer(center):
    whole = ask(center, **BOTH)["data"]
    pages = [ask(center, page=page, limit=5, **BOTH) for page in (1, 2, 3, 4)]
    assert [len(page["data"]) for page in pages] == [5, 5, 2, 0]
    assert all(page["total"] == 12 for page in pages)
    assert [item for page in pages for item in page["data"]] == whole
    assert ask(center, limit=100, **BOTH)["data"] == whole and ask(center, page=2, **BOTH)["data"] == []
