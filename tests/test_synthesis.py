"""Synthesis with the real open toolchain: no multipliers in the ternary array, and a
self-test bitstream for the iCEBreaker that meets timing."""

import pytest

from tritherm.boards.build import build_selftest
from tritherm.boards.synth import MULTIPLIER_CELLS, yosys_cell_counts
from tritherm.formats import TERNARY_VARIANTS, TernaryArrayShape
from tritherm.hdl.ternary import TernaryArray
from tritherm.hdl.ternary.int8_reference import Int8MacArray

pytestmark = pytest.mark.xdist_group("fpga")

FAMILIES = ["ice40", "ecp5"]


def multipliers(cells):
    return {name: n for name, n in cells.items() if name in MULTIPLIER_CELLS}


@pytest.mark.parametrize("variant", TERNARY_VARIANTS)
@pytest.mark.parametrize("family", FAMILIES)
def test_ternary_array_uses_no_multipliers(family, variant, tmp_path):
    """Every variant of the array, mapped with DSP blocks allowed, uses none."""
    shape = TernaryArrayShape(lanes=2, inputs=5, max_k=20, variant=variant)
    cells = yosys_cell_counts(TernaryArray(shape), family, dsp=True, workdir=tmp_path)
    assert sum(cells.values()) > 0
    assert multipliers(cells) == {}


@pytest.mark.parametrize("family", FAMILIES)
def test_int8_control_does_use_multipliers(family, tmp_path):
    """The same check on int8 products finds DSP cells, so the check above can fail."""
    cells = yosys_cell_counts(Int8MacArray(1, 2, 4), family, dsp=True, workdir=tmp_path)
    assert multipliers(cells)


def test_icebreaker_selftest_bitstream(tmp_path):
    lines = []
    report = build_selftest("icebreaker", build_dir=tmp_path, progress=lines.append)
    assert (tmp_path / "selftest.bin").stat().st_size > 0
    assert report.logic.used > 0 and report.ram.used > 0
    assert report.fmax_mhz is not None and report.target_mhz == 12.0
    assert report.timing_met, "\n".join(lines)
    assert any("openFPGALoader" in line for line in lines)
