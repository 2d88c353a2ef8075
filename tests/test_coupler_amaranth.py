"""The coupler on the Amaranth simulator, sample word for sample word against the golden
model: small cells, run-time reconfiguration, back-pressure, thinning, stop; the cycles a
step takes against `coupler_cycles_per_step`; the raw noise tap against the noise model."""

import os

import numpy as np
import pytest
from amaranth.sim import Simulator

from tritherm.formats import (COUPLER_CELL_BITS, COUPLER_INDEX_BITS, COUPLER_REG_SEED,
                              COUPLER_REGION_A, COUPLER_REGION_A_ROW, COUPLER_REGION_SCALAR,
                              coupler_address, coupler_cycles_per_step)
from tritherm.hdl.thermo import Coupler
from tritherm.hdl.thermo.wide import WideCoupler
from tritherm.sim.verify.coupler_vectors import (CouplerJob, Traffic, expected_words,
                                                 first_difference, pack_samples, random_jobs,
                                                 random_program, run_jobs)
from tritherm.sim.verify.cycle import AmaranthIO, unpack_fields
from tritherm.sim.golden import CouplerModel, noise_steps

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")


def check(cells, multipliers, jobs, traffic=None):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    got = run_jobs("amaranth", cells, multipliers, jobs, traffic)
    want = expected_words(jobs, cells)
    for job, g, w in zip(jobs, got, want):
        assert len(w) > 0
        mismatch = first_difference(g, w, cells)
        assert mismatch is None, f"{job.name}: {mismatch} (seed {SEED})"


@pytest.mark.parametrize("cells,multipliers,jobs,steps", [
    (2, 1, 4, 300), (4, 2, 4, 120), (8, 8, 2, 50)])
def test_coupler_bit_exact(cells, multipliers, jobs, steps):
    """Both modes, quartic on and off, one saturating job, one reconfigured half way."""
    check(cells, multipliers, random_jobs(cells, jobs, SEED, steps))


def test_a_flag_raised_by_the_last_write_of_a_step_is_in_its_sample():
    """The last cell's saturation, raised by the step's very last write (at its commit),
    is in that step's sample for as long as the sample is offered (the wide words are read
    n + 1 cycles after the core offers them). A fixed case that found it: job 5 of seed
    3760353 (underdamped, saturating), whose cell 1 first saturates in step 4."""
    job = random_jobs(2, 6, 3760353, 12)[5]
    check(2, 1, [job])


def test_coupler_backpressure_thin_and_odd_cells():
    """3 cells (not a power of two), THIN = 3 then 1, random gaps in the configuration
    writes and back-pressure on the samples: the dynamics wait, nothing is dropped."""
    rng = np.random.default_rng([SEED, 3])
    a = random_program(rng, 3, "underdamped", True, thin=3)
    b = random_program(rng, 3, "overdamped", False, saturate=True)
    jobs = [CouplerJob("thin 3", [("write", a.writes()), ("run", 61)]),
            CouplerJob("saturating", [("write", b.writes()), ("run", 40)])]
    check(3, 1, jobs, Traffic(gap=0.3, stall=0.5, seed=SEED))


def test_coupler_stop_and_resume():
    """``stop`` ends a run after the step in flight; a new run continues from there."""
    rng = np.random.default_rng([SEED, 4])
    program = random_program(rng, 2, "underdamped", False)
    jobs = [CouplerJob("stop", [("write", program.writes()), ("stop", 10_000, 7),
                                ("run", 20)])]
    check(2, 2, jobs)


@pytest.mark.parametrize("make,message", [
    (lambda: Coupler(cells=1), "cells must be an integer in [2, 256]"),
    (lambda: Coupler(cells=257), "cells must be an integer in [2, 256]"),
    (lambda: Coupler(cells=8, multipliers=3),
     "multipliers must be a power of two that divides cells=8"),
    (lambda: Coupler(cells=6, multipliers=4),
     "multipliers must be a power of two that divides cells=6"),
    (lambda: Coupler(shaper="lfsr"), "shaper must be one of clt, icdf"),
    (lambda: Coupler(rounds=13), "unroll must be a divisor of rounds=13"),
])
def test_bad_parameters(make, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make()


def simulate(dut, testbench):
    """Run ``testbench(io)`` on `dut` in the Amaranth simulator (`AmaranthIO` ports)."""
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        await testbench(AmaranthIO(ctx, dut))

    sim.add_testbench(bench)
    sim.run()


async def transfer(io, stream: str, payload: int, limit: int = 100):
    """One beat on an input stream (``config`` or ``run``), waiting for ``ready``."""
    io.set(f"{stream}__valid", 1)
    io.set(f"{stream}__payload", payload)
    for _ in range(limit):
        ready = io.get(f"{stream}__ready")
        await io.end_cycle()
        if ready:
            break
    else:
        raise TimeoutError(f"{stream} not ready in {limit} cycles")
    io.set(f"{stream}__valid", 0)


async def configure(io, writes):
    for addr, data in writes:
        await transfer(io, "config", addr | data << 16)


async def run_and_time(io, steps: int, limit: int) -> tuple[list[int], list[int]]:
    """Run `steps` steps taking every sample at once; (sample words, their cycles)."""
    io.set("samples__ready", 1)
    await transfer(io, "run", steps)
    words, cycles, cycle = [], [], 0
    while len(words) < steps or io.get("running"):
        if io.get("samples__valid"):
            words.append(io.get("samples__payload"))
            cycles.append(cycle)
        await io.end_cycle()
        cycle += 1
        assert cycle < limit * (steps + 2), "the coupler stalled"
    return words, cycles


@pytest.mark.parametrize("cells,multipliers,quartic,noise_unroll,shaper", [
    (2, 1, False, 4, "icdf"), (3, 1, True, 4, "icdf"), (4, 2, True, 4, "icdf"),
    (8, 4, False, 4, "icdf"), (8, 4, True, 4, "icdf"), (8, 8, False, 10, "icdf"),
    # The iCE40UP5K SoC's coupler: the CLT source's 2 blocks a step take as long as a step.
    (2, 1, False, 4, "clt"), (2, 1, True, 4, "clt")])
def test_cycles_per_step_match_the_formula(cells, multipliers, quartic, noise_unroll, shaper):
    """Cycles between consecutive samples (THIN = 1, no back-pressure, noise fast enough)
    equal `coupler_cycles_per_step`; the samples are the golden model's."""
    rng = np.random.default_rng([SEED, cells, multipliers, quartic])
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    program = random_program(rng, cells, ("overdamped", "underdamped")[int(quartic)], quartic,
                             shaper=shaper)
    dut = WideCoupler(cells, multipliers, shaper, noise_unroll=noise_unroll)
    want_cycles = coupler_cycles_per_step(cells, multipliers, quartic)
    assert dut.noise_cycles_per_step <= want_cycles
    steps = 8
    result = {}

    async def bench(io):
        await configure(io, program.writes())
        result["words"], result["cycles"] = await run_and_time(io, steps, 4 * want_cycles)

    simulate(dut, bench)
    model = CouplerModel(cells, shaper)
    model.load(program.writes())
    assert result["words"] == pack_samples(model.run(steps), cells)
    assert np.diff(result["cycles"]).tolist() == [want_cycles] * (steps - 1)


def test_core_without_quartic_and_row_addressed_A():
    """A core built without the quartic pre-pass ignores QUARTIC and k4 (as the golden model
    told so) and keeps the linear step's cycles; A written row by row (region A_ROW, any
    size's address) sets the same matrix as the compact addresses."""
    cells, multipliers = 4, 2
    rng = np.random.default_rng([SEED, 41])
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    program = random_program(rng, cells, "underdamped", True)
    writes = []
    for address, data in program.writes():
        if address >> COUPLER_INDEX_BITS == COUPLER_REGION_A:
            i, j = (address >> COUPLER_CELL_BITS) & 63, address & 63
            address, data = coupler_address(COUPLER_REGION_A_ROW, i), j << 16 | data
        writes.append((address, data))
    dut = WideCoupler(cells, multipliers, quartic=False)
    steps, result = 6, {}

    async def bench(io):
        await configure(io, writes)
        result["words"], result["cycles"] = await run_and_time(io, steps, 200)

    simulate(dut, bench)
    model = CouplerModel(cells, quartic=False)
    model.load(program.writes())
    assert model.quartic == 0
    assert result["words"] == pack_samples(model.run(steps), cells)
    assert np.diff(result["cycles"]).tolist() == \
        [coupler_cycles_per_step(cells, multipliers)] * (steps - 1)


def test_noise_sets_the_pace_when_slower():
    """8 cells on 8 multipliers with the default noise source: the steps wait for noise
    beats, on average `noise_cycles_per_step` apart (a step, then the next block group)."""
    rng = np.random.default_rng([SEED, 88])
    program = random_program(rng, 8, "overdamped", False)
    dut = WideCoupler(8, 8)
    assert dut.noise_cycles_per_step > coupler_cycles_per_step(8, 8)
    result = {}

    async def bench(io):
        await configure(io, program.writes())
        result["cycles"] = (await run_and_time(io, 9, 100))[1]

    simulate(dut, bench)
    cycles = result["cycles"]
    assert (cycles[-1] - cycles[0]) / (len(cycles) - 1) == dut.noise_cycles_per_step
    assert min(np.diff(cycles)) == coupler_cycles_per_step(8, 8)


def test_noise_tap():
    """While stopped, ``noise`` offers the noise source's beats: after a seed write, the
    k-th beat taken is noise step k of every cell (`noise_steps`), read with gaps; reading
    advances the streams and the step count, so a run continues after the beats read (the
    golden model told so), and a SEED write restarts them. Nothing is offered while
    running."""
    cells, seed = 3, 0x5EED0000 + SEED
    rng = np.random.default_rng([SEED, 5])
    program = random_program(rng, cells, "underdamped", True)
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    dut = WideCoupler(cells, 1)
    reads, steps = 7, 5
    got = {}

    async def read_noise(io, count):
        beats, traffic = [], np.random.default_rng([SEED, 6])
        while len(beats) < count:
            ready = int(traffic.random() < 0.6)
            io.set("noise__ready", ready)
            if ready and io.get("noise__valid"):
                beats.append(unpack_fields(io.get("noise__payload"), 16, cells))
            await io.end_cycle()
        io.set("noise__ready", 0)
        return beats

    async def bench(io):
        got["reset"] = await read_noise(io, 2)          # the seed register resets to 0
        await configure(io, [(coupler_address(COUPLER_REGION_SCALAR, COUPLER_REG_SEED),
                              seed)])
        got["first"] = await read_noise(io, reads)
        got["step"] = io.get("step")
        await configure(io, program.writes(seed=False))
        io.set("samples__ready", 1)
        await transfer(io, "run", steps)
        io.set("noise__ready", 1)                       # ignored while running
        got["words"], offered = [], 0
        while len(got["words"]) < steps or io.get("running"):
            offered |= io.get("noise__valid")
            if io.get("samples__valid"):
                got["words"].append(io.get("samples__payload"))
            await io.end_cycle()
        got["offered while running"] = offered
        io.set("noise__ready", 0)
        got["after"] = await read_noise(io, 2)
        await configure(io, [(coupler_address(COUPLER_REGION_SCALAR, COUPLER_REG_SEED),
                              seed)])
        got["again"] = await read_noise(io, 2)

    simulate(dut, bench)
    assert got["reset"] == noise_steps(0, cells, 2).tolist()
    assert got["first"] == noise_steps(seed, cells, reads).tolist()
    assert got["step"] == reads
    model = CouplerModel(cells)
    model.load(program.writes(seed=False))
    model.write(coupler_address(COUPLER_REGION_SCALAR, COUPLER_REG_SEED), seed)
    model.step = reads                                   # the beats read are used up
    assert got["words"] == pack_samples(model.run(steps), cells)
    assert got["offered while running"] == 0
    assert got["after"] == noise_steps(seed, cells, 2, start=reads + steps).tolist()
    assert got["again"] == noise_steps(seed, cells, 2).tolist()
