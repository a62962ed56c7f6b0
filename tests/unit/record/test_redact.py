"""record/redact.py: names, phone numbers, e-mails, lead ids and tokens planted in several
spellings, in both answer shapes and in an error page, are all gone; the shape, the
types, the ids and every count are exactly as they were."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from urllib.parse import quote, quote_plus

import pytest

from convoso_exporter.api.parse import parse_search
from convoso_exporter.record.redact import Redactor, fold, rule_for

TOKEN = "Tok/en+1 2=3"
NAMES = ("Jane Smith", "José Núñez", "Mary Ann O'Neil")
# Each person named elsewhere, spelled otherwise.
NAME_SPELLINGS = ("JANE SMITH", "smith, jane", "Jane  Smith", "jane_smith", "JaneSmith", "Jose Nunez",
                  "NÚÑEZ, JOSÉ", "mary o'neil")
NAME_WORDS = ("jane", "smith", "jose", "nunez", "neil")
PHONES = ("+1 (305) 555-0142", "305-555-0142", "(305) 555-0142", "305.555.0142", "1-305-555-0142",
          "+44 20 7946 0958", "3055550199")
PHONE_DIGITS = ("3055550142", "2079460958", "3055550199", "4420794609")
EMAILS = ("jane.smith@example.com", "JANE.SMITH@EXAMPLE.COM", "jane.smith%40example.com",
          "jane.smith [at] example.com", "<j.smith+crm@mail.example.co.uk>")
TOKENS = (TOKEN, quote(TOKEN), quote(TOKEN, safe=""), quote_plus(TOKEN),
          "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r",
          "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "hunter2-Secret")
LEADS = ("54321", "98765")


def agent(user_id: str, name: str, **extra) -> dict:
    record = {
        "user_id": user_id, "user_full_name": name, "campaign_id": "111", "campaign_name": "Sales",
        "queue_id": "222", "queue_name": "Main Queue", "list_id": "333", "extension": "1001",
        "channel_type": "phone", "call_type": "outbound", "lead_id": "0", "call_log_id": "789",
        "calls_today": 42, "total_calls": 150, "status": "READY", "status_label": "Ready for calls",
        "status_time_sec": 300, "status_time_mmss": "05:00", "connection_type": "softphone",
        "skill_options": "english,sales",
    }
    record.update(extra)
    return record


def planted_agents() -> list[dict]:
    return [
        agent("100001", NAMES[0], lead_id=LEADS[0], status="INCALL", phone_number=PHONES[0],
              status_label=f"Talking with {NAME_SPELLINGS[1]} at {PHONES[1]}",
              notes=f"mail {EMAILS[0]} or {EMAILS[3]}"),
        agent("100002", NAMES[1], lead_id=int(LEADS[1]), caller_id=13055550142, status="PAUSED",
              status_label=f"Break ({NAME_SPELLINGS[0]}; {NAME_SPELLINGS[2]}) {PHONES[2]}",
              supervisor=f"{NAME_SPELLINGS[3]} / {NAME_SPELLINGS[4]} / {EMAILS[1]}"),
        agent("100003", NAMES[2], status="WRAP", callback=f"{PHONES[3]}, {PHONES[4]}, {PHONES[5]}",
              note=f"{NAME_SPELLINGS[5]} & {NAME_SPELLINGS[6]} & {NAME_SPELLINGS[7]}; {EMAILS[2]}; {EMAILS[4]}",
              dialed=PHONES[6]),
        agent("100004", "", status="LOGGED_OUT", lead_id="-",
              debug=f"https://api.convoso.com/v1/agent-monitor/search?auth_token={TOKENS[1]}&x={TOKENS[2]} "
                    f"token={TOKENS[3]} Bearer {TOKENS[4]} id {TOKENS[5]} raw {TOKENS[0]}",
              api_key=TOKENS[6]),
    ]


def documented() -> dict:
    return {"agents": planted_agents(), "call_data": {"total_calls": 500, "answered": 450, "dropped": 20},
            "queue_dialable_leads": 1200, "queue_calls_today": 500, "queue_dropped": 20, "queue_answered": 450,
            "agent_total": 4, "agent_incall": 1, "agent_ready": 0, "agent_paused": 1}


def live() -> dict:
    totals = {k: str(v) for k, v in documented().items() if k != "agents" and not isinstance(v, dict)}
    agents = {a["user_id"]: {**a, "calls_today": str(a["calls_today"])} for a in planted_agents()}
    entries = {"success": True, "code": 200, "campaigns": [{"value": 111, "name": f"Sales of {NAMES[0]}"}],
               "queues": [{"value": 222, "name": "Main Queue"}], "agents": agents,
               "call_data": {"total_calls": "500", "answered": "450", "dropped": "20"}, **totals}
    return {"success": True, "data": {"entries": entries}}


ERROR_PAGE = (f"<html><body>Agent {NAME_SPELLINGS[0]} ({EMAILS[0]}, {PHONES[0]}) has no access; "
              f"token {TOKEN}</body></html>").encode()


def redact_all(*bodies: bytes) -> tuple[list[bytes], Redactor]:
    redactor = Redactor(TOKEN)
    for body in bodies:
        redactor.learn(body)
    return [redactor.redact(body) for body in bodies], redactor


def encoded(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def assert_nothing_left(out: bytes) -> None:
    text = out.decode()
    folded = fold(text)
    for word in NAME_WORDS:
        assert word not in folded, word
    digits = re.sub(r"\D", "", text)
    for number in PHONE_DIGITS:
        assert number not in digits, number
    for needle in (*EMAILS, *TOKENS, "@example.com", "example.co.uk", *LEADS):
        assert fold(needle) not in folded, needle


@pytest.mark.parametrize("shape", [documented, live])
def test_planted_names_phones_emails_tokens_and_lead_ids_are_all_gone(shape):
    original = encoded(shape())
    for needle in (*NAMES, *PHONES, *EMAILS, TOKEN, *LEADS):  # the test plants what it looks for
        assert needle.encode() in original or json.dumps(needle)[1:-1].encode() in original
    [out, page], _ = redact_all(original, ERROR_PAGE)
    assert_nothing_left(out)
    assert_nothing_left(page)


def structure(value):
    """The shape and every value that is not a string (ids and counts as strings kept aside)."""
    if isinstance(value, dict):
        return {key: structure(item) for key, item in value.items()}
    if isinstance(value, list):
        return [structure(item) for item in value]
    return "str" if isinstance(value, str) else value


@pytest.mark.parametrize("shape", [documented, live])
def test_the_shape_types_ids_and_every_count_stay_exact(shape):
    before = shape()
    [out], _ = redact_all(encoded(before))
    after = json.loads(out)
    masked = {"lead_id": 1, "caller_id": 1}  # numbers the redaction masks (with digits of the same length)
    strip = lambda doc: json.loads(json.dumps(doc), object_hook=lambda d: {k: d[k] for k in d if k not in masked})
    assert structure(strip(after)) == structure(strip(before))
    old, new = parse_search(before), parse_search(after)
    assert len(new.agents) == len(old.agents) == 4
    plain = lambda a: replace(a, user_full_name=None, lead_id=None, status_label=None)
    assert [plain(a) for a in new.agents] == [plain(a) for a in old.agents]  # ids, statuses, counts, times
    assert replace(new, agents=(), campaigns=None) == replace(old, agents=(), campaigns=None)
    leads = [a["lead_id"] for a in agents_of(after)]
    assert [type(lead) for lead in leads] == [type(a["lead_id"]) for a in agents_of(before)]
    assert [len(str(lead)) for lead in leads[:2]] == [5, 5] and not set(map(str, leads)) & set(LEADS)
    assert leads[2:] == ["0", "-"]  # no call stays no call


def agents_of(doc: dict) -> list[dict]:
    agents = doc["agents"] if "agents" in doc else doc["data"]["entries"]["agents"]
    return list(agents.values()) if isinstance(agents, dict) else agents


def test_a_person_keeps_one_pseudonym_across_answers_and_spellings_and_two_people_two():
    first = encoded(documented())
    second = encoded({"agents": [agent("100009", "JANE  SMITH"), agent("100010", "Someone Else")]})
    [a, b], redactor = redact_all(first, second)
    names_a = [x["user_full_name"] for x in json.loads(a)["agents"]]
    names_b = [x["user_full_name"] for x in json.loads(b)["agents"]]
    assert names_a == ["Agent 0001", "Agent 0002", "Agent 0003", ""]
    assert names_b == ["Agent 0001", "Agent 0004"]
    assert redactor.replaced["names"] == 4
    # the same phone in two spellings gets one mask
    status = [x["status_label"] for x in json.loads(a)["agents"]]
    assert status[0].endswith("at 100-000-0001") and status[1].endswith("(100) 000-0001")


def test_what_the_exporter_labels_is_kept_whatever_it_looks_like():
    # 10-digit ids look like phone numbers, and an id may look like a token: both are labels.
    doc = {"agents": {"3055550142": agent("3055550142", "A B", campaign_id="9f86d081884c7d659a2feaa0c55ad015",
                                          queue_id="2125550100", status="READY")}}
    [out], _ = redact_all(encoded(doc))
    record = json.loads(out)["agents"]["3055550142"]
    assert (record["user_id"], record["campaign_id"], record["queue_id"]) == (
        "3055550142", "9f86d081884c7d659a2feaa0c55ad015", "2125550100")


def test_the_token_is_gone_even_from_ids_and_keys():
    doc = {"agents": {TOKEN: agent(TOKEN, "A B")}}
    [out], _ = redact_all(encoded(doc))
    assert TOKEN not in out.decode() and "<redacted>" in out.decode()


@pytest.mark.parametrize(("key", "rule"), [
    ("user_full_name", "name"), ("name", "name"), ("lead_id", "lead"), ("phone_number", "phone"),
    ("caller_id", "phone"), ("user_id", "keep"), ("queue_assignment_ids", "keep"), ("calls_today", "keep"),
    ("status", "keep"), ("api_key", "secret"), ("status_label", "text"), ("campaign_name", "text"),
])
def test_the_rule_follows_the_field_name(key, rule):
    assert rule_for(key) == rule


def test_a_campaign_name_is_kept_but_what_it_holds_of_a_person_is_not():
    doc = live()
    [out], _ = redact_all(encoded(doc))
    entries = json.loads(out)["data"]["entries"]
    assert entries["campaigns"] == [{"value": 111, "name": "Sales of Agent 0001"}]
    assert entries["queues"] == [{"value": 222, "name": "Main Queue"}]


def test_a_body_that_is_not_json_is_redacted_as_text_and_invalid_utf8_survives():
    body = b"\xff\xfe broken " + ERROR_PAGE
    [_, out], _ = redact_all(encoded(documented()), body)  # the names come from the JSON answers
    assert out.startswith(b"\xff\xfe broken ")
    assert_nothing_left(out[2:])
