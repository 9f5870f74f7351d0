"""Binary (XNOR-popcount) matrix-vector(-threshold) unit.

:class:`BinaryMVU` is the folding engine of :mod:`bitmac.hdl.mvu` with :class:`BinaryLane` as
the per-PE arithmetic. Weights and activations are one bit each (1 = +1, 0 = -1); a ±1 product
is the XNOR of the two bits, and the dot product of ``n_in`` elements is
``2 * popcount(XNOR) - n_in``.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring

from .mvu import MatrixVectorEngine, fold_counts, lane_signature
from .popcount import Popcount

__all__ = ["BinaryLane", "BinaryMVU", "binary_acc_width", "threshold_layout"]

MODES = ("acc", "threshold")


def binary_acc_width(n_in):
    """Signed width that holds every ±1 dot product of depth ``n_in`` (range ``[-n_in, n_in]``);
    the same number as ``bitmac.golden.acc_bits(n_in, 1, 1)``."""
    return n_in.bit_length() + 1


def threshold_layout(acc_width):
    """Payload of ``t_stream``: ``{"threshold": signed(acc_width), "invert": unsigned(1)}``."""
    return data.StructLayout({"threshold": signed(acc_width), "invert": unsigned(1)})


class BinaryLane(wiring.Component):
    """The arithmetic of one binary PE: XNOR, :class:`Popcount`, accumulate over the synapse
    folds, then the signed accumulator or its thresholded bit.

    Follows the lane contract of :mod:`bitmac.hdl.mvu`. Pipeline: popcount
    (``popcount_latency`` cycles), accumulate (1), output (1); ``latency =
    popcount_latency + 2``, one fold per cycle.

    Parameters
    ----------
    n_in, simd : int
        Dot product depth and lanes per fold (padding lanes arrive as activation 0, weight 1,
        whose XNOR is 0, so they never count).
    synapse_folds : int
        ``ceil(n_in / simd)``; with 1 the accumulator is a plain register.
    mode : "acc" or "threshold"
        ``result`` is ``signed(acc_width)`` (``2 * count - n_in``) or one bit
        (``(acc >= threshold) ^ invert`` with ``param`` of :func:`threshold_layout`).
    stage_levels : int or None
        Passed to :class:`Popcount`.
    """

    def __init__(self, n_in, simd, synapse_folds, mode, *, stage_levels=2):
        self._n_in, self._simd, self._sf, self._mode = n_in, simd, synapse_folds, mode
        self._acc_width = binary_acc_width(n_in)
        self._stage_levels = stage_levels
        self._popcount = Popcount(simd, stage_levels=stage_levels)
        result_shape = signed(self._acc_width) if mode == "acc" else unsigned(1)
        param_shape = threshold_layout(self._acc_width) if mode == "threshold" else None
        super().__init__(lane_signature(simd=simd, a_shape=1, w_shape=1,
                                        result_shape=result_shape, param_shape=param_shape))

    @property
    def latency(self):
        return self._popcount.latency + 2

    def elaborate(self, platform):
        m = Module()
        m.submodules.popcount = popcount = self._popcount
        m.d.comb += popcount.data.eq(~(self.activations.as_value() ^ self.weights.as_value()))

        # Fold flags (and the threshold) travel alongside the popcount pipeline.
        valid, first, last = self.valid, self.first, self.last
        param = self.param if self._mode == "threshold" else None
        for stage in range(popcount.latency):
            valid_q = Signal()
            first_q, last_q = Signal(reset_less=True), Signal(reset_less=True)
            m.d.sync += [valid_q.eq(valid), first_q.eq(first), last_q.eq(last)]
            valid, first, last = valid_q, first_q, last_q
            if param is not None:
                param_q = Signal(threshold_layout(self._acc_width), reset_less=True)
                m.d.sync += param_q.eq(param)
                param = param_q

        # Accumulate the count of agreeing bits over the neuron's synapse folds.
        # Data registers need no reset: only the valid flags say what they hold.
        count = Signal(range(self._n_in + 1), reset_less=True)
        done = Signal()
        with m.If(valid):
            if self._sf == 1:
                m.d.sync += count.eq(popcount.count)
            else:
                # The mux after the adder merges into the adder's LUTs (one LUT4 per bit).
                m.d.sync += count.eq(Mux(first, popcount.count, count + popcount.count))
        m.d.sync += done.eq(valid & last)
        if param is not None:
            param_q = Signal(threshold_layout(self._acc_width), reset_less=True)
            m.d.sync += param_q.eq(param)
            param = param_q

        # Output: acc = 2 * count - n_in, or its comparison with the neuron's threshold.
        acc = Signal(signed(self._acc_width + 1))
        m.d.comb += acc.eq((count << 1) - self._n_in)
        m.d.sync += self.result_valid.eq(done)
        if self._mode == "acc":
            m.d.sync += self.result.eq(acc)
        else:
            m.d.sync += self.result.eq((acc >= param.threshold) ^ param.invert)
        return m


class BinaryMVU(MatrixVectorEngine):
    """Binary matrix-vector(-threshold) unit: ``y = W x`` with ±1 weights and activations.

    Parameters
    ----------
    n_in, n_out : int
        Weight matrix shape ``(n_out, n_in)``, both >= 1.
    pe : int
        Output neurons computed in parallel; must divide ``n_out``.
    simd : int
        Input elements per cycle, ``1 <= simd <= n_in``; ``n_in`` need not be a multiple
        (the last beat's extra bits are ignored).
    mode : "acc" or "threshold"
        Output signed accumulators or one bit per neuron.
    stage_levels : int or None
        Popcount adder-tree levels between registers (``None``: combinational popcount). The
        default 1 registers every level: on LUT4 fabrics each register sits in the logic cell
        of the LUT that feeds it, so it adds latency but no logic cells, and it takes the
        long routes from the shared input buffer out of the adder paths.
    weight_ram_style : str, sequence or None
        Yosys ``ram_style`` of the weight memories, for all or per PE (see
        :class:`~bitmac.hdl.mvu.MatrixVectorEngine`).

    Streams (see :mod:`bitmac.hdl.mvu` and README "BinaryMVU ports")
    ----------------------------------------------------------------
    i_stream : In(stream.Signature(unsigned(simd)))
        Input vectors, ``SF = ceil(n_in / simd)`` beats each, element ``j`` at bit ``j % simd``
        of beat ``j // simd``.
    w_stream : In(stream.Signature(unsigned(simd)))
        Weights, ``n_out * SF`` beats: neuron-major, then input chunks.
    t_stream : In(stream.Signature(threshold_layout(acc_width)))
        Threshold mode only: ``n_out`` beats ``{"threshold", "invert"}`` in neuron order.
    o_stream : Out(stream.Signature(...))
        ``NF = n_out // pe`` beats per vector, neuron ``f * pe + p`` in lane ``p`` of beat ``f``:
        ``ArrayLayout(signed(acc_width), pe)`` in acc mode, ``unsigned(pe)`` in threshold mode.

    Attributes
    ----------
    acc_width : int
        ``acc_bits(n_in, 1, 1)``.
    latency : int
        ``SF + 1 + lane_latency`` cycles from the last input beat's transfer to the first output
        beat (``lane_latency = popcount latency + 2``).

    Throughput: ``NF * SF`` cycles per vector, i.e. ``pe * simd`` binary MACs per cycle, with
    back-to-back vectors and no bubble when all streams flow.
    """

    def __init__(self, n_in, n_out, pe, simd, mode="acc", *, stage_levels=1,
                 weight_ram_style=None):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        # fold_counts validates the sizes before any lane is built.
        _, synapse_folds = fold_counts(n_in, n_out, pe, simd)
        if stage_levels is not None and (not isinstance(stage_levels, int) or stage_levels < 1):
            raise ValueError(f"stage_levels must be a positive integer or None "
                             f"(combinational popcount), not {stage_levels!r}")
        self._mode = mode
        self._acc_width = binary_acc_width(n_in)

        def lane():
            return BinaryLane(n_in, simd, synapse_folds, mode, stage_levels=stage_levels)

        super().__init__(n_in, n_out, pe, simd, a_shape=1, w_shape=1, lane=lane,
                         param_shape=threshold_layout(self._acc_width)
                         if mode == "threshold" else None,
                         param_port="t_stream", pad_activation=0, pad_weight=1,
                         weight_ram_style=weight_ram_style)

    @property
    def mode(self):
        return self._mode

    @property
    def acc_width(self):
        return self._acc_width
