"""The noise cores as Verilog under cocotb, on Icarus Verilog and on Verilator.

Each bit-exact run checks 10**5 32-bit Threefry words (`Threefry2x32`: 50 000 random
requests; `NoiseSource`: 50 000 blocks, i.e. 50 000 CLT or 100 000 ICDF samples).
"""

import os
from pathlib import Path

import pytest

from tritherm.hdl.noise import NoiseSource, Threefry2x32
from tritherm.sim.verify import rtl

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")
WORDS = 100_000
STREAMS = 8

DESIGNS = {
    "threefry": (lambda: Threefry2x32(20, 1, True), 3),
    "noise-clt": (lambda: NoiseSource(STREAMS, "clt"), 2),
    "noise-icdf": (lambda: NoiseSource(STREAMS, "icdf"), 2),
}


@pytest.mark.parametrize("simulator", rtl.SIMULATORS)
@pytest.mark.parametrize("design", DESIGNS)
def test_noise_cocotb(simulator, design):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    make, expected_tests = DESIGNS[design]
    toplevel = design.replace("-", "_")
    build = rtl.build(rtl.verilog_of(make(), toplevel), toplevel, simulator)
    tests, failed = rtl.run_cocotb(
        build, toplevel, simulator, "tb_noise", module_dir=Path(__file__).parent / "cocotb",
        env={"TRITHERM_DESIGN": design, "TRITHERM_SEED": str(SEED),
             "TRITHERM_WORDS": str(WORDS), "TRITHERM_STREAMS": str(STREAMS)})
    assert failed == 0, f"{failed} of {tests} cocotb tests failed (seed {SEED})"
    assert tests >= expected_tests


@pytest.mark.parametrize("design", list(DESIGNS) + ["seed-source"])
def test_noise_verilog_is_lint_clean(design, tmp_path):
    """`verilator --lint-only -Wall` with the project's documented waivers."""
    from tritherm.hdl.noise import SeedSource
    make = DESIGNS[design][0] if design in DESIGNS else (lambda: SeedSource(raw_input=True))
    path = tmp_path / "noise.v"
    path.write_text(rtl.verilog_of(make(), design.replace("-", "_")))
    clean, messages = rtl.lint(path)
    assert clean, messages
