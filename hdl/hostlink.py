"""Host link: a framed command protocol over a byte stream that drives a matrix-vector unit.

The host (``bitmac.boards.host.HostLink``) and the board talk in frames over the UART
(:mod:`bitmac.hdl.uart`); :class:`HostLinkCore` parses the host's frames, checks them, feeds
the unit's streams and answers. The protocol (also in README "Host link protocol"):

Frames
------
Request (host to board)::

    0xA5  CMD  LEN_LO LEN_HI  PAYLOAD[LEN]  CRC_HI CRC_LO

Reply (board to host)::

    0x5A  CMD  STATUS  LEN_LO LEN_HI  PAYLOAD[LEN]  CRC_HI CRC_LO

Integers are little-endian, except the CRC, which is sent high byte first. The CRC is
CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR; the
check value of ASCII "123456789" is 0x29B1) over every byte after the sync byte up to the end
of the payload. ``CMD`` in a reply echoes the request's command (0 when the request broke off
before its command byte).

Commands
--------
``IDENT`` (0x01, no payload)
    Reply: the identification word (a 28-byte head, :data:`IDENT_FORMAT`): magic ``b"BMAC"``,
    protocol version, design kind (0 binary, 1 int8), mode (0 acc, 1 threshold, 2 requant),
    accumulator width, n_in, n_out, pe, simd, clock frequency in Hz, the largest number of beats
    in one load frame, the largest number of vectors in one RUN frame, and the bytes per beat of
    the input, first weight, first parameter and output streams (0 when the unit has no
    parameter stream); then (:data:`IDENT_TARGETS_FORMAT`) the number of weight targets and of
    parameter targets, and one byte per target: its bytes per beat.
``LOAD_WEIGHTS`` (0x02), ``LOAD_PARAMS`` (0x03)
    Payload: a target byte (the index of the weight / parameter stream, in the order of the
    unit's signature: ``w_stream`` of a single unit is target 0, ``w<l>_stream`` of a network
    pipeline target ``l``), then whole beats for that stream, each beat the payload's bits in
    little-endian bytes. Reply: empty. A full load may be split over several frames; the unit
    sees one continuous stream.
``RUN`` (0x04)
    Payload: whole vectors for ``i_stream`` (``SF`` beats each). The unit is fed from the
    frame buffer at full rate and its results are captured on chip, then the reply carries them:
    ``NF`` beats per vector, each beat its payload's bits in little-endian bytes.
``CYCLES`` (0x05, no payload)
    Reply: 4 bytes, the clock cycles of the last RUN, from the first input beat offered to the
    unit to the last result beat captured (saturating at 2**32 - 1).

Safety
------
The payload is written into an on-chip buffer and nothing reaches the unit until the whole
frame is in and its CRC and length are right: a corrupted, truncated or oversized command is
answered with an error status and never executed. A frame breaks off (status ``TIMEOUT``) when
no byte arrives for ``timeout_cycles`` cycles after its sync byte. One command at a time: the
board ignores bytes while it executes and answers.
"""

import enum
import struct

from amaranth.hdl import (Array, Cat, Const, Module, Mux, ResetInserter, Signal, Value, unsigned)
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = [
    "HostLinkCore", "Command", "Status", "SYNC_REQUEST", "SYNC_REPLY", "MAGIC",
    "PROTOCOL_VERSION", "IDENT_FORMAT", "IDENT_TARGETS_FORMAT", "DESIGN_KINDS", "MODES",
    "MAX_LENGTH", "link_layout",
    "crc16_update",
]

SYNC_REQUEST = 0xA5
SYNC_REPLY = 0x5A
MAGIC = b"BMAC"
#: Version 2: loads carry a target byte; IDENT lists the weight and parameter targets.
PROTOCOL_VERSION = 2
#: struct format of the fixed head of the IDENT reply payload (see the module docstring).
IDENT_FORMAT = "<4sBBBBHHHHIHHBBBB"
#: After the head: number of weight targets, number of parameter targets, then one byte per
#: target (weights first) with its bytes per beat.
IDENT_TARGETS_FORMAT = "<BB"
DESIGN_KINDS = ("binary", "int8")
MODES = ("acc", "threshold", "requant")
#: The LEN field's limit: no frame payload is longer.
MAX_LENGTH = 0xFFFF
CRC_POLY = 0x1021
CRC_INIT = 0xFFFF
CYCLE_COUNTER_BITS = 32


class Command(enum.IntEnum):
    IDENT = 0x01
    LOAD_WEIGHTS = 0x02
    LOAD_PARAMS = 0x03
    RUN = 0x04
    CYCLES = 0x05


class Status(enum.IntEnum):
    OK = 0x00
    BAD_CRC = 0x01           # the frame's CRC does not match: not executed
    BAD_LENGTH = 0x02        # not whole beats / vectors, empty, or more than the buffer holds
    UNKNOWN_COMMAND = 0x03
    TIMEOUT = 0x04           # the frame broke off (no byte for timeout_cycles)
    FRAMING = 0x05           # a UART framing error inside the frame
    UNSUPPORTED = 0x06       # LOAD_PARAMS on a unit without a parameter stream
    UNIT_STALLED = 0x07      # the unit made no progress for too long; it was reset
    BAD_TARGET = 0x08        # a load names a stream the unit does not have


def crc16_update(crc, byte):
    """One byte of CRC-16/CCITT-FALSE as an Amaranth expression (MSB first, polynomial 0x1021).

    ``crc`` is a 16-bit value, ``byte`` an 8-bit value; returns the new 16-bit value.
    """
    crc = Value.cast(crc)
    byte = Value.cast(byte)
    for i in range(7, -1, -1):
        feedback = crc[15] ^ byte[i]
        crc = (crc << 1)[:16] ^ Mux(feedback, CRC_POLY, 0)
    return crc


def _beat_bytes(width):
    return (width + 7) // 8


def _stream_ports(unit):
    """The unit's streams by role: ``(i, weights, params, o)``; ``i`` and ``o`` are
    (name, payload width) pairs, ``weights`` and ``params`` lists of them in signature order
    (weight streams are the input streams named ``w...``, parameter streams the other inputs
    besides ``i_stream``)."""
    inputs, outputs = {}, {}
    for name, member in unit.signature.members.items():
        if member.is_signature and isinstance(member.signature, stream.Signature):
            width = len(Value.cast(getattr(unit, name).payload))
            (inputs if member.flow == In else outputs)[name] = width
    weights = [(name, width) for name, width in inputs.items() if name.startswith("w")]
    params = [(name, width) for name, width in inputs.items()
              if name != "i_stream" and not name.startswith("w")]
    missing = [name for name, present in (("i_stream", "i_stream" in inputs),
                                          ("a weight stream (w...)", bool(weights)),
                                          ("o_stream", "o_stream" in outputs)) if not present]
    if missing:
        raise ValueError(f"the host link needs a unit with i_stream, weight streams and "
                         f"o_stream; {type(unit).__name__} has no {', '.join(missing)}")
    if len(weights) + len(params) > 255:
        raise ValueError(f"the host link addresses at most 255 load targets, "
                         f"{type(unit).__name__} has {len(weights) + len(params)}")
    return (("i_stream", inputs["i_stream"]), weights, params,
            ("o_stream", outputs["o_stream"]))


def _chain(unit):
    """The units behind the link, first to last: a pipeline's ``units`` or the unit itself."""
    units = getattr(unit, "units", None)
    return list(units) if units else [unit]


def _unit_int(unit, name):
    value = getattr(unit, name, None)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"the host link needs the unit's {name} as a positive integer "
                         f"attribute; {type(unit).__name__}.{name} is {value!r}")
    return value


def link_layout(unit, *, buffer_beats=None, result_beats=None):
    """Sizes of the link for ``unit``: a dict with the unit's parameters, the bytes per beat of
    each stream, the buffer depths and the frame limits. Raises ``ValueError`` when the unit
    does not fit the link or a depth is too small (the message says what to change)."""
    chain = _chain(unit)
    first, last = chain[0], chain[-1]
    n_in, simd = (_unit_int(first, name) for name in ("n_in", "simd"))
    n_out, pe = (_unit_int(last, name) for name in ("n_out", "pe"))
    (_, i_width), weights, params, (_, o_width) = _stream_ports(unit)
    if n_out % pe:
        raise ValueError(f"pe={pe} must divide n_out={n_out}")
    sf, nf = -(-n_in // simd), n_out // pe
    # Work of the whole chain per vector, for the stall watchdog.
    chain_work = 0
    for member in chain:
        member_sf = -(-_unit_int(member, "n_in") // _unit_int(member, "simd"))
        chain_work += member_sf * (_unit_int(member, "n_out") // _unit_int(member, "pe"))
    if i_width == simd:
        kind = "binary"
    elif i_width == 8 * simd:
        kind = "int8"
    else:
        raise ValueError(f"i_stream carries {i_width} bits for simd={simd}: neither 1-bit "
                         f"(binary) nor 8-bit (int8) elements")
    mode = getattr(last, "mode", "acc")
    if mode not in MODES:
        raise ValueError(f"unit mode must be one of {MODES}, not {mode!r}")
    acc_width = getattr(last, "acc_width", None)
    if acc_width is None:
        acc_width = 32 if kind == "int8" else 0
    weight_bytes = [_beat_bytes(width) for _, width in weights]
    param_bytes = [_beat_bytes(width) for _, width in params]
    sizes = {"i": _beat_bytes(i_width), "w": weight_bytes[0],
             "p": param_bytes[0] if param_bytes else 0, "o": _beat_bytes(o_width)}
    widest = max([sizes["i"]] + weight_bytes + param_bytes)
    largest_buffer = MAX_LENGTH // widest
    if buffer_beats is None:
        buffer_beats = min(largest_buffer, max(sf, 256))
    if result_beats is None:
        # About 16 kbit of result memory, but always room for one vector.
        result_beats = max(nf, min(256, 16384 // (8 * sizes["o"])))
    for name, value in (("buffer_beats", buffer_beats), ("result_beats", result_beats)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")
    if buffer_beats > largest_buffer:
        raise ValueError(f"buffer_beats={buffer_beats} makes frames longer than the LEN field "
                         f"allows ({MAX_LENGTH} bytes): at most {largest_buffer} for "
                         f"{widest}-byte beats")
    max_vectors = min(buffer_beats // sf, result_beats // nf, MAX_LENGTH // (nf * sizes["o"]))
    if max_vectors < 1:
        raise ValueError(f"one vector must fit a RUN frame: buffer_beats >= {sf} (SF) and "
                         f"result_beats >= {nf} (NF) are needed, and {nf} result beats of "
                         f"{sizes['o']} bytes must fit {MAX_LENGTH} bytes")
    return {"kind": kind, "mode": mode, "acc_width": acc_width, "n_in": n_in, "n_out": n_out,
            "pe": pe, "simd": simd, "sf": sf, "nf": nf, "bytes": sizes,
            "weight_streams": [name for name, _ in weights], "weight_bytes": weight_bytes,
            "param_streams": [name for name, _ in params], "param_bytes": param_bytes,
            "chain_work": chain_work, "buffer_beats": buffer_beats,
            "result_beats": result_beats, "max_vectors": max_vectors}


class HostLinkCore(wiring.Component):
    """The board side of the host link: frame parser, frame buffer, unit feeder, result buffer
    and reply sender around a matrix-vector unit (see the module docstring for the protocol).

    The unit is a submodule; its streams are found from its signature (``i_stream``,
    ``o_stream``, one or more weight streams named ``w...`` and any number of other input
    streams for parameters, each a load target), so any payload widths work: each beat
    travels as its bits in little-endian bytes.

    Parameters
    ----------
    unit : wiring.Component
        A matrix-vector unit with integer attributes ``n_in``, ``n_out``, ``pe``, ``simd`` and
        optionally ``mode`` and ``acc_width`` (reported by IDENT), or a chain of them with a
        ``units`` attribute (first to last, e.g. ``bitmac.boards.compare.NetworkPipeline``).
    clk_freq : int
        Clock frequency in Hz (reported by IDENT).
    timeout_cycles : int
        A frame breaks off when no byte arrives for this many cycles.
    buffer_beats : int, optional
        Depth of the frame buffer in beats (width: the widest input beat). Default
        ``max(SF, 256)``, bounded by the LEN field.
    result_beats : int, optional
        Depth of the result buffer in output beats. Default: about 16 kbit, at least ``NF``.

    Attributes
    ----------
    i_stream : In(stream.Signature(8))
        Bytes from the host (the UART receiver).
    rx_error : In(1)
        The UART receiver's framing-error pulse.
    o_stream : Out(stream.Signature(8))
        Reply bytes to the host (the UART transmitter).
    executed : Out(1)
        One-cycle pulse when a command is executed.
    rejected : Out(1)
        One-cycle pulse when a frame is rejected (error reply).
    layout : dict
        :func:`link_layout` of the unit.
    ident : bytes
        The IDENT reply payload.

    Latency and throughput: bytes are taken as fast as they come (one per cycle at most).
    During RUN the unit gets one input beat per cycle and its output beats are captured every
    cycle, so the cycle count measures the unit, not the link. The reply starts two cycles
    after the last result is captured.
    """

    i_stream: In(stream.Signature(unsigned(8)))
    rx_error: In(1)
    o_stream: Out(stream.Signature(unsigned(8)))
    executed: Out(1)
    rejected: Out(1)

    def __init__(self, unit, *, clk_freq, timeout_cycles, buffer_beats=None, result_beats=None):
        if not isinstance(unit, wiring.Component):
            raise ValueError(f"unit must be a wiring.Component, not {unit!r}")
        for name, value in (("clk_freq", clk_freq), ("timeout_cycles", timeout_cycles)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if clk_freq >= 1 << 32:
            raise ValueError(f"clk_freq must be below 2**32 Hz, not {clk_freq}")
        self.unit = unit
        self.clk_freq = clk_freq
        self.timeout_cycles = timeout_cycles
        self.layout = link_layout(unit, buffer_beats=buffer_beats, result_beats=result_beats)
        layout = self.layout
        for name in ("n_in", "n_out", "pe", "simd"):
            if layout[name] > 0xFFFF:
                raise ValueError(f"IDENT reports {name} in 16 bits; {layout[name]} is too large")
        if not 0 <= layout["acc_width"] <= 255:
            raise ValueError(f"acc_width {layout['acc_width']} does not fit IDENT's byte")
        sizes = layout["bytes"]
        self.ident = struct.pack(
            IDENT_FORMAT, MAGIC, PROTOCOL_VERSION, DESIGN_KINDS.index(layout["kind"]),
            MODES.index(layout["mode"]), layout["acc_width"], layout["n_in"], layout["n_out"],
            layout["pe"], layout["simd"], clk_freq, layout["buffer_beats"],
            layout["max_vectors"], sizes["i"], sizes["w"], sizes["p"], sizes["o"]) + struct.pack(
            IDENT_TARGETS_FORMAT, len(layout["weight_bytes"]), len(layout["param_bytes"])) + \
            bytes(layout["weight_bytes"] + layout["param_bytes"])
        # The unit gets a generous window between two transfers before it counts as stalled.
        self.stall_cycles = max(timeout_cycles, 4 * layout["chain_work"] + 256 * len(_chain(unit)))
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        layout = self.layout
        sizes = layout["bytes"]
        sf, nf = layout["sf"], layout["nf"]
        unit = self.unit
        unit_reset = Signal()
        m.submodules.unit = ResetInserter(unit_reset)(unit)

        # Every input stream of the unit: (command, target index, port, bytes per beat).
        targets = [(Command.RUN, 0, unit.i_stream, sizes["i"])]
        for command_code, names, beat_sizes in (
                (Command.LOAD_WEIGHTS, layout["weight_streams"], layout["weight_bytes"]),
                (Command.LOAD_PARAMS, layout["param_streams"], layout["param_bytes"])):
            targets += [(command_code, index, getattr(unit, name), size)
                        for index, (name, size) in enumerate(zip(names, beat_sizes))]
        target_counts = {Command.LOAD_WEIGHTS: len(layout["weight_streams"]),
                         Command.LOAD_PARAMS: len(layout["param_streams"])}
        max_vectors = layout["max_vectors"]
        beat_limits = {Command.RUN: max_vectors * sf, Command.LOAD_WEIGHTS: layout["buffer_beats"],
                       Command.LOAD_PARAMS: layout["buffer_beats"]}

        # Frame buffer: one row per beat, written a byte lane at a time.
        lanes = max(size for *_, size in targets)
        m.submodules.buffer = buffer = Memory(shape=unsigned(8 * lanes),
                                              depth=layout["buffer_beats"], init=[])
        buffer_write = buffer.write_port(granularity=8)
        buffer_read = buffer.read_port()
        # Result buffer: one row per output beat.
        m.submodules.results = results = Memory(shape=unsigned(8 * sizes["o"]),
                                                depth=layout["result_beats"], init=[])
        result_write = results.write_port()
        result_read = results.read_port()

        byte_in = self.i_stream.payload
        take = self.i_stream.valid & self.i_stream.ready

        command = Signal(8)
        target = Signal(8)
        want_target = Signal()  # the next payload byte is a load's target byte
        length = Signal(16)
        remaining = Signal(16)
        status = Signal(8)
        rx_crc = Signal(16, init=CRC_INIT)
        idle_cycles = Signal(range(self.timeout_cycles + 1))
        lane = Signal(range(lanes))
        beats = Signal(range(layout["buffer_beats"] + 1))
        overflow = Signal()
        chunk = Signal(range(sf))
        vectors = Signal(range(max_vectors + 1))
        expected_results = Signal(range(max_vectors * nf + 1))
        result_bytes = Signal(16)

        beat_size = Signal(range(lanes + 1))
        beat_limit = Signal(range(max(beat_limits.values()) + 1))
        m.d.comb += [beat_size.eq(1), beat_limit.eq(0)]
        for code, index, _, size in targets:
            selected = command == code
            if code != Command.RUN:
                selected &= target == index
            with m.If(selected):
                m.d.comb += [beat_size.eq(size), beat_limit.eq(beat_limits[code])]

        # Feeder (frame buffer -> unit) and result capture, used by the execute state.
        feed_addr = Signal(range(layout["buffer_beats"] + 1))
        feed_valid = Signal()
        feed_ready = Signal()
        # Flags kept in registers so the unit's handshakes do not feed wide comparators.
        is_run = Signal()
        target_select = Signal(len(targets))  # one-hot: which unit stream this frame feeds
        feed_more = Signal()      # feed_addr != beats
        captured_all = Signal()   # captured == expected_results
        captured = Signal(range(max_vectors * nf + 1))
        stall = Signal(range(self.stall_cycles + 1))
        stall_expired = Signal()
        run_cycles = Signal(CYCLE_COUNTER_BITS)
        for _, _, port, _ in targets:
            m.d.comb += port.payload.eq(buffer_read.data[:len(Value.cast(port.payload))])
        m.d.comb += [buffer_read.addr.eq(feed_addr), result_write.addr.eq(captured),
                     result_write.data.eq(Value.cast(unit.o_stream.payload))]

        # Reply sender.
        reply_length = Signal(16)
        reply_source = Signal(range(3))  # 0 ident, 1 cycles, 2 results
        body_index = Signal(16)
        body_lane = Signal(range(sizes["o"]))
        body_last = Signal()  # body_index == reply_length - 1, kept in a register for timing
        result_addr = Signal(range(layout["result_beats"] + 1))
        tx_crc = Signal(16)
        m.d.comb += result_read.addr.eq(result_addr)
        ident_bytes = Array(Const(byte, 8) for byte in self.ident)
        ident_index_bits = max(1, (len(self.ident) - 1).bit_length())
        cycle_bytes = Array(run_cycles.word_select(i, 8) for i in range(CYCLE_COUNTER_BITS // 8))
        body_byte = Signal(8)
        with m.Switch(reply_source):
            with m.Case(0):
                m.d.comb += body_byte.eq(ident_bytes[body_index[:ident_index_bits]])
            with m.Case(1):
                m.d.comb += body_byte.eq(cycle_bytes[body_index[:2]])
            with m.Default():
                m.d.comb += body_byte.eq(result_read.data.word_select(body_lane, 8))
        tx_byte = Signal(8)
        sent = self.o_stream.valid & self.o_stream.ready
        m.d.comb += self.o_stream.payload.eq(tx_byte)

        m.d.sync += [self.executed.eq(0), self.rejected.eq(0)]

        def reject(code):
            m.d.sync += [status.eq(code), reply_length.eq(0), self.rejected.eq(1)]
            m.next = "REPLY_SYNC"

        receiving = Signal()
        with m.If(receiving):
            with m.If(take):
                m.d.sync += idle_cycles.eq(0)
            with m.Else():
                m.d.sync += idle_cycles.eq(idle_cycles + 1)

        with m.FSM():
            with m.State("SYNC"):
                m.d.comb += self.i_stream.ready.eq(1)
                m.d.sync += [rx_crc.eq(CRC_INIT), idle_cycles.eq(0), command.eq(0)]
                with m.If(take & (byte_in == SYNC_REQUEST)):
                    m.next = "COMMAND"

            def receive_state(name, next_state, action):
                with m.State(name):
                    m.d.comb += [self.i_stream.ready.eq(1), receiving.eq(1)]
                    with m.If(self.rx_error):
                        reject(Status.FRAMING)
                    with m.Elif(take):
                        m.d.sync += rx_crc.eq(crc16_update(rx_crc, byte_in))
                        action()
                        if next_state is not None:
                            m.next = next_state
                    with m.Elif(idle_cycles == self.timeout_cycles):
                        reject(Status.TIMEOUT)

            def on_command():
                m.d.sync += command.eq(byte_in)

            def on_length_low():
                m.d.sync += length[:8].eq(byte_in)

            def on_length_high():
                m.d.sync += [length[8:].eq(byte_in), remaining.eq(Cat(length[:8], byte_in)),
                             lane.eq(0), beats.eq(0), overflow.eq(0), chunk.eq(0),
                             vectors.eq(0), expected_results.eq(0), result_bytes.eq(0),
                             target.eq(0), want_target.eq((command == Command.LOAD_WEIGHTS) |
                                                          (command == Command.LOAD_PARAMS))]
                with m.If(Cat(length[:8], byte_in) == 0):
                    m.next = "CRC_HIGH"
                with m.Else():
                    m.next = "PAYLOAD"

            def on_payload_byte():
                m.d.sync += remaining.eq(remaining - 1)
                with m.If(remaining == 1):
                    m.next = "CRC_HIGH"
                with m.If(want_target):
                    m.d.sync += [target.eq(byte_in), want_target.eq(0)]
                with m.Elif(beats >= beat_limit):
                    m.d.sync += overflow.eq(1)
                with m.Else():
                    m.d.comb += [buffer_write.addr.eq(beats), buffer_write.en.eq(1 << lane),
                                 buffer_write.data.eq(Cat(*[byte_in] * lanes))]
                with m.If(want_target):
                    pass
                with m.Elif(lane == beat_size - 1):
                    m.d.sync += [lane.eq(0), beats.eq(beats + (beats < beat_limit))]
                    with m.If(chunk == sf - 1):
                        m.d.sync += [chunk.eq(0), vectors.eq(vectors + (vectors < max_vectors)),
                                     expected_results.eq(expected_results + nf),
                                     result_bytes.eq(result_bytes + nf * sizes["o"])]
                    with m.Else():
                        m.d.sync += chunk.eq(chunk + 1)
                with m.Else():
                    m.d.sync += lane.eq(lane + 1)

            receive_state("COMMAND", "LENGTH_LOW", on_command)
            receive_state("LENGTH_LOW", "LENGTH_HIGH", on_length_low)
            receive_state("LENGTH_HIGH", None, on_length_high)
            receive_state("PAYLOAD", None, on_payload_byte)
            receive_state("CRC_HIGH", "CRC_LOW", lambda: None)
            receive_state("CRC_LOW", "CHECK", lambda: None)

            with m.State("CHECK"):
                whole_beats = (lane == 0) & ~overflow & (beats != 0)
                m.d.sync += [feed_addr.eq(0), feed_valid.eq(0), feed_more.eq(1), captured.eq(0),
                             captured_all.eq(0), is_run.eq(command == Command.RUN),
                             target_select.eq(Cat(
                                 (command == code) & ((target == index) if code != Command.RUN
                                                      else 1)
                                 for code, index, _, _ in targets)),
                             stall.eq(0), stall_expired.eq(0), status.eq(Status.OK),
                             reply_length.eq(0)]
                with m.If(rx_crc != 0):  # the CRC over data + CRC is 0 when they agree
                    reject(Status.BAD_CRC)
                with m.Else():
                    with m.Switch(command):
                        with m.Case(Command.IDENT, Command.CYCLES):
                            with m.If(length != 0):
                                reject(Status.BAD_LENGTH)
                            with m.Else():
                                is_ident = command == Command.IDENT
                                m.d.sync += [
                                    reply_source.eq(Mux(is_ident, 0, 1)),
                                    reply_length.eq(Mux(is_ident, len(self.ident),
                                                        CYCLE_COUNTER_BITS // 8)),
                                    self.executed.eq(1)]
                                m.next = "REPLY_SYNC"
                        for load in (Command.LOAD_WEIGHTS, Command.LOAD_PARAMS):
                            with m.Case(load):
                                if not target_counts[load]:
                                    reject(Status.UNSUPPORTED)
                                else:
                                    with m.If(~want_target & (target >= target_counts[load])):
                                        reject(Status.BAD_TARGET)
                                    with m.Elif(~whole_beats):
                                        reject(Status.BAD_LENGTH)
                                    with m.Else():
                                        m.d.sync += self.executed.eq(1)
                                        m.next = "EXECUTE"
                        with m.Case(Command.RUN):
                            with m.If(~whole_beats | (chunk != 0)):
                                reject(Status.BAD_LENGTH)
                            with m.Else():
                                m.d.sync += [self.executed.eq(1), run_cycles.eq(0),
                                             reply_source.eq(2), reply_length.eq(result_bytes)]
                                m.next = "EXECUTE"
                        with m.Default():
                            reject(Status.UNKNOWN_COMMAND)

            with m.State("EXECUTE"):
                # Read-ahead from the frame buffer: the read port holds its data while the
                # target stream stalls, so every beat is offered exactly once.
                advance = ~feed_valid | feed_ready
                m.d.comb += buffer_read.en.eq(advance)
                with m.If(advance):
                    m.d.sync += feed_valid.eq(feed_more)
                    with m.If(feed_more):
                        m.d.sync += [feed_addr.eq(feed_addr + 1),
                                     feed_more.eq(feed_addr + 1 != beats)]
                for selected, (_, _, port, _) in zip(target_select, targets):
                    m.d.comb += port.valid.eq(feed_valid & selected)
                m.d.comb += feed_ready.eq(
                    Cat(selected & port.ready
                        for selected, (_, _, port, _) in zip(target_select, targets)).any())
                capture = unit.o_stream.valid & unit.o_stream.ready
                m.d.comb += [unit.o_stream.ready.eq(is_run & ~captured_all),
                             result_write.en.eq(capture)]
                with m.If(capture):
                    m.d.sync += [captured.eq(captured + 1),
                                 captured_all.eq(captured + 1 == expected_results)]
                with m.If(is_run & (run_cycles != (1 << CYCLE_COUNTER_BITS) - 1)):
                    m.d.sync += run_cycles.eq(run_cycles + 1)
                progress = (feed_valid & feed_ready) | capture
                with m.If(progress):
                    m.d.sync += [stall.eq(0), stall_expired.eq(0)]
                with m.Else():
                    m.d.sync += [stall.eq(stall + 1),
                                 stall_expired.eq(stall == self.stall_cycles - 1)]
                with m.If(~feed_more & ~feed_valid & (~is_run | captured_all)):
                    m.next = "REPLY_SYNC"
                with m.Elif(stall_expired):
                    # Never leave the unit half-fed: reset it (its memories keep their data).
                    m.d.comb += unit_reset.eq(1)
                    m.d.sync += [status.eq(Status.UNIT_STALLED), reply_length.eq(0),
                                 self.rejected.eq(1)]
                    m.next = "REPLY_SYNC"

            def send_state(name, byte, next_state, *, crc=True):
                with m.State(name):
                    m.d.comb += [self.o_stream.valid.eq(1), tx_byte.eq(byte)]
                    with m.If(sent):
                        if crc:
                            m.d.sync += tx_crc.eq(crc16_update(tx_crc, byte))
                        m.next = next_state

            with m.State("REPLY_SYNC"):
                m.d.comb += [self.o_stream.valid.eq(1), tx_byte.eq(SYNC_REPLY)]
                m.d.sync += [tx_crc.eq(CRC_INIT), body_index.eq(0), body_lane.eq(0),
                             result_addr.eq(0)]
                with m.If(sent):
                    m.next = "REPLY_COMMAND"
            send_state("REPLY_COMMAND", command, "REPLY_STATUS")
            send_state("REPLY_STATUS", status, "REPLY_LENGTH_LOW")
            send_state("REPLY_LENGTH_LOW", reply_length[:8], "REPLY_LENGTH_HIGH")
            with m.State("REPLY_LENGTH_HIGH"):
                m.d.comb += [self.o_stream.valid.eq(1), tx_byte.eq(reply_length[8:])]
                with m.If(sent):
                    m.d.sync += tx_crc.eq(crc16_update(tx_crc, reply_length[8:]))
                    m.d.sync += body_last.eq(reply_length == 1)
                    with m.If(reply_length == 0):
                        m.next = "REPLY_CRC_HIGH"
                    with m.Else():
                        m.next = "REPLY_FETCH"
            with m.State("REPLY_FETCH"):
                # One cycle for the result buffer's synchronous read.
                m.d.comb += result_read.en.eq(1)
                m.next = "REPLY_BODY"
            with m.State("REPLY_BODY"):
                m.d.comb += [self.o_stream.valid.eq(1), tx_byte.eq(body_byte)]
                with m.If(sent):
                    m.d.sync += [tx_crc.eq(crc16_update(tx_crc, body_byte)),
                                 body_index.eq(body_index + 1),
                                 body_last.eq(body_index + 2 == reply_length)]
                    with m.If(body_lane == sizes["o"] - 1):
                        m.d.sync += [body_lane.eq(0), result_addr.eq(result_addr + 1)]
                    with m.Else():
                        m.d.sync += body_lane.eq(body_lane + 1)
                    with m.If(body_last):
                        m.next = "REPLY_CRC_HIGH"
                    with m.Elif((reply_source == 2) & (body_lane == sizes["o"] - 1)):
                        m.next = "REPLY_FETCH"
            send_state("REPLY_CRC_HIGH", tx_crc[8:], "REPLY_CRC_LOW", crc=False)
            send_state("REPLY_CRC_LOW", tx_crc[:8], "SYNC", crc=False)
        return m
