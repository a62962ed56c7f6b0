"""The alerts' shared shape (convoso_exporter/mixin/alerting.py): severity, a plain summary,
a description naming the campaign by name (by id when it has none), a runbook anchor, and
the join that keeps an expression to the campaign targets.

The descriptions are Prometheus (Go) templates; `render` below does what Prometheus does
with the few constructs the mixin uses, so a test can read the sentence an on-call sees.
"""

from __future__ import annotations

import re

import pytest

from convoso_exporter.mixin import rules
from convoso_exporter.mixin.alerting import CAMPAIGN, CAMPAIGN_INFO, CAMPAIGN_NAME, WHERE, alert, per_campaign
from convoso_exporter.mixin.settings import Settings

WITH_RE = re.compile(r"\{\{ with \$labels\.(\w+) \}\}(.*?)(?:\{\{ else \}\}(.*?))?\{\{ end \}\}", re.DOTALL)
ACTION_RE = re.compile(r"\{\{ (\$labels\.\w+|\$value(?: \| \w+)?) \}\}")
# `if eq` on a label, whose branches hold no other action (the 30-day alerts' basis).
PLAIN = r"((?:(?!\{\{).)*)"  # text without an action
IF_RE = re.compile(rf'\{{\{{ if eq \$labels\.(\w+) "([^"]*)" \}}\}}{PLAIN}\{{\{{ else \}}\}}{PLAIN}\{{\{{ end \}}\}}')
RUNBOOK = "https://github.com/convoso-exporter/convoso-exporter/blob/main/docs/runbook.md#"
SALES = {
    "campaign_id": "1001",
    "campaign_name": "Sales",
    "instance": "a:10717",
    "job": "convoso",
    "target": "campaign:1001",
}
# The groups whose alerts judge a campaign (the others are per target or per exporter).
CAMPAIGN_GROUPS = {"convoso.calls", "convoso.agents", "convoso.compliance"}
GROUPS = rules.rule_groups(Settings())["groups"]
ALERTS = [(group["name"], rule) for group in GROUPS for rule in group["rules"] if "alert" in rule]


def render(template: str, labels: dict[str, str], value: float = 0.0) -> str:
    """A Prometheus alert template as Prometheus fills it in: `with`/`else`/`end` on a label
    (`.` is the label inside), `if eq $labels.x "v"`/`else`/`end` around plain text,
    `$labels.x`, `$value` and `$value | humanizePercentage`."""

    def if_block(match: re.Match[str]) -> str:
        return match[3] if labels.get(match[1], "") == match[2] else match[4]

    def with_block(match: re.Match[str]) -> str:
        label_value = labels.get(match[1], "")
        if label_value:
            return match[2].replace("{{ . }}", label_value)
        return match[3] or ""

    def action(match: re.Match[str]) -> str:
        name = match[1]
        if name.startswith("$labels."):
            return labels.get(name.removeprefix("$labels."), "")
        if name == "$value | humanizePercentage":
            return f"{value * 100:.4g}%"
        assert name == "$value", f"no rendering for {{{{ {name} }}}}"
        return f"{value:g}"

    text = ACTION_RE.sub(action, WITH_RE.sub(with_block, IF_RE.sub(if_block, template)))
    assert "{{" not in text and "}}" not in text, f"unrendered template left in {text!r}"
    return text


def test_render_fills_in_labels_values_and_with_blocks():
    labels = {"a": "x"}
    assert render("{{ with $labels.a }}<{{ . }}>{{ else }}none{{ end }} {{ $labels.a }}", labels) == "<x> x"
    assert render("{{ with $labels.b }}<{{ . }}>{{ else }}none{{ end }}", labels) == "none"
    assert render("{{ with $labels.b }}<{{ . }}>{{ end }}!", labels) == "!"
    assert render("{{ $value | humanizePercentage }} {{ $value }}", {}, 0.035) == "3.5% 0.035"
    either = '{{ if eq $labels.a "x" }}yes{{ else }}no{{ end }}, {{ with $labels.a }}{{ . }}{{ end }}'
    assert render(either, labels) == "yes, x"
    assert render(either, {"a": "y"}) == "no, y"


# ---------------------------------------------------------------- the shapes


def test_an_alert_has_severity_summary_description_and_a_runbook_anchor():
    rule = alert(Settings(), "ConvosoSomethingBroke", "x > 1", "5m", "warning", "Something broke.", "It did.")
    assert rule == {
        "alert": "ConvosoSomethingBroke",
        "expr": "x > 1",
        "for": "5m",
        "labels": {"severity": "warning"},
        "annotations": {
            "summary": "Something broke.",
            "description": "It did.",
            "runbook_url": RUNBOOK + "convososomethingbroke",
        },
    }


def test_the_runbook_base_is_a_setting():
    settings = Settings(runbook_base="https://wiki.example/runbook")
    rule = alert(settings, "ConvosoX", "x", "1m", "critical", "S.", "D.")
    assert rule["annotations"]["runbook_url"] == "https://wiki.example/runbook#convosox"


def test_a_campaign_is_named_by_name_and_id_or_by_id_alone():
    assert render(CAMPAIGN_NAME, SALES) == "Campaign Sales (1001)"
    assert render(CAMPAIGN, SALES) == "Campaign Sales (1001) on a:10717"
    unnamed = {key: value for key, value in SALES.items() if key != "campaign_name"}
    assert render(CAMPAIGN, unnamed) == "Campaign 1001 on a:10717"
    assert render(CAMPAIGN, {**SALES, "campaign_name": ""}) == "Campaign 1001 on a:10717"


def test_a_target_is_named_with_its_exporter():
    assert render(WHERE, {"target": "queue:77", "instance": "b:10717"}) == "queue:77 on b:10717"


def test_per_campaign_keeps_the_value_and_adds_the_campaign_on_a_line_of_its_own():
    assert CAMPAIGN_INFO == 'convoso_target_info{kind="campaign"}'
    assert per_campaign("convoso_queue_dropped_today") == (
        "convoso_queue_dropped_today\n"
        '* on (job, instance, target) group_left (campaign_id, campaign_name) convoso_target_info{kind="campaign"}'
    )
    assert per_campaign("a / (b > 0)") == (
        "(a / (b > 0))\n"
        '* on (job, instance, target) group_left (campaign_id, campaign_name) convoso_target_info{kind="campaign"}'
    )


# ---------------------------------------------------------------- every alert built here


@pytest.mark.parametrize(("group", "rule"), ALERTS, ids=[rule["alert"] for _, rule in ALERTS])
def test_every_alert_waits_has_a_severity_a_plain_summary_and_a_runbook(group, rule):
    assert re.fullmatch(r"\d+(ms|s|m|h)", rule["for"]) and rule["for"] != "0s", rule["for"]
    assert rule["labels"] == {"severity": rule["labels"]["severity"]}
    assert rule["labels"]["severity"] in {"critical", "warning"}
    summary = rule["annotations"]["summary"]
    assert summary[0].isupper() and summary.endswith(".") and "{{" not in summary
    assert rule["annotations"]["runbook_url"] == RUNBOOK + rule["alert"].lower()
    assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}


@pytest.mark.parametrize(
    ("group", "rule"),
    [(group, rule) for group, rule in ALERTS if group in CAMPAIGN_GROUPS],
    ids=[rule["alert"] for group, rule in ALERTS if group in CAMPAIGN_GROUPS],
)
def test_every_campaign_alert_names_the_campaign_by_name_in_its_description(group, rule):
    description = rule["annotations"]["description"]
    for basis in ("live", "answered"):  # the 30-day alerts' label; the others have none
        named = render(description, {**SALES, "basis": basis}, 0.04)
        assert named.startswith("Campaign Sales (1001) "), named
        unnamed = render(description, {**SALES, "basis": basis, "campaign_name": ""}, 0.04)
        assert unnamed.startswith("Campaign 1001 "), unnamed
        assert named.endswith("."), named


def test_the_campaign_alerts_read_in_full():
    descriptions = {rule["alert"]: rule["annotations"]["description"] for _, rule in ALERTS}
    assert render(descriptions["ConvosoDropRateCritical"], SALES, 0.0412) == (
        "Campaign Sales (1001) on a:10717 has dropped 4.12% of the calls answered today, over the limit of 3%."
    )
    assert render(descriptions["ConvosoDropRate30dCritical"], {**SALES, "basis": "answered"}, 0.031) == (
        "Campaign Sales (1001) in job convoso has dropped 3.1% of the calls answered in the last 30 days "
        "(or since the rules were deployed, if less), over the limit of 3%. Basis: answered, dropped ÷ the "
        "calls Convoso counts as answered (not documented to count live people only), because this campaign "
        "has no current live-human figures (or under 100 live-human calls in 30 days)."
    )
    assert render(descriptions["ConvosoDropRate30dCritical"], {**SALES, "basis": "live"}, 0.031) == (
        "Campaign Sales (1001) in job convoso has dropped 3.1% of the calls a live person answered in the "
        "last 30 days (or since its live-human figures began, if less), over the limit of 3%. Basis: "
        "live-human, dropped ÷ (calls a live person answered and an agent handled + dropped), from "
        "Convoso's agent-performance figures."
    )
    assert render(descriptions["ConvosoNoAgentReady"], SALES, 250) == (
        "Campaign Sales (1001) on a:10717 has 250 leads to dial and agents logged in, but no agent "
        "has been READY for 10m."
    )


def test_the_exporter_alerts_name_the_target_or_the_exporter():
    descriptions = {rule["alert"]: rule["annotations"]["description"] for _, rule in ALERTS}
    target = {"target": "account", "instance": "a:10717", "job": "convoso"}
    assert render(descriptions["ConvosoTargetDown"], target).startswith(
        "Polls of account on a:10717 have failed for 5m"
    )
    assert render(descriptions["ConvosoExporterDown"], target).startswith(
        "Prometheus has not scraped the Convoso exporter at a:10717 for 5m;"
    )
    # absent(up{...}) carries no instance: the sentence still reads.
    assert render(descriptions["ConvosoExporterDown"], {"job": "convoso"}).startswith(
        "Prometheus has not scraped the Convoso exporter for 5m;"
    )
