"""The coupler on the Amaranth simulator, sample word for sample word against the golden
model: small cells, run-time reconfiguration, back-pressure, thinning, stop."""

import os

import numpy as np
import pytest

from tritherm.hdl.thermo import Coupler
from tritherm.sim.coupler_bench import (CouplerJob, Traffic, expected_words,
                                        first_difference, random_jobs, random_program,
                                        run_jobs)

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
    (lambda: Coupler(cells=1), "cells must be an integer in [2, 64]"),
    (lambda: Coupler(cells=65), "cells must be an integer in [2, 64]"),
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
