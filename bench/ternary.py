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
from .ternary_measured import ROWS as MEASURED_ROWS

__all__ = ["DEFAULT_ROWS", "DEFAULT_SIZES", "DSP_LIMIT_SIZES", "QUICK_SIZES", "ROWS_PER_ARRAY",
           "RAM_OUTPUT_REGISTER", "LANE_VARIANTS",
           "VARIANTS", "INT8_VARIANTS", "BenchRow", "HEADER", "bench_one", "bench_table",
           "bench_ternary", "bench_point", "one_size_command", "measured_row",
           "BITNET_2B4T", "WEIGHT_BITS", "WEIGHT_FEEDS", "WeightFeed", "LayerRow", "layer_macs",
           "layer_rows", "layer_table", "LAYER_HEADER", "bench_layer"]

#: The int8 designs of the same throughput: multipliers in DSP blocks, and in logic.
INT8_VARIANTS = ("int8-dsp", "int8-logic")
#: One lane of the datapath built each way the dense array was weighed against
#: (`tritherm.hdl.ternary.lane_studies`); ``lanes`` is 1.
LANE_VARIANTS = tuple(LANE_STUDIES)
#: Every design the benchmark can place (``--variant``).
VARIANTS = TERNARY_VARIANTS + INT8_VARIANTS + LANE_VARIANTS
#: The quick table's sizes (lanes, inputs) per family: every ternary and int8 design.
DEFAULT_SIZES = {
    "ice40": ((4, 5), (6, 10), (8, 10)),
    "ecp5": ((8, 10), (16, 20), (32, 20)),
}
#: The lane studies, one lane of 16 inputs (15 for the lookup: three whole tables).
LANE_ROWS = [("lane-adder-tree", 1, 16), ("lane-compressor", 1, 16), ("lane-bit-serial", 1, 16),
             ("lane-lookup", 1, 15)]
#: The rows of the full table, per family: (variant, lanes, inputs). The old "tree" array
#: at its largest size, the dense variants at the largest size that fits and at the target
#: (256 MAC/cycle on the iCE40UP5K, 2,048 on the ECP5-85F) in several shapes, the int8
#: designs, the lane studies. `ternary_measured` holds their placed figures.
DEFAULT_ROWS = {
    "ice40": [("tree", 8, 10), ("dense-2bit", 14, 16), ("dense-2bit", 15, 16),
              ("dense-2bit", 16, 16), ("dense", 16, 16),
              ("dense-2bit", 32, 8), ("dense-2bit", 8, 32), ("dense-base3", 16, 15),
              ("int8-dsp", 8, 10), ("int8-logic", 8, 10), ("int8-dsp", 2, 4), *LANE_ROWS],
    "ecp5": [("dense-2bit", 32, 32), ("dense-2bit", 64, 32), ("dense", 64, 32)],
}
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


def one_size_command(family: str, variant: str, lanes: int, inputs: int) -> str:
    """The command that places one row (and so re-measures it)."""
    return (f"tritherm bench ternary --family {family} --lanes {lanes} --inputs {inputs} "
            f"--variant {variant}")


def measured_row(family: str, variant: str, lanes: int, inputs: int) -> BenchRow | None:
    """The row as measured (`ternary_measured`), or None if it has not been."""
    for record in MEASURED_ROWS:
        if (record["family"], record["variant"], record["lanes"], record["inputs"]) == \
                (family, variant, lanes, inputs):
            row = BenchRow(family, variant, lanes, inputs)
            for name, value in record.items():
                setattr(row, name, value)
            row.fits = row.fmax_mhz is not None
            return row
    return None


def _run(plan, out, build_dir, measured=False) -> list[BenchRow]:
    for family, variant, lanes, inputs in plan:
        _check(family, variant, lanes)
    rows = []
    for family, variant, lanes, inputs in plan:
        out(f"{FAMILY_DEVICES[family][0]}: {_DESIGN_NAMES[variant]} {lanes}x{inputs}...")
        row = measured_row(family, variant, lanes, inputs) if measured else None
        if row is None:
            toolchain.setup()
            row = bench_one(family, variant, lanes, inputs, Path(build_dir), out=out)
        else:
            out(f"  (as measured; `{one_size_command(family, variant, lanes, inputs)}` "
                f"places it again)")
        rows.append(row)
        out("  " + " ".join(c for c in rows[-1].cells()[4:] if c != "-"))
    out(bench_table(rows))
    return rows


def bench_ternary(sizes: dict | None = None, families=("ice40", "ecp5"), variants=None,
                  out=print, build_dir: str | Path = "build/bench") -> list[BenchRow]:
    """The ternary array's variants and their int8 counterparts, placed and routed; print a
    table.

    Parameters
    ----------
    sizes : dict of family to sequence of (lanes, inputs), optional
        Place every variant at these sizes. By default, the rows of `DEFAULT_ROWS`, each as
        measured (`ternary_measured`, re-measured by `one_size_command`), placed only if
        it has not been.
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
        else:
            rows = [(variant, lanes, inputs) for lanes, inputs in sizes[family]
                    for variant in TERNARY_VARIANTS + INT8_VARIANTS]
        plan += [(family, v, lanes, inputs) for v, lanes, inputs in rows
                 if variants is None or v in variants]
    return _run(plan, out, build_dir, measured=sizes is None)


def bench_point(lanes: int, inputs: int, families=("ice40", "ecp5"), variants=("dense",),
                out=print, build_dir: str | Path = "build/bench") -> list[BenchRow]:
    """Place one size, ``lanes x inputs``, of each of `variants` on each of `families`."""
    for name, value in (("lanes", lanes), ("inputs", inputs)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return _run([(family, variant, lanes, inputs) for family in families
                 for variant in variants], out, build_dir)


# A real layer, on paper: one BitNet b1.58 2B4T layer at the measured rates.

#: BitNet b1.58 2B4T: hidden size, FFN size, key/value width (5 heads of 128), layers.
BITNET_2B4T = {"hidden": 2560, "ffn": 6912, "kv": 640, "layers": 30}
#: Bits a weight takes in memory: base-3 (five weights a byte) and I2_S (two bits).
WEIGHT_BITS = {"base-3": 8 / 5, "I2_S": 2.0}


@dataclass(frozen=True)
class WeightFeed:
    """What could feed weights to a part: bytes a second (or a cycle of the array's clock)
    and how many bytes it holds."""

    name: str
    capacity: int
    bytes_per_s: float = 0.0
    bytes_per_cycle: float = 0.0

    def rate(self, fmax_mhz: float) -> float:
        """Bytes a second at the array's clock."""
        return self.bytes_per_s + self.bytes_per_cycle * fmax_mhz * 1e6


#: The UP5K's four SPRAMs (16 bits a cycle each, 32 KiB each); the ULX3S's 32 MB SDRAM
#: (16-bit SDR at about 100 MHz: 200 MB/s peak).
WEIGHT_FEEDS = {
    "ice40": WeightFeed("UP5K SPRAM, 4 x 16 bits a cycle", 4 * 32 * 1024, bytes_per_cycle=8),
    "ecp5": WeightFeed("ULX3S SDRAM, 16-bit SDR ~100 MHz", 32 * 1024 ** 2, bytes_per_s=200e6),
}


def layer_macs(hidden: int = 2560, ffn: int = 6912, kv: int = 640) -> int:
    """Ternary MACs of one BitNet layer for one token: q and o (hidden x hidden), k and v
    (hidden x kv), gate and up (hidden x ffn), down (ffn x hidden)."""
    return hidden * (2 * hidden + 2 * kv) + 3 * hidden * ffn


LAYER_HEADER = ("part", "array", "MAC/cycle", "Fmax MHz", "GMAC/s", "ms/layer", "s/token",
                "weights GB/s (1.6 b / 2 b)", "feed", "feed MB/s", "s/token fed (1.6 b / 2 b)",
                "feed holds")


@dataclass
class LayerRow:
    """One measured array on one BitNet 2B4T layer: compute time, the weight bandwidth
    its rate needs, and the time when `feed` supplies the weights."""

    bench: BenchRow
    feed: WeightFeed
    model: dict = field(default_factory=lambda: dict(BITNET_2B4T))

    @property
    def layer_macs(self) -> int:
        return layer_macs(self.model["hidden"], self.model["ffn"], self.model["kv"])

    @property
    def token_macs(self) -> int:
        return self.layer_macs * self.model["layers"]

    @property
    def rate(self) -> float:
        """MAC a second at Fmax."""
        return self.bench.mac_per_cycle * self.bench.fmax_mhz * 1e6

    def weight_bytes_per_s(self, bits: float) -> float:
        """Weight bytes a second the array's rate needs (every weight used once a token)."""
        return self.rate * bits / 8

    def fed_seconds_per_token(self, bits: float = WEIGHT_BITS["base-3"]) -> float:
        """Seconds a token when `feed` streams the weights: the slower of the two."""
        feed_macs = self.feed.rate(self.bench.fmax_mhz) * 8 / bits
        return self.token_macs / min(self.rate, feed_macs)

    def layers_held(self, bits: float = WEIGHT_BITS["base-3"]) -> float:
        """How many layers' weights the feed holds."""
        return self.feed.capacity / (self.layer_macs * bits / 8)

    def figures(self) -> dict:
        """The row's figures by name (the JSON of ``tritherm bench ternary --layer``)."""
        b, bits = self.bench, WEIGHT_BITS
        return {
            "family": b.family, "variant": b.variant, "lanes": b.lanes, "inputs": b.inputs,
            "mac_per_cycle": b.mac_per_cycle, "fmax_mhz": b.fmax_mhz, "gmacs": self.rate / 1e9,
            "ms_per_layer": 1e3 * self.layer_macs / self.rate,
            "s_per_token": self.token_macs / self.rate,
            "weight_gbytes_per_s": {k: self.weight_bytes_per_s(v) / 1e9 for k, v in bits.items()},
            "feed": self.feed.name, "feed_mbytes_per_s": self.feed.rate(b.fmax_mhz) / 1e6,
            "fed_s_per_token": {k: self.fed_seconds_per_token(v) for k, v in bits.items()},
            "feed_layers_held": self.layers_held(), "layers": self.model["layers"],
        }

    def cells(self) -> tuple[str, ...]:
        """The row as table cells."""
        f = self.figures()
        return (FAMILY_DEVICES[f["family"]][0], f"{f['variant']} {f['lanes']}x{f['inputs']}",
                f"{f['mac_per_cycle']:g}", f"{f['fmax_mhz']:.1f}", f"{f['gmacs']:.2f}",
                f"{f['ms_per_layer']:.2f}", f"{f['s_per_token']:.3f}",
                " / ".join(f"{v:.2f}" for v in f["weight_gbytes_per_s"].values()),
                f["feed"], f"{f['feed_mbytes_per_s']:.0f}",
                " / ".join(f"{v:.2f}" for v in f["fed_s_per_token"].values()),
                f"{f['feed_layers_held']:.3g} of {f['layers']} layers")


def layer_rows(rows: list[BenchRow]) -> list[LayerRow]:
    """Per family, the fastest placed "tree" row and the fastest placed dense row of
    `rows`, on a 2B4T layer with that family's `WEIGHT_FEEDS` entry."""
    out = []
    for family in FAMILY_DEVICES:
        for kind in ("tree", "dense"):
            placed = [r for r in rows if r.family == family and r.fits
                      and r.variant.split("-")[0] == kind]
            if placed:
                best = max(placed, key=lambda r: r.gmacs)
                out.append(LayerRow(best, WEIGHT_FEEDS[family]))
    return out


def layer_table(rows: list[LayerRow]) -> str:
    """The layer rows as a printable table."""
    return format_table(LAYER_HEADER, [row.cells() for row in rows])


def bench_layer(families=("ice40", "ecp5"), out=print) -> list[LayerRow]:
    """The 2B4T layer table (`layer_rows`) from the measured rows of `DEFAULT_ROWS`."""
    rows = [measured_row(family, *spec) for family in families
            for spec in DEFAULT_ROWS[family]]
    layer = layer_rows([row for row in rows if row is not None])
    macs, layers = layer_macs(), BITNET_2B4T["layers"]
    out(f"BitNet b1.58 2B4T: {macs:,} ternary MACs a layer, {layers * macs:,} a token "
        f"({layers} layers); its weights take "
        + " or ".join(f"{layers * macs * bits / 8e6:,.1f} MB ({name})"
                      for name, bits in WEIGHT_BITS.items()))
    out(layer_table(layer))
    return layer
