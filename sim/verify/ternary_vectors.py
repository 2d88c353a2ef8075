"""Test vectors and the cycle-level driver for the ternary MAC array.

The same `TernaryJob` lists, from `random_jobs` / `extreme_jobs`, feed the Amaranth
simulator tests, the cocotb tests on Icarus and Verilator, and ``tritherm sim ternary``;
`drive_jobs` runs them through any `CycleIO`, with random gaps on the input stream and
random back-pressure on the output stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tritherm.formats import INT8_MAX, INT8_MIN, TERNARY_VARIANTS, TernaryArrayShape

from .cycle import CycleIO, Traffic, pack_fields, unpack_fields
from ..golden import array_weight_image, check_int8, check_ternary, ternary_matmul

__all__ = ["TernaryJob", "random_jobs", "extreme_jobs", "drive_jobs", "Traffic",
           "TEST_SHAPES", "TEST_GEOMETRIES", "COCOTB_SHAPES", "shape_id", "ARRAY_INPUTS", "first_mismatch", "shape_from_text", "shape_to_text"]

#: The elaborated configurations every simulator is tested on: three geometries (a
#: whole base-3 byte per lane, a part byte, several lanes of one narrow input) for each
#: variant of the array (`tritherm.formats.TERNARY_VARIANTS`).
TEST_GEOMETRIES = ((4, 5, 40), (3, 8, 64), (8, 3, 31))
TEST_SHAPES = tuple(TernaryArrayShape(lanes, inputs, max_k, variant)
                    for variant in TERNARY_VARIANTS
                    for lanes, inputs, max_k in TEST_GEOMETRIES)
#: The shapes run as Verilog on Icarus and Verilator (a build each): every geometry of the
#: "tree" and "dense" variants, one of each other variant (a part byte for "dense-2bit").
COCOTB_SHAPES = tuple(shape for shape in TEST_SHAPES
                      if shape.variant in ("tree", "dense")
                      or (shape.variant, shape.lanes) in (("dense-2bit", 3), ("dense-base3", 4)))


def shape_id(shape: TernaryArrayShape) -> str:
    """A short name of a shape for test ids: ``dense-4x5k40``."""
    return f"{shape.variant}-{shape.lanes}x{shape.inputs}k{shape.max_k}"


def shape_to_text(shape: TernaryArrayShape) -> str:
    """``lanes,inputs,max_k,variant``: how a shape travels in an environment variable."""
    return f"{shape.lanes},{shape.inputs},{shape.max_k},{shape.variant}"


def shape_from_text(text: str) -> TernaryArrayShape:
    """The inverse of `shape_to_text` (``lanes,inputs,max_k`` alone means ``"tree"``)."""
    parts = text.split(",")
    lanes, inputs, max_k = (int(part) for part in parts[:3])
    return TernaryArrayShape(lanes, inputs, max_k, *parts[3:])


@dataclass
class TernaryJob:
    """One weight tile and the activation vectors run against it.

    ``weights`` is lanes' x K (lanes' <= lanes, K <= capacity); ``activations`` is B x K.
    """

    weights: np.ndarray
    activations: np.ndarray
    name: str = ""

    def __post_init__(self):
        self.weights = check_ternary(self.weights)
        self.activations = np.atleast_2d(check_int8(self.activations))
        if self.weights.ndim != 2 or self.activations.shape[1] != self.weights.shape[1]:
            raise ValueError(f"job {self.name!r}: weights {self.weights.shape} and "
                             f"activations {self.activations.shape} disagree on K")

    @property
    def k(self) -> int:
        return self.weights.shape[1]

    def expected(self, shape: TernaryArrayShape) -> np.ndarray:
        """Golden results, B x lanes (lanes past the tile are zero)."""
        out = np.zeros((self.activations.shape[0], shape.lanes), dtype=np.int64)
        out[:, :self.weights.shape[0]] = ternary_matmul(self.weights, self.activations)
        return out


def extreme_jobs(shape: TernaryArrayShape) -> list[TernaryJob]:
    """All activations -128 against all +1 and against all -1 weights at maximum K
    (the accumulator's extremes, -128 K and +128 K), and +127 against mixed signs."""
    k = shape.capacity
    lanes = shape.lanes
    low = np.full((1, k), INT8_MIN)
    high = np.full((1, k), INT8_MAX)
    signs = np.where(np.arange(lanes) % 2 == 0, 1, -1)[:, None]
    return [
        TernaryJob(np.ones((lanes, k)), low, "all -128 x all +1 at max K"),
        TernaryJob(-np.ones((lanes, k)), low, "all -128 x all -1 at max K"),
        TernaryJob(np.repeat(signs, k, axis=1), np.vstack([high, low]), "+-127/-128 x +-1"),
    ]


def random_jobs(shape: TernaryArrayShape, count: int, seed: int) -> list[TernaryJob]:
    """`count` random jobs: K from 1 to capacity, weights with random sparsity, 1-3
    vectors each, activations uniform over int8 or clustered at its ends."""
    rng = np.random.default_rng(seed)
    jobs = []
    for index in range(count):
        k = int(rng.integers(1, shape.capacity + 1))
        zero_fraction = rng.uniform(0.0, 0.9)
        weights = rng.choice([-1, 0, 1], size=(shape.lanes, k),
                             p=[(1 - zero_fraction) / 2, zero_fraction, (1 - zero_fraction) / 2])
        batch = int(rng.integers(1, 4))
        if rng.random() < 0.2:
            activations = rng.choice([INT8_MIN, INT8_MIN + 1, INT8_MAX], size=(batch, k))
        else:
            activations = rng.integers(INT8_MIN, INT8_MAX + 1, size=(batch, k))
        jobs.append(TernaryJob(weights, activations, f"seed {seed} job {index}"))
    return jobs


async def write_weights(io: CycleIO, shape: TernaryArrayShape, image: np.ndarray, rows: int):
    """Write the first `rows` words of a weight image, one byte per cycle."""
    for row in range(rows):
        for column in range(shape.row_bytes):
            await io.begin_cycle()
            io.set("weights__en", 1)
            io.set("weights__row", row)
            io.set("weights__column", column)
            io.set("weights__data", int(image[row, column]))
            await io.end_cycle()
    await io.begin_cycle()
    io.set("weights__en", 0)
    await io.end_cycle()


def activation_beats(shape: TernaryArrayShape, vector: np.ndarray) -> list[int]:
    """A vector of K activations as packed beats of `inputs` bytes, zero-padded."""
    beats = -(-len(vector) // shape.inputs)
    padded = np.zeros(beats * shape.inputs, dtype=np.int64)
    padded[:len(vector)] = vector
    return [pack_fields(padded[i:i + shape.inputs], 8) for i in range(0, len(padded), shape.inputs)]


async def run_vectors(io: CycleIO, shape: TernaryArrayShape, k: int, vectors: np.ndarray,
                      traffic: Traffic, max_cycles: int = 100_000) -> np.ndarray:
    """Stream the vectors (B x K) through the array and collect B result words."""
    beats = [beat for vector in vectors for beat in activation_beats(shape, vector)]
    io.set("k", k)
    results: list[list[int]] = []
    sent = 0
    offering = False
    for _ in range(max_cycles):
        await io.begin_cycle()
        # A valid beat stays offered until taken; a gap only starts between beats.
        offering = sent < len(beats) and (offering or traffic.rng.random() >= traffic.gap)
        io.set("activations__valid", int(offering))
        io.set("activations__payload", beats[sent] if offering else 0)
        ready = traffic.rng.random() >= traffic.stall
        io.set("results__ready", int(ready))
        await io.settle()
        took = offering and io.get("activations__ready")
        if ready and io.get("results__valid"):
            results.append(unpack_fields(io.get("results__payload"), shape.acc_width, shape.lanes))
        await io.end_cycle()
        if took:
            sent += 1
            offering = False
        if len(results) == len(vectors):
            break
    else:
        raise TimeoutError(f"array gave {len(results)} of {len(vectors)} results "
                           f"in {max_cycles} cycles")
    await io.begin_cycle()
    io.set("activations__valid", 0)
    io.set("results__ready", 0)
    await io.end_cycle()
    return np.array(results, dtype=np.int64)


#: Every input of `TernaryArray` but the clock and reset, by its Verilog name.
ARRAY_INPUTS = ("activations__valid", "activations__payload", "results__ready", "k",
                "weights__en", "weights__row", "weights__column", "weights__data",
                "clear_flags")


async def drive_jobs(io: CycleIO, shape: TernaryArrayShape, jobs: list[TernaryJob],
                     traffic: Traffic) -> list[np.ndarray]:
    """Load each job's weights, run its vectors, return the result words (B x lanes each)."""
    await io.begin_cycle()
    for name in ARRAY_INPUTS:
        io.set(name, 0)
    await io.end_cycle()
    outputs = []
    for job in jobs:
        image = array_weight_image(shape, job.weights)
        await write_weights(io, shape, image, rows=-(-job.k // shape.inputs))
        outputs.append(await run_vectors(io, shape, job.k, job.activations, traffic))
    return outputs


def first_mismatch(shape: TernaryArrayShape, jobs: list[TernaryJob],
                   outputs: list[np.ndarray]) -> str | None:
    """Compare every result word with the golden model; describe the first difference."""
    for job, got in zip(jobs, outputs):
        want = job.expected(shape)
        if got.shape != want.shape:
            return f"{job.name}: got {got.shape[0]} result words, expected {want.shape[0]}"
        if not np.array_equal(got, want):
            b, lane = (int(i) for i in np.argwhere(got != want)[0])
            return (f"{job.name} (K={job.k}): vector {b} lane {lane}: "
                    f"got {got[b, lane]}, golden model says {want[b, lane]}")
    return None
