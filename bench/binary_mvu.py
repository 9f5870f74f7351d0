"""BinaryMVU alone on iCE40UP5K (iCEBreaker) and ECP5-85F (ULX3S): cost and speed per (pe, simd).

Each point wraps ``BinaryMVU(n_in, n_out, pe, simd, "acc")`` in the stimulus harness
(:class:`bitmac.boards.harness.StimulusHarness`: every input bit from an LFSR-fed chain, every
output bit XOR-folded into one pin, so nothing is optimised away), places and routes it with the
YoWASP Yosys + nextpnr through :func:`bitmac.boards.build.build` (with a timeout), and reports
logic cells (iCE40: LUT4 + FF + carry; ECP5: LUT4 slices as nextpnr counts them), LUT4s of
the synthesised netlist, flip-flops, block RAM, SPRAM, Fmax, binary MACs per cycle
(``pe * simd``), GMAC/s at Fmax, and logic cells and LUT4s per MAC lane. The matrix of every point is
``(16 * pe, 16 * simd)``: 16 neuron folds x 16 synapse folds, so each PE's weights fill one
256-deep memory. Figures include the harness (its stimulus flip-flops and the XOR fold).

Memory bandwidth is the limit on the UP5K: a PE reads ``simd`` weight bits every cycle and an
EBR port gives at most 16, so the 30 EBRs give at most 480 bits per cycle, shared by the weights
and the input buffer (``simd`` bits per cycle too): 14 x 32 (28 + 2 EBRs) and 29 x 16 (29 + 1)
are the largest points that fit. 512 lanes would need the four 16-bit SPRAMs as well; points
``PExSIMDsN`` ask Yosys to put the last N PEs' weights there (``weight_ram_style="huge"``,
``synth_ice40 -spram``), which it currently refuses for these memories ("no valid mapping").

    python bench/binary_mvu.py [--board icebreaker ulx3s-85f] [--points 8x32 16x32s2]
                               [--timeout 1500] [--quick]

Writes bench/results/binary_mvu.json (one entry per point, including failures and timeouts).
"""

import argparse
import json
import platform as host_platform
import sys
import time
from pathlib import Path

from bitmac.boards.build import BuildError, build
from bitmac.boards.harness import StimulusHarness
from bitmac.boards.registry import get_board
from bitmac.hdl.binary_mvu import BinaryMVU

RESULTS = Path(__file__).parent / "results" / "binary_mvu.json"

# Design clock asked of the PLL: the issue's targets (nextpnr then reports what it reached).
TARGET_MHZ = {"icebreaker": 60.0, "ulx3s-85f": 100.0}

# Points "PExSIMD" or "PExSIMDsN" (the last N PEs' weights in SPRAM).
DEFAULT_POINTS = {
    "icebreaker": ["4x32", "8x32", "14x32", "29x16"],
    "ulx3s-85f": ["16x64", "32x64", "64x64"],
}
QUICK_POINTS = {"icebreaker": ["4x32"], "ulx3s-85f": ["16x64"]}

FOLDS = 16


def parse_point(text):
    """``"16x32s2"`` -> (16, 32, 2)."""
    try:
        pe, rest = text.lower().split("x")
        simd, _, spram = rest.partition("s")
        point = int(pe), int(simd), int(spram or 0)
    except ValueError:
        raise ValueError(f"a point is PExSIMD or PExSIMDsN (N PEs in SPRAM), not {text!r}")
    if point[2] > point[0]:
        raise ValueError(f"point {text}: more SPRAM PEs than PEs")
    return point


def count_lut4(netlist_path, family):
    """LUT4s of the synthesised netlist: ``SB_LUT4`` on iCE40; ``LUT4`` plus two per ``CCU2C``
    (a carry cell holds two LUT4s) on ECP5."""
    netlist = json.loads(Path(netlist_path).read_text())
    cells = [cell["type"] for module in netlist["modules"].values()
             for cell in module.get("cells", {}).values()]
    if family == "ice40":
        return cells.count("SB_LUT4")
    return cells.count("LUT4") + 2 * cells.count("CCU2C")


def measure(board_name, pe, simd, spram_pes, *, timeout, build_root, stage_levels):
    board = get_board(board_name)
    n_in, n_out = FOLDS * simd, FOLDS * pe
    styles = [None] * (pe - spram_pes) + ["huge"] * spram_pes
    unit = BinaryMVU(n_in, n_out, pe, simd, "acc", weight_ram_style=styles,
                     stage_levels=stage_levels)
    harness = StimulusHarness(unit, pin=board.status_pin, pipelined_fold=True)
    name = f"bmvu_{pe}x{simd}" + (f"s{spram_pes}" if spram_pes else "")
    entry = {
        "board": board.name, "part": board.part, "pe": pe, "simd": simd,
        "spram_pes": spram_pes, "n_in": n_in, "n_out": n_out, "mode": "acc",
        "stage_levels": stage_levels, "lane_latency": unit.lane_latency,
        "macs_per_cycle": pe * simd, "target_mhz": TARGET_MHZ.get(board.name),
        "harness_stimulus_bits": harness.stimulus_bits,
        "harness_observed_bits": harness.observed_bits,
    }
    start = time.monotonic()
    try:
        result = build(harness, board, name=name, build_dir=build_root / board.name / name,
                       clock_hz=(TARGET_MHZ.get(board.name) or 0) * 1e6 or None,
                       synth_opts="-spram" if spram_pes else None, dsp=False,
                       timeout=timeout, progress=True, allow_timing_fail=True,
                       design_info={"design": "BinaryMVU", "pe": pe, "simd": simd,
                                    "n_in": n_in, "n_out": n_out, "spram_pes": spram_pes})
    except (BuildError, ValueError) as error:
        entry.update(status="failed", error=str(error),
                     seconds=round(time.monotonic() - start, 1))
        return entry
    report = result.report
    resources = report["resources"]
    fmax = min(clock["fmax_mhz"] for clock in report["clocks"]) if report["clocks"] else None
    luts = resources.get("LUT", {}).get("used")
    lut4 = count_lut4(result.report_json.parent / f"{name}.json", board.family)
    entry.update(
        status="ok",
        luts=luts, ffs=resources.get("FF", {}).get("used"),
        bram=resources.get("BRAM", {}).get("used"), spram=resources.get("SPRAM", {}).get("used"),
        lut_cell=resources.get("LUT", {}).get("cell"),
        luts_available=resources.get("LUT", {}).get("available"),
        fmax_mhz=fmax, timing_met=report["timing_met"],
        lut4=lut4, lut4_per_lane=round(lut4 / (pe * simd), 2),
        gmacs=round(pe * simd * fmax / 1e3, 2) if fmax else None,
        luts_per_lane=round(luts / (pe * simd), 2) if luts else None,
        seconds=round(time.monotonic() - start, 1),
        report=str(result.report_json),
    )
    return entry


def format_table(entries):
    header = (f"{'board':<11}{'pe x simd':>11}{'spram':>6}{'MAC/cyc':>8}{'LC/LUT':>7}{'LUT4':>7}"
              f"{'FF':>7}{'BRAM':>5}{'SPRAM':>6}{'Fmax':>8}{'GMAC/s':>8}{'LC/lane':>8}"
              f"{'LUT4/lane':>10}  status")
    lines = [header, "-" * len(header)]
    for e in entries:
        def cell(key, width, fmt="{}"):
            value = e.get(key)
            return f"{'-' if value is None else fmt.format(value):>{width}}"
        lines.append(f"{e['board']:<11}{e['pe']:>6} x {e['simd']:<3}{e['spram_pes']:>6}"
                     f"{e['macs_per_cycle']:>8}{cell('luts', 7)}{cell('lut4', 7)}{cell('ffs', 7)}"
                     f"{cell('bram', 5)}{cell('spram', 6)}{cell('fmax_mhz', 8, '{:.1f}')}"
                     f"{cell('gmacs', 8)}{cell('luts_per_lane', 8)}{cell('lut4_per_lane', 10)}  "
                     + (e["status"] if e["status"] == "ok" else f"{e['status']}: {e.get('error')}"))
    return "\n".join(lines)


def _key(entry):
    return f"{entry['board']}:{entry['pe']}x{entry['simd']}s{entry['spram_pes']}"


def write_results(path, entries):
    """Merge ``entries`` into the JSON file: points measured earlier (other boards or points)
    are kept, re-measured ones replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(path.read_text()) if path.exists() else {}
    merged = {_key(e): e for e in previous.get("points", [])}
    merged.update({_key(e): e for e in entries})
    path.write_text(json.dumps({
        "bench": "binary_mvu", "folds": FOLDS, "host": host_platform.platform(),
        "points": list(merged.values())}, indent=2) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", nargs="+", default=list(DEFAULT_POINTS),
                        choices=list(DEFAULT_POINTS))
    parser.add_argument("--points", nargs="+", help="PExSIMD[sN] points (default: per board)")
    parser.add_argument("--timeout", type=float, default=1500,
                        help="seconds per build (default 1500)")
    parser.add_argument("--quick", action="store_true", help="one small point per board")
    parser.add_argument("--stage-levels", type=int, default=1,
                        help="popcount levels between registers (default 1: every level)")
    parser.add_argument("--build-dir", type=Path, default=Path("build/bench_binary_mvu"))
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    entries = []
    for board in args.board:
        points = args.points or (QUICK_POINTS if args.quick else DEFAULT_POINTS)[board]
        for text in points:
            pe, simd, spram = parse_point(text)
            print(f"== {board}: pe={pe} simd={simd} spram_pes={spram}", file=sys.stderr)
            entries.append(measure(board, pe, simd, spram, timeout=args.timeout,
                                   build_root=args.build_dir, stage_levels=args.stage_levels))
            print(format_table(entries[-1:]).splitlines()[-1], file=sys.stderr)
            # Written after every point, so a sweep cut short keeps what it measured.
            write_results(args.output, entries[-1:])
    print(format_table(entries))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0 if all(e["status"] == "ok" for e in entries) else 1


if __name__ == "__main__":
    sys.exit(main())
