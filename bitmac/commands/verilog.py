"""`bitmac verilog`: write a unit's Verilog and its port map (FILE.v + FILE.ports.json)."""

from pathlib import Path

HELP = "write the Verilog of a unit (popcount, binary, int8-mac, int8) and its port map"


def add_arguments(parser):
    from ..sim.verilog import DESIGNS
    parser.add_argument("--design", required=True, choices=sorted(DESIGNS),
                        help="unit to export")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="FILE.v",
                        help="Verilog file to write; the port map goes to FILE.ports.json")
    parser.add_argument("--name", help="Verilog module name (default: the file name)")
    sizes = parser.add_argument_group("sizes (each design takes the ones it needs)")
    sizes.add_argument("--width", type=int, default=64, help="popcount: input bits (64)")
    sizes.add_argument("--n-in", type=int, default=256, help="binary/int8: inputs per vector (256)")
    sizes.add_argument("--n-out", type=int, default=64, help="binary/int8: output neurons (64)")
    sizes.add_argument("--pe", type=int, default=8, help="binary/int8: neurons in parallel (8)")
    sizes.add_argument("--simd", type=int, default=None,
                       help="binary/int8: inputs per cycle (binary 64, int8 8)")
    sizes.add_argument("--mode", default=None,
                       help="binary: acc|threshold (acc); int8: acc|requant (acc)")
    sizes.add_argument("--acc-width", type=int, default=32, help="int8-mac: accumulator bits (32)")
    sizes.add_argument("--packed", action="store_true",
                       help="int8/int8-mac: two int8 products per DSP block (iCE40UP5K SB_MAC16 "
                            "8x8 mode); written as a behavioural model unless --dsp-primitive")
    sizes.add_argument("--dsp-primitive", action="store_true",
                       help="with --packed: instantiate SB_MAC16 (for iCE40 UltraPlus flows; "
                            "simulate it with Yosys's ice40 cells_sim.v)")


PACKED_DESIGNS = ("int8", "int8-mac")


def design_sizes(args):
    """The keyword sizes of ``args`` for ``make_design``, with per-design defaults."""
    simd = args.simd if args.simd is not None else (64 if args.design == "binary" else 8)
    if args.packed and args.design not in PACKED_DESIGNS:
        raise ValueError(f"--packed applies to {' and '.join(PACKED_DESIGNS)}, not "
                         f"{args.design}")
    if args.dsp_primitive and not args.packed:
        raise ValueError("--dsp-primitive needs --packed")
    return {"width": args.width, "n_in": args.n_in, "n_out": args.n_out, "pe": args.pe,
            "simd": simd, "mode": args.mode or "acc", "acc_width": args.acc_width,
            "packed": args.packed or None,
            "dsp_implementation": "sb_mac16" if args.dsp_primitive else None}


def run(args):
    from ..sim.verilog import DESIGNS, make_design, write_verilog
    sizes = design_sizes(args)
    component = make_design(args.design, **sizes)
    used = {key: value for key, value in sizes.items() if key in DESIGNS[args.design].params}
    name = args.name or args.output.stem.replace("-", "_").replace(".", "_")
    verilog_path, ports_path = write_verilog(
        component, args.output, name=name,
        description={"design": args.design, "sizes": used})
    print(f"wrote {verilog_path} (module {name}) and {ports_path}")
    return 0
