"""Golden models and simulation drivers (Amaranth simulator, cocotb on Icarus/Verilator)."""
