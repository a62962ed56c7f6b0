"""Configuration: YAML → typed, validated `Config`.

The config file is a user-facing contract (see `config.example.yaml`). Loading is
strict: unknown keys, wrong types and out-of-range values are errors, each reported
as one `ConfigError` line that starts with the key path (`targets[1].queue_id: ...`)
and says what was expected. Problems that do not stop the exporter (a token file
readable by other users, a timeout as long as the poll interval) become `Config.warnings`
for the app to log.

An explicit YAML `null` counts as "not set": the default applies.
The auth token never appears in an error, a warning or `repr(Config)`.
"""

from __future__ import annotations

import datetime
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

import yaml

from convoso_exporter.config.units import describe, format_duration, kind_of, parse_duration, parse_size

TOKEN_ENV = "CONVOSO_AUTH_TOKEN"
MAX_NAME_LENGTH = 128
MAX_ID_LENGTH = 64
MIN_POLL_INTERVAL = 1.0
MAX_CONCURRENCY = 256
MIN_RESPONSE_BYTES = 1024
MAX_TOKEN_FILE_BYTES = 64 * 1024  # a token is short; do not slurp a wrong (huge) file


# What a target can be: the whole account (the backbone every agent count comes from),
# a campaign or queue found by discovery, or a slice the config lists by hand.
ACCOUNT, CAMPAIGN, QUEUE, CUSTOM = "account", "campaign", "queue", "custom"
TARGET_KINDS = (ACCOUNT, CAMPAIGN, QUEUE, CUSTOM)
# The fields of a target that filter its search, in one place.
FILTER_FIELDS = ("campaign_id", "queue_id", "user_id", "skills")


@dataclass(frozen=True)
class Target:
    """One search call per poll. `name` is the `target` label."""

    name: str
    campaign_id: str | None = None
    queue_id: str | None = None
    user_id: str | None = None
    skills: tuple[str, ...] = ()
    kind: str = CUSTOM
    interval: float | None = None  # seconds between polls; None: the config's poll_interval
    publish: bool = True  # False: polled for discovery only, its series left to another shard
    # Display names: not part of what the target asks for, so a renamed campaign
    # keeps its state (and its counters).
    campaign_name: str | None = field(default=None, compare=False)
    queue_name: str | None = field(default=None, compare=False)

    def same_names(self, other: Target) -> bool:
        """Whether the display names (which `==` leaves out) are the same too."""
        return (self.campaign_name, self.queue_name) == (other.campaign_name, other.queue_name)

    def filters(self) -> dict[str, Any]:
        """The search filters this target sets, by field name (unset ones left out):
        the keyword arguments of `ConvosoClient.search`."""
        values = ((name, getattr(self, name)) for name in FILTER_FIELDS)
        return {name: value for name, value in values if value}


@dataclass(frozen=True)
class ConvosoSettings:
    base_url: str = "https://api.convoso.com/v1"
    auth_token: str = field(default="", repr=False)
    auth_token_file: str | None = None
    timeout: float = 10.0
    concurrency: int = 8
    max_response_bytes: int = 32 * 1024 * 1024
    max_backoff: float = 120.0


@dataclass(frozen=True)
class DiscoverySettings:
    """`discovery:` — every campaign and queue in the account answer becomes a target."""

    enabled: bool = True
    campaigns: bool = True
    queues: bool = True
    include: re.Pattern[str] | None = None  # matched (anywhere) against a scope's id and name
    exclude: re.Pattern[str] | None = None
    interval: float = 60.0  # seconds between polls of each discovered target
    max_targets: int = 200


@dataclass(frozen=True)
class Config:
    convoso: ConvosoSettings = field(default_factory=ConvosoSettings)
    poll_interval: float = 15.0
    timezone: str = "UTC"  # the account's day boundary: its "today" figures reset at local midnight
    agent_metrics: bool = True
    agent_names: bool = True  # False: per-agent series without the agent's name
    max_agents_per_target: int = 5000  # per-agent series are published for at most this many agents
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    targets: tuple[Target, ...] = ()
    # Diagnostics, not settings: left out of ==/hash so that a reload which only
    # changes a warning (say, a token file's mode) does not count as a change.
    warnings: tuple[str, ...] = field(default=(), compare=False)


class ConfigError(Exception):
    """A one-line message that names the key path and what is wrong with it."""


TOP_KEYS = ("convoso", "poll_interval", "agent_metrics", "max_agents_per_target", "targets")
CONVOSO_KEYS = (
    "base_url",
    "auth_token",
    "auth_token_file",
    "timeout",
    "concurrency",
    "max_response_bytes",
    "max_backoff",
)
TARGET_KEYS = ("name", "campaign_id", "queue_id", "user_id", "skills")


# ---------------------------------------------------------------- public API


def load_config(path: str, environ: Mapping[str, str] = os.environ) -> Config:
    """Read and validate the config file at `path`. Relative paths inside it
    (`auth_token_file`) resolve against the file's folder."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8-sig")
    except OSError as err:
        problem = err.strerror or str(err)
    except UnicodeDecodeError as err:
        problem = f"not UTF-8 text (bad byte at offset {err.start})"
    else:
        base_dir = os.path.dirname(os.path.abspath(path))
        return parse_config(text, base_dir=base_dir, environ=environ, source_name=path)
    raise ConfigError(_one_line(f"cannot read config file {path}: {problem}"))


def parse_config(
    text_or_mapping: str | Mapping[str, Any],
    *,
    base_dir: str = ".",
    environ: Mapping[str, str] = os.environ,
    source_name: str = "<config>",
) -> Config:
    """Validate YAML text, or an already-loaded mapping, into a `Config`.
    `source_name` only labels YAML syntax errors."""
    if isinstance(text_or_mapping, str):
        data = _load_yaml(text_or_mapping, source_name)
    else:
        data = text_or_mapping
    if data is None:
        _fail("", "the config is empty; expected a mapping with at least a 'targets' list")
    return _build_config(data, base_dir, environ)


# ---------------------------------------------------------------- YAML


class _SourceInt(int):
    """An int that remembers how it was written, so `campaign_id: 0111` stays
    "0111" instead of becoming YAML 1.1's octal 73."""

    source: str


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (PyYAML silently keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` entries may be overridden; that is the point
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_source_int(self, node: yaml.ScalarNode) -> int:
        number = _SourceInt(self.construct_yaml_int(node))
        number.source = node.value
        return number


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_source_int)


def _load_yaml(text: str, source_name: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        raise ConfigError(_one_line(_yaml_error_line(err, source_name))) from None
    except yaml.YAMLError as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(_one_line(f"{source_name}: invalid YAML: {first_line}")) from None


def _yaml_error_line(err: yaml.MarkedYAMLError, source_name: str) -> str:
    """`config.yaml:3:5: invalid YAML: <problem> (<context> at line L, column C)`.
    Built from the parts, not str(err): that one spans lines and quotes the source."""
    mark = err.problem_mark or err.context_mark
    where = f"{source_name}:{mark.line + 1}:{mark.column + 1}" if mark else source_name
    what = err.problem or err.context or "syntax error"
    if err.problem and err.context:
        context = err.context
        if err.context_mark and err.context_mark is not mark:
            context += f" at line {err.context_mark.line + 1}, column {err.context_mark.column + 1}"
        # PyYAML splits "expected X, but found Y" across context and problem.
        if err.problem.startswith("but "):
            what = f"{context}, {err.problem}"
        else:
            what = f"{err.problem} ({context})"
    return f"{where}: invalid YAML: {' '.join(what.split())}"


# ---------------------------------------------------------------- building


def _build_config(data: Any, base_dir: str, environ: Mapping[str, str]) -> Config:
    section = _mapping(data, "", TOP_KEYS)
    warnings: list[str] = []
    poll_interval = _duration(section, "poll_interval", "", 15.0, minimum=MIN_POLL_INTERVAL)
    convoso = _build_convoso(section.get("convoso"), base_dir, environ, warnings)
    if convoso.timeout >= poll_interval:
        warnings.append(
            f"convoso.timeout: {format_duration(convoso.timeout)} is not shorter than "
            f"poll_interval {format_duration(poll_interval)}; a slow answer delays the next poll"
        )
    targets = _build_targets(section.get("targets"), warnings)
    return Config(
        convoso=convoso,
        poll_interval=poll_interval,
        agent_metrics=_bool(section, "agent_metrics", "", True),
        max_agents_per_target=_int(section, "max_agents_per_target", "", 5000, minimum=0),
        targets=targets,
        warnings=tuple(warnings),
    )


def _build_convoso(
    data: Any, base_dir: str, environ: Mapping[str, str], warnings: list[str]
) -> ConvosoSettings:
    path = "convoso"
    section = _mapping({} if data is None else data, path, CONVOSO_KEYS)
    token, token_file = _resolve_token(section, base_dir, environ, warnings)
    timeout = _duration(section, "timeout", path, 10.0, minimum=0.0)
    if timeout == 0:
        _fail(_join(path, "timeout"), "must be greater than 0, e.g. 10s")
    max_backoff = _duration(section, "max_backoff", path, 120.0, minimum=MIN_POLL_INTERVAL)
    max_bytes = _size(section, "max_response_bytes", path, 32 * 1024 * 1024)
    return ConvosoSettings(
        base_url=_base_url(section.get("base_url", "https://api.convoso.com/v1"), path),
        auth_token=token,
        auth_token_file=token_file,
        timeout=timeout,
        concurrency=_int(section, "concurrency", path, 8, minimum=1, maximum=MAX_CONCURRENCY),
        max_response_bytes=max_bytes,
        max_backoff=max_backoff,
    )


def _build_targets(data: Any, warnings: list[str]) -> tuple[Target, ...]:
    if data is None:
        _fail("targets", "missing; expected a list of targets, each with a name")
    if not isinstance(data, (list, tuple)):
        _fail("targets", f"expected a list of targets, got {_describe(data)}")
    if not data:
        _fail("targets", "at least one target is required")
    targets = [_build_target(item, f"targets[{i}]") for i, item in enumerate(data)]
    first_by_name: dict[str, int] = {}
    first_by_scope: dict[tuple, int] = {}
    for i, target in enumerate(targets):
        if target.name in first_by_name:
            first = first_by_name[target.name]
            _fail(
                f"targets[{i}].name",
                f"duplicate target name {target.name!r} (also targets[{first}]); "
                "names must be unique",
            )
        first_by_name[target.name] = i
        scope = frozenset((key, frozenset(value) if key == "skills" else value)
                          for key, value in target.filters().items())
        if scope in first_by_scope:
            other = targets[first_by_scope[scope]].name
            warnings.append(
                f"targets[{i}]: asks for the same agents as targets[{first_by_scope[scope]}] "
                f"({other!r}); each poll makes the same API call twice"
            )
        first_by_scope.setdefault(scope, i)
    return tuple(targets)


def _build_target(data: Any, path: str) -> Target:
    section = _mapping(data, path, TARGET_KEYS)
    return Target(
        name=_name(section.get("name"), _join(path, "name")),
        campaign_id=_id(section.get("campaign_id"), _join(path, "campaign_id")),
        queue_id=_id(section.get("queue_id"), _join(path, "queue_id")),
        user_id=_id(section.get("user_id"), _join(path, "user_id")),
        skills=_skills(section.get("skills"), _join(path, "skills")),
    )


# ---------------------------------------------------------------- the token


def _resolve_token(
    section: Mapping[str, Any], base_dir: str, environ: Mapping[str, str], warnings: list[str]
) -> tuple[str, str | None]:
    """(token, resolved token file). The environment wins, then auth_token, then the file."""
    inline = _optional_str(section, "auth_token", "convoso", secret=True)
    file_name = _optional_str(section, "auth_token_file", "convoso")
    if inline is not None and file_name is not None:
        _fail("convoso", "set either auth_token or auth_token_file, not both")
    if inline is not None:
        _check_token(inline, "convoso.auth_token")
    token_file = None
    if file_name is not None:
        token_file = os.path.normpath(os.path.join(base_dir, os.path.expanduser(file_name)))
    env_token = environ.get(TOKEN_ENV, "").strip()
    if env_token:
        _check_token(env_token, TOKEN_ENV)
        return env_token, token_file
    if inline is not None:
        return inline, None
    if token_file is not None:
        return _read_token_file(token_file, warnings), token_file
    _fail("convoso", f"no auth token: set auth_token, auth_token_file or {TOKEN_ENV}")


def _read_token_file(path: str, warnings: list[str]) -> str:
    where = "convoso.auth_token_file"
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            raw = f.read(MAX_TOKEN_FILE_BYTES + 1)
    except OSError as err:
        _fail(where, f"cannot read token file {path}: {err.strerror or err}")
    if len(raw) > MAX_TOKEN_FILE_BYTES:
        _fail(
            where,
            f"token file {path} is larger than {MAX_TOKEN_FILE_BYTES} bytes; "
            "expected the token alone",
        )
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        _fail(where, f"token file {path} is not UTF-8 text; expected the token alone")
    if not token:
        _fail(where, f"token file {path} is empty; expected the Convoso auth token")
    _check_token(token, where, f"the token in {path}")
    # "Other users": the world bits. A group-readable file is how Kubernetes mounts
    # secrets for a pod's fsGroup, so warning on it would cry wolf on every pod.
    if mode & 0o007:
        warnings.append(
            f"{where}: {path} is readable by other users (mode {mode & 0o777:04o}); "
            "restrict it with chmod 600"
        )
    return token


def _check_token(token: str, where: str, subject: str = "the token") -> None:
    """A token is one word. Whitespace inside means the wrong file or a paste
    accident; say so without ever echoing the token."""
    if any(c.isspace() or not c.isprintable() for c in token):
        _fail(
            where,
            f"{subject} contains whitespace or control characters; expected the token alone",
        )


# ---------------------------------------------------------------- fields


def _mapping(data: Any, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    """`data` as a mapping with only `allowed` keys; nulls dropped (null = not set)."""
    if not isinstance(data, Mapping):
        _fail(path, f"expected a mapping of settings, got {_describe(data)}")
    for key in data:
        if key not in allowed:
            shown = key if isinstance(key, str) and len(key) <= 60 else _describe(key)
            _fail(_join(path, shown), _unknown_key_hint(key, allowed))
    return {key: value for key, value in data.items() if value is not None}


def _unknown_key_hint(key: Any, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1) if isinstance(key, str) else []
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}expected one of: {', '.join(allowed)}"


def _duration(
    section: Mapping[str, Any], key: str, path: str, default: float, *, minimum: float
) -> float:
    where = _join(path, key)
    if key not in section:
        return default
    try:
        seconds = parse_duration(section[key])
    except ValueError as err:
        _fail(where, str(err))
    if seconds < minimum:
        _fail(
            where,
            f"must be at least {format_duration(minimum)}, got {format_duration(seconds)}",
        )
    return seconds


def _size(section: Mapping[str, Any], key: str, path: str, default: int) -> int:
    where = _join(path, key)
    if key not in section:
        return default
    try:
        size = parse_size(section[key])
    except ValueError as err:
        _fail(where, str(err))
    if size < MIN_RESPONSE_BYTES:
        _fail(where, f"must be at least 1KiB ({MIN_RESPONSE_BYTES} bytes), got {size} bytes")
    return size


def _int(
    section: Mapping[str, Any],
    key: str,
    path: str,
    default: int,
    *,
    minimum: int,
    maximum: int | None = None,
) -> int:
    where = _join(path, key)
    value = section.get(key, default)
    expected = f"an integer from {minimum} to {maximum}" if maximum else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(where, f"expected {expected}, got {_describe(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        _fail(where, f"expected {expected}, got {int(value)}")
    return int(value)


def _bool(section: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        _fail(_join(path, key), f"expected true or false, got {_describe(value)}")
    return value


def _optional_str(
    section: Mapping[str, Any], key: str, path: str, *, secret: bool = False
) -> str | None:
    if key not in section:
        return None
    value = section[key]
    where = _join(path, key)
    if not isinstance(value, str):
        _fail(where, f"expected a string, got {_describe(value, secret=secret)}")
    if not value.strip():
        _fail(where, "must not be empty; remove the key to leave it unset")
    return value


def _base_url(value: Any, path: str) -> str:
    where = _join(path, "base_url")
    expected = "expected an http:// or https:// URL like https://api.convoso.com/v1"
    if not isinstance(value, str):
        _fail(where, f"{expected}, got {_describe(value)}")
    # Never echo the query or fragment: a request URL pasted here carries the token.
    shown = _describe(value.split("?", 1)[0].split("#", 1)[0])
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as err:
        _fail(where, f"{expected}, got {shown} ({err})")
    if parts.scheme not in ("http", "https") or not parts.hostname or _has_space(value):
        _fail(where, f"{expected}, got {shown}")
    if parts.username is not None or parts.password is not None:
        _fail(
            where, "must not contain credentials; the token goes in auth_token or auth_token_file"
        )
    if parts.query or parts.fragment:
        _fail(
            where,
            f"must not have a query or fragment, got {shown} followed by one; "
            "the token goes in auth_token or auth_token_file",
        )
    # The client appends `/agent-monitor/search`; a trailing slash would double it.
    return value.rstrip("/")


def _name(value: Any, where: str) -> str:
    if value is None:
        _fail(where, "missing; every target needs a name (it becomes the `target` label)")
    if not isinstance(value, str):
        _fail(where, f"expected a string, got {_describe(value)}{_quote_hint(value)}")
    if not value:
        _fail(where, "must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        _fail(where, f"too long ({len(value)} characters); expected at most {MAX_NAME_LENGTH}")
    if value != value.strip() or not value.isprintable():
        _fail(
            where,
            f"expected a label value without control characters or surrounding spaces, "
            f"got {_describe(value)}",
        )
    return value


def _id(value: Any, where: str) -> str | None:
    """Convoso ids are strings on the wire; YAML integers are accepted as written."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        _fail(where, f"expected an id (string or integer), got {_describe(value)}")
    if isinstance(value, int):
        text = getattr(value, "source", str(value))
        if not text.isdigit():
            _fail(
                where,
                f"YAML reads {text!r} as the number {int(value)}; quote the id, e.g. \"{text}\"",
            )
        return text
    if not value:
        _fail(where, "must not be empty; remove the key for no filter")
    if len(value) > MAX_ID_LENGTH or _has_space(value) or not value.isprintable():
        _fail(
            where,
            f"expected an id without spaces, at most {MAX_ID_LENGTH} characters, "
            f"got {_describe(value)}",
        )
    return value


def _skills(value: Any, where: str) -> tuple[str, ...]:
    """A list of names or one comma-separated string, as the API takes them."""
    if value is None:
        return ()
    if isinstance(value, str):
        items = [(where, part.strip()) for part in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = [(f"{where}[{i}]", item) for i, item in enumerate(value)]
    else:
        _fail(
            where,
            f"expected a list of skill names or a comma-separated string, got {_describe(value)}",
        )
    skills: list[str] = []
    for item_where, item in items:
        if not isinstance(item, str):
            _fail(
                item_where,
                f"expected a skill name (string), got {_describe(item)}{_quote_hint(item)}",
            )
        item = item.strip()
        if not item:
            _fail(item_where, "empty skill name; expected non-empty names")
        if "," in item or not item.isprintable():
            _fail(
                item_where,
                "expected a skill name without commas or control characters, "
                f"got {_describe(item)}",
            )
        if item in skills:
            _fail(item_where, f"duplicate skill {item!r}")
        skills.append(item)
    return tuple(skills)


# ---------------------------------------------------------------- helpers

def _describe(value: Any, *, secret: bool = False) -> str:
    """A value for an error message; a secret shows only its kind, never its text."""
    if secret and value is not None:
        return kind_of(value)
    return describe(value)


def _quote_hint(value: Any) -> str:
    """YAML turns `no`, `on`, `2024-01-01`, `12` into non-strings; say how to keep text."""
    if isinstance(value, (bool, int, float, datetime.date)):
        return "; put it in quotes to make it text"
    return ""


def _has_space(text: str) -> bool:
    return any(c.isspace() for c in text)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _one_line(text: str) -> str:
    """Escape newlines and other control characters (from keys, paths, values)
    so that every message stays on one line and cannot mangle a terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _fail(path: str, message: str) -> NoReturn:
    # `from None`: when called while handling a ValueError/OSError, that error is
    # already in the message; a chained traceback would only add noise.
    raise ConfigError(_one_line(f"{path or '(top level)'}: {message}")) from None
