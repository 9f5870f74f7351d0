"""cocotb benches that check bitmac's generated Verilog against the golden models.

Each module is a cocotb test module that :func:`bitmac.sim.cocotb_runner.run_bench` runs inside
the simulator: ``popcount``, ``int8_mac``, ``binary_mvu`` and ``int8_mvu``. They are built from
the parts in :mod:`.harness` (stream source and sink with random stalls, in-order scoreboard,
clocked loop, report) and :mod:`.mvu` (load / vectors / reload / reset sequencing of the
matrix-vector units) plus a model on :mod:`bitmac.golden` each. The stimulus generators
(``binary_phase``, ``int8_phase``) also feed :mod:`bitmac.sim.regression` on the Amaranth
simulator.
"""

__all__ = []
