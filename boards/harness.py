"""A stimulus harness: puts any stream unit on a board without a host link.

Used to measure the cost (LUTs, FFs, DSPs, Fmax) of a unit on its own, and by ``bitmac build``
when no board top level is chosen. Every input bit of the unit gets a pseudo-random value that
changes every cycle, every output bit feeds one XOR-reduction register, and that register drives
one pin, so synthesis can neither treat an input as constant nor drop an unobserved output.
"""

from amaranth import Cat, Module, Signal, Value
from amaranth.lib import io, stream, wiring
from amaranth.lib.wiring import Flow, Out

__all__ = ["StimulusHarness", "LFSR_TAPS"]

# Maximal-length Fibonacci LFSR: x^32 + x^22 + x^2 + x^1 + 1 (Xilinx XAPP052 table).
LFSR_WIDTH = 32
LFSR_TAPS = (31, 21, 1, 0)

VALID_MODES = ("always", "random")


def _parent(unit, path):
    interface = unit
    for key in path:
        interface = interface[key] if isinstance(key, int) else getattr(interface, key)
    return interface


class StimulusHarness(wiring.Component):
    """Drives every input of ``unit`` from an LFSR-fed shift chain and folds every output bit
    into one register.

    * Input streams (members ``In(stream.Signature(...))``, named ``*_stream`` by convention):
      the payload comes from the chain, ``valid`` is held high (``valid="always"``) or follows
      an LFSR bit (``valid="random"``).
    * Output streams: ``ready`` is held high, so the unit never stalls.
    * Other inputs (configuration ports) come from the chain too; other outputs are folded.

    The chain is a shift register, one flip-flop per input bit, fed by a 32-bit maximal LFSR:
    neighbouring bits are the same sequence a cycle apart, which synthesis cannot prove equal, so
    e.g. an XNOR of an activation bit and a weight bit never folds to a constant. Outputs are
    XOR-reduced (a tree of about ``n/3`` LUT4s, ``log4(n)`` levels deep) into the registered
    ``fold`` output.

    Parameters
    ----------
    unit : wiring.Component
        The design under measurement; it must run in the ``sync`` domain.
    valid : str
        ``"always"`` or ``"random"``.
    pipelined_fold : bool
        Register the XOR fold every 4 bits (``log4(n)`` cycles), so that a wide unit's
        outputs do not limit the measured Fmax.
    pin : tuple of (str, int, str or None), optional
        Platform resource and subsignal (e.g. ``("led", 0, None)``, ``("rgb_led", 0, "g")``)
        driven by ``fold`` when elaborated for a board;
        without a platform (simulation, Verilog export) ``fold`` is only a port.

    Attributes
    ----------
    fold : Signal, out
        XOR of every output bit of the unit, registered (one cycle of latency).
    stimulus_bits : int
        Number of input bits driven from the chain.
    observed_bits : int
        Number of output bits folded.
    """

    def __init__(self, unit, *, valid="always", pin=None, pipelined_fold=False):
        if not isinstance(unit, wiring.Component):
            raise TypeError(f"StimulusHarness needs a wiring.Component, not {unit!r}")
        if valid not in VALID_MODES:
            raise ValueError(f"valid must be one of {', '.join(VALID_MODES)}, not {valid!r}")
        self.unit = unit
        self.valid = valid
        self.pin = pin
        # Registered XOR of 4 bits per level, so a wide unit's fold never limits Fmax.
        self.pipelined_fold = pipelined_fold
        self._inputs, self._valids, self._readies, self._outputs = [], [], [], []
        for path, member, value in unit.signature.flatten(unit):
            parent = _parent(unit, path[:-1])
            in_stream = isinstance(getattr(parent, "signature", None), stream.Signature)
            if member.flow == Flow.In:
                if in_stream and path[-1] == "valid":
                    self._valids.append(value)
                elif in_stream and path[-1] == "ready":
                    self._readies.append(value)
                else:
                    self._inputs.append(value)
            else:
                self._outputs.append(value)
        # Value.cast: struct payloads are views, which have no len().
        self.stimulus_bits = sum(len(Value.cast(value)) for value in self._inputs)
        self.observed_bits = sum(len(Value.cast(value)) for value in self._outputs)
        if self.observed_bits == 0:
            raise ValueError("the unit has no outputs: nothing would survive synthesis")
        super().__init__({"fold": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = self.unit

        lfsr = Signal(LFSR_WIDTH, init=1)
        feedback = Signal()
        m.d.comb += feedback.eq(Cat(lfsr[tap] for tap in LFSR_TAPS).xor())
        m.d.sync += lfsr.eq(Cat(feedback, lfsr[:-1]))

        if self.stimulus_bits:
            chain = Signal(self.stimulus_bits, init=0x5A5A5A5A % (1 << self.stimulus_bits))
            m.d.sync += chain.eq(Cat(feedback, chain[:-1]))
            offset = 0
            for value in self._inputs:
                width = len(Value.cast(value))
                m.d.comb += value.eq(chain[offset:offset + width])
                offset += width

        for index, valid in enumerate(self._valids):
            if self.valid == "always":
                m.d.comb += valid.eq(1)
            else:
                # Different taps per stream so their bubbles do not line up.
                m.d.comb += valid.eq(lfsr[(3 + 7 * index) % LFSR_WIDTH])
        for ready in self._readies:
            m.d.comb += ready.eq(1)

        bits = list(Cat(*self._outputs))
        while self.pipelined_fold and len(bits) > 4:
            level = [Signal(name=f"fold_l{len(bits)}_{i}") for i in range(0, len(bits), 4)]
            for index, reg in enumerate(level):
                m.d.sync += reg.eq(Cat(*bits[4 * index:4 * index + 4]).xor())
            bits = level
        m.d.sync += self.fold.eq(Cat(*bits).xor())

        if platform is not None and self.pin is not None:
            name, number, subsignal = self.pin
            port = platform.request(name, number, dir="-")
            if subsignal is not None:
                port = getattr(port, subsignal)
            m.submodules.fold_pin = pin = io.Buffer("o", port)
            m.d.comb += pin.o.eq(self.fold.replicate(len(pin.o)))
        return m
