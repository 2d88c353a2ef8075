"""The coupler's golden models: fixed-point arithmetic, configuration, and the statistics
of long runs against the exact stationary law of the discretised update."""

import math
import os

import numpy as np
import pytest

from tritherm.formats import (COUPLER_FORMAT, COUPLER_REGION_A, COUPLER_REGION_A_ROW,
                              COUPLER_REGION_SCALAR, COUPLER_REG_FLAGS, coupler_a_write,
                              coupler_address, coupler_cycles_per_step)
from tritherm.sim.golden import (CouplerModel, CouplerProgram, covariance_standard_errors,
                                 discrete_lyapunov, discrete_stationary_law,
                                 integrated_autocorrelation_time, linear_update,
                                 round_shift, saturate, stationary_law)
from tritherm.sim.verify.coupler_vectors import random_spd

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")


def test_round_shift_and_saturate():
    assert list(round_shift([-3, -2, -1, 0, 1, 2, 3], 1)) == [-1, -1, 0, 0, 1, 1, 2]
    assert list(round_shift([5 << 20, -(5 << 20) - 1], 20)) == [5, -5]
    value, flag = saturate([-40000, -32768, 32767, 32768])
    assert list(value) == [-32768, -32768, 32767, 32767]
    assert list(flag) == [True, False, False, True]


def test_quantise_rejects_out_of_range():
    with pytest.raises(ValueError, match="outside the fixed-point range"):
        COUPLER_FORMAT.coef.quantise(8.0, "A[0,0]")
    assert COUPLER_FORMAT.state.quantise(-1.5) == -1536


def test_program_writes_round_trip():
    """A program's writes load the model's registers with exactly its values."""
    rng = np.random.default_rng(SEED)
    A = random_spd(rng, 5, 20, 3)
    program = CouplerProgram.from_physical(A, rng.normal(size=5), 0.3, 5, "underdamped",
                                           2.0, J2=0.1, J4=0.25, x0=rng.normal(size=5),
                                           seed=1234, thin=3)
    model = CouplerModel(5)
    model.load(program.writes())
    assert np.array_equal(model.A, program.A) and np.array_equal(model.b, program.b)
    assert np.array_equal(model.x, program.x0) and np.array_equal(model.k4, program.k4)
    assert (model.mode, model.quartic, model.hshift, model.seed, model.thin) == \
        (1, 1, 5, 1234, 3)
    assert program.A[0, 0] == COUPLER_FORMAT.coef.quantise(A[0, 0] + 0.2)
    assert math.isclose(program.physical()["kT"], 0.3, rel_tol=2e-3)


def test_a_large_program_addresses_A_by_row():
    """Beyond 64 cells A goes through region A_ROW (the column in the data's high half);
    below, the compact address every smaller core takes; the model loads either."""
    rng = np.random.default_rng(SEED)
    n = 70
    A = np.round(random_spd(rng, n, 10, 2) * 100) / 100
    program = CouplerProgram.from_physical(A, np.zeros(n), 0.1, 6, "overdamped")
    writes = program.writes()
    assert len(writes) == n * n + 4 * n + 7 + 1
    assert coupler_a_write(3, 5, -2) == (coupler_address(COUPLER_REGION_A, 3, 5), 0xFFFE)
    assert coupler_a_write(3, 69, 7) == (coupler_address(COUPLER_REGION_A_ROW, 3),
                                         69 << 16 | 7)
    model = CouplerModel(n)
    model.load(writes)
    assert np.array_equal(model.A, program.A)
    small = CouplerModel(8)                      # entries past its cells are ignored
    small.load(writes)
    assert np.array_equal(small.A, program.A[:8, :8])
    with pytest.raises(ValueError, match=r"column must be an integer in \[0, 63\]"):
        coupler_address(COUPLER_REGION_A, 0, 64)


def test_model_is_deterministic_and_restartable():
    """Two runs of k steps equal one run of 2k; thin keeps every thin-th state; the seed
    write restarts the noise; a FLAGS write clears the flags."""
    rng = np.random.default_rng(SEED + 1)
    program = CouplerProgram.from_physical(random_spd(rng, 3, 10, 2), [0.5, 0, -0.5], 0.2,
                                           4, "overdamped", seed=99)
    one = CouplerModel(3)
    one.load(program.writes())
    whole = one.run(40)
    two = CouplerModel(3)
    two.load(program.writes())
    parts = [two.run(15), two.run(25)]
    assert np.array_equal(np.concatenate([p.x for p in parts]), whole.x)
    assert list(whole.seq) == list(range(1, 41))
    three = CouplerModel(3)
    three.load(program.with_(thin=4).writes())
    thinned = three.run(40)
    assert list(thinned.seq) == list(range(4, 41, 4))
    assert np.array_equal(thinned.x, whole.x[3::4])
    loud = CouplerModel(3)
    loud.load(program.with_(A=np.zeros((3, 3), dtype=np.int64), b=np.array([32767, 0, 0]),
                           x0=np.array([32700, 0, 0])).writes())
    assert list(loud.run(5).flags[-1]) == [1, 0, 0]
    loud.write(coupler_address(COUPLER_REGION_SCALAR, COUPLER_REG_FLAGS), 0)
    assert not loud.flags.any()
    loud.write(coupler_address(COUPLER_REGION_A, 0, 5), 100)   # outside 3 cells: ignored
    assert loud.A.max() < 1 << 15


def test_discrete_lyapunov_against_kronecker():
    rng = np.random.default_rng(SEED + 2)
    F = rng.normal(size=(6, 6))
    F *= 0.9 / np.abs(np.linalg.eigvals(F)).max()
    G = rng.normal(size=(6, 3))
    S = discrete_lyapunov(F, G @ G.T)
    vec = np.linalg.solve(np.eye(36) - np.kron(F, F), (G @ G.T).ravel())
    assert np.allclose(S, vec.reshape(6, 6), atol=1e-10)
    with pytest.raises(ValueError, match="unstable"):
        discrete_lyapunov(np.eye(2) * 1.01, np.eye(2))


def test_euler_maruyama_bias_formula():
    """Overdamped EM with kT = 1 has covariance (A - h A^2 / 2)^-1 (the reference's formula)."""
    rng = np.random.default_rng(SEED + 3)
    A = random_spd(rng, 4, 10, 2)
    h = 1 / 8
    S = discrete_lyapunov(np.eye(4) - h * A, 2 * h * np.eye(4))
    assert np.allclose(S, np.linalg.inv(A - h * A @ A / 2))


def test_integrated_autocorrelation_time_of_ar1():
    """AR(1) with coefficient a: tau_int = (1 + a) / (1 - a). Over 2,000 seeds the estimate's
    spread is 0.235 at this length; 1.2 is 5 of it (0.8, 3.4 of it, failed 1 seed in 1,000)."""
    rng = np.random.default_rng(SEED + 4)
    a, n = 0.8, 200_000
    noise = rng.normal(size=n)
    series = np.empty(n)
    series[0] = 0
    for k in range(1, n):   # noqa: B007 (a short loop; clarity over speed)
        series[k] = a * series[k - 1] + noise[k]
    assert abs(integrated_autocorrelation_time(series) - 9) < 1.2


@pytest.mark.parametrize("mode", ["overdamped", "underdamped"])
def test_golden_statistics_match_discrete_law(mode):
    """A long fixed-point run (4 cells) has the mean and covariance of the exact discrete
    stationary law, within 5 standard errors (from tau_int); the continuous law differs
    from it (overdamped) by the discretisation bias, which the test reports."""
    rng = np.random.default_rng([SEED, 5])
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    A = random_spd(rng, 4, 10, 2.0)
    mean = rng.uniform(-1, 1, size=4)
    program = CouplerProgram.from_physical(A, A @ mean, 0.4, 4, mode, gamma=1.5,
                                           x0=mean, seed=int(rng.integers(1 << 32)))
    model = CouplerModel(4)
    model.load(program.writes())
    steps, burn = 60_000, 2_000
    run = model.run(steps)
    assert not run.flags.any()
    scale = COUPLER_FORMAT.state.one
    x = run.x[burn:] / scale
    data = x if mode == "overdamped" else np.hstack([x, run.p[burn:] / scale])
    want_mean, want_cov = discrete_stationary_law(program)
    tau = integrated_autocorrelation_time(data)
    n = len(data)
    se_mean = np.sqrt(np.diag(want_cov) * tau / n)
    z_mean = (data.mean(axis=0) - want_mean) / se_mean
    z_cov = (np.cov(data.T) - want_cov) / covariance_standard_errors(want_cov, tau, n)
    phys = program.physical()
    _, continuous = stationary_law(phys["A"], phys["b"], phys["kT"])
    bias = np.abs(want_cov[:4, :4] - continuous).max()
    print(f"{mode}: tau_int {np.round(tau, 1)}, max |z| mean {np.abs(z_mean).max():.2f}, "
          f"covariance {np.abs(z_cov).max():.2f}; discretisation bias {bias:.4f}")
    assert np.abs(z_mean).max() < 5
    assert np.abs(z_cov).max() < 5
    F, _, _ = linear_update(program)
    assert F.shape == (len(want_mean),) * 2


def test_cycles_per_step():
    """The schedule's count by hand (16 A x words, 8 to drain: product, the word's sum,
    accumulate, shift, kick, DAMP p1, p2 and p1 + p2, write; the quartic pre-pass 2 a cell
    + 6) and the budget for 8 cells on 4 multipliers: 10**6 steps a second at 24 MHz; the
    RTL is measured against the formula in tests/test_coupler_amaranth.py."""
    assert coupler_cycles_per_step(8, 4) == 16 + 8 <= 24
    assert coupler_cycles_per_step(8, 8) == 8 + 8
    assert coupler_cycles_per_step(8, 4, quartic=True) == 16 + 8 + 22
    assert coupler_cycles_per_step(64, 8, sample=False) == coupler_cycles_per_step(64, 8)
