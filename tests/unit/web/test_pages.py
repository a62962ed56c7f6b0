"""The landing page and the wallboard document (web/pages.py, web/static/), and the
status tables they share with the dashboards (statuses.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from convoso_exporter import statuses
from convoso_exporter.config.schema import Config, Target, UserActivitySettings
from convoso_exporter.poll.endpoints import Endpoints
from convoso_exporter.mixin import panels
from convoso_exporter.mixin.settings import Settings
from convoso_exporter.poll.state import TargetState
from convoso_exporter.web.board import DROP_RATE_RED
from convoso_exporter.derive.agreement import Gap
from convoso_exporter.web.board import CountCheck
from convoso_exporter.web.pages import counts_line, format_age, landing_page, wallboard_page
from tests.support import ROOT
from tests.unit.web.floor import NOW, drift_report, floor_states, view

STATIC = ROOT / "convoso_exporter" / "web" / "static"


def landing(current=None, **options) -> str:
    options = {"version": "1.2.3-test", "telemetry_path": "/metrics", "series": 3000, "now": NOW, **options}
    return landing_page(current if current is not None else view(), **options)


def rows_of(page: str) -> list[list[str]]:
    """Every table row's cells, tags stripped."""
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", page)
    ]


# --- landing page -----------------------------------------------------------------------


def test_landing_page_links_the_wallboard_the_metrics_and_the_json():
    page = landing()
    for href in ("/wallboard", "/wallboard?tv=1", "/metrics", "/api/v1/snapshot", "/-/healthy", "/-/ready"):
        assert f'<a href="{href}">' in page
    assert "1.2.3-test" in page and "3000 series" in page


def test_landing_page_headline_numbers_per_campaign():
    rows = {row[0]: row[1:] for row in rows_of(landing()) if row and not row[0].startswith(("account", "campaign:"))}
    # logged in, READY, INCALL, PAUSED, WRAP, other, leads, calls, answered, dropped, drop %, figures as of
    assert rows["Whole account"] == ["7", "2", "2", "1", "1", "1", "9,000", "3,000", "1,500", "30", "2.00%", "3s ago"]
    assert rows["Sales (1001)"] == ["4", "2", "1", "1", "0", "0", "6,000", "2,000", "1,000", "40", "4.00% (over 3%)",
                                    "20s ago"]
    assert rows["Renewals (1002)"][:6] == ["3", "0", "1", "0", "1", "1"]  # the LUNCH agent is "other"
    assert rows["Renewals (1002)"][10] == "1.00%"


def test_landing_page_drop_rate_is_red_from_the_line_and_carries_the_note():
    page = landing()
    assert '<td class="num red">4.00% (over 3%)</td>' in page
    assert '<td class="num">1.00%</td>' in page
    assert "not documented" in page and "dropped ÷ answered today" in page
    assert '<a href="/wallboard?campaign=1001">Sales (1001)</a>' in page
    assert '<a href="/wallboard">Whole account</a>' in page


def test_landing_page_says_when_figures_are_stale():
    states = floor_states(account_age=100.0)  # stale after 15 s
    rows = {row[0]: row[1:] for row in rows_of(landing(view(states))) if row}
    assert rows["Whole account"][-1] == "1m 40s ago (stale)"


def test_landing_page_api_budget_and_demo_banner():
    page = landing(view(api_calls_per_minute=64.0, banner='Demo <b>mode</b>: simulated & "fake"'))
    assert "<strong>64.0 API calls per minute</strong>" in page
    assert '<p class="banner">Demo &lt;b&gt;mode&lt;/b&gt;: simulated &amp; &quot;fake&quot;</p>' in page
    assert 'class="banner"' not in landing()


def test_landing_page_targets_say_when_they_were_last_polled():
    states = {
        "sales": TargetState(Target("sales", campaign_id="111"), up=True, attempted=True, last_success=NOW - 12,
                             last_attempt=NOW - 12, last_duration=0.25),
        "main-queue": TargetState(
            Target("main-queue", queue_id="222", skills=("english", "spanish")),
            attempted=True,
            last_success=NOW - 185,
            last_attempt=NOW - 4,
            last_duration=10.0,
            last_error='timeout after 10s <script>alert("x")</script> & more',
        ),
        "everything": TargetState(Target("everything")),
    }
    page = landing(view(states))
    assert ('<tr><td>sales</td><td>campaign_id=111</td><td class="up">up</td><td>12s ago</td>'
            "<td>12s ago, took 0.250 s</td><td></td></tr>") in page
    assert ('<td>queue_id=222 skills=english,spanish</td><td class="down">down</td><td>3m 5s ago</td>'
            "<td>4s ago, took 10.000 s</td>") in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    assert "<script>" not in page
    assert '<td>everything</td><td>whole account</td><td class="pending">pending</td><td>never</td><td>not yet</td>' in page


def test_landing_page_names_each_target_whose_counts_differ():
    page = landing()
    assert "Convoso's own agent counts differ from ours" in page
    assert ("<li>account: Convoso counts 9 agents, we count 8; Convoso counts 3 in call, we count 2</li>") in page
    items = re.findall(r"<li>(.*?)</li>", page)
    assert [item.split(": Convoso", 1)[0] for item in items] == ["account", "campaign:1001"]


def test_counts_line_is_calm_when_the_counts_agree_and_escapes_target_names():
    assert counts_line(CountCheck(0, ())) == '<p class="note">Convoso\'s own agent counts: no answer to compare yet.</p>'
    assert counts_line(CountCheck(3, ())) == (
        '<p class="note">Convoso\'s own agent counts agree with ours (3 targets compared).</p>')
    assert "(1 target compared)" in counts_line(CountCheck(1, ()))
    line = counts_line(CountCheck(2, (("<b>x</b>", (Gap("ready", 19, 17, "RINGING"),)),)))
    assert "<li>&lt;b&gt;x&lt;/b&gt;: Convoso counts 19 ready, we count 17 (counting RINGING?)</li>" in line
    assert "agree" not in line
    many = counts_line(CountCheck(12, tuple((f"campaign:{i}", (Gap("total", 2, 1),)) for i in range(12))))
    assert many.count("<li>") == 11 and "<li>campaign:9: " in many and "campaign:10" not in many
    assert "<li>and 2 more (convoso_exporter_count_disagreement, /api/v1/snapshot)</li>" in many


def test_landing_page_escapes_names_from_the_api():
    states = floor_states()
    hostile = Target("campaign:1001", campaign_id="1001", kind="campaign", campaign_name="<i>x</i>")
    states["campaign:1001"] = TargetState(hostile)
    page = landing(view(states))
    assert "<i>" not in page


def test_landing_page_lists_what_the_api_sent_that_the_model_did_not_expect():
    page = landing(view(drift=drift_report()))
    assert "<h2>What the API sent that the model did not expect</h2>" in page
    rows = rows_of(page)
    assert ["search", "agents.calls_today", "number_as_text", "read as the number", "2 of 3", "&quot;52&quot;",
            "30s ago"] in rows
    assert ["search", "data.entries", "wrapped", "read inside", "2 of 3", "", "30s ago"] in rows
    assert "<b>x</b>" not in page and "<script>" not in page and "agents.&lt;b&gt;x&lt;/b&gt;" in page
    assert "1 of these answers were read by the reference parser" in page


def test_landing_page_says_when_every_answer_matched_the_model_and_when_it_is_not_tracked():
    from convoso_exporter.api.drift import Drift, Tally

    drift = Drift()
    drift.add(Tally("search"))
    page = landing(view(drift=drift.report()))
    assert "No unexpected fields: every answer read so far (1) matched the model." in page
    assert "No answer read yet." in landing(view(drift=Drift().report()))
    assert "did not expect" not in landing(view())  # drift not passed: nothing claimed


@pytest.mark.parametrize(
    "seconds, text", [(0.4, "0s"), (59, "59s"), (60, "1m 0s"), (3599, "59m 59s"), (7500, "2h 5m"), (90000, "1d 1h"), (-3, "0s")]
)
def test_format_age(seconds, text):
    assert format_age(seconds) == text


# --- the wallboard document ---------------------------------------------------------------


def inline(page: str, tag: str, attributes: str = "") -> str:
    match = re.search(rf"<{tag}{attributes}>(.*?)</{tag}>", page, re.S)
    assert match, tag
    return match.group(1)


def sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_wallboard_is_one_small_document_with_no_external_asset():
    body, _ = wallboard_page()
    page = body.decode()
    assert len(body) < 100 * 1024, len(body)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "an external asset"
    assert "@import" not in page and "url(" not in page
    assert page.count("<script") == 2 and "<script src" not in page


def test_wallboard_policy_allows_exactly_its_own_script_and_style():
    body, policy = wallboard_page()
    page = body.decode()
    script, style = inline(page, "script"), inline(page, "style")
    assert script == (STATIC / "wallboard.js").read_text() and style == (STATIC / "wallboard.css").read_text()
    rules = dict(rule.strip().split(" ", 1) for rule in policy.split(";"))
    assert rules["default-src"] == "'none'"
    assert rules["script-src"] == f"'{sha256(script)}'"
    assert rules["style-src"] == f"'{sha256(style)}'"
    assert rules["connect-src"] == "'self'"


def test_wallboard_script_never_writes_markup():
    script = (STATIC / "wallboard.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(", "setAttribute(\"on"):
        assert sink not in script, sink
    assert "textContent" in script


def test_wallboard_legend_is_the_shared_status_table():
    page = wallboard_page()[0].decode()
    legend = json.loads(inline(page, "script", ' id="legend" type="application/json"'))
    assert legend["drop_red"] == DROP_RATE_RED
    assert list(legend["statuses"]) == list(statuses.STATUS_COLOURS)
    for status, entry in legend["statuses"].items():
        assert entry["colour"] == statuses.css_colour(statuses.STATUS_COLOURS[status])
        assert entry["limits"] == list(statuses.STATUS_LIMITS.get(status, ()))
    assert "READY 5m / 10m, PAUSED 15m / 30m, WRAP 2m / 4m" in page


# --- statuses.py: one table for the dashboards and the wallboard --------------------------


def test_status_tables_are_the_dashboards_tables():
    # One table: the dashboards paint with the same objects the wallboard serves.
    assert panels.STATUS_COLOURS is statuses.STATUS_COLOURS
    assert panels.STATUS_LIMITS is statuses.STATUS_LIMITS
    assert DROP_RATE_RED == Settings().drop_rate_critical


@pytest.mark.parametrize(
    "status, seconds, level",
    [("READY", 299, "ok"), ("READY", 300, "warn"), ("READY", 600, "alert"), ("PAUSED", 1799, "warn"),
     ("WRAP", 240, "alert"), ("WRAP", 239, "warn"), ("INCALL", 99999, "ok"), ("LUNCH", 99999, "ok"), (None, 5, "ok"), ("READY", None, "ok")],
)
def test_time_levels_follow_the_limits(status, seconds, level):
    assert statuses.time_level(status, seconds) == level


def test_status_order_and_colours():
    ranked = sorted(["LOGGED_OUT", "ZZZ", "WRAP", "READY", "", "INCALL", "LUNCH"], key=statuses.status_rank)
    assert ranked == ["READY", "INCALL", "WRAP", "", "LUNCH", "ZZZ", "LOGGED_OUT"]
    assert statuses.status_colour("READY") == "#73BF69"
    assert statuses.status_colour("LOGGED_OUT") == "#8e8e8e"
    assert statuses.status_colour("LUNCH") == statuses.OTHER_STATUS_COLOUR
    assert all(re.fullmatch(r"#[0-9A-Fa-f]{6}", statuses.css_colour(c)) for c in statuses.STATUS_COLOURS.values())


def test_landing_page_says_which_endpoints_are_polled_or_off_and_why():
    endpoints = Endpoints(Config(user_activity=UserActivitySettings(enabled=False)), wall=lambda: NOW - 120)
    endpoints.deny("performance", "performance: HTTP 403: access denied <b>")
    page = landing(view(endpoints=endpoints.statuses()))
    rows = {cells[0]: cells[1:] for cells in rows_of(page) if cells and cells[0].endswith(" search")}
    assert rows["agent-monitor search"][0] == "polled"
    assert rows["agent-performance search"][0] == "off"
    assert "Tick the Agent Performance permission for this token in Convoso, then reload" in rows[
        "agent-performance search"][1]
    assert "since 2m 0s ago" in rows["agent-performance search"][1] and "&lt;b&gt;" in page and "<b>" not in page
    assert rows["user-activity search"] == ["off", "turned off in the config (user_activity.enabled: false)"]
    assert "Convoso endpoints" not in landing()  # not told: left out
