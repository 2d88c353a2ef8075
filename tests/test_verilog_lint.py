"""`tritherm verilog ternary` writes Verilog that passes `verilator --lint-only -Wall`."""

import pytest

from tritherm.cli import main
from tritherm.sim import rtl
from tritherm.sim.ternary_bench import TEST_SHAPES


@pytest.mark.parametrize("shape", TEST_SHAPES, ids=str)
def test_generated_verilog_is_lint_clean(shape, tmp_path):
    path = tmp_path / "ternary.v"
    assert main(["verilog", "ternary", "--lanes", str(shape.lanes), "--inputs",
                 str(shape.inputs), "--max-k", str(shape.max_k), "-o", str(path)]) == 0
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
