"""`bitmac sim`: random regression on the Amaranth simulator and on Verilator, waveforms,
and the one-line errors."""

import re

import pytest

from bitmac.cli import main


SUMMARY = re.compile(r"(\d+) vectors, ([\d,]+) MACs checked, ([\d,]+) cycles, "
                     r"([\d,]+) cycles/s, (\d+) mismatches")


def _summary(out):
    match = SUMMARY.search(out.strip().splitlines()[-1])
    assert match, out
    vectors, macs, cycles, _, mismatches = match.groups()
    return int(vectors), int(macs.replace(",", "")), int(cycles.replace(",", "")), \
        int(mismatches)


@pytest.mark.parametrize("design, mode", [("binary", "threshold"), ("int8", "requant")])
def test_amaranth_regression_passes_with_vcd(tmp_path, capsys, design, mode):
    waves = tmp_path / "run.vcd"
    code = main(["sim", "--design", design, "--mode", mode, "--simulator", "amaranth",
                 "--n-in", "20", "--n-out", "8", "--pe", "4", "--simd", "8",
                 "--vectors", "4", "--seed", "2", "--waves", str(waves)])
    out = capsys.readouterr().out
    assert code == 0, out
    vectors, macs, cycles, mismatches = _summary(out)
    assert (vectors, macs, mismatches) == (4, 4 * 20 * 8, 0)
    assert cycles >= 4 * 2 * 3  # NF * SF cycles per vector at least
    assert waves.stat().st_size > 1000 and str(waves) in out


@pytest.mark.slow
def test_verilator_regression_with_vcd_waves(tmp_path, capsys):
    waves = tmp_path / "run.vcd"
    code = main(["sim", "--design", "binary", "--simulator", "verilator", "--n-in", "70",
                 "--n-out", "8", "--pe", "2", "--simd", "32", "--vectors", "30",
                 "--waves", str(waves)])
    out = capsys.readouterr().out
    assert code == 0, out
    vectors, macs, _, mismatches = _summary(out)
    assert (vectors, macs, mismatches) == (30, 30 * 70 * 8, 0)
    assert waves.exists() and waves.stat().st_size > 0


@pytest.mark.parametrize("simulator", ["amaranth", "verilator"])
def test_packed_int8_regression(capsys, simulator):
    # Verilator runs the SB_MAC16 instances with Yosys's model; Amaranth the behavioural one.
    code = main(["sim", "--design", "int8", "--packed", "--simulator", simulator,
                 "--n-in", "19", "--n-out", "6", "--pe", "3", "--simd", "5",
                 "--vectors", "8", "--seed", "4"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "int8 acc packed on " + simulator in out
    vectors, macs, _, mismatches = _summary(out)
    assert (vectors, macs, mismatches) == (8, 8 * 19 * 6, 0)


def test_verilator_fst_without_lz4_is_one_line(monkeypatch, tmp_path, capsys):
    import bitmac.sim.cocotb_runner as runner
    monkeypatch.setattr(runner, "verilator_fst_supported", lambda: False)
    code = main(["sim", "--design", "binary", "--vectors", "4", "--waves",
                 str(tmp_path / "x.fst")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "liblz4-dev" in err


def test_missing_icarus_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    code = main(["sim", "--design", "binary", "--simulator", "icarus", "--vectors", "4"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and "apt install iverilog" in err


@pytest.mark.parametrize("argv, message", [
    (["--design", "binary", "--mode", "requant"], "mode must be one of"),
    (["--design", "int8", "--pe", "3"], "pe must divide"),
    (["--design", "binary", "--simulator", "amaranth", "--waves", "x.fst"], "VCD"),
    (["--design", "binary", "--vectors", "1"], "vectors must be"),
    (["--design", "binary", "--packed"], "packed applies to the int8 design"),
])
def test_bad_arguments_are_one_line(capsys, argv, message):
    assert main(["sim", *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
