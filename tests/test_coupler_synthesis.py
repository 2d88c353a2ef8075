"""The coupler's products map to DSP blocks on both FPGA families (yosys)."""

import pytest

from tritherm.boards.synth import yosys_cell_counts
from tritherm.hdl.thermo import Coupler

pytestmark = pytest.mark.xdist_group("fpga")

DSP_CELL = {"ice40": "SB_MAC16", "ecp5": "MULT18X18D"}


@pytest.mark.parametrize("family", sorted(DSP_CELL))
def test_coupler_products_infer_dsps(family, tmp_path):
    """Every multiplier of the core (2 MACs + the 2 update ones, `Coupler.dsp_count`) is a
    DSP cell, none is left as a soft ``$mul``; the multiplier-free CLT shaper keeps the
    noise source's own (the ICDF interpolation) out of the count."""
    core = Coupler(cells=4, multipliers=2, shaper="clt")
    cells = yosys_cell_counts(core, family, dsp=True, workdir=tmp_path)
    assert cells.get(DSP_CELL[family], 0) == core.dsp_count == 4, cells
    assert "$mul" not in cells and "$__MUL16X16" not in cells, cells
