"""Test vectors, cycle-level drivers and runners for the coupler (`tritherm.hdl.thermo`).

A `CouplerJob` is a list of phases: ``("write", [(addr, data), ...])`` (configuration
writes), ``("run", steps)``, or ``("stop", steps, after)`` (run, raise ``stop`` once
`after` samples have arrived; the core finishes the step in flight, so ``after + 1``
samples come when THIN = 1). `expected_words` gives, from the golden model, every sample
word the core must emit; `drive_jobs` runs jobs through any `CycleIO` (the Amaranth
simulator or cocotb on Icarus / Verilator) and returns the words it got. `run_jobs` does
both ends for a simulator by name; the cocotb side is `tritherm.sim.verify.coupler_cocotb`.

With no `Traffic`, samples are taken as soon as they are offered and the driver sleeps
between them (`CycleIO.wait_high` where the simulator has it: one event per sample instead
of one per cycle); with `Traffic`, configuration writes have random gaps and ``samples``
random back-pressure.
"""

from __future__ import annotations

import math
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tritherm.formats import (COUPLER_FORMAT, COUPLER_MODES, COUPLER_REGION_SCALAR,
                              COUPLER_REG_HSHIFT, COUPLER_REG_NOISE, COUPLER_REG_QUARTIC,
                              COUPLER_REG_MODE, COUPLER_REG_DAMP, coupler_address,
                              coupler_cycles_per_step)

from .cycle import CycleIO, Traffic, unpack_fields
from ..golden import CouplerModel, CouplerProgram, CouplerSamples, shaper_stats

__all__ = ["CouplerJob", "Traffic", "random_spd", "random_program", "random_jobs",
           "expected_words", "sample_counts", "pack_samples", "unpack_sample", "drive_jobs",
           "run_jobs", "run_cocotb_jobs",
           "first_difference", "SIMULATORS", "TOPLEVEL"]

SIMULATORS = ("amaranth", "icarus", "verilator")
TOPLEVEL = "coupler"


@dataclass
class CouplerJob:
    """Phases run in order on one core (state carries over between jobs and phases)."""

    name: str
    phases: list = field(default_factory=list)


def random_spd(rng: np.random.Generator, n: int, cond: float, largest: float) -> np.ndarray:
    """A random symmetric positive definite n x n matrix with eigenvalues from
    ``largest / cond`` to `largest` (both present, the others log-uniform between)."""
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    q = q * np.sign(np.diag(r))
    logs = rng.uniform(0, math.log(cond), size=n)
    logs[0], logs[-1] = 0.0, math.log(cond)
    eig = largest * np.exp(-logs)
    return (q * eig) @ q.T


def random_program(rng: np.random.Generator, cells: int, mode: str, quartic: bool,
                   saturate: bool = False, thin: int = 1, shaper: str = "icdf") -> CouplerProgram:
    """A random configuration: SPD A with condition number log-uniform in [1, 100], a
    random mean in [-1.5, 1.5] (b = A m), kT such that the widest stationary standard
    deviation is 0.5..3 (15..40 when `saturate`: x runs into the rails), h = 2**-2..2**-6
    (stable), gamma 0.5..4; with `quartic`, J4 in 0.05..0.5 and J2 in -0.5..0.2; noise
    for the `shaper` of the core that runs it."""
    fmt = COUPLER_FORMAT
    cond = math.exp(rng.uniform(0, math.log(100)))
    hshift = int(rng.integers(2, 7))
    h = 2.0 ** -hshift
    largest = rng.uniform(0.5, min(6.0, 1.6 / h if mode == "overdamped" else 6.0))
    A = random_spd(rng, cells, cond, largest)
    mean = rng.uniform(-1.5, 1.5, size=cells)
    b = np.clip(A @ mean, -30, 30)
    spread = rng.uniform(15, 40) if saturate else rng.uniform(0.5, 3)
    kT = spread ** 2 * largest / cond
    gamma = rng.uniform(0.5, 4)
    sd_xi = math.sqrt(shaper_stats(shaper).variance_sigma2)
    if mode == "overdamped":
        kT = min(kT, (1.9 * sd_xi) ** 2 / (2 * h))
    else:
        c1 = math.exp(-gamma * h)
        kT = min(kT, (1.9 * sd_xi) ** 2 / (1 - c1 * c1))
    x0 = np.clip(mean + rng.normal(scale=0.5, size=cells), -31, 31)
    if saturate:
        x0 = rng.choice([-31.0, 31.0], size=cells) * rng.uniform(0.3, 1, size=cells)
    p0 = rng.normal(scale=0.5, size=cells) if mode == "underdamped" else np.zeros(cells)
    J2 = J4 = None
    if quartic:
        J4 = rng.uniform(0.05, 0.5, size=cells)
        J2 = rng.uniform(-0.5, 0.2, size=cells)
    seed = int(rng.integers(0, 1 << 32))
    return CouplerProgram.from_physical(A, b, kT, hshift, mode, gamma, J2, J4, x0, p0,
                                        thin=thin, seed=seed, shaper=shaper, fmt=fmt)


def random_jobs(cells: int, count: int, seed: int, steps: int = 2000,
                saturating: float = 0.15) -> list[CouplerJob]:
    """`count` jobs of `steps` steps on `cells` cells: both modes, quartic on and off,
    about `saturating` of them saturating; every fourth job changes h, the noise, the mode
    and the quartic switch half way without reseeding (run-time reconfiguration)."""
    rng = np.random.default_rng([seed, cells])
    jobs = []
    for k in range(count):
        mode = ("overdamped", "underdamped")[k % 2]
        quartic = (k // 2) % 2 == 1
        saturate = k == 2 or rng.random() < saturating
        program = random_program(rng, cells, mode, quartic, saturate)
        name = (f"cells {cells} job {k}: {mode}{', quartic' if quartic else ''}"
                f"{', saturating' if saturate else ''}, seed {program.seed:#x}")
        if k % 4 == 3:
            half = steps // 2
            other = "underdamped" if mode == "overdamped" else "overdamped"
            changes = [(COUPLER_REG_HSHIFT, program.hshift + 1),
                       (COUPLER_REG_NOISE, program.noise // 2),
                       (COUPLER_REG_DAMP, program.damp),
                       (COUPLER_REG_MODE, COUPLER_MODES[other]),
                       (COUPLER_REG_QUARTIC, 1 - program.quartic)]
            writes = [(coupler_address(COUPLER_REGION_SCALAR, r), v & 0xFFFFFFFF)
                      for r, v in changes]
            jobs.append(CouplerJob(name + ", reconfigured half way",
                                   [("write", program.writes()), ("run", half),
                                    ("write", writes), ("run", steps - half)]))
        else:
            jobs.append(CouplerJob(name, [("write", program.writes()), ("run", steps)]))
    return jobs


def pack_samples(samples: CouplerSamples, cells: int) -> list[int]:
    """Sample words as the core's ``samples__payload``: seq, flags, x[], p[] (low first)."""
    words = []
    mask = 0xFFFF
    for k in range(len(samples)):
        word = int(samples.seq[k]) & 0xFFFFFFFF
        word |= sum(int(f) << i for i, f in enumerate(samples.flags[k])) << 32
        offset = 32 + cells
        for values in (samples.x[k], samples.p[k]):
            for v in values:
                word |= (int(v) & mask) << offset
                offset += 16
        words.append(word)
    return words


def unpack_sample(word: int, cells: int) -> dict:
    """A sample word -> {"seq", "flags" (list of 0/1), "x", "p"}."""
    return {"seq": word & 0xFFFFFFFF,
            "flags": [(word >> (32 + i)) & 1 for i in range(cells)],
            "x": unpack_fields(word >> (32 + cells), 16, cells),
            "p": unpack_fields(word >> (32 + cells + 16 * cells), 16, cells)}


def expected_words(jobs: list[CouplerJob], cells: int, shaper: str = "icdf"
                   ) -> list[list[int]]:
    """Golden sample words of every job (one model; state carries over as in the core)."""
    model = CouplerModel(cells, shaper)
    out = []
    for job in jobs:
        words = []
        for phase in job.phases:
            if phase[0] == "write":
                model.load(phase[1])
            elif phase[0] == "run":
                words += pack_samples(model.run(phase[1]), cells)
            else:                                 # ("stop", steps, after): after + 1 steps
                _, steps, after = phase
                words += pack_samples(model.run(min(steps, after * model.thin + 1)), cells)
        out.append(words)
    return out


def sample_counts(jobs: list[CouplerJob], cells: int, shaper: str = "icdf") -> list[list[int]]:
    """Samples each phase of each job yields (what the driver waits for)."""
    model = CouplerModel(cells, shaper)
    counts = []
    for job in jobs:
        per = []
        for phase in job.phases:
            if phase[0] == "write":
                model.load(phase[1])
                per.append(0)
            else:
                steps = phase[1] if phase[0] == "run" else min(phase[1],
                                                                 phase[2] * model.thin + 1)
                # Count without the arithmetic: emissions follow the THIN counter only.
                left, thin, emitted = model.left, model.thin, 0
                for _ in range(steps):
                    if left == 1:
                        left, emitted = thin, emitted + 1
                    else:
                        left -= 1
                model.left = left
                model.step += steps
                per.append(emitted)
        counts.append(per)
    return counts


CONFIG_INPUTS = ("config__valid", "config__payload", "run__valid", "run__payload", "stop",
                 "samples__ready", "noise__ready")


async def _wait_high(io: CycleIO, name: str, max_cycles: int) -> None:
    """Leave the cycle in which output `name` is high settled (as after ``settle()``)."""
    fast = getattr(io, "wait_high", None)
    if fast is not None:
        await fast(name, max_cycles)
        return
    for _ in range(max_cycles):
        await io.settle()
        if io.get(name):
            return
        await io.end_cycle()
    raise TimeoutError(f"{name} stayed low for {max_cycles} cycles")


async def _write(io: CycleIO, writes, traffic: Traffic | None, max_cycles: int) -> None:
    for addr, data in writes:
        if traffic is not None:
            while traffic.rng.random() < traffic.gap:
                await io.begin_cycle()
                io.set("config__valid", 0)
                await io.end_cycle()
        await io.begin_cycle()
        io.set("config__valid", 1)
        io.set("config__payload", addr | data << 16)
        for _ in range(max_cycles):
            await io.settle()
            if io.get("config__ready"):
                break
            await io.end_cycle()
        else:
            raise TimeoutError("the coupler does not take configuration writes")
        await io.end_cycle()
    await io.begin_cycle()
    io.set("config__valid", 0)


async def _run(io: CycleIO, steps: int, count: int, stop_after: int | None,
               traffic: Traffic | None, max_cycles: int) -> list[int]:
    await io.begin_cycle()
    io.set("run__valid", 1)
    io.set("run__payload", steps)
    io.set("samples__ready", int(traffic is None))
    for _ in range(max_cycles):
        await io.settle()
        if io.get("run__ready"):
            break
        await io.end_cycle()
    await io.end_cycle()
    await io.begin_cycle()
    io.set("run__valid", 0)
    words: list[int] = []
    while len(words) < count:
        if traffic is None:
            await _wait_high(io, "samples__valid", max_cycles)
            words.append(io.get("samples__payload"))
            await io.end_cycle()
        else:
            for _ in range(max_cycles):
                await io.begin_cycle()
                ready = traffic.rng.random() >= traffic.stall
                io.set("samples__ready", int(ready))
                await io.settle()
                taken = ready and io.get("samples__valid")
                if taken:
                    words.append(io.get("samples__payload"))
                await io.end_cycle()
                if taken:
                    break
            else:
                raise TimeoutError(f"no sample in {max_cycles} cycles")
        if stop_after is not None and len(words) == stop_after:
            await io.begin_cycle()
            io.set("stop", 1)
    # The run is over when the core stops (a last step may follow the last sample).
    for _ in range(max_cycles):
        await io.settle()
        if not io.get("running"):
            break
        await io.end_cycle()
    else:
        raise TimeoutError("the coupler did not stop")
    await io.end_cycle()
    await io.begin_cycle()
    io.set("stop", 0)
    io.set("samples__ready", 0)
    return words


async def drive_jobs(io: CycleIO, cells: int, multipliers: int, jobs: list[CouplerJob],
                     counts: list[list[int]], traffic: Traffic | None = None
                     ) -> list[list[int]]:
    """Run `jobs` (with the sample `counts` of `sample_counts`); return their words."""
    max_cycles = 4 * coupler_cycles_per_step(cells, multipliers, True) + 2000
    out = []
    for job, per in zip(jobs, counts):
        words = []
        for phase, count in zip(job.phases, per):
            if phase[0] == "write":
                await _write(io, phase[1], traffic, max_cycles)
            elif phase[0] == "run":
                words += await _run(io, phase[1], count, None, traffic, max_cycles)
            else:
                words += await _run(io, phase[1], count, phase[2], traffic, max_cycles)
        out.append(words)
    return out


def first_difference(got: list[int], want: list[int], cells: int) -> str | None:
    """None if the sample words agree, else the first differing sample, decoded."""
    if len(got) != len(want):
        return f"got {len(got)} samples, golden model says {len(want)}"
    for k, (a, b) in enumerate(zip(got, want)):
        if a != b:
            ga, wa = unpack_sample(a, cells), unpack_sample(b, cells)
            fields = {key: (ga[key], wa[key]) for key in ga if ga[key] != wa[key]}
            return f"sample {k} (seq {wa['seq']}) differs: " + "; ".join(
                f"{key}: core {g}, golden {w}" for key, (g, w) in fields.items())
    return None


def run_jobs(simulator: str, cells: int, multipliers: int, jobs: list[CouplerJob],
             traffic: Traffic | None = None, shaper: str = "icdf") -> list[list[int]]:
    """Run `jobs` on a fresh core in `simulator` ("amaranth", "icarus", "verilator")."""
    from tritherm.hdl.thermo.wide import WideCoupler

    counts = sample_counts(jobs, cells, shaper)
    dut = WideCoupler(cells, multipliers, shaper)
    if simulator == "amaranth":
        from amaranth.sim import Simulator

        from .cycle import AmaranthIO

        sim = Simulator(dut)
        sim.add_clock(1e-8)
        result = []

        async def bench(ctx):
            result.extend(await drive_jobs(AmaranthIO(ctx, dut), cells, multipliers, jobs,
                                           counts, traffic))

        sim.add_testbench(bench)
        sim.run()
        return result
    return run_cocotb_jobs(dut, simulator, jobs, counts, traffic)


def run_cocotb_jobs(dut, simulator: str, jobs: list[CouplerJob], counts: list[list[int]],
                    traffic: Traffic | None = None, vcd: Path | None = None) -> list[list[int]]:
    """Run `jobs` on the `WideCoupler` `dut` as Verilog under cocotb on `simulator` ("icarus" or
    "verilator"); with `vcd`, its waveform goes there (and, on failure, the log beside it)."""
    import shutil

    from . import rtl

    waves = vcd is not None
    build = rtl.build(rtl.verilog_of(dut, TOPLEVEL), TOPLEVEL, simulator, waves=waves)
    with tempfile.TemporaryDirectory(prefix="tritherm-coupler-") as scratch:
        scratch = Path(scratch)
        (scratch / "jobs.pickle").write_bytes(pickle.dumps({
            "cells": dut.cells, "multipliers": dut.multipliers, "counts": counts,
            "jobs": [(j.name, j.phases) for j in jobs],
            "traffic": None if traffic is None else (traffic.gap, traffic.stall,
                                                     traffic.seed)}))
        plusargs = [f"+vcd={vcd.resolve()}"] if waves and simulator == "icarus" else []
        tests, failed = rtl.run_cocotb(
            build, TOPLEVEL, simulator, "tritherm.sim.verify.coupler_cocotb",
            env={"TRITHERM_JOBS": str(scratch / "jobs.pickle"),
                 "TRITHERM_RESULTS": str(scratch / "results.pickle")},
            waves=waves, plusargs=plusargs, run_dir=scratch / "run")
        if failed or not (scratch / "results.pickle").exists():
            log = scratch / "run" / "simulation.log"
            if waves:
                kept = vcd.with_suffix(".log")
                if log.exists():
                    shutil.copy(log, kept)
                raise rtl.CocotbFailure(f"the {simulator} simulation of the coupler did not "
                                        f"finish (its log is in {kept})")
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise rtl.CocotbFailure(f"the {simulator} simulation did not finish its jobs\n"
                                    f"{tail}")
        if waves and simulator == "verilator":
            shutil.copy(scratch / "run" / "dump.vcd", vcd)
        return pickle.loads((scratch / "results.pickle").read_bytes())
