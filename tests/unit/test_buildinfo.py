"""convoso_exporter.buildinfo: the revision from a built package's `_build.py`, else from git
when the package is the top of a checkout, else "unknown"; `--version`'s text. (Builds
recording it, from a checkout, an sdist and the image's context: tests/system/test_packaging.py
and test_sdist.py.)"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from convoso_exporter import buildinfo

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="no git on this machine")


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def fresh(monkeypatch):
    buildinfo.revision.cache_clear()
    yield
    buildinfo.revision.cache_clear()


@needs_git
def test_git_revision_is_head_at_the_top_of_a_checkout_only(tmp_path):
    git(tmp_path, "init", "--quiet")
    assert buildinfo.git_revision(tmp_path) is None  # no commit yet
    (tmp_path / "f").write_text("x")
    git(tmp_path, "add", "f")
    git(tmp_path, "commit", "--quiet", "-m", "one")
    head = git(tmp_path, "rev-parse", "HEAD")
    assert buildinfo.git_revision(tmp_path) == head
    # A package installed somewhere inside someone else's repository is not that repository's.
    (tmp_path / "site-packages").mkdir()
    assert buildinfo.git_revision(tmp_path / "site-packages") is None


def test_no_git_repository_or_no_git_at_all_is_none(tmp_path, monkeypatch):
    assert buildinfo.git_revision(tmp_path) is None
    monkeypatch.setenv("PATH", str(tmp_path))  # no git binary
    assert buildinfo.git_revision(tmp_path) is None
    assert buildinfo.git_revision(tmp_path / "gone") is None


def test_a_built_package_answers_from_its_build_file(fresh, monkeypatch):
    monkeypatch.setitem(sys.modules, "convoso_exporter._build", SimpleNamespace(REVISION="0123abcd" * 5))
    monkeypatch.setattr(buildinfo, "git_revision", lambda root: pytest.fail("git asked"))
    assert buildinfo.revision() == "0123abcd" * 5


@pytest.mark.parametrize("recorded", ["", "a b", "x" * 81, "\n", None])
def test_a_build_file_that_makes_no_sense_is_unknown(fresh, monkeypatch, recorded):
    monkeypatch.setitem(sys.modules, "convoso_exporter._build", SimpleNamespace(REVISION=recorded))
    assert buildinfo.revision() == "unknown"


def test_a_checkout_asks_git_and_without_it_is_unknown(fresh, monkeypatch):
    monkeypatch.setitem(sys.modules, "convoso_exporter._build", None)  # import fails: no build file
    asked = []
    monkeypatch.setattr(buildinfo, "git_revision", lambda root: asked.append(root) or None)
    assert buildinfo.revision() == "unknown"
    assert asked == [buildinfo.PACKAGE_DIR.parent]


def test_the_revision_is_asked_once(fresh, monkeypatch):
    monkeypatch.setitem(sys.modules, "convoso_exporter._build", None)
    calls = []
    monkeypatch.setattr(buildinfo, "git_revision", lambda root: calls.append(root) or "f" * 40)
    assert [buildinfo.revision() for _ in range(3)] == ["f" * 40] * 3
    assert len(calls) == 1


def test_version_text(fresh, monkeypatch):
    monkeypatch.setitem(sys.modules, "convoso_exporter._build", SimpleNamespace(REVISION="c0ffee" + "0" * 34))
    assert buildinfo.version_text("convoso-exporter", "1.2.3") == (
        f"convoso-exporter, version 1.2.3 (revision: c0ffee{'0' * 34})\n"
        f"  python version: {platform.python_version()}")
