"""`python -m convoso_exporter.mixin` (convoso_exporter/mixin/__main__.py): write, --check, --set.

`test_the_committed_files_are_fresh` is how CI proves every committed generated file is
exactly what the generators write. The other tests work on temp output folders and never
touch the repository's files.
"""

from __future__ import annotations

import json

import pytest
import yaml

from convoso_exporter.mixin import dashboards, kubernetes, rules
from convoso_exporter.mixin.__main__ import default_output_dir, generate, main
from convoso_exporter.mixin.settings import Settings
from tests.support import ROOT

GENERATED = sorted(file.path for file in generate(Settings()))


def test_every_generated_file_is_committed():
    assert GENERATED == sorted(
        [
            "prometheus/convoso.rules.yml",
            "deploy/kubernetes/base/prometheusrule.yaml",
            "deploy/kubernetes/base/grafana-dashboards.yaml",
            "grafana/dashboards/convoso-overview.json",
            "grafana/dashboards/convoso-agents.json",
            "grafana/dashboards/convoso-compliance.json",
            "grafana/dashboards/convoso-exporter.json",
        ]
    )
    for path in GENERATED:
        assert (ROOT / path).is_file(), path


def test_the_committed_files_are_fresh(capsys):
    assert default_output_dir() == ROOT
    assert main(["--check"]) == 0, capsys.readouterr().err
    assert capsys.readouterr().err == ""


def test_check_names_each_stale_file_and_writing_mends_it(tmp_path, capsys):
    assert main(["--output-dir", str(tmp_path)]) == 0
    assert sorted(capsys.readouterr().out.splitlines()) == sorted(f"wrote {path}" for path in GENERATED)
    manifest = tmp_path / kubernetes.PATH
    manifest.write_text(manifest.read_text() + "# edited by hand\n")
    (tmp_path / dashboards.FOLDER / "convoso-agents.json").unlink()

    assert main(["--check", "--output-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"convoso_exporter.mixin: {kubernetes.PATH} is stale: run python -m convoso_exporter.mixin",
        "convoso_exporter.mixin: grafana/dashboards/convoso-agents.json is stale: run python -m convoso_exporter.mixin",
    ]
    assert "# edited by hand" in manifest.read_text(), "--check wrote a file"

    assert main(["--output-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {kubernetes.PATH}",
        "wrote grafana/dashboards/convoso-agents.json",
    ]
    assert main(["--check", "--output-dir", str(tmp_path)]) == 0


def threshold_steps(board: dict, title: str) -> list:
    (panel,) = [p for p in board["panels"] if p["title"] == title]
    return [step["value"] for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_set_changes_rules_prometheusrule_and_dashboards_together(tmp_path):
    sets = ["drop_rate_critical=0.05", "drop_rate_warning=0.04", "stale_after=20m", "burst_window=30m"]
    assert main(["--output-dir", str(tmp_path), *(arg for s in sets for arg in ("--set", s))]) == 0
    groups = yaml.safe_load((tmp_path / rules.PATH).read_text())["groups"]
    alerts = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    assert alerts["ConvosoDropRateCritical"]["expr"].startswith("convoso:campaign_drop_rate_today:ratio > 0.05\n")
    assert alerts["ConvosoDropRateWarning"]["expr"].startswith("convoso:campaign_drop_rate_today:ratio > 0.04\n")
    assert "> 1200" in alerts["ConvosoDataStale"]["expr"]
    assert "increase30m" in alerts["ConvosoDropBurst"]["expr"]
    assert yaml.safe_load((tmp_path / kubernetes.PATH).read_text())["spec"]["groups"] == groups

    folder = tmp_path / dashboards.FOLDER
    overview = json.loads((folder / "convoso-overview.json").read_text())
    assert threshold_steps(overview, "Drop rate today") == [None, 0.04, 0.05]
    assert threshold_steps(overview, "Drop rate today against the 5% line") == [None, 0.04, 0.05]
    assert [p for p in overview["panels"] if p["title"] == "Drops in the last 30m"]
    exporter = json.loads((folder / "convoso-exporter.json").read_text())
    assert threshold_steps(exporter, "Data age") == [None, 600, 1200]

    assert main(["--check", "--output-dir", str(tmp_path), *(arg for s in sets for arg in ("--set", s))]) == 0
    assert main(["--check", "--output-dir", str(tmp_path)]) == 1


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
        ("drop_rate_30d_warning=0.03", "drop_rate_30d_warning: must be below drop_rate_30d_critical"),
        ("tile_window=7m", "tile_window: must be shorter than a day and divide it evenly"),
        ("tile_window=0s", "tile_window: must be longer than 0"),
        ("drop_pace_days=0", "drop_pace_days: 0 must be at least 1"),
    ],
)
def test_bad_settings_get_one_clear_line(override, message, capsys, tmp_path):
    assert main(["--set", override, "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("convoso_exporter.mixin: ") and message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir()), "a file was written despite the bad setting"


