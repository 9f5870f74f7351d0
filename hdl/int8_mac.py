"""Signed int8 x int8 multiply-accumulate, pipelined so Yosys maps it onto one DSP block.

:class:`Int8Mac` is the arithmetic of one int8 lane: a product of two signed 8-bit values
added into a signed accumulator. Its registers sit where the DSP blocks have them, so that
Yosys folds the whole lane into one hard block:

- iCE40UP5K (``synth_ice40 -dsp``): the input registers become the SB_MAC16 A/B registers,
  the product register its pipeline register and the adder and accumulator register its
  output accumulator (``ice40_dsp``): 1 SB_MAC16 per lane, plus one LUT per accumulator bit
  for the ``clear`` gate on the feedback. SB_MAC16's accumulator is 32 bits wide; a wider
  ``acc_width`` leaves the accumulator in logic.
- ECP5 (``synth_ecp5``): Yosys maps each product to a combinational MULT18X18D and keeps every
  register in logic; the accumulator stays in logic too (Yosys does not infer ALU54B). So for
  ``simd > 1`` the products are :class:`~bitmac.hdl.dsp.RegisteredInt8Product` blocks, one
  MULT18X18D each with its input, pipeline and output registers on (instantiated by hand).

With ``packed=True`` the products come from :class:`~bitmac.hdl.dsp.DualInt8Product`, two per
DSP block (SB_MAC16's 8x8 mode, instantiated by hand), and the sums are kept in logic.

:func:`int8_acc_bits` is the accumulator width that never overflows for a given depth.
"""

from amaranth.hdl import Cat, EnableInserter, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .dsp import (REGISTERED_PRODUCT_IMPLEMENTATIONS, DualInt8Product, RegisteredInt8Product,
                  has_registered_int8_dsp)

__all__ = ["Int8Mac", "int8_acc_bits", "check_acc_width", "INT8_MAC_LATENCY"]

#: Cycles from ``a``/``b``/``valid`` presented at the ports to the updated ``acc`` for
#: ``simd=1``; each adder-tree level adds one (:attr:`Int8Mac.latency`).
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
    """Signed int8 dot-product multiply-accumulate: ``simd`` products per cycle into one sum.

    Each cycle with ``valid`` high the products ``a[i] * b[i]`` (``i < simd``) are added to
    the sum; with ``clear`` also high they start a new sum (``acc`` becomes their total)
    instead. Cycles with ``valid`` low leave ``acc`` unchanged, so a stalled source just drops
    ``valid``. The sum wraps modulo ``2**acc_width`` (two's complement), like the DSP
    accumulators; pick ``acc_width >= int8_acc_bits(depth)`` so it never does.

    Pipeline: operand registers, product registers, (for ``simd > 1``) two staging registers
    (all three end up inside the DSP block) and ``ceil(log2(simd))`` registered adder-tree
    levels, accumulator. With ``simd=1`` this is exactly one DSP block per lane (see the module
    docstring); with ``simd > 1`` each product is one DSP multiplier (operand and product
    registers absorbed) and the tree and accumulator are logic.

    On ECP5 (``simd > 1``, ``dsp_implementation`` ``"auto"`` or ``"mult18x18d"``), the three
    stages after the operand registers are the registers of one
    :class:`~bitmac.hdl.dsp.RegisteredInt8Product` (MULT18X18D) per product; the operand
    registers stay in logic, near the memories (the activation register of a matrix-vector
    unit is one copy driving every PE: Yosys merges the lanes' identical registers).

    Packed (``packed=True``, ``simd >= 2``): the products come from ``ceil(simd / 2)``
    :class:`~bitmac.hdl.dsp.DualInt8Product` blocks (two products per SB_MAC16; an odd
    ``simd`` leaves half of the last block multiplying zeros), followed by one staging register
    in logic, the tree and the accumulator.

    The registers of a DSP instance cannot be frozen by :class:`EnableInserter`, so the MAC
    has an ``enable`` input (default high) that freezes all of it, DSP blocks included; wrap it
    in no :class:`EnableInserter`.

    A packed MAC's accumulator is all logic: it is split in two halves, the upper one a
    cycle behind with the lower one's carry registered, for two short carry chains.

    Latency: :attr:`latency` ``= 5 + ceil(log2(simd))`` cycles for ``simd > 1``, 3 for
    ``simd=1``, ``5 + ceil(log2(simd))`` packed: ``acc``
    includes the products presented at cycle ``t`` from cycle ``t + latency`` on, and
    ``acc_valid`` is high in the cycle ``acc`` was updated. Throughput: ``simd`` products per
    cycle.

    Parameters
    ----------
    acc_width : int
        Width of the signed accumulator (2..64, default 32: SB_MAC16's accumulator).
    simd : int
        Products per cycle (default 1).
    depth : int, optional
        Longest sum (in products) the user will accumulate. When given, an ``acc_width``
        narrower than ``int8_acc_bits(depth)`` (which could overflow) is refused with
        ``ValueError``.
    packed : bool
        Two products per DSP block (needs ``simd >= 2``).
    dsp_implementation : str
        Packed: ``implementation`` of the :class:`~bitmac.hdl.dsp.DualInt8Product` blocks,
        ``"auto"`` (default), ``"sb_mac16"`` or ``"model"``. Otherwise: ``"auto"`` (MULT18X18D
        blocks with their registers when elaborated for ECP5 and ``simd > 1``, products for
        Yosys to infer elsewhere), ``"mult18x18d"`` (the blocks whatever the platform, e.g. to
        simulate the exported Verilog; ``simd > 1``) or ``"model"`` (never the blocks).

    Attributes
    ----------
    a, b : In(ArrayLayout(signed(8), simd))
        Operands.
    valid : In(1)
        This cycle's products are accumulated.
    clear : In(1)
        The products start a new sum (only meaningful with ``valid``).
    acc : Out(signed(acc_width))
        The running sum.
    acc_valid : Out(1)
        ``acc`` was updated in this cycle.
    enable : In(1, init=1)
        The MAC (DSP blocks included) moves in cycles with ``enable`` high.
    """

    def __init__(self, acc_width=32, *, simd=1, depth=None, packed=False,
                 dsp_implementation="auto"):
        if not isinstance(simd, int) or isinstance(simd, bool) or simd < 1:
            raise ValueError(f"simd must be a positive integer, not {simd!r}")
        if not isinstance(packed, bool):
            raise ValueError(f"packed must be a bool, not {packed!r}")
        if packed and simd < 2:
            raise ValueError("packed=True puts two products in one DSP block: it needs "
                             f"simd >= 2, not {simd}")
        if not packed:
            if dsp_implementation not in REGISTERED_PRODUCT_IMPLEMENTATIONS:
                raise ValueError(f"dsp_implementation must be one of "
                                 f"{REGISTERED_PRODUCT_IMPLEMENTATIONS} without packing, not "
                                 f"{dsp_implementation!r}")
            if dsp_implementation == "mult18x18d" and simd < 2:
                raise ValueError(f"dsp_implementation=\"mult18x18d\" needs simd >= 2 (one "
                                 f"product per lane stays inferred), not {simd}")
        check_acc_width(acc_width, depth)
        self.acc_width = acc_width
        self.simd = simd
        self.depth = depth
        self.packed = packed
        self.dsp_implementation = dsp_implementation
        self._multipliers = ([DualInt8Product(dsp_implementation)
                              for _ in range(-(-simd // 2))] if packed else [])
        members = {
            "a": In(data.ArrayLayout(signed(8), simd)),
            "b": In(data.ArrayLayout(signed(8), simd)),
            "valid": In(1),
            "clear": In(1),
            "acc": Out(signed(acc_width)),
            "acc_valid": Out(1),
            "enable": In(1, init=1),
        }
        super().__init__(members)

    @property
    def dsp_blocks(self):
        """DSP blocks of a packed MAC (``ceil(simd / 2)``); 0 when not packed (Yosys then
        infers one per product)."""
        return len(self._multipliers)

    @property
    def tree_levels(self):
        """Registered adder-tree levels: ``ceil(log2(simd))``."""
        return (self.simd - 1).bit_length()

    @property
    def latency(self):
        """Cycles from operands presented to ``acc`` updated."""
        if self.packed:
            return DualInt8Product.latency + 3 + self.tree_levels
        if self.simd == 1:
            return INT8_MAC_LATENCY
        return INT8_MAC_LATENCY + 2 + self.tree_levels

    def _packed_products(self, top, m, data_reg):
        """The products of the DualInt8Product blocks (added to ``top``, outside the
        EnableInserter: their clock enable is ``enable``), through one staging register in
        ``m`` (their outputs route slowly on iCE40)."""
        terms = []
        for index, multiplier in enumerate(self._multipliers):
            top.submodules[f"dsp{index}"] = multiplier
            top.d.comb += multiplier.enable.eq(self.enable)
            # An odd simd leaves the last block's upper half multiplying zeros.
            for half, lane in enumerate(range(2 * index, min(2 * index + 2, self.simd))):
                top.d.comb += [multiplier.a[half].eq(self.a[lane]),
                               multiplier.b[half].eq(self.b[lane])]
                staged = data_reg(signed(16), f"staged_{lane}")
                m.d.sync += staged.eq(multiplier.p[half])
                terms.append(staged)
        return terms

    def elaborate(self, platform):
        top = Module()
        # The logic freezes with `enable`, like the DSP blocks' registers.
        m = Module()
        top.submodules.logic = EnableInserter(self.enable)(m)

        # Data registers have no reset: the DSP registers cannot take Amaranth's synchronous
        # reset, and the valid flags say when their contents matter.
        def data_reg(shape, name):
            return Signal(shape, name=name, reset_less=True)

        if self.packed:
            terms = self._packed_products(top, m, data_reg)
        elif self.simd > 1 and (self.dsp_implementation == "mult18x18d" or (
                self.dsp_implementation == "auto" and has_registered_int8_dsp(platform))):
            terms = self._registered_products(top, m, data_reg)
        else:
            terms = self._inferred_products(m, data_reg)

        # Adder tree, one register per level; an odd term passes through its level.
        for level in range(self.tree_levels):
            width = 16 + level + 1
            summed = []
            for i in range(0, len(terms), 2):
                reg = data_reg(signed(width), f"sum{level}_{i // 2}")
                pair = terms[i:i + 2]
                m.d.sync += reg.eq(pair[0] + pair[1] if len(pair) == 2 else pair[0])
                summed.append(reg)
            terms = summed
        total, = terms

        # Control flags travel with the data: valid/clear delayed to the accumulator stage.
        valid, clear = self.valid, self.clear
        accumulator_stages = 2 if self.packed else 1
        for stage in range(self.latency - accumulator_stages):
            next_valid = Signal(name=f"valid_{stage + 1}")
            next_clear = Signal(name=f"clear_{stage + 1}")
            m.d.sync += [next_valid.eq(valid), next_clear.eq(clear)]
            valid, clear = next_valid, next_clear

        if self.packed:
            self._split_accumulator(m, data_reg, total, valid, clear)
            return top
        # Accumulator. Written as ``(clear ? 0 : acc) + total`` so that, for simd=1,
        # ice40_dsp puts the adder and the accumulator register into SB_MAC16; the gate on
        # the feedback (one LUT per bit) stays in logic because the DSP can only load its C/D
        # input, which would drop the first product of a sum.
        acc = data_reg(signed(self.acc_width), "acc")
        m.d.sync += self.acc_valid.eq(valid)
        with m.If(valid):
            m.d.sync += acc.eq(Mux(clear, 0, acc) + total)
        m.d.comb += self.acc.eq(acc)
        return top

    def _split_accumulator(self, m, data_reg, total, valid, clear):
        """The accumulator in logic as two halves, the upper one a cycle behind with the lower
        one's carry registered: two short carry chains instead of one ``acc_width``-bit chain
        (the iCE40 fabric's 32-bit chain limits a logic accumulator to about 50 MHz).
        Two cycles from ``total`` to ``acc``; the sum is the same, modulo ``2**acc_width``."""
        low = self.acc_width - self.acc_width // 2
        high = self.acc_width - low
        # The tree's sum sign-extended to the accumulator, so both halves see their bits.
        wide_total = Signal(signed(self.acc_width), name="wide_total")
        m.d.comb += wide_total.eq(total)
        total = wide_total
        acc_low = data_reg(low, "acc_low")
        carry = data_reg(1, "acc_carry")
        total_high = data_reg(signed(max(high, 1)), "total_high")
        valid_high, clear_high = Signal(name="valid_high"), Signal(name="clear_high")
        m.d.sync += [valid_high.eq(valid), clear_high.eq(clear)]
        # Written as "clear ? new : acc + new" (not "(clear ? 0 : acc) + new"): the choice
        # comes after the adder, so Yosys folds it into the adder's LUT (the LUT of a carry-
        # chain cell has one input to spare) instead of putting a LUT level before the chain.
        low_sum = acc_low + total[:low]
        with m.If(valid):
            m.d.sync += total_high.eq(total >> low)
            with m.If(clear):
                m.d.sync += [acc_low.eq(total[:low]), carry.eq(0)]
            with m.Else():
                m.d.sync += [acc_low.eq(low_sum[:low]), carry.eq(low_sum[low])]
        acc_high = data_reg(signed(high), "acc_high")
        acc_low_aligned = data_reg(low, "acc_low_aligned")
        m.d.sync += self.acc_valid.eq(valid_high)
        with m.If(valid_high):
            m.d.sync += acc_low_aligned.eq(acc_low)
            with m.If(clear_high):
                m.d.sync += acc_high.eq(total_high + carry)
            with m.Else():
                m.d.sync += acc_high.eq(acc_high + total_high + carry)
        m.d.comb += self.acc.eq(Cat(acc_low_aligned, acc_high))

    def _registered_products(self, top, m, data_reg):
        """Operand registers in ``m``, then one RegisteredInt8Product per product (added to
        ``top``: their clock enable is ``enable``); as many stages as the inferred path."""
        terms = []
        for i in range(self.simd):
            multiplier = RegisteredInt8Product("mult18x18d")
            top.submodules[f"mult{i}"] = multiplier
            a_reg, b_reg = data_reg(signed(8), f"a_reg{i}"), data_reg(signed(8), f"b_reg{i}")
            m.d.sync += [a_reg.eq(self.a[i]), b_reg.eq(self.b[i])]
            top.d.comb += [multiplier.a.eq(a_reg), multiplier.b.eq(b_reg),
                           multiplier.enable.eq(self.enable)]
            terms.append(multiplier.p)
        return terms

    def _inferred_products(self, m, data_reg):
        """Products written for Yosys to infer one DSP multiplier each."""
        simd = self.simd
        # Operand registers (SB_MAC16 A_REG/B_REG, MULT18X18D input registers).
        a_regs = [data_reg(signed(8), f"a_reg{i}") for i in range(simd)]
        b_regs = [data_reg(signed(8), f"b_reg{i}") for i in range(simd)]
        m.d.sync += [reg.eq(self.a[i]) for i, reg in enumerate(a_regs)]
        m.d.sync += [reg.eq(self.b[i]) for i, reg in enumerate(b_regs)]

        # Product registers (SB_MAC16 pipeline register, MULT18X18D pipeline register).
        terms = [data_reg(signed(16), f"product{i}") for i in range(simd)]
        m.d.sync += [term.eq(a * b) for term, a, b in zip(terms, a_regs, b_regs)]
        if simd > 1:
            # Two more registers between the multipliers and the adder tree, so that every
            # DSP block ends in its own output register and Yosys finds no adder to fold into
            # it. With the adder reachable, Yosys 0.70's ice40_dsp folds
            # `product_i + product_j` into one SB_MAC16's post-adder and takes product_j's
            # register into two blocks: "Driver-driver conflict ... Resolved using constant",
            # a netlist in which product_j is 0 (and half the DSP blocks vanish).
            for stage in (1, 2):
                staged = [data_reg(signed(16), f"staged{stage}_{i}") for i in range(simd)]
                m.d.sync += [reg.eq(term) for reg, term in zip(staged, terms)]
                terms = staged
        return terms
