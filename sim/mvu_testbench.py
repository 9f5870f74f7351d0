"""Amaranth-simulator benches for matrix-vector units (BinaryMVU, Int8MVU, or any unit on the
shared folding engine): one runner serves every unit's tests.

The callers encode their own beats (weights, parameters, vectors) and golden expectations;
this module sends them with random stalls, receives and decodes every output beat, checks
that nothing more comes out, and bounds the run so a lost beat fails instead of hanging.
"""

from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from .streams import StreamDriver, StreamReceiver, stream_put

__all__ = ["CLOCK_PERIOD", "make_sim", "run_bounded", "run_schedule", "run_reset_mid_vector"]

CLOCK_PERIOD = 1e-6


def make_sim(dut):
    """A simulator whose sync domain is explicit, so a testbench can pulse its reset.
    Returns ``(simulator, domain)``."""
    m = Module()
    m.domains.sync = domain = ClockDomain()
    m.submodules.dut = dut
    sim = Simulator(m)
    sim.add_clock(CLOCK_PERIOD)
    return sim, domain


def run_bounded(sim, cycles, finished):
    """Run at most ``cycles`` clock cycles: a lost beat makes a bench wait forever, which must
    fail the test rather than hang it. ``finished`` is a list the last testbench appends to."""
    sim.run_until(cycles * CLOCK_PERIOD)
    assert finished, f"not finished after {cycles} cycles: a beat was lost or the unit hung"


async def _receive_then_expect_silence(ctx, dut, receiver, count, decode, received, message):
    for payload in await receiver.receive(ctx, count):
        received.append(decode(dut, payload))
    # Nothing more may come out.
    ctx.set(dut.o_stream.ready, 1)
    for _ in range(dut.latency + dut.cycles_per_vector + 4):
        await ctx.tick()
        assert not ctx.get(dut.o_stream.valid), message


def run_schedule(dut, schedule, expected, decode, *, rng, stall=0.0, out_stall=None,
                 cycles_per_output=None):
    """Send ``schedule``, a list of ``(stream, beats)`` in order (loads and vectors), with random
    stalls, and check that the decoded output beats equal ``expected`` and that no extra beat
    follows. ``cycles_per_output`` bounds the time per output beat (default the unit's synapse
    folds). Returns the decoded beats."""
    out_stall = stall if out_stall is None else out_stall
    cycles_per_output = dut.synapse_folds if cycles_per_output is None else cycles_per_output
    sim, _ = make_sim(dut)
    received, finished = [], []

    async def source(ctx):
        for stream, beats in schedule:
            await StreamDriver(stream, rng=rng, stall=stall).send(ctx, beats)

    async def sink(ctx):
        receiver = StreamReceiver(dut.o_stream, rng=rng, stall=out_stall)
        await _receive_then_expect_silence(ctx, dut, receiver, len(expected), decode, received,
                                           "extra output beat")
        finished.append(True)

    sim.add_testbench(source)
    sim.add_testbench(sink)
    in_beats = sum(len(beats) for _, beats in schedule)
    budget = (in_beats + len(expected) * cycles_per_output + dut.latency) * 20 + 1000
    run_bounded(sim, budget, finished)
    assert received == expected
    return received


def run_reset_mid_vector(dut, loads, before, after, expected, decode, *, rng, cycles):
    """Load ``loads`` (``(stream, beats)`` pairs), send ``before`` (vector beats) but its last
    two, let results wait on a stalled ``o_stream``, pulse the sync reset, then send ``after``
    with stalls: only ``after``'s results may come out, equal to ``expected`` (the memories keep
    their contents across the reset)."""
    sim, domain = make_sim(dut)
    received, reset_done, finished = [], [], []

    async def bench(ctx):
        for stream, beats in loads:
            await StreamDriver(stream).send(ctx, beats)
        for beat in before[:len(before) - 2]:        # a vector and part of the next
            await stream_put(ctx, dut.i_stream, beat)
        await ctx.tick().repeat(dut.latency + 2)      # results wait for o_stream.ready
        assert ctx.get(dut.o_stream.valid)
        ctx.set(domain.rst, 1)
        await ctx.tick()
        ctx.set(domain.rst, 0)
        reset_done.append(True)
        await ctx.tick()
        assert not ctx.get(dut.o_stream.valid)
        await StreamDriver(dut.i_stream, rng=rng, stall=0.2).send(ctx, after)

    async def sink(ctx):
        while not reset_done:                         # receive only once the reset is over
            await ctx.tick()
        receiver = StreamReceiver(dut.o_stream, rng=rng, stall=0.2)
        await _receive_then_expect_silence(ctx, dut, receiver, len(expected), decode, received,
                                           "output beat from before the reset")
        finished.append(True)

    sim.add_testbench(bench)
    sim.add_testbench(sink)
    run_bounded(sim, cycles, finished)
    assert received == expected
    return received
