"""cocotb on the generated Verilog of Int8MVU (acc and requant) against golden.int8_gemm and
golden.int8_dense: two weight loads, random stalls on every stream, a mid-run reset.

Volume per run: 2 configurations x 2 x 40 vectors x 100 x 16 = about 256k golden-checked
int8 MACs.
"""

import pytest

from bitmac.hdl.int8_mvu import Int8MVU
from bitmac.sim.cocotb_runner import run_bench


@pytest.mark.slow
@pytest.mark.parametrize("sizes, reset_at_vector", [
    (dict(n_in=100, n_out=16, pe=4, simd=16, mode="acc"), 13),
    (dict(n_in=100, n_out=16, pe=4, simd=16, mode="requant"), None),
], ids=["acc-100x16-pe4-simd16-reset", "requant-100x16-pe4-simd16"])
def test_int8_mvu_verilog_matches_golden(sizes, reset_at_vector):
    config = dict(sizes, vectors=40, seed=5, stall=0.25, phases=2,
                  reset_at_vector=reset_at_vector)
    result = run_bench(Int8MVU(**sizes), "int8_mvu", config)
    assert result.passed, result.describe()
    assert result["vectors"] == 80
    assert result["macs"] >= 80 * sizes["n_in"] * sizes["n_out"]
    if reset_at_vector is not None:
        assert result["reset"]["input_beats_in_flight"] > 0
