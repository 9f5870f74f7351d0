"""Post-synthesis simulation: the iCE40 netlist Yosys builds (``synth_ice40 -dsp``: products
and accumulators in SB_MAC16, memories in SB_RAM40_4K, the rest in LUTs, carries and
flip-flops) runs the same golden-checked cocotb benches as the RTL, with random stalls on every
stream, two weight loads and a reset in the middle of work, on Yosys's own cell models.

A netlist that computes something else fails, as two tests show: Yosys 0.70's ``ice40_dsp``
rewrites hand-instantiated 8x8 SB_MAC16 blocks into its 16x16 mode unless they are hidden from it
(:func:`hand_instance_guard`), and a netlist whose SB_MAC16 ``A_SIGNED`` is flipped mismatches.
"""

import re

import pytest

from bitmac.errors import BitmacError
from bitmac.hdl.binary_mvu import BinaryMVU
from bitmac.hdl.int8_mvu import Int8MVU
from bitmac.sim.cocotb_runner import run_bench
from bitmac.sim.gate_level import (cell_library, hand_instance_guard, run_gate_level_bench,
                                   synthesis_script, synthesize, synthesized_netlist)
from bitmac.sim.verilog import port_map, verilog_text


def _ceil_div(a, b):
    return -(-a // b)


# Hand-made SB_MAC16 blocks hidden from ice40_dsp (the packed unit needs it; no-op otherwise).
AFTER_READ, AFTER_SYNTH = hand_instance_guard("ice40")
GUARD = dict(script_after_read=AFTER_READ, script_after_synth=AFTER_SYNTH)

# label: (unit, bench, sizes, SB_MAC16 blocks Yosys must keep or infer)
UNITS = {
    # Two int8 products per hand-instantiated SB_MAC16 (8x8 mode): pe * ceil(simd / 2).
    "int8-packed-21x6-pe3-simd3": (
        lambda: Int8MVU(21, 6, 3, 3, packed=True, dsp_implementation="sb_mac16"),
        "int8_mvu", dict(n_in=21, n_out=6, pe=3, simd=3, mode="acc"), 3 * _ceil_div(3, 2)),
    # ice40_dsp puts the operand registers, the product, the adder and the accumulator of
    # each PE into one SB_MAC16.
    "int8-13x4-pe2-simd1": (
        lambda: Int8MVU(13, 4, 2, 1),
        "int8_mvu", dict(n_in=13, n_out=4, pe=2, simd=1, mode="acc"), 2),
    # One SB_MAC16 per product; the case where ice40_dsp once folded two products into one.
    "int8-13x4-pe2-simd4": (
        lambda: Int8MVU(13, 4, 2, 4),
        "int8_mvu", dict(n_in=13, n_out=4, pe=2, simd=4, mode="acc"), 2 * 4),
    # XNOR-popcount with thresholds: no multiplier at all.
    "binary-45x6-pe3-simd8-threshold": (
        lambda: BinaryMVU(45, 6, 3, 8, "threshold"),
        "binary_mvu", dict(n_in=45, n_out=6, pe=3, simd=8, mode="threshold"), 0),
}

# Vectors per phase, two phases; a reset lands in the middle of the second run of vectors.
VECTORS = 20


def _config(sizes, reset_at_vector=None):
    return dict(sizes, vectors=VECTORS, seed=7, stall=0.3, phases=2,
                reset_at_vector=reset_at_vector)


def test_synthesis_script_is_the_board_builds():
    script = synthesis_script("ice40", dsp=True, name="dut")
    assert "read_rtlil dut.il" in script
    assert "synth_ice40 -dsp -top dut" in script
    assert "write_verilog -noattr dut.netlist.v" in script
    assert "-dsp" not in synthesis_script("ice40", dsp=False)
    guarded = synthesis_script("ice40", name="dut", **GUARD).splitlines()
    synth = guarded.index("synth_ice40 -dsp -top dut")
    assert guarded.index("chtype -map SB_MAC16 bitmac_hand_SB_MAC16") < synth
    assert guarded.index("chtype -map bitmac_hand_SB_MAC16 SB_MAC16") > synth
    with pytest.raises(ValueError, match="no gate-level simulation for family 'xc7'"):
        synthesis_script("xc7")
    with pytest.raises(ValueError, match="identifier"):
        synthesize(Int8MVU(13, 4, 2, 1), name="not a name")


def test_cell_library_is_yosys_cells_sim():
    library = cell_library("ice40")
    for cell in ("SB_MAC16", "SB_RAM40_4K", "SB_LUT4", "SB_CARRY", "SB_DFFESR"):
        assert re.search(rf"^module {cell}\b", library, re.M), cell


@pytest.mark.parametrize("label", list(UNITS))
def test_netlist_keeps_the_ports_and_uses_the_hard_blocks(label):
    make, _, sizes, sb_mac16 = UNITS[label]
    unit = make()
    netlist = synthesize(unit, **GUARD)
    assert netlist.count("SB_MAC16") == sb_mac16
    # Hand-made blocks keep their 8x8 mode; inferred ones use the 16x16 mode.
    modes = re.findall(r"\.MODE_8x8\(1'h([01])\)", netlist.text)
    assert modes == ["1" if "packed" in label else "0"] * sb_mac16
    if isinstance(unit, Int8MVU):
        assert unit.dsp_blocks == sb_mac16
    # At least the weight memory of every PE went to block RAM; logic is LUTs and carries.
    assert netlist.count("SB_RAM40_4K") >= sizes["pe"]
    assert netlist.count("SB_LUT4") > 0 and netlist.count("SB_CARRY") > 0
    assert not [warning for warning in netlist.warnings if "Driver-driver" in warning]
    # Same ports, same widths as Amaranth's Verilog: the benches drive the netlist by name.
    rtl_ports = {entry["port"]: entry["width"]
                 for entry in port_map(unit, verilog_text(unit, "dut"))}
    net_ports = {entry["port"]: entry["width"] for entry in port_map(unit, netlist.text)}
    assert net_ports == rtl_ports
    for port, width in rtl_ports.items():
        declared = re.search(rf"^\s*(input|output)\s+(\[(\d+):0\]\s+)?{port};", netlist.text,
                             re.M)
        assert declared, port
        assert (int(declared.group(3)) + 1 if declared.group(3) else 1) == width, port
    # The same design gives the same netlist (from the cache).
    assert synthesized_netlist(unit, **GUARD) == netlist.text


def _check_passed(result, sizes):
    assert result.passed, result.describe()
    assert result["vectors"] == 2 * VECTORS
    assert result["macs"] >= 2 * VECTORS * sizes["n_in"] * sizes["n_out"]


@pytest.mark.parametrize("label, reset_at_vector", [
    ("int8-packed-21x6-pe3-simd3", 7),
    pytest.param("int8-13x4-pe2-simd1", None, marks=pytest.mark.slow),
    pytest.param("int8-13x4-pe2-simd4", 11, marks=pytest.mark.slow),
    pytest.param("binary-45x6-pe3-simd8-threshold", 5, marks=pytest.mark.slow),
])
def test_gate_level_netlist_matches_golden(label, reset_at_vector):
    make, bench, sizes, sb_mac16 = UNITS[label]
    result, netlist = run_gate_level_bench(make(), bench, _config(sizes, reset_at_vector),
                                           timeout=600, **GUARD)
    assert netlist.count("SB_MAC16") == sb_mac16
    _check_passed(result, sizes)
    if reset_at_vector is not None:
        assert result["reset"]["input_beats_in_flight"] > 0


def _unguarded_packed():
    make, bench, sizes, sb_mac16 = UNITS["int8-packed-21x6-pe3-simd3"]
    unit = make()
    return unit, bench, sizes, sb_mac16, synthesize(unit)


def test_ice40_dsp_rewrites_unguarded_hand_made_sb_mac16():
    """Without the guard (plain ``synth_ice40 -dsp``), Yosys 0.70 turns the packed unit's
    8x8 blocks into 16x16 ones: input registers dropped, one 16x16 product per block."""
    _, _, _, sb_mac16, netlist = _unguarded_packed()
    assert netlist.count("SB_MAC16") == sb_mac16
    assert re.findall(r"\.MODE_8x8\(1'h([01])\)", netlist.text) == ["0"] * sb_mac16


@pytest.mark.slow
def test_gate_level_check_fails_on_the_unguarded_packed_netlist():
    unit, bench, sizes, _, netlist = _unguarded_packed()
    result = run_bench(unit, bench, _config(sizes), netlist=netlist.text,
                       extra_verilog=cell_library("ice40"), timeout=600)
    assert result.report.get("finished")
    assert result["mismatches"] > 0, result.describe()


@pytest.mark.slow
def test_gate_level_check_fails_on_a_wrong_netlist():
    """The guarded packed netlist with unsigned A bytes (``A_SIGNED = 0``: a byte of -128 read
    as 128): mismatches. (In the unpacked netlists A_SIGNED does not matter: only the low 16
    bits of each sign-extended 16x16 product are used.)"""
    make, bench, sizes, sb_mac16 = UNITS["int8-packed-21x6-pe3-simd3"]
    unit = make()
    text = synthesized_netlist(unit, **GUARD)
    broken, flips = re.subn(r"\.A_SIGNED\(1'h1\)", ".A_SIGNED(1'h0)", text)
    assert flips == sb_mac16
    result = run_bench(unit, bench, _config(sizes), netlist=broken,
                       extra_verilog=cell_library("ice40"), timeout=600)
    assert result.report.get("finished")
    assert result["mismatches"] > 0, result.describe()


def test_synthesis_failure_is_one_line(monkeypatch):
    import bitmac.sim.gate_level as gate_level
    monkeypatch.setattr(gate_level, "synthesis_script",
                        lambda *args, **kwargs: "read_rtlil dut.il\nno_such_command\n")
    with pytest.raises(BitmacError, match="Yosys synthesis of dut for ice40 failed"):
        synthesize(Int8MVU(7, 2, 2, 1))
