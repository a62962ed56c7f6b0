"""convoso_exporter.config.units: durations and sizes as written in configs and flags,
durations as messages show them, and the one-line descriptions of values in errors."""

from __future__ import annotations

import pytest

from convoso_exporter.config.units import describe, format_duration, kind_of, parse_duration, parse_size

# ---------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("10s", 10.0),
        ("1m", 60.0),
        ("1h30m", 5400.0),
        ("2d", 172800.0),
        ("1w", 604800.0),
        ("1y", 365 * 86400.0),
        ("1m30s500ms", 90.5),
        ("1.5s", 1.5),
        (" 15s ", 15.0),
        ("0s", 0.0),
        ("15", 15.0),
        ("2.5", 2.5),
        (".5", 0.5),
        ("2.", 2.0),
        (15, 15.0),
        (2.5, 2.5),
        (0, 0.0),
        ("1y1w1d1h1m1s1ms", 365 * 86400 + 7 * 86400 + 86400 + 3600 + 60 + 1 + 0.001),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_parse_duration_returns_a_float():
    assert type(parse_duration(15)) is float and type(parse_duration("15")) is float


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5s", "must not be negative"),
        ("-1", "must not be negative"),
        (-1, "must not be negative"),
        (-0.5, "must not be negative"),
        (True, "got a boolean"),
        (False, "got a boolean"),
        (None, "got null"),
        ([10], "got a list"),
        ("", "expected a duration"),
        ("abc", "expected a duration"),
        ("10 s", "expected a duration"),
        ("1s1h", "expected a duration"),  # largest unit first, as Prometheus
        ("5mss", "expected a duration"),
        ("1h1h", "expected a duration"),
        ("nan", "expected a duration"),
        ("inf", "expected a duration"),
        (float("inf"), "finite"),
        (float("nan"), "finite"),
    ],
)
def test_parse_duration_rejects(value, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.0004, "0s"),  # under half a millisecond rounds to nothing
        (0.5, "500ms"),
        (1, "1s"),
        (15, "15s"),
        (90, "1m30s"),
        (3600, "1h"),
        (86400 + 3600 + 1.25, "1d1h1s250ms"),
        (8 * 86400, "8d"),  # no weeks or years: days are the largest unit shown
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.001, 0.5, 1.5, 59, 61, 3599.999, 90061.25, 10 * 86400])
def test_format_duration_reads_back_as_the_same_duration(seconds):
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (4096, 4096),
        ("4096", 4096),
        ("4096B", 4096),
        ("512KiB", 512 * 1024),
        ("32MiB", 32 * 1024 * 1024),
        ("1GiB", 1024**3),
        ("1.5KiB", 1536),
        ("2 MB", 2_000_000),
        ("1kb", 1000),
        ("1GB", 1000**3),
        (" 7b ", 7),
        (0, 0),
    ],
)
def test_parse_size(value, size):
    assert parse_size(value) == size


# ---------------------------------------------------------------- error messages


@pytest.mark.parametrize(
    ("parse", "value", "message"),
    [
        (parse_duration, "-5s", "must not be negative, got '-5s'"),
        (parse_duration, -1, "must not be negative, got an integer (-1)"),
        (parse_duration, True, "expected a duration like 500ms, 10s or 1m, got a boolean (true)"),
        (parse_duration, "-", "expected a duration like 500ms, 10s, 1m30s (units y w d h m s ms, largest first) "
                              "or a number of seconds, got '-'"),
        (parse_duration, float("inf"), "expected a finite duration, got a number (inf)"),
        (parse_size, True, "expected a size like 32MiB or a number of bytes, got a boolean (true)"),
        (parse_size, 1.5, "expected a size like 32MiB or a number of bytes, got a number (1.5)"),
        (parse_size, None, "expected a size like 32MiB or a number of bytes, got null"),
        (parse_size, "32 megs", "expected a size like 512KiB, 32MiB or a number of bytes, got '32 megs'"),
        (parse_size, "MiB", "expected a size like 512KiB, 32MiB or a number of bytes, got 'MiB'"),
        (parse_size, "-1KiB", "expected a size like 512KiB, 32MiB or a number of bytes, got '-1KiB'"),
        (parse_size, "1TiB", "expected a size like 512KiB, 32MiB or a number of bytes, got '1TiB'"),
        (parse_size, -1, "must not be negative, got an integer (-1)"),
    ],
)
def test_errors_are_whole_lines_naming_the_value(parse, value, message):
    with pytest.raises(ValueError) as caught:
        parse(value)
    assert str(caught.value) == message


# ---------------------------------------------------------------- describe and kind_of


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "a boolean (true)"),
        (False, "a boolean (false)"),
        (3, "an integer (3)"),
        (2.5, "a number (2.5)"),
        (1e20, "a number (1e+20)"),
        ("abc", "'abc'"),
        ("x" * 60, repr("x" * 60)),
        ("x" * 61, repr("x" * 57 + "...")),
        ("two\nlines", "'two\\nlines'"),  # repr keeps the description on one line
        ([1, 2], "a list"),
        ((1,), "a list"),
        ({"a": 1}, "a mapping"),
        (b"raw", "a bytes"),
    ],
)
def test_describe(value, text):
    assert describe(value) == text


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "a boolean"),  # bool is checked before int
        (3, "an integer"),
        (2.5, "a number"),
        ("secret", "a string"),  # the kind only: a token is never shown
        ({}, "a mapping"),
        ([], "a list"),
        (None, "a NoneType"),
    ],
)
def test_kind_of(value, kind):
    assert kind_of(value) == kind
