"""Configuration: YAML → typed, validated `Config`.

The config file is a user-facing contract (see `config.example.yaml`). Loading is
strict: duplicate keys, unknown keys, wrong types and out-of-range values are errors,
each reported as one `ConfigError` line with the file, the line and the key path
(`config.yaml:12: targets[1].queue_id: ...`) and what was expected. Problems that do not
stop the exporter (a token file readable by other users, a timeout as long as the poll
interval) become `Config.warnings` for the app to log.

An explicit YAML `null` counts as "not set": the default applies.
The auth token never appears in an error, a warning or `repr(Config)`.

The YAML itself is read by `load.py` (positions, duplicates, syntax errors in words);
each setting is read and checked by `fields.Section`. To add a section: a frozen
dataclass, a tuple of its keys (and its name in TOP_KEYS), a `_build_...(section)` that
reads each key with a `Section` method, and one line in `_build_config`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from convoso_exporter.api.errors import one_line
from convoso_exporter.config.fields import (
    Section,
    base_url,
    describe_value,
    fail,
    identifier,
    label_value,
    name_list,
    regex,
    timezone_name,
)
from convoso_exporter.config.load import Document, ReadError, YamlError, read_text
from convoso_exporter.config.load import parse as parse_yaml
# ConfigError and environment_token are credential.py's (the env-token rule raises the one);
# the rest of the package imports both from here.
from convoso_exporter.config.credential import (  # noqa: F401
    TOKEN_ENV,
    ConfigError,
    clean_token,
    environment_token,
    resolve_token,
)
from convoso_exporter.config.units import format_duration, hide, hiding

MIN_POLL_INTERVAL = 1.0
MAX_CONCURRENCY = 256
MIN_RESPONSE_BYTES = 1024
# The ceiling on API calls a minute: a 2,000-agent account (20 campaigns, 40 queues) at
# the default intervals makes 92.2 (64 of them searches); discovery's default max_targets
# of campaigns, with both optional endpoints, would make 448 and is stretched to fit
# (poll/budget.py).
MAX_REQUESTS_PER_MINUTE = 300


# What a target can be: the whole account (the backbone every agent count comes from),
# a campaign or queue found by discovery, or a slice the config lists by hand; and the
# calls of the optional endpoints beside a scope (poll/endpoints.py): agent-performance
# and user-activity search, each of the account's or a discovered campaign's.
ACCOUNT, CAMPAIGN, QUEUE, CUSTOM = "account", "campaign", "queue", "custom"
PERFORMANCE, USER_ACTIVITY = "performance", "user_activity"
ENDPOINT_KINDS = (PERFORMANCE, USER_ACTIVITY)
TARGET_KINDS = (ACCOUNT, CAMPAIGN, QUEUE, CUSTOM, *ENDPOINT_KINDS)
# The fields of a target that filter its search, in one place.
FILTER_FIELDS = ("campaign_id", "queue_id", "user_id", "skills")


@dataclass(frozen=True)
class Target:
    """One call per poll: a search, `name` its `target` label; or (kind PERFORMANCE,
    USER_ACTIVITY) an optional endpoint's call beside the target named `scope`, whose
    `target` label its figures carry."""

    name: str
    campaign_id: str | None = None
    queue_id: str | None = None
    user_id: str | None = None
    skills: tuple[str, ...] = ()
    kind: str = CUSTOM
    interval: float | None = None  # seconds between polls; None: the config's poll_interval
    publish: bool = True  # False: polled for discovery only, its series left to another shard
    scope: str | None = None  # an optional endpoint's call: the target it goes beside
    # Display names: not part of what the target asks for, so a renamed campaign
    # keeps its state (and its counters).
    campaign_name: str | None = field(default=None, compare=False)
    queue_name: str | None = field(default=None, compare=False)

    def same_names(self, other: Target) -> bool:
        """Whether the display names (which `==` leaves out) are the same too."""
        return (self.campaign_name, self.queue_name) == (other.campaign_name, other.queue_name)

    @property
    def keeps_agents(self) -> bool:
        """Whether this target's agents are kept once its answer is read: the account's
        (every agent series comes from it) and the config's own slices'; a discovered
        campaign's or queue's agents are all in the account answer, and unused."""
        return self.kind in (ACCOUNT, CUSTOM)

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
    max_requests_per_minute: int = MAX_REQUESTS_PER_MINUTE


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
class PerformanceSettings:
    """`performance:` — agent-performance search of today, per discovered campaign."""

    enabled: bool = True
    interval: float = 300.0


@dataclass(frozen=True)
class UserActivitySettings:
    """`user_activity:` — user-activity search beside each poll of the account and of each
    discovered campaign."""

    enabled: bool = True


@dataclass(frozen=True)
class Config:
    convoso: ConvosoSettings = field(default_factory=ConvosoSettings)
    poll_interval: float = 15.0
    timezone: str = "UTC"  # the account's day boundary: its "today" figures reset at local midnight
    agent_metrics: bool = True
    agent_names: bool = True  # False: per-agent series without the agent's name
    max_agents_per_target: int = 5000  # per-agent series are published for at most this many agents
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    performance: PerformanceSettings = field(default_factory=PerformanceSettings)
    user_activity: UserActivitySettings = field(default_factory=UserActivitySettings)
    targets: tuple[Target, ...] = ()
    # Diagnostics, not settings: left out of ==/hash so that a reload which only
    # changes a warning (say, a token file's mode) does not count as a change.
    warnings: tuple[str, ...] = field(default=(), compare=False)


TOP_KEYS = (
    "convoso", "poll_interval", "timezone", "discovery", "performance", "user_activity", "agent_metrics", "agent_names",
    "max_agents_per_target", "targets",
)
DISCOVERY_KEYS = ("enabled", "campaigns", "queues", "include", "exclude", "interval", "max_targets")
MAX_DISCOVERED_TARGETS = 10_000
# Names the exporter gives its own targets; an explicit target cannot take them.
ACCOUNT_TARGET = "account"
RESERVED_PREFIXES = ("campaign:", "queue:", "performance:", "user_activity:")
CONVOSO_KEYS = (
    "base_url",
    "auth_token",
    "auth_token_file",
    "timeout",
    "concurrency",
    "max_response_bytes",
    "max_backoff",
    "max_requests_per_minute",
)
TARGET_KEYS = ("name", "campaign_id", "queue_id", "user_id", "skills")


# ---------------------------------------------------------------- public API


def load_config(path: str, environ: Mapping[str, str] = os.environ) -> Config:
    """Read and validate the config file at `path`. Relative paths inside it
    (`auth_token_file`) resolve against the file's folder."""
    try:
        text = read_text(path)
    except ReadError as err:
        raise ConfigError(one_line(f"cannot read config file {path}: {err}")) from None
    except YamlError as err:
        raise ConfigError(str(err)) from None
    base_dir = os.path.dirname(os.path.abspath(path))
    return parse_config(text, base_dir=base_dir, environ=environ, source_name=path)


def parse_config(
    text_or_mapping: str | Mapping[str, Any],
    *,
    base_dir: str = ".",
    environ: Mapping[str, str] = os.environ,
    source_name: str = "<config>",
) -> Config:
    """Validate YAML text, or an already-loaded mapping, into a `Config`.
    `source_name` names the text in messages; a mapping has no lines, so its
    messages start with the key path."""
    document = None
    try:
        if isinstance(text_or_mapping, str):
            document = parse_yaml(text_or_mapping, source_name)
        else:
            document = Document(text_or_mapping)
        with hiding(_tokens_in(document.data, environ)):
            return document.build(lambda doc: _build_config(doc.data, base_dir, environ))
    except YamlError as err:
        with hiding(_tokens_in(document.data if document is not None else None, environ)):
            raise ConfigError(hide(str(err))) from None


def _tokens_in(data: Any, environ: Mapping[str, str]) -> list[str]:
    """Every token this config could be using, valid or not, so that no message echoes
    one even when it was pasted under another key (a value is quoted in messages)."""
    tokens = [clean_token(environ.get(TOKEN_ENV, ""))]
    convoso = data.get("convoso") if isinstance(data, Mapping) else None
    if isinstance(convoso, Mapping) and isinstance(convoso.get("auth_token"), str):
        tokens.append(convoso["auth_token"].strip())
    return [token for token in tokens if token]


# ---------------------------------------------------------------- the sections


def _build_config(data: Any, base_dir: str, environ: Mapping[str, str]) -> Config:
    if data is None:
        fail((), "the config is empty; expected a mapping with at least a 'convoso' section for the token")
    top = Section(data, (), TOP_KEYS)
    warnings: list[str] = []
    poll_interval = top.duration("poll_interval", 15.0, minimum=MIN_POLL_INTERVAL)
    convoso = _build_convoso(top.section("convoso", CONVOSO_KEYS), base_dir, environ, warnings)
    if convoso.timeout >= poll_interval:
        warnings.append(
            f"convoso.timeout: {format_duration(convoso.timeout)} is not shorter than "
            f"poll_interval {format_duration(poll_interval)}; a slow answer delays the next poll"
        )
    targets = _build_targets(top.get("targets"), warnings)
    return Config(
        convoso=convoso,
        poll_interval=poll_interval,
        timezone=top.value("timezone", timezone_name, default="UTC"),
        discovery=_build_discovery(top.section("discovery", DISCOVERY_KEYS), bool(targets)),
        performance=_build_performance(top.section("performance", ("enabled", "interval"))),
        user_activity=UserActivitySettings(top.section("user_activity", ("enabled",)).boolean("enabled", True)),
        agent_metrics=top.boolean("agent_metrics", True),
        agent_names=top.boolean("agent_names", True),
        max_agents_per_target=top.integer("max_agents_per_target", 5000, minimum=0),
        targets=targets,
        warnings=tuple(warnings),
    )


def _build_discovery(section: Section, has_targets: bool) -> DiscoverySettings:
    """On by default unless the config lists its own targets."""
    return DiscoverySettings(
        enabled=section.boolean("enabled", not has_targets),
        campaigns=section.boolean("campaigns", True),
        queues=section.boolean("queues", True),
        include=section.value("include", regex),
        exclude=section.value("exclude", regex),
        interval=section.duration("interval", 60.0, minimum=MIN_POLL_INTERVAL),
        max_targets=section.integer("max_targets", 200, minimum=0, maximum=MAX_DISCOVERED_TARGETS),
    )


def _build_performance(section: Section) -> PerformanceSettings:
    """On by default; its interval takes poll_interval's range (tests run it in seconds)."""
    return PerformanceSettings(section.boolean("enabled", True),
                               section.duration("interval", 300.0, minimum=MIN_POLL_INTERVAL))


def _build_convoso(
    section: Section, base_dir: str, environ: Mapping[str, str], warnings: list[str]
) -> ConvosoSettings:
    token, token_file = resolve_token(section, base_dir, environ, warnings)
    timeout = section.duration("timeout", 10.0, minimum=0.0)
    if timeout == 0:
        section.fail("timeout", "must be greater than 0, e.g. 10s")
    max_backoff = section.duration("max_backoff", 120.0, minimum=MIN_POLL_INTERVAL)
    max_bytes = section.size("max_response_bytes", 32 * 1024 * 1024, minimum=MIN_RESPONSE_BYTES)
    return ConvosoSettings(
        base_url=section.value("base_url", base_url, default="https://api.convoso.com/v1"),
        auth_token=token,
        auth_token_file=token_file,
        timeout=timeout,
        concurrency=section.integer("concurrency", 8, minimum=1, maximum=MAX_CONCURRENCY),
        max_response_bytes=max_bytes,
        max_backoff=max_backoff,
        max_requests_per_minute=section.integer("max_requests_per_minute", MAX_REQUESTS_PER_MINUTE, minimum=1,
                                                maximum=1_000_000),
    )


def _build_targets(data: Any, warnings: list[str]) -> tuple[Target, ...]:
    """The explicit targets: optional (discovery finds campaigns and queues)."""
    path = ("targets",)
    if data is None:
        return ()
    if not isinstance(data, (list, tuple)):
        fail(path, f"expected a list of targets, each with a name, got {describe_value(data)}")
    targets = [_build_target(Section(item, (*path, i), TARGET_KEYS)) for i, item in enumerate(data)]
    first_by_name: dict[str, int] = {}
    first_by_scope: dict[tuple, int] = {}
    for i, target in enumerate(targets):
        if target.name in first_by_name:
            first = first_by_name[target.name]
            fail(
                (*path, i, "name"),
                f"duplicate target name {target.name!r} (also targets[{first}]); names must be unique",
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


def _build_target(section: Section) -> Target:
    name = section.value("name", label_value)
    if name == ACCOUNT_TARGET or name.startswith(RESERVED_PREFIXES):
        section.fail("name", f"{name!r} is reserved: the exporter names its own targets account, campaign:<id>, "
                             "queue:<id>, performance:<scope> and user_activity:<scope>; choose another name")
    return Target(
        name=name,
        campaign_id=section.value("campaign_id", identifier),
        queue_id=section.value("queue_id", identifier),
        user_id=section.value("user_id", identifier),
        skills=section.value("skills", name_list),
    )

