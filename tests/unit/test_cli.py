"""convoso_exporter/cli.py without processes: which address each mode listens on, what
`--config.check` promises, and that `mixin` is the mixin's own command line.
(The commands as real processes: tests/system/test_cli.py.)"""

from __future__ import annotations

import pytest

from convoso_exporter import cli
from convoso_exporter.mixin.settings import Settings
from convoso_exporter.mixin.__main__ import generate
from tests.support import ROOT


@pytest.fixture(autouse=True)
def no_logging_setup(monkeypatch):
    """`main` configures the root logger for a process; not for the test session's."""
    monkeypatch.setattr("convoso_exporter.logs.setup_logging", lambda *args, **kwargs: None)


@pytest.fixture
def served(monkeypatch):
    """Run `cli.main` up to the point of serving; record what it would serve with."""
    seen: dict = {}

    async def serve_demo(options, style="documented", count_style="documented"):
        seen.update(mode="demo", listen=options.listen_addresses, systemd=options.systemd_socket)
        if (style, count_style) != ("documented", "documented"):
            seen.update(style=style, count_style=count_style)
        return 0

    async def serve(config, options, loader, banner=None):
        seen.update(mode="config", listen=options.listen_addresses, systemd=options.systemd_socket)
        return 0

    monkeypatch.setattr(cli, "_serve_demo", serve_demo)
    monkeypatch.setattr(cli, "_serve", serve)
    return seen


def test_the_demo_listens_on_loopback_unless_told(served):
    assert cli.main([]) == 0
    assert served == {"mode": "demo", "listen": ("127.0.0.1:10717",), "systemd": False}
    assert cli.main(["--demo"]) == 0
    assert served["listen"] == ("127.0.0.1:10717",)
    assert cli.main(["--demo", "--web.listen-address", ":10717"]) == 0
    assert served == {"mode": "demo", "listen": (":10717",), "systemd": False}


def test_the_demo_answers_in_the_style_asked_for(served):
    assert cli.main(["--demo.style", "live", "--demo.count-style", "wrap-as-paused"]) == 0
    assert (served["style"], served["count_style"]) == ("live", "wrap-as-paused")


def test_a_real_config_listens_on_every_address_by_default(served, monkeypatch):
    monkeypatch.setenv("CONVOSO_AUTH_TOKEN", "unit-token")
    assert cli.main(["--config.file", str(ROOT / "config.example.yaml")]) == 0
    assert served == {"mode": "config", "listen": (":10717",), "systemd": False}


def test_every_listen_address_given_listens(served):
    # The flag is repeatable, as exporter-toolkit's: the last one no longer silently wins.
    argv = ["--demo", "--web.listen-address", "127.0.0.1:10717", "--web.listen-address", "[::1]:10718"]
    assert cli.main(argv) == 0
    assert served["listen"] == ("127.0.0.1:10717", "[::1]:10718")


@pytest.mark.parametrize("bad", ["nowhere", "::1:10717", "127.0.0.1:99999"])
def test_a_bad_listen_address_among_good_ones_is_one_usage_line_naming_it(served, capsys, bad):
    assert cli.main(["--demo", "--web.listen-address", ":10717", "--web.listen-address", bad]) == 2
    err = capsys.readouterr().err
    assert err == (f"convoso-exporter: error: --web.listen-address: invalid listen address {bad!r}: "
                   "expected [host]:port\n")
    assert served == {}


def test_systemd_socket_replaces_the_listen_addresses(served, caplog):
    assert cli.main(["--demo", "--web.systemd-socket"]) == 0
    assert served["systemd"] is True
    assert not caplog.records
    assert cli.main(["--demo", "--web.systemd-socket", "--web.listen-address", ":10717"]) == 0
    assert [r.getMessage() for r in caplog.records] == [
        "--web.listen-address is ignored: --web.systemd-socket listens on the sockets systemd passes"]


def test_version_names_the_revision(capsys):
    from convoso_exporter import __version__
    from convoso_exporter.buildinfo import revision

    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first == f"convoso-exporter, version {__version__} (revision: {revision()})"
    assert second.startswith("  python version: 3.")


def test_config_check_says_the_api_was_not_tried_and_how_to(capsys, monkeypatch):
    monkeypatch.setenv("CONVOSO_AUTH_TOKEN", "unit-token")
    path = str(ROOT / "config.example.yaml")
    assert cli.main(["--config.file", path, "--config.check"]) == 0
    out = capsys.readouterr().out
    assert f"{path}: OK, the file is valid (0 explicit targets)" in out
    assert f"'convoso-exporter check --config.file {path}'" in out
    assert "unit-token" not in out


def test_mixin_is_the_mixins_command_line(tmp_path, capsys):
    assert cli.main(["mixin", "--out", str(tmp_path)]) == 0
    written = sorted(line.removeprefix("wrote ") for line in capsys.readouterr().out.splitlines())
    assert written == sorted(file.path for file in generate(Settings()))
    assert cli.main(["mixin", "--check", "--output-dir", str(tmp_path)]) == 0
    with pytest.raises(SystemExit):
        cli.main(["mixin", "--help"])
    assert capsys.readouterr().out.startswith("usage: convoso-exporter mixin ")
