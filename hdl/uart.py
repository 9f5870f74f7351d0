"""UART receiver and transmitter (8N1) with byte streams.

The boards' USB-serial bridges speak 8N1: one start bit (0), eight data bits least significant
first, one stop bit (1), no parity. Both directions here use a fixed ``divisor``: the number of
clock cycles per bit (``round(clk_freq / baud)``); a divisor of at least 4 is required so the
receiver can sample the middle of each bit.

:class:`UARTReceiver` turns the ``rx`` pin into a stream of bytes; :class:`UARTTransmitter`
turns a stream of bytes into the ``tx`` pin. Both are reusable on their own; the host link
(:mod:`bitmac.hdl.hostlink`) sits between them.
"""

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["UARTReceiver", "UARTTransmitter", "check_divisor"]

MIN_DIVISOR = 4


def check_divisor(divisor):
    """Return ``divisor`` (clock cycles per bit) if it is an integer >= 4, else raise
    ``ValueError``."""
    if isinstance(divisor, bool) or not isinstance(divisor, int):
        raise ValueError(f"UART divisor must be an integer number of clock cycles per bit, "
                         f"not {divisor!r}")
    if divisor < MIN_DIVISOR:
        raise ValueError(f"UART divisor must be at least {MIN_DIVISOR} clock cycles per bit "
                         f"(mid-bit sampling), not {divisor}")
    return divisor


class UARTReceiver(wiring.Component):
    """8N1 UART receiver.

    The ``rx`` pin passes through a two-flop synchroniser. A falling edge starts a character;
    the start bit is checked again half a bit later (a shorter low pulse is a glitch and is
    ignored), then every data bit and the stop bit are sampled in the middle of the bit, one
    ``divisor`` apart. The receiver is ready for the next start bit right after the middle of
    the stop bit, so back-to-back characters are received with no gap.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit, >= 4.

    Attributes
    ----------
    rx : In(1)
        Serial input (idle high). Asynchronous to the clock: it is synchronised here.
    o_stream : Out(stream.Signature(8))
        Received bytes. A one-byte holding register: the byte stays valid until taken.
    framing_error : Out(1)
        One-cycle pulse when a character ends with a 0 stop bit (the byte is dropped; the
        receiver then waits for the line to return high, so a break gives a single pulse).
    overrun : Out(1)
        One-cycle pulse when a byte completes while the previous one has not been taken (the
        new byte is dropped).

    Latency: a byte is valid on ``o_stream`` 2 cycles (synchroniser) after the middle of its
    stop bit. Throughput: one byte per 10 bit times.
    """

    rx: In(1, init=1)
    o_stream: Out(stream.Signature(unsigned(8)))
    framing_error: Out(1)
    overrun: Out(1)

    def __init__(self, divisor):
        self.divisor = check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        divisor = self.divisor

        rx_meta = Signal(init=1)
        rx_sync = Signal(init=1)
        m.d.sync += [rx_meta.eq(self.rx), rx_sync.eq(rx_meta)]

        timer = Signal(range(divisor))
        bit_index = Signal(range(8))
        shift = Signal(8)
        held = Signal(8)  # the byte on o_stream stays put while the next one shifts in

        with m.If(self.o_stream.ready):
            m.d.sync += self.o_stream.valid.eq(0)
        m.d.sync += [self.framing_error.eq(0), self.overrun.eq(0)]
        m.d.comb += self.o_stream.payload.eq(held)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx_sync):
                    # Half a bit from the falling edge is the middle of the start bit.
                    m.d.sync += timer.eq(divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(rx_sync):
                    m.next = "IDLE"  # a glitch, not a start bit
                with m.Else():
                    m.d.sync += [timer.eq(divisor - 1), bit_index.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [shift.eq(Cat(shift[1:], rx_sync)), timer.eq(divisor - 1),
                                 bit_index.eq(bit_index + 1)]
                    with m.If(bit_index == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(rx_sync):
                    with m.If(self.o_stream.valid & ~self.o_stream.ready):
                        m.d.sync += self.overrun.eq(1)
                    with m.Else():
                        m.d.sync += [self.o_stream.valid.eq(1), held.eq(shift)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += self.framing_error.eq(1)
                    m.next = "WAIT_IDLE"
            with m.State("WAIT_IDLE"):
                with m.If(rx_sync):
                    m.next = "IDLE"
        return m


class UARTTransmitter(wiring.Component):
    """8N1 UART transmitter.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit, >= 4.

    Attributes
    ----------
    i_stream : In(stream.Signature(8))
        Bytes to send. A byte is taken (``ready``) only when the line is idle.
    tx : Out(1)
        Serial output, idle high, driven from a register (no glitches).
    busy : Out(1)
        High while a character is on the line.

    Latency: the start bit begins the cycle after the byte is taken. Throughput: one byte per
    exactly 10 bit times (the next byte is taken in the last cycle of the stop bit).
    """

    i_stream: In(stream.Signature(unsigned(8)))
    tx: Out(1, init=1)
    busy: Out(1)

    def __init__(self, divisor):
        self.divisor = check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        divisor = self.divisor

        timer = Signal(range(divisor))
        bits_left = Signal(range(10))
        shift = Signal(9)  # data bits then the stop bit, shifted out LSB first

        idle = (timer == 0) & (bits_left == 0)
        m.d.comb += [self.i_stream.ready.eq(idle), self.busy.eq(~idle)]

        with m.If(self.i_stream.valid & idle):
            m.d.sync += [self.tx.eq(0), shift.eq(Cat(self.i_stream.payload, 1)),
                         bits_left.eq(9), timer.eq(divisor - 1)]
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.Elif(bits_left != 0):
            m.d.sync += [self.tx.eq(shift[0]), shift.eq(shift >> 1),
                         bits_left.eq(bits_left - 1), timer.eq(divisor - 1)]
        return m
