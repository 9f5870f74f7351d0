"""int8 matrix-vector unit: the shared folding engine with an int8 multiply-accumulate lane.

:class:`Int8MVU` is :class:`~bitmac.hdl.mvu.MatrixVectorEngine` (input buffer replaying ``x``
for every neuron fold, one weight memory per PE, fold counters, back-pressure) with
:class:`Int8Lane` as the per-PE arithmetic: :class:`~bitmac.hdl.int8_mac.Int8Mac` over ``simd``
signed int8 products per cycle. In ``"acc"`` mode the outputs are the signed accumulators;
in ``"requant"`` mode each neuron's accumulator goes, with its parameters (loaded through
``q_stream`` into the engine's per-PE parameter memories), through one shared
:class:`~bitmac.hdl.requantize.Requantizer` and comes out as int8.

Why one shared requantizer: its 32 x 32 multiply alone costs 4 SB_MAC16 on iCE40UP5K (of 8)
or 4 MULT18X18D on ECP5, as much as 4 MAC lanes. Each PE produces one accumulator every
``SF = ceil(n_in / simd)`` cycles, so a requantizer accepting one value every
``requant_mul_cycles`` cycles keeps the unit at full rate as long as
``pe * requant_mul_cycles <= SF``; otherwise it back-pressures the engine (correct, slower).
``requant_mul_cycles=32`` needs no DSP block at all.
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .int8_mac import Int8Mac, check_acc_width
from .mvu import MatrixVectorEngine, fold_counts, lane_signature
from .requantize import QUANT_LAYOUT, REQUANT_LAYOUT, Requantizer

__all__ = ["Int8Lane", "Int8MVU", "StreamSerializer", "StreamDeserializer", "INT8_MVU_MODES"]

INT8_MVU_MODES = ("acc", "requant")


class Int8Lane(wiring.Component):
    """The arithmetic of one int8 PE, following the lane contract of :mod:`bitmac.hdl.mvu`.

    An :class:`~bitmac.hdl.int8_mac.Int8Mac` sums the ``simd`` products of each synapse fold
    into the neuron's accumulator (``first`` clears it). In ``"requant"`` mode the neuron's
    parameters, captured with its last fold, leave with the accumulator: they wait in a small
    ring of :attr:`param_slots` registers (one when ``SF >= Int8Mac.latency``), as many
    neurons as can be in flight. The result is registered (out of the DSP block).

    Latency: ``Int8Mac.latency + 1`` (4 for ``simd=1``, ``6 + ceil(log2(simd))`` otherwise);
    one fold per cycle.

    Parameters
    ----------
    n_in, simd, synapse_folds : int
        Dot product depth, lanes per fold and ``ceil(n_in / simd)``.
    acc_width : int
        Accumulator width, at least ``acc_bits(n_in)`` (refused otherwise).
    mode : "acc" or "requant"
        ``result`` is ``signed(acc_width)``, or :data:`~bitmac.hdl.requantize.REQUANT_LAYOUT`
        (the accumulator sign-extended to 32 bits and the neuron's parameters).
    """

    def __init__(self, n_in, simd, synapse_folds, acc_width, mode):
        self._mac = Int8Mac(acc_width, simd=simd, depth=n_in)
        self._sf, self._mode = synapse_folds, mode
        requant = mode == "requant"
        super().__init__(lane_signature(
            simd=simd, a_shape=signed(8), w_shape=signed(8),
            result_shape=REQUANT_LAYOUT if requant else signed(acc_width),
            param_shape=QUANT_LAYOUT if requant else None))

    @property
    def latency(self):
        return self._mac.latency + 1

    @property
    def param_slots(self):
        """Registers holding the parameters of neurons in flight (requant mode): a neuron's
        parameters are written at its last fold and read ``Int8Mac.latency`` cycles later,
        while a new neuron can end every ``synapse_folds`` cycles."""
        return (self._mac.latency - 1) // self._sf + 1

    def elaborate(self, platform):
        m = Module()
        m.submodules.mac = mac = self._mac
        m.d.comb += [
            mac.a.eq(self.activations),
            mac.b.eq(self.weights),
            mac.valid.eq(self.valid),
            mac.clear.eq(self.first),
        ]
        # `last` travels with the products; the accumulator is a result after the last fold.
        last = self.last
        for stage in range(mac.latency):
            delayed = Signal(name=f"last_{stage + 1}")
            m.d.sync += delayed.eq(last)
            last = delayed
        # The result is registered out of the DSP block: its output routing is slow on
        # iCE40, and the engine's output stream (and whatever follows it) starts here.
        done = Signal()
        m.d.comb += done.eq(mac.acc_valid & last)
        m.d.sync += self.result_valid.eq(done)

        if self._mode == "acc":
            with m.If(done):
                m.d.sync += self.result.eq(mac.acc)
            return m

        # Requant mode: a ring of parameter registers, written at each neuron's last fold
        # and read, in the same order, when its accumulator is done.
        slots = [Signal(QUANT_LAYOUT, name=f"param_slot{i}", reset_less=True)
                 for i in range(self.param_slots)]
        write_index = Signal(range(len(slots)))
        read_index = Signal(range(len(slots)))
        with m.If(self.valid & self.last):
            with m.Switch(write_index):
                for index, slot in enumerate(slots):
                    with m.Case(index):
                        m.d.sync += slot.eq(self.param)
            m.d.sync += write_index.eq(_wrap_increment(write_index, len(slots)))
        current = Signal(QUANT_LAYOUT)
        with m.Switch(read_index):
            for index, slot in enumerate(slots):
                with m.Case(index):
                    m.d.comb += current.eq(slot)
        with m.If(done):
            m.d.sync += [
                self.result.acc.eq(mac.acc),
                self.result.quant.eq(current),
                read_index.eq(_wrap_increment(read_index, len(slots))),
            ]
        return m


def _wrap_increment(counter, modulus):
    """``counter + 1`` modulo ``modulus``."""
    if modulus == 1:
        return counter
    return Mux(counter == modulus - 1, 0, counter + 1)


class StreamSerializer(wiring.Component):
    """Split each beat of ``count`` elements into ``count`` beats, element 0 first.

    The input beat is copied into a holding register, so the source is free again while the
    elements leave. Latency 1 cycle; throughput one element per cycle, one input beat every
    ``count`` cycles (back to back: the next beat is taken as the last element leaves).
    """

    def __init__(self, shape, count):
        self._shape, self._count = shape, count
        super().__init__({
            "i_stream": In(stream.Signature(data.ArrayLayout(shape, count))),
            "o_stream": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        count = self._count
        held = Signal(data.ArrayLayout(self._shape, count), reset_less=True)
        held_valid = Signal()
        index = Signal(range(count))
        leaving_last = self.o_stream.valid & self.o_stream.ready & (index == count - 1)
        m.d.comb += [
            self.o_stream.valid.eq(held_valid),
            self.o_stream.payload.eq(held[index]),
            self.i_stream.ready.eq(~held_valid | leaving_last),
        ]
        with m.If(self.o_stream.valid & self.o_stream.ready):
            with m.If(index == count - 1):
                m.d.sync += [index.eq(0), held_valid.eq(0)]
            with m.Else():
                m.d.sync += index.eq(index + 1)
        with m.If(self.i_stream.valid & self.i_stream.ready):
            m.d.sync += [held.eq(self.i_stream.payload), held_valid.eq(1)]
        return m


class StreamDeserializer(wiring.Component):
    """Gather ``count`` beats into one beat of ``count`` elements, the first in element 0.

    Latency 1 cycle after the last element; throughput one element per cycle (the gathered
    beat can leave in the same cycle as the next beat's first element arrives).
    """

    def __init__(self, shape, count):
        self._shape, self._count = shape, count
        super().__init__({
            "i_stream": In(stream.Signature(shape)),
            "o_stream": Out(stream.Signature(data.ArrayLayout(shape, count))),
        })

    def elaborate(self, platform):
        m = Module()
        count = self._count
        gathered = Signal(data.ArrayLayout(self._shape, count), reset_less=True)
        index = Signal(range(count))
        m.d.comb += [
            self.o_stream.payload.eq(gathered),
            self.i_stream.ready.eq(~self.o_stream.valid | self.o_stream.ready),
        ]
        with m.If(self.o_stream.valid & self.o_stream.ready):
            m.d.sync += self.o_stream.valid.eq(0)
        with m.If(self.i_stream.valid & self.i_stream.ready):
            m.d.sync += gathered[index].eq(self.i_stream.payload)
            with m.If(index == count - 1):
                m.d.sync += [index.eq(0), self.o_stream.valid.eq(1)]
            with m.Else():
                m.d.sync += index.eq(index + 1)
        return m


class Int8MVU(wiring.Component):
    """int8 matrix-vector unit: ``y = W x`` (``"acc"``) or the requantized int8 dense layer
    ``requantize(W x + bias, ...)`` (``"requant"``), bit-exact with ``golden.int8_gemm`` /
    ``golden.int8_dense``.

    Parameters
    ----------
    n_in, n_out : int
        Weight matrix shape ``(n_out, n_in)``.
    pe : int
        Output neurons computed in parallel (one :class:`Int8Lane` each); must divide
        ``n_out``.
    simd : int
        Input elements per cycle per PE, ``1 <= simd <= n_in``; ``n_in`` need not be a
        multiple (padding lanes are ignored).
    mode : "acc" or "requant"
    acc_width : int
        Signed accumulator width (default 32); must be at least ``acc_bits(n_in)``, and at
        most 32 in requant mode (the requantizer's input is int32).
    requant_mul_cycles : int
        ``mul_cycles`` of the shared :class:`~bitmac.hdl.requantize.Requantizer` (1, 2, 4, 8,
        16 or 32; see the module docstring). Requant mode only.
    weight_ram_style : str, sequence or None
        Yosys ``ram_style`` of the weight memories (see
        :class:`~bitmac.hdl.mvu.MatrixVectorEngine`).

    Streams (README "Int8MVU ports"; conventions of :mod:`bitmac.hdl.mvu`)
    ----------------------------------------------------------------------
    i_stream : In(stream.Signature(ArrayLayout(signed(8), simd)))
        Input vectors, ``SF = ceil(n_in / simd)`` beats each, element ``j`` in lane
        ``j % simd`` of beat ``j // simd``.
    w_stream : In(stream.Signature(ArrayLayout(signed(8), simd)))
        Weights, ``n_out * SF`` beats: neuron ``n = 0 .. n_out-1``, then chunk ``s``; neuron
        ``n`` lives in PE ``n % pe``.
    q_stream : In(stream.Signature(QUANT_LAYOUT))
        Requant mode only: ``n_out`` beats in neuron order, ``{"bias", "multiplier",
        "shift", "zero_point", "out_min"}`` (per-tensor: the same values for every neuron).
    o_stream : Out(stream.Signature(ArrayLayout(signed(acc_width) or signed(8), pe)))
        ``NF = n_out // pe`` beats per vector; beat ``f`` carries neuron ``f * pe + p`` in
        lane ``p``.

    Weights and parameters are loaded while no vector is held (rules of
    :mod:`bitmac.hdl.mvu`); reset drops the vectors in flight and keeps the memories.

    Attributes
    ----------
    engine : MatrixVectorEngine
    latency : int
        Cycles from the transfer of a vector's last input beat to its first output beat when
        nothing stalls and the unit was idle.
    cycles_per_vector : int
        ``NF * SF`` at full rate (acc mode; requant mode too while
        ``pe * requant_mul_cycles <= SF``).
    macs_per_cycle : int
        ``pe * simd``.
    """

    def __init__(self, n_in, n_out, pe, simd, mode="acc", *, acc_width=32,
                 requant_mul_cycles=1, weight_ram_style=None):
        if mode not in INT8_MVU_MODES:
            raise ValueError(f"mode must be one of {INT8_MVU_MODES}, not {mode!r}")
        _, synapse_folds = fold_counts(n_in, n_out, pe, simd)
        check_acc_width(acc_width, n_in)
        if mode == "requant":
            if acc_width > 32:
                raise ValueError(f"acc_width must be at most 32 in requant mode (the "
                                 f"requantizer takes int32), not {acc_width}")
            self.requantizer = Requantizer(mul_cycles=requant_mul_cycles)
        elif requant_mul_cycles != 1:
            raise ValueError(f"requant_mul_cycles applies to mode=\"requant\" only, not "
                             f"{mode!r}")
        self.mode, self.acc_width = mode, acc_width
        self.requant_mul_cycles = requant_mul_cycles

        def lane():
            return Int8Lane(n_in, simd, synapse_folds, acc_width, mode)

        requant = mode == "requant"
        self.engine = MatrixVectorEngine(
            n_in, n_out, pe, simd, a_shape=signed(8), w_shape=signed(8), lane=lane,
            param_shape=QUANT_LAYOUT if requant else None, param_port="q_stream",
            pad_activation=0, pad_weight=0, weight_ram_style=weight_ram_style)
        members = {
            "i_stream": In(stream.Signature(data.ArrayLayout(signed(8), simd))),
            "w_stream": In(stream.Signature(data.ArrayLayout(signed(8), simd))),
        }
        if requant:
            members["q_stream"] = In(stream.Signature(QUANT_LAYOUT))
            self.serializer = StreamSerializer(REQUANT_LAYOUT, pe)
            self.deserializer = StreamDeserializer(signed(8), pe)
        members["o_stream"] = Out(stream.Signature(
            data.ArrayLayout(signed(8) if requant else signed(acc_width), pe)))
        super().__init__(members)

    n_in = property(lambda self: self.engine.n_in)
    n_out = property(lambda self: self.engine.n_out)
    pe = property(lambda self: self.engine.pe)
    simd = property(lambda self: self.engine.simd)
    neuron_folds = property(lambda self: self.engine.neuron_folds)
    synapse_folds = property(lambda self: self.engine.synapse_folds)
    cycles_per_vector = property(lambda self: self.engine.cycles_per_vector)
    macs_per_cycle = property(lambda self: self.engine.pe * self.engine.simd)

    @property
    def latency(self):
        if self.mode == "acc":
            return self.engine.latency
        # serializer (1), all pe lanes through the requantizer, deserializer (1)
        return (self.engine.latency + 1 + (self.pe - 1) * self.requant_mul_cycles
                + self.requantizer.latency + 1)

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = engine = self.engine
        wiring.connect(m, wiring.flipped(self.i_stream), engine.i_stream)
        wiring.connect(m, wiring.flipped(self.w_stream), engine.w_stream)
        if self.mode == "acc":
            wiring.connect(m, engine.o_stream, wiring.flipped(self.o_stream))
            return m
        wiring.connect(m, wiring.flipped(self.q_stream), engine.q_stream)
        m.submodules.serializer = self.serializer
        m.submodules.requantizer = self.requantizer
        m.submodules.deserializer = self.deserializer
        wiring.connect(m, engine.o_stream, self.serializer.i_stream)
        wiring.connect(m, self.serializer.o_stream, self.requantizer.i_stream)
        wiring.connect(m, self.requantizer.o_stream, self.deserializer.i_stream)
        wiring.connect(m, self.deserializer.o_stream, wiring.flipped(self.o_stream))
        return m
