"""The coupler as Verilog under cocotb: every sample word of long runs against the golden
model, on Verilator (all 50 configurations, 2,000 steps each) and Icarus Verilog (a
subset: Icarus simulates this core at roughly 6k cycles/s against Verilator's ~50k; set
TRITHERM_COUPLER_ICARUS=full to give it the same 50). The larger cores (16, 64 and the
generator's 192 cells) run on both, Icarus with fewer steps.

Configurations (`random_jobs`): random SPD A with condition numbers 1..100, both modes,
quartic on and off, about one in six saturating (flags compared), every fourth changing
h, noise, mode and quartic at run time without reseeding; all through one build per cell
count.
"""

import os

import pytest

from tritherm.hdl.thermo import Coupler
from tritherm.sim.verify import rtl
from tritherm.sim.verify.coupler_vectors import expected_words, first_difference, random_jobs, run_jobs

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")
STEPS = 2000

#: (cells, multipliers) -> configurations of STEPS steps; 20 + 18 + 12 = 50.
LONG_RUNS = {(2, 1): 20, (4, 2): 18, (8, 4): 12}
#: Icarus: the same builds, fewer configurations (unless TRITHERM_COUPLER_ICARUS=full).
ICARUS_RUNS = {(2, 1): 2, (4, 2): 1, (8, 4): 1}
#: Larger cores: (cells, multipliers) -> (configurations, steps), on Verilator and Icarus.
LARGE_RUNS = {
    "verilator": {(16, 4): (3, 200), (64, 8): (1, 25), (192, 16): (2, 30)},
    "icarus": {(16, 4): (1, 100), (64, 8): (1, 10), (192, 16): (1, 6)},
}


def check(simulator, cells, multipliers, jobs):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED}); {simulator}, {cells} cells, "
          f"{multipliers} multipliers, {len(jobs)} configurations")
    got = run_jobs(simulator, cells, multipliers, jobs)
    want = expected_words(jobs, cells)
    assert len(got) == len(jobs)
    for job, g, w in zip(jobs, got, want):
        mismatch = first_difference(g, w, cells)
        assert mismatch is None, f"{simulator}, {job.name}: {mismatch} (seed {SEED})"


@pytest.mark.parametrize("simulator", rtl.SIMULATORS)
@pytest.mark.parametrize("cells,multipliers", list(LONG_RUNS), ids=lambda v: str(v))
def test_coupler_long_runs(simulator, cells, multipliers):
    plan = LONG_RUNS if simulator == "verilator" or \
        os.environ.get("TRITHERM_COUPLER_ICARUS") == "full" else ICARUS_RUNS
    check(simulator, cells, multipliers,
          random_jobs(cells, plan[cells, multipliers], SEED, STEPS))


@pytest.mark.parametrize("simulator", rtl.SIMULATORS)
@pytest.mark.parametrize("cells,multipliers", list(LARGE_RUNS["verilator"]),
                         ids=lambda v: str(v))
def test_coupler_large(simulator, cells, multipliers):
    count, steps = LARGE_RUNS[simulator][cells, multipliers]
    check(simulator, cells, multipliers, random_jobs(cells, count, SEED, steps))


@pytest.mark.parametrize("cells,multipliers", [(8, 4), (3, 1)])
def test_coupler_verilog_is_lint_clean(cells, multipliers, tmp_path):
    """`verilator --lint-only -Wall` with the project's documented waivers."""
    path = tmp_path / "coupler.v"
    path.write_text(rtl.verilog_of(Coupler(cells, multipliers), "coupler"))
    clean, messages = rtl.lint(path)
    assert clean, messages
