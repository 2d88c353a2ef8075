"""What nextpnr says about a placed-and-routed design: utilisation and Fmax.

Amaranth's Lattice builds write nextpnr's log to ``<name>.tim`` in the build directory
(``--log {{name}}.tim`` in ``amaranth/vendor/_lattice.py`` and ``_siliconblue.py``);
`place_and_route` in `tritherm.boards.synth` writes the same log. `parse_nextpnr_log`
reads it into a `PnrReport`; `format_report` prints it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import format_table

__all__ = ["CellUse", "ClockTiming", "PnrReport", "parse_nextpnr_log", "read_report", "report_summary",
           "format_report", "LOGIC_CELLS", "RAM_CELLS", "DSP_CELLS"]

#: nextpnr's cell types, per family, for the three resources the tables show.
LOGIC_CELLS = {"ice40": ("ICESTORM_LC",), "ecp5": ("TRELLIS_COMB",)}
RAM_CELLS = {"ice40": ("ICESTORM_RAM",), "ecp5": ("DP16KD",)}
DSP_CELLS = {"ice40": ("ICESTORM_DSP",), "ecp5": ("MULT18X18D",)}

_UTILISATION = re.compile(r"^\w+:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%\s*$")
_FMAX = re.compile(r"Max frequency for clock '([^']+)': ([\d.]+) MHz \((PASS|FAIL) at ([\d.]+) MHz\)")
_DEVICE_HEADER = re.compile(r"^\w+: Device utilisation:")


@dataclass(frozen=True)
class CellUse:
    """Used and available cells of one type."""

    used: int
    available: int

    @property
    def fraction(self) -> float:
        return self.used / self.available if self.available else 0.0

    def __str__(self):
        return f"{self.used}/{self.available} ({100 * self.fraction:.0f}%)"


@dataclass(frozen=True)
class ClockTiming:
    """nextpnr's final timing verdict for one clock."""

    fmax_mhz: float
    target_mhz: float
    passed: bool


@dataclass
class PnrReport:
    """Utilisation per cell type and Fmax per clock, from one nextpnr run.

    Attributes
    ----------
    family : str
        ``"ice40"`` or ``"ecp5"``.
    cells : dict of str to CellUse
        Device utilisation after packing, by nextpnr cell type.
    clocks : dict of str to ClockTiming
        The last (post-route) Fmax line for each clock.
    log : Path or None
        Where the log was read from.
    synth_cells : dict of str to int
        yosys' cell counts before packing, when the run recorded them.
    """

    family: str
    cells: dict[str, CellUse] = field(default_factory=dict)
    clocks: dict[str, ClockTiming] = field(default_factory=dict)
    log: Path | None = None
    synth_cells: dict[str, int] = field(default_factory=dict)

    def _sum(self, table) -> CellUse:
        uses = [self.cells[name] for name in table[self.family] if name in self.cells]
        return CellUse(sum(u.used for u in uses), sum(u.available for u in uses))

    @property
    def logic(self) -> CellUse:
        """Logic cells: ICESTORM_LC (LUT4 + FF + carry) or TRELLIS_COMB (LUT4 or carry)."""
        return self._sum(LOGIC_CELLS)

    @property
    def ram(self) -> CellUse:
        """Block RAMs: ICESTORM_RAM (4 Kbit) or DP16KD (18 Kbit)."""
        return self._sum(RAM_CELLS)

    @property
    def dsp(self) -> CellUse:
        """Multiplier blocks: ICESTORM_DSP (SB_MAC16) or MULT18X18D."""
        return self._sum(DSP_CELLS)

    @property
    def fmax_mhz(self) -> float | None:
        """The slowest clock's Fmax (None when nextpnr reported no clock)."""
        return min((c.fmax_mhz for c in self.clocks.values()), default=None)

    @property
    def target_mhz(self) -> float | None:
        """The fastest clock constraint."""
        return max((c.target_mhz for c in self.clocks.values()), default=None)

    @property
    def timing_met(self) -> bool:
        """True when every clock met its constraint (False when there was no clock)."""
        return bool(self.clocks) and all(c.passed for c in self.clocks.values())


def parse_nextpnr_log(text: str, family: str) -> PnrReport:
    """Read the device utilisation and the final Fmax lines of a nextpnr log."""
    if family not in LOGIC_CELLS:
        raise ValueError(f"family must be one of {', '.join(LOGIC_CELLS)}, got {family!r}")
    report = PnrReport(family)
    in_utilisation = False
    for line in text.splitlines():
        if _DEVICE_HEADER.match(line):
            in_utilisation, report.cells = True, {}
            continue
        match = _UTILISATION.match(line) if in_utilisation else None
        if match:
            name, used, available = match.groups()
            report.cells[name] = CellUse(int(used), int(available))
            continue
        in_utilisation = False
        match = _FMAX.search(line)
        if match:
            name, fmax, verdict, target = match.groups()
            name = name.removeprefix("$glbnet$").split("$")[0] or name
            report.clocks[name] = ClockTiming(float(fmax), float(target), verdict == "PASS")
    return report


def read_report(log: str | Path, family: str) -> PnrReport:
    """`parse_nextpnr_log` on a log file; ValueError if nextpnr never got to utilisation."""
    log = Path(log)
    report = parse_nextpnr_log(log.read_text(errors="replace"), family)
    report.log = log
    if not report.cells:
        raise ValueError(f"nextpnr log {log} has no device utilisation; the run did not finish")
    return report


def report_summary(report: PnrReport) -> dict:
    """The report as plain data (``tritherm build --json``): used and available cells of
    each kind, Fmax and target of each clock, the timing verdict and the log."""
    def use(cell: CellUse) -> dict:
        return {"used": cell.used, "available": cell.available}
    return {"family": report.family, "logic": use(report.logic), "ram": use(report.ram),
            "dsp": use(report.dsp), "fmax_mhz": report.fmax_mhz,
            "target_mhz": report.target_mhz, "timing_met": report.timing_met,
            "clocks": {name: {"fmax_mhz": c.fmax_mhz, "target_mhz": c.target_mhz,
                              "passed": c.passed} for name, c in report.clocks.items()},
            "log": str(report.log) if report.log else None}


def format_report(report: PnrReport, title: str | None = None) -> str:
    """Cells, RAM, DSP, Fmax against the target and the timing verdict, as a table."""
    rows = [("logic cells", str(report.logic)), ("block RAM", str(report.ram)),
            ("DSP", str(report.dsp))]
    for name, clock in report.clocks.items():
        rows.append((f"Fmax {name}", f"{clock.fmax_mhz:.2f} MHz "
                                     f"(target {clock.target_mhz:.2f} MHz)"))
    rows.append(("timing", "PASS" if report.timing_met else "FAIL"))
    table = format_table(("resource", title or report.family), rows)
    return table
