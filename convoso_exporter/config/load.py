"""The one strict YAML loader, for every file the exporter reads (the config, the web config).

`parse(text, source)` returns a `Document`: the data PyYAML's safe loader builds, plus
where every key and value was written, by key path (`("targets", 1, "queue_id")`).
Checking code raises `PathError(path, message)`; `Document.build` turns that into a
`YamlError`, whose one line is `source:line: key.path: message`, e.g.

    config.yaml:12: targets[1].queue_id: expected an id (string or integer), got a number (2.5)

The `source:line: key.path:` prefix is written in one place, `YamlError.__str__`.

Strict means:
- a duplicate key is an error at every depth, naming the line of the first one
  (keys brought in by a `<<` merge may still be overridden: that is what merges are for);
- an integer remembers how it was written (`SourceInt`), so `campaign_id: 0111` stays "0111";
- a syntax error is told in plain words at the line where the problem starts (`syntax.py`);
- nothing ends as a traceback: every failure is a `ReadError` or a `YamlError`.
An explicit `null` stays None; the checking code treats it as "not set".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import yaml

from convoso_exporter.api.errors import escaped, one_line
from convoso_exporter.config import syntax
from convoso_exporter.config.units import describe

KeyPath = tuple[Any, ...]
"""Mapping keys (str) and list indices (int): `("targets", 1, "queue_id")`. A mapping key
that is not a string is held as its description, e.g. "an integer (5)"."""

MAX_DEPTH = 64  # far beyond any config; stops `[[[[...` before Python's recursion limit
MERGE_TAG = "tag:yaml.org,2002:merge"
T = TypeVar("T")


class Position(NamedTuple):
    line: int  # 1-based, as editors count
    column: int


class ReadError(Exception):
    """The file could not be read at all; the message is the reason alone."""


class PathError(Exception):
    """A problem with the value at a key path. `line` is set only when the raiser knows
    it better than the path does (syntax errors, duplicate keys)."""

    def __init__(self, path: KeyPath, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.line = line


class YamlError(Exception):
    """A `PathError` placed in its file: `source:line: key.path: message`, on one line."""

    def __init__(self, source: str | None, line: int | None, path: KeyPath | None, message: str) -> None:
        super().__init__(message)
        self.source, self.line, self.path, self.message = source, line, path, message

    def __str__(self) -> str:
        parts = []
        if self.source is not None:
            parts.append(self.source if self.line is None else f"{self.source}:{self.line}")
        if self.path is not None:  # None: no key path is known (text that is not UTF-8)
            parts.append(format_path(self.path))
        return one_line(": ".join([*parts, self.message]))


@dataclass(frozen=True)
class Document:
    """Loaded YAML and where each part of it was written."""

    data: Any
    source: str | None = None  # None: not from a file (a mapping handed in by code)
    keys: Mapping[KeyPath, Position] = field(default_factory=dict)  # where each key is
    values: Mapping[KeyPath, Position] = field(default_factory=dict)  # where each value starts

    def line(self, path: KeyPath) -> int | None:
        """The line to name for a problem at `path`: its key's line, or its value's for a
        list item. A path not in the file (a missing key) borrows the line of the nearest
        enclosing key or item, but never the top level's: a key missing from the top level
        is not at any line."""
        if not path:
            return _line(self.values.get(()))
        for end in range(len(path), 0, -1):
            line = _line(self.keys.get(path[:end]) or self.values.get(path[:end]))
            if line is not None:
                return line
        return None

    def path_on_line(self, line: int) -> KeyPath | None:
        """The deepest key path whose key (or list item) is written on `line`."""
        return _deepest_on_line(self.keys, self.values, line=line)

    def error(self, problem: PathError) -> YamlError:
        line = problem.line if problem.line is not None else self.line(problem.path)
        return YamlError(self.source, line, problem.path, problem.message)

    def build(self, make: Callable[[Document], T]) -> T:
        """`make(self)`, with a `PathError` it raises turned into a located `YamlError`."""
        try:
            return make(self)
        except PathError as problem:
            raise self.error(problem) from None


# ---------------------------------------------------------------- key paths and keys


def format_path(path: KeyPath) -> str:
    """`("targets", 1, "queue_id")` → `targets[1].queue_id`; the top level is "(top level)"."""
    text = ""
    for element in path:
        if isinstance(element, int) and not isinstance(element, bool):
            text += f"[{element}]"
        else:
            # A key is shown exactly ("bad\\nkey"), never reflowed by the message's one_line.
            shown = escaped(element) if isinstance(element, str) and len(element) <= 60 else describe(element)
            text += f".{shown}" if text else shown
    return text or "(top level)"


def key_element(key: Any) -> str:
    """How a mapping key appears in a key path."""
    return key if isinstance(key, str) else describe(key)


def check_keys(data: Mapping[Any, Any], path: KeyPath, allowed: Iterable[str]) -> None:
    """Raise a `PathError` for the first key of `data` not in `allowed`, with a
    "did you mean" when one is close and the list of the keys allowed."""
    allowed = tuple(allowed)
    for key in data:
        if key not in allowed:
            raise PathError((*path, key_element(key)), unknown_key(key, allowed))


def unknown_key(key: Any, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1) if isinstance(key, str) else []
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}expected one of: {', '.join(allowed)}"


# ---------------------------------------------------------------- reading


def load_file(path: str) -> Document:
    """Read and parse the YAML file at `path`; raises ReadError or YamlError."""
    return parse(read_text(path), path)


def read_text(path: str) -> str:
    """The file's text: UTF-8, with or without a byte-order mark. An unreadable file is a
    `ReadError`; text that is not UTF-8 is a `YamlError` naming the line of the bad byte."""
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except OSError as err:
        raise ReadError(err.strerror or str(err)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        before = raw[: err.start].decode("utf-8-sig", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - before.rfind("\n")
        rough = raw.decode("utf-8-sig", errors="replace")
        message = f"not UTF-8 text (byte 0x{raw[err.start]:02x} at column {column}); save the file as UTF-8"
        raise YamlError(path, line, _path_on_line(rough, line), message) from None


def parse(text: str, source: str | None) -> Document:
    """YAML text → `Document`; raises YamlError. `source` names the file in messages."""
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except PathError as problem:
        raise YamlError(source, problem.line, problem.path, problem.message) from None
    except yaml.reader.ReaderError as err:
        line, message = syntax.explain_character(err, text)
        rough = text.replace(text[err.position], " ") if err.position < len(text) else text
        raise YamlError(source, line, _path_on_line(rough, line), f"invalid YAML: {message}") from None
    except yaml.MarkedYAMLError as err:
        line, message = syntax.explain(err, text)
        raise YamlError(source, line, loader.path_at(line), f"invalid YAML: {message}") from None
    except yaml.YAMLError as err:  # unmarked: no line to name
        raise YamlError(source, None, None, f"invalid YAML: {' '.join(str(err).split())}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return Document(data, source, loader.keys, loader.values)


def _path_on_line(text: str, line: int) -> KeyPath | None:
    """The key path at `line` of text that has a flaw elsewhere, if the rest parses."""
    try:
        return parse(text, None).path_on_line(line)
    except YamlError:
        return None


def _deepest_on_line(*positions: Mapping[KeyPath, Position], line: int, under: KeyPath = ()) -> KeyPath | None:
    found = [
        path
        for where in positions
        for path, position in where.items()
        if position.line == line and path[: len(under)] == under
    ]
    return max(found, key=len, default=None)


def _line(position: Position | None) -> int | None:
    return position.line if position else None


def _position(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


# ---------------------------------------------------------------- the loader


class SourceInt(int):
    """An int that remembers how it was written, so `campaign_id: 0111` stays "0111"
    instead of becoming YAML 1.1's octal 73."""

    source: str


class _Loader(yaml.SafeLoader):
    """SafeLoader that records the key path and position of every node as it composes
    it, refuses duplicate keys, and builds each scalar at once so that a bad one (a date
    with month 13, an unknown tag) is reported at its own path."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text
        self.stack: list[KeyPath] = []  # paths of the nodes being composed, outermost first
        self.keys: dict[KeyPath, Position] = {}
        self.values: dict[KeyPath, Position] = {}
        self.first_lines: dict[int, dict[Any, int]] = {}  # id(mapping node) → key → line

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if isinstance(parent, yaml.MappingNode) and index is None:
            return super().compose_node(parent, index)  # a key: part of its mapping's path
        path = self.child_path(parent, index)
        self.stack.append(path)  # before peeking: a syntax error found there is in this node
        start = self.peek_event().start_mark
        if len(path) > MAX_DEPTH:
            raise PathError(path[:1], f"invalid YAML: nested more than {MAX_DEPTH} levels deep", start.line + 1)
        self.values[path] = _position(start)
        node = super().compose_node(parent, index)
        if not (isinstance(index, yaml.Node) and index.tag == MERGE_TAG):
            self.check_node(node, path)  # a merge's value is checked when merged
        self.stack.pop()
        return node

    def child_path(self, parent: yaml.Node | None, index: Any) -> KeyPath:
        if parent is None:
            return ()
        here = self.stack[-1]
        if isinstance(parent, yaml.SequenceNode):
            return (*here, index)
        if index.tag == MERGE_TAG:
            path = (*here, "<<")  # merges may repeat and be overridden
        else:
            key, line = self.key(index, here), index.start_mark.line + 1
            path = (*here, key_element(key))
            first = self.first_lines.setdefault(id(parent), {})
            if key in first:
                raise PathError(path, f"duplicate key (first at line {first[key]})", line)
            first[key] = line
        self.keys[path] = _position(index.start_mark)
        return path

    def key(self, node: yaml.Node, mapping_path: KeyPath) -> Any:
        if isinstance(node, yaml.ScalarNode):
            key = self.check_node(node, mapping_path)
            try:
                hash(key)
                return key
            except TypeError:
                pass
        raise PathError(mapping_path, "invalid YAML: a key must be a single value, not a list or a mapping",
                        node.start_mark.line + 1)

    def check_node(self, node: yaml.Node, path: KeyPath) -> Any:
        """Check that a node's tag is one this loader builds; build a scalar now and return
        it (`construct_document` then takes it from the loader's cache)."""
        line = node.start_mark.line + 1
        if node.tag == MERGE_TAG:
            raise PathError(path, "'<<' only works as a key (a merge); put it in quotes to make it text", line)
        if node.tag not in self.yaml_constructors:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise PathError(path, f"the tag {tag!r} is not supported; remove it", line)
        if not isinstance(node, yaml.ScalarNode):
            return None
        try:
            return self.construct_object(node)
        except Exception as err:  # noqa: BLE001 - a constructor fails in its own ways (`!!timestamp x`)
            raise PathError(path, syntax.explain_scalar(node.tag, err), line) from None

    def construct_source_int(self, node: yaml.ScalarNode) -> int:
        number = SourceInt(self.construct_yaml_int(node))
        number.source = node.value
        return number

    def path_at(self, line: int | None) -> KeyPath | None:
        """The key path of a syntax error at `line`. While composing: the node the parser
        was in, or its deepest part that starts on that line, less the keys whose value the
        line is not part of (the parser reads ahead, so it may stop inside the value of the
        key before the faulty line). After composing (a bad merge): the key on that line."""
        if not self.stack:  # composing is over: a bad merge, a second document
            found = _deepest_on_line(self.keys, self.values, line=line) if line is not None else None
            return found or ()
        path = self.stack[-1]
        if line is None:
            return path
        begins = self.values.get(path)
        if begins is None or begins.line != line:  # a part of it that starts on that line?
            path = _deepest_on_line(self.keys, self.values, line=line, under=path) or path
        indent = syntax.indentation(syntax.line_text(self.text, line))
        while path:
            is_key = isinstance(path[-1], str)
            start = (self.keys if is_key else self.values).get(path)
            if start is None or start.line >= line:
                break
            # A line belongs to a key's value when indented deeper than the key, to a
            # list item when indented at least as far as the item's content.
            column = start.column - 1
            if indent > column or (not is_key and indent == column):
                break
            path = path[:-1]
        return path


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_source_int)
