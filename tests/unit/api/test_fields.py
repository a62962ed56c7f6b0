"""convoso_exporter.api.fields: decoded JSON values made counts, ids, text, skills and
mm:ss times; empties are None (never 0), and so is a count beyond its bounds (cleared,
never the answer: api/drift.py counts it)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.api.fields import (
    EMPTY_ID,
    EMPTY_TEXT,
    Unreadable,
    has_surrogate,
    is_number_text,
    json_kind,
    mmss_seconds,
    number_text,
    to_count,
    to_skills,
    to_text,
)

def test_the_empties():
    assert EMPTY_TEXT == {"", "-"}
    assert EMPTY_ID == {"", "-", "0"}


@pytest.mark.parametrize(("value", "kind"), [
    (None, "null"), (True, "boolean"), (False, "boolean"), (0, "number"), (-2.5, "number"),
    ("", "string"), ("7", "string"), ([], "array"), ([1], "array"), ({}, "object"), ({"a": 1}, "object"),
])
def test_json_kind_names_the_json_type(value, kind):
    assert json_kind(value) == kind


# ---------------------------------------------------------------- counts


@pytest.mark.parametrize(("value", "count"), [
    (0, 0),
    (7, 7),
    (2**53, 2**53),
    ("123", 123),
    (" 12.0 ", 12),
    ("0", 0),
    ("007", 7),
    ("1e3", 1000),
    ("9007199254740992", 2**53),
    (3.0, 3),
    (-0.0, 0),
    (float(2**53), 2**53),
])
def test_counts_from_numbers_and_numeric_strings(value, count):
    result = to_count(value)
    assert result == count and type(result) is int


@pytest.mark.parametrize("value", [
    -1, -0.5, "-5", " -1 ",  # negative: not a count
    True, False,  # booleans are not numbers
    None, [], [1], {}, {"n": 1},
    "", "-", " ", "abc", "12 calls", "0x10",
    "nan", "NaN", "inf", "Infinity", "-inf", "-1e400",  # words and negatives, not counts out of range
    math.nan, math.inf, -math.inf,
    "a" * 40, " " * 40 + "x",  # long text that is not a number
])
def test_what_is_not_a_count_is_none_never_zero(value):
    assert to_count(value) is None


@pytest.mark.parametrize("value", [
    2**53 + 1, "9007199254740993", " 9007199254740993 ", 10**20, 1e300, 2.0**53 + 2, "1e400", "1e999", "9" * 32,
    "1" * 33, "1" + "0" * 400, "0." + "5" * 40, "  " + "9" * 5000 + "  ",
])
def test_a_count_beyond_its_bounds_is_none(value):
    """It was a ProtocolError, which refused the whole answer for one value."""
    assert to_count(value) is None


@pytest.mark.parametrize(("text", "number"), [
    ("12", 12.0), ("1e3", 1000.0), ("-5", -5.0), ("1e400", math.inf), ("9" * 40, math.inf),
    ("abc", None), ("inf", None), ("NaN", None), ("a" * 40, None),
])
def test_is_number_text_tells_numbers_from_words(text, number):
    assert is_number_text(text) == number


def test_has_surrogate():
    assert has_surrogate("a\ud800") and has_surrogate("\udcff")
    assert not has_surrogate("plain") and not has_surrogate("é ☎ \U0001f600")


def test_an_unreadable_value_keeps_what_was_sent_and_why():
    value = Unreadable("1" + "0" * 400, "at most 32 characters")
    assert value.text == "1" + "0" * 400 and value.why == "at most 32 characters"
    assert repr(value) == "Unreadable(401 characters, at most 32 characters)"


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**53))
def test_every_count_in_range_reads_the_same_as_a_number_and_as_text(n):
    assert to_count(n) == n
    assert to_count(str(n)) == n
    assert to_count(f"  {n}\t") == n


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=2**53 + 1, max_value=10**31))
def test_every_integer_beyond_2_to_the_53_is_none_as_a_number_and_as_text(n):
    assert to_count(n) is None and to_count(str(n)) is None


@settings(max_examples=100, deadline=None)
@given(st.one_of(
    st.text(max_size=40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.booleans(), st.none(),
    st.lists(st.integers(), max_size=2),
))
def test_to_count_gives_none_or_a_count_in_range_and_never_raises(value):
    count = to_count(value)
    assert count is None or (type(count) is int and 0 <= count <= 2**53)


# ---------------------------------------------------------------- ids and text


@pytest.mark.parametrize(("value", "text"), [
    (12, "12"), (0, "0"), (-3, "-3"), (12.0, "12"), (1.5, "1.5"), (-0.25, "-0.25"), (1e20, "100000000000000000000"),
    (math.nan, None), (math.inf, None), (-math.inf, None),
    (True, None), (False, None), (None, None), ("12", None), ([1], None), ({}, None),
])
def test_number_text_is_the_text_of_a_json_number(value, text):
    assert number_text(value) == text


@pytest.mark.parametrize(("value", "text"), [
    ("Jane Doe", "Jane Doe"),
    ("  padded  ", "  padded  "),  # kept verbatim
    ("0", "0"),
    ("--", "--"),
    ("", None), ("-", None), (" - ", None), ("   ", None), ("\t", None),
    (0, "0"), (42, "42"), (2.5, "2.5"), (7.0, "7"),
    (True, None), (None, None), ([], None), ({"a": "b"}, None),
])
def test_to_text_keeps_text_verbatim_and_reads_empties_as_not_sent(value, text):
    assert to_text(value) == text


# ---------------------------------------------------------------- skills


@pytest.mark.parametrize(("value", "skills"), [
    ("english, sales", ("english", "sales")),
    ("english,sales", ("english", "sales")),
    (" english ,, sales, ", ("english", "sales")),
    ("english", ("english",)),
    ("a,-,b", ("a", "b")),
    (",", ()),
    (["english", "sales"], ("english", "sales")),
    ([" english ", "", "-", " - ", 7, 2.5, True, None, [1]], ("english", "7", "2.5")),
    ([], ()),
    ("", None), ("-", None), ("  ", None), (" - ", None),
    (None, None), (5, None), (True, None), ({"english": 1}, None),
])
def test_skills_from_a_comma_separated_string_or_a_list(value, skills):
    assert to_skills(value) == skills


def test_skills_from_the_same_string_are_the_same_tuple():
    first = to_skills("spanish, support")
    assert first == ("spanish", "support")
    assert to_skills("spanish, support") is first  # thousands of agents share a handful of strings


# ---------------------------------------------------------------- mm:ss


@pytest.mark.parametrize(("text", "seconds"), [
    ("05:00", 300),
    ("0:00", 0),
    ("00:07", 7),
    ("1:02:03", 3723),
    ("125:00", 7500),
    (" 01:01 ", 61),
    ("1:" + "0" * 30, 60),  # 32 characters: still a time
    ("150119987579016:32", 2**53),  # 150119987579016 * 60 + 32
])
def test_mmss_and_hmmss_in_seconds(text, seconds):
    assert mmss_seconds(text) == seconds


@pytest.mark.parametrize("text", [
    None, "", "5", "05", "1:2:3:4", ":", "1:", ":30", "aa:bb", "-1:00", "1:-5", "1.5:00", "1 :00",
    "\u0661:\u0660\u0660",  # Arabic-Indic digits
    "0" * 31 + ":1",  # 33 characters: too long to be a time
    "150119987579016:33",  # one second beyond 2**53
    "99999999999999999999:00",
])
def test_what_is_not_a_time_is_none(text):
    assert mmss_seconds(text) is None


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 59), st.integers(0, 59))
def test_hours_minutes_and_seconds_add_up(hours, minutes, seconds):
    assert mmss_seconds(f"{hours}:{minutes:02d}:{seconds:02d}") == hours * 3600 + minutes * 60 + seconds
    assert mmss_seconds(f"{minutes:02d}:{seconds:02d}") == minutes * 60 + seconds
