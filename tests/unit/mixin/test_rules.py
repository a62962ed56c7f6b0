"""The Prometheus rules, their unit tests and the example Prometheus/Alertmanager configs.

Debian's promtool and amtool check them for real (`check rules`, `test rules`,
`check config`, `check-config`); structural tests hold every alert to the mixin
conventions (severity, summary sentence, templated description, a runbook anchor
that exists), prove every alert has unit tests that fire and that stay quiet, and
prove the committed rules file is exactly what convoso_exporter/mixin/rules.py writes.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from convoso_exporter.mixin import rules
from convoso_exporter.mixin.__main__ import main
from convoso_exporter.mixin.settings import Settings
from tests.support import ROOT

PROM = ROOT / "prometheus"
RULES_FILE = PROM / "convoso.rules.yml"
RULES_TEST_FILE = PROM / "convoso.rules.test.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"
ALERTS_DOC = ROOT / "docs" / "alerts.md"
RUNBOOK_BASE = "https://github.com/convoso-exporter/convoso-exporter/blob/main/docs/runbook.md#"
REQUIRED_ALERTS = {
    "ConvosoDropRateCritical",
    "ConvosoDropRateWarning",
    "ConvosoDropBurst",
    "ConvosoNoAgentReady",
    "ConvosoTargetDown",
    "ConvosoDataStale",
    "ConvosoExporterDown",
    "ConvosoAuthFailing",
}


RULES = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
ALERTS = [rule for group in RULES["groups"] for rule in group["rules"] if "alert" in rule]
RECORDS = [rule for group in RULES["groups"] for rule in group["rules"] if "record" in rule]
UNIT_TESTS = yaml.safe_load(RULES_TEST_FILE.read_text(encoding="utf-8"))["tests"]


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    anchors = set()
    for line in markdown.splitlines():
        if match := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line):
            text = re.sub(r"[^\w\- ]", "", match[1].lower())
            anchors.add(text.replace(" ", "-"))
    return anchors




# ---------------------------------------------------------------- conventions


def test_the_required_alerts_exist_with_the_common_prefix():
    names = [rule["alert"] for rule in ALERTS]
    assert len(names) == len(set(names))
    assert REQUIRED_ALERTS <= set(names)
    for name in names:
        assert re.fullmatch(r"Convoso(?:[A-Z][a-z]+)+", name), name


@pytest.mark.parametrize("rule", ALERTS, ids=[rule["alert"] for rule in ALERTS])
def test_alert_has_severity_summary_description_and_runbook(rule):
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    annotations = rule["annotations"]
    summary = annotations["summary"]
    assert summary[0].isupper() and summary.endswith(".") and "{{" not in summary
    assert "$labels." in annotations["description"], "the description names the target/instance"
    assert annotations["runbook_url"] == RUNBOOK_BASE + rule["alert"].lower()
    assert rule["alert"].lower() in github_anchors(RUNBOOK.read_text(encoding="utf-8"))
    assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["for"]


def test_every_alert_is_explained_in_docs_alerts_md():
    text = ALERTS_DOC.read_text(encoding="utf-8")
    for rule in ALERTS:
        assert f"`{rule['alert']}`" in text, rule["alert"]


def test_docs_alerts_md_shows_each_alerts_expression_as_generated():
    text = ALERTS_DOC.read_text(encoding="utf-8")
    for rule in ALERTS:
        assert f"| `{rule['alert']}` | `{' '.join(rule['expr'].split())}` |" in text, rule["alert"]


def test_recording_rules_follow_level_metric_operations_and_are_used_or_tested():
    tested = {case["expr"] for test in UNIT_TESTS for case in test.get("promql_expr_test", [])}
    for rule in RECORDS:
        assert re.fullmatch(r"convoso:[a-z0-9_]+:[a-z0-9_]+", rule["record"]), rule["record"]
        assert rule["record"] in tested, f"{rule['record']} has no promql_expr_test"


def test_every_alert_has_unit_tests_that_fire_and_that_stay_quiet():
    firing: dict[str, list[dict]] = {}
    quiet: set[str] = set()
    for test in UNIT_TESTS:
        for case in test.get("alert_rule_test", []):
            if case.get("exp_alerts"):
                firing.setdefault(case["alertname"], []).extend(case["exp_alerts"])
            else:
                quiet.add(case["alertname"])
    for rule in ALERTS:
        name = rule["alert"]
        assert name in quiet, f"{name}: no case where it stays quiet"
        assert name in firing, f"{name}: no case where it fires"
        for expected in firing[name]:
            assert expected["exp_labels"]["severity"] == rule["labels"]["severity"]
            assert set(expected["exp_annotations"]) == {"summary", "description", "runbook_url"}


def test_campaign_alerts_judge_campaign_targets_only_and_name_the_campaign():
    """The legal unit is the campaign: the drop-rate and no-agent alerts (and the recording
    rules they read) keep to campaign targets and carry the campaign's id and name."""
    records = {rule["record"]: rule["expr"] for rule in RECORDS}
    campaign_groups = {"convoso.calls", "convoso.agents"}
    for group in RULES["groups"]:
        for rule in group["rules"]:
            if group["name"] not in campaign_groups or "alert" not in rule:
                continue
            used = [rule["expr"]] + [expr for name, expr in records.items() if name in rule["expr"]]
            assert any('convoso_target_info{kind="campaign"}' in expr for expr in used), rule["alert"]
            assert "$labels.campaign_name" in rule["annotations"]["description"], rule["alert"]
            assert "$labels.campaign_id" in rule["annotations"]["description"], rule["alert"]
    for name, expr in records.items():
        if "queue_dropped_today" in expr or "queue_answered_today" in expr:
            campaign_targets = 'group_left (campaign_id, campaign_name) convoso_target_info{kind="campaign"}'
            assert expr.rstrip().endswith(campaign_targets), name


# ---------------------------------------------------------------- the generator


def test_committed_rules_are_what_the_generator_writes():
    assert rules.render(Settings()) == RULES_FILE.read_text(encoding="utf-8"), (
        "prometheus/convoso.rules.yml is stale: run python -m convoso_exporter.mixin"
    )


def test_the_header_says_how_the_file_is_generated():
    first, second = RULES_FILE.read_text(encoding="utf-8").splitlines()[:2]
    assert first == (
        "# Generated by `python -m convoso_exporter.mixin` (convoso_exporter/mixin/rules.py); "
        "edit that, not this file."
    )
    assert "convoso_exporter/mixin/settings.py" in second


def alert_named(groups: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [r for g in groups["groups"] for r in g["rules"] if r.get("alert") == name]
    return found


def test_a_threshold_changed_once_changes_expression_summary_and_description():
    groups = yaml.safe_load(rules.render(Settings(drop_rate_critical=0.05, min_answered_today=250)))
    critical = alert_named(groups, "ConvosoDropRateCritical")
    assert "> 0.05" in critical["expr"] and ">= 250" in critical["expr"]
    assert "5%" in critical["annotations"]["summary"] and "5%" in critical["annotations"]["description"]
    assert ">= 250" in alert_named(groups, "ConvosoDropRateWarning")["expr"]


def test_the_burst_window_renames_its_recording_rules(tmp_path):
    out = tmp_path / rules.PATH
    assert main(["--set", "burst_window=30s", "--set", "drop_rate_for=1s", "--output-dir", str(tmp_path)]) == 0
    groups = yaml.safe_load(out.read_text())
    records = {r["record"] for g in groups["groups"] for r in g["rules"] if "record" in r}
    assert "convoso:campaign_queue_dropped_today:increase30s" in records
    burst = alert_named(groups, "ConvosoDropBurst")
    assert "increase30s" in burst["expr"] and "last 30s" in burst["annotations"]["summary"]
    assert alert_named(groups, "ConvosoDropRateCritical")["for"] == "1s"


def test_the_job_selector_is_one_setting():
    groups = yaml.safe_load(rules.render(Settings(job_selector='job=~"convoso.*"')))
    assert alert_named(groups, "ConvosoExporterDown")["expr"].count('up{job=~"convoso.*"}') == 2


# ---------------------------------------------------------------- example configs


def test_example_prometheus_scrapes_the_job_the_alerts_watch():
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "convoso"]
    assert Settings().job_selector == f'job="{job["job_name"]}"'
    assert job["static_configs"][0]["targets"] == ["localhost:10717"]
    assert job["scrape_interval"] == "15s"
    assert config["rule_files"] == ["convoso.rules.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["localhost:9093"]


def test_example_alertmanager_groups_by_target_and_lets_critical_silence_warning():
    config = yaml.safe_load((PROM / "alertmanager.yml").read_text())
    assert set(config["route"]["group_by"]) == {"alertname", "target"}
    (inhibit,) = config["inhibit_rules"]
    assert inhibit["source_matchers"] == ['severity="critical"']
    assert inhibit["target_matchers"] == ['severity="warning"']
    assert "target" in inhibit["equal"]
    (receiver,) = config["receivers"]
    assert receiver["webhook_configs"][0]["send_resolved"] is True
