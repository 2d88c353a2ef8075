"""`SocConfig`: what one SoC holds and how fast it runs (no Amaranth import).

The board catalog gives each board one; the gateware (`tritherm.firmware.soc`) elaborates
from it, `identify` reports it back, and the host driver checks a board against it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tritherm.formats import (COUPLER_MAX_CELLS, SHAPER_SAMPLES, TernaryArrayShape,
                              moment_terms)

__all__ = ["SocConfig", "DEFAULT_BAUD", "SIM_SOC_CONFIG", "MOMENTS_MAX_CELLS"]

#: Serial rate of every board's SoC: exact from 12/24/48 MHz and 25/50 MHz clocks, within
#: reach of the FT2232H (iCEBreaker) and FT231X (ULX3S) USB-UARTs.
DEFAULT_BAUD = 1_000_000

#: Most cells a SoC with moments may have: a MOMENTS answer (8 bytes a sum, 11 bytes of
#: head and status, 8 bytes of flags per 64 cells) must fit a 16-bit length.
MOMENTS_MAX_CELLS = max(n for n in range(2, COUPLER_MAX_CELLS + 1)
                        if 3 + 8 * -(-n // 64) + 8 * moment_terms(n) <= 0xFFFF)


@dataclass(frozen=True)
class SocConfig:
    """Sizes and clocks of one SoC.

    Attributes
    ----------
    array : TernaryArrayShape
        The ternary MAC array (lanes, inputs per cycle, max K).
    cells, multipliers : int
        The coupler's cells and A x multipliers (a power of two dividing ``cells``).
    shaper : str
        The noise source's Gaussian shaper, ``"clt"`` or ``"icdf"``.
    quartic : bool
        The coupler has the quartic pre-pass (``Coupler(quartic=...)``); a host refuses a
        program with a quartic term on a SoC without it.
    clock_hz : float
        The design clock (after the board's PLL).
    baud : int
        Serial rate of the UART.
    moments : bool
        The SoC accumulates block moments on chip (`tritherm.hdl.thermo.CouplerMoments`,
        COUPLER_MOMENTS): one more DSP and a few hundred logic cells; left out where they
        do not fit (the iCE40UP5K).
    stream : bool
        The SoC has the compact sample stream (COUPLER_STREAM: SAMPLES frames of x only).
    """

    array: TernaryArrayShape
    cells: int = 8
    multipliers: int = 4
    shaper: str = "icdf"
    clock_hz: float = 24e6
    quartic: bool = True
    baud: int = DEFAULT_BAUD
    moments: bool = False
    stream: bool = False

    def __post_init__(self):
        if not isinstance(self.array, TernaryArrayShape):
            raise ValueError(f"array must be a TernaryArrayShape, got {self.array!r}")
        if not isinstance(self.cells, int) or not 2 <= self.cells <= COUPLER_MAX_CELLS:
            raise ValueError(f"cells must be an integer in [2, {COUPLER_MAX_CELLS}], "
                             f"got {self.cells!r}")
        m = self.multipliers
        if not isinstance(m, int) or m < 1 or m & (m - 1) or self.cells % m:
            raise ValueError(f"multipliers must be a power of two that divides "
                             f"cells={self.cells}, got {m!r}")
        if self.shaper not in SHAPER_SAMPLES:
            raise ValueError(f"shaper must be one of {', '.join(SHAPER_SAMPLES)}, "
                             f"got {self.shaper!r}")
        if not isinstance(self.quartic, bool):
            raise ValueError(f"quartic must be True or False, got {self.quartic!r}")
        if not isinstance(self.moments, bool):
            raise ValueError(f"moments must be True or False, got {self.moments!r}")
        if not isinstance(self.stream, bool):
            raise ValueError(f"stream must be True or False, got {self.stream!r}")
        if self.moments and self.cells > MOMENTS_MAX_CELLS:
            raise ValueError(f"a SoC with moments holds at most {MOMENTS_MAX_CELLS} cells "
                             f"(a block's sums must fit one answer), got {self.cells}")
        if not self.clock_hz > 0 or not self.baud > 0:
            raise ValueError("clock_hz and baud must be positive")

    def with_(self, **changes) -> SocConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)


#: The SoC the simulation transport and the tests run: a small array beside the SPU's 8 cells.
SIM_SOC_CONFIG = SocConfig(array=TernaryArrayShape(lanes=4, inputs=5, max_k=60), cells=8,
                           multipliers=4, shaper="icdf", clock_hz=24e6, moments=True,
                           stream=True)
