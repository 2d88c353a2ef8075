"""The digit generator on the hardware, every sample word against the golden coupler.

- RTL (`hardware.generate_rtl`): the 192-cell coupler on 16 multipliers as Verilog on
  Verilator and on Icarus, the two-program generative run (uncoupled from x = 0, then the
  digit's A and b switched in) for a chain of each of two random digits (one on Icarus)
  through one simulator run, a sample every `RTL_THIN` steps compared with golden. A full
  image is 2 x 2,560 steps of 2,702 cycles (13.8 M cycles: 6.4 CPU minutes under cocotb
  on Verilator, hours on Icarus), so these runs shorten both phases to `SHORT` steps; the
  program switch, the quartic pre-pass, each chain's noise streams and the A rows beyond
  63 are all exercised (a chain's two programs are 75,000 configuration writes, driven
  from Python: most of the time; about 30 s a chain on Icarus).
- The SoC (`hardware.generate_board`, ``port="sim"``): one full-length image through the
  serial protocol, its words equal to golden's and its image `generate_golden`'s.

Seeds are printed; replay with TRITHERM_SEED.
"""

import os
from dataclasses import replace

import numpy as np
import pytest

from tritherm.apps.generate import generate_golden, load_model
from tritherm.apps.generate import hardware, integer
from tritherm.apps.generate.sampling import golden_agreement, sample
from tritherm.errors import UserError
from tritherm.formats import coupler_cycles_per_step

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")
#: Steps of each phase in the RTL runs (a multiple of RTL_THIN).
SHORT = 24


@pytest.fixture(scope="module")
def model():
    return load_model()


def _digits(count):
    rng = np.random.default_rng(SEED)
    return sorted(int(d) for d in rng.choice(10, size=count, replace=False))


def _same_as_golden(run, golden):
    assert np.array_equal(run.x_start, golden.x_start)
    assert np.array_equal(run.x_end, golden.x_end)
    assert np.array_equal(run.flags, golden.flags)
    assert np.array_equal(run.images, golden.images)
    assert np.array_equal(run.heat, golden.heat)


#: Digits (one chain each) a simulator runs.
RTL_DIGITS = {"verilator": 2, "icarus": 1}


@pytest.fixture(scope="module", params=list(RTL_DIGITS))
def rtl_runs(model, request):
    simulator = request.param
    digits = _digits(RTL_DIGITS[simulator])
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED}); digits {digits}, one chain "
          f"each, {SHORT} steps a phase, {simulator}")
    return digits, hardware.generate_rtl(model, digits, 1, SEED, simulator, steps=SHORT)


def test_rtl_equals_golden_on_every_sample_word(model, rtl_runs):
    digits, runs = rtl_runs
    for d in digits:
        agreement = runs[d].agreement
        assert agreement.words == 2 * SHORT // hardware.RTL_THIN
        assert agreement.exact, f"digit {d}: {agreement.first} (seed {SEED})"
        _same_as_golden(runs[d], generate_golden(replace(model, steps=SHORT), d, 1, SEED))


def test_agreement_counts_a_changed_word(model):
    """`_compare` finds one flipped bit of x in one word (the check can fail)."""
    from tritherm.sim.verify.coupler_vectors import expected_words
    short = replace(model, steps=4)
    jobs = hardware.generation_jobs(short, 1, 2, SEED, thin=2)
    want = expected_words(jobs, model.cells)
    got = [list(w) for w in want]
    got[1][2] ^= 1 << (32 + model.cells + 16 * 5)          # chain 1, sample 2, x[5]
    agreement = hardware._compare(got, want, model.cells, jobs)
    assert (agreement.words, agreement.mismatched) == (8, 1)
    assert "chain 1" in agreement.first and "x" in agreement.first
    assert hardware._compare(want, want, model.cells, jobs).exact


def test_board_writes_leave_the_coupler_as_the_full_program(model):
    """After a first chain, a chain writes only the A entries that change, and the coupler
    holds what the full program's writes would leave (golden model, 4 steps a phase)."""
    from tritherm.sim.golden import CouplerModel
    from tritherm.sim.verify.coupler_vectors import pack_samples
    short = replace(model, steps=4)
    cells = model.cells
    seeds = integer.chain_seeds(SEED, 7, 2)
    core, a_now, words = CouplerModel(cells), None, []
    for s in seeds:
        load, switch, a_now = hardware.board_writes(short, 7, s, cells, a_now)
        core.load(load)
        chain = pack_samples(core.run(4), cells)
        core.load(switch)
        words.append(chain + pack_samples(core.run(4), cells))
    jobs = hardware.generation_jobs(short, 7, 2, SEED)
    from tritherm.sim.verify.coupler_vectors import expected_words
    assert words == expected_words(jobs, cells)
    assert len(load) < len(jobs[1].phases[0][1])          # the diagonal was not rewritten


def test_cycles_per_step_of_the_rtl(model):
    """The 192-cell core on 16 multipliers with the quartic pre-pass steps in
    `coupler_cycles_per_step` cycles on the RTL, the figure `throughput` uses."""
    cycles = hardware.rtl_cycles_per_step(model.cells, hardware.RTL_MULTIPLIERS, steps=3)
    want = coupler_cycles_per_step(model.cells, hardware.RTL_MULTIPLIERS, quartic=True)
    assert cycles == [want, want]
    figures = hardware.throughput(model, clock_hz=30e6, baud=3_000_000)
    assert figures["cycles_per_step"] == want
    assert figures["cycles_per_image"] == 2 * model.steps * want


@pytest.mark.xdist_group("soc-sim")
def test_board_sim_equals_golden(model):
    digit = _digits(1)[0]
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED}); digit {digit}, one image on "
          f"the simulated SoC")
    runs = sample(model, [digit], 1, SEED, backend="board", port="sim")
    agreement = golden_agreement(runs)
    assert agreement.words == 2
    assert agreement.exact, f"{agreement.first} (seed {SEED})"
    _same_as_golden(runs[digit], generate_golden(model, digit, 1, SEED))


def test_bad_backend_input(model):
    with pytest.raises(UserError):
        sample(model, [1], 1, 0, backend="rtl", simulator="modelsim")
    with pytest.raises(UserError):
        sample(model, [1], 1, 0, backend="board")
    with pytest.raises(UserError):
        hardware.generator_config(model, board="icebreaker")
