"""The Prometheus rules, their unit tests and the example Prometheus/Alertmanager configs.

Structural tests hold every alert to the mixin conventions (severity, summary sentence,
templated description, a runbook anchor that exists), prove every alert has unit tests
that fire and that stay quiet, and prove the committed rules file is exactly what
prometheus/generate_rules.py writes. Debian's promtool and amtool check the same files
for real in tests/system/test_promtool.py.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from typing import Any

import pytest
import yaml

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


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_rules", PROM / "generate_rules.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


GEN = load_generator()
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


# ---------------------------------------------------------------- the generator


def test_committed_rules_are_what_the_generator_writes():
    assert GEN.render() == RULES_FILE.read_text(encoding="utf-8"), (
        "prometheus/convoso.rules.yml is stale: run python3 prometheus/generate_rules.py"
    )


def alert_named(groups: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [r for g in groups["groups"] for r in g["rules"] if r.get("alert") == name]
    return found


def test_a_threshold_changed_once_changes_expression_summary_and_description():
    groups = yaml.safe_load(GEN.render(GEN.Settings(drop_rate_critical=0.05, min_answered_today=250)))
    critical = alert_named(groups, "ConvosoDropRateCritical")
    assert "> 0.05" in critical["expr"] and ">= 250" in critical["expr"]
    assert "5%" in critical["annotations"]["summary"] and "5%" in critical["annotations"]["description"]
    assert ">= 250" in alert_named(groups, "ConvosoDropRateWarning")["expr"]


def test_the_burst_window_renames_its_recording_rules(tmp_path):
    out = tmp_path / "rules.yml"
    assert GEN.main(["--set", "burst_window=30s", "--set", "drop_rate_for=1s", "-o", str(out)]) == 0
    groups = yaml.safe_load(out.read_text())
    records = {r["record"] for g in groups["groups"] for r in g["rules"] if "record" in r}
    assert "convoso:queue_dropped_today:increase30s" in records
    burst = alert_named(groups, "ConvosoDropBurst")
    assert "increase30s" in burst["expr"] and "last 30s" in burst["annotations"]["summary"]
    assert alert_named(groups, "ConvosoDropRateCritical")["for"] == "1s"


def test_the_job_selector_is_one_setting():
    groups = yaml.safe_load(GEN.render(GEN.Settings(job_selector='job=~"convoso.*"')))
    assert alert_named(groups, "ConvosoExporterDown")["expr"].count('up{job=~"convoso.*"}') == 2


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("colour=red", "--set colour: unknown setting"),
        ("drop_rate_for", "--set drop_rate_for: expected name=value"),
        ("drop_rate_for=soon", "drop_rate_for: 'soon' is not a Prometheus duration"),
        ("drop_rate_critical=3", "drop_rate_critical: 3.0 must be a ratio between 0 and 1"),
        ("drop_rate_critical=high", "--set drop_rate_critical: 'high' is not a valid float"),
        ("drop_rate_warning=0.04", "drop_rate_warning: must be below drop_rate_critical"),
        ("min_answered_today=0", "min_answered_today: 0 must be at least 1"),
    ],
)
def test_bad_settings_get_one_clear_line(override, message, capsys, tmp_path):
    out = tmp_path / "rules.yml"
    assert GEN.main(["--set", override, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("generate_rules: ") and message in err and err.count("\n") == 1
    assert not out.exists()


# ---------------------------------------------------------------- example configs


def test_example_prometheus_scrapes_the_job_the_alerts_watch():
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "convoso"]
    assert GEN.Settings().job_selector == f'job="{job["job_name"]}"'
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
