"""The comparison: the chained network engine (the design built for the board) in the Amaranth
simulator, its timing formula, and ``bitmac compare`` on a reduced setting."""

import json
import subprocess
import sys

import numpy as np
import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from bitmac.boards import compare
from bitmac.boards.compare import NetworkPipeline, format_table, pipeline_timing, run_compare
from bitmac.boards.registry import get_board
from bitmac.sim import network_rtl
from bitmac.sim.digits import load_split, trained_networks
from bitmac.sim.streams import StreamReceiver, stream_put


@pytest.fixture(scope="module")
def split():
    return load_split()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def trained(split, cache):
    return trained_networks(split=split, cache_dir=cache)


def _payload(value):
    # ctx.get of an array payload is a View constant; make it a plain list.
    return value if isinstance(value, int) else [int(element) for element in value]


def _simulate_pipeline(kind, trained, pixels):
    """Load every layer of the chained engine, stream ``pixels`` in at full rate with the sink
    always ready, and return (output beats, cycle of each input beat, cycle of each output
    beat, the pipeline, the expected output beats)."""
    units = network_rtl.build_units(kind, trained)
    pipeline = NetworkPipeline(units)
    layers, encode = network_rtl._network_layers(kind, trained)
    values = encode(pixels)
    loads, first_inputs, expected = [], None, None
    for index, (layer, unit) in enumerate(zip(layers, units)):
        streams, values = network_rtl.layer_streams(kind, layer, index, unit.pe, unit.simd,
                                                    values)
        loads.append((getattr(pipeline, f"w{index}_stream"), streams["weight_beats"]))
        if streams["param_port"]:
            port = getattr(pipeline, f"{streams['param_port'][0]}{index}_stream")
            loads.append((port, streams["param_beats"]))
        if index == 0:
            first_inputs = [beat for vector in streams["vector_beats"] for beat in vector]
        expected = [beat for vector in streams["expected"] for beat in vector]

    cycle = [0]
    loaded = [0]
    in_cycles, out_cycles, received = [], [], []

    async def clock(ctx):
        async for _ in ctx.tick():
            cycle[0] += 1

    def loader(port, beats):
        async def load(ctx):
            for beat in beats:
                await stream_put(ctx, port, beat)
            loaded[0] += 1
        return load

    async def source(ctx):
        while loaded[0] < len(loads):
            await ctx.tick()
        for beat in first_inputs:
            await stream_put(ctx, pipeline.i_stream, beat)
            in_cycles.append(cycle[0])

    async def sink(ctx):
        ctx.set(pipeline.o_stream.ready, 1)
        while len(received) < len(expected):
            payload, = await ctx.tick().sample(pipeline.o_stream.payload).until(
                pipeline.o_stream.valid)
            received.append(_payload(payload))
            out_cycles.append(cycle[0])

    sim = Simulator(pipeline)
    sim.add_clock(1e-6)
    sim.add_testbench(clock, background=True)
    for port, beats in loads:
        sim.add_testbench(loader(port, beats))
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    return received, in_cycles, out_cycles, pipeline, expected


def test_binary_pipeline_chains_layers_bit_exactly_and_meets_its_timing(trained, split):
    """The board design's engine, a true chain (layer outputs feed the next layer in
    hardware), classifies like the golden inference; its latency and initiation interval are
    exactly those :func:`pipeline_timing` reports."""
    images = 3
    received, in_cycles, out_cycles, pipeline, expected = _simulate_pipeline(
        "binary", trained, split.x_test[:images])
    assert received == expected
    timing = pipeline_timing(pipeline.units)
    assert timing == {"cycles_per_inference": 1024, "latency_cycles": timing["latency_cycles"],
                      "peak_macs_per_cycle": 2 * 6 + 2 * 2 + 1 * 2}
    sf0 = pipeline.units[0].synapse_folds
    nf_last = pipeline.units[-1].neuron_folds
    # Latency: first input beat of image 0 to the last output beat of image 0.
    assert out_cycles[nf_last - 1] - in_cycles[0] == timing["latency_cycles"]
    # Initiation interval: images leave one every cycles_per_inference cycles.
    last_beats = [out_cycles[(i + 1) * nf_last - 1] for i in range(images)]
    assert np.diff(last_beats).tolist() == [timing["cycles_per_inference"]] * (images - 1)
    assert len(in_cycles) == images * sf0


def test_int8_pipeline_chains_layers_bit_exactly_and_meets_its_timing(trained, split):
    images = 2
    received, in_cycles, out_cycles, pipeline, expected = _simulate_pipeline(
        "int8", trained, split.x_test[:images])
    assert received == expected
    timing = pipeline_timing(pipeline.units)
    nf_last = pipeline.units[-1].neuron_folds
    assert timing["cycles_per_inference"] == 1024 and timing["peak_macs_per_cycle"] == 10
    assert out_cycles[nf_last - 1] - in_cycles[0] == timing["latency_cycles"]
    assert out_cycles[2 * nf_last - 1] - out_cycles[nf_last - 1] == 1024


def test_pipeline_rejects_units_that_do_not_connect(trained):
    units = network_rtl.build_units("binary", trained)
    with pytest.raises(ValueError, match="does not match"):
        NetworkPipeline([units[1], units[0]])
    with pytest.raises(ValueError, match="at least one unit"):
        NetworkPipeline([])
    # The units connect in order; elaborating them leaves none unused.
    Fragment.get(NetworkPipeline(units), None)


@pytest.mark.parametrize("folding, message", [
    (((2, 6), (4, 2), (1, 2)), "simd=2 must equal pe=4"),
    (((3, 6), (3, 3), (1, 3)), "must divide"),
    (((2, 193), (2, 2), (1, 2)), "simd=193"),
    (((2, 6), (2, 2)), "2 layers"),
])
def test_check_folding(folding, message):
    with pytest.raises(ValueError, match=message):
        network_rtl.check_folding("binary", folding, [192, 64, 64, 10])


def test_check_folding_rejects_unknown_network():
    with pytest.raises(ValueError, match="network must be"):
        network_rtl.check_folding("ternary", ((1, 1),), [1, 1])


@pytest.mark.slow
def test_compare_reduced(tmp_path, cache):
    """The whole command without the board builds, on 12 test images: report files, both RTL
    runs bit-exact, the table and the JSON agree."""
    out = tmp_path / "out"
    messages = []
    results = run_compare(out_dir=out, images=12, build=False, cache_dir=cache,
                          progress=False, log=messages.append)
    assert (out / "report.md").exists() and (out / "accuracy.png").exists()
    data = json.loads((out / "report.json").read_text())
    assert data["accuracy"] == results["accuracy"]
    assert data["accuracy"]["float"] > 0.95 and data["accuracy"]["binary"] > 0.93
    for kind in ("binary", "int8"):
        rtl = data["networks"][kind]["rtl"]
        assert rtl["status"] == "bit-exact" and rtl["images"] == 12 and rtl["mismatches"] == 0
        # The default board's int8 folding fits its 8 DSPs: 2048 cycles (boards/compare.py).
        assert data["networks"][kind]["timing"]["cycles_per_inference"] == {
            "binary": 1024, "int8": 2048}[kind]
        assert data["networks"][kind]["build"] is None
    assert data["networks"]["binary"]["weight_bits"] == 17024
    assert data["networks"]["int8"]["weight_bits"] == 70656
    assert abs(data["ratios"]["weight_bits"] - 17024 / 70656) < 1e-9
    table = format_table(results)
    assert "bit-exact on 12" in table and "| weight memory (bits) | | 70,656 | 17,024 | 0.24 |" \
        in table
    assert any(message.startswith("compare [1/4]") for message in messages)
    assert "not built" in (out / "report.md").read_text()


def test_compare_command_rejects_bad_arguments(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bitmac", "compare", "--images", "0",
                             "--out", str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "--images must be at least 1" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-m", "bitmac", "compare", "--board", "nope"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_netlist_cell_counts_follow_the_hierarchy(tmp_path):
    blackbox = {"attributes": {"blackbox": "00000000000000000000000000000001"},
                "cells": {"internal": {"type": "$and"}}}
    netlist = {"modules": {
        "top": {"attributes": {"top": "00000000000000000000000000000001"},
                "cells": {"a": {"type": "SB_LUT4"}, "b": {"type": "child"},
                          "c": {"type": "child"}, "d": {"type": "SB_MAC16"}}},
        "child": {"attributes": {}, "cells": {"x": {"type": "SB_RAM40_4K"},
                                              "y": {"type": "SB_DFFE"},
                                              "z": {"type": "SB_LUT4"}}},
        "SB_LUT4": blackbox, "SB_MAC16": blackbox, "SB_RAM40_4K": blackbox,
        "SB_DFFE": blackbox}}
    path = tmp_path / "design.json"
    path.write_text(json.dumps(netlist))
    assert compare.netlist_cell_counts(path) == {"SB_LUT4": 3, "SB_MAC16": 1,
                                                 "SB_RAM40_4K": 2, "SB_DFFE": 2}
    error = ("design too big for iCE40UP5K-SG48 (iCEBreaker): LUT (ICESTORM_LC) overflowed: "
             "6075 used, 5280 available")
    needed = compare._needed(error, tmp_path, "design", get_board("icebreaker"))
    assert needed["needed"] == {"BRAM": 2, "DSP": 1, "FF": 2, "LUT": 6075}
    assert needed["synthesis_cells"]["LUT"] == 3 and needed["available"]["DSP"] == 8


def test_table_shows_what_a_design_that_does_not_fit_needs():
    results = {
        "accuracy": {"float": 0.978, "int8": 0.978, "binary": 0.961},
        "dataset": {"test": 360}, "family": "ice40",
        "networks": {
            "int8": {"weight_bits": 70656, "rtl": {"status": "bit-exact", "images": 360},
                     "build": {"status": "does not fit", "needed": {"LUT": 6075, "DSP": 14},
                               "available": {"LUT": 5280, "DSP": 8}}},
            "binary": {"weight_bits": 17024, "rtl": None,
                       "build": {"status": "built", "resources": {"LUT": 772, "DSP": 0},
                                 "available": {"LUT": 5280, "DSP": 8}, "fmax_mhz": 56.8}},
        },
    }
    results["ratios"] = compare._ratios(results)
    table = compare.format_table(results)
    assert "| LUT (logic cells) | | needs 6,075 of 5,280 | 772 | n/a |" in table
    assert "| DSP (SB_MAC16) | | needs 14 of 8 | 0 | n/a |" in table
    assert "| weight memory (bits) | | 70,656 | 17,024 | 0.24 |" in table
    assert "| RTL vs golden (images) | | bit-exact on 360 | not run | |" in table
