"""DSP primitives Yosys does not infer: two signed int8 products from one hard multiplier, and
one product with the multiplier's own registers in use.

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

:class:`RegisteredInt8Product` is one signed 8 x 8 product behind three register stages. On
ECP5 it is one ``MULT18X18D`` with its input, pipeline and output registers on: Yosys's
``synth_ecp5`` maps a multiplication to a purely combinational MULT18X18D and leaves every
register in logic, so the routing into the multiplier and the 3.9 ns multiply land in one
cycle (README "Measured (bench/int8_mvu.py)"). Elsewhere it is a behavioural model, register
for register. The primitive path is checked against the model by simulating the exported
Verilog with a MULT18X18D model of the registers it uses (Yosys ships none).
"""

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["DualInt8Product", "DUAL_PRODUCT_IMPLEMENTATIONS", "has_dual_int8_dsp",
           "packing_refused", "RegisteredInt8Product", "REGISTERED_PRODUCT_IMPLEMENTATIONS",
           "has_registered_int8_dsp"]

#: ``implementation`` values of :class:`DualInt8Product`.
DUAL_PRODUCT_IMPLEMENTATIONS = ("auto", "sb_mac16", "model")

#: ``implementation`` values of :class:`RegisteredInt8Product`.
REGISTERED_PRODUCT_IMPLEMENTATIONS = ("auto", "mult18x18d", "model")


def has_dual_int8_dsp(device):
    """Whether the part ``device`` (e.g. ``"iCE40UP5K"``, an Amaranth platform's ``device``)
    has a DSP block with two int8 products that this kit can instantiate: the iCE40
    UltraPlus / iCE5LP parts (``SB_MAC16``)."""
    return str(device).upper().startswith(("ICE40UP", "ICE5LP"))


def packing_refused(device):
    """The error for packing on a part without a two-product DSP block."""
    return (f"two int8 products per DSP block need an iCE40 UltraPlus SB_MAC16; {device} has "
            f"no such multiplier the open toolchain can use (build without packing)")


def has_registered_int8_dsp(platform):
    """Whether ``platform`` is an ECP5 part, whose ``MULT18X18D`` this kit instantiates with
    its registers on (:class:`RegisteredInt8Product`)."""
    return getattr(platform, "family", None) == "ecp5"


class _HandInstantiated(wiring.Component):
    """A block that is a vendor primitive on some parts and a behavioural model elsewhere:
    ``implementation`` is ``"auto"`` or one of the subclass's :attr:`implementations`."""

    implementations = ("auto", "model")

    def __init__(self, implementation="auto"):
        if implementation not in self.implementations:
            raise ValueError(f"implementation must be one of {self.implementations}, "
                             f"not {implementation!r}")
        self.implementation = implementation
        super().__init__()


class DualInt8Product(_HandInstantiated):
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

    implementations = DUAL_PRODUCT_IMPLEMENTATIONS

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


class RegisteredInt8Product(_HandInstantiated):
    """One signed int8 x int8 product behind three register stages, all inside the multiplier
    on ECP5.

    ``p = a * b`` (exact, signed 16 bits), registered three times: the operands on the way in
    (MULT18X18D input registers A and B), the product (pipeline register) and once more
    (output register), so that the block's output routing starts from a register too. All
    three load only in cycles with ``enable`` high (``CE0``); they have no reset.

    Latency: :attr:`latency` ``= 3`` cycles from operands to product (enabled cycles).
    Throughput: one product per cycle.

    Parameters
    ----------
    implementation : str
        ``"mult18x18d"``: one ``MULT18X18D`` instance (ECP5 only, not simulable by the
        Amaranth simulator); ``"model"``: the behavioural model in logic; ``"auto"``
        (default): the instance when elaborated for an ECP5 part, the model otherwise
        (simulation, Verilog export, other parts).

    Attributes
    ----------
    a, b : In(signed(8))
        Operands.
    enable : In(1, init=1)
        Clock enable of the three register stages (MULT18X18D ``CE0``).
    p : Out(signed(16))
        The product, straight from the output register.
    """

    latency = 3

    a: In(signed(8))
    b: In(signed(8))
    enable: In(1, init=1)
    p: Out(signed(16))

    implementations = REGISTERED_PRODUCT_IMPLEMENTATIONS

    def resolve(self, platform):
        """The implementation elaborated for ``platform`` (``"mult18x18d"`` or ``"model"``)."""
        if self.implementation != "auto":
            return self.implementation
        return "mult18x18d" if has_registered_int8_dsp(platform) else "model"

    def elaborate(self, platform):
        m = Module()
        if self.resolve(platform) == "mult18x18d":
            # 18-bit ports: the operands sign-extended, the product in the low 16 bits of P.
            a, b, product = Signal(18), Signal(18), Signal(36)
            m.d.comb += [a.eq(self.a), b.eq(self.b), self.p.eq(product[:16])]
            registered = {f"p_REG_{stage}_{kind}": value
                          for stage in ("INPUTA", "INPUTB", "PIPELINE", "OUTPUT")
                          for kind, value in (("CLK", "CLK0"), ("CE", "CE0"), ("RST", "RST0"))}
            m.submodules.mult18x18d = Instance(
                "MULT18X18D", **registered,
                p_REG_INPUTC_CLK="NONE", p_GSR="DISABLED", p_RESETMODE="SYNC",
                i_CLK0=ClockSignal("sync"), i_CE0=self.enable, i_RST0=Const(0, 1),
                i_SIGNEDA=Const(1, 1), i_SIGNEDB=Const(1, 1),
                i_SOURCEA=Const(0, 1), i_SOURCEB=Const(0, 1),
                **{f"i_A{bit}": a[bit] for bit in range(18)},
                **{f"i_B{bit}": b[bit] for bit in range(18)},
                **{f"i_C{bit}": Const(0, 1) for bit in range(18)},
                **{f"o_P{bit}": product[bit] for bit in range(36)})
            return m

        # The model: the same three register stages, loaded with `enable`, no reset.
        a_reg = Signal(signed(8), name="a_reg", reset_less=True)
        b_reg = Signal(signed(8), name="b_reg", reset_less=True)
        p_reg = Signal(signed(16), name="p_reg", reset_less=True)
        p_out = Signal(signed(16), name="p_out", reset_less=True)
        with m.If(self.enable):
            m.d.sync += [a_reg.eq(self.a), b_reg.eq(self.b), p_reg.eq(a_reg * b_reg),
                         p_out.eq(p_reg)]
        m.d.comb += self.p.eq(p_out)
        return m
