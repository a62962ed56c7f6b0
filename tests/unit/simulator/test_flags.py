"""convoso_exporter.simulator.flags: the `simulate` command's flags, their defaults and
their checks."""

from __future__ import annotations

import argparse

import pytest

from convoso_exporter.simulator import flags as simulator_flags


def test_simulate_timezone_flag_reaches_the_center():
    parser = argparse.ArgumentParser()
    simulator_flags.add_arguments(parser)
    assert parser.parse_args([]).timezone == "UTC"
    assert parser.parse_args(["--timezone", "America/New_York"]).timezone == "America/New_York"
    assert "/_sim/truth" in parser.format_help() and "glitch" in parser.format_help()


def test_simulate_machine_share_and_deny_flags():
    parser = argparse.ArgumentParser()
    simulator_flags.add_arguments(parser)
    defaults = parser.parse_args([])
    assert defaults.machine_share == 0.3 and defaults.deny == []
    args = parser.parse_args(
        ["--machine-share", "0.25", "--deny-endpoint", "performance", "--deny-endpoint", "user_activity"]
    )
    assert args.machine_share == 0.25 and args.deny == ["performance", "user_activity"]


@pytest.mark.parametrize(
    "argv",
    [["--latency", "soon"], ["--drop-ratio", "1.5"], ["--agents", "-3"], ["--style", "fancy"], ["--queues", "x"],
     ["--timezone", "Mars/Olympus"], ["--count-style", "loose"], ["--machine-share", "1"],
     ["--deny-endpoint", "search"]],
)
def test_simulate_flags_are_checked(argv, capsys):
    parser = argparse.ArgumentParser()
    simulator_flags.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(argv)
    assert argv[0] in capsys.readouterr().err
