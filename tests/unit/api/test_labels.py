"""convoso_exporter.api.labels: every text of an answer made fit to be a label value, once."""

from __future__ import annotations

import pytest

from convoso_exporter.api.labels import LabelText, valid_text
from convoso_exporter.api.limits import MAX_LABEL_CHARS
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
    assert [label.ident(v) for v in ("", "-", "0", 0, 0.0, 12, "a\ud800")] == [None, None, None, None, None, "12", "a\ufffd"]
    assert label.skills("english, CAFE\u0301,") == ("english", "CAF\u00c9")
    assert label.skills(["a\ud800", 3]) == ("a\ufffd", "3")


def test_statuses_that_differ_only_in_invalid_unicode_are_one_status():
    agents = [{"user_id": str(i), "status": status} for i, status in enumerate(["A\ud800", "A\udc00", "A\ufffd"])]
    result = parse_search({"agents": agents, "campaigns": [{"value": "1\ud800", "name": "n" * 999}]})
    assert {agent.status for agent in result.agents} == {"A\ufffd"}
    assert result.campaigns[0].id == "1\ufffd" and result.campaigns[0].name == "n" * MAX_LABEL_CHARS


def test_valid_text_replaces_surrogates_only():
    assert valid_text("ok") == "ok" and valid_text("é\ud800") == "é\ufffd"
