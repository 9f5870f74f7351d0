"""Quantization vs binarization on one board: the comparison behind ``bitmac compare``.

One run does, in order:

1. **train** the float, int8 and binary digit networks (:mod:`bitmac.golden.network`), or load
   them from the cache (:func:`bitmac.sim.digits.trained_networks`);
2. **evaluate** float, int8 and binary accuracy on the fixed test split (360 images);
3. **RTL check**: both networks layer by layer through their BinaryMVU / Int8MVU units under
   Verilator (:mod:`bitmac.sim.network_rtl`), bit-exact against the golden inference;
4. **build** each network's engine for the board (:func:`bitmac.boards.build.build`):
   :class:`NetworkPipeline` chains the network's three units FINN-style (the output stream of
   one layer is the input stream of the next, weights held on chip), inside the
   :class:`~bitmac.boards.harness.StimulusHarness` so that nothing is optimised away;
5. **report**: ``report.json``, ``report.md`` and PNG plots in the output folder.

What is measured and what is derived: accuracies are measured (golden and RTL); LUT, FF, BRAM,
DSP and Fmax come from nextpnr's report of the build; cycles per inference and latency follow
from the units' documented timing (``NF * SF`` cycles per vector; first result ``SF + 1 +
lane latency`` cycles after the last input beat), whose totals the RTL runs reproduce (their
cycle counts are in the report); inferences per second and latency in microseconds are those
cycle counts divided by the achieved Fmax. No board is attached: nothing here ran on silicon.
"""

import datetime
import json
import re
import time
from pathlib import Path

import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring

from .. import __version__
from ..errors import BitmacError
from ..golden import network
from ..sim import digits, network_rtl
from .build import DesignTooBigError
from .registry import DEFAULT_BOARD, get_board

__all__ = ["NetworkPipeline", "pipeline_timing", "run_compare", "write_report",
           "format_table", "folding_for", "BOARD_FOLDING", "DEFAULT_OUT"]

DEFAULT_OUT = "reports/compare"
NETWORKS = network_rtl.NETWORKS

#: Foldings that differ from :data:`bitmac.sim.network_rtl.DEFAULT_FOLDING` on a board, so
#: that the network fits the part. iCE40UP5K has 8 SB_MAC16: the default int8 folding has 10
#: MAC lanes, and at ``NF * SF = 1024`` cycles per layer its requantizers need
#: ``requant_mul_cycles = 16`` (a 32 x 2 multiplier, 2 SB_MAC16 each) to keep up. This one has
#: 6 lanes and ``SF >= 32 * pe`` in every layer, so every requantizer is the DSP-free
#: 32-cycle one at full rate; it takes 2048 cycles per image (no DSP-free int8 folding of
#: this network reaches 1024: that needs ``SF = 16 * pe < 32 * pe`` in the first layer).
BOARD_FOLDING = {
    "icebreaker": {"int8": ((1, 2), (2, 1), (1, 2))},
}


def folding_for(board_name, kind):
    """The (pe, simd) folding of network ``kind`` built for board ``board_name``."""
    folding = BOARD_FOLDING.get(board_name, {}).get(kind, network_rtl.DEFAULT_FOLDING[kind])
    return [list(layer) for layer in folding]


class NetworkPipeline(wiring.Component):
    """A network's matrix-vector units chained into one dataflow engine.

    Unit ``l``'s ``o_stream`` drives unit ``l + 1``'s ``i_stream`` directly (their payloads
    are the same: ``pe`` of one layer equals ``simd`` of the next, see
    :func:`bitmac.sim.network_rtl.check_folding`). Every unit keeps its weights (and
    thresholds or requantization parameters) in its own memories, loaded through its own
    streams.

    Parameters
    ----------
    units : list of MatrixVectorEngine
        One per layer, in order.

    Streams
    -------
    i_stream : In
        The first unit's input (image vectors).
    o_stream : Out
        The last unit's output (accumulators or int8 logits).
    w<l>_stream : In
        Weights of unit ``l``.
    t<l>_stream / q<l>_stream : In
        Thresholds (binary threshold mode) / requantization parameters (int8) of unit ``l``.

    Throughput is that of the slowest unit (``max NF * SF`` cycles per image) and latency the
    sum along the chain (:func:`pipeline_timing`).
    """

    def __init__(self, units):
        if not units:
            raise ValueError("a pipeline needs at least one unit")
        for index, (unit, following) in enumerate(zip(units, units[1:])):
            out_shape = unit.signature.members["o_stream"].signature.members["payload"].shape
            in_shape = following.signature.members["i_stream"].signature.members["payload"].shape
            if out_shape != in_shape:
                raise ValueError(f"unit {index}'s output payload {out_shape!r} does not match "
                                 f"unit {index + 1}'s input payload {in_shape!r}")
        self._units = list(units)
        members = {"i_stream": units[0].signature.members["i_stream"],
                   "o_stream": units[-1].signature.members["o_stream"]}
        self._ports = []
        for index, unit in enumerate(units):
            for name in unit.signature.members:
                if name in ("i_stream", "o_stream"):
                    continue
                port = f"{name[0]}{index}_{name[2:]}"
                members[port] = unit.signature.members[name]
                self._ports.append((port, index, name))
        super().__init__(members)

    @property
    def units(self):
        return list(self._units)

    def elaborate(self, platform):
        m = Module()
        for index, unit in enumerate(self._units):
            m.submodules[f"layer{index}"] = unit
        wiring.connect(m, wiring.flipped(self.i_stream), self._units[0].i_stream)
        wiring.connect(m, self._units[-1].o_stream, wiring.flipped(self.o_stream))
        for unit, following in zip(self._units, self._units[1:]):
            wiring.connect(m, unit.o_stream, following.i_stream)
        for port, index, name in self._ports:
            wiring.connect(m, wiring.flipped(getattr(self, port)),
                           getattr(self._units[index], name))
        return m


def pipeline_timing(units):
    """Cycle counts of a chain of units at full rate (no stalls).

    ``units`` are the units themselves or :class:`~bitmac.sim.network_rtl.LayerRun` records
    (anything with ``pe``, ``simd``, ``neuron_folds``, ``synapse_folds``, ``latency`` and
    ``cycles_per_vector``).

    Returns
    -------
    dict
        ``cycles_per_inference``: ``max NF * SF`` (a new image every that many cycles);
        ``latency_cycles``: from the first input beat of an image to the last output beat,
        ``(SF_0 - 1) + sum(latency_l + (NF_l - 1) * SF_l)`` (a unit starts on a vector once
        its last beat is in, and beat ``f`` of its results leaves ``f * SF`` cycles after the
        first); ``peak_macs_per_cycle``: ``sum(pe * simd)``.
    """
    per_inference = max(unit.cycles_per_vector for unit in units)
    latency = units[0].synapse_folds - 1
    for unit in units:
        latency += unit.latency + (unit.neuron_folds - 1) * unit.synapse_folds
    return {"cycles_per_inference": per_inference, "latency_cycles": latency,
            "peak_macs_per_cycle": sum(unit.pe * unit.simd for unit in units)}


def _say(log, message):
    if log is not None:
        log(message)


def _network_facts(kind, trained):
    if kind == "binary":
        net = trained.binary_integer
        macs = sum(layer.weight.size for layer in net.layers)
        return {"weight_bits": net.weight_bits, "parameter_bits": net.parameter_bits,
                "macs_per_inference": macs}
    net = trained.int8_net
    return {"weight_bits": net.weight_bits, "parameter_bits": net.parameter_bits,
            "macs_per_inference": sum(layer.weight.size for layer in net.layers)}


def _build_network(kind, units, board, out_dir, *, timeout, progress, log):
    from .build import build
    from .harness import StimulusHarness

    pipeline = NetworkPipeline(units)
    harness = StimulusHarness(pipeline, pin=board.status_pin)
    info = {"design": f"{kind}-network", "network": kind,
            "folding": [[unit.pe, unit.simd] for unit in units],
            "harness_stimulus_bits": harness.stimulus_bits}
    _say(log, f"compare: building the {kind} network for {board.title} "
              f"({harness.stimulus_bits} harness stimulus flip-flops)")
    result = build(harness, board, name=f"{kind}_network", build_dir=out_dir / "build" / kind,
                   timeout=timeout, progress=progress, allow_timing_fail=True,
                   design_info=info)
    report = result.report
    resources = {name: value["used"] for name, value in report["resources"].items()}
    available = {name: value["available"] for name, value in report["resources"].items()}
    clock = report["clocks"][0] if report["clocks"] else None
    return {"resources": resources, "available": available,
            "fmax_mhz": clock["fmax_mhz"] if clock else None,
            "target_mhz": clock["target_mhz"] if clock else None,
            "timing_met": report["timing_met"],
            "harness_stimulus_bits": harness.stimulus_bits,
            "bitstream": str(result.bitstream), "report_json": str(result.report_json),
            "seconds": round(sum(result.elapsed.values()), 1)}


def run_compare(board=DEFAULT_BOARD, out_dir=DEFAULT_OUT, *, images=None, rtl=True,
                build=True, cache_dir=None, retrain=False, simulator="verilator",
                build_timeout=1200, rtl_timeout=None, progress=True, log=None):
    """Run the whole comparison and write the report files; returns the results dict.

    Parameters
    ----------
    board : str
    out_dir : path
    images : int, optional
        Run only the first ``images`` test images through the RTL (all 360 by default).
        Accuracies are always on the whole test split.
    rtl, build : bool
        Skip the RTL check / the board builds (the report says so).
    cache_dir : path, optional
        Trained-network cache (:func:`bitmac.sim.digits.default_cache_dir` by default).
    retrain : bool
        Ignore the cache.
    simulator : "verilator" or "icarus"
    build_timeout, rtl_timeout : float
        Seconds per board build / per simulated layer.
    progress : bool
        Progress lines of the simulations and builds on stderr.
    log : callable, optional
        Receives one line per step (``print`` to stderr in the command line).

    Raises
    ------
    bitmac.sim.network_rtl.RtlMismatch
        When an RTL layer differs from the golden inference (nothing is reported then).
    """
    board = get_board(board)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    steps = ["train", "evaluate"] + (["rtl"] if rtl else []) + (["build"] if build else []) \
        + ["report"]
    step = iter(range(1, len(steps) + 1))

    def announce(text):
        _say(log, f"compare [{next(step)}/{len(steps)}] {text}")

    announce("training the networks (or loading the cache)")
    split = digits.load_split()
    trained = digits.trained_networks(split=split, cache_dir=cache_dir, use_cache=not retrain,
                                      log=log)
    announce("evaluating on the test split")
    x, y = split.x_test, split.y_test
    results = {
        "bitmac_version": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "board": board.name, "board_title": board.title, "part": board.part,
        "family": board.family,
        "dataset": {"name": "scikit-learn digits (8x8)", "train": len(split.y_train),
                    "test": len(y), "split_seed": digits.SPLIT_SEED},
        "training": trained.config.as_dict(),
        "accuracy": {
            "float": network.accuracy(trained.float_net.predict(x), y),
            "int8": network.accuracy(trained.int8_net.predict(x), y),
            "binary": network.accuracy(trained.binary_integer.predict(x), y),
        },
        "networks": {},
    }
    rtl_images = len(y) if images is None else min(int(images), len(y))
    for kind in NETWORKS:
        entry = {**_network_facts(kind, trained), "rtl": None, "build": None,
                 "folding": folding_for(board.name, kind)}
        try:
            network_rtl.unit_class_for(kind)
        except ImportError as error:
            entry["rtl"] = entry["build"] = {"status": "unavailable",
                                            "reason": f"the {kind} unit is missing ({error})"}
            _say(log, f"compare: {kind} network: RTL unit not available ({error})")
        results["networks"][kind] = entry
    available = [kind for kind, entry in results["networks"].items() if entry["rtl"] is None]

    if rtl:
        announce(f"RTL check: {rtl_images} test images through both networks ({simulator})")
        for kind in available:
            entry = results["networks"][kind]
            run = network_rtl.run_network(kind, trained, x[:rtl_images],
                                          folding=entry["folding"], simulator=simulator,
                                          timeout=rtl_timeout, progress=progress)
            entry["rtl"] = {"status": "bit-exact" if run.bit_exact else "MISMATCH",
                            **run.as_dict(),
                            "accuracy": network.accuracy(run.predictions, y[:rtl_images])}
            entry["timing"] = pipeline_timing(run.layers)
            if not run.bit_exact:
                raise network_rtl.RtlMismatch(f"{kind} network: RTL predictions differ from "
                                              f"the golden inference")
    if build:
        announce(f"building both networks for {board.title}")
        for kind in available:
            entry = results["networks"][kind]
            units = network_rtl.build_units(kind, trained, entry["folding"])
            entry["timing"] = pipeline_timing(units)
            try:
                entry["build"] = {"status": "built", **_build_network(
                    kind, units, board, out_dir, timeout=build_timeout, progress=progress,
                    log=log)}
            except DesignTooBigError as error:
                entry["build"] = {"status": "does not fit", "reason": str(error),
                                  **_needed(error, out_dir / "build" / kind,
                                            f"{kind}_network", board)}
                _say(log, f"compare: {kind} network does not fit: {error}")
            except BitmacError as error:
                entry["build"] = {"status": "failed", "reason": str(error)}
                _say(log, f"compare: {kind} build failed: {error}")
    for entry in results["networks"].values():
        _derive(entry)
    results["ratios"] = _ratios(results)
    results["seconds"] = round(time.monotonic() - started, 1)
    announce(f"writing the report to {out_dir}")
    write_report(results, out_dir)
    return results


# Synthesised cell types (Yosys netlist) per resource, iCE40 and ECP5.
_NETLIST_CELLS = {"LUT": ("SB_LUT4", "LUT4"), "BRAM": ("SB_RAM40_4K", "DP16KD"),
                  "DSP": ("SB_MAC16", "MULT18X18D")}
_FF_PREFIXES = ("SB_DFF", "TRELLIS_FF")
_OVERFLOW = re.compile(r"(\w+) \((\w+)\) overflowed: (\d+) used, (\d+) available")


def netlist_cell_counts(path):
    """Cell types of a Yosys JSON netlist counted through the hierarchy (from the top
    module down), as a dict ``{cell type: count}``."""
    modules = json.loads(Path(path).read_text())["modules"]
    # Yosys writes attribute values as binary strings ("000...01").
    top = next(name for name, module in modules.items()
               if int(str(module.get("attributes", {}).get("top", "0")), 2))
    counts = {}

    def visit(name, times):
        for cell in modules[name]["cells"].values():
            kind = cell["type"]
            # Primitive cells are black-box modules: count them, do not descend.
            module = modules.get(kind)
            if module is not None and "blackbox" not in module.get("attributes", {}):
                visit(kind, times)
            else:
                counts[kind] = counts.get(kind, 0) + times

    visit(top, 1)
    return counts


def _needed(error, build_dir, name, board):
    """What a design that did not fit needs: the overflow nextpnr reported, and the DSP, BRAM,
    LUT4 and flip-flop counts of the synthesised netlist."""
    needed, synthesis = {}, {}
    netlist = build_dir / f"{name}.json"
    if netlist.exists():
        counts = netlist_cell_counts(netlist)
        for resource, cells in _NETLIST_CELLS.items():
            synthesis[resource] = sum(counts.get(cell, 0) for cell in cells)
        synthesis["FF"] = sum(n for cell, n in counts.items() if cell.startswith(_FF_PREFIXES))
        needed.update({key: synthesis[key] for key in ("BRAM", "DSP", "FF")})
    match = _OVERFLOW.search(str(error))
    if match:
        needed[match.group(1)] = int(match.group(3))
    return {"needed": needed, "synthesis_cells": synthesis,
            "available": dict(board.resources)}


def _derive(entry):
    """MACs per cycle; inferences per second and latency at the achieved Fmax."""
    build, timing = entry.get("build") or {}, entry.get("timing")
    if timing:
        entry["macs_per_cycle"] = entry["macs_per_inference"] / timing["cycles_per_inference"]
    fmax = build.get("fmax_mhz") if isinstance(build, dict) else None
    if timing and fmax:
        entry["inferences_per_second"] = fmax * 1e6 / timing["cycles_per_inference"]
        entry["latency_us"] = timing["latency_cycles"] / fmax
        entry["macs_per_second"] = entry["macs_per_cycle"] * fmax * 1e6


def _metric(entry, key):
    build = entry.get("build") or {}
    if key in ("LUT", "FF", "BRAM", "DSP"):
        if build.get("status") == "does not fit":
            return None
        return (build.get("resources") or {}).get(key)
    if key == "fmax_mhz":
        return build.get("fmax_mhz")
    if key in ("cycles_per_inference", "latency_cycles", "peak_macs_per_cycle"):
        return (entry.get("timing") or {}).get(key)
    return entry.get(key)


# (key, label, format) of the report table's hardware rows, in order.
_ROWS = [
    ("weight_bits", "weight memory (bits)", "{:,.0f}"),
    ("parameter_bits", "weights + per-neuron parameters (bits)", "{:,.0f}"),
    ("LUT", "LUT", "{:,.0f}"),
    ("FF", "FF", "{:,.0f}"),
    ("BRAM", "BRAM", "{:,.0f}"),
    ("DSP", "DSP", "{:,.0f}"),
    ("fmax_mhz", "Fmax (MHz)", "{:.1f}"),
    ("peak_macs_per_cycle", "MAC lanes (pe x simd, summed)", "{:,.0f}"),
    ("macs_per_inference", "MACs per inference", "{:,.0f}"),
    ("cycles_per_inference", "cycles per inference", "{:,.0f}"),
    ("macs_per_cycle", "MACs per cycle", "{:.2f}"),
    ("latency_cycles", "latency (cycles)", "{:,.0f}"),
    ("inferences_per_second", "inferences per second at Fmax", "{:,.0f}"),
    ("latency_us", "latency at Fmax (us)", "{:.1f}"),
]


# What the resource rows count, per FPGA family (nextpnr's cell types).
_UNITS = {
    "ice40": {"LUT": "logic cells", "BRAM": "4 kbit EBR", "DSP": "SB_MAC16"},
    "ecp5": {"LUT": "LUT4", "BRAM": "18 kbit DP16KD", "DSP": "MULT18X18D"},
}


def _ratios(results):
    int8, binary = results["networks"]["int8"], results["networks"]["binary"]
    ratios = {}
    for key, _, _ in _ROWS:
        a, b = _metric(binary, key), _metric(int8, key)
        if a is not None and b:
            ratios[key] = a / b
    ratios["accuracy"] = results["accuracy"]["binary"] / results["accuracy"]["int8"]
    return ratios


def _cell(value, fmt):
    return "n/a" if value is None else fmt.format(value)


def format_table(results):
    """The comparison as a Markdown table (float / int8 / binary / binary:int8)."""
    acc = results["accuracy"]
    nets = results["networks"]
    lines = ["| | float | int8 | binary | binary / int8 |", "|---|---:|---:|---:|---:|"]
    ratio = results["ratios"].get("accuracy")
    lines.append(f"| test accuracy ({results['dataset']['test']} images) | "
                 f"{acc['float']:.1%} | {acc['int8']:.1%} | {acc['binary']:.1%} | "
                 f"{_cell(ratio, '{:.3f}')} |")
    rtl_cells = []
    for kind in ("int8", "binary"):
        rtl = nets[kind].get("rtl") or {}
        if rtl.get("status") == "bit-exact":
            rtl_cells.append(f"bit-exact on {rtl['images']}")
        else:
            rtl_cells.append(rtl.get("status", "not run"))
    lines.append(f"| RTL vs golden (images) | | {rtl_cells[0]} | {rtl_cells[1]} | |")
    units = _UNITS.get(results.get("family"), {})
    for key, label, fmt in _ROWS:
        label = f"{label} ({units[key]})" if key in units else label
        cells = [_cell(_metric(nets[kind], key), fmt) for kind in ("int8", "binary")]
        for index, kind in enumerate(("int8", "binary")):
            build = nets[kind].get("build") or {}
            if build.get("status") == "does not fit" and key in build.get("needed", {}):
                available = build["available"].get(key)
                cells[index] = (f"needs {build['needed'][key]:,}"
                                + (f" of {available:,}" if available else ""))
        ratio = results["ratios"].get(key)
        lines.append(f"| {label} | | {cells[0]} | {cells[1]} | {_cell(ratio, '{:.2f}')} |")
    return "\n".join(lines)


def _build_notes(results):
    notes = []
    for kind in ("int8", "binary"):
        build = results["networks"][kind].get("build") or {}
        if build.get("status") == "built":
            notes.append(f"- {kind}: folding (pe, simd) per layer "
                         f"{results['networks'][kind]['folding']}; target clock "
                         f"{build['target_mhz']:.1f} MHz, achieved {build['fmax_mhz']:.1f} MHz"
                         f" ({'met' if build['timing_met'] else 'missed'}); the counts include "
                         f"the stimulus harness ({build['harness_stimulus_bits']} flip-flops "
                         f"and an XOR tree over the outputs); build {build['seconds']} s.")
        elif build.get("status") == "does not fit":
            needed = ", ".join(f"{key} {value:,}" for key, value in build["needed"].items())
            notes.append(f"- {kind}: folding (pe, simd) per layer "
                         f"{results['networks'][kind]['folding']}: does not fit the part. "
                         f"{build['reason']}. Needed (nextpnr for the overflowing resource, "
                         f"the synthesised netlist for the others): {needed}.")
        elif build:
            notes.append(f"- {kind}: build {build.get('status')}: {build.get('reason', '')}")
        else:
            notes.append(f"- {kind}: not built (--no-build).")
    cycles = {kind: (results["networks"][kind].get("timing") or {}).get("cycles_per_inference")
              for kind in ("int8", "binary")}
    if None not in cycles.values() and cycles["int8"] != cycles["binary"]:
        notes.append(f"- The two networks do not run at the same speed: {cycles['int8']:,} "
                     f"cycles per image (int8) and {cycles['binary']:,} (binary). On this part "
                     f"the int8 folding is limited by the DSP blocks: one per int8 MAC lane, "
                     f"and requantizers that use none (``requant_mul_cycles = 32``, which keeps "
                     f"a unit at full rate only while ``pe * 32 <= SF``). Compare them per "
                     f"image, not per cycle.")
    return "\n".join(notes)


def write_report(results, out_dir):
    """Write ``report.json``, ``report.md`` and the PNG plots; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "markdown": out_dir / "report.md"}
    paths["json"].write_text(json.dumps(results, indent=2, default=_json_default) + "\n")
    plots = _plots(results, out_dir)
    paths.update(plots)
    text = [
        f"# Quantization vs binarization on {results['board_title']} ({results['part']})",
        "",
        f"bitmac {results['bitmac_version']}, {results['date']}, "
        f"{results['dataset']['name']}: {results['dataset']['train']} training / "
        f"{results['dataset']['test']} test images (split seed "
        f"{results['dataset']['split_seed']}); network "
        f"{'-'.join(map(str, results['training']['sizes']))}, training seed "
        f"{results['training']['seed']}.",
        "",
        format_table(results),
        "",
        "Accuracies are measured on the test split with the golden (integer) inference; the RTL "
        "row says on how many test images the Verilator simulation of the units gave the same "
        "outputs bit for bit. Resources and Fmax come from nextpnr. Cycles per inference and "
        "latency are the units' documented full-rate timing; inferences per second and latency "
        "in us divide them by the achieved Fmax. No board was attached: nothing ran on "
        "silicon.",
        "",
        "## Builds",
        "",
        _build_notes(results),
        "",
        "## Plots",
        "",
    ]
    for name, path in plots.items():
        text.append(f"![{name}]({path.name})")
    paths["markdown"].write_text("\n".join(text) + "\n")
    return paths


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _plots(results, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"float": "#888888", "int8": "#1f77b4", "binary": "#d62728"}
    paths = {}
    acc = results["accuracy"]
    figure, axis = plt.subplots(figsize=(4.5, 3.2))
    kinds = ["float", "int8", "binary"]
    bars = axis.bar(kinds, [100 * acc[k] for k in kinds], color=[colours[k] for k in kinds])
    axis.bar_label(bars, fmt="%.1f %%")
    axis.set_ylim(80, 100)
    axis.set_ylabel("test accuracy (%)")
    axis.set_title("Digits 8x8, 64-64-64-10")
    figure.tight_layout()
    paths["accuracy"] = out_dir / "accuracy.png"
    figure.savefig(paths["accuracy"], dpi=120)
    plt.close(figure)

    nets = results["networks"]
    statuses = [(nets[k].get("build") or {}).get("status") for k in ("int8", "binary")]
    if all(status in ("built", "does not fit") for status in statuses):
        resources = ["LUT", "FF", "BRAM", "DSP"]
        figure, axis = plt.subplots(figsize=(5.5, 3.4))
        width = 0.38
        positions = np.arange(len(resources))
        for offset, kind in ((-width / 2, "int8"), (width / 2, "binary")):
            build = nets[kind]["build"]
            fits = build["status"] == "built"
            counts = build["resources"] if fits else build["needed"]
            percent = [100 * counts.get(r, 0) / build["available"][r]
                       if build["available"].get(r) else 0 for r in resources]
            bars = axis.bar(positions + offset, percent, width, color=colours[kind],
                            label=kind if fits else f"{kind} (needed: does not fit)",
                            hatch=None if fits else "//", edgecolor="black" if not fits else None)
            axis.bar_label(bars, labels=[str(counts.get(r, 0)) for r in resources], fontsize=8)
        axis.axhline(100, color="black", linewidth=0.8, linestyle="--")
        axis.set_xticks(positions, resources)
        axis.set_ylabel(f"share of the {results['part']} (%)")
        axis.set_title("Resources (labels: cells)")
        axis.legend(fontsize=8)
        figure.tight_layout()
        paths["resources"] = out_dir / "resources.png"
        figure.savefig(paths["resources"], dpi=120)
        plt.close(figure)
    if all(status == "built" for status in statuses):
        figure, axes = plt.subplots(1, 3, figsize=(9, 3.2))
        for axis, (key, label) in zip(axes, [("fmax_mhz", "Fmax (MHz)"),
                                             ("inferences_per_second", "inferences / s"),
                                             ("latency_us", "latency (us)")]):
            values = [_metric(nets[k], key) or 0 for k in ("int8", "binary")]
            bars = axis.bar(["int8", "binary"], values,
                            color=[colours["int8"], colours["binary"]])
            axis.bar_label(bars, fmt="%.3g")
            axis.set_title(label)
        figure.tight_layout()
        paths["performance"] = out_dir / "performance.png"
        figure.savefig(paths["performance"], dpi=120)
        plt.close(figure)
    return paths
