"""The strict YAML loader: positions by key path, duplicate keys at every depth, "did you
mean", every syntax-error translation at the line where the problem starts, encodings,
and no traceback whatever the text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from convoso_exporter.config.load import (
    Document,
    PathError,
    Position,
    ReadError,
    YamlError,
    check_keys,
    format_path,
    load_file,
    parse,
)
from tests.support import FIXTURES_DIR

TOKEN = "s3cr3t-7f3a9c"


def error(text: str) -> str:
    with pytest.raises(YamlError) as info:
        parse(text, "f.yaml")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- positions


POSITIONS = """\
convoso:
  auth_token: x
  timeout:
    10s
targets:
  - name: a
    skills: [english, spanish]
  -
    name: b
"""


def test_positions_of_keys_and_values_by_key_path():
    doc = parse(POSITIONS, "f.yaml")
    assert doc.keys[("convoso",)] == Position(1, 1)
    assert doc.values[("convoso", "auth_token")] == Position(2, 15)
    assert doc.keys[("convoso", "timeout")] == Position(3, 3)
    assert doc.values[("convoso", "timeout")] == Position(4, 5)
    assert doc.values[("targets", 0)] == Position(6, 5)
    assert doc.values[("targets", 0, "skills", 1)] == Position(7, 23)
    assert doc.values[("targets", 1)] == Position(9, 5)


def test_the_line_of_a_path_is_its_keys_or_the_nearest_enclosing_ones():
    doc = parse(POSITIONS, "f.yaml")
    assert doc.line(("convoso", "timeout")) == 3  # the key, even when the value is below
    assert doc.line(("targets", 0, "skills", 1)) == 7
    assert doc.line(("targets", 1)) == 9  # a list item: where its content starts
    assert doc.line(("targets", 1, "queue_id")) == 9  # missing: the item it would be in
    assert doc.line(("poll_interval",)) is None  # missing from the top level: no line
    assert doc.line(()) == 1


def test_build_places_a_path_error_in_one_line():
    doc = parse(POSITIONS, "f.yaml")

    def check(document: Document) -> None:
        raise PathError(("targets", 0, "skills", 1), "not a skill")

    with pytest.raises(YamlError) as info:
        doc.build(check)
    assert str(info.value) == "f.yaml:7: targets[0].skills[1]: not a skill"
    assert (info.value.source, info.value.line, info.value.path) == ("f.yaml", 7, ("targets", 0, "skills", 1))


def test_a_document_without_a_source_names_only_the_key_path():
    with pytest.raises(YamlError) as info:
        Document({"a": 1}).build(lambda doc: check_keys(doc.data, (), ("b",)))
    assert str(info.value) == "a: unknown key; expected one of: b"


def test_format_path():
    assert format_path(()) == "(top level)"
    assert format_path(("targets", 1, "queue_id")) == "targets[1].queue_id"
    assert format_path(("targets", 0, "skills", 2)) == "targets[0].skills[2]"
    assert format_path(("a\nb",)) == "a\\nb"  # shown exactly: a message's one_line makes line breaks spaces
    assert format_path(("k" * 61,)) == repr("k" * 57 + "...")


def test_aliases_are_placed_where_they_are_used():
    doc = parse("a: &x [1, 2]\nb:\n  c: *x\n", "f.yaml")
    assert doc.data == {"a": [1, 2], "b": {"c": [1, 2]}}
    assert doc.line(("b", "c")) == 3
    assert doc.line(("b", "c", 0)) == 3  # inside the alias: the alias's line


# ---------------------------------------------------------------- values


def test_integers_remember_how_they_were_written():
    data = parse("a: 0111\nb: 0x6F\nc: 111\n", None).data
    assert data == {"a": 73, "b": 111, "c": 111}
    assert [data[k].source for k in "abc"] == ["0111", "0x6F", "111"]


def test_null_is_kept_as_none():
    assert parse("a: null\nb: ~\nc:\n", None).data == {"a": None, "b": None, "c": None}


def test_merge_keys_may_be_overridden():
    doc = parse("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  x: 3\n", None)
    assert doc.data["use"] == {"x": 3, "y": 2}


def test_empty_text_is_none():
    for text in ("", "# just a comment\n", "---\n"):
        assert parse(text, None).data is None


# ---------------------------------------------------------------- duplicate keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3: a: duplicate key (first at line 1)"),
        ("a:\n  b: 1\n  b: 2\n", "f.yaml:3: a.b: duplicate key (first at line 2)"),
        ("a:\n  - x: 1\n    y: 2\n    x: 3\n", "f.yaml:4: a[0].x: duplicate key (first at line 2)"),
        ("a: [{x: 1}, {y: 1, y: 2}]\n", "f.yaml:1: a[1].y: duplicate key (first at line 1)"),
        ("a:\n  b:\n    c:\n      d: 1\n      d: 1\n", "f.yaml:5: a.b.c.d: duplicate key (first at line 4)"),
        ("1: a\n0x1: b\n", "f.yaml:2: an integer (1): duplicate key (first at line 1)"),  # the same key, 1
        ("x: 1\n'x': 2\n", "f.yaml:2: x: duplicate key (first at line 1)"),
    ],
)
def test_duplicate_keys_are_refused_at_every_depth(text, expected):
    assert error(text) == expected


def test_duplicate_key_never_shows_the_values():
    message = error(f"convoso:\n  auth_token: {TOKEN}\n  auth_token: {TOKEN}\n")
    assert message == "f.yaml:3: convoso.auth_token: duplicate key (first at line 2)"


# ---------------------------------------------------------------- unknown keys


def test_unknown_key_with_did_you_mean_and_the_allowed_keys():
    with pytest.raises(PathError) as info:
        check_keys({"timeout": 1, "concurency": 2}, ("convoso",), ("timeout", "concurrency"))
    assert info.value.path == ("convoso", "concurency")
    assert info.value.message == "unknown key; did you mean 'concurrency'? expected one of: timeout, concurrency"


def test_unknown_key_without_a_close_match_lists_the_allowed_keys():
    with pytest.raises(PathError) as info:
        check_keys({"zzz": 1}, (), ("timeout", "concurrency"))
    assert info.value.message == "unknown key; expected one of: timeout, concurrency"


def test_an_unknown_key_that_is_not_a_string_is_described():
    doc = parse("a: 1\n5: x\n", "f.yaml")
    with pytest.raises(YamlError) as info:
        doc.build(lambda d: check_keys(d.data, (), ("a",)))
    assert str(info.value) == "f.yaml:2: an integer (5): unknown key; expected one of: a"


# ---------------------------------------------------------------- syntax errors

# (name, text, expected message); the line is where the mistake is, not where PyYAML stopped.
SYNTAX = [
    ("missing colon", "convoso:\n  auth_token: x\n  timeout 10s\n  concurrency: 3\n",
     "f.yaml:3: convoso: invalid YAML: this line has no ':' after its key; write 'key: value'"),
    ("missing colon before a list", "targets\n  - name: a\n",
     "f.yaml:1: (top level): invalid YAML: this line has no ':' after its key; write 'key: value'"),
    ("missing colon in a list item", "targets:\n  - name: a\n    campaign_id 5\n  - name: b\n",
     "f.yaml:3: targets[0]: invalid YAML: this line has no ':' after its key; write 'key: value'"),
    ("missing space after colon", "convoso:\n  auth_token:x\n  timeout: 1s\n",
     "f.yaml:2: convoso: invalid YAML: a ':' must be followed by a space; write 'key: value', not 'key:value'"),
    ("missing space after colon, next line a key", "convoso:\n  auth_token: x\n  timeout:10s\n  concurrency: 3\n",
     "f.yaml:3: convoso: invalid YAML: a ':' must be followed by a space; write 'key: value', not 'key:value'"),
    ("missing space after colon in a list item", "targets:\n  - name:a\n    campaign_id: 1\n",
     "f.yaml:2: targets: invalid YAML: a ':' must be followed by a space; write 'key: value', not 'key:value'"),
    ("indented deeper than the key above", "convoso:\n  auth_token: x\n    timeout: 1s\n",
     ("f.yaml:3: convoso: invalid YAML: this line is indented deeper than the key above it but is not part of a "
      "list or mapping (that key already has a value); line it up with the key above")),
    ("indented deeper after a quoted value", 'convoso:\n  auth_token: "x"\n    timeout: 1s\n',
     ("f.yaml:3: convoso: invalid YAML: this line is indented deeper than the key above it but is not part of a "
      "list or mapping (that key already has a value); line it up with the key above")),
    ("indented deeper in a list item", "targets:\n  - name: a\n      campaign_id: 1\n",
     ("f.yaml:3: targets[0]: invalid YAML: this line is indented deeper than the key above it but is not part of a "
      "list or mapping (that key already has a value); line it up with the key above")),
    ("indented less than the keys above", "convoso:\n    auth_token: x\n  timeout: 1s\n",
     ("f.yaml:3: (top level): invalid YAML: this line is indented less than the line above it but does not line up "
      "with any key above; indent it exactly like the keys it belongs with")),
    ("a key among list items", "targets:\n  - name: a\n  campaign_id: 1\n",
     ("f.yaml:3: targets: invalid YAML: a 'key: value' line among list items; start a new item with '- ', or indent "
      "it to line up with the keys of the item above")),
    ("list items out of line", "targets:\n  - name: a\n   - name: b\n",
     ("f.yaml:3: targets: invalid YAML: this list item does not line up with the items above it; put every '- ' of "
      "a list in the same column")),
    ("stray dash", "convoso:\n  auth_token: x\n  - timeout: 1s\n",
     ("f.yaml:3: convoso: invalid YAML: a list item '- ' among 'key: value' lines; put the list under a key of its "
      "own, indented below it, or remove the '-'")),
    ("list on the key's line", "skills: - english\n",
     ("f.yaml:1: skills: invalid YAML: a list cannot start on the same line as its key; put each '- ' item on its "
      "own line below the key")),
    ("tab as indentation", "convoso:\n\tauth_token: x\n",
     "f.yaml:2: convoso: invalid YAML: a tab is used for indentation; YAML indents with spaces only"),
    ("tab after a colon", "convoso:\n  timeout:\t10s\n",
     "f.yaml:2: convoso.timeout: invalid YAML: a tab at column 11 outside quotes; use spaces, or put the value in quotes"),
    ("unclosed double quote", f'convoso:\n  auth_token: "{TOKEN}\n  timeout: 10s\n',
     'f.yaml:2: convoso.auth_token: invalid YAML: the quote " opened here is never closed; end the value with "'),
    ("unclosed single quote", f"convoso:\n  auth_token: '{TOKEN}\n  timeout: 10s\n",
     "f.yaml:2: convoso.auth_token: invalid YAML: the quote ' opened here is never closed; end the value with '"),
    ("text after a closing quote", f'convoso:\n  auth_token: "{TOKEN}" x\n',
     "f.yaml:2: convoso: invalid YAML: text follows the closing quote; put the whole value inside the quotes"),
    ("unclosed bracket at the end", "skills: [english, spanish\n",
     "f.yaml:1: skills: invalid YAML: the '[' opened here is never closed; add ']' after the last item"),
    ("unclosed bracket after a comma", "skills: [english,\n",
     "f.yaml:1: skills: invalid YAML: the '[' opened here is never closed; add ']' after the last item"),
    ("unclosed bracket before more", "targets:\n  - skills: [english, spanish\n  - name: b\n",
     ("f.yaml:2: targets[0].skills: invalid YAML: the '[' opened here is not closed before line 3; add ']' after "
      "the last item")),
    ("unclosed brace before more", "convoso: {auth_token: x\npoll_interval: 1s\n",
     "f.yaml:1: convoso: invalid YAML: the '{' opened here is not closed before line 2; add '}' after the last item"),
    ("brackets that do not match", "a: [b, {c: d]\n",
     "f.yaml:1: a[1]: invalid YAML: ']' does not match the '{' opened on line 1; close it with '}'"),
    ("missing comma in braces", "a: {b: 1 c: 2}\n",
     "f.yaml:1: a: invalid YAML: expected ',' between the items inside '{}'"),
    ("two commas", "a: [1, , 2]\n",
     "f.yaml:1: a: invalid YAML: two ',' with nothing between them; remove one, or put a value between them"),
    ("closing bracket without an opening one", "a: [1]]\n",
     "f.yaml:1: (top level): invalid YAML: ']' without a matching '[' before it"),
    ("colon and space in a value", "base_url: http://x: y\n",
     "f.yaml:1: (top level): invalid YAML: a value contains ': ' (a colon and a space); put the value in quotes"),
    ("a value starting with @", "name: @home\n",
     "f.yaml:1: name: invalid YAML: a value cannot start with '@'; put the value in quotes"),
    ("a value starting with a comma", "a:\n  b: ,x\n",
     "f.yaml:2: a.b: invalid YAML: a value cannot start with ','; put the value in quotes"),
    ("first key indented, the next not", "  convoso:\n    auth_token: x\ntargets:\n  - name: a\n",
     ("f.yaml:3: (top level): invalid YAML: this line is indented less than the first key of the file; start every "
      "top-level key in the same column")),
    ("a colon without a key", ": x\n", "f.yaml:1: (top level): invalid YAML: ':' without a key before it"),
    ("undefined alias", "a: *nope\n",
     "f.yaml:1: a: invalid YAML: '*nope' refers to an anchor '&nope' that is not defined above it"),
    ("alias without a name", "a: *\n",
     "f.yaml:1: a: invalid YAML: '*' must be followed by a name; put the value in quotes if it is text"),
    ("anchor defined twice", "a: &x 1\nb: &x 2\n",
     "f.yaml:2: b: invalid YAML: the anchor '&x' is already defined on line 1; anchor names must be unique"),
    ("two documents", "a: 1\n---\nb: 2\n",
     ("f.yaml:2: (top level): invalid YAML: a second YAML document starts here; the file must hold one document "
      "(remove the '---')")),
    ("unknown escape", 'a: "C:\\Users"\n',
     ("f.yaml:1: a: invalid YAML: inside double quotes a '\\' starts an escape sequence, and this one is not valid "
      "(as in \"C:\\Users\"); use single quotes, or write '\\\\' for a backslash")),
    ("unknown escape letter", 'a: "x\\qy"\n',
     ("f.yaml:1: a: invalid YAML: inside double quotes a '\\' starts an escape sequence, and this one is not valid "
      "(as in \"C:\\Users\"); use single quotes, or write '\\\\' for a backslash")),
    ("a list as a key", "? [a]\n: 1\n",
     "f.yaml:1: (top level): invalid YAML: a key must be a single value, not a list or a mapping"),
    ("merge of a scalar", "a: {<<: 1}\n",
     "f.yaml:1: a.<<: invalid YAML: '<<' (a merge) takes an alias of a mapping, e.g. '<<: *defaults', or a list of them"),
    ("control character", "a:\n  b: x\x01y\n",
     "f.yaml:2: a.b: invalid YAML: control character U+0001 at column 7 is not allowed; remove it"),
    ("nesting too deep", "a: " + "[" * 100 + "]" * 100 + "\n", "f.yaml:1: a: invalid YAML: nested more than 64 levels deep"),
    ("unsupported tag", "a: !secret x\n", "f.yaml:1: a: the tag '!secret' is not supported; remove it"),
    ("python tag", "a: !!python/object:os.system x\n",
     "f.yaml:1: a: the tag '!!python/object:os.system' is not supported; remove it"),
    ("invalid date", "a:\n  b: 2024-13-01\n",
     "f.yaml:2: a.b: looks like a date but is not a valid one (month must be in 1..12); put it in quotes to make it text"),
    ("bad !!int", "a: !!int twelve\n", "f.yaml:1: a: cannot be read as !!int; fix the value or remove the tag"),
    ("merge marker as a value", "a: <<\n",
     "f.yaml:1: a: '<<' only works as a key (a merge); put it in quotes to make it text"),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in SYNTAX], ids=[case[0] for case in SYNTAX])
def test_syntax_errors_in_plain_words_at_the_line_where_they_start(text, expected):
    message = error(text)
    assert message == expected
    assert TOKEN not in message


def test_crlf_line_ends_count_lines_as_editors_do():
    assert error("convoso:\r\n  auth_token: x\r\n    timeout: 1s\r\n").startswith("f.yaml:3: convoso: invalid YAML: this line is indented deeper")


def test_unrecognised_syntax_errors_keep_pyyaml_words_on_one_line():
    assert error("a: |x\n") == (
        "f.yaml:1: a: invalid YAML: expected chomping or indentation indicators, but found 'x' "
        "(while scanning a block scalar at line 1, column 4)"
    )


# ---------------------------------------------------------------- files and encodings


def test_a_byte_order_mark_is_accepted(tmp_path: Path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\nb: 2\n")
    doc = load_file(str(path))
    assert doc.data == {"a": 1, "b": 2}
    assert doc.line(("a",)) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a: 1\nb:\n  c: caf\xe9\n", "3: b.c: not UTF-8 text (byte 0xe9 at column 9); save the file as UTF-8"),
        # The rest does not parse either: still the line, without a key path.
        (b"a: [\n\xff\n", "2: not UTF-8 text (byte 0xff at column 1); save the file as UTF-8"),
    ],
)
def test_not_utf8_names_the_line_column_and_key(tmp_path: Path, raw, expected):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(raw)
    with pytest.raises(YamlError) as info:
        load_file(str(path))
    assert str(info.value) == f"{path}:{expected}"


def test_an_unreadable_file_is_a_read_error(tmp_path: Path):
    with pytest.raises(ReadError, match=r"^No such file or directory$"):
        load_file(str(tmp_path / "absent.yaml"))
    with pytest.raises(ReadError, match=r"^Is a directory$"):
        load_file(str(tmp_path))


# ---------------------------------------------------------------- never a traceback


def mutations(text: str):
    """Every line of `text` broken in the ways people break YAML."""
    lines = text.splitlines(keepends=True)
    edits = [
        lambda line: line.replace(": ", ":", 1),
        lambda line: line.replace(":", "", 1),
        lambda line: "  " + line,
        lambda line: line[2:],
        lambda line: "\t" + line.lstrip(" "),
        lambda line: line.rstrip("\n") + ' "\n',
        lambda line: line.rstrip("\n") + " [\n",
        lambda line: line.replace("- ", "", 1),
        lambda line: "- " + line,
        lambda line: line + line,
        lambda line: line.replace("'", "").replace('"', ""),
        lambda line: line.rstrip("\n") + ": x: y\n",
    ]
    for i in range(len(lines)):
        for edit in edits:
            yield "".join(lines[:i] + [edit(lines[i])] + lines[i + 1 :])


@pytest.mark.parametrize("name", ["full.yaml", "minimal.yaml", "nulls.yaml"])
def test_broken_configs_give_a_document_or_one_located_line(name):
    text = (FIXTURES_DIR / "config" / "valid" / name).read_text()
    count = len(text.splitlines())
    for broken in mutations(text):
        try:
            parse(broken, "f.yaml")
        except YamlError as err:
            message = str(err)
            assert "\n" not in message, broken
            match = re.match(r"f\.yaml:(\d+): ", message)
            assert match and 1 <= int(match.group(1)) <= count + 1, (broken, message)
            assert "7f3a9c" not in message, (broken, message)
