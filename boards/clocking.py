"""PLLs from a board clock to the design clock: parameter solvers and a clock-domain top.

`ice40_pll` and `ecp5_pll` search every divider setting the datasheets allow and return the
one nearest the target (a `ValueError` sentence when none is within tolerance). The ranges
are the ones Lattice publishes:

iCE40 ``SB_PLL40`` (iCE40 sysCLOCK PLL Design and Usage Guide, TN1251; iCE40 UltraPlus
family data sheet, sysCLOCK PLL timing), simple feedback path::

    f_pfd = f_in / (DIVR + 1)                   10 ..  133 MHz   DIVR 0 .. 15
    f_vco = f_pfd * (DIVF + 1)                 533 .. 1066 MHz   DIVF 0 .. 127
    f_out = f_vco / 2**DIVQ                     16 ..  275 MHz   DIVQ 1 .. 6
    f_in                                        10 ..  133 MHz

FILTER_RANGE follows the guide's table of loop-filter settings by PFD frequency.

ECP5 ``EHXPLLL`` (ECP5 and ECP5-5G sysCLOCK PLL/DLL Design and Usage Guide, FPGA-TN-02200;
ECP5 family data sheet), CLKOP fed back (``FEEDBK_PATH="CLKOP"``)::

    f_pfd = f_in / CLKI_DIV                   3.125 .. 400 MHz   CLKI_DIV  1 .. 128
    f_out = f_pfd * CLKFB_DIV                 3.125 .. 400 MHz   CLKFB_DIV 1 .. 80
    f_vco = f_out * CLKOP_DIV                   400 .. 800 MHz   CLKOP_DIV 1 .. 128
    f_in                                          8 .. 400 MHz

Among settings equally near the target the solvers prefer the highest PFD frequency (less
jitter, the guides' advice) and then the VCO nearest the middle of its range.

`PllDomain` instantiates the primitive (``SB_PLL40_PAD`` when the board clock arrives on
the PLL's own pad, as on the iCEBreaker and iCESugar, ``SB_PLL40_CORE`` otherwise;
``EHXPLLL`` on ECP5), clocks a domain with its output and holds that domain in reset
until the PLL locks. nextpnr derives the output clock's constraint from the primitive's
parameters (an explicit one on the output net would not survive yosys' renaming).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from amaranth.hdl import ClockSignal, Const, Elaboratable, Instance, Module, Signal
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer

__all__ = ["Ice40Pll", "Ecp5Pll", "ice40_pll", "ecp5_pll", "solve_pll", "PllDomain",
           "pll_primitive", "ICE40_LIMITS", "ECP5_LIMITS", "DEFAULT_TOLERANCE"]

#: Largest relative distance from the target a solver accepts by default.
DEFAULT_TOLERANCE = 0.005

_MHZ = 1e6


@dataclass(frozen=True)
class _Limits:
    """Frequency ranges in Hz and divider ranges (inclusive) of one PLL."""

    f_in: tuple[float, float]
    pfd: tuple[float, float]
    vco: tuple[float, float]
    out: tuple[float, float]
    dividers: dict


#: SB_PLL40 (simple feedback) ranges, from TN1251 and the UltraPlus data sheet.
ICE40_LIMITS = _Limits(f_in=(10 * _MHZ, 133 * _MHZ), pfd=(10 * _MHZ, 133 * _MHZ),
                       vco=(533 * _MHZ, 1066 * _MHZ), out=(16 * _MHZ, 275 * _MHZ),
                       dividers={"divr": (0, 15), "divf": (0, 127), "divq": (1, 6)})
#: EHXPLLL (CLKOP feedback) ranges, from FPGA-TN-02200 and the ECP5 data sheet.
ECP5_LIMITS = _Limits(f_in=(8 * _MHZ, 400 * _MHZ), pfd=(3.125 * _MHZ, 400 * _MHZ),
                      vco=(400 * _MHZ, 800 * _MHZ), out=(3.125 * _MHZ, 400 * _MHZ),
                      dividers={"clki_div": (1, 128), "clkfb_div": (1, 80),
                                "clkop_div": (1, 128)})

#: TN1251's loop filter setting by PFD frequency: FILTER_RANGE n for f_pfd below the n-th
#: bound (MHz), 6 above the last.
_ICE40_FILTER_BOUNDS = (17, 26, 44, 66, 101)


def _inside(value: float, bounds: tuple[float, float]) -> bool:
    # A part-per-billion slack so that exact settings at a range's edge are not lost to
    # floating-point rounding.
    low, high = bounds
    return low * (1 - 1e-9) <= value <= high * (1 + 1e-9)


def _mhz(hz: float) -> str:
    return f"{hz / _MHZ:.6g} MHz"


@dataclass(frozen=True)
class Ice40Pll:
    """One SB_PLL40 setting (simple feedback) and the frequencies it gives."""

    f_in: float
    divr: int
    divf: int
    divq: int

    @property
    def pfd_hz(self) -> float:
        """Phase detector frequency: the reference after DIVR."""
        return self.f_in / (self.divr + 1)

    @property
    def vco_hz(self) -> float:
        """VCO frequency: the PFD times DIVF + 1."""
        return self.pfd_hz * (self.divf + 1)

    @property
    def out_hz(self) -> float:
        """The achieved output frequency."""
        return self.vco_hz / 2 ** self.divq

    @property
    def filter_range(self) -> int:
        """FILTER_RANGE for this PFD frequency (TN1251)."""
        pfd_mhz = self.pfd_hz / _MHZ
        return next((n for n, bound in enumerate(_ICE40_FILTER_BOUNDS, 1) if pfd_mhz < bound),
                    len(_ICE40_FILTER_BOUNDS) + 1)

    def violations(self) -> list[str]:
        """The ranges this setting breaks (empty when it is valid)."""
        return _violations(self, ICE40_LIMITS)

    def parameters(self) -> dict:
        """The primitive's parameters, for an ``Instance`` (``p_`` prefix added there)."""
        return dict(FEEDBACK_PATH="SIMPLE", DIVR=self.divr, DIVF=self.divf, DIVQ=self.divq,
                    FILTER_RANGE=self.filter_range, PLLOUT_SELECT="GENCLK")

    def __str__(self):
        return (f"SB_PLL40 DIVR={self.divr} DIVF={self.divf} DIVQ={self.divq} "
                f"FILTER_RANGE={self.filter_range}: {_mhz(self.f_in)} -> {_mhz(self.out_hz)} "
                f"(PFD {_mhz(self.pfd_hz)}, VCO {_mhz(self.vco_hz)})")


@dataclass(frozen=True)
class Ecp5Pll:
    """One EHXPLLL setting (CLKOP fed back) and the frequencies it gives."""

    f_in: float
    clki_div: int
    clkfb_div: int
    clkop_div: int

    @property
    def pfd_hz(self) -> float:
        """Phase detector frequency: the reference after CLKI_DIV."""
        return self.f_in / self.clki_div

    @property
    def out_hz(self) -> float:
        """The achieved output frequency."""
        return self.pfd_hz * self.clkfb_div

    @property
    def vco_hz(self) -> float:
        """VCO frequency: the output times CLKOP_DIV (CLKOP is fed back)."""
        return self.out_hz * self.clkop_div

    @property
    def clkop_cphase(self) -> int:
        """CLKOP's coarse phase in VCO cycles: ``(CLKOP_DIV - 1) // 2``, the value Project
        Trellis' ecppll writes (the phase of the fed-back output does not change its
        frequency)."""
        return (self.clkop_div - 1) // 2

    def violations(self) -> list[str]:
        """The ranges this setting breaks (empty when it is valid)."""
        return _violations(self, ECP5_LIMITS)

    def parameters(self) -> dict:
        """The primitive's parameters, for an ``Instance`` (``p_`` prefix added there)."""
        return dict(PLLRST_ENA="DISABLED", INTFB_WAKE="DISABLED", STDBY_ENABLE="DISABLED",
                    DPHASE_SOURCE="DISABLED", OUTDIVIDER_MUXA="DIVA", CLKI_DIV=self.clki_div,
                    CLKOP_ENABLE="ENABLED", CLKOP_DIV=self.clkop_div,
                    CLKOP_CPHASE=self.clkop_cphase, CLKOP_FPHASE=0, FEEDBK_PATH="CLKOP",
                    CLKFB_DIV=self.clkfb_div)

    def __str__(self):
        return (f"EHXPLLL CLKI_DIV={self.clki_div} CLKFB_DIV={self.clkfb_div} "
                f"CLKOP_DIV={self.clkop_div} CLKOP_CPHASE={self.clkop_cphase}: "
                f"{_mhz(self.f_in)} -> {_mhz(self.out_hz)} "
                f"(PFD {_mhz(self.pfd_hz)}, VCO {_mhz(self.vco_hz)})")


def _violations(pll, limits: _Limits) -> list[str]:
    found = []
    for name, (low, high) in limits.dividers.items():
        value = getattr(pll, name)
        if not low <= value <= high:
            found.append(f"{name.upper()}={value} outside [{low}, {high}]")
    for name, value, bounds in (("input", pll.f_in, limits.f_in),
                                ("PFD", pll.pfd_hz, limits.pfd),
                                ("VCO", pll.vco_hz, limits.vco),
                                ("output", pll.out_hz, limits.out)):
        if not _inside(value, bounds):
            found.append(f"{name} {_mhz(value)} outside [{_mhz(bounds[0])}, {_mhz(bounds[1])}]")
    return found


def _check_request(primitive: str, f_in: float, target: float, tolerance: float,
                   limits: _Limits) -> None:
    if not (isinstance(f_in, (int, float)) and isinstance(target, (int, float))
            and f_in > 0 and target > 0):
        raise ValueError(f"{primitive}: input and target frequencies must be positive, got "
                         f"{f_in!r} Hz and {target!r} Hz")
    if not 0 <= tolerance < 1:
        raise ValueError(f"{primitive}: tolerance must be a fraction in [0, 1), "
                         f"got {tolerance!r}")
    if not _inside(f_in, limits.f_in):
        raise ValueError(f"{primitive} takes an input clock in [{_mhz(limits.f_in[0])}, "
                         f"{_mhz(limits.f_in[1])}], got {_mhz(f_in)}")


def _best(primitive: str, f_in: float, target: float, tolerance: float, candidates):
    """The candidate nearest `target`, preferring high PFD then a mid-range VCO."""
    limits = ICE40_LIMITS if primitive == "SB_PLL40" else ECP5_LIMITS
    centre = sum(limits.vco) / 2

    def key(pll):
        error = round(abs(pll.out_hz - target))         # to the hertz: ties are ties
        return error, -pll.pfd_hz, abs(pll.vco_hz - centre)

    best = min(candidates, key=key, default=None)
    if best is None:
        raise ValueError(f"no {primitive} setting makes any valid output from "
                         f"{_mhz(f_in)}")
    offset = (best.out_hz - target) / target           # signed: below the target is -
    if abs(offset) > tolerance:
        raise ValueError(f"no {primitive} setting makes {_mhz(target)} from {_mhz(f_in)} "
                         f"within {tolerance:.2%}: the nearest is {_mhz(best.out_hz)} "
                         f"({offset:+.2%})")
    return best


def ice40_pll(f_in: float, target: float, tolerance: float = DEFAULT_TOLERANCE) -> Ice40Pll:
    """The SB_PLL40 setting nearest `target` Hz from an `f_in` Hz reference.

    Raises ValueError (one sentence) when no valid setting is within `tolerance`
    (a fraction of the target) or the input is outside the PLL's range.
    """
    _check_request("SB_PLL40", f_in, target, tolerance, ICE40_LIMITS)
    d = ICE40_LIMITS.dividers

    def candidates():
        for divr in range(d["divr"][0], d["divr"][1] + 1):
            if not _inside(f_in / (divr + 1), ICE40_LIMITS.pfd):
                continue
            for divf in range(d["divf"][0], d["divf"][1] + 1):
                for divq in range(d["divq"][0], d["divq"][1] + 1):
                    pll = Ice40Pll(f_in, divr, divf, divq)
                    if not pll.violations():
                        yield pll

    return _best("SB_PLL40", f_in, target, tolerance, candidates())


def ecp5_pll(f_in: float, target: float, tolerance: float = DEFAULT_TOLERANCE) -> Ecp5Pll:
    """The EHXPLLL setting nearest `target` Hz from an `f_in` Hz reference.

    Raises ValueError (one sentence) when no valid setting is within `tolerance`
    (a fraction of the target) or the input is outside the PLL's range.
    """
    _check_request("EHXPLLL", f_in, target, tolerance, ECP5_LIMITS)
    d = ECP5_LIMITS.dividers

    def candidates():
        for clki_div in range(d["clki_div"][0], d["clki_div"][1] + 1):
            if not _inside(f_in / clki_div, ECP5_LIMITS.pfd):
                continue
            for clkfb_div in range(d["clkfb_div"][0], d["clkfb_div"][1] + 1):
                out = f_in / clki_div * clkfb_div
                if not _inside(out, ECP5_LIMITS.out):
                    continue
                # CLKOP_DIV only places the VCO (the output is fixed by the two above):
                # only the dividers that put it in range are tried.
                low = max(d["clkop_div"][0], math.floor(ECP5_LIMITS.vco[0] / out))
                high = min(d["clkop_div"][1], math.ceil(ECP5_LIMITS.vco[1] / out))
                for clkop_div in range(low, high + 1):
                    pll = Ecp5Pll(f_in, clki_div, clkfb_div, clkop_div)
                    if not pll.violations():
                        yield pll

    return _best("EHXPLLL", f_in, target, tolerance, candidates())


def solve_pll(family: str, f_in: float, target: float,
              tolerance: float = DEFAULT_TOLERANCE) -> Ice40Pll | Ecp5Pll:
    """`ice40_pll` or `ecp5_pll` for `family` (``"ice40"`` or ``"ecp5"``)."""
    if family == "ice40":
        return ice40_pll(f_in, target, tolerance)
    if family == "ecp5":
        return ecp5_pll(f_in, target, tolerance)
    raise ValueError(f"family must be 'ice40' or 'ecp5', got {family!r}")


def pll_primitive(pll: Ice40Pll | Ecp5Pll, pad: bool = False) -> str:
    """The primitive that implements `pll`: ``EHXPLLL`` on ECP5; on iCE40
    ``SB_PLL40_PAD`` when the reference is the PLL's own pad, else ``SB_PLL40_CORE``."""
    if isinstance(pll, Ecp5Pll):
        return "EHXPLLL"
    return "SB_PLL40_PAD" if pad else "SB_PLL40_CORE"


class PllDomain(Elaboratable):
    """Drives clock domain `domain` from a PLL on the board clock, in reset until the PLL
    locks. The domain itself is defined by the caller, in the top (Amaranth 0.6 wants a
    domain defined in a parent of every module that uses it).

    Parameters
    ----------
    pll : Ice40Pll or Ecp5Pll
        The setting (from `solve_pll`).
    clock_port : amaranth.lib.io.PortLike
        The board clock pin, requested with ``dir="-"``.
    pad : bool
        iCE40 only: the clock pin is the PLL's own pad, so ``SB_PLL40_PAD`` takes it
        directly (``SB_PLL40_CORE`` through a buffer otherwise).
    domain : str
        The clock domain to drive (``"sync"``).

    Attributes
    ----------
    clk : Signal
        The PLL's output, the domain's clock. nextpnr derives its constraint
        (``pll.out_hz``) from the PLL's parameters and the board clock's constraint, which
        the platform writes.
    locked : Signal
        The PLL's LOCK output; the domain's reset is held (and released synchronously)
        while it is low.
    """

    def __init__(self, pll: Ice40Pll | Ecp5Pll, clock_port, pad: bool = False,
                 domain: str = "sync"):
        try:
            if not isinstance(pll, (Ice40Pll, Ecp5Pll)):
                raise ValueError(f"pll must be an Ice40Pll or Ecp5Pll, got {pll!r}")
            problems = pll.violations()
            if problems:
                raise ValueError(f"invalid PLL setting ({pll}): {'; '.join(problems)}")
        except ValueError:
            self._MustUse__silence = True           # never elaborated: no warning for it
            raise
        self.pll, self.clock_port, self.pad, self.domain = pll, clock_port, pad, domain
        self.clk = Signal(name=f"{domain}_pll_clk")
        self.locked = Signal(name=f"{domain}_pll_locked")

    @property
    def primitive(self) -> str:
        """The primitive instantiated (`pll_primitive`)."""
        return pll_primitive(self.pll, self.pad)

    def elaborate(self, platform):
        m = Module()
        params = {f"p_{name}": value for name, value in self.pll.parameters().items()}
        if self.primitive == "EHXPLLL":
            m.submodules.clk_buf = buf = io.Buffer("i", self.clock_port)
            m.submodules.pll = Instance(
                "EHXPLLL", **params,
                # Loop-filter settings the Lattice tools emit for CLKOP feedback (nextpnr
                # takes them as the PLL's analogue configuration).
                a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
                a_MFG_GMCREF_SEL="2",
                a_FREQUENCY_PIN_CLKI=f"{self.pll.f_in / _MHZ:g}",
                a_FREQUENCY_PIN_CLKOP=f"{self.pll.out_hz / _MHZ:g}",
                i_CLKI=buf.i, i_CLKFB=self.clk, i_RST=Const(0), i_STDBY=Const(0),
                i_PHASESEL0=Const(0), i_PHASESEL1=Const(0), i_PHASEDIR=Const(1),
                i_PHASESTEP=Const(1), i_PHASELOADREG=Const(1), i_PLLWAKESYNC=Const(0),
                i_ENCLKOP=Const(0), o_CLKOP=self.clk, o_LOCK=self.locked)
        else:
            common = dict(i_RESETB=Const(1), i_BYPASS=Const(0), o_PLLOUTGLOBAL=self.clk,
                          o_LOCK=self.locked)
            if self.pad:
                m.submodules.pll = Instance("SB_PLL40_PAD", **params,
                                            i_PACKAGEPIN=self.clock_port.io, **common)
            else:
                m.submodules.clk_buf = buf = io.Buffer("i", self.clock_port)
                m.submodules.pll = Instance("SB_PLL40_CORE", **params,
                                            i_REFERENCECLK=buf.i, **common)
        m.d.comb += ClockSignal(self.domain).eq(self.clk)
        m.submodules.reset_sync = ResetSynchronizer(~self.locked, domain=self.domain)
        return m
