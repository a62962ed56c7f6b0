"""The PromQL the dashboards are built from (convoso_exporter/mixin/promql.py), and the
scope rule every shipped dashboard query keeps.

The scope rule (targets overlap, so a panel must never add up overlapping scopes):
- the exporter-health dashboard has a `target` variable and filters every per-target
  series on it;
- the contact-center dashboards have `campaign` and `queue` variables. A series that
  carries campaign_id / queue_id (the account's breakdown, the per-agent and scope info)
  filters on them; a per-target series is either the account's (`target="account"`) or
  joined on `target` to `convoso_target_info` of one kind filtered on that kind's
  variable (custom slices are their own scope: listed whatever the selection); a
  per-agent series is joined on `user_id` to the filtered `convoso_agent_info`;
- an additive aggregation (sum, avg, count...) over a per-target series keeps `target`,
  or works on one target (the account) or on campaign targets only, which do not
  overlap (an agent is in one campaign at a time).
"""

from __future__ import annotations

import re

import pytest

from convoso_exporter.mixin import promql
from tests.unit.mixin.test_dashboards import (
    MATCHER_RE,
    METRIC_WORD_RE,
    QUERIES,
    SCOPE_DASHBOARDS,
    SCOPE_LABELS,
    SELECTOR_RE,
    STRING_RE,
    labels_of,
)

# convoso_target_info of each kind is filtered on the variable of that kind.
KIND_SCOPE = {"account": set(), "campaign": {"campaign"}, "queue": {"queue"}, "custom": set()}
ADDITIVE_RE = re.compile(r"(?<![\w:])(sum|avg|count|group|stddev|stdvar)\s*(?:(by|without)\s*\(([^)]*)\)\s*)?\(")
INFO_JOIN_RE = re.compile(r"on\s*\(([^)]*)\)\s*group_left\s*\([^)]*\)\s*(convoso_\w+_info)\{([^}]*)\}")
IDS = [f"{n}:{t}" for n, t, _ in QUERIES]


# ---------------------------------------------------------------- the helpers


def test_grouped_wraps_only_what_an_operator_would_split():
    assert promql.grouped('a{b="c"}') == 'a{b="c"}'
    assert promql.grouped("clamp_min(a - (b), 0)") == "clamp_min(a - (b), 0)"
    assert promql.grouped("sum(a) / sum(b)") == "(sum(a) / sum(b))"
    assert promql.grouped("sum by (x) (a)") == "(sum by (x) (a))"


def test_campaign_targets_keep_the_value_and_add_the_campaign():
    assert promql.campaign_targets("a / b") == (
        "(a / b) * on (job, instance, target) group_left (campaign_id, campaign_name) "
        'convoso_target_info{job=~"$job",instance=~"$instance",kind="campaign",campaign_id=~"$campaign"}'
    )


def test_window_increase_is_the_same_expression_on_one_line_or_spread():
    spread = promql.window_increase("m", "15m")
    assert " ".join(spread.split()).replace("( ", "(").replace(" )", ")") == promql.window_increase(
        "m", "15m", one_line=True
    )


# ---------------------------------------------------------------- the scope rule


def scope_required(metric: str, matchers: dict[tuple[str, str], str]) -> set[str]:
    """The scope variables a selector must filter on itself, on a campaign/queue dashboard."""
    if metric == "convoso_target_info":
        kind = matchers.get(("kind", "="))
        assert kind in KIND_SCOPE, f"convoso_target_info must pin one kind, not {kind!r}"
        return KIND_SCOPE[kind]
    return {var for var, label in SCOPE_LABELS.items() if label in labels_of(metric)}


def joins_scoped_info(expr: str, on: str, info: str) -> bool:
    """Whether `expr` joins `on` a label to an `info` selector that passes the scope rule."""
    for labels, metric, body in INFO_JOIN_RE.findall(expr):
        matchers = {(label, op): value for label, op, value in MATCHER_RE.findall(body)}
        if on in labels.replace(" ", "").split(",") and metric == info and scope_required(metric, matchers):
            return True
        if metric == info == "convoso_target_info" and matchers.get(("kind", "=")) == "custom":
            return on == "target"
    return False


def check_scope(metric: str, matchers: dict[tuple[str, str], str], expr: str) -> None:
    """The scope rule of a campaign/queue dashboard for one selector (see the module docstring)."""
    required = scope_required(metric, matchers)
    for var in required:
        assert matchers.get((SCOPE_LABELS[var], "=~")) == f"${var}", f"{metric} not filtered on ${var}"
    labels = labels_of(metric)
    if required or metric == "convoso_target_info":
        return
    if "target" in labels:
        assert matchers.get(("target", "=")) == "account" or joins_scoped_info(expr, "target", "convoso_target_info"), (
            f"{metric}: neither the account's nor joined on target to a filtered convoso_target_info"
        )
    elif "user_id" in labels:
        assert joins_scoped_info(expr, "user_id", "convoso_agent_info"), f"{metric}: not joined to convoso_agent_info"


@pytest.mark.parametrize(("name", "title", "expr"), QUERIES, ids=IDS)
def test_every_selector_filters_on_job_instance_and_the_dashboards_scope(name, title, expr):
    without_strings = STRING_RE.sub('""', expr)
    for match in METRIC_WORD_RE.finditer(without_strings):
        assert without_strings[match.end() :].startswith("{"), (
            f"bare metric {match[1]}: no job/instance filter"
        )
    selectors = SELECTOR_RE.findall(expr)
    assert selectors
    for metric, body in selectors:
        matchers = {(label, op): value for label, op, value in MATCHER_RE.findall(body)}
        assert matchers.get(("job", "=~")) == "$job", metric
        assert matchers.get(("instance", "=~")) == "$instance", metric
        labels = labels_of(metric)
        unknown = {label for label, _ in matchers} - labels - {"job", "instance"}
        assert not unknown, f"{metric} has no label {unknown}"
        if name in SCOPE_DASHBOARDS:
            assert ("target", "=~") not in matchers, f"{metric}: no $target on this dashboard"
            check_scope(metric, matchers, expr)
        elif "target" in labels:
            assert matchers.get(("target", "=~")) == "$target", metric


def call_argument(expr: str, start: int) -> str:
    """The text inside the parenthesis that opens just before `start`."""
    depth, end = 1, start
    while depth:
        depth += {"(": 1, ")": -1}.get(expr[end], 0)
        end += 1
    return expr[start : end - 1]


@pytest.mark.parametrize(("name", "title", "expr"), QUERIES, ids=IDS)
def test_no_query_adds_up_overlapping_targets(name, title, expr):
    for call in ADDITIVE_RE.finditer(expr):
        grouping = {label.strip() for label in (call[3] or "").split(",")}
        if (call[2] == "by" and "target" in grouping) or (call[2] == "without" and "target" not in grouping):
            continue  # one result per target: nothing added across targets
        argument = call_argument(expr, call.end())
        for metric, body in SELECTOR_RE.findall(argument):
            if "target" not in labels_of(metric) or metric == "convoso_target_info":
                continue
            matchers = {(label, op): value for label, op, value in MATCHER_RE.findall(body)}
            one_target = matchers.get(("target", "=")) == "account"
            campaigns_only = re.search(r'convoso_target_info\{[^}]*kind="campaign"', argument)
            assert one_target or campaigns_only, f"{call[1]} adds up {metric} over overlapping targets"
