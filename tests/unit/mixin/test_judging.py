"""Which basis the 30-day alerts judge each campaign on, and the alerts
(convoso_exporter/mixin/judging.py).

What PromQL evaluates to is promtool's business (prometheus/convoso.compliance.test.yml for
auto, tests/fixtures/promtool/ for live and answered, run by tests/system/test_promtool.py);
here, what the rules are made of: the basis record under each setting, the alerts joining
each basis's figures to it, the words that say which basis fired, and the order the group
evaluates them in.
"""

from __future__ import annotations

import re

import pytest

from convoso_exporter.mixin.compliance import (
    EXCESS_1D,
    EXCESS_1D_LIVE,
    HEADROOM,
    HEADROOM_LIVE,
    RATE_30D,
    RATE_30D_LIVE,
    tile_rules,
)
from convoso_exporter.mixin.judging import BASIS, alerts, basis_rule, compliance_rules
from convoso_exporter.mixin.settings import Settings
from tests.unit.mixin.test_alerting import render

DEFAULTS = Settings()
RECORD_NAME_RE = re.compile(r"convoso:[a-z0-9_]+:[a-z0-9_]+")
SALES = {"campaign_id": "1001", "campaign_name": "Sales", "job": "convoso", "target": "campaign:1001"}
LIVE_CHOICE = (
    "label_replace(\n"
    "  group by (job, target, campaign_id, campaign_name) (\n"
    "    convoso:campaign_live_answered:increase30d >= 100{unless}\n"
    "  ),\n"
    '  "basis", "live", "", ""\n'
    ")"
)
UNLESS_STOPPED = (
    "\n    unless on (job, target)\n    (\n"
    "      present_over_time(convoso:campaign_queue_answered:increase15m[30m])\n"
    "      unless on (job, target)\n"
    "      present_over_time(convoso:campaign_live_answered:increase15m[30m])\n    )"
)
ANSWERED_CHOICE = (
    "label_replace(\n"
    "  group by (job, target, campaign_id, campaign_name) (\n"
    "    convoso:campaign_queue_answered:increase30d >= 100\n"
    "  ),\n"
    '  "basis", "answered", "", ""\n'
    ")"
)


def judging(basis: str) -> Settings:
    return Settings(drop_rate_30d_basis=basis)


# ---------------------------------------------------------------- the basis record


def test_auto_judges_live_human_unless_only_its_figures_stopped_else_answered():
    assert basis_rule(DEFAULTS) == {
        "record": BASIS,
        "expr": LIVE_CHOICE.format(unless=UNLESS_STOPPED) + "\nor on (job, target)\n" + ANSWERED_CHOICE,
    }


@pytest.mark.parametrize(("basis", "expr"), [("live", LIVE_CHOICE.format(unless="")), ("answered", ANSWERED_CHOICE)])
def test_live_and_answered_judge_every_campaign_on_one_basis(basis, expr):
    assert basis_rule(judging(basis))["expr"] == expr


def test_the_guard_and_the_freshness_follow_the_settings():
    expr = basis_rule(Settings(min_answered_30d=250, tile_window="1h"))["expr"]
    assert expr.count(" >= 250\n") == 2 and ">= 100" not in expr
    assert expr.count(":increase1h[2h])") == 2


# ---------------------------------------------------------------- the alerts


def alert_named(settings: Settings, name: str) -> dict:
    (found,) = [rule for rule in alerts(settings) if rule["alert"] == name]
    return found


def judged(figure: str, basis: str) -> str:
    return f'(\n{figure}\n)\n* on (job, target) group_left (basis)\n{BASIS}{{basis="{basis}"}}'


def test_the_critical_alert_is_each_campaigns_basis_over_the_line():
    rule = alert_named(DEFAULTS, "ConvosoDropRate30dCritical")
    live, answered = judged(f"{RATE_30D_LIVE} > 0.03", "live"), judged(f"{RATE_30D} > 0.03", "answered")
    assert rule["expr"] == f"{live}\nor\n{answered}"
    assert (rule["for"], rule["labels"]) == ("15m", {"severity": "critical"})
    assert rule["annotations"]["summary"] == "A campaign has dropped over 3% of its answered calls in the last 30 days."


def test_the_warning_is_near_the_line_or_heading_there_on_each_campaigns_basis():
    def warned(rate: str, excess: str, headroom: str) -> str:
        return (
            f"{rate} > 0.025\nor on (job, target)\n{rate}\nand on (job, target)\n"
            f"{excess} * 7 > on (job, target) {headroom}"
        )

    rule = alert_named(DEFAULTS, "ConvosoDropRate30dWarning")
    assert rule["expr"] == (
        judged(warned(RATE_30D_LIVE, EXCESS_1D_LIVE, HEADROOM_LIVE), "live")
        + "\nor\n"
        + judged(warned(RATE_30D, EXCESS_1D, HEADROOM), "answered")
    )
    assert (rule["for"], rule["labels"]) == ("15m", {"severity": "warning"})


@pytest.mark.parametrize(("basis", "judged_on"), [("auto", ["live", "answered"]), ("live", ["live"]),
                                                  ("answered", ["answered"])])
def test_the_alerts_judge_only_the_bases_the_setting_allows(basis, judged_on):
    for rule in alerts(judging(basis))[:2]:
        assert re.findall(r'\{basis="(\w+)"\}', rule["expr"]) == judged_on


def test_the_descriptions_say_which_basis_fired_and_what_it_divides_by():
    description = alert_named(DEFAULTS, "ConvosoDropRate30dCritical")["annotations"]["description"]
    live = render(description, {**SALES, "basis": "live"}, 0.0325)
    assert live == (
        "Campaign Sales (1001) in job convoso has dropped 3.25% of the calls a live person answered in the last "
        "30 days (or since its live-human figures began, if less), over the limit of 3%. Basis: live-human, "
        "dropped ÷ (calls a live person answered and an agent handled + dropped), from Convoso's "
        "agent-performance figures."
    )
    answered = render(description, {**SALES, "basis": "answered"}, 0.0325)
    assert answered.endswith(
        "of the calls answered in the last 30 days (or since the rules were deployed, if less), over the limit "
        "of 3%. Basis: answered, dropped ÷ the calls Convoso counts as answered (not documented to count live "
        "people only), because this campaign has no current live-human figures (or under 100 live-human calls "
        "in 30 days)."
    )
    warning = alert_named(DEFAULTS, "ConvosoDropRate30dWarning")["annotations"]["description"]
    assert render(warning, {"campaign_id": "7", "basis": "answered"}, 0.009).startswith(
        "Campaign 7 has dropped 0.9% of the calls answered in the last 30 days: over the warning level of "
        "2.5%, or the last 24 hours' drops over 3% would use up what the 30 days have left within 7 days. "
        "Basis: answered,"
    )


@pytest.mark.parametrize("basis", ["live", "answered"])
def test_one_basis_needs_no_choice_in_the_words(basis):
    for rule in alerts(judging(basis)):
        assert "{{ if" not in rule["annotations"]["description"]
    critical = alert_named(judging(basis), "ConvosoDropRate30dCritical")["annotations"]["description"]
    text = render(critical, {**SALES, "basis": basis}, 0.04)
    if basis == "live":
        assert "of the calls a live person answered" in text and "Basis: live-human," in text
    else:
        assert text.endswith("(not documented to count live people only), as drop_rate_30d_basis says.")


def test_only_live_says_which_campaigns_it_cannot_judge():
    assert [rule["alert"] for rule in alerts(DEFAULTS)] == ["ConvosoDropRate30dCritical", "ConvosoDropRate30dWarning"]
    assert [rule["alert"] for rule in alerts(judging("answered"))] == [
        "ConvosoDropRate30dCritical",
        "ConvosoDropRate30dWarning",
    ]
    missing = alert_named(judging("live"), "ConvosoDropRate30dLiveMissing")
    assert missing["expr"].startswith(
        "(\n  present_over_time(convoso:campaign_queue_answered:increase15m[30m])\n"
        "  unless on (job, target)\n  present_over_time(convoso:campaign_live_answered:increase15m[30m])\n)\n"
        "* on (job, target) group_left (campaign_name)\n"
    )
    assert (missing["for"], missing["labels"]) == ("15m", {"severity": "warning"})
    assert render(missing["annotations"]["description"], SALES).startswith(
        "Campaign Sales (1001) in job convoso has answered-call figures but no live-human ones"
    )


def test_every_number_in_the_30_day_alerts_is_a_setting():
    s = Settings(
        drop_rate_30d_critical=0.04,
        drop_rate_30d_warning=0.035,
        min_answered_30d=500,
        drop_pace_days=3,
        drop_rate_30d_for="1h",
    )
    critical, warning = alert_named(s, "ConvosoDropRate30dCritical"), alert_named(s, "ConvosoDropRate30dWarning")
    assert critical["expr"].count(" > 0.04\n") == 2 and warning["expr"].count(" > 0.035\n") == 2
    assert warning["expr"].count(" * 3 > ") == 2
    assert critical["for"] == warning["for"] == "1h"
    assert "over 4% " in critical["annotations"]["summary"] and "close to 4%," in warning["annotations"]["summary"]
    assert "warning level of 3.5%" in warning["annotations"]["description"]
    assert "within 3 days" in warning["annotations"]["description"]
    assert "under 500 live-human calls" in critical["annotations"]["description"]


# ---------------------------------------------------------------- the group


@pytest.mark.parametrize("basis", ["auto", "live", "answered"])
def test_the_group_records_every_sum_and_the_basis_before_the_alerts_that_read_them(basis):
    """A group evaluates in order: each rule reads only tiles (their own group) or records
    made earlier in this one, so nothing reads a value one evaluation old."""
    s = judging(basis)
    tiles = {rule["record"] for rule in tile_rules(s)}
    made: set[str] = set()
    group = compliance_rules(s)
    for rule in group:
        read = set(RECORD_NAME_RE.findall(rule["expr"]))
        name = rule.get("record") or rule["alert"]
        assert read <= made | tiles, f"{name} reads {read - made - tiles} before it is made"
        if "record" in rule:
            made.add(rule["record"])
    records = [rule["record"] for rule in group if "record" in rule]
    assert records[-1] == BASIS and all("alert" in rule for rule in group[len(records):])
