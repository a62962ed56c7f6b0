"""The wheel carries what the exporter reads at run time besides its modules: the pages'
templates, style and script (`convoso_exporter/web/static/`), and every subpackage."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.support import ROOT

STATIC = ROOT / "convoso_exporter" / "web" / "static"


@pytest.mark.timeout(180)
def test_static_files_and_every_package_ship_in_the_wheel(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "convoso_exporter", src / "convoso_exporter",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
         "--wheel-dir", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=170,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("convoso_exporter-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for static in sorted(STATIC.iterdir()):
        assert f"convoso_exporter/web/static/{static.name}" in names
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "convoso_exporter").rglob("__init__.py")}
    assert {f"{package}/__init__.py" for package in packages} <= names
