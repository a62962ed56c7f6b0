"""The first hour with a real account, as README.md tells it, followed literally.

`test_the_readme_account_section_works_as_written` takes the commands of README's
"Run it against your Convoso account" block and runs them, one by one, in bash, in an
empty folder holding only a copy of config.example.yaml, with three changes and no more:

- `pip install .` is not run: the package under test is already installed in this
  environment (its scripts folder is put first on PATH);
- once the copied config exists, its `base_url` line is pointed at a simulator process
  (the only line changed; the test fails if it is not there exactly once);
- the command that starts the exporter for good gets `--web.listen-address` on a free
  loopback port (10717 may be taken on a test machine) and is stopped once it serves.

The token is typed on standard input, as a person pastes it. So if README's commands
drift from what works (another file name, a command that needs a step README does not
give, `check` failing), this test fails. Beside it: the token file has one name and one
place across the project, and git ignores the files README has a user create.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support import ROOT, free_port, simulator_process, wait_http

README = ROOT / "README.md"
SECTION = "## Run it against your Convoso account"
TOKEN = "first-hour-T0ken/+="
TOKEN_FILE = "convoso-token"
CONFIG_DIR = "/etc/convoso-exporter"
API_BASE_URL = "https://api.convoso.com/v1"


def account_commands() -> list[str]:
    """The lines of the first ```sh block of README's account section."""
    text = README.read_text()
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the account section has no ```sh block"
    return [line for line in match.group(1).splitlines() if line.strip() and not line.startswith("#")]


def bash(command: str, cwd: Path, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_the_readme_account_section_works_as_written(tmp_path):
    commands = account_commands()
    assert commands[0] == "pip install .", "README's account section should start by installing the checkout"
    scripts = Path(sys.executable).parent
    assert (scripts / "convoso-exporter").is_file(), "the package's script is not installed beside this Python"
    env = {k: v for k, v in os.environ.items() if k not in {"CONVOSO_AUTH_TOKEN", "PYTHONPATH"}}
    env["PATH"] = f"{scripts}{os.pathsep}{env.get('PATH', '')}"
    shutil.copy2(ROOT / "config.example.yaml", tmp_path / "config.example.yaml")
    *setup, serve = commands[1:]
    assert serve.startswith("convoso-exporter ") and " check" not in serve, f"the last command should run it: {serve!r}"
    assert any(c.startswith("convoso-exporter check ") for c in setup), "README's account section does not run `check`"

    with simulator_process("--agents", "20", "--campaigns", "2", "--queues", "2", "--style", "live",
                           token=TOKEN) as (_, base_url):
        config = tmp_path / "config.yaml"
        pointed = False
        for command in setup:
            stdin = TOKEN + "\n" if re.search(r"cat\s*>", command) else None
            result = bash(command, tmp_path, env, stdin)
            assert result.returncode == 0, f"README command failed: {command}\n{result.stdout}{result.stderr}"
            if command.startswith("convoso-exporter check "):
                assert re.search(r"All \d+ targets work\.", result.stdout), result.stdout
                assert TOKEN not in result.stdout + result.stderr
            if config.exists() and not pointed:
                text = config.read_text()
                assert text.count(f"base_url: {API_BASE_URL}") == 1, "the copied config's base_url line moved"
                config.write_text(text.replace(f"base_url: {API_BASE_URL}", f"base_url: {base_url}"))
                pointed = True
        assert pointed, "no README command created config.yaml"
        assert (tmp_path / TOKEN_FILE).stat().st_mode & 0o077 == 0, "the token file is readable by others"

        port = free_port()
        serving = subprocess.Popen(["bash", "-c", f"exec {serve} --web.listen-address 127.0.0.1:{port}"],
                                   cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/-/ready", proc=serving, timeout=30)
            metrics = httpx.get(f"{url}/metrics").text
            assert 'convoso_up{target="account"} 1.0' in metrics
            assert re.search(r'^convoso_up\{target="campaign:\d+"\} 1\.0$', metrics, re.M), "nothing discovered"
        finally:
            serving.terminate()
            output = serving.communicate(timeout=30)[0].decode()
        assert TOKEN not in output


def test_the_token_file_has_one_name_and_one_place_everywhere():
    """Every config the project ships names `convoso-token` beside itself; every document
    and manifest puts it beside the config (and nowhere else)."""
    configs = {
        "config.example.yaml": yaml.safe_load((ROOT / "config.example.yaml").read_text()),
        "deploy/config/exporter.yaml": yaml.safe_load((ROOT / "deploy/config/exporter.yaml").read_text()),
        "the Kubernetes ConfigMap": yaml.safe_load(yaml.safe_load(
            (ROOT / "deploy/kubernetes/base/configmap.yaml").read_text())["data"]["config.yaml"]),
    }
    for where, config in configs.items():
        assert config["convoso"]["auth_token_file"] == TOKEN_FILE, where
    readme_config = re.search(r"```yaml\n(.*?)```", README.read_text().split(SECTION, 1)[1], re.S).group(1)
    assert yaml.safe_load(readme_config)["convoso"]["auth_token_file"] == TOKEN_FILE

    # Every path to a token file in what users read and apply ends in /convoso-token
    # (beside a config) — the demo stack's public token aside.
    files = [ROOT / "README.md", ROOT / "Dockerfile", ROOT / "config.example.yaml",
             *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "deploy").rglob("*.y*ml"))]
    token_path = re.compile(r"[\w.~$/{}-]*/[\w.-]*token[\w.-]*|\./[\w.-]*token[\w.-]*")
    allowed = {f"{CONFIG_DIR}/{TOKEN_FILE}", f"$PWD/{TOKEN_FILE}", f"./{TOKEN_FILE}",
               "./secrets/convoso-token.demo", "deploy/secrets/convoso-token.demo", "../convoso-token"}
    for path in files:
        for found in (f.rstrip(".") for f in token_path.findall(path.read_text())):
            if found.startswith(("http", "/-/", "/v1/", "/_sim/")) or "auth_token" in found:
                continue
            assert found in allowed, f"{path.relative_to(ROOT)} names a token file {found!r}"


def test_git_ignores_what_readme_has_a_user_create():
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist)")
    for name in (TOKEN_FILE, "config.yaml", f"deploy/{TOKEN_FILE}"):
        result = subprocess.run([git, "check-ignore", "--no-index", "-q", name], cwd=ROOT, timeout=30)
        assert result.returncode == 0, f"git would commit {name}"
    # The shipped example is not ignored.
    assert subprocess.run([git, "check-ignore", "--no-index", "-q", "config.example.yaml"], cwd=ROOT,
                          timeout=30).returncode == 1
