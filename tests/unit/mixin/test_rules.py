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
# The 30-day drop rate's tests: evaluated every tile_window (promtool ignores group intervals).
COMPLIANCE_TEST_FILE = PROM / "convoso.compliance.test.yml"
RULE_TEST_FILES = (RULES_TEST_FILE, COMPLIANCE_TEST_FILE)
# The 30-day alerts under the other values of drop_rate_30d_basis: run against rules generated
# with that setting (tests/system/test_promtool.py).
BASIS_TEST_FILES = {
    basis: ROOT / "tests" / "fixtures" / "promtool" / f"convoso.compliance.{basis}.test.yml"
    for basis in ("live", "answered")
}
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
    "ConvosoDropRate30dCritical",
    "ConvosoDropRate30dWarning",
}


RULES = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
ALERTS = [rule for group in RULES["groups"] for rule in group["rules"] if "alert" in rule]
RECORDS = [rule for group in RULES["groups"] for rule in group["rules"] if "record" in rule]
UNIT_TESTS = [test for path in RULE_TEST_FILES for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]]


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
        # CamelCase words, and a window where one belongs (ConvosoDropRate30dCritical).
        assert re.fullmatch(r"Convoso(?:[A-Z][a-z]+|\d+[a-z]?(?=[A-Z]))+", name), name


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


def firing_and_quiet(tests: list[dict]) -> tuple[dict[str, list[dict]], set[str]]:
    """alert -> the alerts its cases expect to fire; the alerts with a case that stays quiet."""
    firing: dict[str, list[dict]] = {}
    quiet: set[str] = set()
    for test in tests:
        for case in test.get("alert_rule_test", []):
            if case.get("exp_alerts"):
                firing.setdefault(case["alertname"], []).extend(case["exp_alerts"])
            else:
                quiet.add(case["alertname"])
    return firing, quiet


def test_every_alert_has_unit_tests_that_fire_and_that_stay_quiet():
    firing, quiet = firing_and_quiet(UNIT_TESTS)
    for rule in ALERTS:
        name = rule["alert"]
        assert name in quiet, f"{name}: no case where it stays quiet"
        assert name in firing, f"{name}: no case where it fires"
        for expected in firing[name]:
            assert expected["exp_labels"]["severity"] == rule["labels"]["severity"]
            assert set(expected["exp_annotations"]) == {"summary", "description", "runbook_url"}


def read_records(expr: str, records: dict[str, str]) -> list[str]:
    """The expressions of the recording rules `expr` reads, and of those they read, and so on."""
    found: list[str] = []
    todo = [expr]
    while todo:
        for name in re.findall(r"convoso:[a-z0-9_]+:[a-z0-9_]+", todo.pop()):
            if name in records and records[name] not in found:
                found.append(records[name])
                todo.append(records[name])
    return found


def test_campaign_alerts_judge_campaign_targets_only_and_name_the_campaign():
    """The legal unit is the campaign: the drop-rate and no-agent alerts (and the recording
    rules they read) keep to campaign targets and carry the campaign's id and name."""
    records = {rule["record"]: rule["expr"] for rule in RECORDS}
    campaign_groups = {"convoso.calls", "convoso.agents", "convoso.compliance"}
    for group in RULES["groups"]:
        for rule in group["rules"]:
            if group["name"] not in campaign_groups or "alert" not in rule:
                continue
            used = [rule["expr"]] + read_records(rule["expr"], records)
            assert any('convoso_target_info{kind="campaign"}' in expr for expr in used), rule["alert"]
            assert "$labels.campaign_name" in rule["annotations"]["description"], rule["alert"]
            assert "$labels.campaign_id" in rule["annotations"]["description"], rule["alert"]
    for name, expr in records.items():
        if "queue_dropped_today" in expr or "queue_answered_today" in expr:
            campaign_targets = 'group_left (campaign_id, campaign_name) convoso_target_info{kind="campaign"}'
            assert expr.rstrip().endswith(campaign_targets), name


def test_the_30_day_rules_are_per_job_and_campaign_target_and_tiled_at_their_own_interval():
    """The tiles' group runs every tile_window; everything after them is kept by job and
    campaign target, never by exporter instance (a restarted pod must not cut the 30 days)."""
    groups = {group["name"]: group for group in RULES["groups"]}
    tiles, sums = groups["convoso.compliance.tiles"], groups["convoso.compliance"]
    assert tiles["interval"] == Settings().tile_window
    assert all("interval" not in group for name, group in groups.items() if name != "convoso.compliance.tiles")
    for rule in tiles["rules"]:
        assert rule["expr"].startswith("sum by (job, target, campaign_id) (")
    for rule in sums["rules"]:
        assert "instance" not in rule["expr"].replace("on (job, instance, target)", ""), rule.get("record")
        assert "on (job, target)" in rule["expr"] or "sum_over_time" not in rule["expr"]
    compliance_tests = yaml.safe_load(COMPLIANCE_TEST_FILE.read_text(encoding="utf-8"))
    assert compliance_tests["evaluation_interval"] == Settings().tile_window
    assert compliance_tests["group_eval_order"] == ["convoso.compliance.tiles", "convoso.compliance"]


def test_the_30_day_thresholds_are_settings():
    groups = yaml.safe_load(rules.render(Settings(drop_rate_30d_critical=0.025, drop_rate_30d_warning=0.02,
                                                  min_answered_30d=500, drop_pace_days=3, tile_window="30m")))
    critical = alert_named(groups, "ConvosoDropRate30dCritical")
    warning = alert_named(groups, "ConvosoDropRate30dWarning")
    assert "> 0.025\n" in critical["expr"]
    assert "> 0.02\n" in warning["expr"] and "* 3 >" in warning["expr"]
    assert "2.5%" in critical["annotations"]["summary"] and "within 3 days" in warning["annotations"]["description"]
    records = {r["record"]: r["expr"] for g in groups["groups"] for r in g["rules"] if "record" in r}
    assert records["convoso:campaign_drop_headroom_30d:calls"].startswith("0.025 * ")
    assert records["convoso:campaign_drop_headroom_30d_live:calls"].startswith("0.025 / 0.975 * ")
    # The guard is the basis's: each campaign is judged once it has 500 calls on it.
    assert records["convoso:campaign_drop_rate_30d_basis:info"].count(" >= 500\n") == 2
    assert "present_over_time(convoso:campaign_live_answered:increase30m[1h])" in records[
        "convoso:campaign_drop_rate_30d_basis:info"
    ]
    assert "convoso:campaign_queue_dropped:increase30m" in records
    assert "sum_over_time(convoso:campaign_queue_dropped:increase30m[30d])" in records[
        "convoso:campaign_queue_dropped:increase30d"
    ]


@pytest.mark.parametrize(
    ("basis", "judged", "extra"),
    [("auto", ["live", "answered"], []), ("live", ["live"], ["ConvosoDropRate30dLiveMissing"]),
     ("answered", ["answered"], [])],
)
def test_the_basis_setting_chooses_what_the_30_day_alerts_judge(basis, judged, extra):
    groups = yaml.safe_load(rules.render(Settings(drop_rate_30d_basis=basis)))
    (compliance,) = [g for g in groups["groups"] if g["name"] == "convoso.compliance"]
    alerts = [r["alert"] for r in compliance["rules"] if "alert" in r]
    assert alerts == ["ConvosoDropRate30dCritical", "ConvosoDropRate30dWarning", *extra]
    for name in ("ConvosoDropRate30dCritical", "ConvosoDropRate30dWarning"):
        expr = alert_named(groups, name)["expr"]
        assert re.findall(r'basis="(\w+)"', expr) == judged
    # Both bases' figures are recorded whatever the setting (the dashboards draw both).
    records = {r["record"] for g in groups["groups"] for r in g["rules"] if "record" in r}
    assert {"convoso:campaign_drop_rate_30d:ratio", "convoso:campaign_drop_rate_30d_live:ratio"} <= records


@pytest.mark.parametrize("basis", sorted(BASIS_TEST_FILES))
def test_each_basis_setting_has_cases_for_its_30_day_alerts_that_fire_and_stay_quiet(basis):
    tests = yaml.safe_load(BASIS_TEST_FILES[basis].read_text(encoding="utf-8"))
    assert tests["rule_files"] == ["convoso.rules.yml"] and tests["evaluation_interval"] == Settings().tile_window
    firing, quiet = firing_and_quiet(tests["tests"])
    groups = rules.rule_groups(Settings(drop_rate_30d_basis=basis))["groups"]
    (compliance,) = [g for g in groups if g["name"] == "convoso.compliance"]
    for rule in (r for r in compliance["rules"] if "alert" in r):
        assert rule["alert"] in firing and rule["alert"] in quiet, rule["alert"]
        for expected in firing[rule["alert"]]:
            assert expected["exp_labels"]["severity"] == rule["labels"]["severity"]
            assert set(expected["exp_annotations"]) == {"summary", "description", "runbook_url"}


def test_the_live_only_alert_has_a_runbook_entry_and_a_row_in_docs_alerts_md():
    """It is not in the shipped (auto) rules, so the tests above do not see it."""
    name = "ConvosoDropRate30dLiveMissing"
    assert name.lower() in github_anchors(RUNBOOK.read_text(encoding="utf-8"))
    assert f"| `{name}` |" in ALERTS_DOC.read_text(encoding="utf-8")


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
