"""PyYAML's syntax errors in words a user acts on, at the line where the problem starts.

PyYAML reports where its parser gave up, often a line or two after the mistake, in its
own terms ("could not find expected ':'", "mapping values are not allowed here",
"expected <block end>, but found '<block mapping start>'"). Each common mistake is
recognised here and told plainly: a missing colon, a missing space after a colon,
indentation that fits nothing above, a tab, an unclosed quote or bracket, a stray `-`.
Anything else falls back to PyYAML's own words, on one line.

No message quotes the source text: a token written on a broken line must not leak.
At most a single character (a stray `@`, the quote left open) is named.
"""

from __future__ import annotations

import re

import yaml

_BREAKS = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # what PyYAML counts as a line break
_FOUND = re.compile(r"but (?:found|got) '(.*)'$")
_NAME = re.compile(r"'(.*)'")
_CLOSERS = {"[": yaml.FlowSequenceEndToken.id, "{": yaml.FlowMappingEndToken.id}  # "]", "}"

NO_COLON = "this line has no ':' after its key; write 'key: value'"
NO_SPACE = "a ':' must be followed by a space; write 'key: value', not 'key:value'"
DEEPER = (
    "this line is indented deeper than the key above it but is not part of a list or "
    "mapping (that key already has a value); line it up with the key above"
)
LESS = (
    "this line is indented less than the line above it but does not line up with any "
    "key above; indent it exactly like the keys it belongs with"
)
COLON_IN_VALUE = "a value contains ': ' (a colon and a space); put the value in quotes"
LIST_ON_KEY_LINE = "a list cannot start on the same line as its key; put each '- ' item on its own line below the key"
STRAY_DASH = (
    "a list item '- ' among 'key: value' lines; put the list under a key of its own, "
    "indented below it, or remove the '-'"
)
KEY_AMONG_ITEMS = (
    "a 'key: value' line among list items; start a new item with '- ', or indent it to "
    "line up with the keys of the item above"
)
MISALIGNED_ITEM = "this list item does not line up with the items above it; put every '- ' of a list in the same column"
TAB_INDENT = "a tab is used for indentation; YAML indents with spaces only"
TEXT_AFTER_QUOTE = "text follows the closing quote; put the whole value inside the quotes"
BAD_ESCAPE = (
    "inside double quotes a '\\' starts an escape sequence, and this one is not valid (as in "
    "\"C:\\Users\"); use single quotes, or write '\\\\' for a backslash"
)
OUTDENTED_TOP = (
    "this line is indented less than the first key of the file; start every top-level key "
    "in the same column"
)
TWO_DOCUMENTS = "a second YAML document starts here; the file must hold one document (remove the '---')"


# PyYAML's own words that `explain` recognises, each matched as its comment says. Every
# one is produced by real YAML in tests/unit/config/test_syntax.py (`PYYAML_SAYS`), so a
# PyYAML release that words one differently fails a test there instead of quietly
# turning a user's plain message back into PyYAML's. Token names are PyYAML's own
# `Token.id` attributes.
NO_EXPECTED_COLON = "could not find expected ':'"  # problem ==
MAPPING_NOT_ALLOWED = "mapping values are not allowed here"  # problem ==
SEQUENCE_NOT_ALLOWED = "sequence entries are not allowed here"  # problem ==
CANNOT_START_TOKEN = "that cannot start any token"  # in problem
SCANNING_QUOTED = "while scanning a quoted scalar"  # context ==
SCANNING_DOUBLE_QUOTED = "while scanning a double-quoted scalar"  # context ==, and ESCAPE in problem
ESCAPE = "escape"
PARSING_FLOW = "while parsing a flow "  # context starts (a flow sequence, mapping or node)
PARSING_FLOW_NODE = "while parsing a flow node"  # context ==
PARSING_BLOCK_NODE = "while parsing a block node"  # context ==
EXPECTED_BLOCK_END = "expected <block end>"  # problem starts
SCANNING_ALIAS = "while scanning an alias"  # context ==
SCANNING_ANCHOR = "while scanning an anchor"  # context ==
UNDEFINED_ALIAS = "found undefined alias"  # problem starts
DUPLICATE_ANCHOR = "found duplicate anchor"  # context starts
EXPECTED_DOCUMENT_START = "expected '<document start>'"  # problem starts
SINGLE_DOCUMENT = "expected a single document in the stream"  # context ==
FOR_MERGING = "for merging"  # in problem
PYYAML_WORDS = (
    NO_EXPECTED_COLON, MAPPING_NOT_ALLOWED, SEQUENCE_NOT_ALLOWED, CANNOT_START_TOKEN, SCANNING_QUOTED,
    SCANNING_DOUBLE_QUOTED, ESCAPE, PARSING_FLOW, PARSING_FLOW_NODE, PARSING_BLOCK_NODE, EXPECTED_BLOCK_END,
    SCANNING_ALIAS, SCANNING_ANCHOR, UNDEFINED_ALIAS, DUPLICATE_ANCHOR, EXPECTED_DOCUMENT_START, SINGLE_DOCUMENT,
    FOR_MERGING,
)
_COMMA = yaml.FlowEntryToken.id


def explain(err: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """(line where the problem starts, plain message) for a PyYAML error."""
    problem = " ".join((err.problem or "").split())
    context = " ".join((err.context or "").split())
    mark, start = err.problem_mark, err.context_mark
    at = mark.line + 1 if mark else None
    found = _FOUND.search(problem)
    got = found.group(1) if found else ""
    if problem == NO_EXPECTED_COLON and start is not None:
        return start.line + 1, _key_without_colon(text, start)
    if problem == MAPPING_NOT_ALLOWED:
        return _colon_where_not_allowed(text, mark)
    if problem == SEQUENCE_NOT_ALLOWED:
        return at, LIST_ON_KEY_LINE
    if CANNOT_START_TOKEN in problem:
        return at, _bad_character(text, mark)
    if context == SCANNING_QUOTED and start is not None:
        quote = text[start.index]
        return start.line + 1, f"the quote {quote} opened here is never closed; end the value with {quote}"
    if context == SCANNING_DOUBLE_QUOTED and ESCAPE in problem:
        return at, BAD_ESCAPE
    if context == PARSING_FLOW_NODE and got == _COMMA:
        return at, "two ',' with nothing between them; remove one, or put a value between them"
    if context.startswith(PARSING_FLOW) and found:
        opener = start if context != PARSING_FLOW_NODE else _unclosed_bracket(text, mark.index)
        if opener is not None:
            return _open_bracket(text, opener, mark, got)
    if problem.startswith(EXPECTED_BLOCK_END) and found:
        return _block_end(text, mark, got, context)
    if context in (SCANNING_ALIAS, SCANNING_ANCHOR):
        sign = "*" if context == SCANNING_ALIAS else "&"
        return at, f"'{sign}' must be followed by a name; put the value in quotes if it is text"
    if problem.startswith(UNDEFINED_ALIAS):
        name = _NAME.search(problem).group(1)
        return at, f"'*{name}' refers to an anchor '&{name}' that is not defined above it"
    if context.startswith(DUPLICATE_ANCHOR) and start is not None:
        name = _NAME.search(context).group(1)
        return at, f"the anchor '&{name}' is already defined on line {start.line + 1}; anchor names must be unique"
    if problem.startswith(EXPECTED_DOCUMENT_START):
        return at, OUTDENTED_TOP
    if context == PARSING_BLOCK_NODE and len(got) == 1:
        return at, f"a value cannot start with {got!r}; put the value in quotes"
    if context == SINGLE_DOCUMENT:
        return at, TWO_DOCUMENTS
    if FOR_MERGING in problem:
        return at, "'<<' (a merge) takes an alias of a mapping, e.g. '<<: *defaults', or a list of them"
    return at or (start.line + 1 if start else None), _pyyaml_words(problem, context, start, mark)


def explain_character(err: yaml.reader.ReaderError, text: str) -> tuple[int, str]:
    """A character YAML does not allow anywhere (a control character)."""
    before = text[: err.position]
    line = len(_BREAKS.findall(before)) + 1
    column = len(_BREAKS.split(before)[-1]) + 1
    code = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "\0")
    return line, f"control character U+{code:04X} at column {column} is not allowed; remove it"


def explain_scalar(tag: str, err: Exception) -> str:
    """A value the resolver typed (a date, an `!!int`) that cannot be built as that type.
    The date library's reasons ("month must be in 1..12") never quote the value; other
    reasons may, so they are left out."""
    if tag == "tag:yaml.org,2002:timestamp" and isinstance(err, ValueError):
        return f"looks like a date but is not a valid one ({err}); put it in quotes to make it text"
    kind = tag.replace("tag:yaml.org,2002:", "!!")
    return f"cannot be read as {kind}; fix the value or remove the tag"


def lines(text: str) -> list[str]:
    return _BREAKS.split(text)


def line_text(text: str, line: int) -> str:
    """The text of a 1-based line ("" past the end)."""
    all_lines = lines(text)
    return all_lines[line - 1] if 0 < line <= len(all_lines) else ""


def indentation(line: str) -> int:
    """The column where a line's content starts, past its spaces (or tabs, which YAML
    refuses but the writer meant as indentation) and any `- ` list markers: in
    `  - name: a` the key `name` is at 4."""
    match = re.match(r"(?:[ \t]*- +)*[ \t]*", line)
    return match.end() if match else 0


# ---------------------------------------------------------------- the common mistakes


def _key_without_colon(text: str, start: yaml.Mark) -> str:
    """A line meant as `key: value` that has no ': ' in it."""
    rest = line_text(text, start.line + 1)[start.column :]
    return NO_SPACE if re.search(r":[^\s]", rest) else NO_COLON


def _colon_where_not_allowed(text: str, mark: yaml.Mark) -> tuple[int, str]:
    """A ': ' after a plain (unquoted) value. Where that value starts tells the mistake:
    on the same line, the value holds ': '; at an earlier line's key position, that line
    lacks its ': ' (the next line was read as more of it); after an earlier line's key,
    this line is indented under a key that already has a value."""
    begins = _plain_scalar_start(text, mark.index)
    if begins is None or begins.line == mark.line:
        return mark.line + 1, COLON_IN_VALUE
    first = line_text(text, begins.line + 1)
    if first[: begins.column].strip() in ("", "-", "?"):
        return begins.line + 1, _key_without_colon(text, begins)
    return _next_content_line(text, begins.line + 1), DEEPER


def _bad_character(text: str, mark: yaml.Mark) -> str:
    character = text[mark.index] if mark.index < len(text) else ""
    if character == "\t":
        if not line_text(text, mark.line + 1)[: mark.column].strip(" -"):
            return TAB_INDENT
        return f"a tab at column {mark.column + 1} outside quotes; use spaces, or put the value in quotes"
    return f"a value cannot start with {character!r}; put the value in quotes"


def _open_bracket(text: str, start: yaml.Mark, mark: yaml.Mark, got: str) -> tuple[int, str]:
    opener = text[start.index]
    closer = _CLOSERS.get(opener, "]")
    if got == yaml.StreamEndToken.id:
        return start.line + 1, f"the '{opener}' opened here is never closed; add '{closer}' after the last item"
    if got in _CLOSERS.values() and got != closer:
        return mark.line + 1, f"'{got}' does not match the '{opener}' opened on line {start.line + 1}; close it with '{closer}'"
    if mark.line > start.line:
        return start.line + 1, (
            f"the '{opener}' opened here is not closed before line {mark.line + 1}; "
            f"add '{closer}' after the last item"
        )
    return mark.line + 1, f"expected ',' between the items inside '{opener}{closer}'"


def _block_end(text: str, mark: yaml.Mark, got: str, context: str) -> tuple[int, str]:
    """The parser expected the end of a block (a mapping or list) and found more."""
    line = mark.line + 1
    if got == yaml.BlockEntryToken.id:  # "-"
        return line, STRAY_DASH
    if got == yaml.KeyToken.id:  # "?"
        return line, KEY_AMONG_ITEMS
    if got == yaml.BlockSequenceStartToken.id:
        return line, MISALIGNED_ITEM
    if got in _CLOSERS.values():
        opener = "[" if got == "]" else "{"
        return line, f"'{got}' without a matching '{opener}' before it"
    if got == yaml.ValueToken.id:  # ":"
        return line, "':' without a key before it"
    scalar = got == yaml.ScalarToken.id
    if scalar and line_text(text, line)[: mark.column].rstrip()[-1:] in ("'", '"'):
        return line, TEXT_AFTER_QUOTE
    if scalar or got == yaml.BlockMappingStartToken.id:
        above = _previous_content_line(text, line)
        deeper = above is None or indentation(line_text(text, line)) > indentation(line_text(text, above))
        return line, DEEPER if deeper else LESS
    return line, _pyyaml_words(f"expected the end of the block, but found '{got}'", context, None, mark)


def _plain_scalar_start(text: str, index: int) -> yaml.Mark | None:
    """Where the last unquoted value before `index` starts."""
    starts = [t.start_mark for t in _tokens_before(text, index) if isinstance(t, yaml.ScalarToken) and t.plain]
    return starts[-1] if starts else None


def _unclosed_bracket(text: str, index: int) -> yaml.Mark | None:
    """Where the innermost '[' or '{' still open at `index` was opened."""
    open_marks: list[yaml.Mark] = []
    for token in _tokens_before(text, index):
        if isinstance(token, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken)):
            open_marks.append(token.start_mark)
        elif isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)) and open_marks:
            open_marks.pop()
    return open_marks[-1] if open_marks else None


def _tokens_before(text: str, index: int) -> list[yaml.Token]:
    """The tokens that start before `index`, from a fresh scan (with those scanned but
    not yet handed to the parser when the scanner stopped)."""
    scanner = yaml.SafeLoader(text)
    tokens: list[yaml.Token] = []
    try:
        while scanner.check_token():
            tokens.append(scanner.get_token())
    except yaml.YAMLError:
        tokens.extend(scanner.tokens)
    finally:
        scanner.dispose()
    return [token for token in tokens if token.start_mark.index < index]


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _next_content_line(text: str, line: int) -> int:
    """The first line after `line` (1-based) with something other than a comment."""
    all_lines = lines(text)
    return next((n for n in range(line + 1, len(all_lines) + 1) if _is_content(all_lines[n - 1])), line + 1)


def _previous_content_line(text: str, line: int) -> int | None:
    all_lines = lines(text)
    return next((n for n in range(line - 1, 0, -1) if _is_content(all_lines[n - 1])), None)


def _pyyaml_words(problem: str, context: str, start: yaml.Mark | None, mark: yaml.Mark | None) -> str:
    """PyYAML's own words, on one line, for the mistakes not recognised above."""
    if not (problem and context):
        return problem or context or "syntax error"
    if start is not None and start is not mark:
        context += f" at line {start.line + 1}, column {start.column + 1}"
    return f"{problem} ({context})"
