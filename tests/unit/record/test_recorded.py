"""Every recording in tests/fixtures/recorded/ replays into what the exporter made of it
when it was recorded (its expected.prom): a user's capture becomes a regression test by
adding its folder (tests/fixtures/recorded/README.md).

After an intended change to what the exporter publishes (a new family, say), rewrite
the expectations: `UPDATE_RECORDED=1 python -m pytest tests/unit/record/test_recorded.py`,
and review the diff.
"""

from __future__ import annotations

import asyncio
import difflib
import os

import pytest

from convoso_exporter.record.expect import expectation, read_expected, write_expected
from convoso_exporter.record.folder import MANIFEST, load
from tests.support import FIXTURES_DIR

RECORDED = FIXTURES_DIR / "recorded"
FOLDERS = sorted(path for path in RECORDED.iterdir() if (path / MANIFEST).is_file())


def test_there_are_recordings_to_replay():
    # An empty folder would make the test below pass by having nothing to check.
    assert {"simulator-documented-20", "simulator-live-20"} <= {path.name for path in FOLDERS}


@pytest.mark.parametrize("folder", FOLDERS, ids=[path.name for path in FOLDERS])
def test_a_recording_replays_into_what_the_exporter_made_of_it(folder):
    recording = load(folder)
    if os.environ.get("UPDATE_RECORDED") == "1":
        asyncio.run(write_expected(recording))
    got, expected = asyncio.run(expectation(recording)), read_expected(recording)
    assert expected, f"{folder.name}: expected.prom is empty"
    diff = "\n".join(difflib.unified_diff(expected, got, "expected.prom", "replayed", lineterm="", n=0))
    assert got == expected, f"{folder.name}: the replay differs from expected.prom:\n{diff[:4000]}"
