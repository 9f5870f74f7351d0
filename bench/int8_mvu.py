"""Int8MVU alone on iCE40UP5K (iCEBreaker) and ECP5-85F (ULX3S): cost and speed per point, and
the binary/int8 MACs-per-second ratio on the same part.

Each point wraps ``Int8MVU(n_in, n_out, pe, simd, mode)`` in the stimulus harness
(:class:`bitmac.boards.harness.StimulusHarness`: every input bit from an LFSR-fed chain, every
output bit XOR-folded into one pin through a pipelined tree, so nothing is optimised away and
the fold does not limit Fmax), places and routes it with
YoWASP Yosys + nextpnr through :func:`bitmac.boards.build.build` (DSP inference on, a timeout
per build), and reports logic cells / LUT4s, flip-flops, block RAM, DSP blocks, Fmax, int8 MACs
per cycle (``pe * simd``), MACs per DSP and GMAC/s at Fmax. Packed points (``p``) put two
products in each DSP block (iCE40UP5K SB_MAC16 8x8 mode, :class:`bitmac.hdl.dsp.DualInt8Product`).
The matrix of every point is
``(16 * pe, 16 * simd)`` (16 neuron folds x 16 synapse folds), as in bench/binary_mvu.py.
Figures include the harness (its stimulus flip-flops and the XOR fold).

The headline ratio: binary GMAC/s over the best int8 GMAC/s on the same board, with the binary
point (:data:`BINARY_REFERENCE`) placed and routed in the same run by bench/binary_mvu.py's
``measure`` (``--binary-from-json``: the best point bench/binary_mvu.py recorded instead).

    python bench/int8_mvu.py [--board icebreaker ulx3s-85f] [--points 8x1 8x2p 16x8r32]
                             [--timeout 1500] [--quick] [--binary-from-json]

A point is ``PExSIMD`` (acc mode), with ``p`` packed, and ``rN`` for requant mode (shared
requantizer with ``requant_mul_cycles=N``), e.g. ``8x2p``, ``8x1r32``. Writes bench/results/int8_mvu.json (one entry per point, including
failures and timeouts, and the ratio per board).
"""

import argparse
import importlib.util
import inspect
import json
import platform as host_platform
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bitmac.boards.build import BuildError, build
from bitmac.boards.harness import StimulusHarness
from bitmac.boards.registry import get_board
from bitmac.hdl.int8_mvu import Int8MVU

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "int8_mvu.json"
BINARY_RESULTS = HERE / "results" / "binary_mvu.json"
# Options of bench/binary_mvu.py's measure() beyond the board and point, as its CLI defaults.
BINARY_DEFAULTS = {"stage_levels": 1}

# Design clock asked of the PLL: the targets (nextpnr then reports what it reached).
TARGET_MHZ = {"icebreaker": 60.0, "ulx3s-85f": 100.0}

DEFAULT_POINTS = {
    # UP5K: 8 SB_MAC16. 8x1: one whole MAC (multiplier, adder, accumulator) per DSP; 4x2:
    # DSP multipliers with a logic adder tree; 8x2p / 4x4p: packed, two products per DSP
    # (16 MACs/cycle on the 8 blocks); 8x1r32: requant mode, DSP-free requantizer.
    "icebreaker": ["8x1", "4x2", "8x2p", "4x4p", "8x1r32"],
    # ECP5-85F: 156 MULT18X18D (18x18). 128 MACs/cycle in three shapes, one requant point.
    "ulx3s-85f": ["16x8", "32x4", "8x16", "16x8r4"],
}
QUICK_POINTS = {"icebreaker": ["8x1", "8x2p"], "ulx3s-85f": ["16x8"]}
# The binary point of the headline ratio, built in the same run: the UP5K's best
# (bench/binary_mvu.py), and on the ECP5-85F the largest that meets 100 MHz (64x64 gives more
# GMAC/s but takes about 35 minutes to place and route; --binary-from-json uses it).
BINARY_REFERENCE = {"icebreaker": "14x32", "ulx3s-85f": "32x64"}

FOLDS = 16


POINT_SYNTAX = re.compile(r"(\d+)x(\d+)(p?)(?:r(\d+))?")


@dataclass(frozen=True)
class Point:
    """One bench point: ``PExSIMD``, ``p`` for packed (two products per DSP block), ``rN``
    for requant mode with ``requant_mul_cycles=N``."""
    pe: int
    simd: int
    mode: str = "acc"
    mul_cycles: int = 1
    packed: bool = False

    @property
    def name(self):
        return (f"{self.pe}x{self.simd}" + ("p" if self.packed else "")
                + (f"r{self.mul_cycles}" if self.mode == "requant" else ""))


def parse_point(text):
    """``"16x8"`` -> Point(16, 8); ``"8x2pr32"`` -> Point(8, 2, "requant", 32, packed=True)."""
    match = POINT_SYNTAX.fullmatch(text.lower())
    if not match:
        raise ValueError(f"a point is PExSIMD[p][rN] (p: packed, rN: requant with an N-cycle "
                         f"multiply), not {text!r}")
    pe, simd, packed, cycles = match.groups()
    return Point(int(pe), int(simd), "requant" if cycles else "acc", int(cycles or 1),
                 bool(packed))


def measure(board_name, point, *, timeout, build_root, reuse=False):
    board = get_board(board_name)
    pe, simd, mode = point.pe, point.simd, point.mode
    n_in, n_out = FOLDS * simd, FOLDS * pe
    unit = Int8MVU(n_in, n_out, pe, simd, mode, packed=point.packed,
                   requant_mul_cycles=point.mul_cycles if mode == "requant" else 1)
    harness = StimulusHarness(unit, pin=board.status_pin, pipelined_fold=True)
    name = f"i8mvu_{point.name}"
    entry = {
        "board": board.name, "part": board.part, "point": point.name,
        "pe": pe, "simd": simd, "mode": mode, "packed": point.packed,
        "requant_mul_cycles": point.mul_cycles if mode == "requant" else None,
        "n_in": n_in, "n_out": n_out, "macs_per_cycle": pe * simd,
        "lane_dsp_blocks": unit.dsp_blocks,
        "target_mhz": TARGET_MHZ.get(board.name),
        "harness_stimulus_bits": harness.stimulus_bits,
        "harness_observed_bits": harness.observed_bits, "harness_pipelined_fold": True,
    }
    start = time.monotonic()
    saved = build_root / board.name / name / f"{name}.report.json"
    if reuse and saved.exists():
        # Re-tabulate a finished build of the same point (same code assumed) without rebuilding.
        report = json.loads(saved.read_text())
        entry = _tabulate(entry, report, build_root / board.name / name / f"{name}.rpt",
                          saved, start, pe * simd)
        entry.update(seconds=report.get("build_seconds"), reused_build=True)
        return entry
    try:
        result = build(harness, board, name=name, build_dir=build_root / board.name / name,
                       clock_hz=(TARGET_MHZ.get(board.name) or 0) * 1e6 or None,
                       dsp=True, timeout=timeout, progress=True, allow_timing_fail=True,
                       design_info={"design": "Int8MVU", "pe": pe, "simd": simd, "mode": mode,
                                    "packed": point.packed, "n_in": n_in, "n_out": n_out})
    except (BuildError, ValueError) as error:
        entry.update(status="failed", error=str(error),
                     seconds=round(time.monotonic() - start, 1))
        return entry
    return _tabulate(entry, result.report, build_root / board.name / name / f"{name}.rpt",
                     result.report_json, start, pe * simd)


def _tabulate(entry, report, log, report_json, start, macs_per_cycle):
    """Fill ``entry`` from a normalised build report and the Yosys log."""
    resources = report["resources"]
    # Yosys 0.70's ice40_dsp can emit a wrong netlist when it folds an adder into a DSP
    # block (two blocks claiming one register, one driver replaced by a constant); it warns.
    conflicts = log.read_text(errors="replace").count("Driver-driver conflict") \
        if log.exists() else None
    fmax = min(clock["fmax_mhz"] for clock in report["clocks"]) if report["clocks"] else None
    dsps = resources.get("DSP", {}).get("used")
    entry.update(
        status="ok",
        luts=resources.get("LUT", {}).get("used"), ffs=resources.get("FF", {}).get("used"),
        bram=resources.get("BRAM", {}).get("used"),
        dsp=dsps, dsp_available=resources.get("DSP", {}).get("available"),
        lut_cell=resources.get("LUT", {}).get("cell"),
        luts_available=resources.get("LUT", {}).get("available"),
        fmax_mhz=fmax, timing_met=report["timing_met"],
        gmacs=round(macs_per_cycle * fmax / 1e3, 3) if fmax else None,
        macs_per_dsp=round(macs_per_cycle / dsps, 2) if dsps else None,
        driver_conflicts=conflicts,
        seconds=round(time.monotonic() - start, 1),
        report=str(report_json),
    )
    if conflicts:
        entry.update(status="failed", error=f"Yosys reported {conflicts} driver-driver "
                                            f"conflicts: the netlist is wrong")
    return entry


def _binary_bench():
    # bench/ is a folder of scripts, not a package: load the binary bench by path.
    spec = importlib.util.spec_from_file_location("bench_binary_mvu", HERE / "binary_mvu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def binary_reference(board_name, *, timeout, build_root, from_json=False):
    """The binary point the ratio compares with, built now, in this run
    (:data:`BINARY_REFERENCE`), or with ``from_json`` the best one bench/binary_mvu.py
    recorded for the board."""
    if from_json and BINARY_RESULTS.exists():
        points = [p for p in json.loads(BINARY_RESULTS.read_text()).get("points", [])
                  if p.get("board") == board_name and p.get("status") == "ok"
                  and p.get("gmacs")]
        if points:
            best = max(points, key=lambda p: p["gmacs"])
            return dict(best, source=str(BINARY_RESULTS.relative_to(HERE.parent)))
    binary = _binary_bench()
    pe, simd, spram = binary.parse_point(BINARY_REFERENCE[board_name])
    print(f"== {board_name}: binary reference pe={pe} simd={simd}", file=sys.stderr)
    # The binary bench's own defaults for any further keyword-only option (stage_levels...).
    options = {name: BINARY_DEFAULTS[name]
               for name, parameter in inspect.signature(binary.measure).parameters.items()
               if parameter.kind is parameter.KEYWORD_ONLY and name in BINARY_DEFAULTS}
    entry = binary.measure(board_name, pe, simd, spram, timeout=timeout, build_root=build_root,
                           **options)
    return dict(entry, source="built in this run")


def headline(board_name, entries, binary):
    """binary GMAC/s over int8 GMAC/s, best point of each on one board."""
    int8 = [e for e in entries if e["board"] == board_name and e["status"] == "ok"
            and e.get("gmacs")]
    if not int8 or not binary or binary.get("status") != "ok" or not binary.get("gmacs"):
        return None
    best = max(int8, key=lambda e: e["gmacs"])
    return {
        "board": board_name,
        "int8_point": best["point"], "int8_gmacs": best["gmacs"],
        "binary_point": f"{binary['pe']}x{binary['simd']}", "binary_gmacs": binary["gmacs"],
        "binary_source": binary["source"],
        "binary_over_int8": round(binary["gmacs"] / best["gmacs"], 1),
    }


def format_table(entries):
    header = (f"{'board':<11}{'point':>9}{'mode':>8}{'MAC/cyc':>8}{'LUT':>7}{'FF':>7}"
              f"{'BRAM':>5}{'DSP':>5}{'MAC/DSP':>8}{'Fmax':>8}{'GMAC/s':>8}  status")
    lines = [header, "-" * len(header)]
    for e in entries:
        def cell(key, width, fmt="{}"):
            value = e.get(key)
            return f"{'-' if value is None else fmt.format(value):>{width}}"
        lines.append(f"{e['board']:<11}{e['point']:>9}{e['mode']:>8}{e['macs_per_cycle']:>8}"
                     f"{cell('luts', 7)}{cell('ffs', 7)}{cell('bram', 5)}{cell('dsp', 5)}"
                     f"{cell('macs_per_dsp', 8)}{cell('fmax_mhz', 8, '{:.1f}')}"
                     f"{cell('gmacs', 8)}  "
                     + (e["status"] + ("" if e.get("timing_met", True) else " (below target)")
                        if e["status"] == "ok" else f"{e['status']}: {e.get('error')}"))
    return "\n".join(lines)


def format_ratios(ratios):
    lines = []
    for r in ratios:
        lines.append(f"{r['board']}: binary {r['binary_point']} {r['binary_gmacs']} GMAC/s / "
                     f"int8 {r['int8_point']} {r['int8_gmacs']} GMAC/s = "
                     f"{r['binary_over_int8']}x  (binary from {r['binary_source']})")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", nargs="+", default=list(DEFAULT_POINTS),
                        choices=list(DEFAULT_POINTS))
    parser.add_argument("--points", nargs="+", help="PExSIMD[rN] points (default: per board)")
    parser.add_argument("--timeout", type=float, default=1500,
                        help="seconds per build (default 1500)")
    parser.add_argument("--quick", action="store_true", help="one small point per board")
    parser.add_argument("--build-dir", type=Path, default=Path("build/bench_int8_mvu"))
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--binary-from-json", action="store_true",
                        help="take the binary side of the ratio from bench/results/"
                             "binary_mvu.json (its best point) instead of building it now")
    parser.add_argument("--reuse", action="store_true",
                        help="take a point's finished build from --build-dir instead of "
                             "rebuilding it (same code)")
    args = parser.parse_args(argv)

    entries = []
    for board in args.board:
        points = args.points or (QUICK_POINTS if args.quick else DEFAULT_POINTS)[board]
        for text in points:
            point = parse_point(text)
            print(f"== {board}: int8 {point.name}", file=sys.stderr)
            entries.append(measure(board, point, timeout=args.timeout,
                                   build_root=args.build_dir, reuse=args.reuse))
            print(format_table(entries[-1:]).splitlines()[-1], file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.output.read_text()) if args.output.exists() else {}
    # Points measured earlier (other boards or points) are kept; re-measured ones replaced.
    merged = {f"{e['board']}:{e['point']}": e for e in previous.get("points", [])}
    merged.update({f"{e['board']}:{e['point']}": e for e in entries})
    merged_ratios = {r["board"]: r for r in previous.get("ratios", [])}

    def write():
        args.output.write_text(json.dumps({
            "bench": "int8_mvu", "folds": FOLDS, "host": host_platform.platform(),
            "points": list(merged.values()), "ratios": list(merged_ratios.values())},
            indent=2) + "\n")

    write()     # the points are kept even if a binary reference build is interrupted
    # The headline of each board measured now: its best int8 point among all kept points.
    ratios = []
    for board in args.board:
        ratio = headline(board, list(merged.values()),
                         binary_reference(board, timeout=args.timeout,
                                          build_root=args.build_dir,
                                          from_json=args.binary_from_json))
        if ratio:
            ratios.append(ratio)
    print(format_table(entries))
    print(format_ratios(ratios))
    merged_ratios.update({r["board"]: r for r in ratios})
    write()
    print(f"wrote {args.output}", file=sys.stderr)
    return 0 if all(e["status"] == "ok" for e in entries) else 1


if __name__ == "__main__":
    sys.exit(main())
