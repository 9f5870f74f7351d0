"""The ``bitmac`` command line: a thin layer over bitmac.sim and bitmac.boards.

Each subcommand lives in its own module ``bitmac.commands.<name>`` that defines ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int``. User errors (:class:`BitmacError`,
``ValueError`` from parameter checks) are printed on one line, never as a traceback.
"""

import argparse
import importlib
import sys
import warnings

from . import __version__
from .errors import BitmacError

__all__ = ["main", "build_parser", "SUBCOMMANDS"]

# Order shown in `bitmac --help`.
SUBCOMMANDS = ["demo", "sim", "verilog", "build", "flash", "boards", "run", "compare"]


def _load(name):
    return importlib.import_module(f"bitmac.commands.{name}")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bitmac",
        description="Binary (XNOR-popcount) vs int8 MAC arithmetic: simulate, export Verilog, "
                    "build, flash and compare on FPGA boards.")
    parser.add_argument("--version", action="version", version=f"bitmac {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = _load(name)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    # A unit whose parameters are refused was created but never elaborated; Amaranth would
    # warn about it (whenever Python collects it), on top of the one-line error.
    from amaranth.hdl import UnusedElaboratable
    warnings.filterwarnings("ignore", category=UnusedElaboratable)
    try:
        return int(args._run(args) or 0)
    except BitmacError as error:
        print(f"bitmac {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except (ValueError, FileNotFoundError, PermissionError) as error:
        print(f"bitmac {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"bitmac {args.command}: interrupted", file=sys.stderr)
        return 130
