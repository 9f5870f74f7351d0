# amaranth: UnusedElaboratable=no
"""Host link end to end in simulation: HostLink (host driver) -> simulated serial line -> UART
-> HostLinkCore -> unit -> back, bit-exact with the golden models for BinaryMVU and Int8MVU;
rejected frames never executed."""

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from bitmac import golden
from bitmac.boards.host import (HostLink, LinkError, crc16_ccitt, encode_frame, pack_beats,
                                stream_fields, unpack_beats)
from bitmac.boards.serial_sim import SimulatedSerial
from bitmac.boards.top import BoardTop, make_board_top, uart_divisor
from bitmac.hdl.binary_mvu import BinaryMVU
from bitmac.hdl.hostlink import Command, HostLinkCore, Status, crc16_update, link_layout
from bitmac.hdl.int8_mvu import Int8MVU

CLK = 1_000_000
BAUD = 250_000  # 4 clock cycles per bit keeps the simulation short
TIMEOUT_CYCLES = 400


def board(unit, **options):
    top = BoardTop(unit, CLK, BAUD, timeout_cycles=TIMEOUT_CYCLES, **options)
    return top, HostLink(SimulatedSerial(top))


def binary_expected(X, W):
    return golden.binary_gemm(golden.pack_bits(X), golden.pack_bits(W), X.shape[1])


def pm1(rng, shape):
    return rng.choice(np.array([-1, 1]), size=shape)


def test_crc_matches_the_catalogue_in_host_and_gateware():
    # CRC-16/CCITT-FALSE check value from the CRC catalogue (reveng): "123456789" -> 0x29B1.
    message = b"123456789"
    assert crc16_ccitt(message) == 0x29B1
    crc, byte = Signal(16), Signal(8)
    m = Module()
    updated = Signal(16)
    m.d.comb += updated.eq(crc16_update(crc, byte))
    results = []

    async def bench(ctx):
        value = 0xFFFF
        for b in message:
            ctx.set(crc, value)
            ctx.set(byte, b)
            value = ctx.get(updated)
        results.append(value)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert results == [0x29B1]


def test_frame_layout():
    frame = encode_frame(Command.RUN, b"\x01\x02\x03")
    assert frame[:4] == bytes([0xA5, 0x04, 0x03, 0x00])
    assert frame[4:7] == b"\x01\x02\x03"
    # Non-reflected CRC sent high byte first: the CRC over data + CRC is 0.
    assert crc16_ccitt(frame[1:]) == 0


def test_beat_packing_round_trip():
    fields = [("threshold", 6, True), ("invert", 1, False)]
    columns = [np.array([-32, 31, -1, 0]), np.array([1, 0, 1, 0])]
    data = pack_beats(columns, fields, 1)
    assert data == bytes([0b1100000, 0b0011111, 0b1111111, 0])
    assert unpack_beats(data, fields, 1).T.tolist() == [c.tolist() for c in columns]


def test_binary_acc_end_to_end_with_cycle_count():
    rng = np.random.default_rng(1)
    n_in, n_out, pe, simd = 20, 8, 4, 8  # n_in not a multiple of simd
    unit = BinaryMVU(n_in, n_out, pe, simd, mode="acc")
    top, link = board(unit)
    info = link.ident()
    assert {key: info[key] for key in ("kind", "mode", "n_in", "n_out", "pe", "simd",
                                       "acc_width", "clk_freq")} == {
        "kind": "binary", "mode": "acc", "n_in": n_in, "n_out": n_out, "pe": pe,
        "simd": simd, "acc_width": golden.acc_bits(n_in, 1, 1), "clk_freq": CLK}
    W = pm1(rng, (n_out, n_in))
    link.load_weights(W)
    X = pm1(rng, (6, n_in))
    X[0] = 1
    X[1] = -1
    assert np.array_equal(link.run(X), binary_expected(X, W))
    # The unit fed from the frame buffer at full rate: NF * SF cycles per vector plus the
    # documented latency (and one cycle of buffer read).
    ideal = len(X) * unit.cycles_per_vector
    cycles = link.cycles()
    assert ideal <= cycles <= ideal + unit.latency + 2, (ideal, cycles)


def test_binary_threshold_params_and_weight_reload():
    rng = np.random.default_rng(2)
    n_in, n_out = 16, 6
    unit = BinaryMVU(n_in, n_out, 3, 16, mode="threshold")
    top, link = board(unit)
    for _ in range(2):
        W = pm1(rng, (n_out, n_in))
        thresholds = rng.integers(-n_in, n_in + 1, n_out)
        invert = rng.integers(0, 2, n_out)
        link.load_weights(W)
        link.load_params(thresholds=thresholds, invert=invert)
        X = pm1(rng, (5, n_in))
        expected = golden.threshold_activate(binary_expected(X, W), thresholds, invert)
        assert np.array_equal(link.run(X), expected)


def test_small_buffers_split_loads_and_runs_over_frames():
    rng = np.random.default_rng(3)
    n_in, n_out, pe, simd = 12, 8, 2, 4
    unit = BinaryMVU(n_in, n_out, pe, simd, mode="acc")
    # 8 x 3 weight beats need 3 frames of 10; RUN frames hold 2 vectors (4 result beats each).
    top, link = board(unit, buffer_beats=10, result_beats=8)
    info = link.ident()
    assert (info["max_load_beats"], info["max_vectors"]) == (10, 2)
    W = pm1(rng, (n_out, n_in))
    link.load_weights(W)
    X = pm1(rng, (5, n_in))
    assert np.array_equal(link.run(X), binary_expected(X, W))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["acc", "requant"])
def test_int8_end_to_end(mode):
    rng = np.random.default_rng(4)
    n_in, n_out, pe, simd = 10, 4, 2, 4
    # A 24-bit accumulator in acc mode: 3-byte output lanes, not a byte-aligned int32.
    options = {"acc_width": 24} if mode == "acc" else {}
    unit = Int8MVU(n_in, n_out, pe, simd, mode=mode, **options)
    top, link = board(unit)
    info = link.ident()
    expected_bytes = {"i": 4, "w": 4, "p": 0, "o": 6} if mode == "acc" else \
        {"i": 4, "w": 4, "p": 11, "o": 2}
    assert (info["kind"], info["mode"], info["beat_bytes"]) == ("int8", mode, expected_bytes)
    W = rng.integers(-128, 128, (n_out, n_in), dtype=np.int8)
    W[0] = -128
    link.load_weights(W)
    X = rng.integers(-128, 128, (5, n_in), dtype=np.int8)
    X[0] = -128
    X[1] = 127
    if mode == "acc":
        expected = golden.int8_gemm(X, W)
    else:
        multiplier, shift = golden.quantize_multiplier(
            rng.uniform(0.5, 2.0, n_out) / (64.0 * np.sqrt(n_in)))
        params = {"bias": rng.integers(-4096, 4096, n_out), "multiplier": multiplier,
                  "shift": shift, "zero_point": rng.integers(-8, 9, n_out), "out_min": -20}
        link.load_params(**params)
        expected = golden.int8_dense(X, W, **params)
    assert np.array_equal(link.run(X), expected)


@pytest.mark.slow
def test_corrupted_truncated_and_bad_frames_are_rejected_and_never_executed():
    rng = np.random.default_rng(5)
    n_in, n_out, pe, simd = 8, 4, 2, 8
    unit = BinaryMVU(n_in, n_out, pe, simd, mode="acc")
    top, link = board(unit)
    port = link.port
    info = link.ident()
    W = pm1(rng, (n_out, n_in))
    link.load_weights(W)
    X = pm1(rng, (3, n_in))
    expected = binary_expected(X, W)
    assert np.array_equal(link.run(X), expected)

    # A full new weight load whose frame is hit by one flipped bit on the line.
    other = -W
    fields = stream_fields(info, "w")
    lanes = (other == 1).astype(np.int64)
    payload = pack_beats([lanes[:, j] for j in range(simd)], fields, 1)
    # Protocol 2: a load starts with its target byte (weight stream 0).
    payload = b"\x00" + payload
    frame = bytearray(encode_frame(Command.LOAD_WEIGHTS, payload))
    frame[6] ^= 0x10
    reply = link.exchange(bytes(frame))
    assert (reply.command, reply.status) == (Command.LOAD_WEIGHTS, Status.BAD_CRC)
    assert np.array_equal(link.run(X), expected)

    # The same load cut short: the board times out and rejects it.
    good = encode_frame(Command.LOAD_WEIGHTS, payload)
    reply = link.exchange(good[:len(good) // 2])
    assert reply.status == Status.TIMEOUT
    assert np.array_equal(link.run(X), expected)

    # Valid CRC but not whole vectors / not whole... / unknown command / no parameter stream.
    x_bytes = pack_beats([(X[0] == 1).astype(np.int64)[j:j + 1] for j in range(simd)],
                         stream_fields(info, "i"), 1)
    assert link.exchange(encode_frame(Command.RUN, b"")).status == Status.BAD_LENGTH
    assert link.exchange(encode_frame(Command.IDENT, b"\x00")).status == Status.BAD_LENGTH
    too_many = x_bytes * (info["max_vectors"] + 1)
    assert link.exchange(encode_frame(Command.RUN, too_many)).status == Status.BAD_LENGTH
    assert link.exchange(encode_frame(0x7E)).status == Status.UNKNOWN_COMMAND
    assert link.exchange(encode_frame(Command.LOAD_PARAMS, b"\x00")).status == \
        Status.UNSUPPORTED
    assert link.exchange(encode_frame(Command.LOAD_WEIGHTS, b"\x01" + payload[1:])).status \
        == Status.BAD_TARGET
    assert link.exchange(encode_frame(Command.LOAD_WEIGHTS, b"\x00")).status == \
        Status.BAD_LENGTH
    with pytest.raises(LinkError, match="rejected LOAD_PARAMS: UNSUPPORTED"):
        link.command(Command.LOAD_PARAMS, b"\x00")
    # Garbage before a frame is skipped by the sync search.
    assert link.exchange(b"\x00\x13\x37" + encode_frame(Command.CYCLES)).ok
    # Nothing above reached the unit: the weights are the first ones.
    assert np.array_equal(link.run(X), expected)


def test_framing_error_inside_a_frame_is_rejected():
    unit = BinaryMVU(8, 2, 1, 8, mode="acc")
    core = HostLinkCore(unit, clk_freq=CLK, timeout_cycles=100)
    replies = []

    async def bench(ctx):
        frame = encode_frame(Command.LOAD_WEIGHTS, b"\x55\xAA")
        ctx.set(core.o_stream.ready, 1)
        for byte in frame[:5]:
            ctx.set(core.i_stream.valid, 1)
            ctx.set(core.i_stream.payload, byte)
            await ctx.tick().until(core.i_stream.ready)
        ctx.set(core.i_stream.valid, 0)
        ctx.set(core.rx_error, 1)
        await ctx.tick()
        ctx.set(core.rx_error, 0)
        reply = []
        while len(reply) < 7:
            payload, = await ctx.tick().sample(core.o_stream.payload).until(core.o_stream.valid)
            reply.append(payload)
        replies.append(bytes(reply))

    sim = Simulator(core)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    reply = replies[0]
    assert reply[:5] == bytes([0x5A, Command.LOAD_WEIGHTS, Status.FRAMING, 0, 0])
    assert crc16_ccitt(reply[1:]) == 0


class SilentPort:
    name = "silent"

    def write(self, data):
        return len(data)

    def read(self, size=1):
        return b""

    def reset_input_buffer(self):
        pass

    def close(self):
        pass


def test_host_errors_are_one_line():
    with pytest.raises(LinkError, match="no answer from the board on silent"):
        HostLink(SilentPort()).ident()
    with pytest.raises(LinkError, match="cannot open serial port /dev/bitmac-none"):
        HostLink("/dev/bitmac-none")


def test_bad_parameters():
    assert uart_divisor(12_000_000, 115200) == 104
    with pytest.raises(ValueError, match="at least 4 cycles per bit"):
        uart_divisor(1_000_000, 500_000)
    with pytest.raises(ValueError, match="off"):
        uart_divisor(1_000_000, 220_000)
    unit = BinaryMVU(64, 8, 8, 8)
    with pytest.raises(ValueError, match="one vector must fit"):
        link_layout(unit, buffer_beats=4)
    with pytest.raises(ValueError, match="LEN field"):
        link_layout(unit, buffer_beats=70000)
    with pytest.raises(ValueError, match="design must be one of"):
        make_board_top("ternary", {}, clk_freq=CLK)
    with pytest.raises(ValueError, match="shorter than two characters"):
        BoardTop(unit, CLK, BAUD, timeout_cycles=10)


def test_run_command_on_the_simulated_board(capsys):
    from bitmac.cli import main
    code = main(["run", "--port", "sim", "--design", "binary", "--mode", "threshold",
                 "--n-in", "24", "--n-out", "4", "--pe", "2", "--simd", "8", "--vectors", "5",
                 "--seed", "3"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS: all 20 results (480 MACs) match the golden model" in out
    assert "MACs/cycle (ideal 16" in out


def test_run_command_errors_are_one_line(capsys):
    from bitmac.cli import main
    assert main(["run", "--port", "/dev/bitmac-none"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("bitmac run: cannot open serial port /dev/bitmac-none")
    assert "\n" not in err


def test_core_with_byte_stalls_reset_mid_frame_and_stalled_unit():
    """The link core alone on byte streams with random stalls both ways (reply back-pressure
    included); a reset in the middle of a frame; a unit left waiting by a partial weight load
    is reset by the watchdog and the link recovers."""
    from amaranth.hdl import ClockDomain
    from bitmac.boards.host import Reply
    from bitmac.sim.streams import StreamDriver, StreamReceiver

    rng = np.random.default_rng(6)
    n_in, n_out, pe, simd = 12, 4, 2, 4
    unit = BinaryMVU(n_in, n_out, pe, simd, mode="acc")
    core = HostLinkCore(unit, clk_freq=CLK, timeout_cycles=200)
    m = Module()
    m.domains.sync = domain = ClockDomain()
    m.submodules.core = core
    info = {"kind": "binary", "mode": "acc", "simd": simd, "pe": pe,
            "acc_width": unit.acc_width}
    sizes = core.layout["bytes"]

    def beats(matrix, stream):
        lanes = np.zeros((matrix.shape[0], core.layout["sf"] * simd), dtype=np.int64)
        lanes[:, :n_in] = matrix == 1
        lanes = lanes.reshape(-1, simd)
        return pack_beats([lanes[:, j] for j in range(simd)], stream_fields(info, stream),
                          sizes[stream])

    W1, W2 = pm1(rng, (n_out, n_in)), pm1(rng, (n_out, n_in))
    X = pm1(rng, (7, n_in))
    run_frame = encode_frame(Command.RUN, beats(X, "i"))
    replies = []

    async def exchange(ctx, frame):
        await StreamDriver(core.i_stream, rng=rng, stall=0.3).send(ctx, frame)
        receiver = StreamReceiver(core.o_stream, rng=rng, stall=0.3)
        header = bytes(await receiver.receive(ctx, 5))
        rest = bytes(await receiver.receive(ctx, header[3] + 256 * header[4] + 2))
        assert header[0] == 0x5A and crc16_ccitt(header[1:] + rest) == 0
        replies.append(Reply(header[1], header[2], rest[:-2]))
        return replies[-1]

    async def bench(ctx):
        assert (await exchange(ctx, encode_frame(Command.IDENT))).payload == core.ident
        load_w1 = encode_frame(Command.LOAD_WEIGHTS, b"\x00" + beats(W1, "w"))
        assert (await exchange(ctx, load_w1)).ok
        first = await exchange(ctx, run_frame)
        # Half a RUN frame, then a reset: the next frame is parsed from scratch.
        await StreamDriver(core.i_stream).send(ctx, run_frame[:len(run_frame) // 2])
        ctx.set(domain.rst, 1)
        await ctx.tick()
        ctx.set(domain.rst, 0)
        second = await exchange(ctx, run_frame)
        # A partial load (valid frame) leaves the unit waiting; RUN trips the watchdog.
        partial = beats(W2, "w")[:3 * sizes["w"]]
        assert (await exchange(ctx, encode_frame(Command.LOAD_WEIGHTS, b"\x00" + partial))).ok
        assert (await exchange(ctx, run_frame)).status == Status.UNIT_STALLED
        load_w2 = encode_frame(Command.LOAD_WEIGHTS, b"\x00" + beats(W2, "w"))
        assert (await exchange(ctx, load_w2)).ok
        third = await exchange(ctx, run_frame)
        for reply, W in ((first, W1), (second, W1), (third, W2)):
            assert reply.ok
            got = unpack_beats(reply.payload, stream_fields(info, "o"), sizes["o"])
            assert np.array_equal(got.reshape(len(X), n_out), binary_expected(X, W))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert len(replies) == 8


@pytest.mark.slow
def test_board_top_takes_the_uart_and_leds_of_a_board():
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    top = make_board_top("binary", {"n_in": 16, "n_out": 4, "pe": 2, "simd": 8},
                         clk_freq=12_000_000)
    assert top.divisor == 104
    plan = ICEBreakerPlatform().prepare(top, name="hostlink_top")
    pcf = plan.files["hostlink_top.pcf"]
    # iCEBreaker: FTDI UART on pins 6 (rx) and 9 (tx), red and green user LEDs.
    for net, pin in (("uart_0__rx", "6"), ("uart_0__tx", "9"), ("led_0", "11"),
                     ("led_1", "37")):
        assert f"set_io {net}__io {pin}" in pcf or f"set_io {net} {pin}" in pcf, pcf
