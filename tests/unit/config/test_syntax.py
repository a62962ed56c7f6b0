"""convoso_exporter.config.syntax: PyYAML's errors told as the mistake a user made, at the
line where it starts, on one line and without quoting the text; the line helpers.
(The same translations as the loader reports them, with file and key path: test_load.py.)"""

from __future__ import annotations

import datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.config import syntax
from convoso_exporter.config.syntax import (
    explain,
    explain_character,
    explain_scalar,
    indentation,
    line_text,
    lines,
)

TOKEN = "Zq9Xw7"

NO_COLON = "this line has no ':' after its key; write 'key: value'"
NO_SPACE = "a ':' must be followed by a space; write 'key: value', not 'key:value'"
DEEPER = ("this line is indented deeper than the key above it but is not part of a list or mapping "
          "(that key already has a value); line it up with the key above")
LESS = ("this line is indented less than the line above it but does not line up with any key above; "
        "indent it exactly like the keys it belongs with")
KEY_AMONG_ITEMS = ("a 'key: value' line among list items; start a new item with '- ', or indent it to line up "
                   "with the keys of the item above")
STRAY_DASH = ("a list item '- ' among 'key: value' lines; put the list under a key of its own, indented below it, "
              "or remove the '-'")
NEVER_CLOSED = "the '[' opened here is never closed; add ']' after the last item"


def yaml_error(text: str) -> yaml.MarkedYAMLError:
    with pytest.raises(yaml.MarkedYAMLError) as info:
        yaml.safe_load(text)
    return info.value


def explained(text: str) -> tuple[int | None, str]:
    line, message = explain(yaml_error(text), text)
    assert "\n" not in message
    return line, message


# (name, text, line, message): the line is where the mistake is, not where PyYAML stopped.
MISTAKES = [
    ("missing colon", f"convoso:\n  auth_token: {TOKEN}\n  timeout 10s\n  concurrency: 3\n", 3, NO_COLON),
    ("missing colon, quoted key", "a:\n  b: 1\n  'c'\n", 3, NO_COLON),  # PyYAML stops at line 4
    ("missing colon after a flow key", "[a, b]: c\nd\n", 2, NO_COLON),
    ("missing space after colon", f"convoso:\n  auth_token:{TOKEN}\n  timeout: 1s\n", 2, NO_SPACE),
    ("indented deeper", "convoso:\n  auth_token: x\n    timeout: 1s\n", 3, DEEPER),
    ("indented deeper under a top-level value", "a: 1\n  b: 2\n", 2, DEEPER),
    ("indented deeper, CRLF", "a: b\r\n  c: d\r\n", 2, DEEPER),
    ("indented deeper, comments between", "a:\n  b: 1\n  # note\n\n    c: 2\n", 5, DEEPER),
    ("indented less", "convoso:\n    auth_token: x\n  timeout: 1s\n", 3, LESS),
    ("key among list items", "targets:\n  - name: a\n  campaign_id: 1\n", 3, KEY_AMONG_ITEMS),
    ("key among top-level items", "- a\nb: 1\n", 2, KEY_AMONG_ITEMS),
    ("dash without a space", "x:\n  - a\n  -b: 1\n", 3, KEY_AMONG_ITEMS),
    ("items out of line", "targets:\n  - name: a\n   - name: b\n", 3,
     "this list item does not line up with the items above it; put every '- ' of a list in the same column"),
    ("stray dash", "convoso:\n  auth_token: x\n  - timeout: 1s\n", 3, STRAY_DASH),
    ("stray dash after a block scalar", "a: >\n x\n- b\n", 3, STRAY_DASH),
    ("list on the key's line", "skills: - english\n", 1,
     "a list cannot start on the same line as its key; put each '- ' item on its own line below the key"),
    ("tab as indentation", "convoso:\n\tauth_token: x\n", 2,
     "a tab is used for indentation; YAML indents with spaces only"),
    ("tab after a colon", "convoso:\n  timeout:\t10s\n", 2,
     "a tab at column 11 outside quotes; use spaces, or put the value in quotes"),
    ("unclosed double quote", f'a:\n  b: "{TOKEN}\n  c: 1\n', 2,
     'the quote " opened here is never closed; end the value with "'),
    ("unclosed single quote", f"a:\n  b: '{TOKEN}\n", 2,
     "the quote ' opened here is never closed; end the value with '"),
    ("text after a closing quote", f'a: "{TOKEN}" x\n', 1,
     "text follows the closing quote; put the whole value inside the quotes"),
    ("two quoted values", "a: 'x' 'y'\n", 1, "text follows the closing quote; put the whole value inside the quotes"),
    ("bad escape", 'a: "C:\\Users"\n', 1,
     ("inside double quotes a '\\' starts an escape sequence, and this one is not valid (as in \"C:\\Users\"); "
      "use single quotes, or write '\\\\' for a backslash")),
    ("unclosed bracket", "skills: [english, spanish\n", 1, NEVER_CLOSED),
    ("unclosed bracket on its own line", "a:\n  [b\n", 2, NEVER_CLOSED),
    ("unclosed brace", "a: {b: c\n", 1, "the '{' opened here is never closed; add '}' after the last item"),
    ("unclosed bracket before more", "a:\n  - b: [x, y\n  - c: 1\n", 2,
     "the '[' opened here is not closed before line 3; add ']' after the last item"),
    ("mismatched closer", "a: [b, {c: d]\n", 1, "']' does not match the '{' opened on line 1; close it with '}'"),
    ("mismatched closer of a list", "a: [1}\n", 1, "'}' does not match the '[' opened on line 1; close it with ']'"),
    ("missing comma in braces", "a: {b: 1 c: 2}\n", 1, "expected ',' between the items inside '{}'"),
    ("missing comma in brackets", "a: [b, c: d: e]\n", 1, "expected ',' between the items inside '[]'"),
    ("two commas", "a: [1, , 2]\n", 1,
     "two ',' with nothing between them; remove one, or put a value between them"),
    ("closer without an opener", "a: [1]]\n", 1, "']' without a matching '[' before it"),
    ("colon without a key", ": x\n", 1, "':' without a key before it"),
    ("colon and space in a value", "base_url: http://x: y\n", 1,
     "a value contains ': ' (a colon and a space); put the value in quotes"),
    ("value starting with @", "name: @home\n", 1, "a value cannot start with '@'; put the value in quotes"),
    ("value starting with %", "a: %\n", 1, "a value cannot start with '%'; put the value in quotes"),
    ("value starting with a comma", "a:\n  b: ,x\n", 2, "a value cannot start with ','; put the value in quotes"),
    ("first key indented", "  a: 1\nb: 2\n", 2,
     "this line is indented less than the first key of the file; start every top-level key in the same column"),
    ("undefined alias", "a: *nope\n", 1, "'*nope' refers to an anchor '&nope' that is not defined above it"),
    ("alias without a name", "a: *\n", 1, "'*' must be followed by a name; put the value in quotes if it is text"),
    ("anchor without a name", "a: & x\n", 1, "'&' must be followed by a name; put the value in quotes if it is text"),
    ("anchor defined twice", "a: &x 1\nb: 2\nc: &x 3\n", 3,
     "the anchor '&x' is already defined on line 1; anchor names must be unique"),
    ("two documents", "a: 1\n---\nb: 2\n", 2,
     "a second YAML document starts here; the file must hold one document (remove the '---')"),
    ("merge of a scalar", "a: {<<: 1}\n", 1,
     "'<<' (a merge) takes an alias of a mapping, e.g. '<<: *defaults', or a list of them"),
]


@pytest.mark.parametrize(("text", "line", "message"), [case[1:] for case in MISTAKES], ids=[c[0] for c in MISTAKES])
def test_each_common_mistake_is_told_plainly_at_the_line_where_it_starts(text, line, message):
    assert explained(text) == (line, message)


# PyYAML's words `explain` matches, each produced by real YAML and matched the way
# `explain` matches it: a PyYAML that words one differently fails here, by name, as well
# as in MISTAKES (whose message would fall back to PyYAML's words).
PYYAML_SAYS = [
    (syntax.NO_EXPECTED_COLON, "problem", "==", "a:\n  b: 1\n  c\n  d: 2\n"),
    (syntax.MAPPING_NOT_ALLOWED, "problem", "==", "base_url: http://x: y\n"),
    (syntax.SEQUENCE_NOT_ALLOWED, "problem", "==", "skills: - english\n"),
    (syntax.CANNOT_START_TOKEN, "problem", "in", "name: @home\n"),
    (syntax.SCANNING_QUOTED, "context", "==", "a: 'x\n"),
    (syntax.SCANNING_DOUBLE_QUOTED, "context", "==", 'a: "C:\\Users"\n'),
    (syntax.ESCAPE, "problem", "in", 'a: "C:\\Users"\n'),
    (syntax.PARSING_FLOW, "context", "starts", "skills: [english, spanish\n"),
    (syntax.PARSING_FLOW, "context", "starts", "a: {b: c\n"),
    (syntax.PARSING_FLOW_NODE, "context", "==", "a: [1, , 2]\n"),
    (syntax.PARSING_BLOCK_NODE, "context", "==", "a:\n  b: ,x\n"),
    (syntax.EXPECTED_BLOCK_END, "problem", "starts", "a:\n  b: 1\n  - c: 1\n"),
    (syntax.EXPECTED_BLOCK_END, "problem", "starts", "- a\nb: 1\n"),
    (syntax.SCANNING_ALIAS, "context", "==", "a: *\n"),
    (syntax.SCANNING_ANCHOR, "context", "==", "a: & x\n"),
    (syntax.UNDEFINED_ALIAS, "problem", "starts", "a: *nope\n"),
    (syntax.DUPLICATE_ANCHOR, "context", "starts", "a: &x 1\nc: &x 3\n"),
    (syntax.EXPECTED_DOCUMENT_START, "problem", "starts", "  a: 1\nb: 2\n"),
    (syntax.SINGLE_DOCUMENT, "context", "==", "a: 1\n---\nb: 2\n"),
    (syntax.FOR_MERGING, "problem", "in", "a: {<<: 1}\n"),
]


@pytest.mark.parametrize(("words", "part", "how", "text"), PYYAML_SAYS, ids=[f"{w} ({t!r})" for w, _, _, t in PYYAML_SAYS])
def test_pyyaml_still_says_what_explain_matches(words, part, how, text):
    said = " ".join((getattr(yaml_error(text), part) or "").split())
    matches = {"==": said == words, "starts": said.startswith(words), "in": words in said}
    assert matches[how], f"PyYAML's {part} is now {said!r}; syntax.py matches {words!r} ({how})"


def test_every_matched_phrase_is_proven_above():
    assert {words for words, _, _, _ in PYYAML_SAYS} == set(syntax.PYYAML_WORDS)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("a: |x\n", 1,
     "expected chomping or indentation indicators, but found 'x' (while scanning a block scalar at line 1, column 4)"),
    ("%YAML 2.0\n---\na: 1\n", 1, "found incompatible YAML document (version 1.* is required)"),
    ("a:\n  b: 1\n [c]\n", 3, "expected the end of the block, but found '[' (while parsing a block mapping)"),
    ("a:\n  b: 1\n &x c\n", 3, "expected the end of the block, but found '<anchor>' (while parsing a block mapping)"),
])
def test_other_errors_keep_pyyaml_words_on_one_line(text, line, message):
    assert explained(text) == (line, message)


def test_the_fallback_names_where_pyyaml_started_when_it_is_not_where_it_stopped():
    err = yaml.MarkedYAMLError(
        context="while scanning something",
        context_mark=yaml.Mark("f", 3, 1, 2, None, None),
        problem="found\n  a thing",
        problem_mark=yaml.Mark("f", 20, 4, 0, None, None),
    )
    assert explain(err, "") == (5, "found a thing (while scanning something at line 2, column 3)")


def test_an_error_with_no_words_and_no_mark_is_a_syntax_error_at_no_line():
    assert explain(yaml.MarkedYAMLError(), "a: 1\n") == (None, "syntax error")


@pytest.mark.parametrize("text", [case[1] for case in MISTAKES if TOKEN in case[1]])
def test_no_message_quotes_the_text_written_on_a_broken_line(text):
    assert TOKEN not in explained(text)[1]


PIECES = [" ", ":", "- ", "-", "\t", "\n", "  ", "[", "]", "{", "}", "'", '"', "#", ",", "|", ">", "?", "%", "@",
          "\\", "a", "key: ", TOKEN]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=16))
def test_any_broken_text_gets_one_line_at_a_line_of_the_text_never_quoting_it(pieces):
    text = "".join(pieces)
    try:
        yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        line, message = explain(err, text)
    else:
        return
    assert message and "\n" not in message
    assert line is None or 1 <= line <= len(lines(text))
    assert TOKEN not in message


# ---------------------------------------------------------------- characters and scalars


@pytest.mark.parametrize(("text", "line", "column", "code"), [
    ("a:\n  b: x\x01y\n", 2, 7, "0001"),
    ("\x07", 1, 1, "0007"),
    ("a: 1\r\nb: \x1b\r\n", 2, 4, "001B"),  # CRLF is one line break
    ("a: 1\rb: 2\x85c: \ufffe", 3, 4, "FFFE"),  # so are CR and NEL
    ("a: 1\u2028b: \x7f", 2, 4, "007F"),
])
def test_a_control_character_is_named_by_code_line_and_column(text, line, column, code):
    with pytest.raises(yaml.reader.ReaderError) as info:
        yaml.safe_load(text)
    assert explain_character(info.value, text) == (
        line, f"control character U+{code} at column {column} is not allowed; remove it")


def test_a_control_character_read_from_bytes_is_named_by_its_code():
    err = yaml.reader.ReaderError("f", 4, 0x0C, "utf-8", "special characters are not allowed")
    assert explain_character(err, "a: b\x0c") == (1, "control character U+000C at column 5 is not allowed; remove it")


def test_an_impossible_date_says_why_and_how_to_keep_text():
    with pytest.raises(ValueError) as info:
        datetime.date(2024, 13, 1)
    assert explain_scalar("tag:yaml.org,2002:timestamp", info.value) == (
        "looks like a date but is not a valid one (month must be in 1..12); put it in quotes to make it text")


@pytest.mark.parametrize(("tag", "err", "message"), [
    ("tag:yaml.org,2002:int", ValueError(f"invalid literal for int(): '{TOKEN}'"),
     "cannot be read as !!int; fix the value or remove the tag"),
    ("tag:yaml.org,2002:float", ValueError(f"could not convert string to float: '{TOKEN}'"),
     "cannot be read as !!float; fix the value or remove the tag"),
    ("tag:yaml.org,2002:timestamp", TypeError(TOKEN), "cannot be read as !!timestamp; fix the value or remove the tag"),
    ("!custom", ValueError(TOKEN), "cannot be read as !custom; fix the value or remove the tag"),
])
def test_other_unbuildable_values_never_repeat_the_reason(tag, err, message):
    assert explain_scalar(tag, err) == message


# ---------------------------------------------------------------- line helpers


def test_lines_split_at_every_break_yaml_counts():
    assert lines("a\r\nb\rc\nd\x85e\u2028f\u2029g") == ["a", "b", "c", "d", "e", "f", "g"]
    assert lines("a\n\nb\n") == ["a", "", "b", ""]
    assert lines("") == [""]
    assert lines("a\x0bb\x0cc") == ["a\x0bb\x0cc"]  # vertical tab and form feed are not breaks to YAML


@pytest.mark.parametrize(("line", "text"), [(1, "one"), (2, "two"), (3, ""), (4, ""), (0, ""), (-1, "")])
def test_line_text_is_a_one_based_line_or_empty(line, text):
    assert line_text("one\r\ntwo\n", line) == text


@pytest.mark.parametrize(("line", "column"), [
    ("key: value", 0),
    ("  key: value", 2),
    ("  - name: a", 4),
    ("- - x", 4),
    ("-   x", 4),
    ("\tkey: x", 1),
    ("  -x", 2),  # no space after the dash: not a list marker
    ("   ", 3),
    ("", 0),
])
def test_indentation_is_where_the_content_starts_past_list_markers(line, column):
    assert indentation(line) == column
