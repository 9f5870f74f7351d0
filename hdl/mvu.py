"""The folding engine shared by every matrix-vector unit (binary and int8).

A matrix-vector unit computes ``y = W @ x`` for a weight matrix ``W`` of shape
``(n_out, n_in)`` held on chip, one input vector ``x`` after another. It is folded FINN-style:
``pe`` processing elements each compute one output neuron, ``simd`` input elements at a time,
so one vector takes ``NF * SF`` cycles, with ``NF = n_out // pe`` neuron folds and
``SF = ceil(n_in / simd)`` synapse folds. :class:`MatrixVectorEngine` does everything that does
not depend on the arithmetic: streams, the double-buffered input buffer that replays ``x`` for
every neuron fold, one weight memory per PE, the optional per-neuron parameter memories, fold
counters, and output back-pressure. The arithmetic of one PE is a *lane datapath*, a small
component the engine instantiates ``pe`` times (binary: :class:`bitmac.hdl.binary_mvu.BinaryLane`;
int8: ``bitmac.hdl.int8_mvu``).

Streams
-------
``i_stream`` (in)
    ``SF`` beats per vector; beat ``s`` carries elements ``s*simd .. s*simd+simd-1``, element
    ``j`` in lane ``j % simd``. Payload ``ArrayLayout(a_shape, simd)``, or ``unsigned(simd)``
    when elements are 1 bit wide (element ``j`` at bit ``j % simd``). Lanes past ``n_in`` in the
    last beat are padding: the engine overwrites them with ``pad_activation`` on the way into
    the buffer, so whatever the source puts there is ignored.
``w_stream`` (in)
    ``n_out * SF`` beats per full load: neuron ``n = 0 .. n_out-1``, then chunk ``s = 0 ..
    SF-1``, beat = ``W[n, s*simd:(s+1)*simd]`` laid out like ``i_stream``; padding lanes are
    stored as ``pad_weight``. Neuron ``n`` lives in PE ``n % pe`` at memory row
    ``(n // pe) * SF + s``.
``<param_port>`` (in, only when ``param_shape`` is given)
    ``n_out`` beats per full load, one per neuron in neuron order, payload ``param_shape``.
``o_stream`` (out)
    ``NF`` beats per vector; beat ``f`` carries neuron ``f*pe + p`` in lane ``p``. Payload
    ``ArrayLayout(result_shape, pe)``, or ``unsigned(pe)`` when results are 1 bit wide.

When loads are accepted
-----------------------
A load (weights or parameters) may *start* only while the unit holds no vector: the input
buffer is empty and nothing is being issued (results of earlier vectors may still be draining
through the pipeline; they were computed with the old contents). Once a load has started,
its stream stays ready until it is complete, and no vector is issued until every load in
progress is complete (vector beats are still accepted into the buffer meanwhile). So a source
that finishes sending vectors, then a load, then more vectors gets the old weights for the
first vectors and the new ones for the rest, whatever the stalls. A load must be complete
(``n_out * SF`` or ``n_out`` beats): a partial load blocks the unit until it is finished.

Reset (the ``sync`` domain's ``rst``) drops every vector in flight and every partial load; the
memories keep their contents, so weights and parameters need not be reloaded.

Timing
------
Throughput: ``NF * SF`` cycles per vector, back to back with no bubble when all streams flow
(a new vector is buffered while the previous one is replayed), i.e. ``pe * simd`` MACs/cycle.
Latency: the first result beat of a vector is valid ``SF + 1 + lane.latency`` cycles after the
cycle its last ``i_stream`` beat was transferred (when the engine was idle); beat ``f`` follows
``f * SF`` cycles later. Back-pressure on ``o_stream`` freezes the whole pipeline (one enable,
``advance = ~o_stream.valid | o_stream.ready``); nothing is lost or duplicated.

Lane datapath contract
----------------------
``lane`` is a callable taking no arguments that returns a new :class:`wiring.Component`; the
engine calls it ``pe`` times at construction (the first lane also gives the result shape).
Its signature (:func:`lane_signature`) has:

``valid : In(1)``
    This cycle carries one synapse fold of some neuron.
``first : In(1)``, ``last : In(1)``
    The fold is the first (``s == 0``) / last (``s == SF-1``) of the neuron's ``SF`` folds
    (both high when ``SF == 1``). Folds of one neuron arrive in order on consecutive valid
    cycles, and neurons follow one another without gaps at full rate.
``activations : In(ArrayLayout(a_shape, simd))``
    ``x[s*simd : s*simd+simd]`` (padding lanes hold ``pad_activation``).
``weights : In(ArrayLayout(w_shape, simd))``
    ``W[n, s*simd : s*simd+simd]`` of this lane's neuron ``n`` (padding lanes hold
    ``pad_weight``).
``param : In(param_shape)`` (only when the engine has a parameter port)
    The neuron's parameter, stable through all of its folds.
``result_valid : Out(1)``, ``result : Out(result_shape)``
    ``result_valid`` is high for exactly one cycle per neuron, ``latency`` cycles after the
    cycle in which its ``last`` fold was presented, with the neuron's result on ``result``.
    Both must come straight from registers (not combinationally from the inputs).

``enable : In(1)`` (optional)
    The engine's pipeline enable, high in every cycle the pipeline moves. A lane declares it
    when it holds hard blocks with registers of their own (a DSP primitive instance), which
    :class:`EnableInserter` cannot reach. Such a lane is not wrapped: it freezes all of its
    state itself while ``enable`` is low (its logic through its own :class:`EnableInserter`,
    the hard blocks through their clock enables).

and an integer attribute ``latency >= 1``. The lane is written as a free-running pipeline
with no stall input: the engine wraps it in :class:`EnableInserter` so that all of its ``sync``
logic (including any memory ports) freezes while the output is back-pressured (unless it
declares ``enable``). Choose
``pad_activation``/``pad_weight`` so that a padding lane contributes nothing (binary: 0 and 1,
their XNOR is 0; int8: 0 and 0).
"""

from amaranth.hdl import Cat, Const, EnableInserter, Module, Mux, Shape, Signal, Value, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["MatrixVectorEngine", "fold_counts", "lane_signature", "stream_payload_shape"]


_NO_RW_CHECK = {"no_rw_check": 1}


class _LoadWrite:
    """Registered write of one load stream into the per-PE memories."""

    def __init__(self, *, enable, addr, data, loading):
        self.enable, self.addr, self.data, self.loading = enable, addr, data, loading

    def connect_write_port(self, m, port, index):
        m.d.comb += [port.addr.eq(self.addr), port.data.eq(self.data),
                     port.en.eq(self.enable[index])]


def _registered_read(m, memory, addr, en, name):
    """Synchronous, non-transparent read of ``memory`` written as an asynchronous port plus a
    reset-less register. Yosys merges the two into the block RAM's own read port and then
    honours ``no_rw_check`` (it does not for ports that arrive already synchronous)."""
    port = memory.read_port(domain="comb")
    data = Signal(memory.shape, name=name, reset_less=True)
    m.d.comb += port.addr.eq(addr)
    with m.If(en):
        m.d.sync += data.eq(port.data)
    return data


def _check_positive(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")


def fold_counts(n_in, n_out, pe, simd):
    """Check the folding parameters and return ``(NF, SF)``.

    Raises
    ------
    ValueError
        Unless all four are positive integers, ``pe`` divides ``n_out`` and ``simd <= n_in``.
    """
    for name, value in (("n_in", n_in), ("n_out", n_out), ("pe", pe), ("simd", simd)):
        _check_positive(name, value)
    if n_out % pe:
        divisors = [d for d in range(1, n_out + 1) if n_out % d == 0]
        raise ValueError(f"pe must divide n_out={n_out} (allowed: {divisors}), not {pe}")
    if simd > n_in:
        raise ValueError(f"simd must be at most n_in={n_in}, not {simd}")
    return n_out // pe, -(-n_in // simd)


def stream_payload_shape(element_shape, count):
    """Payload of ``count`` elements: ``unsigned(count)`` for 1-bit elements, else
    ``ArrayLayout(element_shape, count)``."""
    if Shape.cast(element_shape).width == 1:
        return unsigned(count)
    return data.ArrayLayout(element_shape, count)


def lane_signature(*, simd, a_shape, w_shape, result_shape, param_shape=None, enable=False):
    """The :class:`wiring.Signature` a lane datapath must have (see the module docstring);
    ``enable=True`` adds the optional ``enable`` input."""
    members = {
        "valid": In(1),
        "first": In(1),
        "last": In(1),
        "activations": In(data.ArrayLayout(a_shape, simd)),
        "weights": In(data.ArrayLayout(w_shape, simd)),
        "result_valid": Out(1),
        "result": Out(result_shape),
    }
    if param_shape is not None:
        members["param"] = In(param_shape)
    if enable:
        members["enable"] = In(1)
    return wiring.Signature(members)


class MatrixVectorEngine(wiring.Component):
    """Folded matrix-vector unit with a pluggable per-PE arithmetic (see the module docstring
    for streams, load rules, timing and the lane contract).

    Parameters
    ----------
    n_in, n_out : int
        Matrix shape ``(n_out, n_in)``.
    pe : int
        Processing elements (output neurons per cycle); must divide ``n_out``.
    simd : int
        Input elements per cycle, ``1 <= simd <= n_in``; ``n_in`` need not be a multiple.
    a_shape, w_shape : ShapeLike
        Shape of one activation / weight element.
    lane : callable
        Returns a new lane datapath component.
    param_shape : ShapeLike or None
        Per-neuron parameter (e.g. a threshold), loaded through ``param_port``.
    param_port : str
        Name of the parameter stream member.
    pad_activation, pad_weight : int
        Values stored in the padding lanes of the last synapse fold.
    weight_ram_style : str, sequence of str or None
        Yosys ``ram_style`` attribute of the weight memories: one for all PEs or one per PE
        (``None`` entries leave the choice to Yosys), e.g. ``"logic"`` or ``"block"``.

    Attributes
    ----------
    neuron_folds, synapse_folds : int
        ``NF`` and ``SF``.
    latency : int
        ``SF + 1 + lane.latency``: cycles from the transfer of a vector's last input beat to its
        first valid output beat (engine idle, no stall).
    cycles_per_vector : int
        ``NF * SF`` at full rate.
    """

    def __init__(self, n_in, n_out, pe, simd, *, a_shape, w_shape, lane, param_shape=None,
                 param_port="t_stream", pad_activation=0, pad_weight=0, weight_ram_style=None):
        self._nf, self._sf = fold_counts(n_in, n_out, pe, simd)
        if weight_ram_style is None or isinstance(weight_ram_style, str):
            weight_ram_style = [weight_ram_style] * pe
        weight_ram_style = list(weight_ram_style)
        if len(weight_ram_style) != pe or not all(
                style is None or isinstance(style, str) for style in weight_ram_style):
            raise ValueError(f"weight_ram_style must be None, a string or {pe} strings/None "
                             f"(one per PE), not {weight_ram_style!r}")
        self._weight_ram_style = weight_ram_style
        self._n_in, self._n_out, self._pe, self._simd = n_in, n_out, pe, simd
        self._a_shape, self._w_shape = Shape.cast(a_shape), Shape.cast(w_shape)
        self._param_shape = param_shape
        self._param_port = param_port
        self._pad_activation, self._pad_weight = pad_activation, pad_weight
        if not callable(lane):
            raise ValueError(f"lane must be a callable returning a lane component, not {lane!r}")
        # Built once here (the first one also tells the result shape and latency).
        self._lanes = [lane() for _ in range(pe)]
        prototype = self._lanes[0]
        latency = getattr(prototype, "latency", None)
        if not isinstance(latency, int) or latency < 1:
            raise ValueError(f"a lane datapath must have an integer latency >= 1, not {latency!r}")
        self._lane_latency = latency
        self._result_shape = prototype.signature.members["result"].shape
        self._lane_enable = "enable" in prototype.signature.members
        expected = lane_signature(simd=simd, a_shape=a_shape, w_shape=w_shape,
                                  result_shape=self._result_shape, param_shape=param_shape,
                                  enable=self._lane_enable)
        if prototype.signature != expected:
            raise ValueError(f"lane signature {prototype.signature!r} does not match the "
                             f"engine's {expected!r}")
        members = {
            "i_stream": In(stream.Signature(stream_payload_shape(a_shape, simd))),
            "w_stream": In(stream.Signature(stream_payload_shape(w_shape, simd))),
            "o_stream": Out(stream.Signature(stream_payload_shape(self._result_shape, pe))),
        }
        if param_shape is not None:
            if param_port in members:
                raise ValueError(f"param_port must not be one of {sorted(members)}")
            members[param_port] = In(stream.Signature(param_shape))
        super().__init__(members)

    n_in = property(lambda self: self._n_in)
    n_out = property(lambda self: self._n_out)
    pe = property(lambda self: self._pe)
    simd = property(lambda self: self._simd)
    neuron_folds = property(lambda self: self._nf)
    synapse_folds = property(lambda self: self._sf)
    lane_latency = property(lambda self: self._lane_latency)

    @property
    def latency(self):
        return self._sf + 1 + self._lane_latency

    @property
    def cycles_per_vector(self):
        return self._nf * self._sf

    def _padded(self, m, payload, is_last_chunk, shape, pad, name):
        # The last chunk's lanes past n_in are replaced by `pad`, so they never count.
        bits = Value.cast(payload)
        valid_lanes = self._n_in - (self._sf - 1) * self._simd
        if valid_lanes == self._simd:
            return bits
        width = shape.width
        filler = Const(pad, shape)
        padded = Cat(bits[:valid_lanes * width], *([filler] * (self._simd - valid_lanes)))
        result = Signal(len(bits), name=name)
        m.d.comb += result.eq(Mux(is_last_chunk, padded, bits))
        return result

    def _load(self, m, load_stream, chunks, buffer_empty, *, pad=None):
        """Accept a load of ``n_out * chunks`` beats (neuron-major, then chunk) on
        ``load_stream`` and write it one cycle later (registered address, data and per-PE
        write enable keep the stream's handshake out of the block RAMs' timing paths)."""
        nf, pe = self._nf, self._pe
        chunk = Signal((chunks - 1).bit_length())
        neuron_pe = Signal(range(pe))
        row = Signal(range(nf * chunks))          # (n // pe) * chunks
        open_load = Signal()                      # some beats of a load accepted, not all
        beat = Signal()
        m.d.comb += [
            load_stream.ready.eq(open_load | buffer_empty),
            beat.eq(load_stream.valid & load_stream.ready),
        ]
        payload = load_stream.payload
        if pad is not None:
            payload = self._padded(m, payload, chunk == chunks - 1, self._w_shape, pad,
                                   "load_padded")
        write = _LoadWrite(
            enable=Signal(pe),
            addr=Signal(range(nf * chunks), reset_less=True),
            data=Signal(len(Value.cast(payload)), reset_less=True),
            loading=Signal())
        # The beat and its PE are registered, the one-hot write enable decoded after them: a
        # decode in front of the register would put `beat` on every bit's reset pin.
        written, written_pe = Signal(), Signal(range(pe), reset_less=True)
        m.d.sync += [written.eq(beat), written_pe.eq(neuron_pe)]
        m.d.comb += write.enable.eq(Mux(written, 1 << written_pe, 0))
        last_chunk, last_pe = chunk == chunks - 1, neuron_pe == pe - 1
        with m.If(beat):
            m.d.sync += [write.addr.eq(row + chunk), write.data.eq(payload),
                         open_load.eq(~(last_chunk & last_pe & (row == (nf - 1) * chunks)))]
            with m.If(last_chunk):
                m.d.sync += chunk.eq(0)
                with m.If(last_pe):
                    m.d.sync += neuron_pe.eq(0)
                    with m.If(row == (nf - 1) * chunks):
                        m.d.sync += row.eq(0)
                    with m.Else():
                        m.d.sync += row.eq(row + chunks)
                with m.Else():
                    m.d.sync += neuron_pe.eq(neuron_pe + 1)
            with m.Else():
                m.d.sync += chunk.eq(chunk + 1)
        # No vector is issued until the last beat has been written: `loading` is high while a
        # load is open and in the cycle its last beat is written. A register (not
        # `open_load | beat_written`): it heads the issue logic's timing path.
        m.d.sync += write.loading.eq(beat | open_load)
        return write

    def elaborate(self, platform):
        m = Module()
        nf, sf, pe, simd = self._nf, self._sf, self._pe, self._simd
        sf_bits = (sf - 1).bit_length()
        a_width = self._a_shape.width * simd
        w_width = self._w_shape.width * simd

        advance = Signal()          # the pipeline moves this cycle (output not back-pressured)
        m.d.comb += advance.eq(~self.o_stream.valid | self.o_stream.ready)

        # ---- input buffer: two banks of SF rows, written by i_stream, replayed NF times ----
        # no_rw_check: a read never meets a write to the same row (the two banks here; loads
        # and issue never overlap for the weights and parameters), so Yosys must not add
        # read-during-write bypass logic around the block RAMs.
        m.submodules.ibuf = ibuf = Memory(shape=a_width, depth=2 << sf_bits, init=[],
                                          attrs=_NO_RW_CHECK)
        ibuf_w = ibuf.write_port()
        wr_bank = Signal()
        wr_idx = Signal(sf_bits)
        full = Signal(2)            # bank holds a complete vector not yet fully issued
        wr_bank_full = Mux(wr_bank, full[1], full[0])
        in_beat = Signal()
        m.d.comb += [
            self.i_stream.ready.eq(~wr_bank_full),
            in_beat.eq(self.i_stream.valid & self.i_stream.ready),
            ibuf_w.addr.eq(Cat(wr_idx, wr_bank)),
            ibuf_w.data.eq(self._padded(m, self.i_stream.payload, wr_idx == sf - 1,
                                        self._a_shape, self._pad_activation, "i_padded")),
            ibuf_w.en.eq(in_beat),
        ]
        vector_in = Signal()        # this beat completes a vector
        m.d.comb += vector_in.eq(in_beat & (wr_idx == sf - 1))
        with m.If(in_beat):
            with m.If(wr_idx == sf - 1):
                m.d.sync += [wr_idx.eq(0), wr_bank.eq(~wr_bank)]
            with m.Else():
                m.d.sync += wr_idx.eq(wr_idx + 1)
        # `full == 0 & wr_idx == 0`, kept as a register (its next value is computed below):
        # it decides whether a load may start, which heads the load counters' timing paths.
        buffer_empty = Signal(init=1)

        # ---- loads: weights (SF beats per neuron) and optional per-neuron parameters ----
        weight_load = self._load(m, self.w_stream, sf, buffer_empty, pad=self._pad_weight)
        loading = weight_load.loading
        if self._param_shape is not None:
            param_load = self._load(m, getattr(self, self._param_port), 1, buffer_empty)
            loading = loading | param_load.loading

        # ---- issue: replay the buffered vector for every neuron fold ----
        rd_bank = Signal()
        is_row = Signal(range(nf * sf))      # weight row f * SF + s being issued
        is_s = Signal(sf_bits)
        is_f = Signal(range(nf))
        can_issue = Signal()
        m.d.comb += can_issue.eq(Mux(rd_bank, full[1], full[0]) & ~loading)
        vector_done = Signal()               # this cycle issues a vector's last fold
        # `is_s == SF-1` and `is_f == NF-1` as registers, stepped with the counters: they
        # decide the end of a vector, which heads the buffer-bank logic's timing path.
        s_last = Signal(init=int(sf == 1))
        f_last = Signal(init=int(nf == 1))
        m.d.comb += vector_done.eq(advance & can_issue & s_last & f_last)
        with m.If(advance & can_issue):
            m.d.sync += s_last.eq(1 if sf == 1 else ~s_last & (is_s == sf - 2))
            with m.If(s_last):
                m.d.sync += [is_s.eq(0),
                             f_last.eq(1 if nf == 1 else ~f_last & (is_f == nf - 2))]
                with m.If(f_last):
                    m.d.sync += [is_f.eq(0), is_row.eq(0), rd_bank.eq(~rd_bank)]
                with m.Else():
                    m.d.sync += [is_f.eq(is_f + 1), is_row.eq(is_row + 1)]
            with m.Else():
                m.d.sync += [is_s.eq(is_s + 1), is_row.eq(is_row + 1)]
        next_full = Signal(2)
        for bank in range(2):
            m.d.comb += next_full[bank].eq(
                Mux(vector_in & (wr_bank == bank), 1,
                    Mux(vector_done & (rd_bank == bank), 0, full[bank])))
        m.d.sync += [
            full.eq(next_full),
            buffer_empty.eq((next_full == 0)
                            & Mux(in_beat, wr_idx == sf - 1, wr_idx == 0)),
        ]
        activations = _registered_read(m, ibuf, Cat(is_s, rd_bank), advance, "activations")

        # Fold flags, aligned with the memories' read data (one cycle after issue).
        fold_valid, fold_first, fold_last = Signal(), Signal(), Signal()
        with m.If(advance):
            m.d.sync += [
                fold_valid.eq(can_issue),
                fold_first.eq(is_s == 0),
                fold_last.eq(s_last),
            ]

        # ---- processing elements ----
        results = []
        for index in range(pe):
            style = self._weight_ram_style[index]
            attrs = dict(_NO_RW_CHECK) if style is None else {**_NO_RW_CHECK, "ram_style": style}
            wmem = Memory(shape=w_width, depth=nf * sf, init=[], attrs=attrs)
            m.submodules[f"weights{index}"] = wmem
            weight_load.connect_write_port(m, wmem.write_port(), index)
            weights = _registered_read(m, wmem, is_row, advance, f"weights{index}_data")
            lane = self._lanes[index]
            m.submodules[f"lane{index}"] = (lane if self._lane_enable
                                            else EnableInserter(advance)(lane))
            m.d.comb += [
                lane.valid.eq(fold_valid),
                lane.first.eq(fold_first),
                lane.last.eq(fold_last),
                lane.activations.eq(activations),
                lane.weights.eq(weights),
            ]
            if self._lane_enable:
                m.d.comb += lane.enable.eq(advance)
            if self._param_shape is not None:
                pmem = Memory(shape=self._param_shape, depth=nf, init=[], attrs=_NO_RW_CHECK)
                m.submodules[f"params{index}"] = pmem
                param_load.connect_write_port(m, pmem.write_port(), index)
                m.d.comb += [
                    lane.param.eq(_registered_read(m, pmem, is_f, advance, f"params{index}_data")),
                ]
            results.append(lane.result)
            if index == 0:
                m.d.comb += self.o_stream.valid.eq(lane.result_valid)
        m.d.comb += self.o_stream.payload.eq(Cat(*results))
        return m
