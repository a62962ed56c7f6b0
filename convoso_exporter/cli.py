"""Command line: run the exporter (default: the demo), `check`, `simulate`, `logout` and `mixin`.

Flags follow the Prometheus ecosystem (`--web.listen-address`, `--config.file`, ...).
Every user error ends as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from convoso_exporter import __version__
from convoso_exporter.config.schema import Config, ConfigError, load_config

PROG = "convoso-exporter"
DEFAULT_LISTEN = ":10717"
# The demo serves simulated numbers with no auth: this machine only, unless asked.
DEMO_LISTEN = "127.0.0.1:10717"
EXIT_USAGE = 2

log = logging.getLogger(__name__)


class UsageError(Exception):
    """A one-line message for the user; exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "simulate":
            return _simulate(argv[1:])
        if argv and argv[0] == "logout":
            return _logout(argv[1:])
        if argv and argv[0] == "check":
            return _check(argv[1:])
        if argv and argv[0] == "mixin":
            return _mixin(argv[1:])
        return _run(argv)
    except (UsageError, ConfigError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


# --- run ----------------------------------------------------------------------------


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Prometheus exporter for the Convoso Agent Monitor API. "
        "With no --config.file it runs the demo: a simulated contact center on loopback.",
        epilog=f"Other commands: '{PROG} check --help', '{PROG} simulate --help', '{PROG} logout --help', "
        f"'{PROG} mixin --help'.",
    )
    parser.add_argument("--config.file", dest="config_file", help="YAML configuration file")
    parser.add_argument(
        "--config.check", dest="config_check", action="store_true",
        help=f"validate the config file and exit (no API call: '{PROG} check' tries it against the API)",
    )
    parser.add_argument("--demo", action="store_true", help="run against the built-in simulator (default without --config.file)")
    parser.add_argument(
        "--demo.style", dest="demo_style", choices=["documented", "live"], default="documented",
        help="how the demo's simulator answers: as the vendor documents, or as the live service is known to "
        "(wrapped, numbers as text, ...: the landing page then lists what it sent that the model did not expect)",
    )
    parser.add_argument(
        "--demo.count-style", dest="demo_count_style", default="documented",
        choices=["documented", "ringing-as-ready", "wrap-as-paused", "logged-in-total"],
        help="how the demo's simulator counts its own agent_* figures (not documented: the landing page and "
        "convoso_exporter_count_disagreement then show the gap)",
    )
    parser.add_argument(
        "--web.listen-address", dest="listen", action="append", default=None, metavar="ADDRESS",
        help=f"address to listen on, repeatable: each one listens (default {DEFAULT_LISTEN}: IPv6 and IPv4; "
        f"0.0.0.0:PORT IPv4 only, [::]:PORT, [::1]:PORT, HOST:PORT; the demo: {DEMO_LISTEN}, this machine only)",
    )
    parser.add_argument(
        "--web.systemd-socket", dest="systemd_socket", action="store_true",
        help="listen on the sockets systemd passes (socket activation) instead of --web.listen-address",
    )
    parser.add_argument("--web.telemetry-path", dest="telemetry_path", default="/metrics", help="path of the metrics (default /metrics)")
    parser.add_argument("--web.config.file", dest="web_config", help="TLS / basic auth config (exporter-toolkit format)")
    _add_log_flags(parser)
    parser.add_argument("--shard", help="i/n: poll only the targets of shard i of n (stable hash of the target name)")
    parser.add_argument("--version", action=_Version, help="print the version, the git revision and exit")
    return parser


class _Version(argparse.Action):
    """`--version` as the ecosystem prints it: version, revision (the git commit), Python."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest=dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from convoso_exporter.buildinfo import version_text

        print(version_text(PROG, __version__))
        parser.exit()


def _add_log_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log.level", dest="log_level", default="info", choices=["debug", "info", "warn", "error"])
    parser.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"])


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """argparse prints usage and exits 2 on its own; keep that, it is already one clear line."""
    return parser.parse_args(argv)


def _run(argv: Sequence[str]) -> int:
    args = _parse(_run_parser(), argv)
    from convoso_exporter.logs import setup_logging

    setup_logging(args.log_level, args.log_format)
    if args.config_check:
        if not args.config_file:
            raise UsageError("--config.check needs --config.file")
        config = load_config(args.config_file)
        print(f"{args.config_file}: OK, the file is valid ({len(config.targets)} explicit targets)")
        for warning in config.warnings:
            print(f"{args.config_file}: warning: {warning}")
        # The file being valid says nothing of the token, the host or the ids.
        print(f"Not tried against the API: '{PROG} check --config.file {args.config_file}' makes one real call "
              "per target and says what to fix.")
        return 0
    if args.telemetry_path in ("/", "/-/healthy", "/-/ready", "/-/reload") or not args.telemetry_path.startswith("/"):
        raise UsageError(f"--web.telemetry-path: {args.telemetry_path!r} must start with / and not clash with built-in endpoints")
    demo = args.demo or not args.config_file
    if args.systemd_socket and args.listen:
        log.warning("--web.listen-address is ignored: --web.systemd-socket listens on the sockets systemd passes")
    if not args.listen:
        args.listen = [DEMO_LISTEN if demo else DEFAULT_LISTEN]
    options = _run_options(args)
    if demo:
        return asyncio.run(_serve_demo(options, args.demo_style, args.demo_count_style))
    path = args.config_file
    config = load_config(path)
    return asyncio.run(_serve(config, options, lambda: load_config(path)))


def _run_options(args: argparse.Namespace):
    from convoso_exporter.app import RunOptions
    from convoso_exporter.shard import parse_shard
    from convoso_exporter.web.http import parse_listen_address
    from convoso_exporter.web.webconfig import WebConfigError, load_web_config

    for address in args.listen:  # fail now, naming the flag and the address, not at bind time
        try:
            parse_listen_address(address)
        except ValueError as exc:
            raise UsageError(f"--web.listen-address: {exc}") from None
    try:
        web_config = load_web_config(args.web_config) if args.web_config else None
    except WebConfigError as exc:
        raise UsageError(str(exc)) from None
    shard = parse_shard(args.shard) if args.shard else None
    return RunOptions(
        listen_addresses=tuple(args.listen),
        systemd_socket=args.systemd_socket,
        telemetry_path=args.telemetry_path,
        web_config=web_config,
        shard=shard,
    )


async def _serve(config: Config, options, loader, banner: str | None = None) -> int:
    from convoso_exporter.app import App
    from convoso_exporter.web.http import ListenError
    from convoso_exporter.web.systemd import SystemdSocketError

    app = App(config, options, config_loader=loader, banner=banner)
    try:
        return await app.run()
    except ListenError as exc:  # e.g. the port is taken: names the address
        raise UsageError(f"--web.listen-address {exc}") from None
    except SystemdSocketError as exc:
        raise UsageError(f"--web.systemd-socket: {exc}") from None


async def _serve_demo(options, style: str = "documented", count_style: str = "documented") -> int:
    from convoso_exporter.demo import start_demo

    sim, config = await start_demo(style=style, count_style=count_style)
    # Debug: before the exporter binds its port, stderr must stay one line if that fails.
    log.debug("demo mode: simulator listening at %s", sim.base_url)
    # Shown on the landing page, the wallboard and in /api/v1/snapshot, and logged once listening.
    banner = "Demo mode: every number here is simulated (the built-in demo simulator; no Convoso account is used)."
    try:
        return await _serve(config, options, None, banner)
    finally:
        await sim.close()


# --- check --------------------------------------------------------------------------


def _check(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} check",
        description="Validate the config, then make one real search per target (and one discovery round) "
        "and print what works and what to do about what does not. Exit 0 only when every target works.",
    )
    parser.add_argument("--config.file", dest="config_file", required=True, help="YAML configuration file")
    parser.add_argument(
        "--record", metavar="DIR",
        help="save every request made (never the token) and every answer to DIR (new or empty), with a manifest "
        f"and what the exporter made of them (expected.prom); '{PROG} simulate --replay DIR' serves them",
    )
    parser.add_argument(
        "--redact", action=argparse.BooleanOptionalAction, default=True,
        help="with --record: replace agents' names with pseudonyms, mask phone numbers, lead ids, e-mails and "
        "anything like a token, keeping shape, types and counts (default: on; --no-redact keeps them)",
    )
    args = _parse(parser, argv)
    from convoso_exporter.check import check, report

    config = load_config(args.config_file)
    print(f"{args.config_file}: the file is valid", file=sys.stdout)
    for warning in config.warnings:
        print(f"{args.config_file}: warning: {warning}", file=sys.stdout)
    if not args.record:
        outcomes, budget = asyncio.run(check(config))
        return report(outcomes, budget, sys.stdout)
    from convoso_exporter.record.folder import RecordingError
    from convoso_exporter.record.session import record_check, summary

    try:
        recorded = asyncio.run(record_check(config, Path(args.record), redact=args.redact))
    except RecordingError as exc:
        raise UsageError(str(exc)) from None
    code = report(recorded.outcomes, recorded.budget, sys.stdout)
    print(summary(recorded), file=sys.stdout)
    return code


# --- mixin --------------------------------------------------------------------------


def _mixin(argv: Sequence[str]) -> int:
    """`python -m convoso_exporter.mixin` under the installed command: the rules, the
    Kubernetes manifests and the dashboards for a pip user, who has no checkout."""
    from convoso_exporter.mixin.__main__ import main as mixin_main

    return mixin_main(list(argv), prog=f"{PROG} mixin")


# --- simulate -----------------------------------------------------------------------


def _simulate(argv: Sequence[str]) -> int:
    from convoso_exporter.logs import setup_logging
    from convoso_exporter.simulator import flags as simulator_flags
    from convoso_exporter.simulator import server as simulator_server

    parser = argparse.ArgumentParser(prog=f"{PROG} simulate", description="Serve a simulated Convoso Agent Monitor API.")
    simulator_flags.add_arguments(parser)
    parser.add_argument(
        "--replay", metavar="DIR",
        help=f"serve the answers recorded by '{PROG} check --record DIR' instead of a simulated center "
        "(matched by endpoint and parameters; the center's flags are not used)",
    )
    _add_log_flags(parser)
    args = _parse(parser, argv)
    setup_logging(args.log_level, args.log_format)
    try:
        if args.replay:
            from convoso_exporter.record.folder import RecordingError
            from convoso_exporter.record.replay import serve

            try:
                return asyncio.run(serve(args.replay, args.listen, args.auth_token))
            except RecordingError as exc:
                raise UsageError(str(exc)) from None
        return asyncio.run(simulator_server.run(args))
    except OSError as exc:
        raise UsageError(f"--web.listen-address: {exc.strerror or exc}") from None


# --- logout -------------------------------------------------------------------------


def _logout(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} logout",
        description="Log an agent out (POST /agent-monitor/logout). Uses the config file's "
        "base_url and token, or CONVOSO_AUTH_TOKEN and CONVOSO_BASE_URL.",
    )
    parser.add_argument("--user-id", dest="user_id", required=True, help="the agent's user_id")
    parser.add_argument("--config.file", dest="config_file", help="YAML configuration file (for base_url and token)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = _parse(parser, argv)
    from convoso_exporter.logout import logout_agent, settings_for_logout

    settings = settings_for_logout(args.config_file, os.environ)
    if not args.yes and not _confirm(f"Log out agent {args.user_id} at {settings.base_url}? [y/N] "):
        print("aborted: nothing was changed (pass --yes to skip the question)", file=sys.stderr)
        return 1
    return asyncio.run(logout_agent(settings, args.user_id))


def _confirm(question: str) -> bool:
    """Ask on stderr, read one line from stdin; no answer (EOF) means no."""
    print(question, end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline() if sys.stdin else ""
    return answer.strip().lower() in ("y", "yes")
