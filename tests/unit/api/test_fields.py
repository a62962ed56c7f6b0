"""convoso_exporter.api.fields: decoded JSON values made counts, ids, text, skills and
mm:ss times; empties are None (never 0), and a count beyond 2**53 is a ProtocolError."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.api.errors import ProtocolError
from convoso_exporter.api.fields import (
    EMPTY_ID,
    EMPTY_TEXT,
    json_kind,
    mmss_seconds,
    number_text,
    out_of_range,
    to_count,
    to_skills,
    to_text,
)

COUNT_BOUND = "counts go up to 2**53 (9007199254740992)"


def too_big(value: object) -> str:
    with pytest.raises(ProtocolError) as info:
        to_count(value)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- small helpers


def test_the_empties():
    assert EMPTY_TEXT == {"", "-"}
    assert EMPTY_ID == {"", "-", "0"}


@pytest.mark.parametrize(("value", "kind"), [
    (None, "null"), (True, "boolean"), (False, "boolean"), (0, "number"), (-2.5, "number"),
    ("", "string"), ("7", "string"), ([], "array"), ([1], "array"), ({}, "object"), ({"a": 1}, "object"),
])
def test_json_kind_names_the_json_type(value, kind):
    assert json_kind(value) == kind


def test_out_of_range_shows_a_short_number_whole():
    assert out_of_range("123", "at most 9") == "number out of range: 123; at most 9"
    assert out_of_range("1" * 24, "b") == f"number out of range: {'1' * 24}; b"


def test_out_of_range_cuts_a_long_number_keeping_its_ends_and_length():
    text = "123456789012" + "0" * 20 + "abcdef"  # 38 characters
    assert out_of_range(text, "b") == "number out of range: 123456789012...abcdef (38 characters); b"
    assert out_of_range("9" * 25, "b") == "number out of range: 999999999999...999999 (25 characters); b"


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


@pytest.mark.parametrize(("value", "shown"), [
    (2**53 + 1, "9007199254740993"),
    ("9007199254740993", "9007199254740993"),
    (" 9007199254740993 ", "9007199254740993"),
    (10**20, "100000000000000000000"),
    (1e300, "1e+300"),
    (2.0**53 + 2, "9007199254740994.0"),
    ("1e400", "1e400"),
    ("1e999", "1e999"),
    ("9" * 32, "999999999999...999999 (32 characters)"),
])
def test_a_count_above_2_to_the_53_is_a_protocol_error(value, shown):
    assert too_big(value) == f"number out of range: {shown}; {COUNT_BOUND}"


@pytest.mark.parametrize(("value", "shown"), [
    ("1" * 33, "111111111111...111111 (33 characters)"),
    ("1" + "0" * 400, "100000000000...000000 (401 characters)"),
    ("0." + "5" * 40, "0.5555555555...555555 (42 characters)"),
    ("  " + "9" * 5000 + "  ", "999999999999...999999 (5000 characters)"),
])
def test_a_number_longer_than_32_characters_is_refused_before_conversion(value, shown):
    assert too_big(value) == f"number out of range: {shown}; at most 32 characters"


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**53))
def test_every_count_in_range_reads_the_same_as_a_number_and_as_text(n):
    assert to_count(n) == n
    assert to_count(str(n)) == n
    assert to_count(f"  {n}\t") == n


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=2**53 + 1, max_value=10**31))
def test_every_integer_beyond_2_to_the_53_is_refused_as_a_number_and_as_text(n):
    for value in (n, str(n)):
        with pytest.raises(ProtocolError, match=r"^number out of range: .*; counts go up to 2\*\*53 \(\d+\)$"):
            to_count(value)


@settings(max_examples=100, deadline=None)
@given(st.one_of(
    st.text(max_size=40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.booleans(), st.none(),
    st.lists(st.integers(), max_size=2),
))
def test_to_count_gives_none_a_count_in_range_or_a_protocol_error(value):
    try:
        count = to_count(value)
    except ProtocolError as err:
        assert str(err).startswith("number out of range: ")
    else:
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
