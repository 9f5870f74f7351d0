"""Reusable stream helpers for async Amaranth testbenches.

Every bench in bitmac drives and watches ``amaranth.lib.stream`` interfaces through these
helpers, so random valid/ready stalls are applied the same way everywhere.

``StreamDriver`` pushes payloads into a component's input stream (the testbench plays the
source); ``StreamReceiver`` takes beats from an output stream (the testbench plays the sink).
Both accept a ``numpy.random.Generator`` and a stall probability: before each beat the driver
idles ``valid`` (the receiver idles ``ready``) for a random number of cycles, drawn as a
geometric run, so back-pressure and bubbles land on every cycle phase.

Example
-------
::

    async def bench(ctx):
        driver = StreamDriver(dut.i_stream, rng=rng, stall=0.3)
        await driver.send(ctx, beats)

    async def checker(ctx):
        beats = await StreamReceiver(dut.o_stream, rng=rng, stall=0.3).receive(ctx, count)
"""

import numpy as np

__all__ = ["StreamDriver", "StreamReceiver", "stream_put", "stream_get", "as_python"]


def as_python(value):
    """Turn NumPy scalars and arrays (which Amaranth does not accept) into ints and lists;
    dicts (struct payloads) are converted member by member."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: as_python(member) for key, member in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_python(member) for member in value]
    return value


async def stream_put(ctx, stream, payload):
    """Transfer one beat into ``stream`` (testbench is the source). Returns after the cycle in
    which ``valid & ready`` held; ``valid`` is low again afterwards."""
    ctx.set(stream.valid, 1)
    ctx.set(stream.payload, as_python(payload))
    await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream):
    """Take one beat from ``stream`` (testbench is the sink) and return its payload, as
    ``ctx.get`` gives it (an int, or a View's Python value)."""
    ctx.set(stream.ready, 1)
    payload, = await ctx.tick().sample(stream.payload).until(stream.valid)
    ctx.set(stream.ready, 0)
    return payload


def _stall_cycles(rng, stall):
    # Geometric run length: with probability `stall` each cycle is idle before the beat.
    if rng is None or stall <= 0:
        return 0
    if stall >= 1:
        raise ValueError(f"stall probability must be in [0, 1), not {stall}")
    return int(rng.geometric(1.0 - stall)) - 1


class StreamDriver:
    """Source side of a stream in a testbench.

    Parameters
    ----------
    stream : stream.Interface
        The component's input stream (``valid``/``payload`` are driven, ``ready`` is read).
    rng : numpy.random.Generator, optional
        Source of random stalls; ``None`` for none.
    stall : float
        Probability that ``valid`` is held low for another cycle before each beat.
    """

    def __init__(self, stream, *, rng=None, stall=0.0):
        self.stream = stream
        self.rng = rng
        self.stall = stall
        self.sent = 0

    async def send(self, ctx, payloads):
        """Send each payload in order, one beat each, with random bubbles between them."""
        for payload in payloads:
            idle = _stall_cycles(self.rng, self.stall)
            if idle:
                ctx.set(self.stream.valid, 0)
                await ctx.tick().repeat(idle)
            await stream_put(ctx, self.stream, payload)
            self.sent += 1


class StreamReceiver:
    """Sink side of a stream in a testbench.

    Parameters
    ----------
    stream : stream.Interface
        The component's output stream (``ready`` is driven, ``valid``/``payload`` are read).
    rng : numpy.random.Generator, optional
        Source of random back-pressure; ``None`` for none.
    stall : float
        Probability that ``ready`` is held low for another cycle before each beat.
    """

    def __init__(self, stream, *, rng=None, stall=0.0):
        self.stream = stream
        self.rng = rng
        self.stall = stall
        self.received = 0

    async def receive(self, ctx, count):
        """Receive ``count`` beats and return their payloads in order."""
        beats = []
        for _ in range(count):
            idle = _stall_cycles(self.rng, self.stall)
            if idle:
                ctx.set(self.stream.ready, 0)
                await ctx.tick().repeat(idle)
            beats.append(await stream_get(ctx, self.stream))
            self.received += 1
        return beats
