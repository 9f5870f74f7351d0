"""cocotb benches that check bitmac's generated Verilog against the golden models.

Each module is a cocotb test module run by :func:`bitmac.sim.cocotb_runner.run_bench` (never
imported by hand): ``popcount``, ``int8_mac``, ``binary_mvu`` and ``int8_mvu``. They are built
from the parts in :mod:`.harness` (stream source and sink with random stalls, in-order
scoreboard, clocked loop, report) plus a model on :mod:`bitmac.golden` each.
"""

__all__ = ["BENCHES"]

#: Bench module for each design name of :data:`bitmac.sim.verilog.DESIGNS`.
BENCHES = {"popcount": "popcount", "int8-mac": "int8_mac", "binary": "binary_mvu",
           "int8": "int8_mvu"}
