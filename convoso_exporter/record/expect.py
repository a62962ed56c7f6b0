"""What the exporter makes of a recording's answers: `expected.prom`.

The recording is replayed in-process (record/replay.py) to the exporter's own wiring,
the app (app.py) run for one round: the real client, `Poller` (so `TargetState`) with
the `Deriver`, the account first, a discovery round from its answer, then every other
target once, rendered by `MetricsRenderer`. The text 0.0.4 sample lines are kept, sorted, minus the
families that say when and how fast rather than what the API sent (`EXCLUDED`):
timestamps and durations, the exporter's own requests, its build and its config's
reload state. Everything else is in: every target's figures, the breakdown, per-agent
series, discovery, poll errors, folded values, and any family added later.

A recording taken without redaction gives exactly what the exporter made of the live
answers; with redaction, the same but for the names it replaced.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

import httpx

from convoso_exporter.app import App, RunOptions
from convoso_exporter.config.schema import Config
from convoso_exporter.record.folder import EXPECTED, Recording, add_to_manifest, write_file
from convoso_exporter.record.replay import Replay

# Families left out of expected.prom: when and how fast, not what the API sent.
EXCLUDED = (
    "convoso_last_success_timestamp_seconds",
    "convoso_poll_duration_seconds",
    "convoso_exporter_build_info",
    "convoso_exporter_api_requests_total",
    "convoso_exporter_api_request_duration_seconds",
    "convoso_exporter_config_last_reload_successful",
    "convoso_exporter_config_last_reload_success_timestamp_seconds",
)
EXCLUDED_PREFIXES = ("process_", "python_")
_SUFFIXES = ("", "_bucket", "_sum", "_count", "_created", "_gcount", "_gsum")
_EXCLUDED_NAMES = frozenset(family + suffix for family in EXCLUDED for suffix in _SUFFIXES)
# The in-process replay's address: never on a network. Its token is drawn per run: the
# app registers every token it is given for redaction from the log, and a fixed word
# ("replay") would then be cut out of every later log line that holds it.
REPLAY_URL = "http://replay.invalid/v1"

# The in-process polls fail the way the recording says; check has said so already.
_QUIET = logging.getLogger(__name__ + ".poll")
_QUIET.disabled = True


async def exposition(config: Config, transport: httpx.AsyncBaseTransport, wall: float) -> bytes:
    """The exporter's text exposition after it has polled, over `transport`, the account,
    discovered what its answer lists and polled every other target once, at `wall`: the
    app's own wiring (app.py), run in-process for one round."""
    app = App(config, RunOptions(), wall=lambda: wall, transport=transport, poll_log=_QUIET)
    try:
        await app.poll_all_once()
        return app.render_now().body
    finally:
        await app.client.aclose()


def sample_lines(body: bytes | str) -> list[str]:
    """The sample lines of a text 0.0.4 exposition, sorted, minus the EXCLUDED families."""
    text = body.decode() if isinstance(body, bytes) else body
    return sorted(line for line in text.splitlines() if line and not line.startswith("#") and _kept(line))


def _kept(line: str) -> bool:
    name = line.split("{", 1)[0].split(" ", 1)[0]
    return name not in _EXCLUDED_NAMES and not name.startswith(EXCLUDED_PREFIXES)


async def expectation(recording: Recording) -> list[str]:
    """What the exporter makes of the recording's answers (sorted sample lines)."""
    token = secrets.token_urlsafe(16)
    config = recording.config(REPLAY_URL, token)
    replay = Replay(recording, token)
    wall = recording.exchanges[0].at if recording.exchanges else 0.0
    return sample_lines(await exposition(config, replay.transport(), wall))


async def write_expected(recording: Recording) -> tuple[Recording, list[str]]:
    """expected.prom written, and named in the manifest."""
    lines = await expectation(recording)
    write_file(recording.folder / EXPECTED, _text(lines).encode())
    excluded = [*EXCLUDED, *(prefix + "*" for prefix in EXCLUDED_PREFIXES)]
    described = {"file": EXPECTED, "series": len(lines), "excluded_families": excluded}
    return add_to_manifest(recording, expected=described), lines


def read_expected(recording: Recording) -> list[str]:
    return sample_lines((recording.folder / EXPECTED).read_text())


def _text(lines: Iterable[str]) -> str:
    return "".join(line + "\n" for line in lines)
