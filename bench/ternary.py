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

from tritherm.boards.catalog import FAMILY_DEVICES, format_table
from tritherm.hdl.ternary import TernaryArray
from tritherm.hdl.ternary.int8_reference import Int8MacArray

from tritherm import toolchain
from tritherm.formats import TernaryArrayShape

from .placement import PlacedResources, place_row, resource_cells

__all__ = ["DEFAULT_SIZES", "DSP_LIMIT_SIZES", "QUICK_SIZES", "ROWS_PER_ARRAY", "VARIANTS",
           "BenchRow", "HEADER", "bench_one", "bench_table", "bench_ternary"]

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
VARIANTS = ("ternary", "int8 DSP", "int8 logic")


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
        logic, ram, dsp, fmax = resource_cells(self)
        return (f"{FAMILY_DEVICES[self.family][0]}", self.variant,
                f"{self.lanes}x{self.inputs}", str(self.macs), logic, ram, dsp, fmax,
                f"{self.gmacs:.2f}" if fits else dash,
                f"{self.logic / self.macs:.0f}" if self.logic is not None else dash,
                self.note)



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
    return place_row(row, _design(variant, lanes, inputs), workdir,
                      dsp=variant != "int8 logic")


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
