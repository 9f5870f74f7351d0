"""`bitmac compare`: quantization vs binarization on one board, end to end.

Trains (or loads the cached) float, int8 and binary digit networks, evaluates them, runs both
networks through their RTL units under Verilator bit-exactly against the golden inference,
builds both network engines for the board, and writes report.md, report.json and PNG plots
(see :mod:`bitmac.boards.compare`).
"""

import sys

from ..boards.compare import DEFAULT_OUT, format_table, run_compare
from ..boards.registry import DEFAULT_BOARD, board_names

HELP = "compare float, int8 and binary networks: accuracy, RTL check, board cost and speed"

__all__ = ["HELP", "add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("--board", default=DEFAULT_BOARD, choices=board_names(),
                        metavar="BOARD",
                        help=f"board to build for (default: {DEFAULT_BOARD}; "
                             f"see 'bitmac boards')")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"folder for report.md, report.json, plots and builds "
                             f"(default: {DEFAULT_OUT})")
    parser.add_argument("--images", type=int, default=None, metavar="N",
                        help="run only the first N test images through the RTL "
                             "(default: the whole test split, 360)")
    parser.add_argument("--no-rtl", action="store_true", help="skip the RTL simulation")
    parser.add_argument("--no-build", action="store_true", help="skip the board builds")
    parser.add_argument("--retrain", action="store_true",
                        help="train again instead of loading the cached networks")
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help="trained-network cache (default: $BITMAC_CACHE or ~/.cache/bitmac)")
    parser.add_argument("--simulator", default="verilator", choices=("verilator", "icarus"),
                        help="simulator of the RTL check (default: verilator)")
    parser.add_argument("--build-timeout", type=float, default=1200, metavar="SECONDS",
                        help="time limit of each board build (default: 1200)")


def _log(message):
    print(message, file=sys.stderr, flush=True)


def compare_and_print(args):
    """Run the comparison with the parsed ``args``, print the table; returns the exit code."""
    if args.images is not None and args.images < 1:
        raise ValueError(f"--images must be at least 1, not {args.images}")
    results = run_compare(args.board, args.out, images=args.images, rtl=not args.no_rtl,
                          build=not args.no_build, cache_dir=args.cache, retrain=args.retrain,
                          simulator=args.simulator, build_timeout=args.build_timeout,
                          log=_log)
    print(f"Quantization vs binarization on {results['board_title']} ({results['part']}):")
    print(format_table(results))
    print(f"report: {args.out}/report.md ({results['seconds']:.0f} s)")
    failed = [kind for kind, entry in results["networks"].items()
              if (entry.get("build") or {}).get("status") in ("failed", "unavailable")
              or (entry.get("rtl") or {}).get("status") == "unavailable"]
    if failed:
        print(f"incomplete: {', '.join(failed)} (see the report)", file=sys.stderr)
        return 1
    return 0


def run(args):
    return compare_and_print(args)
