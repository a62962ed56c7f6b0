"""The wallboard in a real browser: Debian's headless Chromium, driven over the DevTools
protocol on a pipe (tests/browser.py), against real exporter processes.

- The demo exporter: the wallboard renders within a second, its agent counts and drop
  rate equal /metrics for the same account poll, and it follows the next poll in place
  (a mark set in the page survives, the data age resets).
- A simulator process and an exporter configured to poll it: a 500 fault makes the page
  say STALE, loudly, and healing clears it; hostile names render as text; HTML and
  script in every string of the JSON run nothing; the token is in no page.
"""

from __future__ import annotations

import base64
import json
import re
import time
from urllib.parse import quote

import httpx
import pytest

from tests.browser import Browser, Page
from tests.fault_stack import parse_exposition
from tests.support import free_port, process, require_binary, simulator_process, wait_http

TOKEN = "wall-T0KEN-s3cret/+="
pytestmark = pytest.mark.timeout(90)

# What the page shows, read in one go: the account poll it shows, its tiles, its rows.
READ_PAGE = """(() => {
  const value = el => Number(el.querySelector('.value').textContent.replace(/,/g, ''));
  const tiles = {};
  document.querySelectorAll('#statuses .tile[data-status]').forEach(t => { tiles[t.dataset.status] = value(t); });
  return {
    success: Number(document.body.dataset.accountSuccess),
    generation: Number(document.body.dataset.generation),
    renders: Number(document.body.dataset.renders),
    stale: document.body.dataset.stale,
    statuses: tiles,
    loggedIn: value(document.querySelector('#statuses .tile:not([data-status])')),
    convoso: Array.from(document.querySelectorAll('#statuses .tile[data-source="convoso"]')).map(t => [
      t.querySelector('.label').textContent, value(t), t.querySelector('.sub').textContent]),
    drop: document.querySelector('#figures .drop .value').textContent,
    rows: document.querySelectorAll('#agents .row:not(.head)').length,
    alarm: document.getElementById('alarm').hidden ? '' : document.getElementById('alarm').textContent,
    age: document.getElementById('age').textContent,
    title: document.getElementById('title').textContent,
  };
})()"""


@pytest.fixture(scope="module")
def browser():
    with Browser(require_binary("chromium", "chromium")) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def demo():
    port = free_port()
    with process(["--web.listen-address", f"127.0.0.1:{port}"]) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", proc=proc)
        yield url


def open_wallboard(browser: Browser, url: str, width: int = 1600, height: int = 1000) -> Page:
    page = browser.new_page(width, height)
    page.goto(url)
    page.wait_for("Number(document.body.dataset.renders) >= 1")
    return page


def metrics(url: str) -> dict:
    return parse_exposition(httpx.get(f"{url}/metrics").text)


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def agents_by_status(samples: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (name, labels), count in samples.items():
        if name == "convoso_agents":
            status = dict(labels)["status"]
            counts[status] = counts.get(status, 0) + int(count)
    return counts


# --- the demo ---------------------------------------------------------------------------


def test_wallboard_renders_fast_and_matches_metrics_for_the_same_poll(browser, demo):
    page = open_wallboard(browser, f"{demo}/wallboard")
    rendered_ms = page.evaluate("performance.getEntriesByName('wallboard-rendered')[0].startTime")
    assert rendered_ms < 1000, f"first render {rendered_ms:.0f} ms after navigation"
    deadline = time.monotonic() + 20
    while True:  # until the page and /metrics hold the same account poll
        shown, samples = page.evaluate(READ_PAGE), metrics(demo)
        scraped = value(samples, "convoso_last_success_timestamp_seconds", target="account")
        if scraped is not None and abs(shown["success"] - scraped) < 1e-3:
            break
        assert time.monotonic() < deadline, f"page at {shown['success']}, /metrics at {scraped}"
        time.sleep(0.3)
    by_status = agents_by_status(samples)
    assert {s: n for s, n in shown["statuses"].items() if n or s in by_status} == by_status
    assert shown["rows"] == sum(by_status.values())
    assert shown["loggedIn"] == sum(n for s, n in by_status.items() if s != "LOGGED_OUT")
    dropped = value(samples, "convoso_queue_dropped_today", target="account")
    answered = value(samples, "convoso_queue_answered_today", target="account")
    assert shown["drop"] == f"{dropped / answered:.2%}"
    assert "simulated" in page.evaluate("document.getElementById('banner').textContent")
    assert shown["alarm"] == "" and shown["stale"] == "0"
    assert page.errors() == []


def test_wallboard_shows_the_agents_convoso_counts_beside_ours(browser, demo):
    """User-activity search's logged-in and available agents, as /metrics has them, beside
    the exporter's own logged-in and READY counts."""
    page = open_wallboard(browser, f"{demo}/wallboard")
    deadline = time.monotonic() + 20
    while True:  # until the page and /metrics hold the same user-activity answer and account poll
        shown, samples = page.evaluate(READ_PAGE), metrics(demo)
        theirs = {state: value(samples, "convoso_user_activity_agents", target="account", state=state)
                  for state in ("logged_in", "available")}
        by_status = agents_by_status(samples)
        ours = (sum(n for s, n in by_status.items() if s != "LOGGED_OUT"), by_status.get("READY", 0))
        expected = [["Convoso: logged in", theirs["logged_in"], f"we count {ours[0]:,}"],
                    ["Convoso: available", theirs["available"], f"we count {ours[1]:,} ready"]]
        if shown["convoso"] == expected:
            break
        assert time.monotonic() < deadline, f"page shows {shown['convoso']}, /metrics says {expected}"
        time.sleep(0.3)
    assert page.errors() == []


def test_wallboard_follows_the_next_poll_without_a_reload(browser, demo):
    page = open_wallboard(browser, f"{demo}/wallboard")
    page.evaluate("window.__mark = 'set before the update'; document.body.dataset.mark = 'kept'")
    before = page.evaluate(READ_PAGE)
    page.wait_for(f"Number(document.body.dataset.accountSuccess) > {before['success']}", timeout=15)
    after = page.evaluate(READ_PAGE)
    assert page.evaluate("window.__mark") == "set before the update"
    assert page.evaluate("document.body.dataset.mark") == "kept"
    assert after["renders"] > before["renders"] and after["generation"] > before["generation"]
    age = int(re.search(r"Data as of [\d:]+ \((\d+)s ago\)", after["age"]).group(1))
    assert age <= 3, after["age"]
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert page.errors() == []


def test_tv_mode_and_one_campaign(browser, demo):
    campaigns = httpx.get(f"{demo}/api/v1/snapshot").json()["account"]["campaigns"]
    first = campaigns[0]
    page = open_wallboard(browser, f"{demo}/wallboard?campaign={first['id']}&tv=1", 1920, 1080)
    shown = page.evaluate(READ_PAGE)
    assert page.evaluate("document.body.classList.contains('tv')")
    assert shown["title"] == f"Campaign {first['name']} ({first['id']})"
    assert page.evaluate("getComputedStyle(document.getElementById('nav')).display") == "none"
    scoped = httpx.get(f"{demo}/api/v1/snapshot", params={"target": f"campaign:{first['id']}"}).json()
    assert {row["campaign_id"] for row in scoped["agents"]} == {first["id"]}
    assert page.errors() == []


# --- against a simulator that can be broken -------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wallboard")
    with simulator_process("--agents", "30", "--seed", "3", token=TOKEN) as (_, base_url):
        (folder / "token").write_text(TOKEN + "\n")
        (folder / "token").chmod(0o600)
        config = folder / "config.yaml"
        config.write_text(
            f"convoso:\n  base_url: {base_url}\n  auth_token_file: token\n  timeout: 1s\n  max_backoff: 1s\n"
            "poll_interval: 1s\ntargets:\n  - name: spanish-speakers\n    skills: [spanish]\n"
        )
        port = free_port()
        args = ["--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}"]
        with process(args, env={"CONVOSO_AUTH_TOKEN": ""}) as proc:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/-/ready", proc=proc)
            control = base_url.removesuffix("/v1") + "/_sim/fault?auth_token=" + quote(TOKEN, safe="")
            yield url, control, proc
            httpx.post(control, json={"fault": None})


def test_a_failing_api_makes_the_page_say_stale_then_recover(browser, stack):
    url, control, _ = stack
    page = open_wallboard(browser, f"{url}/wallboard")
    assert page.evaluate(READ_PAGE)["stale"] == "0"
    httpx.post(control, json={"fault": "500"}).raise_for_status()
    try:
        page.wait_for("document.body.dataset.stale === '1'", timeout=15)
        shown = page.evaluate(READ_PAGE)
        assert "STALE DATA" in shown["alarm"] and "500" in shown["alarm"]
        assert page.evaluate("getComputedStyle(document.getElementById('alarm')).display") != "none"
        assert page.evaluate("document.body.classList.contains('stale')")
    finally:
        httpx.post(control, json={"fault": None}).raise_for_status()
    page.wait_for("document.body.dataset.stale === '0'", timeout=15)
    assert page.errors() == []


def test_hostile_names_from_the_api_render_as_text(browser, stack):
    url, control, _ = stack
    httpx.post(control, json={"fault": "hostile_names"}).raise_for_status()
    try:
        page = open_wallboard(browser, f"{url}/wallboard")
        page.wait_for("[...document.querySelectorAll('#agents .name')].some(n => n.textContent.includes('</script><b>x</b>'))",
                      timeout=10)
        assert page.evaluate("document.querySelectorAll('#agents b, #agents img, #agents script').length") == 0
        assert page.evaluate("document.querySelectorAll('script').length") == 2
        assert page.errors() == []
    finally:
        httpx.post(control, json={"fault": None}).raise_for_status()


def test_markup_in_every_string_of_the_json_runs_nothing(browser, stack):
    """Every string the page reads from the JSON replaced by HTML that would run script
    if it were ever parsed as markup; served to the real page by intercepting its fetch."""
    url, _, _ = stack
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'
    doc = httpx.get(f"{url}/api/v1/snapshot").json()

    def poison(node):
        if isinstance(node, dict):
            return {k: (v if k in ("generated_at",) else poison(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [poison(v) for v in node]
        return payload + node if isinstance(node, str) else node

    hostile = poison(doc)
    hostile["generation"] = 10**9  # a new generation: the page redraws
    hostile["schema"] = 1
    page = browser.new_page(1600, 1000)
    page.call("Fetch.enable", {"patterns": [{"urlPattern": "*/api/v1/snapshot*"}]})
    paused = len(browser.events("Fetch.requestPaused", page.session))
    page.call("Page.navigate", {"url": f"{url}/wallboard"})
    request = browser.wait_event("Fetch.requestPaused", page.session, paused, timeout=10)
    body = json.dumps(hostile).encode()
    page.call("Fetch.fulfillRequest", {
        "requestId": request["requestId"], "responseCode": 200,
        "responseHeaders": [{"name": "Content-Type", "value": "application/json"}],
        "body": base64.b64encode(body).decode(),
    })
    page.wait_for("Number(document.body.dataset.renders) >= 1", timeout=10)
    page.call("Fetch.disable")
    time.sleep(0.3)  # an injected onerror would have fired by now
    assert page.evaluate("window.__pwned === undefined")
    assert page.evaluate("document.querySelectorAll('body img, body b, #agents script, #figures script').length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    assert payload in page.evaluate("document.getElementById('title').textContent + document.body.textContent")


def test_the_token_is_in_no_page_and_no_json(browser, stack):
    url, _, proc = stack
    doc = httpx.get(f"{url}/api/v1/snapshot").json()
    paths = ["/", "/wallboard", "/wallboard?tv=1", "/api/v1/snapshot", "/metrics", "/api/v1/snapshot?target=nope",
             "/wallboard?tv=bad"]
    paths += [f"/api/v1/snapshot?target={quote(t['name'], safe='')}" for t in doc["targets"]]
    page = open_wallboard(browser, f"{url}/wallboard")
    texts = [httpx.get(url + path).text for path in paths]
    texts.append(page.evaluate("document.documentElement.outerHTML"))
    texts.append(proc.output())
    for text in texts:
        assert TOKEN not in text and quote(TOKEN, safe="") not in text and "wall-T0KEN" not in text
