"""Simulation speed: Amaranth's simulator vs cocotb + Verilator on the same unit and size.

Runs the same random regression (bitmac.sim.regression: weight load, vectors, reload, more
vectors, every output beat checked against the golden model, random stalls on every stream)
on BinaryMVU in both simulators, in one run, and reports cycles/s, golden-checked MACs/s and
the Verilator/Amaranth ratio. Times exclude the Verilator build and the simulator start-up:
both are timed inside the simulation, from the first stimulus to the last result. Writes
bench/results/sim_speed.json.

    python bench/sim_speed.py [--vectors N] [--n-in ...]
"""

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from bitmac.sim.regression import regress


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="binary", choices=["binary", "int8"])
    parser.add_argument("--n-in", type=int, default=256)
    parser.add_argument("--n-out", type=int, default=32)
    parser.add_argument("--pe", type=int, default=8)
    parser.add_argument("--simd", type=int, default=64)
    parser.add_argument("--vectors", type=int, default=300)
    parser.add_argument("--stall", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / "sim_speed.json")
    args = parser.parse_args(argv)
    sizes = dict(n_in=args.n_in, n_out=args.n_out, pe=args.pe, simd=args.simd)
    rows = {}
    for simulator in ("amaranth", "verilator"):
        result = regress(args.design, simulator=simulator, vectors=args.vectors,
                         seed=args.seed, stall=args.stall, batches=1, **sizes)
        if result.mismatches:
            print(result.summary(), file=sys.stderr)
            return 1
        rows[simulator] = {"vectors": result.vectors, "cycles": result.cycles,
                           "macs_checked": result.macs, "seconds": round(result.seconds, 3),
                           "cycles_per_s": round(result.cycles_per_second),
                           "macs_per_s": round(result.macs_per_second)}
    ratio = rows["verilator"]["cycles_per_s"] / max(rows["amaranth"]["cycles_per_s"], 1)
    print(f"{args.design} MVU {args.n_in}x{args.n_out} pe={args.pe} simd={args.simd}, "
          f"{args.vectors} vectors, stall {args.stall}")
    print(f"{'simulator':<10} {'cycles':>8} {'seconds':>8} {'cycles/s':>10} {'MACs/s':>12}")
    for simulator, row in rows.items():
        print(f"{simulator:<10} {row['cycles']:>8} {row['seconds']:>8.2f} "
              f"{row['cycles_per_s']:>10,} {row['macs_per_s']:>12,}")
    print(f"verilator / amaranth: {ratio:.1f}x")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "design": args.design, **sizes, "vectors": args.vectors, "stall": args.stall,
        "results": rows, "verilator_over_amaranth": round(ratio, 2),
        "host": {"python": platform.python_version(), "cpus": os.cpu_count()}}, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
