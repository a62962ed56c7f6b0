"""`--shard=i/n` across processes: the assignment does not depend on the interpreter's
per-process hash salt. Parsing, partitioning and stability: tests/unit/test_shard.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from convoso_exporter.shard import shard_of
from tests.support import ROOT
from tests.unit.test_shard import NAMES


def test_assignment_is_the_same_in_another_process():
    # Python's hash() is salted per process; force a different salt to prove it is not used.
    script = (
        "import json, sys\n"
        "from convoso_exporter.shard import shard_of\n"
        "names = json.load(sys.stdin)\n"
        "print(json.dumps({str(n): [shard_of(x, n) for x in names] for n in range(1, 8)}))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    result = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(NAMES), capture_output=True,
        text=True, cwd=ROOT, env=env, timeout=30, check=True,
    )
    theirs = json.loads(result.stdout)
    ours = {str(n): [shard_of(x, n) for x in NAMES] for n in range(1, 8)}
    assert theirs == ours
