"""What this exporter was built from: its version, the git commit (`revision`) and the Python
running it, for `--version` and `convoso_exporter_build_info`.

The revision is taken when the package is built, where git is at hand: setup.py's build
hooks write it into `convoso_exporter/_build.py` of every wheel and sdist (a wheel built
from an sdist takes the sdist's; `CONVOSO_EXPORTER_REVISION` overrides, for builds
without `.git`, such as the container image's). An installed package then answers
without git and without a checkout. A source checkout has no `_build.py` (git ignores
it; it is never written into the source tree): run from there (an editable install,
`python -m` in the checkout), the revision is asked of git at the first call, so it
follows the checkout's commits instead of freezing the one it was installed at. Neither
gives "unknown".

This module imports nothing but the standard library: setup.py runs it by path at
build time, before the package is installed.
"""

from __future__ import annotations

import functools
import platform
import re
import subprocess
from pathlib import Path

UNKNOWN = "unknown"
PACKAGE_DIR = Path(__file__).resolve().parent
# A commit hash (SHA-1 or SHA-256), or what a build was told (CONVOSO_EXPORTER_REVISION).
_REVISION = re.compile(r"[0-9A-Za-z][0-9A-Za-z._+-]{0,79}")


def valid_revision(text: str) -> bool:
    """Fit to be the `revision` label and one word of `--version`."""
    return _REVISION.fullmatch(text) is not None


def git_revision(root: Path) -> str | None:
    """HEAD's commit when `root` is the top of a git work tree (a checkout or a worktree),
    else None: not a package that merely lies somewhere inside someone's repository."""
    try:
        done = subprocess.run(["git", "rev-parse", "--show-toplevel", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None  # no git, or root is gone
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) != 2:
        return None
    top, head = lines
    if Path(top).resolve() != root.resolve() or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", head):
        return None
    return head


@functools.cache
def revision() -> str:
    """The commit this package was built from (see the module docstring)."""
    try:
        from convoso_exporter._build import REVISION  # written by setup.py into built packages
    except ImportError:
        return git_revision(PACKAGE_DIR.parent) or UNKNOWN
    return REVISION if isinstance(REVISION, str) and valid_revision(REVISION) else UNKNOWN


def version_text(prog: str, version: str) -> str:
    """`--version`, in the shape of the Prometheus ecosystem's."""
    return f"{prog}, version {version} (revision: {revision()})\n  python version: {platform.python_version()}"
