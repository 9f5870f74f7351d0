"""Pipelined population count (number of 1 bits) of a bit vector.

The adder tree is shaped for 4-input LUT fabrics with carry chains (iCE40, ECP5):

* the first level ("leaves") adds pairs of bits with plain logic (``sum = a ^ b``,
  ``carry = a & b``): two LUTs per two bits, and a LUT4 still has two inputs free, so the XNOR
  that usually feeds a binary popcount merges into the same LUTs;
* every following level adds pairs of partial counts with ``+`` (Yosys maps it onto the carry
  chain), each sum exactly as wide as its largest possible value needs;
* a register stage is inserted after every ``stage_levels`` levels and after the last one.
"""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Popcount"]


class Popcount(wiring.Component):
    """Count the 1 bits of a ``width``-bit vector.

    Parameters
    ----------
    width : int
        Number of input bits, at least 1.
    stage_levels : int or None
        Adder-tree levels between pipeline registers (the leaf level counts as one). ``None``
        builds a purely combinational tree (latency 0), sensible for tiny widths.

    Attributes
    ----------
    latency : int
        Cycles from ``data`` to ``count``: ``ceil(levels / stage_levels)``, or 0 when
        combinational. ``levels`` is 1 for ``width <= 2`` and ``1 + ceil(log2(ceil(width / 2)))``
        above.
    levels : int
        Adder-tree levels, including the leaf level.

    Throughput: one vector per cycle (fully pipelined, no stall input; wrap in
    :class:`amaranth.hdl.EnableInserter` to freeze it).

    Members
    -------
    data : In(unsigned(width))
        Bits to count.
    count : Out(unsigned(bits_for(width)))
        Number of 1 bits in ``data`` as it was ``latency`` cycles earlier.
    """

    def __init__(self, width, *, stage_levels=2):
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"Popcount width must be a positive integer, not {width!r}")
        if stage_levels is not None and (not isinstance(stage_levels, int) or stage_levels < 1):
            raise ValueError(f"Popcount stage_levels must be a positive integer or None "
                             f"(combinational), not {stage_levels!r}")
        self._width = width
        self._stage_levels = stage_levels
        leaves = (width + 1) // 2
        self._levels = 1 + (leaves - 1).bit_length()
        super().__init__({
            "data": In(width),
            "count": Out(unsigned(width.bit_length())),
        })

    @property
    def width(self):
        return self._width

    @property
    def levels(self):
        return self._levels

    @property
    def latency(self):
        if self._stage_levels is None:
            return 0
        return -(-self._levels // self._stage_levels)

    def elaborate(self, platform):
        m = Module()
        level = 0

        def stage(terms):
            # terms: list of (value, max_value). Registers them when a stage boundary is due.
            nonlocal level
            level += 1
            if self._stage_levels is None or (level % self._stage_levels and
                                              level != self._levels):
                return terms
            registered = []
            for index, (value, maximum) in enumerate(terms):
                reg = Signal(range(maximum + 1), name=f"l{level}_{index}", reset_less=True)
                m.d.sync += reg.eq(value)
                registered.append((reg, maximum))
            return registered

        # Leaves: pairs of bits as 2-bit counts built from plain logic.
        terms = []
        for index in range(0, self._width, 2):
            if index + 1 < self._width:
                a, b = self.data[index], self.data[index + 1]
                pair = Signal(2, name=f"leaf_{index // 2}")
                m.d.comb += pair.eq((a ^ b) | ((a & b) << 1))
                terms.append((pair, 2))
            else:
                terms.append((self.data[index], 1))
        terms = stage(terms)

        # Adder levels: pairwise sums, each exactly as wide as its maximum needs.
        while len(terms) > 1:
            summed = []
            for index in range(0, len(terms), 2):
                if index + 1 < len(terms):
                    (a, max_a), (b, max_b) = terms[index], terms[index + 1]
                    total = Signal(range(max_a + max_b + 1), name=f"sum{level + 1}_{index // 2}")
                    m.d.comb += total.eq(a + b)
                    summed.append((total, max_a + max_b))
                else:
                    summed.append(terms[index])
            terms = stage(summed)

        m.d.comb += self.count.eq(terms[0][0])
        return m
