"""Simulation: Amaranth simulator helpers, Verilog export, cocotb runners and benches."""
