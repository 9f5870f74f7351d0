"""The command line: every subcommand has help, user errors are one line without a traceback."""

import subprocess
import sys

import pytest

from bitmac.cli import SUBCOMMANDS, build_parser


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "bitmac", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_every_subcommand_is_registered():
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert set(SUBCOMMANDS) == set(choices)
    assert {"sim", "verilog", "build", "flash", "boards", "run", "compare", "demo"} <= set(choices)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_subcommand_help(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: bitmac " + command in result.stdout


def test_no_command_prints_help_and_fails():
    result = run_cli()
    assert result.returncode == 2
    assert "usage: bitmac" in result.stdout


def test_unknown_command_is_rejected():
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("bitmac ")
