"""The ternary array as Verilog under cocotb, on Icarus Verilog and on Verilator."""

import os
from pathlib import Path

import pytest

from tritherm.hdl.ternary import TernaryArray
from tritherm.sim.verify import rtl
from tritherm.sim.verify.ternary_vectors import COCOTB_SHAPES, shape_id, shape_to_text

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")


@pytest.mark.parametrize("simulator", rtl.SIMULATORS)
@pytest.mark.parametrize("shape", COCOTB_SHAPES, ids=shape_id)
def test_ternary_array_cocotb(simulator, shape):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    build = rtl.build(rtl.verilog_of(TernaryArray(shape), "ternary_array"), "ternary_array",
                      simulator)
    tests, failed = rtl.run_cocotb(
        build, "ternary_array", simulator, "tb_ternary",
        module_dir=Path(__file__).parent / "cocotb",
        env={"TRITHERM_SHAPE": shape_to_text(shape), "TRITHERM_SEED": str(SEED),
             "TRITHERM_CASES": "70"})
    assert tests == 2 and failed == 0, f"{failed} of {tests} cocotb tests failed (seed {SEED})"
