"""Benchmark: the ternary array's variants against int8 multipliers, placed and routed.

Every design goes inside a `Harness` through yosys and nextpnr (through the placement
cache): each variant of `TernaryArray` (`TERNARY_VARIANTS`), and, as the ordinary way of
doing the same dot products, an `Int8MacArray` with its multipliers in DSP blocks
(``int8-dsp``) and in logic (``int8-logic``). A design of ``lanes x inputs`` does
``lanes * inputs`` MACs a cycle. A design whose yosys netlist cannot fit the part is
reported as "does not fit" with its yosys cell count, without running nextpnr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tritherm.boards.catalog import FAMILY_DEVICES, format_table
from tritherm.hdl.ternary import TernaryArray
from tritherm.hdl.ternary.int8_reference import Int8MacArray
from tritherm.hdl.ternary.lane_studies import LANE_STUDIES

from tritherm import toolchain
from tritherm.formats import TERNARY_VARIANTS, TernaryArrayShape

from .placement import PlacedResources, place_cached, resource_cells

__all__ = ["DEFAULT_ROWS", "DEFAULT_SIZES", "DSP_LIMIT_SIZES", "QUICK_SIZES", "ROWS_PER_ARRAY",
           "RAM_OUTPUT_REGISTER", "LANE_VARIANTS",
           "VARIANTS", "INT8_VARIANTS", "BenchRow", "HEADER", "bench_one", "bench_table",
           "bench_ternary", "bench_point"]

#: The int8 designs of the same throughput: multipliers in DSP blocks, and in logic.
INT8_VARIANTS = ("int8-dsp", "int8-logic")
#: One lane of the datapath built each way the dense array was weighed against
#: (`tritherm.hdl.ternary.lane_studies`); ``lanes`` is 1.
LANE_VARIANTS = tuple(LANE_STUDIES)
#: Every design the benchmark can place (``--variant``).
VARIANTS = TERNARY_VARIANTS + INT8_VARIANTS + LANE_VARIANTS
#: The first table's sizes (lanes, inputs) per family: the "tree" array and the int8
#: designs side by side, inputs multiples of 5 so no weight bit is wasted.
DEFAULT_SIZES = {
    "ice40": ((4, 5), (6, 10), (8, 10)),
    "ecp5": ((8, 10), (16, 20), (32, 20)),
}
#: The rows of the default table, per family: (variant, lanes, inputs). The first sizes
#: in every variant, for comparison, then each dense variant at its largest measured size.
DEFAULT_ROWS = {
    family: [(variant, lanes, inputs) for lanes, inputs in sizes
             for variant in ("tree", "int8-dsp", "int8-logic")]
    + [(variant, lanes, inputs) for lanes, inputs in sizes[-1:]
       for variant in ("dense", "dense-2bit", "dense-base3")]
    for family, sizes in DEFAULT_SIZES.items()
}
DEFAULT_ROWS["ice40"] += [("dense", 12, 15), ("dense-2bit", 12, 16), ("dense-base3", 12, 10)]
DEFAULT_ROWS["ecp5"] += [("dense", 64, 30), ("dense-2bit", 64, 32), ("dense-base3", 64, 20)]
#: The lane studies, one lane of 16 inputs (15 for the lookup: three whole tables).
LANE_ROWS = [("lane-adder-tree", 1, 16), ("lane-compressor", 1, 16), ("lane-bit-serial", 1, 16),
             ("lane-lookup", 1, 15)]
for _rows in DEFAULT_ROWS.values():
    _rows += LANE_ROWS
#: The largest int8 array whose multipliers all fit the part's DSP blocks.
DSP_LIMIT_SIZES = {"ice40": (2, 4), "ecp5": (12, 13)}
#: The smallest size of each family, for a quick look.
QUICK_SIZES = {family: sizes[:1] for family, sizes in DEFAULT_SIZES.items()}
#: Weight-memory words of every benchmarked array (K up to 128 beats), deep enough that
#: the weights sit in block RAM rather than in LUT RAM.
ROWS_PER_ARRAY = 128
#: How each design is named in the table.
_DESIGN_NAMES = {"tree": "ternary tree", "dense": "ternary dense",
                 "dense-2bit": "ternary dense-2bit", "dense-base3": "ternary dense-base3",
                 "int8-dsp": "int8 DSP", "int8-logic": "int8 logic",
                 "lane-adder-tree": "lane: adder tree", "lane-compressor": "lane: compressor tree",
                 "lane-bit-serial": "lane: bit-serial", "lane-lookup": "lane: table lookup"}


@dataclass
class BenchRow(PlacedResources):
    """One design on one part: resources, Fmax and throughput, or why it does not fit.

    ``fits`` is False when the design does not fit the part (then ``logic`` is yosys' or
    nextpnr's count of what it would need) or could not be placed.
    """

    family: str
    variant: str
    lanes: int
    inputs: int
    mac_per_cycle: float = field(init=False)
    fits: bool = False

    def __post_init__(self):
        # A bit-serial lane takes eight cycles a vector.
        self.mac_per_cycle = self.lanes * self.inputs
        if self.variant == "lane-bit-serial":
            self.mac_per_cycle = self.lanes * self.inputs / 8

    @property
    def macs(self) -> float:
        return self.mac_per_cycle

    @property
    def gmacs(self) -> float | None:
        """Throughput at Fmax, 1e9 MAC/s."""
        return None if self.fmax_mhz is None else self.macs * self.fmax_mhz / 1e3

    def cells(self) -> tuple[str, ...]:
        """The row as table cells."""
        dash = "-"
        logic, ram, dsp, fmax = resource_cells(self)
        return (f"{FAMILY_DEVICES[self.family][0]}", _DESIGN_NAMES[self.variant],
                f"{self.lanes}x{self.inputs}", f"{self.macs:g}", logic, ram, dsp, fmax,
                f"{self.gmacs:.2f}" if self.fits else dash,
                f"{self.logic / self.macs:.1f}" if self.logic is not None else dash,
                self.note)


HEADER = ("part", "design", "lanes x inputs", "MAC/cycle", "logic", "RAM", "DSP",
          "Fmax MHz", "GMAC/s", "logic/MAC", "note")


#: The dense variants on the ECP5 register the weight codes once more after the block RAM
#: (`DenseTernaryArray`'s ``ram_output_register``): its DP16KD's read data come about 6 ns
#: after the clock, and the ECP5's flip-flops cost no LUT.
RAM_OUTPUT_REGISTER = {"ice40": False, "ecp5": True}


def _design(family: str, variant: str, lanes: int, inputs: int):
    if variant in LANE_STUDIES:
        return LANE_STUDIES[variant](inputs)
    if variant in TERNARY_VARIANTS:
        shape = TernaryArrayShape(lanes, inputs, ROWS_PER_ARRAY * inputs, variant)
        if variant == "tree":
            return TernaryArray(shape)
        return TernaryArray(shape, ram_output_register=RAM_OUTPUT_REGISTER[family])
    return Int8MacArray(lanes, inputs, ROWS_PER_ARRAY)


def _check(family: str, variant: str, lanes: int = 1) -> None:
    if family not in FAMILY_DEVICES:
        raise ValueError(f"family must be one of {', '.join(FAMILY_DEVICES)}, got {family!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    if variant in LANE_VARIANTS and lanes != 1:
        raise ValueError(f"the {variant} study is one lane: lanes must be 1, got {lanes}")


def bench_one(family: str, variant: str, lanes: int, inputs: int, build_dir: Path,
              out=print) -> BenchRow:
    """Synthesise one design; place and route it if it fits (or take it from the placement
    cache); return its row."""
    _check(family, variant, lanes)
    row = BenchRow(family, variant, lanes, inputs)
    workdir = Path(build_dir) / f"{family}-{variant}-{lanes}x{inputs}"
    place_cached(row, lambda: _design(family, variant, lanes, inputs), workdir,
                 dsp=variant != "int8-logic", out=out)
    row.fits = row.fmax_mhz is not None
    return row


def bench_table(rows: list[BenchRow]) -> str:
    """The benchmark rows as a printable table."""
    return format_table(HEADER, [row.cells() for row in rows])


def _run(plan, out, build_dir) -> list[BenchRow]:
    toolchain.setup()
    rows = []
    for family, variant, lanes, inputs in plan:
        _check(family, variant, lanes)
    for family, variant, lanes, inputs in plan:
        out(f"{FAMILY_DEVICES[family][0]}: {_DESIGN_NAMES[variant]} {lanes}x{inputs}...")
        rows.append(bench_one(family, variant, lanes, inputs, Path(build_dir), out=out))
        out("  " + " ".join(c for c in rows[-1].cells()[4:] if c != "-"))
    out(bench_table(rows))
    return rows


def bench_ternary(sizes: dict | None = None, families=("ice40", "ecp5"), variants=None,
                  out=print, build_dir: str | Path = "build/bench") -> list[BenchRow]:
    """Place and route the ternary array's variants and their int8 counterparts; print a
    table.

    Parameters
    ----------
    sizes : dict of family to sequence of (lanes, inputs), optional
        Every variant at these sizes; by default the rows of `DEFAULT_ROWS` (and, for the
        int8 DSP design, the largest size whose multipliers fit the part's DSPs).
    families : sequence of str
        ``"ice40"`` (iCE40UP5K) and/or ``"ecp5"`` (LFE5U-85F).
    variants : sequence of str, optional
        Only these designs (names in `VARIANTS`).
    out : callable
        Receives a progress line per design, then the table.
    """
    for family in families:
        if family not in FAMILY_DEVICES:
            raise ValueError(f"family must be one of {', '.join(FAMILY_DEVICES)}, "
                             f"got {family!r}")
    for variant in variants or ():
        _check(families[0] if families else "ice40", variant)
    plan = []
    for family in families:
        if sizes is None:
            rows = list(DEFAULT_ROWS[family])
            if variants is None or "int8-dsp" in variants:
                rows.append(("int8-dsp", *DSP_LIMIT_SIZES[family]))
        else:
            rows = [(variant, lanes, inputs) for lanes, inputs in sizes[family]
                    for variant in TERNARY_VARIANTS + INT8_VARIANTS]
        plan += [(family, v, lanes, inputs) for v, lanes, inputs in rows
                 if variants is None or v in variants]
    return _run(plan, out, build_dir)


def bench_point(lanes: int, inputs: int, families=("ice40", "ecp5"), variants=("dense",),
                out=print, build_dir: str | Path = "build/bench") -> list[BenchRow]:
    """Place one size, ``lanes x inputs``, of each of `variants` on each of `families`."""
    for name, value in (("lanes", lanes), ("inputs", inputs)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return _run([(family, variant, lanes, inputs) for family in families
                 for variant in variants], out, build_dir)
