"""Run a whole ternary matrix product on the simulated array, as an accelerator driver does.

``W`` (N x K) is cut into tiles of ``lanes`` rows by ``capacity`` columns; every tile runs
with the matching slice of the activations, and the partial sums of the K chunks are added
on the host. The result is exact whatever N and K are.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tritherm.formats import TernaryArrayShape

from ..golden import check_int8, check_ternary, ternary_matmul
from .ternary_vectors import TernaryJob, Traffic, drive_jobs, shape_to_text

__all__ = ["Tile", "plan_tiles", "tile_jobs", "run_matrix", "run_jobs_amaranth", "count_cycles",
           "MatrixRun",
           "SIMULATORS"]

SIMULATORS = ("amaranth", "icarus", "verilator")
TOPLEVEL = "ternary_array"


@dataclass(frozen=True)
class Tile:
    """Rows ``n0:n1`` and columns ``k0:k1`` of W, run as one job on the array."""

    n0: int
    n1: int
    k0: int
    k1: int


def plan_tiles(shape: TernaryArrayShape, n: int, k: int) -> list[Tile]:
    """Tiles covering an N x K matrix: lane blocks outside, K chunks inside."""
    return [Tile(n0, min(n0 + shape.lanes, n), k0, min(k0 + shape.capacity, k))
            for n0 in range(0, n, shape.lanes)
            for k0 in range(0, k, shape.capacity)]


@dataclass
class MatrixRun:
    """The array's result, the golden model's, and where they first differ (if anywhere)."""

    result: np.ndarray
    expected: np.ndarray
    tiles: int
    mismatch: str | None


def tile_jobs(shape: TernaryArrayShape, weights, activations) -> list[TernaryJob]:
    """The jobs of ``weights @ activations`` (N x K by B x K) tiled over the array, in the
    order `run_matrix` runs them."""
    return _jobs(shape, weights, np.atleast_2d(activations), plan_tiles(shape, *weights.shape))


def _jobs(shape, weights, activations, tiles):
    return [TernaryJob(weights[t.n0:t.n1, t.k0:t.k1], activations[:, t.k0:t.k1],
                       f"tile rows {t.n0}:{t.n1} cols {t.k0}:{t.k1}") for t in tiles]


def run_jobs_amaranth(shape: TernaryArrayShape, jobs: list[TernaryJob], traffic: Traffic,
                      vcd: str | os.PathLike | None = None) -> list[np.ndarray]:
    """Run jobs through the array on the Amaranth simulator; return their result words."""
    return _simulate_amaranth(shape, jobs, traffic, vcd)[0]


def count_cycles(shape: TernaryArrayShape, jobs: list[TernaryJob]) -> int:
    """Clock cycles the array takes for `jobs` (weight loads and results included, no
    stalls), counted on the Amaranth simulator."""
    return _simulate_amaranth(shape, jobs, Traffic(gap=0.0, stall=0.0), None)[1]


def _simulate_amaranth(shape, jobs, traffic, vcd) -> tuple[list[np.ndarray], int]:
    from amaranth.sim import Simulator

    from tritherm.hdl.ternary import TernaryArray

    from .cycle import AmaranthIO

    dut = TernaryArray(shape)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    outputs = []
    cycles = []

    async def bench(ctx):
        io = AmaranthIO(ctx, dut)
        outputs.extend(await drive_jobs(io, shape, jobs, traffic))
        cycles.append(io.cycles)

    sim.add_testbench(bench)
    if vcd:
        with sim.write_vcd(str(vcd)):
            sim.run()
    else:
        sim.run()
    return outputs, cycles[0]


def _run_cocotb(shape, jobs, traffic, simulator, vcd):
    from tritherm.hdl.ternary import TernaryArray

    from . import rtl

    build = rtl.build(rtl.verilog_of(TernaryArray(shape), TOPLEVEL), TOPLEVEL, simulator,
                      waves=vcd is not None)
    with tempfile.TemporaryDirectory(prefix="tritherm-") as scratch:
        scratch = Path(scratch)
        (scratch / "jobs.pickle").write_bytes(pickle.dumps(
            {"jobs": [(j.weights, j.activations, j.name) for j in jobs],
             "traffic": (traffic.gap, traffic.stall, traffic.seed)}))
        plusargs = [f"+vcd={Path(vcd).resolve()}"] if vcd and simulator == "icarus" else []
        tests, failed = rtl.run_cocotb(
            build, TOPLEVEL, simulator, "tritherm.sim.verify.ternary_cocotb",
            env={"TRITHERM_SHAPE": shape_to_text(shape),
                 "TRITHERM_JOBS": str(scratch / "jobs.pickle"),
                 "TRITHERM_RESULTS": str(scratch / "results.pickle")},
            waves=vcd is not None, plusargs=plusargs, run_dir=scratch / "run")
        if failed or not (scratch / "results.pickle").exists():
            raise rtl.CocotbFailure(f"the {simulator} simulation did not finish its jobs")
        if vcd and simulator == "verilator":
            shutil.copy(scratch / "run" / "dump.vcd", vcd)
        return pickle.loads((scratch / "results.pickle").read_bytes())


def run_matrix(weights, activations, shape: TernaryArrayShape, simulator="amaranth",
               vcd: str | os.PathLike | None = None, traffic: Traffic | None = None) -> MatrixRun:
    """Compute ``W @ x`` on the simulated array and compare it with the golden model.

    `weights` is N x K ternary, `activations` K or B x K int8. `simulator` is one of
    `SIMULATORS`, or a callable ``(shape, jobs) -> outputs`` (B x lanes result words per
    `TernaryJob`) that runs the tiles elsewhere, such as `tritherm.firmware.Device.run_jobs`
    on a board. Returns a `MatrixRun` whose result has the activations' batch shape: (N,)
    or (B, N), int64.
    """
    if not callable(simulator) and simulator not in SIMULATORS:
        raise ValueError(f"simulator must be one of {', '.join(SIMULATORS)}, got {simulator!r}")
    w = check_ternary(weights)
    x = check_int8(activations)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D N x K matrix, got shape {w.shape}")
    expected = ternary_matmul(w, x)           # also checks that the shapes agree
    x2 = np.atleast_2d(x)
    tiles = plan_tiles(shape, *w.shape)
    jobs = _jobs(shape, w, x2, tiles)
    traffic = traffic or Traffic(gap=0.0, stall=0.0)
    if callable(simulator):
        outputs = simulator(shape, jobs)
    elif simulator == "amaranth":
        outputs = run_jobs_amaranth(shape, jobs, traffic, vcd)
    else:
        outputs = _run_cocotb(shape, jobs, traffic, simulator, vcd)
    result = np.zeros((x2.shape[0], w.shape[0]), dtype=np.int64)
    for tile, out in zip(tiles, outputs):
        result[:, tile.n0:tile.n1] += np.asarray(out)[:, :tile.n1 - tile.n0]
    result = result[0] if x.ndim == 1 else result
    mismatch = None
    if not np.array_equal(result, expected):
        index = tuple(int(i) for i in np.argwhere(result != expected)[0])
        mismatch = (f"output {list(index)}: array gave {result[index]}, "
                    f"golden model says {expected[index]}")
    return MatrixRun(result, expected, len(tiles), mismatch)
