"""Verilog export and port map (bitmac.sim.verilog, `bitmac verilog`)."""

import json
import re

import pytest
from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from bitmac.cli import main
from bitmac.hdl.int8_mac import Int8Mac
from bitmac.hdl.popcount import Popcount
from bitmac.sim.verilog import port_map, ports_path_for, write_verilog


class _StructPassThrough(wiring.Component):
    """A registered stream stage with a struct payload in and an array payload out.

    Members
    -------
    i_stream : In(stream.Signature(...))
        Input.
    """

    def __init__(self):
        super().__init__({
            "i_stream": In(stream.Signature(data.StructLayout(
                {"threshold": signed(10), "invert": unsigned(1)}))),
            "o_stream": Out(stream.Signature(data.ArrayLayout(signed(8), 3))),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.i_stream.ready.eq(~self.o_stream.valid | self.o_stream.ready)
        with m.If(self.i_stream.ready):
            m.d.sync += [self.o_stream.valid.eq(self.i_stream.valid),
                         self.o_stream.payload[0].eq(self.i_stream.payload.threshold)]
        return m


def test_port_map_lists_every_verilog_port_with_payload_fields(tmp_path):
    verilog_path, ports_path = write_verilog(_StructPassThrough(), tmp_path / "stage.v")
    assert ports_path == ports_path_for(verilog_path) == tmp_path / "stage.ports.json"
    text = verilog_path.read_text()
    header = re.search(r"module stage\(([^)]*)\)", text).group(1)
    verilog_ports = {name.strip() for name in header.split(",")}
    document = json.loads(ports_path.read_text())
    ports = {entry["port"]: entry for entry in document["ports"]}
    assert set(ports) == verilog_ports
    for name, entry in ports.items():
        declared = re.search(rf"(input|output) (?:\[(\d+):0\] )?{name};", text)
        assert declared, name
        assert entry["direction"] == declared.group(1)
        assert entry["width"] == (int(declared.group(2)) + 1 if declared.group(2) else 1)
        assert entry["meaning"]
    assert ports["i_stream__payload"]["fields"] == [
        {"name": "threshold", "offset": 0, "width": 10, "signed": True},
        {"name": "invert", "offset": 10, "width": 1, "signed": False}]
    assert [field["offset"] for field in ports["o_stream__payload"]["fields"]] == [0, 8, 16]
    assert ports["i_stream__ready"]["direction"] == "output"
    assert ports["o_stream__ready"]["direction"] == "input"


def test_port_meanings_come_from_the_component_docstring():
    from bitmac.sim.verilog import verilog_text
    unit = Int8Mac(acc_width=24)
    ports = {entry["port"]: entry for entry in port_map(unit, verilog_text(unit, "mac"))}
    assert ports["acc"]["width"] == 24 and ports["acc"]["signed"]
    assert "running sum" in ports["acc"]["meaning"]
    assert ports["a"]["direction"] == "input"


def test_combinational_unit_has_no_clock_ports():
    from bitmac.sim.verilog import verilog_text
    unit = Popcount(8, stage_levels=None)
    names = [entry["port"] for entry in port_map(unit, verilog_text(unit, "pc"))]
    assert "clk" not in names and "rst" not in names and "data" in names


@pytest.mark.parametrize("design, extra", [
    ("popcount", ["--width", "48"]),
    ("int8-mac", ["--acc-width", "24"]),
    ("binary", ["--n-in", "100", "--n-out", "16", "--pe", "4", "--simd", "32",
                "--mode", "threshold"]),
])
def test_cli_writes_verilog_and_port_map(tmp_path, capsys, design, extra):
    out = tmp_path / "unit.v"
    assert main(["verilog", "--design", design, "-o", str(out), *extra]) == 0
    assert "module unit(" in out.read_text()
    document = json.loads((tmp_path / "unit.ports.json").read_text())
    assert document["design"] == design and document["module"] == "unit"
    assert document["timing"]["latency"] >= 1
    assert str(out) in capsys.readouterr().out


def test_binary_mvu_port_map_has_threshold_fields_and_timing(tmp_path):
    from bitmac.hdl.binary_mvu import BinaryMVU
    unit = BinaryMVU(100, 16, 4, 32, mode="threshold")
    _, ports_path = write_verilog(unit, tmp_path / "bmvu.v")
    document = json.loads(ports_path.read_text())
    ports = {entry["port"]: entry for entry in document["ports"]}
    width = unit.acc_width
    assert ports["t_stream__payload"]["fields"] == [
        {"name": "threshold", "offset": 0, "width": width, "signed": True},
        {"name": "invert", "offset": width, "width": 1, "signed": False}]
    assert ports["i_stream__payload"]["width"] == 32
    assert ports["o_stream__payload"]["width"] == 4
    assert document["timing"]["acc_width"] == width
    assert document["timing"]["latency"] == unit.latency


def test_cli_rejects_bad_sizes_on_one_line(tmp_path, capsys):
    code = main(["verilog", "--design", "binary", "--n-out", "64", "--pe", "3",
                 "-o", str(tmp_path / "x.v")])
    assert code == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "pe must divide" in error


def test_cli_packed_int8_writes_sb_mac16_only_when_asked(tmp_path):
    out = tmp_path / "packed.v"
    sizes = ["--n-in", "20", "--n-out", "4", "--pe", "2", "--simd", "4", "--packed"]
    assert main(["verilog", "--design", "int8", "-o", str(out), *sizes]) == 0
    assert "SB_MAC16" not in out.read_text()          # the behavioural model
    assert main(["verilog", "--design", "int8", "-o", str(out), *sizes, "--dsp-primitive"]) == 0
    assert out.read_text().count("SB_MAC16 ") == 4    # pe * ceil(simd / 2)


@pytest.mark.parametrize("args, message", [
    (["--design", "binary", "--packed"], "--packed applies to int8 and int8-mac, not binary"),
    (["--design", "int8", "--dsp-primitive"], "--dsp-primitive needs --packed"),
    (["--design", "int8", "--packed", "--simd", "1"], "needs simd >= 2"),
])
def test_cli_packed_errors_are_one_line(tmp_path, capsys, args, message):
    assert main(["verilog", *args, "-o", str(tmp_path / "x.v")]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and message in error
