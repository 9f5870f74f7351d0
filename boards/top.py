"""Board top level with the host link: UART pins + :class:`~bitmac.hdl.hostlink.HostLinkCore`
+ a matrix-vector unit, and status LEDs when the board has them.

:class:`BoardTop` is the same gateware on a board and in simulation: elaborated for a platform
it takes the ``uart`` resource (the board's USB-serial bridge) and ``led`` 0/1; elaborated
without one (the Amaranth simulator, :mod:`bitmac.boards.serial_sim`) its ``rx``/``tx`` ports
are the serial line. It runs in the ``sync`` domain at ``clk_freq``; the board build
(:mod:`bitmac.boards.build`) supplies that clock.
"""

from amaranth.build import ResourceError
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..errors import BitmacError
from ..hdl.hostlink import HostLinkCore
from ..hdl.uart import MIN_DIVISOR, UARTReceiver, UARTTransmitter

__all__ = ["BoardTop", "make_board_top", "make_network_top", "network_units", "make_unit",
           "uart_divisor", "DEFAULT_BAUD", "DESIGNS"]

DEFAULT_BAUD = 115200
#: Largest baud-rate error (relative) that 8N1 mid-bit sampling tolerates with margin.
MAX_BAUD_ERROR = 0.02
DESIGNS = ("binary", "int8")


def uart_divisor(clk_freq, baud):
    """Clock cycles per bit for ``baud`` at ``clk_freq``; ``ValueError`` when the nearest
    divisor misses the baud rate by more than 2 % or is below the UART's minimum."""
    if not clk_freq > 0 or not baud > 0:
        raise ValueError(f"clock and baud rate must be positive, not {clk_freq} Hz and {baud} Bd")
    divisor = round(clk_freq / baud)
    if divisor < MIN_DIVISOR:
        raise ValueError(f"{baud} Bd is too fast for a {clk_freq / 1e6:g} MHz clock: the UART "
                         f"needs at least {MIN_DIVISOR} cycles per bit "
                         f"(at most {clk_freq / MIN_DIVISOR:.0f} Bd)")
    error = abs(clk_freq / divisor - baud) / baud
    if error > MAX_BAUD_ERROR:
        raise ValueError(f"{baud} Bd cannot be made from a {clk_freq / 1e6:g} MHz clock: the "
                         f"nearest is {clk_freq / divisor:.0f} Bd ({error:.1%} off, at most "
                         f"{MAX_BAUD_ERROR:.0%} allowed)")
    return divisor


class BoardTop(wiring.Component):
    """UART + host link + unit.

    Parameters
    ----------
    unit : wiring.Component
        A matrix-vector unit (``BinaryMVU`` / ``Int8MVU`` or anything with their streams).
    clk_freq : int
        Frequency of the ``sync`` domain in Hz.
    baud : int
        Serial line rate (8N1).
    timeout : float
        Seconds without a byte after which a half-received frame is rejected (default 0.1 s:
        longer than USB-serial bridges' latency timers).
    timeout_cycles : int, optional
        The same in clock cycles; overrides ``timeout`` (simulation uses a few bit times).
    buffer_beats, result_beats : int, optional
        Frame and result buffer depths (see :class:`HostLinkCore`).
    uart : tuple of (str, int)
        Platform resource of the serial port (default ``("uart", 0)``).
    leds : sequence of (str, int, str or None), optional
        Platform resources (name, number, subsignal) for the ``activity`` and ``error``
        outputs, in that order; default ``led`` 0 and 1 where the board has them.

    Attributes
    ----------
    rx : In(1)
        Serial input (from the host's TX).
    tx : Out(1)
        Serial output (to the host's RX).
    activity : Out(1)
        Lit for roughly 50-100 ms after each executed command (LED 0 on a board).
    error : Out(1)
        Lit for roughly 50-100 ms after each rejected frame (LED 1 on a board that has two).
    core : HostLinkCore
    divisor : int
        Clock cycles per bit.
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    activity: Out(1)
    error: Out(1)

    def __init__(self, unit, clk_freq, baud=DEFAULT_BAUD, *, timeout=0.1, timeout_cycles=None,
                 buffer_beats=None, result_beats=None, uart=("uart", 0), leds=None):
        clk_freq = int(clk_freq)
        self.clk_freq = clk_freq
        self.baud = baud
        self.divisor = uart_divisor(clk_freq, baud)
        if timeout_cycles is None:
            if not timeout > 0:
                raise ValueError(f"timeout must be positive, not {timeout}")
            timeout_cycles = max(1, round(timeout * clk_freq))
        # A frame's bytes arrive one per 10 bit times; a timeout shorter than that would cut
        # every frame.
        if timeout_cycles < 20 * self.divisor:
            raise ValueError(f"timeout of {timeout_cycles} cycles is shorter than two "
                             f"characters ({20 * self.divisor} cycles)")
        self.core = HostLinkCore(unit, clk_freq=clk_freq, timeout_cycles=timeout_cycles,
                                 buffer_beats=buffer_beats, result_beats=result_beats)
        self.unit = unit
        self.uart = tuple(uart)
        self.leds = None if leds is None else [tuple(led) for led in leds]
        self.led_cycles = max(3, clk_freq // 20)
        super().__init__()

    def _stretchers(self, m, pulses_outputs):
        # LEDs stay lit 3 to 4 prescaler periods (roughly 50-100 ms) after a pulse. One shared
        # prescaler on the carry chain and a 2-bit counter per LED keep wide counters (and
        # their long decrement paths) out of the design.
        period_bits = max(1, (self.led_cycles // 3).bit_length())
        prescaler = Signal(period_bits)
        tick = Signal()
        m.d.sync += [prescaler.eq(prescaler + 1), tick.eq(prescaler == (1 << period_bits) - 1)]
        for pulse, output in pulses_outputs:
            counter = Signal(2, name=f"{output.name}_counter")
            with m.If(pulse):
                m.d.sync += counter.eq(3)
            with m.Elif(tick & (counter != 0)):
                m.d.sync += counter.eq(counter - 1)
            m.d.comb += output.eq(counter != 0)

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = receiver = UARTReceiver(self.divisor)
        m.submodules.uart_tx = transmitter = UARTTransmitter(self.divisor)
        m.submodules.link = core = self.core
        wiring.connect(m, receiver.o_stream, core.i_stream)
        # One register between the link and the transmitter keeps the transmitter's ready out
        # of the link's reply state machine (timing); a character lasts 10 bit times anyway.
        held, full = Signal(8), Signal()
        m.d.comb += [core.o_stream.ready.eq(~full), transmitter.i_stream.valid.eq(full),
                     transmitter.i_stream.payload.eq(held)]
        with m.If(core.o_stream.valid & ~full):
            m.d.sync += [held.eq(core.o_stream.payload), full.eq(1)]
        with m.Elif(transmitter.i_stream.ready):
            m.d.sync += full.eq(0)
        m.d.comb += [receiver.rx.eq(self.rx), self.tx.eq(transmitter.tx),
                     core.rx_error.eq(receiver.framing_error)]
        self._stretchers(m, [(core.executed, self.activity), (core.rejected, self.error)])

        if platform is not None:
            uart = platform.request(*self.uart)
            m.d.comb += [self.rx.eq(uart.rx.i), uart.tx.o.eq(self.tx)]
            leds = self.leds
            if leds is None:
                leds = [("led", number, None) for number in range(2)]
            for (name, number, subsignal), signal in zip(leds, (self.activity, self.error)):
                try:
                    led = platform.request(name, number)
                except ResourceError:
                    break  # the board has fewer LEDs: the link works without them
                m.d.comb += (getattr(led, subsignal) if subsignal else led).o.eq(signal)
        return m


def make_unit(design, params):
    """Build the unit of ``design`` ("binary" or "int8") from ``params`` (n_in, n_out, pe,
    simd, mode, ...: the unit's constructor arguments)."""
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {DESIGNS}, not {design!r}")
    try:
        if design == "binary":
            from ..hdl.binary_mvu import BinaryMVU as unit_class
        else:
            from ..hdl.int8_mvu import Int8MVU as unit_class
    except ImportError as error:
        raise BitmacError(f"the {design} unit is missing from this installation "
                          f"({error}); reinstall bitmac") from None
    try:
        return unit_class(**params)
    except TypeError as error:
        raise ValueError(f"bad parameters for the {design} unit: {error}") from None


def make_board_top(design, params, *, clk_freq, baud=DEFAULT_BAUD, **options):
    """:class:`BoardTop` around a new ``design`` unit built from ``params``; ``options`` go to
    :class:`BoardTop` (timeout, buffer depths)."""
    return BoardTop(make_unit(design, params), clk_freq, baud, **options)


def network_units(kind, board_name, trained=None):
    """The units of the trained digits network ``kind`` ("binary" or "int8") as the board
    ``board_name`` builds them (folding :func:`bitmac.boards.compare.folding_for`); the
    network is loaded from the cache, or trained (seeded) when the cache has none."""
    from ..sim import digits, network_rtl
    from .compare import folding_for
    if trained is None:
        trained = digits.trained_networks(split=digits.load_split())
    return network_rtl.build_units(kind, trained, folding_for(board_name, kind))


def make_network_top(kind, board_name, *, clk_freq, baud=DEFAULT_BAUD, trained=None,
                     **options):
    """:class:`BoardTop` around the whole digits network ``kind``
    (:class:`bitmac.boards.compare.NetworkPipeline` of :func:`network_units`): one load
    target per layer's weight stream and per layer's threshold / requantization stream, RUN
    takes images (the first layer's input beats) and answers the last layer's output beats."""
    from .compare import NetworkPipeline
    pipeline = NetworkPipeline(network_units(kind, board_name, trained))
    return BoardTop(pipeline, clk_freq, baud, **options)
