"""What every rule group shares: the alert's shape, how a description names a campaign,
and the join that keeps a per-target expression to the campaign targets.

`rules` (today's figures, agents, the exporter's health) and `compliance` (the 30-day
drop rate) both build their alerts here, so every alert carries the same annotations.
"""

from __future__ import annotations

from typing import Any

from convoso_exporter.mixin.promql import CAMPAIGN_LABELS, ON_TARGET, join, selector
from convoso_exporter.mixin.settings import Settings

Rule = dict[str, Any]

WHERE = "{{ $labels.target }} on {{ $labels.instance }}"
# A campaign by name and id (by id alone when the API sent no name).
CAMPAIGN_NAME = (
    "Campaign {{ with $labels.campaign_name }}{{ . }} ({{ $labels.campaign_id }})"
    "{{ else }}{{ $labels.campaign_id }}{{ end }}"
)
CAMPAIGN = CAMPAIGN_NAME + " on {{ $labels.instance }}"
CAMPAIGN_INFO = selector("convoso_target_info", 'kind="campaign"')


def per_campaign(expr: str) -> str:
    """A per-target expression kept to the campaign targets, with campaign_id and campaign_name
    (the join on a line of its own)."""
    return join(expr, ON_TARGET, CAMPAIGN_INFO, CAMPAIGN_LABELS).replace(" * on ", "\n* on ", 1)


def alert(s: Settings, name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> Rule:
    """One alert in the mixin's shape: severity, summary, description and a runbook anchor."""
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{s.runbook_base}#{name.lower()}",
        },
    }
