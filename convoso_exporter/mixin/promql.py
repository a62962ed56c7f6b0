"""PromQL text the rules and the dashboards share: selectors, joins to the `_info` series,
and the day-reset-aware growth of a `*_today` gauge.

Targets overlap (an agent is in the account, its campaign, its queue and any custom
slice), so nothing here sums a per-target family over targets. Two ways to narrow:

- the account's breakdown (`convoso_agents`) and the per-agent info carry `campaign_id`
  and `queue_id`: filter them on the label itself;
- per-target families (`convoso_queue_*`, `convoso_calls_*`, ...) carry only `target`:
  join them to `convoso_target_info` of one kind, which keeps the targets of that kind
  whose info passes the filter and adds their ids and names. The info series are 1, so
  the join keeps the value.

The dashboard helpers filter on the Grafana variables `$job`, `$instance`, `$campaign`,
`$queue` and `$target`; the rules call `join` with plain selectors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

ON_TARGET = ("job", "instance", "target")
ON_AGENT = ("job", "instance", "user_id")
ON_CAMPAIGN = ("job", "instance", "campaign_id")
ON_QUEUE = ("job", "instance", "queue_id")
CAMPAIGN_LABELS = ("campaign_id", "campaign_name")
QUEUE_LABELS = ("queue_id", "queue_name")

# The dashboards' variables as matchers.
JOB_INSTANCE = ('job=~"$job"', 'instance=~"$instance"')
CAMPAIGN = 'campaign_id=~"$campaign"'
QUEUE = 'queue_id=~"$queue"'
TARGET = 'target=~"$target"'
ACCOUNT = 'target="account"'

_SELECTOR_RE = re.compile(r"[A-Za-z_:][\w:]*(\{[^{}]*\})?")


def selector(metric: str, *matchers: str) -> str:
    """`metric{m1,m2}` (or the bare name without matchers)."""
    return f"{metric}{{{','.join(matchers)}}}" if matchers else metric


def _one_call(expr: str) -> bool:
    """Whether `expr` is one function call, `name(...)`, whose parentheses close at its end."""
    opened = re.match(r"[a-z_]+\(", expr)
    if not opened or not expr.endswith(")"):
        return False
    depth = 0
    for index in range(opened.end() - 1, len(expr)):
        depth += {"(": 1, ")": -1}.get(expr[index], 0)
        if depth == 0:
            return index == len(expr) - 1
    return False


def grouped(expr: str) -> str:
    """`expr` in parentheses unless it is one selector or one call, so an operator binds to all of it."""
    return expr if _SELECTOR_RE.fullmatch(expr) or _one_call(expr) else f"({expr})"


def join(expr: str, on: Sequence[str], info: str, labels: Sequence[str] = ()) -> str:
    """`expr` kept to the series `info` (an `_info` selector, value 1) matches, with `labels` copied over."""
    return f"{grouped(expr)} * on ({', '.join(on)}) group_left ({', '.join(labels)}) {info}"


def window_increase(metric: str, window: str, *, one_line: bool = False) -> str:
    """Growth over `window` of a gauge that counts up all day and resets at the day boundary.

    `now - value window ago` (the window's oldest sample while there is none that old),
    clamped at 0: see `rules` for why this is not `increase()`. The dashboards use it on
    one line, the rules spread out.
    """
    earlier = f"({metric} offset {window} or min_over_time({metric}[{window}]))"
    if one_line:
        return f"clamp_min({metric} - {earlier}, 0)"
    return f"clamp_min(\n  {metric}\n    - {earlier},\n  0\n)"


# ------------------------------------------------------------------ dashboard selectors


def sel(metric: str, *matchers: str) -> str:
    """`metric` filtered on the dashboard's job and instance (and `matchers`)."""
    return selector(metric, *JOB_INSTANCE, *matchers)


def scoped(metric: str, *matchers: str) -> str:
    """A series that carries campaign_id and queue_id, filtered on `$campaign` and `$queue`."""
    return sel(metric, CAMPAIGN, QUEUE, *matchers)


def account(metric: str) -> str:
    """A per-target family's value for the whole account (the `account` target)."""
    return sel(metric, ACCOUNT)


def targeted(metric: str, *matchers: str) -> str:
    """A per-target family filtered on the `$target` variable (the exporter-health dashboard)."""
    return sel(metric, TARGET, *matchers)


def target_info(kind: str, *matchers: str) -> str:
    """`convoso_target_info` of one kind (account, campaign, queue, custom)."""
    return sel("convoso_target_info", f'kind="{kind}"', *matchers)


def campaign_targets(expr: str) -> str:
    """A per-target expression kept to the selected campaigns' own targets, with campaign_id and name."""
    return join(expr, ON_TARGET, target_info("campaign", CAMPAIGN), CAMPAIGN_LABELS)


def queue_targets(expr: str) -> str:
    """A per-target expression kept to the selected queues' own targets, with queue_id and name."""
    return join(expr, ON_TARGET, target_info("queue", QUEUE), QUEUE_LABELS)


def custom_targets(expr: str) -> str:
    """A per-target expression kept to the config's custom slices (not narrowed by campaign or queue)."""
    return join(expr, ON_TARGET, target_info("custom"))


def in_agent_scope(expr: str, labels: Sequence[str] = ()) -> str:
    """A per-agent expression kept to the agents of the selected campaigns and queues."""
    return join(expr, ON_AGENT, scoped("convoso_agent_info"), labels)


def campaign_names(expr: str) -> str:
    """An expression by campaign_id with campaign_name added (campaigns without an id drop out)."""
    return join(expr, ON_CAMPAIGN, sel("convoso_campaign_info", CAMPAIGN), ("campaign_name",))


def queue_names(expr: str) -> str:
    """An expression by queue_id with queue_name added (queues without an id drop out)."""
    return join(expr, ON_QUEUE, sel("convoso_queue_info", QUEUE), ("queue_name",))
