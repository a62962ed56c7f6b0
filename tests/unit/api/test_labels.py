"""convoso_exporter.api.labels: every text of an answer made fit to be a label value, once."""

from __future__ import annotations

import pytest

from convoso_exporter.api.errors import secret_forms
from convoso_exporter.api.labels import LabelText, valid_text
from convoso_exporter.api.limits import MAX_LABEL_CHARS, MAX_SCOPE_IDS, MAX_STATUSES
from convoso_exporter.api.model import FOLDED, Scope
from convoso_exporter.api.parse import parse_search


@pytest.mark.parametrize(("raw", "clean"), [
    ("READY", "READY"),
    ("READY\ud800", "READY\ufffd"),
    ("\udc00READY\udfff", "\ufffdREADY\ufffd"),
    ("CAFE\u0301", "CAF\u00c9"),  # NFC
    ("שלום \"עולם\"", "שלום \"עולם\""),
    ("😀", "😀"),
    ("x" * 1000, "x" * MAX_LABEL_CHARS),
    ("é" * 1000, "é" * MAX_LABEL_CHARS),
])
def test_text_is_valid_nfc_and_bounded(raw, clean):
    label = LabelText()
    assert label(raw) == clean
    assert label(raw) is label(raw)  # remembered
    clean.encode("utf-8")  # never raises


def test_the_converters_keep_the_fields_rules_for_empties_and_numbers():
    label = LabelText()
    assert [label.text(v) for v in ("", "-", " ", "0", 0, 12, 1.5, True, None, [1])] == \
        [None, None, None, "0", "0", "12", "1.5", None, None, None]
    assert [label.ident(v) for v in ("", "-", "0", 0, 0.0, 12, "a\ud800")] == \
        [None, None, None, None, None, "12", "a\ufffd"]
    assert label.skills("english, CAFE\u0301,") == ("english", "CAF\u00c9")
    assert label.skills(["a\ud800", 3]) == ("a\ufffd", "3")


def test_statuses_that_differ_only_in_invalid_unicode_are_one_status():
    agents = [{"user_id": str(i), "status": status} for i, status in enumerate(["A\ud800", "A\udc00", "A\ufffd"])]
    result = parse_search({"agents": agents, "campaigns": [{"value": "1\ud800", "name": "n" * 999}]})
    assert {agent.status for agent in result.agents} == {"A\ufffd"}
    assert result.campaigns[0].id == "1\ufffd" and result.campaigns[0].name == "n" * MAX_LABEL_CHARS


def test_valid_text_replaces_surrogates_only():
    assert valid_text("ok") == "ok" and valid_text("é\ud800") == "é\ufffd"


# --- distinct values per answer ---------------------------------------------------------------


def test_statuses_beyond_the_cap_fold_keeping_the_common_then_the_most_used():
    agents = [{"user_id": f"u{i}", "status": f"X{i:03d}"} for i in range(100)]
    agents += [{"user_id": "busy1", "status": "X099"}, {"user_id": "busy2", "status": "X099"}]
    agents += [{"user_id": "r", "status": "READY"}, {"user_id": "none"}]
    result = parse_search({"agents": agents})
    statuses = [agent.status for agent in result.agents]
    kept = set(statuses) - {FOLDED, None}
    assert len(kept) == MAX_STATUSES and {"READY", "X099"} <= kept
    assert kept - {"READY", "X099"} == {f"X{i:03d}" for i in range(62)}  # ties: by value
    assert statuses.count(FOLDED) == 100 - 63 and statuses[-1] is None  # no status: not folded
    assert result.folded == (("status", 37),)


def test_campaign_and_queue_ids_beyond_the_cap_fold_and_their_list_entries_go():
    agents = [{"user_id": f"u{i}", "campaign_id": f"c{i:04d}", "queue_id": "q"} for i in range(MAX_SCOPE_IDS + 5)]
    listed = [{"value": "listed-only", "name": "no agents"}, {"value": "c0000", "name": "first"}]
    result = parse_search({"agents": agents, "campaigns": listed, "queues": [{"value": "q"}]})
    ids = [agent.campaign_id for agent in result.agents]
    # 1,006 ids: the 1,005 the agents carry (one agent each) and one only listed (none)
    assert ids.count(FOLDED) == 5 and len(set(ids)) == MAX_SCOPE_IDS + 1
    assert result.campaigns == (Scope("c0000", "first"),)
    assert result.folded == (("campaign_id", 6),)
    names = result.scope_names("campaign")
    assert FOLDED not in names and len(names) == MAX_SCOPE_IDS and names["c0000"] == "first"


def test_nothing_is_folded_within_the_caps():
    agents = [{"user_id": f"u{i}", "status": f"S{i}", "campaign_id": str(i)} for i in range(MAX_STATUSES)]
    result = parse_search({"agents": agents})
    assert result.folded == () and FOLDED not in {a.status for a in result.agents}


# --- the token ------------------------------------------------------------------------------

TOKEN = "s3cret/T0ken+with=forms"


@pytest.mark.parametrize("form", secret_forms(TOKEN))
def test_every_form_of_the_token_is_redacted(form):
    label = LabelText(TOKEN)
    assert label(f"name {form} end") == "name <redacted> end"
    assert label.text(form) == "<redacted>" and label.ident(f"id-{form}") == "id-<redacted>"
    assert label.skills(f"english,{form}") == ("english", "<redacted>")


def test_a_cut_never_leaves_part_of_the_token():
    label = LabelText(TOKEN)
    straddling = "x" * (MAX_LABEL_CHARS - 5) + TOKEN
    assert label(straddling) == "x" * (MAX_LABEL_CHARS - 5) + "<reda"
    assert TOKEN[:5] not in label(straddling)


def test_parse_search_redacts_the_token_from_every_text():
    doc = {"agents": {TOKEN: {"user_full_name": f"A {TOKEN}", "status": TOKEN, "campaign_name": TOKEN}},
           "campaigns": [{"value": TOKEN, "name": f"c {TOKEN}"}]}
    result = parse_search(doc, secret=TOKEN)
    assert TOKEN not in repr(result)
    assert result.agents[0].user_id == "<redacted>" and result.campaigns[0].name == "c <redacted>"


def test_numbers_sent_as_text_are_bounded_too():
    """Found by the parser property: a name sent as a JSON number of 257 digits (or 1e300,
    301 digits as text) was kept whole."""
    label = LabelText()
    assert label.text(10**300) == "1" + "0" * (MAX_LABEL_CHARS - 1)
    assert len(label.text(1e300)) == MAX_LABEL_CHARS and len(label.ident(10**300)) == MAX_LABEL_CHARS
