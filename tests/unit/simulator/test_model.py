"""convoso_exporter.simulator.model: the center's records (agents, queues, tallies,
selections), mm:ss, skill lists, and the one-line checks of sizes, counts and ratios."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.simulator.model import (
    LOGGED_OUT,
    ON_CALL,
    STATUS_LABELS,
    STATUSES,
    AgentState,
    CampaignState,
    NotFound,
    QueueState,
    Selection,
    Tally,
    UnknownScope,
    check_count,
    check_ratio,
    check_sizes,
    mmss,
    parse_skills,
)

FEW = settings(max_examples=50, deadline=None)


def queue_of(campaign_id: str = "1001", queue_id: str = "2001") -> QueueState:
    campaign = CampaignState(campaign_id, f"Campaign {campaign_id}", [])
    queue = QueueState(queue_id, f"Queue {queue_id}", campaign, list_id=50_000, dialable_leads=10, next_lead=1)
    campaign.queues.append(queue)
    return queue


def agent_in(queue: QueueState, **fields) -> AgentState:
    values = {
        "index": 0, "user_id": "100001", "user_full_name": "Jane Smith", "extension": "1001",
        "connection_type": "softphone", "skills": ("english", "sales"), "inbound_only": False,
        "queue_assignment": "2026-01-01 08:00:00",
    }
    return AgentState(queue=queue, **{**values, **fields})


# --- records ---------------------------------------------------------------------------


def test_statuses_have_labels_and_on_call_is_the_call_states():
    assert STATUSES == ("READY", "RINGING", "INCALL", "TRANSFER", "WRAP", "PAUSED", "LOGGED_OUT")
    assert set(STATUS_LABELS) == set(STATUSES) and all(STATUS_LABELS.values())
    assert ON_CALL == {"RINGING", "INCALL", "TRANSFER", "WRAP"}
    queue = queue_of()
    on_call = {status for status in STATUSES if agent_in(queue, status=status).on_call}
    assert on_call == {"RINGING", "INCALL", "TRANSFER", "WRAP"}


def test_a_new_queue_books_zero_seconds_and_entries_for_every_status():
    queue = queue_of()
    other = queue_of(queue_id="2002")
    assert queue.seconds == dict.fromkeys(STATUSES, 0) and queue.entries == dict.fromkeys(STATUSES, 0)
    queue.seconds["READY"] += 5
    assert other.seconds["READY"] == 0  # each queue has books of its own


def test_an_agent_record_is_the_documented_object():
    queue = queue_of("1002", "2005")
    agent = agent_in(queue, status="INCALL", since=100, call_type="inbound", lead_id="77", call_log_id="88",
                     list_id="50000", calls_today=4, total_calls=2)
    assert agent.record(now=4630) == {
        "user_id": "100001",
        "user_full_name": "Jane Smith",
        "campaign_id": "1002",
        "campaign_name": "Campaign 1002",
        "queue_id": "2005",
        "queue_name": "Queue 2005",
        "queue_assignment": "2026-01-01 08:00:00",
        "list_id": "50000",
        "extension": "1001",
        "channel_type": "phone",
        "call_type": "inbound",
        "lead_id": "77",
        "call_log_id": "88",
        "calls_today": 4,
        "total_calls": 2,
        "status": "INCALL",
        "status_label": "On a call",
        "status_time_sec": 4530,
        "status_time_mmss": "75:30",
        "connection_type": "softphone",
        "skill_options": "english,sales",
    }


def test_an_agent_record_follows_its_queue_and_never_shows_negative_time():
    agent = agent_in(queue_of(), status=LOGGED_OUT, since=50, skills=())
    record = agent.record(now=40)  # a status that begins after `now` (a warm start's clock)
    assert record["status_time_sec"] == 0 and record["status_time_mmss"] == "00:00"
    assert record["skill_options"] == "" and record["status_label"] == "Logged out"
    agent.queue = queue_of("1003", "2009")
    moved = agent.record(now=60)
    assert (moved["campaign_id"], moved["queue_id"], moved["status_time_sec"]) == ("1003", "2009", 10)


def test_a_tally_adds_queues_and_other_tallies():
    queue = queue_of()
    queue.calls_today, queue.answered, queue.dropped = 30, 12, 1
    tally = Tally(5, 3, 2)
    tally.add(queue)
    tally.add(Tally(1, 1, 0))
    assert (tally.calls_today, tally.answered, tally.dropped) == (36, 16, 3)
    assert (queue.calls_today, queue.answered, queue.dropped) == (30, 12, 1)  # the source is untouched


def test_a_selection_lists_its_campaigns_once_in_queue_order():
    first, second = queue_of("1002", "2002"), queue_of("1001", "2001")
    sibling = QueueState("2003", "Queue 2003", first.campaign, list_id=1, dialable_leads=1, next_lead=1)
    selection = Selection((None, None, None, ()), None, (), (first, second, sibling), ())
    assert [campaign.campaign_id for campaign in selection.campaigns] == ["1002", "1001"]
    assert Selection((), None, (), (), ()).campaigns == ()


def test_not_found_is_the_documented_error_answer():
    missing = NotFound(6041, "Queue not found")
    assert missing.as_dict() == {"success": False, "code": 6041, "error": "Queue not found"}
    assert str(missing) == "Queue not found" and missing.code == 6041


def test_unknown_scope_is_a_lookup_error_without_quotes():
    error = UnknownScope("queue 2999 not found")
    assert isinstance(error, LookupError) and str(error) == "queue 2999 not found"


# --- mm:ss ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds, text", [(0, "00:00"), (59, "00:59"), (60, "01:00"), (300, "05:00"),
                                           (3599, "59:59"), (4530, "75:30"), (6000, "100:00")])
def test_mmss_keeps_counting_minutes_past_an_hour(seconds, text):
    assert mmss(seconds) == text


@FEW
@given(st.integers(min_value=0, max_value=10**7))
def test_mmss_reads_back_as_the_same_seconds(seconds):
    minutes, secs = mmss(seconds).split(":")
    assert len(secs) == 2 and len(minutes) >= 2 and int(secs) < 60
    assert int(minutes) * 60 + int(secs) == seconds


# --- skills ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given_skills, expected",
    [
        (None, ()),
        ("", ()),
        (" , ,", ()),
        ("english, sales", ("english", "sales")),
        (" sales ,,english ", ("sales", "english")),
        ("sales,english,sales", ("sales", "english")),
        (["english", " sales ", "", "  "], ("english", "sales")),
        (("spanish", "spanish"), ("spanish",)),
        ([], ()),
    ],
)
def test_parse_skills_trims_drops_blanks_and_repeats_in_order(given_skills, expected):
    assert parse_skills(given_skills) == expected


@FEW
@given(st.lists(st.text(alphabet="ab ,", max_size=5), max_size=6))
def test_parse_skills_reads_a_list_and_its_comma_joined_text_alike(items):
    text = ",".join(items)
    parsed = parse_skills(text)
    words = [word.strip() for item in items for word in item.split(",") if word.strip()]
    assert parsed == tuple(dict.fromkeys(words))
    assert parse_skills(text.split(",")) == parsed
    assert parse_skills(",".join(parsed)) == parsed  # stable


# --- checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [(0, 1, 1, 1), (50, 3, 4, 5000), (1, 2, 2, 1)])
def test_check_sizes_accepts_the_smallest_and_usual_centers(sizes):
    assert check_sizes(*sizes) is None


@pytest.mark.parametrize(
    "sizes, name, shown",
    [
        ((-1, 1, 1, 1), "agents", "-1"),
        ((True, 1, 1, 1), "agents", "True"),
        ((2.0, 1, 1, 1), "agents", "2.0"),
        (("5", 1, 1, 1), "agents", "'5'"),
        ((1, 0, 1, 1), "campaigns", "0"),
        ((1, None, 1, 1), "campaigns", "None"),
        ((1, 1, 1, 0), "leads_per_queue", "0"),
        ((1, 1, 1, False), "leads_per_queue", "False"),
        ((1, 3, 2, 1), "queues", "2"),
        ((1, 1, True, 1), "queues", "True"),
        ((1, 1, 1.5, 1), "queues", "1.5"),
    ],
)
def test_check_sizes_refuses_with_one_line_naming_the_size(sizes, name, shown):
    with pytest.raises(ValueError) as raised:
        check_sizes(*sizes)
    message = str(raised.value)
    assert message.startswith(f"{name} must be an integer >= ") and message.endswith(f"got {shown}")
    assert "\n" not in message


def test_check_sizes_says_queues_must_cover_the_campaigns():
    with pytest.raises(ValueError, match=r"queues must be an integer >= campaigns \(4\).*every campaign needs a queue"):
        check_sizes(10, 4, 3, 100)


@pytest.mark.parametrize("value", [0, 1, 7, 10**12])
def test_check_count_returns_a_count(value):
    assert check_count("agents", value) == value


@pytest.mark.parametrize("value", [-1, True, False, 1.0, "3", None])
def test_check_count_refuses_anything_but_a_whole_number(value):
    with pytest.raises(ValueError) as raised:
        check_count("agents", value)
    assert str(raised.value) == f"agents must be an integer >= 0, got {value!r}"


@pytest.mark.parametrize("ratio", [0, 0.0, 0.02, 0.5, 0.999999])
def test_check_ratio_returns_a_float_in_the_half_open_unit_interval(ratio):
    checked = check_ratio(ratio)
    assert type(checked) is float and checked == ratio


@pytest.mark.parametrize("ratio", [1, 1.0, -0.01, 2, math.nan, math.inf, -math.inf, True, False, "0.1", None])
def test_check_ratio_refuses_with_one_line(ratio):
    with pytest.raises(ValueError) as raised:
        check_ratio(ratio)
    assert str(raised.value) == f"drop ratio must be a number in [0, 1), got {ratio!r}"


@FEW
@given(st.floats(allow_nan=False))
def test_check_ratio_accepts_exactly_zero_up_to_one_exclusive(ratio):
    if 0.0 <= ratio < 1.0:
        assert check_ratio(ratio) == ratio
    else:
        with pytest.raises(ValueError):
            check_ratio(ratio)
