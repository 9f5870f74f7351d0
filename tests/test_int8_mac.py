# amaranth: UnusedElaboratable=no
"""Int8Mac against golden.int8_gemm: random and extreme operands, idle cycles between
products, reset in the middle of a sum, accumulator widths at the overflow edge."""

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from bitmac.golden import acc_bits, int8_gemm
from bitmac.hdl.int8_mac import INT8_MAC_LATENCY, Int8Mac, int8_acc_bits


def golden_dot(a, w):
    return int(int8_gemm(a[None, :], w[None, :])[0, 0])


def schedule(sums, simd=1, rng=None, gap=0.0, reset_after=None):
    """Cycle-by-cycle inputs for a list of (a, w) sums, ``simd`` products per cycle (the last
    chunk of a sum padded with zeros): dicts with valid/a/b/clear, the index of the sum a
    chunk closes (or None) and a reset flag. ``reset_after=(i, j)`` asserts reset in the cycle
    after chunk ``j`` of sum ``i``, abandoning that sum."""
    cycles = []
    idle = dict(valid=0, a=[0] * simd, b=[0] * simd, clear=0, closes=None, reset=0)
    for index, (a, w) in enumerate(sums):
        chunks = -(-len(a) // simd)
        padded_a = np.zeros(chunks * simd, np.int8)
        padded_w = np.zeros(chunks * simd, np.int8)
        padded_a[:len(a)], padded_w[:len(w)] = a, w
        for j in range(chunks):
            while rng is not None and rng.random() < gap:
                # Garbage operands and a clear while valid is low must change nothing.
                cycles.append(dict(idle, a=rng.integers(-128, 128, simd).tolist(), clear=1))
            cycles.append(dict(valid=1, a=padded_a[j * simd:(j + 1) * simd].tolist(),
                               b=padded_w[j * simd:(j + 1) * simd].tolist(), clear=int(j == 0),
                               closes=index if j == chunks - 1 else None, reset=0))
            if reset_after == (index, j):
                cycles.append(dict(idle, reset=1))
                break
    return cycles + [idle] * (5 + simd.bit_length())


def run(dut, cycles, *, stall=0.0, seed=0):
    """Play ``cycles`` into ``dut``; return {sum index: acc} read ``dut.latency`` cycles after
    each closing chunk, and check ``acc_valid`` follows ``valid`` at exactly that latency.

    A random share ``stall`` of cycles with ``enable`` low comes before each cycle of the
    schedule, with garbage operands: they must change nothing, the pipeline (DSP blocks
    included) holds still."""
    rng = np.random.default_rng(seed)
    top = Module()
    top.domains.sync = sync = ClockDomain()
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8)
    results = {}

    async def bench(ctx):
        in_flight = [None] * dut.latency  # what each pipeline stage holds
        for cycle in cycles:
            while rng.random() < stall:
                held = ctx.get(dut.acc), ctx.get(dut.acc_valid)
                ctx.set(dut.enable, 0)
                ctx.set(dut.a, rng.integers(-128, 128, dut.simd).tolist())
                ctx.set(dut.b, rng.integers(-128, 128, dut.simd).tolist())
                ctx.set(dut.valid, 1)
                ctx.set(dut.clear, 1)
                await ctx.tick()
                assert (ctx.get(dut.acc), ctx.get(dut.acc_valid)) == held
            ctx.set(dut.enable, 1)
            ctx.set(dut.a, cycle["a"])
            ctx.set(dut.b, cycle["b"])
            ctx.set(dut.valid, cycle["valid"])
            ctx.set(dut.clear, cycle["clear"])
            ctx.set(sync.rst, cycle["reset"])
            await ctx.tick()
            in_flight = [cycle if cycle["valid"] else None] + in_flight[:-1]
            if cycle["reset"]:
                in_flight = [None] * dut.latency
            done = in_flight[-1]
            assert ctx.get(dut.acc_valid) == (done is not None)
            if done is not None and done["closes"] is not None:
                results[done["closes"]] = ctx.get(dut.acc)
        ctx.set(sync.rst, 0)

    sim.add_testbench(bench)
    sim.run()
    return results


def random_sums(rng, count, max_depth):
    return [(rng.integers(-128, 128, depth, dtype=np.int8),
             rng.integers(-128, 128, depth, dtype=np.int8))
            for depth in rng.integers(1, max_depth + 1, count)]


@pytest.mark.parametrize("simd", [1, 2, 3, 4, 5, 8])
def test_random_sums_with_gaps(simd):
    rng = np.random.default_rng(simd)
    sums = random_sums(rng, 30, 20)
    results = run(Int8Mac(simd=simd), schedule(sums, simd, rng, gap=0.3))
    assert results == {i: golden_dot(a, w) for i, (a, w) in enumerate(sums)}


@pytest.mark.parametrize("simd", [1, 2, 5])
def test_random_sums_with_gaps_and_stalls(simd):
    """``enable`` low freezes the whole MAC (what the engine's back-pressure does)."""
    rng = np.random.default_rng(50 + simd)
    sums = random_sums(rng, 30, 20)
    results = run(Int8Mac(simd=simd), schedule(sums, simd, rng, gap=0.3), stall=0.3, seed=simd)
    assert results == {i: golden_dot(a, w) for i, (a, w) in enumerate(sums)}


@pytest.mark.parametrize("simd, latency", [(1, 3), (2, 6), (3, 7), (4, 7), (5, 8), (8, 8)])
def test_latency(simd, latency):
    assert Int8Mac(simd=simd).latency == latency
    assert Int8Mac().latency == INT8_MAC_LATENCY


# Packed: two products per DSP block (the behavioural model of DualInt8Product in the
# simulator; the SB_MAC16 instance itself is checked in tests/test_packed_cocotb.py).

@pytest.mark.parametrize("simd", [2, 3, 4, 5, 8])
def test_packed_random_sums_with_gaps_and_stalls(simd):
    rng = np.random.default_rng(100 + simd)
    sums = random_sums(rng, 30, 20)
    dut = Int8Mac(simd=simd, packed=True)
    assert dut.dsp_blocks == -(-simd // 2)
    results = run(dut, schedule(sums, simd, rng, gap=0.3), stall=0.3, seed=simd)
    assert results == {i: golden_dot(a, w) for i, (a, w) in enumerate(sums)}


@pytest.mark.parametrize("simd, latency", [(2, 6), (3, 7), (4, 7), (5, 8), (8, 8)])
def test_packed_latency(simd, latency):
    assert Int8Mac(simd=simd, packed=True).latency == latency


@pytest.mark.parametrize("a_value, w_value", [(-128, -128), (127, 127), (-128, 127), (127, -128)])
def test_packed_extremes_at_the_width_edge(a_value, w_value):
    depth = 64
    a = np.full(depth, a_value, np.int8)
    w = np.full(depth, w_value, np.int8)
    dut = Int8Mac(acc_width=acc_bits(depth), simd=4, depth=depth, packed=True)
    assert run(dut, schedule([(a, w)], 4), stall=0.2) == {0: golden_dot(a, w)}


@pytest.mark.parametrize("width", [2, 3, 17, 21, 32, 33, 64])
def test_packed_split_accumulator_wraps_like_one_adder(width):
    # Every width (odd, tiny, wider than 32) adds modulo 2**width exactly like one adder.
    rng = np.random.default_rng(width)
    sums = random_sums(rng, 12, 40) + [(np.full(40, -128, np.int8), np.full(40, -128, np.int8)),
                                       (np.full(40, -128, np.int8), np.full(40, 127, np.int8))]
    results = run(Int8Mac(acc_width=width, simd=2, packed=True), schedule(sums, 2, rng, gap=0.3),
                  stall=0.2, seed=width)
    modulus = 2**width
    assert results == {i: (golden_dot(a, w) + modulus // 2) % modulus - modulus // 2
                       for i, (a, w) in enumerate(sums)}


def test_packed_reset_in_the_middle_of_a_sum():
    rng = np.random.default_rng(4)
    sums = random_sums(rng, 6, 12)
    # Sum 2 is long enough that sum 1 has left the pipeline when reset comes (chunk 8).
    sums[2] = (np.full(20, -128, np.int8), np.full(20, -128, np.int8))
    results = run(Int8Mac(simd=2, packed=True),
                  schedule(sums, 2, rng, gap=0.2, reset_after=(2, 8)), stall=0.2)
    assert 2 not in results
    assert results == {i: golden_dot(a, w) for i, (a, w) in enumerate(sums) if i != 2}


@pytest.mark.parametrize("bad, message", [
    (dict(simd=1, packed=True), "needs simd >= 2"),
    (dict(simd=2, packed=1), "packed must be a bool"),
    (dict(simd=2, packed=True, dsp_implementation="dsp48"), "implementation must be one of"),
])
def test_packed_bad_parameters(bad, message):
    with pytest.raises(ValueError, match=message):
        Int8Mac(**bad)


def test_back_to_back_sums_without_gaps():
    rng = np.random.default_rng(2)
    sums = random_sums(rng, 30, 6) + [(np.array([5], np.int8), np.array([-7], np.int8))] * 3
    results = run(Int8Mac(), schedule(sums))
    assert results == {i: golden_dot(a, w) for i, (a, w) in enumerate(sums)}


@pytest.mark.parametrize("simd", [1, 4])
@pytest.mark.parametrize("a_value, w_value", [(-128, -128), (127, 127), (-128, 127), (127, -128)])
def test_extremes_at_the_width_edge(a_value, w_value, simd):
    # A depth whose extreme sum needs every bit of acc_bits(depth), run at exactly that width.
    depth = 64
    width = acc_bits(depth)
    a = np.full(depth, a_value, np.int8)
    w = np.full(depth, w_value, np.int8)
    results = run(Int8Mac(acc_width=width, simd=simd, depth=depth), schedule([(a, w)], simd))
    assert results == {0: golden_dot(a, w)}


def test_alternating_signs():
    depth = 33
    a = np.where(np.arange(depth) % 2 == 0, -128, 127).astype(np.int8)
    w = np.where(np.arange(depth) % 2 == 0, -128, -128).astype(np.int8)
    sums = [(a, w), (a, -w - 1), (a[::-1].copy(), w)]
    results = run(Int8Mac(), schedule(sums))
    assert results == {i: golden_dot(a, w) for i, (a, w) in enumerate(sums)}


def test_reset_in_the_middle_of_a_sum():
    rng = np.random.default_rng(3)
    sums = random_sums(rng, 6, 12)
    sums[2] = (np.full(10, 100, np.int8), np.full(10, 90, np.int8))
    results = run(Int8Mac(), schedule(sums, 1, rng, gap=0.2, reset_after=(2, 4)))
    assert 2 not in results
    assert results == {i: golden_dot(a, w) for i, (a, w) in enumerate(sums) if i != 2}


def test_default_width_holds_the_deepest_int32_sum():
    # 32 bits hold 131071 products of -128 x -128 (the deepest int32-safe depth); the default
    # accumulator is accepted there and refused one product deeper.
    assert acc_bits(131071) == 32 == int8_acc_bits(131071)
    Int8Mac(depth=131071)
    with pytest.raises(ValueError, match="at least 33 bits"):
        Int8Mac(depth=131072)


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5, 100, 1000, 4096, 131071, 131072, 10**6])
def test_acc_bits_matches_golden(depth):
    assert int8_acc_bits(depth) == acc_bits(depth, 8, 8)


def test_narrow_width_refused():
    depth = 64
    with pytest.raises(ValueError, match=f"acc_width={acc_bits(depth) - 1} can overflow"):
        Int8Mac(acc_width=acc_bits(depth) - 1, depth=depth)


def test_narrow_width_without_depth_wraps_like_twos_complement():
    # Without a depth the width is the user's choice and the sum wraps modulo 2**acc_width,
    # as the DSP accumulator does (documented); the golden sum taken modulo 2**16 matches.
    depth = 3
    a = np.full(depth, -128, np.int8)
    results = run(Int8Mac(acc_width=16), schedule([(a, a)]))
    exact = golden_dot(a, a)
    assert exact > 2**15 - 1
    assert results == {0: (exact + 2**15) % 2**16 - 2**15}


@pytest.mark.parametrize("bad", [dict(acc_width=1), dict(acc_width=65), dict(acc_width=32.0),
                                 dict(depth=0), dict(depth=-3), dict(depth=2.5),
                                 dict(simd=0), dict(simd=True), dict(simd=2.0)])
def test_bad_parameters(bad):
    with pytest.raises(ValueError):
        Int8Mac(**bad)
