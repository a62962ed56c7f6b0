"""convoso_exporter.api.drift: what reading a value took, one answer's tally (examples
safe to show, names bounded), and the telemetry over answers (counted per answer, each
new entry logged once, unknown names bounded per endpoint, safe across threads)."""

from __future__ import annotations

import logging
import threading
from urllib.parse import quote_plus

import pytest

from convoso_exporter.api.drift import (
    KINDS,
    MAX_EXAMPLE_CHARS,
    MAX_UNKNOWN_NAMES,
    OTHER,
    Drift,
    Tally,
    count_kind,
    ident_kind,
    note_column,
    shown,
    skills_kind,
    text_kind,
)
from convoso_exporter.api.fields import Unreadable

TOKEN = "dr1ft/T0ken+secret"


@pytest.mark.parametrize(("value", "kind"), [
    (0, None), (12, None), (2**53, None),
    (None, "missing_field"),
    ("12", "number_as_text"), (" 7 ", "number_as_text"), ("1e3", "number_as_text"), ("0", "number_as_text"),
    ("", "empty_as_text"), ("-", "empty_as_text"), (" - ", "empty_as_text"),
    (12.0, "other_type"), (3.5, "other_type"),
    ("abc", "invalid_text"), ("inf", "invalid_text"), ("NaN", "invalid_text"),
    (-1, "out_of_bounds"), ("-5", "out_of_bounds"), (2**53 + 1, "out_of_bounds"), ("9" * 40, "out_of_bounds"),
    ("1e400", "out_of_bounds"), (1e300, "out_of_bounds"), (Unreadable("9" * 40, "too long"), "out_of_bounds"),
    (True, "wrong_type"), ([1], "wrong_type"), ({"n": 1}, "wrong_type"),
])
def test_count_kind(value, kind):
    assert count_kind(value) == kind


@pytest.mark.parametrize(("value", "ident", "kind"), [
    ("Jane", False, None), ("", False, None), ("", True, None), ("0", False, None),
    ("-", False, "empty_as_text"), (" - ", True, "empty_as_text"), ("0", True, "empty_as_text"),
    (None, False, "missing_field"),
    (12, True, "other_type"), (1.5, False, "other_type"),
    ("x" * 257, False, "out_of_bounds"), (Unreadable("1" * 40, "too long"), True, "out_of_bounds"),
    ("Jos\udce9", False, "invalid_unicode"), ("READY\ud800", True, "invalid_unicode"),
    (True, False, "wrong_type"), ([], True, "wrong_type"), ({}, False, "wrong_type"),
])
def test_text_kind(value, ident, kind):
    assert (ident_kind(value) if ident else text_kind(value)) == kind


@pytest.mark.parametrize(("value", "kind"), [
    ("english,sales", None), (None, "missing_field"), (["a", "b"], "other_type"), (("a",), "other_type"),
    ("-", "empty_as_text"), ("a," + "x" * 300, "out_of_bounds"), ("a," * 200, None), (5, "wrong_type"),
])
def test_skills_kind(value, kind):
    assert skills_kind(value) == kind


def test_a_tally_keeps_one_example_per_field_and_kind_the_first():
    tally = Tally("search")
    note_column(tally, "agents.calls_today", ["1", 2, "3", None, [1], {"a": 1}], count_kind)
    assert {key: tally.shown(value) for key, value in tally.notes.items()} == {
        ("agents.calls_today", "number_as_text"): '"1"', ("agents.calls_today", "missing_field"): "null",
        ("agents.calls_today", "wrong_type"): "an array of 1 items"}


@pytest.mark.parametrize("value", [TOKEN, "x" * 30 + TOKEN, "x" * (MAX_EXAMPLE_CHARS - 5) + quote_plus(TOKEN),
                                   {"token": TOKEN}, Unreadable(TOKEN * 3, "too long")])
def test_an_example_never_shows_the_token_not_even_cut(value):
    text = shown(value, TOKEN)
    assert len(text) <= MAX_EXAMPLE_CHARS
    for cut in range(4, len(TOKEN) + 1):
        assert TOKEN[:cut] not in text, text
    assert "dr1ft" not in text


def test_an_example_is_one_printable_line():
    assert shown("two\nlines\x1b[31m", None) == '"two\\nlines\\u001b[31m"'
    assert shown("a" * 100, None) == '"' + "a" * (MAX_EXAMPLE_CHARS - 4) + "..."
    assert shown(10**400, None) == "a number of about 398 digits"
    assert shown(b'{"raw": 1}', None) == '{"raw": 1}'


def test_unknown_names_are_bounded_per_answer_and_safe():
    tally = Tally("search", TOKEN)
    tally.unknown("agents.", "bad\nname " + TOKEN, 1)
    for i in range(MAX_UNKNOWN_NAMES + 5):
        tally.unknown("agents.", f"extra_{i}", i)
    names = [name for name, kind in tally.notes]
    assert "agents.bad\\nname <redacted>" in names
    assert f"agents.{OTHER}" in names and len(names) == MAX_UNKNOWN_NAMES + 1
    assert all(len(name) <= len("agents.") + 64 for name in names)


def test_unknown_names_up_to_the_bound_are_each_kept():
    tally = Tally("search", TOKEN)
    for i in range(MAX_UNKNOWN_NAMES):
        tally.unknown("agents.", f"extra_{i}", i)
    names = [name for name, kind in tally.notes]
    assert len(names) == MAX_UNKNOWN_NAMES and f"agents.{OTHER}" not in names
    tally.unknown("agents.", "one_more", 1)
    assert [name for name, kind in tally.notes][-1] == f"agents.{OTHER}"


def test_falling_back_forgets_what_the_typed_path_noted():
    tally = Tally("search", TOKEN)
    tally.note("agents", "keyed_by_id")
    tally.fell_back("a level does not decode")
    assert tally.notes == {} and tally.fallback == "a level does not decode"
    tally.fell_back(f"unknown field `{TOKEN}`\n" + "x" * 500)  # the decoder's words may quote the answer
    assert tally.fallback.startswith("unknown field `<redacted>` x") and len(tally.fallback) == 200


def tally_of(endpoint: str, *notes: tuple[str, str], fallback: str | None = None) -> Tally:
    tally = Tally(endpoint)
    for name, kind in notes:
        tally.note(name, kind, name)
    if fallback:
        tally.fallback = fallback
    return tally


def test_drift_counts_answers_and_logs_each_new_entry_once(caplog):
    times = iter([100.0, 200.0, 300.0])
    drift = Drift(clock=lambda: next(times))
    with caplog.at_level(logging.WARNING, logger="convoso_exporter.api.drift"):
        drift.add(tally_of("search", ("agents.calls_today", "number_as_text")))
        drift.add(tally_of("search", ("agents.calls_today", "number_as_text"), ("x", "unknown_field"),
                           fallback="bom"))
        drift.add(tally_of("logout"))
    report = drift.report()
    assert [(e.endpoint, e.field, e.kind, e.answers, e.first_seen, e.last_seen) for e in report.entries] == [
        ("search", "agents.calls_today", "number_as_text", 2, 100.0, 200.0),
        ("search", "x", "unknown_field", 1, 200.0, 200.0),
    ]
    assert report.answers == {"search": 2, "logout": 1} and report.fallbacks == {"search": 1}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all(r.levelname == "WARNING" for r in caplog.records)
    assert "search answer, field agents.calls_today: number_as_text, read as the number" in lines[0]
    assert "convoso_exporter_api_drift_total" in lines[0]


def test_unknown_names_beyond_the_bound_are_counted_as_other_per_endpoint():
    drift = Drift(max_names=2)
    for name in ("a", "b", "c", "d"):
        drift.add(tally_of("search", (f"agents.{name}", "unknown_field")))
    drift.add(tally_of("search", ("agents.a", "unknown_field"), ("agents.calls_today", "missing_field")))
    drift.add(tally_of("logout", ("z", "unknown_field")))
    fields = {(e.endpoint, e.field): e.answers for e in drift.report().entries}
    assert fields == {("search", "agents.a"): 2, ("search", "agents.b"): 1, ("search", f"agents.{OTHER}"): 2,
                      ("search", "agents.calls_today"): 1, ("logout", "z"): 1}


def test_a_copy_does_not_follow_later_answers():
    drift = Drift()
    drift.add(tally_of("search", ("a", "unknown_field")))
    copy = drift.copy()
    drift.add(tally_of("search", ("a", "unknown_field"), ("b", "unknown_field")))
    assert [(e.field, e.answers) for e in copy.report().entries] == [("a", 1)]
    assert copy.report().answers == {"search": 1}


def test_answers_added_from_threads_are_all_counted():
    drift = Drift()
    reports = []

    def worker(n: int) -> None:
        for i in range(200):
            drift.add(tally_of("search", ("agents.lead_id", "empty_as_text"), (f"f{n}_{i % 3}", "unknown_field")))
            reports.append(len(drift.report().entries))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = drift.report()
    assert report.answers == {"search": 800}
    assert {(e.field, e.answers) for e in report.entries if e.kind == "empty_as_text"} == {("agents.lead_id", 800)}
    assert sum(e.answers for e in report.entries if e.kind == "unknown_field") == 800


def test_every_kind_says_what_was_done():
    assert len(KINDS) == 11 and all(KINDS.values())
