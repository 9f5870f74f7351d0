"""int32 accumulator to int8, gemmlowp style: bias, Q31 multiplier, rounding shift, zero point.

:class:`Requantizer` is a pipelined stream stage computing, for each beat,

    clamp(RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc + bias, multiplier),
                              shift) + zero_point, out_min, 127)

with the bias added modulo 2**32 (a 32-bit adder), bit-exactly as ``golden.int8_dense``
does it (``golden.requantize`` on ``acc + bias``).

The expensive part is the signed 32 x 32 multiply. Fully parallel (``mul_cycles=1``) it takes
4 SB_MAC16 on iCE40UP5K (which has only 8, all wanted by the MAC lanes) or 4 MULT18X18D on
ECP5. ``mul_cycles`` trades throughput for area: the multiplier is consumed
``32 // mul_cycles`` bits per cycle (most significant slice first, Horner's rule), so the
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

    Pipeline: 5 register stages (bias add, multiply, high half with rounding, rounding shift,
    zero point and clamp), each with its own valid flag, so bubbles are squeezed out and a
    stalled ``o_stream`` fills the stages before ``i_stream.ready`` drops.

    Latency: ``mul_cycles + 4`` cycles from the input beat to the output beat (5 with the
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
        return self.mul_cycles + 4

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
        s2_product = data_reg(signed(64), "s2_product")
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

        # Stage 4: RoundingDivideByPOT.
        s4_valid = Signal()
        s4_scaled = data_reg(signed(32), "s4_scaled")
        s4_zero_point = data_reg(signed(8), "s4_zero_point")
        s4_out_min = data_reg(signed(8), "s4_out_min")

        # Stage 5 is the output register: zero point and clamp.
        s5_valid = self.o_stream.valid
        s5_out = data_reg(signed(8), "s5_out")
        m.d.comb += self.o_stream.payload.eq(s5_out)

        s2_done = Signal()      # the product in stage 2 is complete
        s5_ready = ~s5_valid | self.o_stream.ready
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
            # Horner's rule over the multiplier's slices, most significant (signed) first:
            # product = ((x * m_top) << w + x * m_next) << w + ... The first step runs as the
            # value is loaded; every partial product is x times the multiplier's top bits, so
            # it always fits 64 bits. One multiplier serves all steps (operands muxed).
            x = data_reg(signed(32), "s2_x")
            rest = data_reg(unsigned(32), "s2_multiplier_rest")
            step = Signal(range(1, self.mul_cycles + 1), name="s2_step")
            operand = Mux(load_2, s1_x, x)
            multiplier_bits = Mux(load_2, s1_multiplier.as_unsigned(), rest)
            top_bits = multiplier_bits[32 - slice_width:]
            if slice_width == 1:
                # Shift-and-add, written without `*` so that no DSP block is inferred; the
                # first bit is the sign bit, of weight -2**31.
                term = Mux(top_bits, Mux(load_2, -operand, operand), 0)
            else:
                # Only the first slice carries the sign: extend it with its own top bit.
                term = operand * Cat(top_bits, load_2 & top_bits[-1]).as_signed()
            partial = Signal(signed(64))
            m.d.comb += [
                partial.eq(Mux(load_2, 0, s2_product << slice_width) + term),
                s2_done.eq(step == self.mul_cycles),
            ]
            with m.If(load_2):
                m.d.sync += [
                    x.eq(s1_x), rest.eq(s1_multiplier.as_unsigned() << slice_width),
                    step.eq(1), s2_product.eq(partial),
                ]
            with m.Elif(s2_valid & ~s2_done):
                m.d.sync += [
                    rest.eq(rest << slice_width), step.eq(step + 1), s2_product.eq(partial),
                ]

        # Stage 3: (product + nudge) / 2**31 rounded toward zero, saturated on overflow.
        nudged = Signal(signed(65))
        m.d.comb += nudged.eq(s2_product + Mux(s2_product >= 0, 1 << 30, 1 - (1 << 30)))
        floor_high = nudged >> 31
        truncated = floor_high + ((nudged < 0) & (nudged[:31] != 0))
        with m.If(s3_ready):
            m.d.sync += [
                s3_valid.eq(s2_valid & s2_done),
                s3_high.eq(Mux(s2_overflow, _INT32_MAX, truncated)),
                s3_shift.eq(s2_shift),
                s3_zero_point.eq(s2_zero_point),
                s3_out_min.eq(s2_out_min),
            ]

        # Stage 4: arithmetic shift right, rounding half away from zero.
        mask = Signal(unsigned(32))
        m.d.comb += mask.eq((Const(1, 33) << s3_shift) - 1)
        remainder = s3_high.as_unsigned() & mask
        threshold = (mask >> 1) + (s3_high < 0)
        with m.If(s4_ready):
            m.d.sync += [
                s4_valid.eq(s3_valid),
                s4_scaled.eq((s3_high >> s3_shift) + (remainder > threshold)),
                s4_zero_point.eq(s3_zero_point),
                s4_out_min.eq(s3_out_min),
            ]

        # Stage 5: zero point (no wrap-around) and clamp to [out_min, 127].
        with_zero_point = Signal(signed(34))
        m.d.comb += with_zero_point.eq(s4_scaled + s4_zero_point)
        with m.If(s5_ready):
            m.d.sync += s5_valid.eq(s4_valid)
            with m.If(with_zero_point > 127):
                m.d.sync += s5_out.eq(127)
            with m.Elif(with_zero_point < s4_out_min):
                m.d.sync += s5_out.eq(s4_out_min)
            with m.Else():
                m.d.sync += s5_out.eq(with_zero_point)
        return m
