"""Thermodynamic linear algebra on the coupler (`tritherm.sim.linalg`) and `tritherm linalg`."""

from __future__ import annotations

import numpy as np
import pytest

from tritherm.cli import main
from tritherm.sim import linalg
from tritherm.sim.verify.coupler_vectors import random_spd
from tritherm.sim.golden import discrete_stationary_covariance


@pytest.fixture(scope="module")
def spd4():
    return random_spd(np.random.default_rng(7), 4, 10.0, 3.0)


def test_underdamped_x_covariance_is_exactly_kT_A_inverse(spd4):
    plan = linalg.prepare(spd4)
    phys = plan.program.physical()
    S = discrete_stationary_covariance(plan.program)[:4, :4]
    assert np.allclose(S, plan.kT * np.linalg.inv(phys["A"]), rtol=1e-10, atol=1e-12)
    # The quantised A is within the promised tolerance of A / alpha.
    assert np.abs(phys["A"] - spd4 / plan.alpha).max() <= 2.0 ** -13


def test_inverse_golden(spd4):
    r = linalg.inverse(spd4, 20000, seed=3)
    assert r.samples_used == 20000 and r.estimate.shape == (4, 4)
    assert np.allclose(r.exact, np.linalg.inv(spd4))
    se = np.linalg.norm(r.standard_error) / np.linalg.norm(r.exact)
    assert 0 < r.relative_error < 3 * se
    assert np.all(np.abs(r.estimate - r.exact) < 5 * r.standard_error + 1e-3)


def test_solve_golden(spd4):
    b = np.array([1.0, -2.0, 0.5, 3.0])
    r = linalg.solve(spd4, b, 20000, seed=4)
    assert np.allclose(r.exact, np.linalg.solve(spd4, b))
    assert np.all(np.abs(r.estimate - r.exact) < 5 * r.standard_error + 1e-3)
    assert r.relative_error < 0.05


def test_sample_golden(spd4):
    b = np.array([0.5, 0.0, -1.0, 2.0])
    r = linalg.sample(spd4, 20000, b, seed=5)
    assert r.estimate.shape == (20000, 4)
    assert r.relative_error < 0.1
    mean = np.linalg.solve(spd4, b)
    assert np.allclose(r.estimate.mean(axis=0), mean, atol=0.1 * np.abs(mean).max())


def test_same_seed_same_samples_and_scale_invariance(spd4):
    one = linalg.inverse(spd4, 200, seed=9)
    two = linalg.inverse(spd4, 200, seed=9)
    assert np.array_equal(one.raw.x, two.raw.x)
    big = linalg.inverse(spd4 * 2.0 ** 20, 200, seed=9)
    assert np.array_equal(big.raw.x, one.raw.x)
    assert np.allclose(big.estimate * 2.0 ** 20, one.estimate)


@pytest.mark.parametrize("A, b, message", [
    (np.ones((2, 3)), None, "A must be a square matrix"),
    (np.array([[2.0, 1.0], [0.0, 2.0]]), None, "A is not symmetric"),
    (np.array([[1.0, 2.0], [2.0, 1.0]]), None, "A is not positive definite"),
    (np.zeros((2, 2)), None, "A is zero"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), None, "NaN or infinite"),
    (np.array([[1.0, np.inf], [np.inf, 1.0]]), None, "NaN or infinite"),
    (np.eye(2), np.ones(3), "b must be a vector of length 2"),
    (np.eye(2), np.array([1.0, np.nan]), "b has NaN"),
    (np.diag([1.0, 1e-6]), None, "condition number"),
    # a solve beyond the condition numbers A^-1 b can be served at (the inverse takes more)
    (np.diag([1.0, 5e-5]), np.array([1.0, 1.0]), "too large for A\\^-1 b"),
])
def test_validation_errors(A, b, message):
    with pytest.raises(ValueError, match=message) as info:
        if b is None:
            linalg.inverse(A, 100)
        else:
            linalg.solve(A, b, 100)
    text = str(info.value)
    assert "\n" not in text and text.count(". ") == 0


def test_condition_error_says_what_fits():
    with pytest.raises(ValueError, match=r"condition numbers up to about \S+ fit"):
        linalg.inverse(np.diag([1.0, 1e-6]), 100)


def test_backend_and_count_errors(spd4):
    with pytest.raises(ValueError, match="board backend needs a device"):
        linalg.inverse(spd4, 100, backend="board")
    with pytest.raises(ValueError, match="backend must be"):
        linalg.inverse(spd4, 100, backend="fpga")
    with pytest.raises(ValueError, match="at most 20000 samples"):
        linalg.inverse(spd4, 20001, backend="rtl")
    with pytest.raises(ValueError, match="at least 10"):
        linalg.inverse(spd4, 5)
    with pytest.raises(ValueError, match="kT = 1000 does not fit"):
        linalg.inverse(spd4, 100, kT=1000.0)


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_cli_happy_path(tmp_path, capsys, spd4, suffix):
    A, b = tmp_path / f"A{suffix}", tmp_path / f"b{suffix}"
    if suffix == ".npy":
        np.save(A, spd4)
        np.save(b, np.arange(1.0, 5.0))
    else:
        np.savetxt(A, spd4, delimiter=",")
        np.savetxt(b, np.arange(1.0, 5.0), delimiter=",")
    out = tmp_path / f"x{suffix}"
    assert main(["linalg", "solve", "--matrix", str(A), "--rhs", str(b), "--samples",
                 "3000", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "relative error" in text and "standard error" in text
    x = np.load(out) if suffix == ".npy" else np.loadtxt(out, delimiter=",")
    assert np.allclose(x.ravel(), np.linalg.solve(spd4, np.arange(1.0, 5.0)), rtol=0.1,
                       atol=0.05)
    assert main(["linalg", "inv", "--matrix", str(A), "--samples", "2000"]) == 0
    assert "estimate" in capsys.readouterr().out
    assert main(["linalg", "sample", "--matrix", str(A), "--samples", "500"]) == 0
    assert "draws" in capsys.readouterr().out


@pytest.mark.parametrize("setup, argv, message", [
    (None, ["linalg", "inv", "--matrix", "{d}/missing.npy"], "does not exist"),
    ("garbage", ["linalg", "inv", "--matrix", "{d}/bad.csv"], "not a numeric"),
    ("nonsym", ["linalg", "inv", "--matrix", "{d}/ns.npy"], "not symmetric"),
    ("spd", ["linalg", "solve", "--matrix", "{d}/A.npy"], "solve needs --rhs"),
    ("spd", ["linalg", "inv", "--matrix", "{d}/A.npy", "--samples", "ten"], "--samples"),
    ("spd", ["linalg", "inv", "--matrix", "{d}/A.npy", "--backend", "board"], "board"),
    ("spd", ["linalg", "inv", "--matrix", "{d}/A.npy", "--out", "{d}/x.txt"], "--out"),
])
def test_cli_errors(tmp_path, capsys, setup, argv, message):
    if setup == "garbage":
        (tmp_path / "bad.csv").write_text("1,2\nfoo,bar\n")
    elif setup == "nonsym":
        np.save(tmp_path / "ns.npy", np.array([[2.0, 1.0], [0.0, 2.0]]))
    elif setup == "spd":
        np.save(tmp_path / "A.npy", np.eye(2) * 2)
    assert main([a.format(d=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_rtl_matches_golden_bit_for_bit():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    rtl = linalg.inverse(A, 2000, backend="rtl", seed=11, burn_in=300)
    golden = linalg.inverse(A, 2000, backend="golden", seed=11, burn_in=300)
    for key in ("seq", "flags", "x", "p"):
        assert np.array_equal(getattr(rtl.raw, key), getattr(golden.raw, key)), key
    assert np.array_equal(rtl.estimate, golden.estimate)
    assert rtl.relative_error < 0.15
