"""int32 accumulator to int8, gemmlowp style: bias, Q31 multiplier, rounding shift, zero point.

:class:`Requantizer` is a pipelined stream stage computing, for each beat,

    clamp(RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc + bias, multiplier),
                              shift) + zero_point, out_min, 127)

with the bias added modulo 2**32 (a 32-bit adder), bit-exactly as ``golden.int8_dense``
does it (``golden.requantize`` on ``acc + bias``).

The expensive part is the signed 32 x 32 multiply. Fully parallel (``mul_cycles=1``) it takes
4 SB_MAC16 on iCE40UP5K (which has only 8, all wanted by the MAC lanes) or 4 MULT18X18D on
ECP5. ``mul_cycles`` trades throughput for area: the multiplier is consumed
``32 // mul_cycles`` bits per cycle (shift-and-add, least significant slice first), so the
stage needs a ``32 x (32 // mul_cycles)`` multiplier and accepts one value every
``mul_cycles`` cycles; with ``mul_cycles=32`` it is a shift-and-add with no multiplier at all
(no DSP block). A matrix-vector unit produces one accumulator per neuron every
``ceil(n_in / simd)`` cycles per PE, so one shared, multi-cycle requantizer usually keeps up.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Requantizer", "QUANT_LAYOUT", "REQUANT_LAYOUT", "REQUANTIZER_MUL_CYCLES"]

#: Requantization parameters of one output neuron (the Int8MVU ``q_stream`` payload).
QUANT_LAYOUT = data.StructLayout({
    "bias": signed(32),
    "multiplier": signed(32),
    "shift": unsigned(5),
    "zero_point": signed(8),
    "out_min": signed(8),
})

#: Requantizer input: one accumulator and the parameters of its neuron.
REQUANT_LAYOUT = data.StructLayout({
    "acc": signed(32),
    "quant": QUANT_LAYOUT,
})

#: Allowed values of ``mul_cycles``: the 32-bit multiplier is split into equal slices.
REQUANTIZER_MUL_CYCLES = (1, 2, 4, 8, 16, 32)

_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1


class Requantizer(wiring.Component):
    """Pipelined gemmlowp requantization of int32 accumulators to int8.

    Semantics (bit-exact with ``golden.int8_dense`` / ``golden.requantize``): ``x = acc + bias``
    wrapped to 32 bits; ``h = SaturatingRoundingDoublingHighMul(x, multiplier)`` (only
    ``INT32_MIN * INT32_MIN`` saturates, to ``INT32_MAX``); ``r = RoundingDivideByPOT(h,
    shift)`` (round half away from zero); output ``clamp(r + zero_point, out_min, 127)``, the
    addition done without wrap-around. ``multiplier`` is any int32 (the golden model takes the
    Q31 range ``[0, 2**31 - 1]``), ``shift`` 0..31. A fused ReLU is ``out_min = zero_point``.

    Pipeline: 6 register stages (bias add, multiply, high half with rounding, rounding nudge,
    shift, zero point and clamp), each with its own valid flag, so bubbles are squeezed out and a
    stalled ``o_stream`` fills the stages before ``i_stream.ready`` drops.

    Latency: ``mul_cycles + 5`` cycles from the input beat to the output beat (6 with the
    default). Throughput: one beat per cycle for ``mul_cycles=1``, else one beat every
    ``mul_cycles`` cycles.

    Parameters
    ----------
    mul_cycles : int
        Cycles spent on the 32 x 32 multiply, one of 1, 2, 4, 8, 16, 32 (see the module
        docstring for the DSP cost of each).

    Attributes
    ----------
    i_stream : In(stream.Signature(REQUANT_LAYOUT))
        ``acc`` and the neuron's ``quant`` parameters (:data:`QUANT_LAYOUT`).
    o_stream : Out(stream.Signature(signed(8)))
        The int8 result.
    """

    def __init__(self, *, mul_cycles=1):
        if type(mul_cycles) is not int or mul_cycles not in REQUANTIZER_MUL_CYCLES:
            raise ValueError(f"mul_cycles must be one of {REQUANTIZER_MUL_CYCLES}, "
                             f"not {mul_cycles!r}")
        self.mul_cycles = mul_cycles
        super().__init__({
            "i_stream": In(stream.Signature(REQUANT_LAYOUT)),
            "o_stream": Out(stream.Signature(signed(8))),
        })

    @property
    def latency(self):
        """Cycles from an accepted input beat to its output beat when nothing stalls."""
        return self.mul_cycles + 5

    def elaborate(self, platform):
        m = Module()
        slice_width = 32 // self.mul_cycles

        # Each stage: `valid` (with reset) and data registers (no reset: `valid` guards them).
        # A stage takes a new value when it is empty or its value leaves in the same cycle.
        def data_reg(shape, name):
            return Signal(shape, name=name, reset_less=True)

        # Stage 1: bias, wrapped to 32 bits.
        s1_valid = Signal()
        s1_x = data_reg(signed(32), "s1_x")
        s1_multiplier = data_reg(signed(32), "s1_multiplier")
        s1_shift = data_reg(unsigned(5), "s1_shift")
        s1_zero_point = data_reg(signed(8), "s1_zero_point")
        s1_out_min = data_reg(signed(8), "s1_out_min")

        # Stage 2: 64-bit product x * multiplier, built over mul_cycles cycles.
        s2_valid = Signal()
        s2_product = Signal(signed(64), reset_less=True)
        s2_overflow = data_reg(1, "s2_overflow")
        s2_shift = data_reg(unsigned(5), "s2_shift")
        s2_zero_point = data_reg(signed(8), "s2_zero_point")
        s2_out_min = data_reg(signed(8), "s2_out_min")

        # Stage 3: SaturatingRoundingDoublingHighMul.
        s3_valid = Signal()
        s3_high = data_reg(signed(32), "s3_high")
        s3_shift = data_reg(unsigned(5), "s3_shift")
        s3_zero_point = data_reg(signed(8), "s3_zero_point")
        s3_out_min = data_reg(signed(8), "s3_out_min")

        # Stage 4: RoundingDivideByPOT, part 1: add the rounding nudge.
        s4_valid = Signal()
        s4_nudged = data_reg(signed(34), "s4_nudged")
        s4_shift = data_reg(unsigned(5), "s4_shift")
        s4_zero_point = data_reg(signed(8), "s4_zero_point")
        s4_out_min = data_reg(signed(8), "s4_out_min")

        # Stage 5: RoundingDivideByPOT, part 2: the arithmetic shift.
        s5_valid = Signal()
        s5_scaled = data_reg(signed(33), "s5_scaled")
        s5_zero_point = data_reg(signed(8), "s5_zero_point")
        s5_out_min = data_reg(signed(8), "s5_out_min")

        # Stage 6 is the output register: zero point and clamp.
        s6_valid = self.o_stream.valid
        s6_out = data_reg(signed(8), "s6_out")
        m.d.comb += self.o_stream.payload.eq(s6_out)

        s2_done = Signal()      # the product in stage 2 is complete
        s6_ready = ~s6_valid | self.o_stream.ready
        s5_ready = ~s5_valid | s6_ready
        s4_ready = ~s4_valid | s5_ready
        s3_ready = ~s3_valid | s4_ready
        s2_ready = ~s2_valid | (s2_done & s3_ready)
        s1_ready = ~s1_valid | s2_ready
        m.d.comb += self.i_stream.ready.eq(s1_ready)

        # Stage 1.
        payload = self.i_stream.payload
        with m.If(s1_ready):
            m.d.sync += [
                s1_valid.eq(self.i_stream.valid),
                s1_x.eq(payload.acc + payload.quant.bias),
                s1_multiplier.eq(payload.quant.multiplier),
                s1_shift.eq(payload.quant.shift),
                s1_zero_point.eq(payload.quant.zero_point),
                s1_out_min.eq(payload.quant.out_min),
            ]

        # Stage 2.
        load_2 = Signal()
        m.d.comb += load_2.eq(s2_ready)
        with m.If(load_2):
            m.d.sync += [
                s2_valid.eq(s1_valid),
                s2_overflow.eq((s1_x == _INT32_MIN) & (s1_multiplier == _INT32_MIN)),
                s2_shift.eq(s1_shift),
                s2_zero_point.eq(s1_zero_point),
                s2_out_min.eq(s1_out_min),
            ]
        if self.mul_cycles == 1:
            m.d.comb += s2_done.eq(1)
            with m.If(load_2):
                m.d.sync += s2_product.eq(s1_x * s1_multiplier)
        else:
            # Shift-and-add over the multiplier's slices, least significant first (the top
            # slice, last, is the signed one): each step adds x * slice to the high part and
            # shifts the sum right by the slice width, its low bits entering the low word.
            # The adder is 33 + w bits wide instead of 64. One multiplier (or, for w = 1,
            # an add/subtract/skip) serves every step; the first runs as the value is loaded.
            steps = self.mul_cycles
            x = data_reg(signed(32), "s2_x")
            rest = data_reg(unsigned(32), "s2_multiplier_rest")
            high = data_reg(signed(33 + slice_width), "s2_high")
            low = data_reg(unsigned(32), "s2_low")
            step = Signal(range(steps + 1), name="s2_step")
            operand = Mux(load_2, s1_x, x)
            slice_bits = Mux(load_2, s1_multiplier.as_unsigned(), rest)[:slice_width]
            top_slice = ~load_2 & (step == steps - 1)
            base = Mux(load_2, 0, high)
            total = Signal(signed(34 + slice_width))
            if slice_width == 1:
                # Written without `*` so that no DSP block is inferred; the top bit is the
                # sign bit, of weight -2**31. Sum and difference side by side: one carry
                # chain deep, not a negation followed by an addition. The first step (0 plus
                # x or nothing) needs no adder, so `load_2`, the end of the ready chain,
                # selects after the carry chain instead of feeding it.
                following = Mux(rest[0], Mux(step == steps - 1, high - x, high + x), high)
                m.d.comb += total.eq(Mux(load_2, Mux(s1_multiplier[0], s1_x, 0), following))
            else:
                term = operand * Cat(slice_bits, top_slice & slice_bits[-1]).as_signed()
                m.d.comb += total.eq(base + term)
            m.d.comb += [
                s2_done.eq(step == steps),
                s2_product.eq(Cat(low, high)[:64].as_signed()),
            ]
            with m.If(load_2 | (s2_valid & ~s2_done)):
                m.d.sync += [
                    high.eq(total >> slice_width),
                    low.eq(Cat(low[slice_width:], total[:slice_width])),
                ]
            with m.If(load_2):
                m.d.sync += [
                    x.eq(s1_x), rest.eq(s1_multiplier.as_unsigned() >> slice_width),
                    step.eq(1),
                ]
            with m.Elif(s2_valid & ~s2_done):
                m.d.sync += [rest.eq(rest >> slice_width), step.eq(step + 1)]

        # Stage 3: SRDHM = (product + nudge) / 2**31 rounded toward zero, where nudge is 2**30
        # for a product >= 0 and 1 - 2**30 otherwise. Both cases are floor((product + 2**30) /
        # 2**31) (for a negative product, truncating s = product + 1 - 2**30 < 0 is
        # floor((s + 2**31 - 1) / 2**31)), i.e. ((product >> 30) + 1) >> 1: a 34-bit increment
        # instead of a 65-bit adder and a correction.
        with m.If(s3_ready):
            m.d.sync += [
                s3_valid.eq(s2_valid & s2_done),
                s3_high.eq(Mux(s2_overflow, _INT32_MAX, ((s2_product >> 30) + 1) >> 1)),
                s3_shift.eq(s2_shift),
                s3_zero_point.eq(s2_zero_point),
                s3_out_min.eq(s2_out_min),
            ]

        # Stages 4 and 5: RDBPOT rounds half away from zero: remainder > (mask >> 1) + (x < 0)
        # rounds up. That is (x + nudge) >> shift with nudge = 2**(shift-1) - (x < 0) for
        # shift > 0 and nudge = 0 for shift = 0: one adder, then the shift, in two stages.
        half = Signal(unsigned(32))
        m.d.comb += half.eq((Const(1, 32) << s3_shift) >> 1)
        nudge = half - ((s3_high < 0) & (s3_shift != 0))
        with m.If(s4_ready):
            m.d.sync += [
                s4_valid.eq(s3_valid),
                s4_nudged.eq(s3_high + nudge),
                s4_shift.eq(s3_shift),
                s4_zero_point.eq(s3_zero_point),
                s4_out_min.eq(s3_out_min),
            ]
        with m.If(s5_ready):
            m.d.sync += [
                s5_valid.eq(s4_valid),
                s5_scaled.eq(s4_nudged >> s4_shift),
                s5_zero_point.eq(s4_zero_point),
                s5_out_min.eq(s4_out_min),
            ]

        # Stage 6: zero point (no wrap-around) and clamp to [out_min, 127]. The scaled value
        # is first saturated to [-512, 511]: anything beyond clamps the same way once the
        # int8 zero point is added, and the adder and comparisons stay 11 bits wide.
        # The range checks are bit reductions (LUT trees), not 33-bit comparators.
        narrow = Signal(signed(10))
        negative, upper = s5_scaled[-1], s5_scaled[9:]
        with m.If(~negative & upper.any()):
            m.d.comb += narrow.eq(511)
        with m.Elif(negative & ~upper.all()):
            m.d.comb += narrow.eq(-512)
        with m.Else():
            m.d.comb += narrow.eq(s5_scaled)
        with_zero_point = Signal(signed(11))
        m.d.comb += with_zero_point.eq(narrow + s5_zero_point)
        with m.If(s6_ready):
            m.d.sync += s6_valid.eq(s5_valid)
            with m.If(with_zero_point > 127):
                m.d.sync += s6_out.eq(127)
            with m.Elif(with_zero_point < s5_out_min):
                m.d.sync += s6_out.eq(s5_out_min)
            with m.Else():
                m.d.sync += s6_out.eq(with_zero_point)
        return m
