"""Benchmark: the noise sources (Threefry-2x32 and the Gaussian shapers), placed and routed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tritherm.boards.catalog import FAMILY_DEVICES, format_table
from tritherm.hdl.noise import NoiseSource, Threefry2x32, shaper_core

from tritherm import toolchain
from tritherm.formats import SHAPER_SAMPLES, THREEFRY_ROUNDS

from .placement import PlacedResources, place_row, resource_cells

__all__ = ["NoiseDesign", "NOISE_DESIGNS", "QUICK_NOISE_DESIGNS", "NOISE_HEADER",
           "NoiseBenchRow", "noise_bench_table", "bench_noise"]


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
                f"{d.per_cycle:.3g} {d.unit}s", *resource_cells(self), rate, self.note)


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
            row = place_row(NoiseBenchRow(family, design), design.build(),
                             Path(build_dir) / f"{family}-{design.slug}")
            rows.append(row)
            out("  " + " ".join(c for c in row.cells()[4:] if c != "-"))
    out(noise_bench_table(rows))
    return rows


# --- the thermodynamic coupler -------------------------------------------------------------

#: Coupler sizes of `bench_coupler` (8 is the SPU's); `--quick` keeps the first.
