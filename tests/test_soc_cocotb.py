"""The whole SoC (`Soc`: UART + `SocCore`) as Verilog under cocotb, driven at bit level by
cocotbext-uart (tests/cocotb/tb_soc.py): identify and registers, matvec, coupler samples
and raw noise, block moments, the compact sample stream, a stopped run, bad frames and random
corruption, every answer checked against the golden `SocModel` (`tritherm.sim.verify.soc_vectors`).

Both simulators run all eight tests (about 10^7 cycles; Icarus takes about a minute).
Icarus needs the simulation Verilog that `tritherm.sim.verify.rtl.verilog_of` writes, with no
combinational `always` block: on Amaranth's behavioural Verilog vvp 11 went round a
zero-delay loop between the executor's and the transmitter's state machines."""

import os
from pathlib import Path

import pytest

from tritherm.firmware.soc import Soc, SocCore
from tritherm.sim.verify import rtl
from tritherm.sim.verify.soc_vectors import SOC_TEST_CONFIG

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")
#: Corruption rounds (a corrupted frame, a pause, the intact frame).
ROUNDS = 30
TOPLEVEL = "soc"


@pytest.mark.parametrize("simulator", rtl.SIMULATORS)
def test_soc_cocotb(simulator):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED}); {simulator}")
    build = rtl.build(rtl.verilog_of(Soc(SOC_TEST_CONFIG), TOPLEVEL), TOPLEVEL, simulator)
    env = {"TRITHERM_SEED": str(SEED), "TRITHERM_ROUNDS": str(ROUNDS)}
    tests, failed = rtl.run_cocotb(build, TOPLEVEL, simulator, "tb_soc",
                                   module_dir=Path(__file__).parent / "cocotb", env=env)
    assert failed == 0, f"{failed} of {tests} cocotb tests failed (seed {SEED})"
    assert tests == 8


@pytest.mark.parametrize("top", [SocCore, Soc], ids=lambda top: top.__name__)
def test_soc_verilog_is_lint_clean(top, tmp_path):
    """`verilator --lint-only -Wall` with the project's documented waivers."""
    path = tmp_path / "soc.v"
    path.write_text(rtl.verilog_of(top(SOC_TEST_CONFIG), "soc"))
    clean, messages = rtl.lint(path)
    assert clean, messages
