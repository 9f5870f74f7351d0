# amaranth: UnusedElaboratable=no
"""A whole trained digits network behind the host link, on the simulated board: HostLink ->
simulated serial line -> UART -> HostLinkCore -> NetworkPipeline -> back, bit-exact with the
golden integer inference (output beats and classes); `bitmac run --network`."""

import numpy as np
import pytest

from bitmac.boards.compare import pipeline_timing
from bitmac.boards.host import HostLink, LinkError, encode_frame, network_streams
from bitmac.boards.serial_sim import SimulatedSerial
from bitmac.boards.top import make_board_top, make_network_top
from bitmac.hdl.hostlink import Command, Status
from bitmac.sim import digits

CLK = 24_000_000  # the iCEBreaker's clock; the UART runs at 4 cycles per bit


@pytest.fixture(scope="module")
def split_and_trained():
    split = digits.load_split()
    return split, digits.trained_networks(split=split)


@pytest.mark.slow
def test_binary_network_on_the_simulated_board_is_bit_exact(split_and_trained):
    split, trained = split_and_trained
    top = make_network_top("binary", "icebreaker", clk_freq=CLK, baud=CLK // 4,
                           timeout_cycles=400, trained=trained)
    units = top.unit.units
    images = split.x_test[:3]
    with HostLink(SimulatedSerial(top)) as link:
        info = link.ident()
        assert (len(info["weight_bytes"]), len(info["param_bytes"])) == (3, 2)
        # A load naming a stream the pipeline does not have is rejected, nothing loaded.
        assert link.exchange(encode_frame(Command.LOAD_WEIGHTS, b"\x03\x00")).status == \
            Status.BAD_TARGET
        assert link.exchange(encode_frame(Command.LOAD_PARAMS, b"\x02\x00\x00")).status == \
            Status.BAD_TARGET
        with pytest.raises(ValueError, match="3 LOAD_WEIGHTS target"):
            link.load_beats(Command.LOAD_WEIGHTS, 3, b"\x00")
        link.load_network("binary", trained, units)
        predictions, logits, raw, cycles = link.classify(images)

    golden = network_streams("binary", trained, units, images)
    assert raw == golden.expected
    assert np.array_equal(logits, golden.logits)
    assert np.array_equal(predictions, trained.binary_integer.predict(images))
    # One RUN frame: the pipeline's latency for the first image, then one image per
    # slowest-layer period (plus the link's buffer-read and completion cycles).
    timing = pipeline_timing(units)
    full_rate = timing["latency_cycles"] + (len(images) - 1) * timing["cycles_per_inference"]
    assert full_rate <= cycles <= full_rate + 8


def test_a_board_without_the_network_is_refused(split_and_trained):
    _, trained = split_and_trained
    from bitmac.boards.top import network_units
    units = network_units("binary", "icebreaker", trained)
    top = make_board_top("binary", {"n_in": 64, "n_out": 16, "pe": 4, "simd": 16},
                         clk_freq=1_000_000, baud=250_000, timeout_cycles=400)
    with HostLink(SimulatedSerial(top)) as link:
        with pytest.raises(LinkError, match="does not hold this binary network"):
            link.load_network("binary", trained, units)
        with pytest.raises(LinkError, match="call load_network first"):
            link.classify(np.zeros((1, 64), dtype=np.int64))


@pytest.mark.slow
def test_run_command_classifies_with_the_int8_network(capsys):
    from bitmac.cli import main
    code = main(["run", "--port", "sim", "--network", "int8", "--images", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS: all 2 images bit-exact with the golden inference" in out
    assert "on 2 test images" in out
    assert "steady state 2048" in out
