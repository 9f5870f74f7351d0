"""Signed int8 x int8 multiply-accumulate, pipelined so Yosys maps it onto one DSP block.

:class:`Int8Mac` is the arithmetic of one int8 lane: a product of two signed 8-bit values
added into a signed accumulator. Its registers sit where the DSP blocks have them, so that
Yosys folds the whole lane into one hard block:

- iCE40UP5K (``synth_ice40 -dsp``): the input registers become the SB_MAC16 A/B registers,
  the product register its pipeline register and the adder and accumulator register its
  output accumulator (``ice40_dsp``): 1 SB_MAC16 per lane, plus one LUT per accumulator bit
  for the ``clear`` gate on the feedback. SB_MAC16's accumulator is 32 bits wide; a wider
  ``acc_width`` leaves the accumulator in logic.
- ECP5 (``synth_ecp5``): the input and product registers go into MULT18X18D (input and
  pipeline registers); the accumulator stays in logic (Yosys does not infer ALU54B).

:func:`int8_acc_bits` is the accumulator width that never overflows for a given depth.
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Int8Mac", "int8_acc_bits", "check_acc_width", "INT8_MAC_LATENCY"]

#: Cycles from ``a``/``b``/``valid`` presented at the ports to the updated ``acc``.
INT8_MAC_LATENCY = 3


def int8_acc_bits(depth):
    """Signed accumulator width that can hold any sum of ``depth`` int8 x int8 products.

    The largest magnitude is ``depth * 128 * 128`` (every product ``-128 * -128``); the width
    is the smallest signed width holding it, the same rule as ``golden.acc_bits(depth, 8, 8)``.
    """
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a positive integer, not {depth!r}")
    return (depth * 128 * 128).bit_length() + 1


def check_acc_width(acc_width, depth, *, what="acc_width"):
    """Raise ``ValueError`` when ``acc_width`` is not an integer in [2, 64] or, with a ``depth``,
    is narrower than :func:`int8_acc_bits` of that depth."""
    if not isinstance(acc_width, int) or isinstance(acc_width, bool) or not 2 <= acc_width <= 64:
        raise ValueError(f"{what} must be an integer from 2 to 64, not {acc_width!r}")
    if depth is not None:
        need = int8_acc_bits(depth)
        if acc_width < need:
            raise ValueError(f"{what}={acc_width} can overflow for a depth of {depth} int8 "
                             f"products: it must be at least {need} bits")


class Int8Mac(wiring.Component):
    """Signed int8 x int8 multiply-accumulate lane.

    Each cycle with ``valid`` high the product ``a * b`` enters the sum; with ``clear`` also
    high it starts a new sum (``acc`` becomes that product) instead of adding to the old one.
    Cycles with ``valid`` low leave ``acc`` unchanged, so a stalled source just drops
    ``valid``. The sum wraps modulo ``2**acc_width`` (two's complement), like the DSP
    accumulators; pick ``acc_width >= int8_acc_bits(depth)`` so it never does.

    Latency: 3 cycles (input registers, product register, accumulator): ``acc`` includes the
    product presented at cycle ``t`` from cycle ``t + 3`` on, and ``acc_valid`` is high in the
    cycle ``acc`` was updated. Throughput: one product per cycle.

    Parameters
    ----------
    acc_width : int
        Width of the signed accumulator (2..64, default 32: SB_MAC16's accumulator).
    depth : int, optional
        Longest sum the user will accumulate. When given, an ``acc_width`` narrower than
        ``int8_acc_bits(depth)`` (which could overflow) is refused with ``ValueError``.

    Attributes
    ----------
    a, b : In(signed(8))
        Operands.
    valid : In(1)
        The product of this cycle's ``a`` and ``b`` is accumulated.
    clear : In(1)
        The product starts a new sum (only meaningful with ``valid``).
    acc : Out(signed(acc_width))
        The running sum.
    acc_valid : Out(1)
        ``acc`` was updated in this cycle (a product was added 3 cycles after it entered).
    """

    def __init__(self, acc_width=32, *, depth=None):
        check_acc_width(acc_width, depth)
        self.acc_width = acc_width
        self.depth = depth
        super().__init__({
            "a": In(signed(8)),
            "b": In(signed(8)),
            "valid": In(1),
            "clear": In(1),
            "acc": Out(signed(acc_width)),
            "acc_valid": Out(1),
        })

    def elaborate(self, platform):
        m = Module()

        # Stage 1: operand registers (SB_MAC16 A_REG/B_REG, MULT18X18D REG_INPUTA/B).
        # Data registers have no reset: the DSP registers cannot take Amaranth's synchronous
        # reset, and ``valid``/``clear`` say when their contents matter.
        a_reg = Signal(signed(8), reset_less=True)
        b_reg = Signal(signed(8), reset_less=True)
        valid_1 = Signal()
        clear_1 = Signal()
        m.d.sync += [a_reg.eq(self.a), b_reg.eq(self.b),
                     valid_1.eq(self.valid), clear_1.eq(self.clear)]

        # Stage 2: product register (SB_MAC16 multiplier pipeline register, MULT18X18D
        # REG_PIPELINE).
        product = Signal(signed(16), reset_less=True)
        valid_2 = Signal()
        clear_2 = Signal()
        m.d.sync += [product.eq(a_reg * b_reg), valid_2.eq(valid_1), clear_2.eq(clear_1)]

        # Stage 3: accumulator. Written as ``(clear ? 0 : acc) + product`` so that ice40_dsp
        # puts the adder and the accumulator register into SB_MAC16; the gate on the feedback
        # (one LUT per bit) stays in logic because the DSP can only load its C/D input, which
        # would drop the first product of a sum.
        acc = Signal(signed(self.acc_width), reset_less=True)
        m.d.sync += self.acc_valid.eq(valid_2)
        with m.If(valid_2):
            m.d.sync += acc.eq(Mux(clear_2, 0, acc) + product)
        m.d.comb += self.acc.eq(acc)
        return m
