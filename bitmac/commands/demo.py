"""`bitmac demo`: the main job, on the default board.

1. A binary and an int8 GEMM of the same shape through the golden models, every output checked
   against a plain int64 matrix product (one table row per check).
2. The comparison of ``bitmac compare`` (:mod:`bitmac.boards.compare`): float, int8 and binary
   digit networks trained (or loaded from the cache) and evaluated, both networks through their
   RTL units under Verilator on the whole test split, both network engines built for the
   board, report.md / report.json / plots written, and the table printed.

It exits 1 when a golden check or the RTL check finds a difference, or a build fails.
``--golden-only`` stops after step 1.
"""

import argparse
import time
from dataclasses import dataclass

import numpy as np

from ..boards.compare import DEFAULT_OUT
from ..boards.registry import DEFAULT_BOARD, board_names
from ..golden import binary_gemm, int8_gemm, pack_bits
from .compare import compare_and_print

HELP = ("the main job: golden GEMM checks, then float vs int8 vs binary on the default board "
        "(accuracy, RTL check, build, report)")

__all__ = ["HELP", "add_arguments", "run", "CheckResult", "golden_gemm_checks", "format_table"]


@dataclass
class CheckResult:
    """One row of the demo table."""
    name: str
    shape: tuple  # (M, K, N)
    matching: int
    total: int
    seconds: float

    @property
    def macs(self):
        m, k, n = self.shape
        return m * k * n

    @property
    def passed(self):
        return self.matching == self.total


def _timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def _int64_matmul(a, w):
    # The plain reference: an integer matrix product, no packing, no tricks.
    return a.astype(np.int64) @ w.astype(np.int64).T


def golden_gemm_checks(m, k, n, seed=0):
    """Run the binary and the int8 golden GEMM on random (M, K) x (N, K) operands and count
    the outputs equal to the int64 matmul. Returns a list of :class:`CheckResult`."""
    for name, value in (("M", m), ("K", k), ("N", n)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    rng = np.random.default_rng(seed)
    results = []

    a_pm1 = rng.choice(np.array([-1, 1], dtype=np.int8), size=(m, k))
    w_pm1 = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, k))
    a_bits, w_bits = pack_bits(a_pm1), pack_bits(w_pm1)
    got, seconds = _timed(binary_gemm, a_bits, w_bits, k)
    matching = int(np.count_nonzero(got == _int64_matmul(a_pm1, w_pm1)))
    results.append(CheckResult("binary GEMM (XNOR-popcount)", (m, k, n), matching, got.size,
                               seconds))

    a_int8 = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    w_int8 = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    # The extremes belong in every run: one row and one neuron of -128 at full depth.
    a_int8[0, :] = -128
    w_int8[0, :] = -128
    got, seconds = _timed(int8_gemm, a_int8, w_int8)
    matching = int(np.count_nonzero(got == _int64_matmul(a_int8, w_int8)))
    results.append(CheckResult("int8 GEMM (int32 accumulation)", (m, k, n), matching, got.size,
                               seconds))
    return results


def format_table(results):
    """The demo table as text, one line per check."""
    header = f"{'check':<32} {'M x K x N':>18} {'MACs':>12} {'agree':>17} {'time':>10}"
    lines = [header, "-" * len(header)]
    for result in results:
        m, k, n = result.shape
        verdict = "ok" if result.passed else "MISMATCH"
        lines.append(f"{result.name:<32} {f'{m} x {k} x {n}':>18} {result.macs:>12,} "
                     f"{f'{result.matching}/{result.total} {verdict}':>17} "
                     f"{result.seconds * 1e3:>7.2f} ms")
    return "\n".join(lines)


def add_arguments(parser):
    parser.add_argument("--shape", nargs=3, type=int, default=(64, 1000, 32),
                        metavar=("M", "K", "N"),
                        help="GEMM shape: M input vectors of depth K, N output neurons "
                             "(default: 64 1000 32)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--golden-only", action="store_true",
                        help="only the golden GEMM checks, not the comparison")
    parser.add_argument("--board", default=DEFAULT_BOARD, choices=board_names(),
                        metavar="BOARD", help=f"board of the comparison (default: {DEFAULT_BOARD})")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"folder of the comparison report (default: {DEFAULT_OUT})")


def run(args):
    m, k, n = args.shape
    results = golden_gemm_checks(m, k, n, seed=args.seed)
    print(f"Golden models against the int64 matrix product (seed {args.seed}):")
    print(format_table(results))
    failed = [result.name for result in results if not result.passed]
    if failed:
        print(f"mismatch in: {', '.join(failed)}")
        return 1
    print("all outputs agree")
    if args.golden_only:
        return 0
    print()
    return compare_and_print(argparse.Namespace(
        board=args.board, out=args.out, images=None, no_rtl=False, no_build=False,
        retrain=False, cache=None, simulator="verilator", build_timeout=1200))
