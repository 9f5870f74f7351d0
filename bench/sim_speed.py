"""Simulation speed: Amaranth's simulator vs cocotb + Verilator on the same unit and size.

Runs the same random regression (bitmac.sim.regression: weight load, vectors, reload, more
vectors, every output beat checked against the golden model, random stalls on every stream)
on BinaryMVU and Int8MVU in both simulators, in one run, and reports cycles/s, golden-checked
MACs/s and the Verilator/Amaranth ratio per unit. Times exclude the Verilator build and the
simulator start-up: both are timed inside the simulation, from the first stimulus to the last
result. Writes bench/results/sim_speed.json.

    python bench/sim_speed.py [--design binary|int8|all] [--vectors N]
"""

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from bitmac.sim.regression import regress

#: Unit sizes measured: wide enough that a cycle carries many MACs, small enough to build fast.
SIZES = {"binary": dict(n_in=256, n_out=32, pe=8, simd=64, mode="acc"),
         "int8": dict(n_in=128, n_out=16, pe=4, simd=16, mode="acc")}


def measure(design, vectors, stall, seed):
    rows = {}
    for simulator in ("amaranth", "verilator"):
        result = regress(design, simulator=simulator, vectors=vectors, seed=seed, stall=stall,
                         batches=1, **SIZES[design])
        if result.mismatches:
            raise SystemExit(f"mismatches: {result.summary()}")
        rows[simulator] = {"vectors": result.vectors, "cycles": result.cycles,
                           "macs_checked": result.macs, "seconds": round(result.seconds, 3),
                           "cycles_per_s": round(result.cycles_per_second),
                           "macs_per_s": round(result.macs_per_second)}
    ratio = rows["verilator"]["cycles_per_s"] / max(rows["amaranth"]["cycles_per_s"], 1)
    return {**SIZES[design], "results": rows, "verilator_over_amaranth": round(ratio, 2)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="all", choices=["binary", "int8", "all"])
    parser.add_argument("--vectors", type=int, default=300)
    parser.add_argument("--stall", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / "sim_speed.json")
    args = parser.parse_args(argv)
    designs = list(SIZES) if args.design == "all" else [args.design]
    measured = {design: measure(design, args.vectors, args.stall, args.seed)
                for design in designs}
    print(f"{args.vectors} vectors per run, stall probability {args.stall}")
    print(f"{'unit':<28} {'simulator':<10} {'cycles':>8} {'seconds':>8} {'cycles/s':>10} "
          f"{'MACs/s':>12} {'ratio':>6}")
    for design, entry in measured.items():
        unit = (f"{design} {entry['n_in']}x{entry['n_out']} pe{entry['pe']} "
                f"simd{entry['simd']}")
        for simulator, row in entry["results"].items():
            ratio = f"{entry['verilator_over_amaranth']:.1f}x" if simulator == "verilator" else ""
            print(f"{unit:<28} {simulator:<10} {row['cycles']:>8} {row['seconds']:>8.2f} "
                  f"{row['cycles_per_s']:>10,} {row['macs_per_s']:>12,} {ratio:>6}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "vectors": args.vectors, "stall": args.stall, "seed": args.seed, "units": measured,
        "host": {"python": platform.python_version(), "cpus": os.cpu_count(),
                 "load_average": os.getloadavg()}}, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
