"""Campaigns and queues on a dashboard: the drop rate and its alert lines, the breakdown's
agents, and a table with one row per campaign or queue.

Shared by the dashboards that show campaigns (the overview today; a compliance
dashboard can draw the same lines and tables). Agent columns come from the account's
breakdown (`convoso_agents`, each agent once); the other columns from each scope's own
target, so no column adds up overlapping targets.
"""

from __future__ import annotations

from collections.abc import Callable

from convoso_exporter.mixin.panels import Panel, column_units, merged_columns, queries, table, thresholds
from convoso_exporter.mixin.promql import scoped, sel
from convoso_exporter.mixin.settings import Settings

LOGGED_IN = 'status!="LOGGED_OUT"'
ANSWERED_NOTE = (
    " Convoso does not document whether answered counts live people only, which is what the "
    "legal ratio wants."
)


HEADINGS = {
    "agents": "Agents",
    "logged in": "Logged in",
    "ready": "Ready",
    "leads": "Dialable leads",
    "calls": "Calls today",
    "answered": "Answered today",
    "dropped": "Dropped today",
    "drop rate": "Drop rate today",
}
TODAY = [
    (sel("convoso_queue_dialable_leads"), "leads"),
    (sel("convoso_queue_calls_today"), "calls"),
    (sel("convoso_queue_answered_today"), "answered"),
    (sel("convoso_queue_dropped_today"), "dropped"),
]


def drop_rate_thresholds(settings: Settings) -> dict:
    """Green, then orange at the warning alert's ratio and red at the critical one's."""
    return thresholds(
        "green",
        (settings.drop_rate_warning, "orange"),
        (settings.drop_rate_critical, "red"),
    )


def drop_rate(select: Callable[[str], str] = sel) -> str:
    """Today's dropped ÷ answered queue calls; no sample while nothing was answered."""
    return f"{select('convoso_queue_dropped_today')} / ({select('convoso_queue_answered_today')} > 0)"


def agents(*matchers: str) -> str:
    """The selected campaigns' and queues' agents in the account's breakdown."""
    return scoped("convoso_agents", *matchers)



def agent_columns(noun: str, names: Callable[[str], str]) -> list[tuple[str, str]]:
    """Agents, logged in and ready per campaign (or queue) from the breakdown, with names."""
    specs = (((), "agents"), ((LOGGED_IN,), "logged in"), (('status="READY"',), "ready"))
    return [(names(f"sum by (job, instance, {noun}_id) ({agents(*matchers)})"), legend) for matchers, legend in specs]


def target_columns(
    noun: str, per_target: Callable[[str], str], exprs: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Per-target figures kept to one kind of target, one row per scope: the only aggregation
    drops the target label (one target per campaign or queue), so the table's rows merge."""
    return [(f"max by (job, instance, {noun}_id, {noun}_name) ({per_target(expr)})", legend) for expr, legend in exprs]


def scope_table(title: str, description: str, noun: str, specs: list[tuple[str, str]]) -> Panel:
    """One row per campaign or queue: the (expr, legend) specs as columns, in order."""
    id_label, name_label = f"{noun}_id", f"{noun}_name"
    targets = queries(*specs, instant=True, fmt="table")
    columns = [(name_label, noun.capitalize()), (id_label, "ID")] + [
        (f"Value #{target['refId']}", HEADINGS[legend]) for target, (_, legend) in zip(targets, specs)
    ]
    return table(
        title,
        description,
        "short",
        targets,
        transformations=merged_columns(columns, ["Time", "job", "instance"]),
        overrides=column_units({"Drop rate today": "percentunit"}),
        sort_by=[{"desc": False, "displayName": noun.capitalize()}],
    )
