# amaranth: UnusedElaboratable=no
"""RegisteredInt8Product and the int8 unit with its ECP5 MULT18X18D instances, simulated.

The Amaranth simulator runs the behavioural paths (the model here; the inferred products in
tests/test_int8_mac.py, tests/test_int8_mvu.py). The exported Verilog, which instantiates
MULT18X18D with its input, pipeline and output registers, runs under Verilator with the kit's
model of those registers (Yosys ships no MULT18X18D model) in the cocotb Int8MVU bench
(tests/test_packed_cocotb.py: golden-checked, random stalls on every stream, two weight loads,
a reset mid-run). A register stage too many or too few, unsigned operands, the wrong bits of ``P``
or a clock enable not tied to the engine's pipeline enable fails it.
"""

import re

import numpy as np
import pytest
from amaranth.sim import Simulator

from bitmac.hdl.dsp import RegisteredInt8Product
from bitmac.hdl.int8_mac import Int8Mac
from bitmac.hdl.int8_mvu import Int8MVU
from bitmac.sim.verilog import verilog_text


def test_model_products_three_enabled_cycles_later():
    """Random and extreme operands, enable low about a third of the time (garbage operands
    then): the product of the operands of the n-th enabled cycle appears after the (n+2)-th."""
    dut = RegisteredInt8Product("model")
    rng = np.random.default_rng(3)
    extremes = [-128, -127, -1, 0, 1, 127]
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    checked = []

    async def bench(ctx):
        stages = [None] * dut.latency        # the operand pairs each register stage holds
        for cycle in range(3000):
            enable = int(rng.random() >= 0.3)
            pool = extremes if cycle % 3 == 0 else range(-128, 128)
            a, b = int(rng.choice(pool)), int(rng.choice(pool))
            ctx.set(dut.enable, enable)
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            await ctx.tick()
            if enable:
                stages = [(a, b)] + stages[:-1]
            if stages[-1] is not None:
                assert ctx.get(dut.p) == stages[-1][0] * stages[-1][1], (cycle, stages[-1])
                checked.append(stages[-1])

    sim.add_testbench(bench)
    sim.run()
    assert len(checked) > 1500 and (-128, -128) in checked


def test_verilog_instantiates_one_mult18x18d_per_product():
    unit = Int8MVU(13, 6, 3, 3, dsp_implementation="mult18x18d")
    text = verilog_text(unit, "dut")
    assert len(re.findall(r"^\s*MULT18X18D\b", text, re.M)) == 9
    # Without a platform, "auto" elaborates the products for Yosys to infer: no primitive.
    assert "MULT18X18D" not in verilog_text(Int8MVU(13, 6, 3, 3), "dut")


@pytest.mark.parametrize("bad, message", [
    (dict(simd=1, dsp_implementation="mult18x18d"), "needs simd >= 2"),
    (dict(simd=4, dsp_implementation="sb_mac16"), "dsp_implementation must be one of"),
])
def test_bad_dsp_implementation(bad, message):
    with pytest.raises(ValueError, match=message):
        Int8Mac(**bad)
    with pytest.raises(ValueError, match="implementation must be one of"):
        RegisteredInt8Product("dsp48")
