# amaranth: UnusedElaboratable=no
"""Requantizer against the golden gemmlowp requantization: random values with random stalls on
both streams, the edge cases (INT32_MIN, multiplier 2**31 - 1, shifts 0 and 31, bias wrap),
every multi-cycle multiplier setting, latency, throughput and reset mid-stream."""

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from bitmac.golden import requantize, rounding_divide_by_pot, saturating_rounding_doubling_high_mul
from bitmac.hdl.requantize import REQUANTIZER_MUL_CYCLES, Requantizer
from bitmac.sim.streams import StreamDriver, StreamReceiver

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1
FIELDS = ("acc", "bias", "multiplier", "shift", "zero_point", "out_min")


def golden_requantize(acc, bias, multiplier, shift, zero_point, out_min):
    """The golden answer for one beat: bias added with int32 wrap-around (as golden.int8_dense
    does), then golden.requantize; a negative multiplier (outside golden.requantize's Q31
    range) goes through the golden SRDHM and RDBPOT it is built from."""
    wrapped = np.array(acc + bias, np.int64).astype(np.int32)
    if multiplier >= 0:
        return int(requantize(wrapped, multiplier, shift, zero_point, out_min, 127))
    scaled = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(wrapped, multiplier),
                                    shift)
    return int(np.clip(int(scaled) + zero_point, out_min, 127))


def beat(acc, bias, multiplier, shift, zero_point, out_min):
    return {"acc": acc, "quant": {"bias": bias, "multiplier": multiplier, "shift": shift,
                                  "zero_point": zero_point, "out_min": out_min}}


def simulate(dut, rows, *, rng=None, stall=0.0, before_reset=None):
    """Stream ``rows`` (tuples in FIELDS order) through ``dut``; return the outputs.

    With ``before_reset``, those rows are sent first, reset is pulsed while they are still in
    flight, and only the outputs of ``rows`` (sent after the reset) are expected.
    """
    top = Module()
    top.domains.sync = sync = ClockDomain()
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8)
    outputs = []
    flushed = [not before_reset]

    async def source(ctx):
        if before_reset:
            await StreamDriver(dut.i_stream).send(ctx, [beat(*row) for row in before_reset])
            await ctx.tick()
            ctx.set(sync.rst, 1)
            await ctx.tick()
            ctx.set(sync.rst, 0)
            assert not ctx.get(dut.o_stream.valid)
            flushed[0] = True
        await StreamDriver(dut.i_stream, rng=rng, stall=stall).send(
            ctx, [beat(*row) for row in rows])

    async def sink(ctx):
        while not flushed[0]:   # ready stays low until the reset has flushed the pipeline
            await ctx.tick()
        outputs.extend(await StreamReceiver(dut.o_stream, rng=rng, stall=stall)
                       .receive(ctx, len(rows)))

    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    return outputs


def random_rows(rng, count):
    """Rows spread over the interesting ranges: small and full-range accumulators and biases,
    Q31 multipliers as quantize_multiplier makes them and arbitrary ones, every shift."""
    rows = []
    for _ in range(count):
        acc = int(rng.choice([rng.integers(-2**20, 2**20), rng.integers(INT32_MIN, INT32_MAX + 1)]))
        bias = int(rng.choice([rng.integers(-2**16, 2**16), rng.integers(INT32_MIN, INT32_MAX + 1)]))
        multiplier = int(rng.choice([rng.integers(2**30, 2**31), rng.integers(0, 2**31),
                                     rng.integers(INT32_MIN, 0)]))
        rows.append((acc, bias, multiplier, int(rng.integers(0, 32)),
                     int(rng.integers(-128, 128)), int(rng.integers(-128, 128))))
    return rows


EDGE_ROWS = [
    (INT32_MIN, 0, INT32_MIN, 0, 0, -128),          # the one SRDHM overflow: saturates
    (INT32_MIN, 0, INT32_MIN, 31, 0, -128),
    (INT32_MIN, 0, INT32_MAX, 0, 0, -128),
    (INT32_MIN, 0, INT32_MAX, 31, 127, -128),
    (INT32_MAX, 0, INT32_MAX, 0, 0, -128),
    (INT32_MAX, 0, INT32_MAX, 31, -128, -128),
    (INT32_MAX, 1, 2**30, 0, 0, -128),               # bias wraps to INT32_MIN
    (INT32_MIN, -1, 2**30, 0, 0, -128),              # bias wraps to INT32_MAX
    (0, 0, INT32_MAX, 0, 5, -128),
    (-1, 0, INT32_MAX, 0, 0, -128),
    (1, 0, INT32_MAX, 0, 0, -128),
    (3, 0, 2**30, 1, 0, -128),                        # exactly half: rounds away from zero
    (-3, 0, 2**30, 1, 0, -128),
    (5, 0, 2**30, 2, 0, -128),
    (-5, 0, 2**30, 2, 0, -128),
    (1000, 0, 2**30, 31, 0, -128),
    (-1000, 0, 2**30, 31, 0, -128),
    (-(2**30), -(2**30), INT32_MAX, 31, 0, -128),
    (100, 0, INT32_MAX, 0, 127, -128),               # saturates at 127 after the zero point
    (-100, 0, INT32_MAX, 0, -128, -128),             # saturates at -128
    (-100, 0, INT32_MAX, 0, 10, 10),                 # fused ReLU: out_min = zero_point
    (12345, -345, 1518500250, 5, -3, -128),
    (0, 0, 0, 0, -128, -128),
    (7, 0, -1, 3, 0, -128),
    (-7, 0, INT32_MIN, 3, 0, -128),
]


@pytest.mark.parametrize("mul_cycles", REQUANTIZER_MUL_CYCLES)
def test_edge_cases(mul_cycles):
    outputs = simulate(Requantizer(mul_cycles=mul_cycles), EDGE_ROWS)
    assert outputs == [golden_requantize(*row) for row in EDGE_ROWS]


@pytest.mark.parametrize("mul_cycles", REQUANTIZER_MUL_CYCLES)
def test_random_with_stalls(mul_cycles):
    rng = np.random.default_rng(mul_cycles)
    rows = random_rows(rng, 150)
    outputs = simulate(Requantizer(mul_cycles=mul_cycles), rows, rng=rng, stall=0.4)
    assert outputs == [golden_requantize(*row) for row in rows]


int32s = st.integers(INT32_MIN, INT32_MAX)
rows_strategy = st.lists(st.tuples(int32s, int32s, st.integers(0, INT32_MAX), st.integers(0, 31),
                                   st.integers(-128, 127), st.integers(-128, 127)),
                         min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(rows=rows_strategy, mul_cycles=st.sampled_from([1, 4]), seed=st.integers(0, 2**16))
def test_property_matches_golden(rows, mul_cycles, seed):
    rng = np.random.default_rng(seed)
    outputs = simulate(Requantizer(mul_cycles=mul_cycles), rows, rng=rng, stall=0.3)
    assert outputs == [golden_requantize(*row) for row in rows]


@pytest.mark.parametrize("mul_cycles", [1, 2, 8, 32])
def test_latency_and_throughput(mul_cycles):
    dut = Requantizer(mul_cycles=mul_cycles)
    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8)
    count = 12
    accepted, delivered = [], []

    async def bench(ctx):
        ctx.set(dut.o_stream.ready, 1)
        ctx.set(dut.i_stream.valid, 1)
        ctx.set(dut.i_stream.payload, beat(1 << 20, 0, 2**30, 4, 0, -128))
        for cycle in range(count * mul_cycles + dut.latency + 4):
            in_ready, out_valid = ctx.get(dut.i_stream.ready), ctx.get(dut.o_stream.valid)
            if in_ready and len(accepted) < count:
                accepted.append(cycle)
            if out_valid:
                delivered.append(cycle)
            await ctx.tick()
            if len(accepted) == count:
                ctx.set(dut.i_stream.valid, 0)

    sim.add_testbench(bench)
    sim.run()
    assert len(delivered) == count
    assert delivered[0] - accepted[0] == dut.latency
    # Stage 1 buffers one beat, so the second beat enters right behind the first.
    assert np.diff(accepted[1:]).tolist() == [mul_cycles] * (count - 2)
    assert np.diff(delivered).tolist() == [mul_cycles] * (count - 1)


def test_reset_in_flight():
    rng = np.random.default_rng(7)
    flushed = random_rows(rng, 4)
    rows = random_rows(rng, 20)
    outputs = simulate(Requantizer(mul_cycles=4), rows, rng=rng, stall=0.2, before_reset=flushed)
    assert outputs == [golden_requantize(*row) for row in rows]


@pytest.mark.parametrize("bad", [0, 3, 64, 1.0, None])
def test_bad_mul_cycles(bad):
    with pytest.raises(ValueError, match="mul_cycles must be one of"):
        Requantizer(mul_cycles=bad)
