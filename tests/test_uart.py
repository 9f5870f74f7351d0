# amaranth: UnusedElaboratable=no
"""UART receiver and transmitter against a bit-level 8N1 model of the serial line."""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from bitmac.hdl.uart import UARTReceiver, UARTTransmitter
from bitmac.sim.streams import StreamDriver, StreamReceiver


def line_bits(byte, stop=1):
    """The 10 line levels of one 8N1 character: start 0, data LSB first, stop."""
    return [0] + [(byte >> i) & 1 for i in range(8)] + [stop]


async def drive_line(ctx, pin, levels, cycles_per_bit):
    for level in levels:
        ctx.set(pin, level)
        await ctx.tick().repeat(cycles_per_bit)


def simulate(dut, *benches):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for bench in benches:
        sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("divisor", [4, 5, 16])
def test_receiver_random_bytes_with_backpressure(divisor):
    rng = np.random.default_rng(divisor)
    data = [0x00, 0xFF, 0x55, 0xAA] + rng.integers(0, 256, 60).tolist()
    dut = UARTReceiver(divisor)

    async def sender(ctx):
        for byte in data:
            # Random idle time between characters, including none (back to back).
            gap = int(rng.integers(0, 3)) * divisor
            await drive_line(ctx, dut.rx, line_bits(byte) + [1] * (gap // divisor), divisor)

    got = []

    async def receiver(ctx):
        # Stalls shorter than a character never lose a byte (one-byte holding register).
        got.extend(await StreamReceiver(dut.o_stream, rng=rng, stall=0.5).receive(ctx, len(data)))

    errors = []

    async def watch(ctx):
        async for _, _, framing, overrun in ctx.tick().sample(dut.framing_error, dut.overrun):
            if framing or overrun:
                errors.append((framing, overrun))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(sender)
    sim.add_testbench(receiver)
    sim.add_testbench(watch, background=True)
    sim.run()
    assert got == data
    assert errors == []


@pytest.mark.parametrize("skew", [-0.04, 0.04])
def test_receiver_tolerates_baud_mismatch(skew):
    # A sender 4 % slow or fast: mid-bit sampling keeps every bit (16 cycles per bit here).
    divisor = 16
    data = [0x00, 0xFF, 0x5A, 0xA5, 0x01, 0x80]
    dut = UARTReceiver(divisor)
    period = 1e-6 * divisor * (1 + skew)

    async def sender(ctx):
        await ctx.tick().repeat(3)
        for byte in data:
            for level in line_bits(byte):
                ctx.set(dut.rx, level)
                await ctx.delay(period)

    got = []

    async def receiver(ctx):
        got.extend(await StreamReceiver(dut.o_stream).receive(ctx, len(data)))

    simulate(dut, sender, receiver)
    assert got == data


def test_receiver_framing_error_glitch_and_overrun():
    divisor = 8
    dut = UARTReceiver(divisor)
    events = {"framing": 0, "overrun": 0}
    got = []

    async def sender(ctx):
        await drive_line(ctx, dut.rx, [1, 1], divisor)
        # A glitch shorter than half a bit is not a start bit.
        ctx.set(dut.rx, 0)
        await ctx.tick().repeat(divisor // 2 - 2)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(2 * divisor)
        # A 0 stop bit: framing error, byte dropped; a held-low break counts once.
        await drive_line(ctx, dut.rx, line_bits(0x3C, stop=0) + [0] * 12 + [1, 1], divisor)
        await drive_line(ctx, dut.rx, line_bits(0x42), divisor)
        # Nobody takes 0x42, so 0x43 overruns and is dropped.
        await drive_line(ctx, dut.rx, line_bits(0x43) + [1, 1], divisor)
        ctx.set(dut.o_stream.ready, 1)
        got.append(await StreamReceiver(dut.o_stream).receive(ctx, 1))
        await drive_line(ctx, dut.rx, line_bits(0x44) + [1], divisor)
        got.append(await StreamReceiver(dut.o_stream).receive(ctx, 1))

    async def watch(ctx):
        async for _, _, framing, overrun in ctx.tick().sample(dut.framing_error, dut.overrun):
            events["framing"] += framing
            events["overrun"] += overrun

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(sender)
    sim.add_testbench(watch, background=True)
    sim.run()
    assert got == [[0x42], [0x44]]
    assert events == {"framing": 1, "overrun": 1}


@pytest.mark.parametrize("divisor", [4, 7])
def test_transmitter_line_levels_and_timing(divisor):
    rng = np.random.default_rng(7)
    data = [0x00, 0xFF] + rng.integers(0, 256, 30).tolist()
    dut = UARTTransmitter(divisor)
    got = []

    async def sender(ctx):
        await StreamDriver(dut.i_stream, rng=rng, stall=0.3).send(ctx, data)

    async def line_monitor(ctx):
        while len(got) < len(data):
            await ctx.tick()
            if ctx.get(dut.tx) == 0:
                # Sample every bit in its middle, as a receiver would; after the stop bit's
                # middle, go back to watching every cycle so a back-to-back start is seen.
                await ctx.tick().repeat(divisor // 2)
                levels = []
                for index in range(10):
                    if index:
                        await ctx.tick().repeat(divisor)
                    levels.append(ctx.get(dut.tx))
                assert levels[0] == 0 and levels[9] == 1, levels
                got.append(sum(bit << i for i, bit in enumerate(levels[1:9])))

    simulate(dut, sender, line_monitor)
    assert got == data


def test_transmitter_back_to_back_is_ten_bits_per_byte():
    divisor = 4
    dut = UARTTransmitter(divisor)
    accepted = []

    async def bench(ctx):
        cycle = 0
        ctx.set(dut.i_stream.valid, 1)
        for byte in [0x12, 0x34, 0x56]:
            ctx.set(dut.i_stream.payload, byte)
            while True:
                ready = ctx.get(dut.i_stream.ready)
                await ctx.tick()
                cycle += 1
                if ready:
                    accepted.append(cycle)
                    break
        ctx.set(dut.i_stream.valid, 0)

    simulate(dut, bench)
    assert [b - a for a, b in zip(accepted, accepted[1:])] == [10 * divisor] * 2


def test_loopback_through_both():
    divisor = 4
    m = Module()
    m.submodules.tx = tx = UARTTransmitter(divisor)
    m.submodules.rx = rx = UARTReceiver(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, 40).tolist()
    got = []

    async def sender(ctx):
        await StreamDriver(tx.i_stream).send(ctx, data)

    async def receiver(ctx):
        got.extend(await StreamReceiver(rx.o_stream).receive(ctx, len(data)))

    simulate(m, sender, receiver)
    assert got == data


@pytest.mark.parametrize("divisor", [3, 0, 4.5, True])
def test_bad_divisor_is_refused(divisor):
    with pytest.raises(ValueError, match="divisor"):
        UARTReceiver(divisor)
    with pytest.raises(ValueError, match="divisor"):
        UARTTransmitter(divisor)
