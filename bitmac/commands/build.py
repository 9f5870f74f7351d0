"""`bitmac build`: a binary or int8 unit, on its board top level, into a bitstream and a report."""

import json
import sys


HELP = "build a unit into a bitstream for a board (Verilog, utilisation and Fmax report)"

DESIGNS = ("binary", "int8")
#: The trained digits networks, all layers chained (boards.compare.NetworkPipeline), folded
#: for the board as `bitmac compare` folds them; driven by `bitmac run --network`.
NETWORK_DESIGNS = ("binary-net", "int8-net")
TOPS = ("hostlink", "harness")

# Default unit sizes: fit the smallest part (iCE40UP5K) with room for the host link; the int8
# default uses pe * simd = 8 multipliers, the UP5K's 8 DSP blocks.
DEFAULT_PARAMS = {
    "binary": {"n_in": 64, "n_out": 16, "pe": 4, "simd": 16},
    "int8": {"n_in": 64, "n_out": 16, "pe": 2, "simd": 4},
}


def add_arguments(parser):
    from ..boards.registry import DEFAULT_BOARD, board_names
    from ..boards.toolchain import DEFAULT_TOOLCHAIN, TOOLCHAINS
    parser.add_argument("--board", default=DEFAULT_BOARD, metavar="BOARD",
                        help=f"target board (default {DEFAULT_BOARD}; one of "
                             f"{', '.join(board_names())}; see `bitmac boards`)")
    parser.add_argument("--design", choices=DESIGNS + NETWORK_DESIGNS, default="binary",
                        help="unit to build (default binary), or a whole trained digits "
                             "network (binary-net, int8-net; unit options do not apply)")
    for option, key in (("--n-in", "n_in"), ("--n-out", "n_out"), ("--pe", "pe"),
                        ("--simd", "simd")):
        parser.add_argument(option, dest=key, type=int, default=None,
                            help=f"unit parameter {key} (default: binary "
                                 f"{DEFAULT_PARAMS['binary'][key]}, int8 "
                                 f"{DEFAULT_PARAMS['int8'][key]})")
    parser.add_argument("--mode", default=None,
                        help="unit output: acc (accumulators, default); binary also threshold, "
                             "int8 also requant")
    parser.add_argument("--packed", action="store_true",
                        help="int8: two int8 products per DSP block (iCE40 UltraPlus SB_MAC16 "
                             "8x8 mode; needs simd >= 2)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="any other unit constructor argument (integer or text); repeatable")
    parser.add_argument("--top", choices=TOPS, default="hostlink",
                        help="hostlink: UART host link + unit, ready for `bitmac run` (default); "
                             "harness: the unit alone, fed by LFSRs, to measure its cost")
    parser.add_argument("--baud", type=int, default=None,
                        help="host link serial rate (default 115200)")
    parser.add_argument("--clock-mhz", type=float, default=None,
                        help="design clock (default: the board's, see `bitmac boards`)")
    parser.add_argument("--toolchain", choices=TOOLCHAINS, default=DEFAULT_TOOLCHAIN,
                        help="yowasp: Yosys/nextpnr from PyPI (default); system: tools on PATH")
    parser.add_argument("--allow-timing-fail", action="store_true",
                        help="keep the bitstream even when the design clock is not met")
    parser.add_argument("--no-dsp", action="store_true",
                        help="iCE40: build multipliers from logic instead of the DSP blocks")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds for the whole build (default 1800)")
    parser.add_argument("-o", "--output", default=None, metavar="DIR",
                        help="output folder (default build/<board>-<design>)")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON instead of a table")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def _parse_param(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--param wants KEY=VALUE, not {text!r}")
    try:
        return key.replace("-", "_"), int(value)
    except ValueError:
        return key.replace("-", "_"), value


def unit_params(args, design=None):
    """The unit's constructor arguments from the command line (defaults per design):
    ``--n-in``, ``--n-out``, ``--pe``, ``--simd``, ``--mode``, ``--packed`` and any ``--param``
    (also for `bitmac run --port sim`, which names the design itself)."""
    design = design or args.design
    if design in NETWORK_DESIGNS:
        return {}
    params = dict(DEFAULT_PARAMS[design])
    for key in ("n_in", "n_out", "pe", "simd"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    if args.mode is not None:
        params["mode"] = args.mode
    if args.packed:
        if design != "int8":
            raise ValueError(f"--packed applies to the int8 design, not {design}")
        params["packed"] = True
    params.update(_parse_param(text) for text in getattr(args, "param", []))
    return params


def make_design(args, board, clock_hz):
    """The top level ``bitmac build`` hands to the board build."""
    if args.design in NETWORK_DESIGNS:
        from ..boards.top import make_network_top, network_units
        kind = args.design[:-len("-net")]
        if args.top == "harness":
            from ..boards.compare import NetworkPipeline
            from ..boards.harness import StimulusHarness
            return StimulusHarness(NetworkPipeline(network_units(kind, board.name)),
                                   pin=board.status_pin)
        options = {} if args.baud is None else {"baud": args.baud}
        return make_network_top(kind, board.name, clk_freq=int(clock_hz), **options)
    from ..boards.top import BoardTop, make_unit
    params = unit_params(args)
    if params.get("packed"):
        # Refused before anything is built (elaboration would stop on it too).
        from ..hdl.dsp import has_dual_int8_dsp, packing_refused
        if not has_dual_int8_dsp(board.part):
            raise ValueError(packing_refused(board.part))
    if args.top == "harness":
        from ..boards.harness import StimulusHarness
        return StimulusHarness(make_unit(args.design, params), pin=board.status_pin)
    options = {} if args.baud is None else {"baud": args.baud}
    return BoardTop(make_unit(args.design, params), int(clock_hz), **options)


def run(args):
    from ..boards.build import build
    from ..boards.registry import get_board
    from ..boards.report import format_report
    board = get_board(args.board)
    clock_hz = args.clock_mhz * 1e6 if args.clock_mhz else board.clock.default_hz
    design = make_design(args, board, clock_hz)
    output = args.output or f"build/{board.name}-{args.design}"
    info = {"design": args.design, "top": args.top, "params": unit_params(args)}
    result = build(design, board, name=f"bitmac_{args.design}", build_dir=output,
                   toolchain=args.toolchain, clock_hz=clock_hz, dsp=not args.no_dsp,
                   timeout=args.timeout, progress=not args.quiet,
                   allow_timing_fail=args.allow_timing_fail, design_info=info)
    if args.json:
        print(json.dumps(result.report, indent=2))
    else:
        print(format_report(result.report))
        if not result.report["timing_met"]:
            print("timing NOT met (kept because of --allow-timing-fail)", file=sys.stderr)
        for label, path in (("bitstream", result.bitstream), ("verilog", result.verilog),
                            ("report", result.report_json)):
            print(f"{label:<10}{path}")
    return 0
