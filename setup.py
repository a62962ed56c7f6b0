"""Build hooks: every wheel and sdist carries the git commit it was built from.

Everything else about the package is in pyproject.toml. The revision goes into
`convoso_exporter/_build.py` of the build (never of the source tree), taken from, in
order: `CONVOSO_EXPORTER_REVISION` (a build without `.git`, such as the container
image's, is told), git (when this folder is the top of a checkout), the `_build.py` an
unpacked sdist carries (a wheel built from an sdist, as `python -m build` does), else
"unknown". An editable install gets none, so that `convoso_exporter.buildinfo` asks git
and follows the checkout's commits.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
BUILD_FILE = Path("convoso_exporter", "_build.py")
# Stdlib only, and not installed yet: run by path.
BUILDINFO = runpy.run_path(str(ROOT / "convoso_exporter" / "buildinfo.py"))


def build_revision() -> str:
    given = os.environ.get("CONVOSO_EXPORTER_REVISION", "").strip()
    if given:
        if not BUILDINFO["valid_revision"](given):
            raise SystemExit(f"CONVOSO_EXPORTER_REVISION={given!r}: expected a commit hash")
        return given
    found = BUILDINFO["git_revision"](ROOT)
    if found:
        return found
    carried = ROOT / BUILD_FILE
    if carried.is_file():
        return runpy.run_path(str(carried))["REVISION"]
    return BUILDINFO["UNKNOWN"]


def write_build_file(base: Path) -> None:
    target = base / BUILD_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)  # a release tree's files may be hard links into the source
    target.write_text(f'"""Written by setup.py when this package was built; not in git."""\n\n'
                      f"REVISION = {build_revision()!r}\n")


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):
            write_build_file(Path(self.build_lib))


class Sdist(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        write_build_file(Path(base_dir))


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
