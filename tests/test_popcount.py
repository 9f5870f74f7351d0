"""Popcount in the Amaranth simulator: every cycle a new vector, checked ``latency`` cycles
later against NumPy's bit count."""

import numpy as np
import pytest
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from bitmac.hdl.popcount import Popcount


def check_stream(width, stage_levels, values):
    """Drive one value per cycle and check each count exactly ``latency`` cycles later."""
    dut = Popcount(width, stage_levels=stage_levels)
    latency = dut.latency
    seen = []

    async def bench(ctx):
        stream = list(values) + [0] * latency
        for cycle, value in enumerate(stream):
            ctx.set(dut.data, value)
            if latency == 0:
                # Combinational: the count follows the data without a clock.
                seen.append(ctx.get(dut.count))
                await ctx.delay(1e-6)
                continue
            await ctx.tick()
            if cycle + 1 >= latency:
                seen.append(ctx.get(dut.count))

    sim = Simulator(dut)
    if latency:
        sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    expected = [bin(value).count("1") for value in values]
    assert seen[:len(values)] == expected


@pytest.mark.parametrize("stage_levels", [None, 1, 2, 3])
@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 7, 8])
def test_exhaustive_small(width, stage_levels):
    check_stream(width, stage_levels, range(1 << width))


@pytest.mark.parametrize("stage_levels", [None, 1, 2, 4])
@pytest.mark.parametrize("width", [9, 31, 32, 33, 64, 100, 256])
def test_random_and_extremes(width, stage_levels):
    rng = np.random.default_rng(width)
    all_ones = (1 << width) - 1
    values = [0, all_ones, 1, 1 << (width - 1), all_ones ^ 1]
    values += [int(rng.integers(0, 2, width).dot(1 << np.arange(width, dtype=object)))
               for _ in range(40)]
    check_stream(width, stage_levels, values)


@settings(max_examples=20, deadline=None)
@given(width=st.integers(1, 130), stage_levels=st.sampled_from([None, 1, 2, 3, 5]),
       data=st.data())
def test_property(width, stage_levels, data):
    values = data.draw(st.lists(st.integers(0, (1 << width) - 1), min_size=1, max_size=8))
    check_stream(width, stage_levels, values)


@pytest.mark.parametrize("width,levels", [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3),
                                          (9, 4), (32, 5), (33, 6), (512, 9)])
def test_levels_and_latency(width, levels):
    assert Popcount(width).levels == levels
    for stage_levels in (1, 2, 3, 4):
        assert Popcount(width, stage_levels=stage_levels).latency == -(-levels // stage_levels)
    assert Popcount(width, stage_levels=None).latency == 0


def test_count_width():
    assert len(Popcount(7).count) == 3
    assert len(Popcount(8).count) == 4


@pytest.mark.parametrize("kwargs,message", [
    ({"width": 0}, "width must be a positive integer"),
    ({"width": 2.0}, "width must be a positive integer"),
    ({"width": 8, "stage_levels": 0}, "stage_levels must be a positive integer or None"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Popcount(**kwargs)
