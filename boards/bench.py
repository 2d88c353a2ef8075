"""Benchmark: the ternary array against int8 multipliers, placed and routed with nextpnr.

For each FPGA family and array size, three designs of equal dot-product throughput
(``lanes * inputs`` MACs per cycle) go inside a `Harness` through yosys and nextpnr: the
`TernaryArray`, and an `Int8MacArray` with its multipliers in DSP blocks and in logic. A
variant whose yosys netlist cannot fit the part is reported as "does not fit" with its
yosys cell count, without running nextpnr.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tritherm import toolchain
from tritherm.formats import SHAPER_SAMPLES, THREEFRY_ROUNDS, TernaryArrayShape
from tritherm.hdl.noise import NoiseSource, Threefry2x32, shaper_core
from tritherm.hdl.ternary import TernaryArray
from tritherm.hdl.ternary.int8_reference import Int8MacArray

from .catalog import FAMILY_DEVICES, format_table
from .synth import (BuildError, Harness, does_not_fit, resource_estimate, run_nextpnr,
                    run_yosys)

__all__ = ["BenchRow", "DEFAULT_SIZES", "QUICK_SIZES", "ROWS_PER_ARRAY", "bench_ternary",
           "bench_table", "NoiseDesign", "NoiseBenchRow", "NOISE_DESIGNS", "QUICK_NOISE_DESIGNS",
           "bench_noise", "noise_bench_table"]

#: (lanes, inputs) per family; inputs are multiples of 5 so no weight bit is wasted.
DEFAULT_SIZES = {
    "ice40": ((4, 5), (6, 10), (8, 10)),
    "ecp5": ((8, 10), (16, 20), (32, 20)),
}
#: The largest int8 array whose multipliers all fit the part's DSP blocks.
DSP_LIMIT_SIZES = {"ice40": (2, 4), "ecp5": (12, 13)}
#: The smallest size of each family, for a quick look.
QUICK_SIZES = {family: sizes[:1] for family, sizes in DEFAULT_SIZES.items()}
#: Weight-memory words of every benchmarked array (K up to 128 beats), deep enough that
#: the weights sit in block RAM rather than in LUT RAM.
ROWS_PER_ARRAY = 128
#: The clock nextpnr is asked for; Fmax is reported whether it is met or not.
TARGET_MHZ = {"ice40": 40.0, "ecp5": 100.0}
VARIANTS = ("ternary", "int8 DSP", "int8 logic")


@dataclass(kw_only=True)
class PlacedResources:
    """What place-and-route measured for a design, or why it was not placed."""

    logic: int | None = None
    ram: int | None = None
    dsp: int | None = None
    fmax_mhz: float | None = None
    note: str = ""


@dataclass
class BenchRow(PlacedResources):
    """One design on one part: resources, Fmax and throughput, or why it does not fit."""

    family: str
    variant: str
    lanes: int
    inputs: int

    @property
    def macs(self) -> int:
        return self.lanes * self.inputs

    @property
    def gmacs(self) -> float | None:
        """Throughput at Fmax, 1e9 MAC/s."""
        return None if self.fmax_mhz is None else self.macs * self.fmax_mhz / 1e3

    def cells(self) -> tuple[str, ...]:
        """The row as table cells."""
        dash = "-"
        fits = self.fmax_mhz is not None
        logic, ram, dsp, fmax = _resource_cells(self)
        return (f"{FAMILY_DEVICES[self.family][0]}", self.variant,
                f"{self.lanes}x{self.inputs}", str(self.macs), logic, ram, dsp, fmax,
                f"{self.gmacs:.2f}" if fits else dash,
                f"{self.logic / self.macs:.0f}" if self.logic is not None else dash,
                self.note)


def _resource_cells(row) -> tuple[str, str, str, str]:
    """Logic, RAM, DSP and Fmax of a row as table cells ("-" where unknown)."""
    def cell(value):
        return "-" if value is None else str(value)
    fmax = "-" if row.fmax_mhz is None else f"{row.fmax_mhz:.1f}"
    return cell(row.logic), cell(row.ram), cell(row.dsp), fmax


HEADER = ("part", "design", "lanes x inputs", "MAC/cycle", "logic", "RAM", "DSP",
          "Fmax MHz", "GMAC/s", "logic/MAC", "note")


def _design(variant: str, lanes: int, inputs: int):
    if variant == "ternary":
        return TernaryArray(TernaryArrayShape(lanes, inputs, ROWS_PER_ARRAY * inputs))
    return Int8MacArray(lanes, inputs, ROWS_PER_ARRAY)


def bench_one(family: str, variant: str, lanes: int, inputs: int, build_dir: Path) -> BenchRow:
    """Synthesise one design; place and route it if it fits; return its row."""
    row = BenchRow(family, variant, lanes, inputs)
    workdir = build_dir / f"{family}-{variant.replace(' ', '-')}-{lanes}x{inputs}"
    return _place_row(row, _design(variant, lanes, inputs), workdir,
                      dsp=variant != "int8 logic")


def _place_row(row, core, workdir: Path, dsp: bool = True):
    """Put `core` in a `Harness`, synthesise it for ``row.family``'s benchmark part, place
    and route it if it fits, and fill in the row's resources, Fmax and note."""
    family = row.family
    device, package = FAMILY_DEVICES[family]
    cells = run_yosys(Harness(core), family, workdir, dsp=dsp, write_json=True)
    reason = does_not_fit(cells, family, device)
    if reason:
        need = resource_estimate(cells, family)
        row.logic, row.ram, row.dsp = need["logic"], need["ram"], need["dsp"]
        row.note = f"does not fit ({reason}; yosys counts)"
        return row
    try:
        report = run_nextpnr(family, device, package, TARGET_MHZ[family], workdir)
    except BuildError as error:
        row.note = ("does not fit (nextpnr ran out of logic cells)"
                    if "no BELs remaining" in str(error) else str(error))
        return row
    row.logic, row.ram, row.dsp = report.logic.used, report.ram.used, report.dsp.used
    row.fmax_mhz = report.fmax_mhz
    row.note = (f"{100 * report.logic.fraction:.0f}% logic, "
                f"{100 * report.ram.fraction:.0f}% RAM")
    return row


def bench_table(rows: list[BenchRow]) -> str:
    """The benchmark rows as a printable table."""
    return format_table(HEADER, [row.cells() for row in rows])


def bench_ternary(sizes: dict | None = None, families=("ice40", "ecp5"),
                  variants=VARIANTS, out=print,
                  build_dir: str | Path = "build/bench") -> list[BenchRow]:
    """Place and route the ternary array and its int8 counterparts; print a table.

    Parameters
    ----------
    sizes : dict of family to sequence of (lanes, inputs), optional
        `DEFAULT_SIZES` by default.
    families : sequence of str
        ``"ice40"`` (iCE40UP5K) and/or ``"ecp5"`` (LFE5U-85F).
    out : callable
        Receives a progress line per design, then the table.
    """
    toolchain.setup()
    sizes = sizes or DEFAULT_SIZES
    rows = []
    for family in families:
        if family not in FAMILY_DEVICES:
            raise ValueError(f"family must be one of {', '.join(FAMILY_DEVICES)}, "
                             f"got {family!r}")
        for lanes, inputs in sizes[family]:
            for variant in variants:
                out(f"{FAMILY_DEVICES[family][0]}: {variant} {lanes}x{inputs}...")
                rows.append(bench_one(family, variant, lanes, inputs, Path(build_dir)))
                out("  " + " ".join(c for c in rows[-1].cells()[4:] if c != "-"))
        if "int8 DSP" in variants and sizes is not QUICK_SIZES:
            lanes, inputs = DSP_LIMIT_SIZES[family]
            out(f"{FAMILY_DEVICES[family][0]}: int8 DSP {lanes}x{inputs} (all DSPs)...")
            rows.append(bench_one(family, "int8 DSP", lanes, inputs, Path(build_dir)))
    out(bench_table(rows))
    return rows


# --- noise cores ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NoiseDesign:
    """One noise core configuration of `bench_noise`.

    ``kind`` is ``"threefry"``, ``"shaper"`` or ``"source"``; ``shaper`` names the shaper
    (shapers and sources); ``unroll`` and ``pipelined`` configure Threefry-2x32 (20 rounds).
    """

    kind: str
    shaper: str | None = None
    unroll: int = 1
    pipelined: bool = True
    streams: int = 8

    @property
    def name(self) -> str:
        return {"threefry": "Threefry2x32", "shaper": f"{(self.shaper or '').upper()} shaper",
                "source": f"NoiseSource {self.shaper}"}[self.kind]

    @property
    def params(self) -> str:
        if self.kind == "shaper":
            return "1 block/cycle in"
        mode = f"{'pipelined' if self.pipelined else 'iterative'} unroll={self.unroll}"
        return mode if self.kind == "threefry" else f"{self.streams} streams, {mode}"

    @property
    def unit(self) -> str:
        return "bit" if self.kind == "threefry" else "sample"

    @property
    def per_cycle(self) -> float:
        """Output bits (Threefry) or samples (shapers, sources) per clock cycle."""
        blocks = 1.0 if self.pipelined else self.unroll / THREEFRY_ROUNDS
        if self.kind == "threefry":
            return 64 * blocks
        spb = SHAPER_SAMPLES[self.shaper]
        if self.kind == "shaper":
            return float(spb)
        # NoiseSource: `streams` blocks per group of spb steps, one bubble per group when
        # the generator makes a block per cycle (see NoiseSource's docstring).
        cycles = self.streams + 1 if self.pipelined else self.streams / blocks
        return self.streams * spb / cycles

    def build(self):
        """A new instance of the core."""
        if self.kind == "threefry":
            return Threefry2x32(THREEFRY_ROUNDS, self.unroll, self.pipelined)
        if self.kind == "shaper":
            return shaper_core(self.shaper)
        return NoiseSource(self.streams, self.shaper, THREEFRY_ROUNDS, self.unroll,
                           self.pipelined)

    @property
    def slug(self) -> str:
        parts = [self.kind, self.shaper or ""]
        if self.kind != "shaper":
            parts += [f"{'p' if self.pipelined else 'i'}{self.unroll}"]
        return "-".join(p for p in parts if p)


#: From the smallest (one round per cycle, reused) to one 64-bit block per cycle, the two
#: shapers (one block per cycle in), and 8-cell sources with each shaper.
NOISE_DESIGNS = (
    NoiseDesign("threefry", unroll=1, pipelined=False),
    NoiseDesign("threefry", unroll=4, pipelined=False),
    NoiseDesign("threefry", unroll=1, pipelined=True),
    NoiseDesign("threefry", unroll=5, pipelined=True),
    NoiseDesign("threefry", unroll=20, pipelined=True),
    NoiseDesign("shaper", "clt"),
    NoiseDesign("shaper", "icdf"),
    NoiseDesign("source", "clt", unroll=1, pipelined=False),
    NoiseDesign("source", "clt"),
    NoiseDesign("source", "icdf"),
)
#: The smallest few, for a quick look.
QUICK_NOISE_DESIGNS = (NOISE_DESIGNS[0], NOISE_DESIGNS[5], NOISE_DESIGNS[6])

NOISE_HEADER = ("part", "design", "params", "out/cycle", "logic", "RAM", "DSP", "Fmax MHz",
                "rate at Fmax", "note")


@dataclass
class NoiseBenchRow(PlacedResources):
    """One noise core on one part: resources, Fmax and output rate at Fmax."""

    family: str
    design: NoiseDesign

    @property
    def rate(self) -> float | None:
        """Mbit/s (Threefry) or Msample/s (shapers, sources) at Fmax."""
        return None if self.fmax_mhz is None else self.design.per_cycle * self.fmax_mhz

    def cells(self) -> tuple[str, ...]:
        d = self.design
        rate = "-" if self.rate is None else f"{self.rate:.1f} M{d.unit}/s"
        return (FAMILY_DEVICES[self.family][0], d.name, d.params,
                f"{d.per_cycle:.3g} {d.unit}s", *_resource_cells(self), rate, self.note)


def noise_bench_table(rows: list[NoiseBenchRow]) -> str:
    """The noise benchmark rows as a printable table."""
    return format_table(NOISE_HEADER, [row.cells() for row in rows])


def bench_noise(families=("ice40", "ecp5"), quick: bool = False, out=print,
                build_dir: str | Path = "build/bench-noise",
                designs=None) -> list[NoiseBenchRow]:
    """Place and route the noise cores (`NOISE_DESIGNS`) on iCE40UP5K and LFE5U-85F.

    Each core sits in a `Harness`; nextpnr is asked for `TARGET_MHZ` and its post-route
    Fmax is reported either way. A core whose yosys netlist exceeds the part is reported as
    "does not fit" with yosys' counts.

    Parameters
    ----------
    families : sequence of str
        ``"ice40"`` (iCE40UP5K) and/or ``"ecp5"`` (LFE5U-85F).
    quick : bool
        Only `QUICK_NOISE_DESIGNS` (the smallest few).
    out : callable
        Receives a progress line per design, then the table.
    designs : sequence of NoiseDesign, optional
        Overrides `quick`'s choice.
    """
    toolchain.setup()
    designs = designs or (QUICK_NOISE_DESIGNS if quick else NOISE_DESIGNS)
    rows = []
    for family in families:
        if family not in FAMILY_DEVICES:
            raise ValueError(f"family must be one of {', '.join(FAMILY_DEVICES)}, "
                             f"got {family!r}")
        for design in designs:
            out(f"{FAMILY_DEVICES[family][0]}: {design.name}, {design.params}...")
            row = _place_row(NoiseBenchRow(family, design), design.build(),
                             Path(build_dir) / f"{family}-{design.slug}")
            rows.append(row)
            out("  " + " ".join(c for c in row.cells()[4:] if c != "-"))
    out(noise_bench_table(rows))
    return rows
