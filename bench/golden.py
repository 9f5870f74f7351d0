"""Benchmark of the golden GEMMs on the host CPU: the bit-packed binary_gemm (XNOR-popcount
with np.bitwise_count) against the same ±1 product as a float32 BLAS matmul, and against the
exact int8_gemm, on the same shapes and in the same run.

Prints a table (time, GMAC/s, bytes of the two operands, speed relative to the float32 BLAS
row of the same shape) and writes bench/results/golden.json. Every implementation's result is
checked against the others before it is timed; a mismatch exits 1.

    python bench/golden.py [--repeats N] [--shapes 256x4096x256 1024x1024x1024]
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits  # installed with scikit-learn

from bitmac.golden import binary_gemm, int8_gemm, pack_bits

RESULTS = Path(__file__).resolve().parent / "results" / "golden.json"
DEFAULT_SHAPES = ["256x4096x256", "1024x1024x1024"]


def parse_shape(text):
    try:
        m, k, n = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must be MxKxN, e.g. 256x4096x256, not {text!r}")
    if min(m, k, n) < 1:
        raise argparse.ArgumentTypeError(f"M, K and N must be >= 1 in {text!r}")
    return m, k, n


def best_time(function, repeats):
    """Best wall time of ``repeats`` calls (the least disturbed by other work on the host)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def bench_shape(m, k, n, repeats, rng):
    a_pm1 = rng.choice(np.array([-1, 1], dtype=np.int8), size=(m, k))
    w_pm1 = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, k))
    a_bits, w_bits = pack_bits(a_pm1), pack_bits(w_pm1)
    a_f32, w_f32 = a_pm1.astype(np.float32), w_pm1.astype(np.float32)
    a_int8 = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    w_int8 = rng.integers(-128, 128, size=(n, k), dtype=np.int8)

    # Same answers before any timing: packed and float agree on ±1, int8 on its own operands.
    reference = a_pm1.astype(np.int64) @ w_pm1.astype(np.int64).T
    if not (np.array_equal(binary_gemm(a_bits, w_bits, k), reference)
            and np.array_equal((a_f32 @ w_f32.T).astype(np.int64), reference)
            and np.array_equal(int8_gemm(a_int8, w_int8),
                               a_int8.astype(np.int64) @ w_int8.astype(np.int64).T)):
        raise SystemExit(f"bench/golden.py: results differ at shape {m}x{k}x{n}")

    # (name, function, operand bytes, BLAS thread limit: None = the library's default)
    cases = [
        ("binary_gemm (bit-packed XNOR-popcount)", lambda: binary_gemm(a_bits, w_bits, k),
         a_bits.nbytes + w_bits.nbytes, None),
        ("float32 ±1 matmul (BLAS)", lambda: a_f32 @ w_f32.T, a_f32.nbytes + w_f32.nbytes, None),
        ("float32 ±1 matmul (BLAS, 1 thread)", lambda: a_f32 @ w_f32.T,
         a_f32.nbytes + w_f32.nbytes, 1),
        ("int8_gemm (exact, int32 out)", lambda: int8_gemm(a_int8, w_int8),
         a_int8.nbytes + w_int8.nbytes, None),
    ]
    rows = []
    for name, function, operand_bytes, threads in cases:
        with threadpool_limits(limits=threads):
            function()  # warm-up: BLAS threads, page faults
            seconds = best_time(function, repeats)
        rows.append({"shape": [m, k, n], "implementation": name, "seconds": seconds,
                     "gmac_per_s": m * k * n / seconds / 1e9, "operand_bytes": operand_bytes,
                     "blas_threads": threads or blas_threads()})
    float_row = rows[1]
    for row in rows:
        row["speed_vs_float32_blas"] = row["gmac_per_s"] / float_row["gmac_per_s"]
        row["bytes_vs_float32"] = row["operand_bytes"] / float_row["operand_bytes"]
    return rows


def blas_threads():
    """Threads the BLAS library uses by default (0 when none is loaded)."""
    return max((pool["num_threads"] for pool in threadpool_info()
                if pool["user_api"] == "blas"), default=0)


def format_table(rows):
    header = (f"{'M x K x N':>16}  {'implementation':<40} {'time':>10} {'GMAC/s':>8} "
              f"{'operand bytes':>14} {'speed/f32':>9} {'bytes/f32':>9}")
    lines = [header, "-" * len(header)]
    for row in rows:
        m, k, n = row["shape"]
        lines.append(f"{f'{m}x{k}x{n}':>16}  {row['implementation']:<40} "
                     f"{row['seconds'] * 1e3:>7.2f} ms {row['gmac_per_s']:>8.2f} "
                     f"{row['operand_bytes']:>14,} {row['speed_vs_float32_blas']:>8.2f}x "
                     f"{row['bytes_vs_float32']:>8.4f}x")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", type=parse_shape,
                        default=[parse_shape(s) for s in DEFAULT_SHAPES], metavar="MxKxN")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per case (best kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    rng = np.random.default_rng(args.seed)
    rows = []
    for m, k, n in args.shapes:
        rows.extend(bench_shape(m, k, n, args.repeats, rng))
    print(format_table(rows))
    print(f"load average (1 min) during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    report = {
        "benchmark": "golden",
        "description": "bit-packed binary_gemm vs float32 ±1 BLAS matmul vs int8_gemm, host CPU",
        "timing": f"best of {args.repeats} calls after one warm-up",
        "seed": args.seed,
        "host": {"machine": platform.machine(), "processor": platform.processor(),
                 "cpus": os.cpu_count(), "python": platform.python_version(),
                 "numpy": np.__version__,
                 # Other work on the host slows every row, the BLAS threads most.
                 "load_average_1min": os.getloadavg()[0]},
        "notes": "binary_gemm runs on one NumPy thread (blas_threads does not apply to it); "
                 "the float32 and int8_gemm (float64 BLAS) rows use blas_threads threads",
        "rows": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
