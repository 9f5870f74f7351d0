"""The int8 unit with its hand-instantiated DSP blocks, simulated (the packed SB_MAC16 8x8
blocks here; the ECP5 MULT18X18D blocks too, their other tests in tests/test_registered_dsp.py).

The Amaranth simulator runs DualInt8Product's behavioural model (tests/test_int8_mac.py,
tests/test_int8_mvu.py). Here the exported Verilog instantiates SB_MAC16 in its 8x8 mode and
Verilator runs it with Yosys's own SB_MAC16 simulation model, in the cocotb Int8MVU bench
(golden-checked, random stalls on every stream, two weight loads, a reset mid-run). A wrong
parameter (unsigned bytes, a product unregistered, the wrong half of ``O``) or a clock enable
not tied to the engine's pipeline enable fails it.
"""

import re

import pytest

from bitmac.hdl.int8_mvu import Int8MVU
from bitmac.sim.cocotb_runner import run_bench
from bitmac.sim.primitives import MULT18X18D_MODEL, primitive_model
from bitmac.sim.verilog import verilog_text

SB_MAC16 = primitive_model("ice40", "SB_MAC16")


def test_sb_mac16_model_comes_from_yosys():
    assert SB_MAC16.startswith("module SB_MAC16")
    assert "MODE_8x8" in SB_MAC16 and SB_MAC16.rstrip().endswith("endmodule")
    with pytest.raises(ValueError, match="no model of 'NO_SUCH_CELL'"):
        primitive_model("ice40", "NO_SUCH_CELL")


def test_packed_verilog_instantiates_one_sb_mac16_per_two_products():
    unit = Int8MVU(13, 6, 3, 3, packed=True, dsp_implementation="sb_mac16")
    text = verilog_text(unit, "dut")
    assert len(re.findall(r"^\s*SB_MAC16\b", text, re.M)) == unit.dsp_blocks == 6
    # Without a platform, "auto" elaborates the behavioural model: no primitive.
    assert "SB_MAC16" not in verilog_text(Int8MVU(13, 6, 3, 3, packed=True), "dut")


SIZES = [
    pytest.param(dict(n_in=37, n_out=8, pe=2, simd=4, mode="acc"), 9,
                 id="acc-37x8-pe2-simd4-reset"),
    pytest.param(dict(n_in=21, n_out=6, pe=3, simd=3, mode="requant"), None,
                 id="requant-21x6-pe3-simd3"),
]

# (unit options, model of the primitive, seed, slow): the packed SB_MAC16 8x8 blocks with
# Yosys's model, the ECP5 MULT18X18D blocks with the kit's model (Yosys ships none).
PRIMITIVES = [
    pytest.param(dict(packed=True, dsp_implementation="sb_mac16"), SB_MAC16, 11,
                 id="sb_mac16-8x8"),
    pytest.param(dict(dsp_implementation="mult18x18d"), MULT18X18D_MODEL, 13,
                 id="mult18x18d", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("options, model, seed", PRIMITIVES)
@pytest.mark.parametrize("sizes, reset_at_vector", SIZES)
def test_dsp_instances_verilog_matches_golden(sizes, reset_at_vector, options, model, seed):
    config = dict(sizes, vectors=24, seed=seed, stall=0.3, phases=2,
                  reset_at_vector=reset_at_vector)
    unit = Int8MVU(**sizes, **options)
    result = run_bench(unit, "int8_mvu", config, extra_verilog=model)
    assert result.passed, result.describe()
    assert result["vectors"] == 48
    assert result["macs"] >= 48 * sizes["n_in"] * sizes["n_out"]
    if reset_at_vector is not None:
        assert result["reset"]["input_beats_in_flight"] > 0
