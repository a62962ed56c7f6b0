"""`convoso-exporter check --record DIR`: the check, with every exchange recorded, then
written to DIR (redacted unless `--no-redact`) with what the exporter made of it.

1. `check` runs as always, its client's transport wrapped by a `Recorder`
   (record/capture.py): the same requests, the same answers, the same verdicts.
2. Redaction (record/redact.py) learns the names from every answer, then rewrites each
   one; a body that could not be decoded cannot be redacted and is left out.
3. The folder (record/folder.py): bodies, manifest, config.yaml; then expected.prom,
   from the recording as written (record/expect.py), so it is what a replay gives.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

from convoso_exporter.api.client import pool_limits
from convoso_exporter.api.transport import client_transport
from convoso_exporter.check import Outcome, check
from convoso_exporter.config.schema import Config
from convoso_exporter.record.capture import Exchange, Recorder
from convoso_exporter.record.expect import write_expected
from convoso_exporter.record.folder import Recording, prepare, write
from convoso_exporter.record.redact import Redactor


@dataclasses.dataclass(frozen=True)
class Recorded:
    outcomes: list[Outcome]
    budget: float
    recording: Recording
    expected: list[str]  # expected.prom's lines


async def record_check(config: Config, folder: Path, *, redact: bool = True,
                       transport: httpx.AsyncBaseTransport | None = None,
                       wall: Callable[[], float] = time.time) -> Recorded:
    """`check` recorded into `folder` (new or empty); `transport` replaces the network and
    `wall` the clock check reads (tests: a simulator on a fixed day)."""
    prepare(folder)
    settings = config.convoso
    recorder = Recorder(settings.base_url, settings.auth_token, settings.max_response_bytes)
    if transport is None:
        transport = client_transport(settings.base_url, pool_limits(settings.concurrency))
    outcomes, budget = await check(config, transport=recorder.transport(transport), wall=wall)
    exchanges = recorder.exchanges
    replaced = redact_in_place(exchanges, settings.auth_token) if redact else Counter[str]()
    recording = write(folder, exchanges, config, redacted=redact, replaced=replaced)
    recording, expected = await write_expected(recording)
    return Recorded(outcomes, budget, recording, expected)


def redact_in_place(exchanges: list[Exchange], token: str) -> Counter[str]:
    """Every body redacted (record/redact.py), each replacing its original as it is done
    (a large account's answers are not held twice); what was replaced."""
    redactor = Redactor(token)
    for exchange in exchanges:
        if exchange.decoded:
            redactor.learn(exchange.body)
    for exchange in exchanges:
        if exchange.decoded:
            exchange.body = redactor.redact(exchange.body)
        else:  # still compressed: nothing in it can be checked, so none of it is kept
            exchange.body = b""
            redactor.replaced["bodies_left_out"] += 1
        exchange.headers = {name: redactor.text(value) for name, value in exchange.headers.items()}
    return redactor.replaced


def summary(recorded: Recorded) -> str:
    """What `check --record` says after the table."""
    recording = recorded.recording
    folder = recording.folder
    replaced = recording.manifest.get("replaced", {})
    if recording.redacted:
        what = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in replaced.items())
        how = f"redacted ({what} replaced)" if what else "redacted (nothing needed replacing)"
    else:
        how = "NOT redacted: it holds names, phone numbers and lead ids as the API sent them"
    count = len(recording.exchanges)
    return (f"\nRecorded {count} request{'s' if count != 1 else ''} and what came back in {folder}, {how}.\n"
            f"What the exporter made of them: {folder / 'expected.prom'} ({len(recorded.expected)} series).\n"
            f"Replay: convoso-exporter simulate --replay {folder}, "
            f"then convoso-exporter --config.file {folder / 'config.yaml'}")
