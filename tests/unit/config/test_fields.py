"""convoso_exporter.config.fields: typed settings read from a mapping where they are used,
and the value checks (URL, label value, id, skills, time zone, regex), each failure one
line naming the key path, what was expected and what was found, never a secret."""

from __future__ import annotations

import datetime
import re

import pytest

from convoso_exporter.config.fields import (
    Section,
    base_url,
    describe_value,
    fail,
    has_space,
    identifier,
    label_value,
    name_list,
    quote_hint,
    regex,
    timezone_name,
)
from convoso_exporter.config.load import PathError, SourceInt, parse
from convoso_exporter.config.units import hiding
from tests.support import without_system_time_zones

WHERE = ("targets", 0, "name")
URL_EXPECTED = "expected an http:// or https:// URL like https://api.convoso.com/v1"
QUOTE = "; put it in quotes to make it text"


def problem(check, *args, **kwargs) -> tuple[tuple, str]:
    """(key path, message) of the PathError `check(*args, **kwargs)` raises."""
    with pytest.raises(PathError) as info:
        check(*args, **kwargs)
    assert "\n" not in info.value.message
    assert str(info.value) == info.value.message
    return info.value.path, info.value.message


def section(**settings) -> Section:
    return Section(settings, ("convoso",), tuple(settings) + ("other",))


# ---------------------------------------------------------------- Section


def test_fail_raises_a_path_error_without_a_chained_cause():
    try:
        try:
            int("x")
        except ValueError:
            fail(("a", 1), "bad")
    except PathError as err:
        assert (err.path, err.message, err.line) == (("a", 1), "bad", None)
        assert err.__cause__ is None and err.__suppress_context__
    else:
        raise AssertionError("fail() returned")


@pytest.mark.parametrize(("data", "found"), [
    ([1, 2], "a list"), ("timeout: 5", "'timeout: 5'"), (5, "an integer (5)"), (True, "a boolean (true)"),
])
def test_a_section_must_be_a_mapping(data, found):
    assert problem(Section, data, ("convoso",), ("timeout",)) == (
        ("convoso",), f"expected a mapping of settings, got {found}")


def test_an_unknown_key_is_named_with_a_close_match_and_the_keys_allowed():
    assert problem(Section, {"timeot": 5}, ("convoso",), ("timeout", "concurrency")) == (
        ("convoso", "timeot"), "unknown key; did you mean 'timeout'? expected one of: timeout, concurrency")


def test_null_settings_are_not_set():
    settings = Section({"timeout": None, "concurrency": 3}, ("convoso",), ("timeout", "concurrency"))
    assert "timeout" not in settings and "concurrency" in settings
    assert settings.get("timeout", "default") == "default"
    assert settings.get("concurrency") == 3
    assert settings.settings == {"concurrency": 3}


def test_key_paths_of_a_section_and_its_settings():
    settings = Section({}, ("targets", 2), ("name",))
    assert settings.path == ("targets", 2)
    assert settings.at("name") == ("targets", 2, "name")
    assert problem(settings.fail, "name", "no") == (("targets", 2, "name"), "no")
    assert problem(settings.fail, None, "whole") == (("targets", 2), "whole")


def test_value_reads_a_setting_with_a_check_at_its_key_path():
    settings = Section({"name": "east"}, ("targets", 0), ("name", "queue_id"))
    assert settings.value("name", label_value) == "east"
    assert settings.value("queue_id", identifier) is None
    assert settings.value("queue_id", identifier, "17") == "17"
    assert problem(Section({"name": 5}, ("targets", 0), ("name",)).value, "name", label_value) == (
        ("targets", 0, "name"), f"expected a string, got an integer (5){QUOTE}")


def test_a_nested_section_absent_or_null_reads_as_empty():
    top = Section({"discovery": {"enabled": False}, "convoso": None}, (), ("discovery", "convoso", "targets"))
    nested = top.section("discovery", ("enabled", "interval"))
    assert nested.path == ("discovery",) and nested.settings == {"enabled": False}
    assert top.section("convoso", ("timeout",)).settings == {}
    assert top.section("targets", ("name",)).settings == {}
    assert problem(top.section, "discovery", ("interval",)) == (
        ("discovery", "enabled"), "unknown key; expected one of: interval")


# ---------------------------------------------------------------- durations and sizes


def test_duration_absent_is_the_default_and_written_is_seconds():
    assert section().duration("timeout", 10.0, minimum=1.0) == 10.0
    assert section(timeout="1m30s").duration("timeout", 10.0, minimum=1.0) == 90.0
    assert section(timeout=2).duration("timeout", 10.0, minimum=1.0) == 2.0
    assert section(timeout="1s").duration("timeout", 10.0, minimum=1.0) == 1.0  # the minimum itself


@pytest.mark.parametrize(("value", "message"), [
    ("500ms", "must be at least 1s, got 500ms"),
    (0, "must be at least 1s, got 0s"),
    ("-5s", "must not be negative, got '-5s'"),
    ("soon", ("expected a duration like 500ms, 10s, 1m30s (units y w d h m s ms, largest first) "
              "or a number of seconds, got 'soon'")),
    (True, "expected a duration like 500ms, 10s or 1m, got a boolean (true)"),
])
def test_a_bad_duration_names_its_key(value, message):
    assert problem(section(timeout=value).duration, "timeout", 10.0, minimum=1.0) == (("convoso", "timeout"), message)


def test_size_absent_is_the_default_and_written_is_bytes():
    assert section().size("max_response_bytes", 100, minimum=1024) == 100
    assert section(max_response_bytes="32MiB").size("max_response_bytes", 100, minimum=1024) == 32 * 1024 * 1024
    assert section(max_response_bytes=2048).size("max_response_bytes", 100, minimum=1024) == 2048


@pytest.mark.parametrize(("value", "minimum", "message"), [
    ("1KiB", 4096, "must be at least 4KiB (4096 bytes), got 1024 bytes"),
    (10, 1000, "must be at least 1000 bytes, got 10 bytes"),
    ("big", 1, "expected a size like 512KiB, 32MiB or a number of bytes, got 'big'"),
    (1.5, 1, "expected a size like 32MiB or a number of bytes, got a number (1.5)"),
])
def test_a_bad_size_names_its_key(value, minimum, message):
    settings = section(max_response_bytes=value)
    assert problem(settings.size, "max_response_bytes", 100, minimum=minimum) == (
        ("convoso", "max_response_bytes"), message)


def test_parsed_turns_a_parsers_value_error_into_the_keys_problem():
    def parse_even(value):
        if value % 2:
            raise ValueError(f"expected an even number, got {value}")
        return value // 2

    assert section(n=8).parsed("n", parse_even) == 4
    assert problem(section(n=7).parsed, "n", parse_even) == (("convoso", "n"), "expected an even number, got 7")


# ---------------------------------------------------------------- integers, booleans, strings


def test_integer_default_and_bounds_inclusive():
    assert section().integer("concurrency", 8, minimum=1, maximum=64) == 8
    assert section(concurrency=1).integer("concurrency", 8, minimum=1, maximum=64) == 1
    assert section(concurrency=64).integer("concurrency", 8, minimum=1, maximum=64) == 64
    assert section(concurrency=10**6).integer("concurrency", 8, minimum=0) == 10**6


def test_an_integer_written_in_octal_style_is_a_plain_int():
    number = parse("n: 0111\n", None).data["n"]
    assert isinstance(number, SourceInt) and number.source == "0111"
    value = section(concurrency=number).integer("concurrency", 8, minimum=1)
    assert value == 73 and type(value) is int


@pytest.mark.parametrize(("value", "maximum", "message"), [
    (0, 64, "expected an integer from 1 to 64, got 0"),
    (65, 64, "expected an integer from 1 to 64, got 65"),
    (-3, None, "expected an integer >= 1, got -3"),
    (True, None, "expected an integer >= 1, got a boolean (true)"),
    ("8", 64, "expected an integer from 1 to 64, got '8'"),
    (8.0, 64, "expected an integer from 1 to 64, got a number (8)"),
    ([8], None, "expected an integer >= 1, got a list"),
    (3, 0, "expected an integer from 1 to 0, got 3"),  # a maximum of 0 is a maximum
])
def test_a_bad_integer_says_the_range_and_what_was_found(value, maximum, message):
    assert problem(section(concurrency=value).integer, "concurrency", 8, minimum=1, maximum=maximum) == (
        ("convoso", "concurrency"), message)


def test_boolean():
    assert section().boolean("enabled", True) is True
    assert section(enabled=False).boolean("enabled", True) is False
    assert problem(section(enabled="yes").boolean, "enabled", True) == (
        ("convoso", "enabled"), "expected true or false, got 'yes'")
    assert problem(section(enabled=1).boolean, "enabled", True) == (
        ("convoso", "enabled"), "expected true or false, got an integer (1)")


def test_optional_str():
    assert section().optional_str("auth_token_file") is None
    assert section(auth_token_file="/run/token").optional_str("auth_token_file") == "/run/token"
    assert problem(section(auth_token_file="  ").optional_str, "auth_token_file") == (
        ("convoso", "auth_token_file"), "must not be empty; remove the key to leave it unset")
    assert problem(section(auth_token_file=5).optional_str, "auth_token_file") == (
        ("convoso", "auth_token_file"), "expected a string, got an integer (5)")


def test_a_secret_that_is_not_a_string_shows_only_its_kind():
    assert problem(section(auth_token=123456).optional_str, "auth_token", secret=True) == (
        ("convoso", "auth_token"), "expected a string, got an integer")
    assert problem(section(auth_token=["abc"]).optional_str, "auth_token", secret=True)[1] == (
        "expected a string, got a list")


# ---------------------------------------------------------------- base_url


@pytest.mark.parametrize(("value", "url"), [
    ("https://api.convoso.com/v1", "https://api.convoso.com/v1"),
    ("https://api.convoso.com/v1/", "https://api.convoso.com/v1"),  # the client appends /agent-monitor/search
    ("http://127.0.0.1:8080/v1//", "http://127.0.0.1:8080/v1"),
    ("https://[::1]:8443/v1", "https://[::1]:8443/v1"),
    ("HTTPS://Example.com", "HTTPS://Example.com"),
])
def test_base_url_accepts_http_and_https_without_a_trailing_slash(value, url):
    assert base_url(value, ("convoso", "base_url")) == url


@pytest.mark.parametrize(("value", "found"), [
    (5, "an integer (5)"),
    (None, "null"),
    ("api.convoso.com/v1", "'api.convoso.com/v1'"),
    ("ftp://api.convoso.com/v1", "'ftp://api.convoso.com/v1'"),
    ("https://", "'https://'"),
    ("https:///v1", "'https:///v1'"),
    ("https://api.convoso.com/my v1", "'https://api.convoso.com/my v1'"),
    ("https://x:99999/v1", "'https://x:99999/v1' (Port out of range 0-65535)"),
])
def test_base_url_that_is_not_an_http_url(value, found):
    where = ("convoso", "base_url")
    assert problem(base_url, value, where) == (where, f"{URL_EXPECTED}, got {found}")


def test_base_url_with_credentials_is_refused_without_showing_them():
    path, message = problem(base_url, "https://me:hunter2@api.convoso.com/v1", ("convoso", "base_url"))
    assert path == ("convoso", "base_url")
    assert message == "must not contain credentials; the token goes in auth_token or auth_token_file"
    assert problem(base_url, "https://tok3n@api.convoso.com/v1", ("b",))[1] == message


@pytest.mark.parametrize("value", [
    "https://me:hunter2@api.convoso.com:99999/v1",  # a bad port too
    "ftp://me:hunter2@host/v1",  # a bad scheme too
    "http://me:hunter2@/v1",  # no host too
])
def test_credentials_are_refused_first_so_no_other_message_shows_them(value):
    message = problem(base_url, value, ("b",))[1]
    assert message == "must not contain credentials; the token goes in auth_token or auth_token_file"


@pytest.mark.parametrize("value", ["https://api.convoso.com/v1?", "https://api.convoso.com/v1#",
                                   "https://api.convoso.com/v1/?"])
def test_an_empty_query_or_fragment_is_refused_too(value):
    # The client appends /agent-monitor/search: after a "?" every request went to /v1.
    assert problem(base_url, value, ("b",))[1].startswith("must not have a query or fragment")


@pytest.mark.parametrize("value", [
    "https://api.convoso.com/v1/agent-monitor/search?auth_token=Zq9Xw7",
    "https://api.convoso.com/v1/agent-monitor/search#auth_token=Zq9Xw7",
])
def test_base_url_with_a_query_or_fragment_never_shows_it(value):
    assert problem(base_url, value, ("convoso", "base_url"))[1] == (
        "must not have a query or fragment, got 'https://api.convoso.com/v1/agent-monitor/search' followed by one; "
        "the token goes in auth_token or auth_token_file")


def test_a_bad_base_url_never_shows_a_query_even_when_it_is_also_malformed():
    assert problem(base_url, "ftp://x/v1?auth_token=Zq9Xw7", ("b",)) == (("b",), f"{URL_EXPECTED}, got 'ftp://x/v1'")


# ---------------------------------------------------------------- label values


@pytest.mark.parametrize("value", ["east", "Sales East (main)", "x" * 128, "café", "campaign 12"])
def test_label_value_accepts_printable_text(value):
    assert label_value(value, WHERE) == value


@pytest.mark.parametrize(("value", "message"), [
    (None, "missing; every target needs a name (it becomes the `target` label)"),
    (5, f"expected a string, got an integer (5){QUOTE}"),
    (False, f"expected a string, got a boolean (false){QUOTE}"),
    (datetime.date(2024, 1, 1), f"expected a string, got a date{QUOTE}"),
    (["a"], "expected a string, got a list"),
    ("", "must not be empty"),
    ("x" * 129, "too long (129 characters); expected at most 128"),
    (" east", "expected a label value without control characters or surrounding spaces, got ' east'"),
    ("east ", "expected a label value without control characters or surrounding spaces, got 'east '"),
    ("a\tb", "expected a label value without control characters or surrounding spaces, got 'a\\tb'"),
])
def test_label_value_refusals(value, message):
    assert problem(label_value, value, WHERE) == (WHERE, message)


# ---------------------------------------------------------------- ids


@pytest.mark.parametrize(("value", "ident"), [
    (None, None), ("abc-123", "abc-123"), ("0111", "0111"), (1234, "1234"), (0, "0"), ("x" * 64, "x" * 64),
])
def test_identifier_accepts_strings_and_integers(value, ident):
    assert identifier(value, ("targets", 0, "queue_id")) == ident


def test_an_integer_id_keeps_its_written_digits():
    data = parse("a: 0111\nb: 007\n", None).data
    assert identifier(data["a"], ("a",)) == "0111"  # not YAML 1.1's octal 73
    assert identifier(data["b"], ("b",)) == "007"


@pytest.mark.parametrize(("text", "number"), [("0x1F", 31), ("-5", -5), ("1_000", 1000), ("0b11", 3)])
def test_an_integer_id_not_written_as_digits_asks_for_quotes(text, number):
    value = parse(f"id: {text}\n", None).data["id"]
    assert problem(identifier, value, ("id",)) == (
        ("id",), f"YAML reads '{text}' as the number {number}; quote the id, e.g. \"{text}\"")


@pytest.mark.parametrize(("value", "message"), [
    (True, "expected an id (string or integer), got a boolean (true)"),
    (1.5, "expected an id (string or integer), got a number (1.5)"),
    ([1], "expected an id (string or integer), got a list"),
    ("", "must not be empty; remove the key for no filter"),
    ("a b", "expected an id without spaces, at most 64 characters, got 'a b'"),
    ("a\x00b", "expected an id without spaces, at most 64 characters, got 'a\\x00b'"),
    ("x" * 65, f"expected an id without spaces, at most 64 characters, got '{'x' * 57}...'"),
])
def test_identifier_refusals(value, message):
    assert problem(identifier, value, ("queue_id",)) == (("queue_id",), message)


# ---------------------------------------------------------------- skill lists


@pytest.mark.parametrize(("value", "names"), [
    (None, ()),
    ("english, sales", ("english", "sales")),
    ("english", ("english",)),
    (["english", " sales "], ("english", "sales")),
    (("a", "b"), ("a", "b")),
    ([], ()),
])
def test_name_list_from_a_list_or_a_comma_separated_string(value, names):
    assert name_list(value, ("targets", 0, "skills")) == names


@pytest.mark.parametrize(("value", "path", "message"), [
    (5, (), "expected a list of skill names or a comma-separated string, got an integer (5)"),
    ({"a": 1}, (), "expected a list of skill names or a comma-separated string, got a mapping"),
    (["a", 1], (1,), f"expected a skill name (string), got an integer (1){QUOTE}"),
    (["a", ["b"]], (1,), "expected a skill name (string), got a list"),
    ("a,,b", (), "empty skill name; expected non-empty names"),
    (["a", "  "], (1,), "empty skill name; expected non-empty names"),
    (["a,b"], (0,), "expected a skill name without commas or control characters, got 'a,b'"),
    (["a\nb"], (0,), "expected a skill name without commas or control characters, got 'a\\nb'"),
    (["a", "b", " a"], (2,), "duplicate skill 'a'"),
    ("a, b, a", (), "duplicate skill 'a'"),
])
def test_name_list_refusals_name_the_item(value, path, message):
    where = ("targets", 0, "skills")
    assert problem(name_list, value, where) == ((*where, *path), message)


# ---------------------------------------------------------------- time zones and regexes


@pytest.mark.parametrize("value", ["UTC", "America/New_York", "Europe/Paris"])
def test_timezone_name_accepts_iana_names(value):
    assert timezone_name(value, ("timezone",)) == value


@pytest.mark.parametrize("value", ["US/Eastern", "America/New_York", "UTC"])
def test_timezone_name_resolves_without_the_system_database(value):
    with without_system_time_zones():
        assert timezone_name(value, ("timezone",)) == value


def test_timezone_name_refuses_a_bogus_name_without_the_system_database_in_the_same_words():
    with without_system_time_zones():
        assert problem(timezone_name, "US/Bogus", ("timezone",)) == (
            ("timezone",), "unknown time zone 'US/Bogus'; expected an IANA name like UTC or America/New_York")


@pytest.mark.parametrize(("value", "message"), [
    ("Mars/Olympus", "unknown time zone 'Mars/Olympus'; expected an IANA name like UTC or America/New_York"),
    ("../etc/passwd", "unknown time zone '../etc/passwd'; expected an IANA name like UTC or America/New_York"),
    ("/etc/localtime", "unknown time zone '/etc/localtime'; expected an IANA name like UTC or America/New_York"),
    ("", "expected an IANA time zone name like UTC or America/New_York, got ''"),
    ("  ", "expected an IANA time zone name like UTC or America/New_York, got '  '"),
    (5, "expected an IANA time zone name like UTC or America/New_York, got an integer (5)"),
])
def test_timezone_name_refusals(value, message):
    assert problem(timezone_name, value, ("timezone",)) == (("timezone",), message)


def test_regex_compiles_and_empty_means_none():
    pattern = regex("^sales-", ("discovery", "include"))
    assert isinstance(pattern, re.Pattern) and pattern.search("sales-east") and not pattern.search("x sales-")
    assert regex("", ("discovery", "include")) is None
    assert regex(None, ("discovery", "include")) is None


@pytest.mark.parametrize(("value", "message"), [
    ("(", "invalid regular expression '(': missing ), unterminated subpattern at position 0"),
    ("[a", "invalid regular expression '[a': unterminated character set at position 0"),
    (5, f"expected a regular expression (string), got an integer (5){QUOTE}"),
    (["a"], "expected a regular expression (string), got a list"),
])
def test_regex_refusals(value, message):
    assert problem(regex, value, ("discovery", "exclude")) == (("discovery", "exclude"), message)


# ---------------------------------------------------------------- helpers


def test_describe_value_hides_a_secrets_text_but_not_its_kind():
    assert describe_value("hunter2") == "'hunter2'"
    assert describe_value("hunter2", secret=True) == "a string"
    assert describe_value(None, secret=True) == "null"
    assert describe_value(12, secret=True) == "an integer"


def test_describe_value_redacts_the_tokens_being_hidden():
    with hiding(["Zq9Xw7"]):
        assert describe_value("pre-Zq9Xw7-post") == "'pre-<redacted>-post'"
    assert describe_value("pre-Zq9Xw7-post") == "'pre-Zq9Xw7-post'"


@pytest.mark.parametrize(("value", "hint"), [
    (True, QUOTE), (12, QUOTE), (1.5, QUOTE), (datetime.date(2024, 1, 1), QUOTE),
    (datetime.datetime(2024, 1, 1, 12, 0), QUOTE),
    ("text", ""), (None, ""), ([1], ""), ({"a": 1}, ""),
])
def test_quote_hint_only_for_what_yaml_turned_into_a_non_string(value, hint):
    assert quote_hint(value) == hint


@pytest.mark.parametrize(("text", "spaced"), [
    ("a b", True), ("a\tb", True), ("a\nb", True), ("a\u00a0b", True), (" ", True), ("ab", False), ("", False),
])
def test_has_space(text, spaced):
    assert has_space(text) is spaced
