"""bench/golden.py runs end to end on a tiny shape and writes its JSON (no timing is asserted:
performance is measured by running the benchmark itself)."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "golden.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_golden", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_writes_table_and_json(tmp_path, capsys):
    output = tmp_path / "golden.json"
    assert load_bench().main(["--shapes", "3x70x5", "2x64x1", "--repeats", "1",
                              "--output", str(output)]) == 0
    table = capsys.readouterr().out
    assert "binary_gemm" in table and "float32" in table and "int8_gemm" in table
    report = json.loads(output.read_text())
    assert [row["shape"] for row in report["rows"]] == [[3, 70, 5]] * 4 + [[2, 64, 1]] * 4
    # Operand bytes: 2 words per packed row, 4 bytes per float32 element, 1 per int8 element.
    assert [row["operand_bytes"] for row in report["rows"][:4]] == \
        [8 * 2 * 8, 8 * 70 * 4, 8 * 70 * 4, 8 * 70]
    assert report["rows"][2]["blas_threads"] == 1
    assert all(row["gmac_per_s"] > 0 for row in report["rows"])
    assert report["rows"][1]["speed_vs_float32_blas"] == 1.0


def test_bench_rejects_a_bad_shape():
    with pytest.raises(SystemExit):
        load_bench().main(["--shapes", "3x0x5"])
