"""PLL solvers: every board's setting is inside the datasheet ranges and hits its design
clock; hand-derived settings; the nearest setting is found; unreachable targets are one
sentence; the clock-domain top's choices."""

import itertools

import numpy as np
import pytest

from tritherm.boards.catalog import BOARDS
from tritherm.boards.clocking import (Ecp5Pll, Ice40Pll, PllDomain, ecp5_pll, ice40_pll,
                                      pll_primitive, solve_pll)

MHZ = 1e6


def ice40_frequencies(f_in, divr, divf, divq):
    """(pfd, vco, out) of SB_PLL40 in simple feedback (TN1251), written out again."""
    pfd = f_in / (divr + 1)
    vco = pfd * (divf + 1)
    return pfd, vco, vco / 2 ** divq


def ice40_valid(f_in, divr, divf, divq):
    pfd, vco, out = ice40_frequencies(f_in, divr, divf, divq)
    return (0 <= divr <= 15 and 0 <= divf <= 127 and 1 <= divq <= 6
            and 10 * MHZ <= f_in <= 133 * MHZ and 10 * MHZ <= pfd <= 133 * MHZ
            and 533 * MHZ <= vco <= 1066 * MHZ and 16 * MHZ <= out <= 275 * MHZ)


def ecp5_frequencies(f_in, clki_div, clkfb_div, clkop_div):
    """(pfd, vco, out) of EHXPLLL with CLKOP fed back (FPGA-TN-02200), written out again."""
    pfd = f_in / clki_div
    out = pfd * clkfb_div
    return pfd, out * clkop_div, out


def ecp5_valid(f_in, clki_div, clkfb_div, clkop_div):
    pfd, vco, out = ecp5_frequencies(f_in, clki_div, clkfb_div, clkop_div)
    return (1 <= clki_div <= 128 and 1 <= clkfb_div <= 80 and 1 <= clkop_div <= 128
            and 8 * MHZ <= f_in <= 400 * MHZ and 3.125 * MHZ <= pfd <= 400 * MHZ
            and 400 * MHZ <= vco <= 800 * MHZ and 3.125 * MHZ <= out <= 400 * MHZ)


@pytest.mark.parametrize("name", sorted(n for n, b in BOARDS.items() if b.pll is not None))
def test_every_board_pll_is_in_range_and_exact(name):
    board = BOARDS[name]
    pll = board.pll
    assert not pll.violations()
    if board.family == "ice40":
        assert isinstance(pll, Ice40Pll)
        assert ice40_valid(board.clock_hz, pll.divr, pll.divf, pll.divq)
        out = ice40_frequencies(board.clock_hz, pll.divr, pll.divf, pll.divq)[2]
    else:
        assert isinstance(pll, Ecp5Pll)
        assert ecp5_valid(board.clock_hz, pll.clki_div, pll.clkfb_div, pll.clkop_div)
        out = ecp5_frequencies(board.clock_hz, pll.clki_div, pll.clkfb_div, pll.clkop_div)[2]
        assert pll.clkop_cphase == (pll.clkop_div - 1) // 2
    assert out == pll.out_hz == board.design_hz == board.soc.clock_hz


@pytest.mark.parametrize("name", ["icebreaker", "icesugar"])
def test_a_board_without_pll_runs_its_soc_on_the_board_clock(name):
    """Every board's own SoC now runs from its PLL, so the case is built: the iCE40
    boards' SoC at their 12 MHz board clock."""
    from dataclasses import replace

    from tritherm.boards.soc_top import clock_text

    board = replace(BOARDS[name], soc=BOARDS[name].soc.with_(clock_hz=BOARDS[name].clock_hz))
    assert board.design_hz == board.soc.clock_hz == board.clock_hz
    assert board.pll is None and board.pll_for(board.soc.clock_hz) is None
    assert clock_text(board, None) == f"{board.clock_hz / MHZ:g} MHz board clock, no PLL"
    # Another design clock on the same board goes through the PLL again.
    pll = board.pll_for(24 * MHZ)
    assert pll.out_hz == 24 * MHZ and clock_text(board, pll) == str(pll)
    with pytest.raises(ValueError, match="no SB_PLL40 setting makes 16 MHz"):
        board.pll_for(16 * MHZ)


def test_hand_derived_settings():
    # 12 -> 24 MHz on SB_PLL40: the PFD must be >= 10 MHz, so DIVR = 0 (12 MHz). The VCO
    # (533..1066 MHz) must be 24 MHz * 2**DIVQ: only DIVQ = 5 (768 MHz) fits, so
    # DIVF + 1 = 768 / 12 = 64. A 12 MHz PFD is in TN1251's lowest filter band (< 17 MHz).
    pll = ice40_pll(12 * MHZ, 24 * MHZ)
    assert (pll.divr, pll.divf, pll.divq, pll.filter_range) == (0, 63, 5, 1)
    assert pll.vco_hz == 768 * MHZ
    # 12 -> 48 MHz: the same VCO, one division less.
    pll = ice40_pll(12 * MHZ, 48 * MHZ)
    assert (pll.divr, pll.divf, pll.divq) == (0, 63, 4)
    # 25 -> 50 MHz on EHXPLLL: CLKI_DIV = 1 keeps the PFD highest (25 MHz), CLKFB_DIV = 2
    # makes 50 MHz; CLKOP_DIV 8..16 keeps the VCO in 400..800 MHz and 12 puts it in the
    # middle (600 MHz). ecppll's coarse phase for the fed-back output: (12 - 1) // 2 = 5.
    pll = ecp5_pll(25 * MHZ, 50 * MHZ)
    assert (pll.clki_div, pll.clkfb_div, pll.clkop_div, pll.clkop_cphase) == (1, 2, 12, 5)
    assert pll.vco_hz == 600 * MHZ
    params = pll.parameters()
    assert (params["CLKI_DIV"], params["CLKFB_DIV"], params["CLKOP_DIV"],
            params["FEEDBK_PATH"]) == (1, 2, 12, "CLKOP")


def test_unreachable_target_is_one_sentence_with_the_nearest():
    # 16 MHz from 12 MHz: the PFD is 12 MHz (DIVR = 0), so the output is 12 * (DIVF + 1) /
    # 2**DIVQ MHz, never 16. DIVQ = 6, DIVF + 1 = 85 gives 15.9375 MHz, below the 16 MHz
    # output minimum; the nearest valid setting is DIVF + 1 = 86: 16.125 MHz (+0.78 %).
    with pytest.raises(ValueError, match=r"^no SB_PLL40 setting makes 16 MHz from 12 MHz "
                                         r"within 0\.50%: the nearest is 16\.125 MHz "
                                         r"\(\+0\.78%\)$"):
        ice40_pll(12 * MHZ, 16 * MHZ)
    pll = ice40_pll(12 * MHZ, 16 * MHZ, tolerance=0.01)
    assert (pll.divr, pll.divf, pll.divq, pll.out_hz) == (0, 85, 6, 16.125 * MHZ)
    # 48 -> 50 MHz needs a PFD of 2 MHz (48/24 * 25), below the ECP5's 3.125 MHz minimum.
    with pytest.raises(ValueError, match=r"^no EHXPLLL setting makes 50 MHz from 48 MHz"):
        ecp5_pll(48 * MHZ, 50 * MHZ)
    with pytest.raises(ValueError, match=r"SB_PLL40 takes an input clock in \[10 MHz, "
                                         r"133 MHz\], got 5 MHz"):
        ice40_pll(5 * MHZ, 24 * MHZ)
    with pytest.raises(ValueError, match="positive"):
        ecp5_pll(25 * MHZ, 0)
    with pytest.raises(ValueError, match="family must be"):
        solve_pll("gowin", 27 * MHZ, 50 * MHZ)


@pytest.mark.parametrize("f_in,target", [(12 * MHZ, 24 * MHZ), (12 * MHZ, 33.3 * MHZ),
                                         (12 * MHZ, 100 * MHZ), (30 * MHZ, 17 * MHZ)])
def test_ice40_solution_is_the_nearest_valid_setting(f_in, target):
    pll = ice40_pll(f_in, target, tolerance=0.2)
    best = min(abs(ice40_frequencies(f_in, *d)[2] - target)
               for d in itertools.product(range(16), range(128), range(1, 7))
               if ice40_valid(f_in, *d))
    assert abs(pll.out_hz - target) == pytest.approx(best, abs=1)


@pytest.mark.parametrize("f_in,target", [(25 * MHZ, 50 * MHZ), (25 * MHZ, 33.3 * MHZ),
                                         (48 * MHZ, 50 * MHZ), (25 * MHZ, 123.4 * MHZ)])
def test_ecp5_solution_is_the_nearest_valid_setting(f_in, target):
    pll = ecp5_pll(f_in, target, tolerance=0.2)
    clki, fb, op = np.meshgrid(np.arange(1, 129), np.arange(1, 81), np.arange(1, 129),
                               indexing="ij")
    pfd, vco, out = ecp5_frequencies(f_in, clki, fb, op)
    valid = ((pfd >= 3.125 * MHZ) & (pfd <= 400 * MHZ) & (vco >= 400 * MHZ)
             & (vco <= 800 * MHZ) & (out >= 3.125 * MHZ) & (out <= 400 * MHZ))
    best = np.abs(out[valid] - target).min()
    assert abs(pll.out_hz - target) == pytest.approx(best, abs=1)
    assert ecp5_valid(f_in, pll.clki_div, pll.clkfb_div, pll.clkop_div)


def test_pll_domain_primitive_and_validation():
    pll = ice40_pll(12 * MHZ, 24 * MHZ)
    assert pll_primitive(pll, pad=True) == "SB_PLL40_PAD"
    assert pll_primitive(pll, pad=False) == "SB_PLL40_CORE"
    assert pll_primitive(ecp5_pll(25 * MHZ, 50 * MHZ)) == "EHXPLLL"
    with pytest.raises(ValueError, match=r"invalid PLL setting .*VCO 384 MHz outside"):
        PllDomain(Ice40Pll(12 * MHZ, 0, 31, 4), None)      # 12 * 32 = 384 MHz VCO
    with pytest.raises(ValueError, match="pll must be"):
        PllDomain((0, 63, 5), None)
