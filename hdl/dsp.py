"""DSP primitives Yosys does not infer: two signed int8 products from one hard multiplier.

:class:`DualInt8Product` computes two independent signed 8 x 8 products per cycle. On iCE40
UltraPlus it is one ``SB_MAC16`` in its 8x8 mode (``MODE_8x8``), where the 16 x 16 multiplier
works as two 8 x 8 multipliers, ``A[15:8] * B[15:8]`` ("F", upper half of ``O``) and
``A[7:0] * B[7:0]`` ("G", lower half), each signed when ``A_SIGNED``/``B_SIGNED`` are set
(Lattice TN1295; Yosys's ``SB_MAC16`` simulation model sign-extends both bytes in this mode).
Yosys's ``ice40_dsp`` only infers the 16 x 16 mode, so the block is instantiated by hand.

Everywhere else it elaborates to a behavioural model written to match the primitive register
for register (input registers, product registers, one clock enable for both), which is what
the Amaranth simulator runs and what ``bitmac verilog`` exports unless asked for the primitive.
The primitive path is checked against the model by simulating the exported Verilog with
Yosys's own ``SB_MAC16`` model (``tests/test_packed_cocotb.py``).

ECP5 (MULT18X18D) and the Gowin flow have no such mode usable by the open toolchain; README
"Two products per multiplier" has the reasons and the figures.
"""

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["DualInt8Product", "DUAL_PRODUCT_IMPLEMENTATIONS", "has_dual_int8_dsp",
           "packing_refused"]

#: ``implementation`` values of :class:`DualInt8Product`.
DUAL_PRODUCT_IMPLEMENTATIONS = ("auto", "sb_mac16", "model")


def has_dual_int8_dsp(device):
    """Whether the part ``device`` (e.g. ``"iCE40UP5K"``, an Amaranth platform's ``device``)
    has a DSP block with two int8 products that this kit can instantiate: the iCE40
    UltraPlus / iCE5LP parts (``SB_MAC16``)."""
    return str(device).upper().startswith(("ICE40UP", "ICE5LP"))


def packing_refused(device):
    """The error for packing on a part without a two-product DSP block."""
    return (f"two int8 products per DSP block need an iCE40 UltraPlus SB_MAC16; {device} has "
            f"no such multiplier the open toolchain can use (build without packing)")


class DualInt8Product(wiring.Component):
    """Two signed int8 x int8 products per cycle from one DSP multiplier.

    ``p[i] = a[i] * b[i]`` (exact, signed 16 bits) for ``i`` in 0 and 1, registered twice:
    the operands on the way in (SB_MAC16 ``A_REG``/``B_REG``) and the products (``TOP_8x8_MULT_REG``
    / ``BOT_8x8_MULT_REG``). Both registers load only in cycles with ``enable`` high, so a
    stalled pipeline keeps its products; they have no reset.

    Latency: :attr:`latency` ``= 2`` cycles from operands to products (enabled cycles).
    Throughput: two products per cycle.

    Parameters
    ----------
    implementation : str
        ``"sb_mac16"``: one ``SB_MAC16`` instance (iCE40 UltraPlus only, not simulable by the
        Amaranth simulator); ``"model"``: the behavioural model in logic; ``"auto"``
        (default): the instance when elaborated for a part with ``SB_MAC16``, the model when
        elaborated without a platform (simulation, Verilog export), and ``ValueError`` for any
        other part, which has no two-product multiplier.

    Attributes
    ----------
    a, b : In(ArrayLayout(signed(8), 2))
        Operands; ``a[1]``/``b[1]`` go to the upper byte of SB_MAC16's ``A``/``B``.
    enable : In(1, init=1)
        Clock enable of both register stages (SB_MAC16 ``CE``).
    p : Out(ArrayLayout(signed(16), 2))
        Products, straight from the product registers.
    """

    latency = 2

    a: In(data.ArrayLayout(signed(8), 2))
    b: In(data.ArrayLayout(signed(8), 2))
    enable: In(1, init=1)
    p: Out(data.ArrayLayout(signed(16), 2))

    def __init__(self, implementation="auto"):
        if implementation not in DUAL_PRODUCT_IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {DUAL_PRODUCT_IMPLEMENTATIONS}, "
                             f"not {implementation!r}")
        self.implementation = implementation
        super().__init__()

    def resolve(self, platform):
        """The implementation elaborated for ``platform`` (``"sb_mac16"`` or ``"model"``)."""
        if self.implementation != "auto":
            return self.implementation
        if platform is None:
            return "model"
        device = getattr(platform, "device", type(platform).__name__)
        if has_dual_int8_dsp(device):
            return "sb_mac16"
        raise ValueError(packing_refused(device))

    def elaborate(self, platform):
        m = Module()
        if self.resolve(platform) == "sb_mac16":
            product = Signal(32)
            m.submodules.mac16 = Instance(
                "SB_MAC16",
                p_MODE_8x8=Const(1, 1), p_A_SIGNED=Const(1, 1), p_B_SIGNED=Const(1, 1),
                p_A_REG=Const(1, 1), p_B_REG=Const(1, 1), p_C_REG=Const(0, 1),
                p_D_REG=Const(0, 1),
                p_TOP_8x8_MULT_REG=Const(1, 1), p_BOT_8x8_MULT_REG=Const(1, 1),
                p_PIPELINE_16x16_MULT_REG1=Const(0, 1), p_PIPELINE_16x16_MULT_REG2=Const(0, 1),
                # Outputs: the registered 8x8 products F (top) and G (bottom).
                p_TOPOUTPUT_SELECT=Const(2, 2), p_BOTOUTPUT_SELECT=Const(2, 2),
                p_TOPADDSUB_LOWERINPUT=Const(0, 2), p_TOPADDSUB_UPPERINPUT=Const(0, 1),
                p_TOPADDSUB_CARRYSELECT=Const(0, 2), p_BOTADDSUB_LOWERINPUT=Const(0, 2),
                p_BOTADDSUB_UPPERINPUT=Const(0, 1), p_BOTADDSUB_CARRYSELECT=Const(0, 2),
                p_NEG_TRIGGER=Const(0, 1),
                i_CLK=ClockSignal("sync"), i_CE=self.enable,
                i_A=Cat(self.a[0], self.a[1]), i_B=Cat(self.b[0], self.b[1]),
                i_C=Const(0, 16), i_D=Const(0, 16),
                i_AHOLD=0, i_BHOLD=0, i_CHOLD=0, i_DHOLD=0,
                i_IRSTTOP=0, i_IRSTBOT=0, i_ORSTTOP=0, i_ORSTBOT=0,
                i_OLOADTOP=0, i_OLOADBOT=0, i_ADDSUBTOP=0, i_ADDSUBBOT=0,
                i_OHOLDTOP=0, i_OHOLDBOT=0, i_CI=0, i_ACCUMCI=0, i_SIGNEXTIN=0,
                o_O=product)
            m.d.comb += [self.p[0].eq(product[:16]), self.p[1].eq(product[16:])]
            return m

        # The model: the same two register stages, loaded with `enable`, no reset.
        for i in range(2):
            a_reg = Signal(signed(8), name=f"a{i}_reg", reset_less=True)
            b_reg = Signal(signed(8), name=f"b{i}_reg", reset_less=True)
            p_reg = Signal(signed(16), name=f"p{i}_reg", reset_less=True)
            with m.If(self.enable):
                m.d.sync += [a_reg.eq(self.a[i]), b_reg.eq(self.b[i]), p_reg.eq(a_reg * b_reg)]
            m.d.comb += self.p[i].eq(p_reg)
        return m
