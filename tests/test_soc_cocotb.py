"""The whole SoC (`Soc`: UART + `SocCore`) as Verilog under cocotb, driven at bit level by
cocotbext-uart (tests/cocotb/tb_soc.py): identify and registers, matvec, coupler samples
and raw noise, a stopped run, bad frames and random corruption, every answer checked
against the golden `SocModel` (`tritherm.sim.soc_vectors`).

Verilator runs all six tests (about 10^7 cycles). Icarus Verilog is opt-in
(TRITHERM_SOC_ICARUS=subset: the register and bad-frame tests; =full: all six): since the
simulation Verilog became `always_comb` (sim/rtl.py), vvp 11 spins at one time step once
the executor offers a frame header to the transmitter (a zero-delay re-evaluation between
their state machines' blocks; Verilator and yosys find no combinational loop), so a
default run would hang the suite."""

import os
from pathlib import Path

import pytest

from tritherm.firmware.soc import Soc, SocCore
from tritherm.sim import rtl
from tritherm.sim.soc_vectors import SOC_TEST_CONFIG

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")
#: Corruption rounds (a corrupted frame, a pause, the intact frame).
ROUNDS = 30
TOPLEVEL = "soc"


#: The tests Icarus runs unless TRITHERM_SOC_ICARUS=full.
ICARUS_TESTS = "soc_identify_and_registers,soc_bad_frames"


@pytest.mark.parametrize("simulator", rtl.SIMULATORS)
def test_soc_cocotb(simulator):
    icarus = os.environ.get("TRITHERM_SOC_ICARUS", "")
    if simulator == "icarus" and icarus not in ("subset", "full"):
        pytest.skip("Icarus is opt-in for the SoC (TRITHERM_SOC_ICARUS=subset or full): "
                    "vvp spins on the always_comb Verilog (see the module docstring)")
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED}); {simulator}")
    subset = simulator == "icarus" and icarus != "full"
    build = rtl.build(rtl.verilog_of(Soc(SOC_TEST_CONFIG), TOPLEVEL), TOPLEVEL, simulator)
    env = {"TRITHERM_SEED": str(SEED), "TRITHERM_ROUNDS": str(ROUNDS)}
    if subset:
        env["TRITHERM_SOC_TESTS"] = ICARUS_TESTS
    tests, failed = rtl.run_cocotb(build, TOPLEVEL, simulator, "tb_soc",
                                   module_dir=Path(__file__).parent / "cocotb", env=env)
    assert failed == 0, f"{failed} of {tests} cocotb tests failed (seed {SEED})"
    assert tests == 6


@pytest.mark.parametrize("top", [SocCore, Soc], ids=lambda top: top.__name__)
def test_soc_verilog_is_lint_clean(top, tmp_path):
    """`verilator --lint-only -Wall` with the project's documented waivers."""
    path = tmp_path / "soc.v"
    path.write_text(rtl.verilog_of(top(SOC_TEST_CONFIG), "soc"))
    clean, messages = rtl.lint(path)
    assert clean, messages
