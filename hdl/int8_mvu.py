"""int8 matrix-vector unit: the shared folding engine with an int8 multiply-accumulate lane.

:class:`Int8MVU` is :class:`~bitmac.hdl.mvu.MatrixVectorEngine` (input buffer replaying ``x``
for every neuron fold, one weight memory per PE, fold counters, back-pressure) with
:class:`Int8Lane` as the per-PE arithmetic: :class:`~bitmac.hdl.int8_mac.Int8Mac` over ``simd``
signed int8 products per cycle. In ``"acc"`` mode the outputs are the signed accumulators;
in ``"requant"`` mode each neuron's accumulator goes through one shared
:class:`~bitmac.hdl.requantize.Requantizer` and comes out as int8, with its parameters read from
one parameter memory of that shared path (:class:`QuantParamStore`), not from per-PE memories.

Why one shared requantizer: its 32 x 32 multiply alone costs 4 SB_MAC16 on iCE40UP5K (of 8)
or 4 MULT18X18D on ECP5, as much as 4 MAC lanes. Each PE produces one accumulator every
``SF = ceil(n_in / simd)`` cycles, so a requantizer accepting one value every
``requant_mul_cycles`` cycles keeps the unit at full rate as long as
``pe * requant_mul_cycles <= SF``; otherwise it back-pressures the engine (correct, slower).
``requant_mul_cycles=32`` needs no DSP block at all.

Why one narrow parameter memory: the requantizer takes the neurons one at a time, in neuron
order, one every ``requant_mul_cycles`` cycles at best. So each neuron's 85 parameter bits are
stored as ``W = min(6, requant_mul_cycles)`` words of ``ceil(85 / W)`` bits (15 bits for
``W = 6``) and read one word per cycle ahead of use: ``n_out * W`` words in all, 2 EBR of
256 x 16 on iCE40 for 64 neurons, where per-PE 85-bit memories cost 6 EBR per PE.
"""

from amaranth.hdl import Cat, Const, EnableInserter, Module, Mux, Signal, Value, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .int8_mac import Int8Mac, check_acc_width
from .mvu import MatrixVectorEngine, _registered_read, fold_counts, lane_signature
from .requantize import QUANT_LAYOUT, REQUANT_LAYOUT, Requantizer

__all__ = ["Int8Lane", "Int8MVU", "QuantParamStore", "StreamSerializer", "StreamDeserializer",
           "INT8_MVU_MODES", "quant_param_words"]

INT8_MVU_MODES = ("acc", "requant")


class Int8Lane(wiring.Component):
    """The arithmetic of one int8 PE, following the lane contract of :mod:`bitmac.hdl.mvu`.

    An :class:`~bitmac.hdl.int8_mac.Int8Mac` sums the ``simd`` products of each synapse fold
    into the neuron's accumulator (``first`` clears it). The result, the signed accumulator, is
    registered (out of the DSP block). Requantization happens after the engine, in
    :class:`Int8MVU`'s shared path.

    The lane declares the engine's optional ``enable`` input and freezes itself with it, DSP
    instances included (packed :class:`~bitmac.hdl.dsp.DualInt8Product`, ECP5
    :class:`~bitmac.hdl.dsp.RegisteredInt8Product`), instead of being wrapped in
    :class:`EnableInserter`.

    Latency: ``Int8Mac.latency + 1`` (4 for ``simd=1``, ``6 + ceil(log2(simd))`` otherwise,
    ``5 + ceil(log2(simd))`` packed); one fold per cycle.

    Parameters
    ----------
    n_in, simd : int
        Dot product depth and lanes per fold.
    acc_width : int
        Accumulator width, at least ``acc_bits(n_in)`` (refused otherwise).
    packed : bool
        Two products per DSP block (``simd >= 2``).
    dsp_implementation : str
        Packed: ``"auto"``, ``"sb_mac16"`` or ``"model"`` (see
        :class:`~bitmac.hdl.dsp.DualInt8Product`); otherwise ``"auto"``, ``"mult18x18d"`` or
        ``"model"`` (see :class:`~bitmac.hdl.int8_mac.Int8Mac`).
    """

    def __init__(self, n_in, simd, acc_width, *, packed=False, dsp_implementation="auto"):
        self._mac = Int8Mac(acc_width, simd=simd, depth=n_in, packed=packed,
                            dsp_implementation=dsp_implementation)
        super().__init__(lane_signature(
            simd=simd, a_shape=signed(8), w_shape=signed(8), result_shape=signed(acc_width),
            enable=True))

    @property
    def latency(self):
        return self._mac.latency + 1

    def elaborate(self, platform):
        top = Module()
        top.submodules.mac = mac = self._mac
        m = Module()
        top.submodules.logic = EnableInserter(self.enable)(m)
        top.d.comb += mac.enable.eq(self.enable)
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
        with m.If(done):
            m.d.sync += self.result.eq(mac.acc)
        return top


def _wrap_increment(counter, modulus):
    """``counter + 1`` modulo ``modulus``."""
    if modulus == 1:
        return counter
    return Mux(counter == modulus - 1, 0, counter + 1)


#: Widest word count of the parameter memory: 85 bits in words of at most 16 bits (the width
#: of an iCE40 EBR port).
MAX_QUANT_PARAM_WORDS = -(-QUANT_LAYOUT.size // 16)


def quant_param_words(requant_mul_cycles):
    """Words per neuron in the parameter memory: as many (up to 6, 15 bits each) as can be read
    one per cycle while the requantizer spends ``requant_mul_cycles`` cycles on a neuron."""
    return min(MAX_QUANT_PARAM_WORDS, requant_mul_cycles)


class QuantParamStore(wiring.Component):
    """The requantization parameters of ``n_out`` neurons, joined to their accumulators.

    Holds one memory of ``n_out * words`` words of ``ceil(85 / words)`` bits, neuron ``n``'s
    :data:`~bitmac.hdl.requantize.QUANT_LAYOUT` bits in words ``n * words .. n * words +
    words - 1``, least significant word first. Accumulators arrive on ``i_stream`` in neuron
    order ``0 .. n_out - 1`` (then 0 again: a neuron counter, reset by reset, wraps at
    ``n_out``); each leaves on ``o_stream`` with its neuron's parameters.

    Reading: one word per cycle, ahead of use (a neuron's words are read while the previous
    one waits), so a neuron's parameters are ready ``words`` cycles after the previous one
    left, and at once when the store was idle. No register holds a whole neuron: the
    requantizer's first stage does. Latency 0 (``o_stream`` is combinational from
    ``i_stream``); throughput one beat every ``words`` cycles.

    Loading: ``q_stream`` takes ``n_out`` beats in neuron order, a new load only while
    ``may_load`` is high (the owner holds no accumulator that has not yet left). A beat is
    written word by word from the payload and taken with its last word (one beat every
    ``words`` cycles); ``loading`` is high from the first write until the last, and the
    read-ahead restarts from neuron 0 afterwards. Reset drops a partial load; the memory
    keeps its contents.

    Parameters
    ----------
    n_out : int
        Neurons.
    words : int
        Words per neuron, 1 to 6.
    acc_width : int
        Width of the signed accumulators on ``i_stream`` (sign-extended to 32 bits).

    Attributes
    ----------
    load_last_beat : Out(1)
        The beat on ``q_stream`` is the last of its load.
    vector_end : Out(1)
        Neuron ``n_out - 1`` leaves this cycle.
    """

    def __init__(self, n_out, words, acc_width):
        if not isinstance(words, int) or not 1 <= words <= MAX_QUANT_PARAM_WORDS:
            raise ValueError(f"words must be an integer from 1 to {MAX_QUANT_PARAM_WORDS}, "
                             f"not {words!r}")
        self.n_out, self.words = n_out, words
        self.word_width = -(-QUANT_LAYOUT.size // words)
        super().__init__({
            "q_stream": In(stream.Signature(QUANT_LAYOUT)),
            "i_stream": In(stream.Signature(signed(acc_width))),
            "o_stream": Out(stream.Signature(REQUANT_LAYOUT)),
            "may_load": In(1),
            "loading": Out(1),
            "load_last_beat": Out(1),
            "vector_end": Out(1),
        })

    @property
    def depth(self):
        return self.n_out * self.words

    def elaborate(self, platform):
        m = Module()
        n_out, words, width, depth = self.n_out, self.words, self.word_width, self.depth
        # no_rw_check: nothing read during a load is used (the read-ahead restarts after it).
        m.submodules.memory = memory = Memory(shape=width, depth=depth, init=[],
                                              attrs={"no_rw_check": 1})

        # ---- load: a beat is written as `words` words, one per cycle, straight from the
        # payload (held by the source until the last word is written, when it is taken) ----
        write = memory.write_port()
        open_load = Signal()                    # some beats of a load taken, not all
        beats = Signal(range(n_out))
        word_index = Signal(range(words))
        write_addr = Signal(range(depth))
        writing, q_beat = Signal(), Signal()
        payload = Value.cast(self.q_stream.payload)
        padded = Cat(payload, Const(0, words * width - len(payload)))
        m.d.comb += [
            writing.eq(self.q_stream.valid & (open_load | self.may_load)),
            self.q_stream.ready.eq((open_load | self.may_load) & (word_index == words - 1)),
            q_beat.eq(self.q_stream.valid & self.q_stream.ready),
            write.addr.eq(write_addr),
            write.data.eq(padded.word_select(word_index, width) if words > 1 else padded),
            write.en.eq(writing),
            self.loading.eq(open_load | writing),
            self.load_last_beat.eq(beats == n_out - 1),
        ]
        with m.If(writing):
            m.d.sync += [write_addr.eq(_wrap_increment(write_addr, depth)),
                         word_index.eq(_wrap_increment(word_index, words))]
        with m.If(q_beat):
            m.d.sync += [beats.eq(_wrap_increment(beats, n_out)),
                         open_load.eq(beats != n_out - 1)]

        # ---- read-ahead: the words of the next neuron, in order, one per cycle ----
        # The last word stays in the read register until its neuron leaves; the next neuron's
        # first word is read in that cycle, so a neuron is complete `words` cycles later.
        take = Signal()
        word_valid = Signal()
        read_addr = Signal(range(depth))
        complete = Signal()
        word_used = Signal()
        advance = ~word_valid | word_used
        word = _registered_read(m, memory, read_addr, advance, "param_word")
        with m.If(advance):
            m.d.sync += [word_valid.eq(1), read_addr.eq(_wrap_increment(read_addr, depth))]
        if words == 1:
            neuron_params = word
            m.d.comb += [complete.eq(word_valid), word_used.eq(take)]
        else:
            got = Signal(range(words))          # words of the next neuron already gathered
            parts = Signal((words - 1) * width, reset_less=True)
            neuron_params = Cat(parts, word)
            m.d.comb += [complete.eq(word_valid & (got == words - 1)),
                         word_used.eq(word_valid & ((got != words - 1) | take))]
            with m.If(word_used):
                with m.If(got == words - 1):
                    m.d.sync += got.eq(0)
                with m.Else():
                    m.d.sync += [parts.eq(Cat(parts[width:], word)), got.eq(got + 1)]
            with m.If(self.loading):
                m.d.sync += got.eq(0)
        with m.If(self.loading):
            m.d.sync += [word_valid.eq(0), read_addr.eq(0)]

        # ---- join: an accumulator leaves with the parameters of its neuron ----
        neuron = Signal(range(n_out))
        m.d.comb += [
            self.o_stream.valid.eq(self.i_stream.valid & complete),
            self.o_stream.payload.acc.eq(self.i_stream.payload),
            self.o_stream.payload.quant.eq(neuron_params),
            self.i_stream.ready.eq(self.o_stream.ready & complete),
            take.eq(self.o_stream.valid & self.o_stream.ready),
            self.vector_end.eq(take & (neuron == n_out - 1)),
        ]
        with m.If(take):
            m.d.sync += neuron.eq(_wrap_increment(neuron, n_out))
        return m


class StreamSerializer(wiring.Component):
    """Split each beat of ``count`` elements into ``count`` beats, element 0 first.

    The input beat is copied into a holding register, so the source is free again while the
    elements leave. Latency 1 cycle; throughput one element per cycle, one input beat every
    ``count`` cycles (back to back: the next beat is taken as the last element leaves).

    With ``registered_ready=True``, ``i_stream.ready`` is "nothing held", straight from a
    register: the ready path of ``o_stream`` stops here instead of running on into the
    source, and the next beat is taken one cycle after the last element left (one input
    beat every ``count + 1`` cycles).
    """

    def __init__(self, shape, count, *, registered_ready=False):
        self._shape, self._count = shape, count
        self._registered_ready = registered_ready
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
            self.i_stream.ready.eq(~held_valid if self._registered_ready
                                   else ~held_valid | leaving_last),
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
    packed : bool
        Two int8 products per DSP block (iCE40 UltraPlus SB_MAC16 in its 8x8 mode;
        ``simd >= 2``): ``pe * ceil(simd / 2)`` DSP blocks instead of ``pe * simd``. Elaborated
        without a platform, or with ``dsp_implementation="model"``, the blocks are a
        behavioural model in logic; for a part without such a block, elaboration fails.
    dsp_implementation : str
        Packed: ``"auto"`` (default), ``"sb_mac16"`` or ``"model"`` (see
        :class:`~bitmac.hdl.dsp.DualInt8Product`). Otherwise ``"auto"`` (on ECP5 with
        ``simd > 1``, one hand-instantiated MULT18X18D per product with its registers on, see
        :class:`~bitmac.hdl.dsp.RegisteredInt8Product`), ``"mult18x18d"`` or ``"model"`` (see
        :class:`~bitmac.hdl.int8_mac.Int8Mac`).

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

    Weights are loaded while no vector is held (rules of :mod:`bitmac.hdl.mvu`). Parameters
    are loaded the same way, except that a parameter load starts only once every neuron of the
    vectors sent before it has entered the requantizer (results may still be in the
    requantizer and on ``o_stream``), no input beat is taken while it runs, and ``q_stream``
    takes one beat every :attr:`params` ``.words`` cycles. Reset drops the vectors in flight
    and partial loads and keeps the memories.

    Storage: weights ``n_out * n_in`` bytes in ``pe`` memories; parameters in one memory of
    ``n_out * W`` words of ``ceil(85 / W)`` bits, ``W = min(6, requant_mul_cycles)``
    (:class:`QuantParamStore`), read ahead one word per cycle so that it keeps up with the
    requantizer.

    Attributes
    ----------
    engine : MatrixVectorEngine
    params : QuantParamStore
        Requant mode only.
    latency : int
        Cycles from the transfer of a vector's last input beat to its first output beat when
        nothing stalls and the unit was idle.
    cycles_per_vector : int
        ``NF * SF`` at full rate (acc mode; requant mode too while
        ``pe * requant_mul_cycles <= SF``).
    macs_per_cycle : int
        ``pe * simd``.
    dsp_blocks : int
        DSP multipliers of the lanes (see the property).
    """

    def __init__(self, n_in, n_out, pe, simd, mode="acc", *, acc_width=32,
                 requant_mul_cycles=1, weight_ram_style=None, packed=False,
                 dsp_implementation="auto"):
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
        self.packed = packed

        def lane():
            return Int8Lane(n_in, simd, acc_width, packed=packed,
                            dsp_implementation=dsp_implementation)

        requant = mode == "requant"
        self.engine = MatrixVectorEngine(
            n_in, n_out, pe, simd, a_shape=signed(8), w_shape=signed(8), lane=lane,
            pad_activation=0, pad_weight=0, weight_ram_style=weight_ram_style)
        members = {
            "i_stream": In(stream.Signature(data.ArrayLayout(signed(8), simd))),
            "w_stream": In(stream.Signature(data.ArrayLayout(signed(8), simd))),
        }
        if requant:
            members["q_stream"] = In(stream.Signature(QUANT_LAYOUT))
            # A requantizer slower than one value per cycle leaves the serializer an idle
            # cycle between beats: it then cuts the ready path from the requantizer (and
            # whatever follows the unit) to the engine's pipeline enable.
            self.serializer = StreamSerializer(signed(acc_width), pe,
                                               registered_ready=requant_mul_cycles > 1)
            self.params = QuantParamStore(n_out, quant_param_words(requant_mul_cycles),
                                          acc_width)
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
    def dsp_blocks(self):
        """DSP multipliers of the MAC lanes: ``pe * ceil(simd / 2)`` packed, else ``pe *
        simd`` (one per product, as Yosys infers them); the requantizer's are not counted."""
        return self.pe * (-(-self.simd // 2) if self.packed else self.simd)

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
        wiring.connect(m, wiring.flipped(self.w_stream), engine.w_stream)
        if self.mode == "acc":
            wiring.connect(m, wiring.flipped(self.i_stream), engine.i_stream)
            wiring.connect(m, engine.o_stream, wiring.flipped(self.o_stream))
            return m
        m.d.comb += engine.i_stream.payload.eq(self.i_stream.payload)
        m.submodules.serializer = serializer = self.serializer
        m.submodules.params = params = self.params
        m.submodules.requantizer = self.requantizer
        m.submodules.deserializer = self.deserializer
        wiring.connect(m, wiring.flipped(self.q_stream), params.q_stream)
        wiring.connect(m, engine.o_stream, serializer.i_stream)
        wiring.connect(m, serializer.o_stream, params.i_stream)
        wiring.connect(m, params.o_stream, self.requantizer.i_stream)
        wiring.connect(m, self.requantizer.o_stream, self.deserializer.i_stream)
        wiring.connect(m, self.deserializer.o_stream, wiring.flipped(self.o_stream))

        # The parameters are read as the neurons enter the requantizer, so a parameter load
        # may start only when no vector is short of that point (`pending` counts vectors from
        # their first input beat until their last neuron has entered), and no input beat is
        # taken while a load runs or starts. `claimed` (the unit is idle and a parameter beat
        # waits) and `input_blocked` are registers: `i_stream.ready` must stay one LUT from
        # registers, as it heads the previous layer's ready chain in a network.
        sf = self.synapse_folds
        in_beat_index = Signal(range(sf))
        pending = Signal(range(engine.latency + 8))
        claimed = Signal()
        input_blocked = Signal()
        in_beat = Signal()
        m.d.comb += [
            params.may_load.eq(claimed),
            engine.i_stream.valid.eq(self.i_stream.valid & ~input_blocked),
            self.i_stream.ready.eq(engine.i_stream.ready & ~input_blocked),
            in_beat.eq(engine.i_stream.valid & engine.i_stream.ready),
        ]
        claim = self.q_stream.valid & (pending == 0) & ~in_beat
        load_open_next = params.loading & ~(self.q_stream.ready & self.q_stream.valid
                                            & params.load_last_beat)
        m.d.sync += [claimed.eq(claim), input_blocked.eq(claim | load_open_next)]
        with m.If(in_beat):
            m.d.sync += in_beat_index.eq(_wrap_increment(in_beat_index, sf))
        vector_start = in_beat & (in_beat_index == 0)
        with m.If(vector_start & ~params.vector_end):
            m.d.sync += pending.eq(pending + 1)
        with m.Elif(~vector_start & params.vector_end):
            m.d.sync += pending.eq(pending - 1)
        return m
