"""Parts shared by the cocotb benches: payload codec, stream source and sink with random
stalls, an in-order scoreboard, the clocked loop and the bench report.

Timing model. Python per simulated cycle is the cost that matters, so all agents run from one
loop that takes two triggers per cycle: at the falling clock edge every agent drives its
inputs (``drive``), then at ``ReadOnly`` of the same time step, when the design's
combinational logic has settled, every agent samples (``sample``). What is sampled there is
exactly what the next rising edge registers, so a stream transfer is recorded when ``valid``
and ``ready`` are both high at that point, whatever the simulator's edge ordering.

Parameters arrive as JSON (file named by ``BITMAC_BENCH_CONFIG``, written by
:func:`bitmac.sim.cocotb_runner.run_bench`) and the report leaves as JSON (file named by
``BITMAC_BENCH_REPORT``).
"""

import collections
import json
import os
import time

import numpy as np

__all__ = ["load_config", "PayloadCodec", "codec_for", "StreamSource", "StreamSink",
           "InOrderScoreboard", "ClockedLoop", "BenchReport", "stall_pattern"]


def load_config():
    """The bench parameters written by the runner."""
    path = os.environ.get("BITMAC_BENCH_CONFIG")
    if not path:
        raise RuntimeError("BITMAC_BENCH_CONFIG is not set: run benches through "
                           "bitmac.sim.cocotb_runner.run_bench")
    with open(path) as file:
        return json.load(file)


class PayloadCodec:
    """Packs values into a payload port's integer and back, from the port map's fields.

    A payload with a single field (``unsigned(n)``) takes and gives plain integers; an array
    layout (fields ``[0]``, ``[1]``...) takes and gives sequences; a struct layout takes and
    gives dicts keyed by field name.
    """

    def __init__(self, fields):
        self.fields = [(field["name"], field["offset"], field["width"], field["signed"])
                       for field in fields]
        self.kind = ("scalar" if len(self.fields) == 1 and self.fields[0][0] == "payload"
                     else "array" if all(name.startswith("[") for name, *_ in self.fields)
                     else "struct")
        self.width = max(offset + width for _, offset, width, _ in self.fields)

    def encode(self, value):
        if self.kind == "scalar":
            return int(value) & ((1 << self.width) - 1)
        values = value if self.kind == "array" else [value[name] for name, *_ in self.fields]
        word = 0
        for (_, offset, width, _), element in zip(self.fields, values, strict=True):
            word |= (int(element) & ((1 << width) - 1)) << offset
        return word

    def decode(self, word):
        values = []
        for _, offset, width, signed in self.fields:
            element = (word >> offset) & ((1 << width) - 1)
            if signed and element >> (width - 1):
                element -= 1 << width
            values.append(element)
        if self.kind == "scalar":
            return values[0]
        if self.kind == "array":
            return values
        return {name: element for (name, *_), element in zip(self.fields, values)}


def codec_for(config, port):
    """Codec of payload port ``port`` (e.g. ``"o_stream__payload"``) from the config's port map."""
    for entry in config["ports"]:
        if entry["port"] == port:
            return PayloadCodec(entry.get("fields") or [
                {"name": "payload", "offset": 0, "width": entry["width"],
                 "signed": entry.get("signed", False)}])
    raise KeyError(f"the design has no port {port!r}")


def stall_pattern(rng, probability, length=4099):
    """A repeating pattern of stall decisions (True = idle this cycle), drawn once so the
    per-cycle cost is an index. The odd length keeps it out of step with the units' folds."""
    if probability <= 0:
        return np.zeros(1, dtype=bool)
    return rng.random(length) < probability


class StreamSource:
    """Drives a stream input of the design (``<name>__valid``/``__payload``, reads
    ``__ready``). Beats are already-encoded integers; ``valid`` idles randomly between beats
    and, once high, stays high with the same payload until the beat is taken."""

    def __init__(self, dut, name, *, rng=None, stall=0.0):
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.name = name
        self.beats = collections.deque()
        self.sent = 0
        self._stalls = stall_pattern(rng or np.random.default_rng(0), stall)
        self._tick = 0
        self._offering = False
        self._valid_driven = None

    def extend(self, beats):
        self.beats.extend(beats)

    @property
    def idle(self):
        return not self.beats and not self._offering

    def _set_valid(self, value):
        if self._valid_driven != value:
            self.valid.value = value
            self._valid_driven = value

    def drive(self):
        self._tick += 1
        if not self._offering and self.beats \
                and not self._stalls[self._tick % len(self._stalls)]:
            self.payload.value = self.beats[0]
            self._offering = True
        self._set_valid(1 if self._offering else 0)

    def sample(self):
        if self._offering and self.ready.value:
            self.beats.popleft()
            self._offering = False
            self.sent += 1

    def reset(self):
        """Forget the offer in flight (the design was reset); the beat is offered again."""
        self._offering = False
        self._set_valid(0)


class StreamSink:
    """Takes beats from a stream output of the design (drives ``<name>__ready``, reads
    ``__valid``/``__payload``) with random back-pressure; every beat goes to ``on_beat`` as
    the raw payload integer."""

    def __init__(self, dut, name, on_beat, *, rng=None, stall=0.0):
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.name = name
        self.on_beat = on_beat
        self.received = 0
        self._stalls = stall_pattern(rng or np.random.default_rng(1), stall)
        self._tick = 0
        self._ready_driven = None

    def drive(self):
        self._tick += 1
        ready = 0 if self._stalls[self._tick % len(self._stalls)] else 1
        if ready != self._ready_driven:
            self.ready.value = ready
            self._ready_driven = ready

    def sample(self):
        if self._ready_driven and self.valid.value:
            self.received += 1
            self.on_beat(self.payload.value.to_unsigned())

    def reset(self):
        self.ready.value = 0
        self._ready_driven = 0


class InOrderScoreboard:
    """Compares each output beat with the next expected one.

    ``expect(value, where, macs)`` queues an expected decoded beat, ``where`` saying what it
    is (e.g. ``"vector 3, neurons 8..15"``) and ``macs`` how many MACs it checks. ``check(got)``
    compares the next beat; the first ``keep`` mismatches are kept in full.
    """

    def __init__(self, codec, *, keep=10):
        self.codec = codec
        self.expected = collections.deque()
        self.checked_beats = 0
        self.macs = 0
        self.mismatches = 0
        self.unexpected = 0
        self.details = []
        self.keep = keep

    def expect(self, value, where, macs=0):
        self.expected.append((value, where, macs))

    def check(self, word):
        got = self.codec.decode(word)
        if not self.expected:
            self.unexpected += 1
            self.mismatches += 1
            self._note(f"unexpected extra beat {got}")
            return
        value, where, macs = self.expected.popleft()
        self.checked_beats += 1
        self.macs += macs
        if _as_plain(value) != got:
            self.mismatches += 1
            self._note(f"{where}: expected {_as_plain(value)} got {got}")

    def _note(self, text):
        if len(self.details) < self.keep:
            self.details.append(text)

    @property
    def done(self):
        return not self.expected

    def flush(self):
        """Drop the beats still expected (after a reset that discarded them)."""
        dropped = len(self.expected)
        self.expected.clear()
        return dropped


def _as_plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: _as_plain(member) for key, member in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_plain(member) for member in value]
    return value


class ClockedLoop:
    """Clock, reset and the per-cycle drive/sample loop over a list of agents.

    Parameters
    ----------
    dut : cocotb handle
    agents : list
        Objects with ``drive()`` (called at the falling edge) and ``sample()`` (called at
        ReadOnly of that step); :class:`StreamSource`, :class:`StreamSink` or bench-specific.
    period_ns : int
        Clock period.
    """

    def __init__(self, dut, agents, *, period_ns=10):
        self.dut = dut
        self.agents = list(agents)
        self.period_ns = period_ns
        self.cycles = 0
        self._clock_started = False

    async def start(self, reset_cycles=2):
        from cocotb.clock import Clock
        if not self._clock_started:
            Clock(self.dut.clk, self.period_ns, unit="ns").start()
            self._clock_started = True
        await self.reset(reset_cycles)

    async def reset(self, cycles=2):
        """Hold ``rst`` high for ``cycles`` rising edges; agents forget offers in flight."""
        from cocotb.triggers import FallingEdge
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 1
        for agent in self.agents:
            if hasattr(agent, "reset"):
                agent.reset()
        for _ in range(cycles):
            await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def run(self, until, *, max_cycles, progress_timeout=2000, wall_timeout=None):
        """Run cycles until ``until()`` is true. Returns a short reason when it stopped
        early: the cycle budget, no agent progress for ``progress_timeout`` cycles (a hang) or
        the wall-time limit."""
        from cocotb.triggers import FallingEdge, ReadOnly
        falling = FallingEdge(self.dut.clk)
        read_only = ReadOnly()
        agents = self.agents
        drivers = [agent.drive for agent in agents]
        samplers = [agent.sample for agent in agents]
        deadline = time.monotonic() + wall_timeout if wall_timeout else None
        last_progress, last_count = self.cycles, -1
        for _ in range(max_cycles):
            if until():
                return None
            await falling
            for drive in drivers:
                drive()
            await read_only
            for sample in samplers:
                sample()
            self.cycles += 1
            if self.cycles & 255 == 0:
                count = sum(getattr(agent, "sent", 0) + getattr(agent, "received", 0)
                            for agent in agents)
                if count != last_count:
                    last_count, last_progress = count, self.cycles
                elif self.cycles - last_progress > progress_timeout:
                    return f"no beat moved for {self.cycles - last_progress} cycles (hang)"
                if deadline and time.monotonic() > deadline:
                    return f"wall-time limit of {wall_timeout} s reached"
        return None if until() else f"cycle budget of {max_cycles} exhausted"


class BenchReport:
    """Collects a bench's counts and writes them as JSON for the runner (and the cocotb log)."""

    def __init__(self, bench, config):
        self.bench = bench
        self.config = config
        self.vectors = 0
        self.cycles = 0
        self.extra = {}
        self._start = time.monotonic()

    def write(self, scoreboards, *, stopped=None, log=None):
        scoreboards = list(scoreboards)
        mismatches = sum(board.mismatches for board in scoreboards)
        missing = sum(len(board.expected) for board in scoreboards)
        details = [detail for board in scoreboards for detail in board.details]
        if stopped:
            details.append(f"stopped: {stopped}; {missing} expected beats never arrived")
        report = {
            "bench": self.bench,
            "vectors": self.vectors,
            "macs": sum(board.macs for board in scoreboards),
            "beats": sum(board.checked_beats for board in scoreboards),
            "cycles": self.cycles,
            "mismatches": mismatches + missing,
            "finished": stopped is None and missing == 0,
            "seconds": time.monotonic() - self._start,
            "details": details,
            **self.extra,
        }
        path = os.environ.get("BITMAC_BENCH_REPORT")
        if path:
            with open(path, "w") as file:
                json.dump(report, file)
        if log is not None:
            log.warning("%s: %d vectors, %d MACs checked, %d cycles, %d mismatches",
                        self.bench, report["vectors"], report["macs"], report["cycles"],
                        report["mismatches"])
        return report
