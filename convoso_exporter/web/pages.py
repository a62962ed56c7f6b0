"""The exporter's HTML pages: the landing page (`/`) and the wallboard (`/wallboard`).

Templates, style and script live in `web/static/` (shipped in the wheel as package
data). The landing page is rendered on the server, every value escaped. The wallboard is
one static document (built once: style, script and the status legend inline, no external
asset) whose script fetches `/api/v1/snapshot` and writes every value with textContent.
A Content-Security-Policy allows only that script and that style (by hash) and requests
to this origin, so even a value that slipped into the markup could not run.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
from importlib import resources
from string import Template

from convoso_exporter.api.drift import KINDS, DriftReport
from convoso_exporter.config.schema import ACCOUNT, Target
from convoso_exporter.derive.agreement import describe
from convoso_exporter.poll.endpoints import EndpointStatus
from convoso_exporter.poll.state import TargetState
from convoso_exporter.statuses import STATUS_LIMITS, legend
from convoso_exporter.web.board import (
    DROP_NOTE,
    DROP_RATE_RED,
    CountCheck,
    ScopeLine,
    View,
    campaign_lines,
    count_check,
    logged_in,
)

NAME = "convoso-exporter"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
# Targets whose counts differ listed by name on the landing page; the rest are counted.
COUNT_LINES = 10
# The landing page's status columns (VICIdial's header: ready, in call, paused, wrap).
HEAD_STATUSES = ("READY", "INCALL", "PAUSED", "WRAP")


def _static(name: str) -> str:
    return (resources.files("convoso_exporter.web") / "static" / name).read_text("utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


# --- wallboard --------------------------------------------------------------------------


@functools.cache
def wallboard_page() -> tuple[bytes, str]:
    """The wallboard document and its Content-Security-Policy (the same for every request:
    the scope and TV mode are read from the URL by the script)."""
    style, script = _static("wallboard.css"), _static("wallboard.js")
    table = json.dumps({**legend(), "drop_red": DROP_RATE_RED}, separators=(",", ":"))
    page = Template(_static("wallboard.html")).substitute(
        style=style,
        script=script,
        legend=table.replace("<", "\\u003c"),  # cannot close the <script> element
        drop_note=html.escape(DROP_NOTE),
        time_note=html.escape(time_note()),
    )
    policy = (
        f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
    )
    return page.encode("utf-8"), policy


def time_note() -> str:
    """How the time-in-status column is coloured, in words (readable without colour)."""
    limits = ", ".join(f"{status} {warn // 60}m / {alert // 60}m" for status, (warn, alert) in STATUS_LIMITS.items())
    return f"Time in status: ! past the first limit (orange), !! past the second (red): {limits}."


# --- landing page ---------------------------------------------------------------------


def landing_page(view: View, *, version: str, telemetry_path: str, series: int, now: float) -> str:
    states = list(view.states.values())
    rows = "\n".join(target_row(state, now) for state in states) or '<tr><td colspan="6">no targets</td></tr>'
    banner = f'<p class="banner">{html.escape(view.banner)}</p>\n' if view.banner else ""
    return Template(_static("landing.html")).substitute(
        name=NAME,
        banner=banner,
        version=html.escape(version),
        telemetry_path=html.escape(telemetry_path),
        series=series,
        targets=len(states),
        budget=f"{view.api_calls_per_minute:.1f}",
        interval=f"{view.poll_interval:g}",
        status_heads="".join(f"<th>{status}</th>" for status in HEAD_STATUSES),
        scope_rows="\n".join(scope_row(line, now) for line in campaign_lines(view)),
        drop_note=html.escape(DROP_NOTE),
        counts=counts_line(count_check(view)),
        drift=drift_section(view.drift, now),
        endpoints=endpoints_section(view.endpoints, now),
        rows=rows,
    )


# Each endpoint in words, and what its figures are for.
ENDPOINT_WORDS = {
    "search": ("agent-monitor search", "agents, statuses, today's calls, answered and dropped"),
    "performance": ("agent-performance search", "live-human and machine answers, agents' talk, wait, pause and "
                    "wrap time (the 30-day rate's live-human basis)"),
    "user_activity": ("user-activity search", "logged-in and available agents as Convoso counts them"),
}


def endpoints_section(statuses: tuple[EndpointStatus, ...], now: float) -> str:
    """Which Convoso endpoints are polled, and why one is not (nothing when not told)."""
    if not statuses:
        return ""
    rows = []
    for status in statuses:
        name, gives = ENDPOINT_WORDS.get(status.endpoint, (status.endpoint, ""))
        if status.enabled:
            state, why = '<td class="up">polled</td>', html.escape(gives)
        else:
            state, why = '<td class="down">off</td>', html.escape(status.reason)
            if status.permission is not None:
                since = f" since {format_age(now - status.since)} ago" if status.since is not None else ""
                why += (f". Tick the {html.escape(status.permission)} permission for this token in Convoso, then "
                        f"reload; tried again every hour{since}. The agent-monitor figures are unaffected")
        rows.append(f"<tr><td>{html.escape(name)}</td>{state}<td>{why}</td></tr>")
    return ("<h2>Convoso endpoints</h2>\n<table>\n<tr><th>endpoint</th><th>state</th><th>what it gives, or why it "
            "is off</th></tr>\n" + "\n".join(rows) + "\n</table>\n")


def counts_line(check: CountCheck) -> str:
    """Whether Convoso's own agent counts (agent_total, _ready, _incall, _paused) are ours:
    one calm line when they are, a line per target that differs when not."""
    if check.compared == 0:
        return '<p class="note">Convoso\'s own agent counts: no answer to compare yet.</p>'
    if check.agree:
        return f'<p class="note">Convoso\'s own agent counts agree with ours ({_targets(check.compared)} compared).</p>'
    items = "".join(
        f"<li>{html.escape(target)}: {html.escape('; '.join(describe(gap) for gap in gaps))}</li>"
        for target, gaps in check.gaps[:COUNT_LINES]
    )
    if len(check.gaps) > COUNT_LINES:
        more = len(check.gaps) - COUNT_LINES
        items += f"<li>and {more} more (convoso_exporter_count_disagreement, /api/v1/snapshot)</li>"
    return (
        '<p class="counts">Convoso\'s own agent counts differ from ours (it may count statuses otherwise; '
        "docs/metrics.md, “The API's counts against ours”):</p>\n"
        f'<ul class="counts">{items}</ul>'
    )


def _targets(n: int) -> str:
    return "1 target" if n == 1 else f"{n} targets"
DRIFT_HEAD = (
    "<tr><th>answer</th><th>field</th><th>kind</th><th>what the exporter did</th><th>answers</th>"
    "<th>example</th><th>last seen</th></tr>"
)
DRIFT_ROW = (
    '<tr><td>{endpoint}</td><td>{field}</td><td>{kind}</td><td>{action}</td><td class="num">{answers}</td>'
    "<td><code>{example}</code></td><td>{seen} ago</td></tr>"
)


def drift_section(report: DriftReport | None, now: float) -> str:
    """What the API sent that the model did not expect (api/drift.py): a line when
    nothing, else one row per endpoint, field and kind; nothing when not tracked."""
    if report is None:
        return ""
    read = sum(report.answers.values())
    parts = ["<h2>What the API sent that the model did not expect</h2>"]
    if not report.entries:
        parts.append(f"<p>No unexpected fields: every answer read so far ({read:,}) matched the model.</p>"
                     if read else "<p>No answer read yet.</p>")
    else:
        parts.append(f"<p>{len(report.entries)} differences in the {read:,} answers read so far. Each is counted in "
                     "<code>convoso_exporter_api_drift_total</code> and was logged once.</p>")
        parts.append("<table>\n" + DRIFT_HEAD)
        parts += [DRIFT_ROW.format(
            endpoint=html.escape(entry.endpoint), field=html.escape(entry.field), kind=entry.kind,
            action=html.escape(KINDS.get(entry.kind, "")),
            answers=f"{entry.answers:,} of {report.answers.get(entry.endpoint, entry.answers):,}",
            example=html.escape(entry.example), seen=format_age(now - entry.last_seen),
        ) for entry in report.entries]
        parts.append("</table>")
    fallbacks = sum(report.fallbacks.values())
    if fallbacks:
        parts.append(f'<p class="note">{fallbacks:,} of these answers were read by the reference parser '
                     "(slower, same result): <code>convoso_exporter_parse_fallbacks_total</code>.</p>")
    return "\n".join(parts) + "\n"


def scope_row(line: ScopeLine, now: float) -> str:
    """One campaign (or the whole account): agents by status, today's figures, drop rate."""
    label = "Whole account" if line.kind == ACCOUNT else _scope_label(line.name, line.ident)
    cells = [f'<td><a href="/wallboard{html.escape(line.wallboard_query)}">{html.escape(label)}</a></td>']
    head = sum(line.by_status.get(status, 0) for status in HEAD_STATUSES)
    total = logged_in(line.by_status)
    cells += [_num(total)] + [_num(line.by_status.get(status, 0)) for status in HEAD_STATUSES] + [_num(total - head)]
    today = line.figures
    if today is None:
        cells += ['<td class="num">–</td>'] * 5 + ["<td>not polled yet</td>" if line.state is not None else "<td>not polled</td>"]
        return "<tr>" + "".join(cells) + "</tr>"
    assert line.state is not None and line.state.last_success is not None
    stale = not line.state.fresh(now)
    cells += [_num(today.dialable_leads), _num(today.calls_today), _num(today.answered_today), _num(today.dropped_today)]
    if today.drop_rate is None:
        cells.append('<td class="num">–</td>')
    elif today.drop_red:
        cells.append(f'<td class="num red">{today.drop_rate:.2%} (over {DROP_RATE_RED:.0%})</td>')
    else:
        cells.append(f'<td class="num">{today.drop_rate:.2%}</td>')
    when = f"{format_age(now - line.state.last_success)} ago"
    cells.append(f'<td class="stale">{when} (stale)</td>' if stale else f"<td>{when}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


def _scope_label(name: str | None, ident: str | None) -> str:
    return f"{name} ({ident})" if name else str(ident)


def _num(value: int | None) -> str:
    return '<td class="num">–</td>' if value is None else f'<td class="num">{value:,}</td>'


TARGET_ROW = (
    '<tr><td>{name}</td><td>{filter}</td><td class="{state}">{state}</td>'
    "<td>{success}</td><td>{attempt}</td><td>{error}</td></tr>"
)


def target_row(state: TargetState, now: float) -> str:
    return TARGET_ROW.format(
        name=html.escape(state.target.name),
        filter=html.escape(describe_filter(state.target)),
        state=_state_word(state),
        success="never" if state.last_success is None else f"{format_age(now - state.last_success)} ago",
        attempt=_last_poll(state, now),
        error=html.escape(state.last_error or ""),
    )


def _last_poll(state: TargetState, now: float) -> str:
    """`12s ago, took 0.250 s`."""
    parts = []
    if state.last_attempt is not None:
        parts.append(f"{format_age(now - state.last_attempt)} ago")
    if state.last_duration is not None:
        parts.append(f"took {state.last_duration:.3f} s")
    return ", ".join(parts) or "not yet"


def _state_word(state: TargetState) -> str:
    if not state.attempted:
        return "pending"
    return "up" if state.up else "down"


def describe_filter(target: Target) -> str:
    """`campaign_id=111 skills=english,spanish`, or `whole account` for no filter."""
    parts = [f"{key}={','.join(value) if key == 'skills' else value}" for key, value in target.filters().items()]
    return " ".join(parts) or "whole account"


def format_age(seconds: float) -> str:
    """12s, 3m 4s, 2h 5m, 3d 4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"
