"""`tritherm verilog ternary` and the I/O cores give Verilog that passes
`verilator --lint-only -Wall`."""

import pytest
from amaranth.back import verilog

from tritherm.cli import main
from tritherm.hdl.io import Crc16, UartRx, UartTx
from tritherm.hdl.ternary import TernaryArray
from tritherm.sim.verify import rtl
from tritherm.sim.verify.ternary_vectors import TEST_GEOMETRIES, TEST_SHAPES, shape_id


@pytest.mark.parametrize("lanes,inputs,max_k", TEST_GEOMETRIES)
def test_generated_verilog_is_lint_clean(lanes, inputs, max_k, tmp_path):
    path = tmp_path / "ternary.v"
    assert main(["verilog", "ternary", "--lanes", str(lanes), "--inputs",
                 str(inputs), "--max-k", str(max_k), "-o", str(path)]) == 0
    clean, messages = rtl.lint(path)
    assert clean, messages


@pytest.mark.parametrize("shape", [s for s in TEST_SHAPES if s.variant != "tree"], ids=shape_id)
def test_array_variants_are_lint_clean(shape, tmp_path):
    """Every variant of the array, written as `tritherm verilog` writes it."""
    path = tmp_path / "ternary.v"
    path.write_text(verilog.convert(TernaryArray(shape), name="ternary_array", emit_src=False))
    clean, messages = rtl.lint(path)
    assert clean, messages


@pytest.mark.parametrize("name,make", [("uart_tx", lambda: UartTx(4)),
                                       ("uart_rx", lambda: UartRx(5)),
                                       ("uart_rx_slow", lambda: UartRx(1 << 16)),
                                       ("crc16", Crc16)])
def test_io_cores_are_lint_clean(name, make, tmp_path):
    """The SoC's UART and CRC-16 cores, at small and large divisors."""
    path = tmp_path / f"{name}.v"
    path.write_text(rtl.verilog_of(make(), name))
    clean, messages = rtl.lint(path)
    assert clean, messages


def test_lint_catches_real_faults(tmp_path):
    # An undriven output and a blocking assignment in a clocked block: faults the
    # waivers must not hide.
    path = tmp_path / "broken.v"
    path.write_text("module broken(input wire clk, input wire a, output reg y, output wire z);\n"
                    "  always @(posedge clk) y = a;\nendmodule\n")
    clean, messages = rtl.lint(path)
    assert not clean
    assert "UNDRIVEN" in messages and "BLKSEQ" in messages, messages
