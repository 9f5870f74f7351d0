"""bitmac: binary (XNOR-popcount) and int8 MAC arithmetic side by side, from NumPy golden
models to Amaranth gateware, cocotb-checked Verilog and FPGA bitstreams.

Subpackages
-----------
bitmac.golden  NumPy golden models: the specification of every hardware block.
bitmac.hdl     Amaranth gateware.
bitmac.sim     Amaranth simulator helpers, Verilog export, cocotb runners and benches.
bitmac.boards  Board targets: build, reports, flash, host link.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
