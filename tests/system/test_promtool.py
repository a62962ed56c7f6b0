"""Debian's promtool and amtool check what we ship, as real processes: the rules
(`check rules`, `test rules`, also as generated with fast settings), the example
Prometheus and Alertmanager configs, every dashboard query (as PromQL), and the
exposition itself (`check metrics`).

The structural checks of the same files run in-process under tests/unit/.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from convoso_exporter.mixin import rules
from convoso_exporter.mixin.__main__ import main
from tests.dashboard_queries import substitute_variables
from tests.support import ROOT, require_binary
from tests.unit.expose.support import INFO, NOW, api_stats, hostile_states, renderer
from tests.unit.mixin.test_dashboards import QUERIES, VARIABLE_EXPRS
from tests.unit.mixin.test_rules import ALERTS, BASIS_TEST_FILES, PROM, RECORDS, RULE_TEST_FILES, RULES_FILE

pytestmark = pytest.mark.prometheus


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, cwd=ROOT)


# ---------------------------------------------------------------- rules and configs


def test_promtool_check_rules():
    result = run(require_binary("promtool"), "check", "rules", str(RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(ALERTS) + len(RECORDS)} rules found" in result.stdout


@pytest.mark.parametrize("path", RULE_TEST_FILES, ids=[path.name for path in RULE_TEST_FILES])
def test_promtool_unit_tests_pass(path):
    result = run(require_binary("promtool"), "test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("basis", sorted(BASIS_TEST_FILES))
def test_promtool_unit_tests_of_each_basis_setting_pass(tmp_path, basis):
    """The rules generated with drop_rate_30d_basis=live (answered), their cases beside them."""
    assert main(["--output-dir", str(tmp_path), "--set", f"drop_rate_30d_basis={basis}"]) == 0
    test_file = shutil.copy(BASIS_TEST_FILES[basis], tmp_path / "prometheus")
    result = run(require_binary("promtool"), "test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_config_of_the_example_prometheus_yml():
    result = run(require_binary("promtool"), "check", "config", str(PROM / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_check_config_of_the_example_alertmanager_yml():
    result = run(require_binary("amtool"), "check-config", str(PROM / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_generated_with_fast_settings_are_valid(tmp_path):
    """What the end-to-end test does: short `for`s and a small guard, still valid rules."""
    out = tmp_path / rules.PATH
    settings = ["drop_rate_for=0s", "burst_window=1m", "min_answered_today=1", "auth_for=0s", "tile_window=5s"]
    assert main(["--output-dir", str(tmp_path), *(arg for s in settings for arg in ("--set", s))]) == 0
    result = run(require_binary("promtool"), "check", "rules", str(out))
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- dashboards


def test_every_query_parses_as_promql(tmp_path):
    promtool = require_binary("promtool")
    rules = {
        "groups": [
            {
                "name": "dashboard-queries",
                "rules": [
                    {"record": f"dashboard:query_{index}", "expr": substitute_variables(expr)}
                    for index, expr in enumerate([expr for _, _, expr in QUERIES] + VARIABLE_EXPRS)
                ],
            }
        ]
    }
    path = tmp_path / "queries.rules.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = run(promtool, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(QUERIES) + len(VARIABLE_EXPRS)} rules found" in result.stdout


# ---------------------------------------------------------------- the exposition


def test_promtool_check_metrics_is_clean():
    promtool = require_binary("promtool")
    body = renderer(process_metrics=True).render(hostile_states(), api_stats(), NOW, INFO).body
    done = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout + done.stderr == b""
