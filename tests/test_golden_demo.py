"""`bitmac demo` on the golden models: the table, the exit status on a mismatch, bad shapes."""

import subprocess
import sys

import numpy as np

from bitmac.cli import main
from bitmac.commands import demo


def test_demo_checks_both_gemms_and_passes(capsys):
    assert main(["demo", "--golden-only", "--shape", "5", "130", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "binary GEMM" in out and "int8 GEMM" in out
    assert out.count("15/15 ok") == 2
    assert "all outputs agree" in out


def test_demo_fails_on_a_wrong_result(monkeypatch, capsys):
    # A golden model that is off by one in one output must make the demo exit 1.
    real_gemm = demo.int8_gemm

    def off_by_one(a, w):
        result = real_gemm(a, w)
        result[-1, -1] += 1
        return result

    monkeypatch.setattr(demo, "int8_gemm", off_by_one)
    assert main(["demo", "--golden-only", "--shape", "4", "64", "4"]) == 1
    out = capsys.readouterr().out
    assert "15/16 MISMATCH" in out and "mismatch in: int8 GEMM" in out


def test_demo_results_count_every_output():
    results = demo.golden_gemm_checks(7, 65, 9, seed=3)
    assert [r.total for r in results] == [63, 63]
    assert all(r.passed and r.macs == 7 * 65 * 9 for r in results)
    assert np.isfinite([r.seconds for r in results]).all()


def test_demo_rejects_a_bad_shape_in_one_line():
    result = subprocess.run([sys.executable, "-m", "bitmac", "demo", "--shape", "0", "8", "8"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "bitmac demo: M must be >= 1, got 0"
