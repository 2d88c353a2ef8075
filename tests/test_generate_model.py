"""Generative thermodynamic computing on the digits (`tritherm.apps.generate`): the action
and its gradient, a short training run, the shipped model, the coupler programs and the
fixed-point arithmetic, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from tritherm.apps.generate import integer as gi
from tritherm.apps.generate import model as gm
from tritherm.apps.generate import quality as gq
from tritherm.errors import UserError
from tritherm.formats import (COUPLER_MAX_CELLS, COUPLER_REG_QUARTIC,
                              COUPLER_REGION_SCALAR, coupler_address)
from tritherm.sim.golden.coupler import CouplerModel, CouplerProgram


@pytest.fixture(scope="module")
def shipped():
    return gm.load_model()


@pytest.fixture(scope="module")
def small_case():
    """Noising trajectories of 5 images on 64 + 6 units, 40 steps, and random (J, b)."""
    rng = np.random.default_rng(11)
    hidden, n = 6, 5
    force = 2 * rng.standard_normal((n, gm.PIXELS + hidden))
    labels = np.array([0, 3, 3, 9, 1])
    traj = gm.noising_trajectories(force, np.random.default_rng(12), steps=40, ramp_steps=30)
    stats = gm.noising_stats(force, labels, np.random.default_rng(12), steps=40, ramp_steps=30,
                             dtype=np.float64, block=7)
    mask = gm.coupling_mask(hidden, visible_couplings=False)
    J = 0.1 * rng.standard_normal(mask.shape)
    J = 0.5 * (J + J.T) * mask
    b = rng.standard_normal((gm.CLASSES, gm.PIXELS + hidden))
    return traj, labels, stats, mask, J, b


def test_gradient_matches_finite_differences_of_the_action(small_case):
    traj, labels, _, mask, J, b = small_case
    gJ, gb = gm.action_gradient(J, b, traj, labels, mask)
    eps = 1e-5
    # J is symmetric: moving J_ij and J_ji together changes the action by 2 gJ_ij.
    for i, j in [(0, 64), (65, 69), (3, 67), (66, 2)]:
        E = np.zeros_like(J)
        E[i, j] = E[j, i] = eps
        fd = (gm.action(J + E, b, traj, labels) - gm.action(J - E, b, traj, labels)) / (2 * eps)
        assert fd == pytest.approx(2 * gJ[i, j], rel=1e-5, abs=1e-8)
    for d, i in [(0, 5), (3, 66), (9, 0), (1, 69)]:
        E = np.zeros_like(b)
        E[d, i] = eps
        fd = (gm.action(J, b + E, traj, labels) - gm.action(J, b - E, traj, labels)) / (2 * eps)
        assert fd == pytest.approx(gb[d, i], rel=1e-5, abs=1e-8)
    assert np.all(gJ[mask == 0] == 0)
    # digits with no trajectory have no gradient
    assert np.all(gb[[2, 4, 5, 6, 7, 8]] == 0)


def test_sums_give_the_same_action_and_gradient(small_case):
    traj, labels, stats, mask, J, b = small_case
    assert stats.action(J, b) == pytest.approx(gm.action(J, b, traj, labels), rel=1e-12)
    for a, c in zip(stats.gradient(J, b, mask), gm.action_gradient(J, b, traj, labels, mask)):
        assert np.allclose(a, c, rtol=1e-10, atol=1e-12)


def test_solve_is_the_regularised_minimum(small_case):
    _, _, stats, mask, _, _ = small_case
    ridge, bias_ridge = 0.5, 1e-3
    J, b, iterations = gm.solve(stats, mask, ridge, bias_ridge)
    assert 0 < iterations < 5000
    gJ, gb = stats.gradient(J, b, mask)
    assert np.abs(gJ + ridge * J).max() < 1e-6 * max(1.0, np.abs(gJ).max())
    assert np.abs(gb + bias_ridge * b).max() < 1e-6 * max(1.0, np.abs(gb).max())
    assert np.allclose(J, J.T) and np.all(J[mask == 0] == 0)
    assert stats.action(J, b) < stats.action(0 * J, 0 * b)


def test_a_short_training_run_learns():
    config = gm.TrainConfig(hidden=16, epochs=1, digits=(0, 1, 7), images_per_digit=30)
    reports = []
    model = gm.train(3, config, progress=reports.append)
    assert len(reports) == 1 and reports[0].action_trained < reports[0].action_uncoupled
    assert "epoch 1/1: action" in str(reports[0])
    assert model.cells == gm.PIXELS + 16 and model.meta["images"] == 90
    again = gm.train(3, config)
    assert np.array_equal(model.couplings, again.couplings)        # deterministic
    report = gq.evaluate({d: gm.generate(model, d, 16, seed=4).images for d in (0, 1, 7)})
    assert all(row.recognised >= 0.75 for row in report.rows), gq.format_table(report)
    # the same dynamics without what was learnt do not make those digits
    untrained = gm.GenerativeModel(np.zeros_like(model.couplings), np.zeros_like(model.bias),
                                   model.projection, model.projection_mean,
                                   model.projection_std)
    report = gq.evaluate({d: gm.generate(untrained, d, 16, seed=4).images for d in (0, 1, 7)})
    assert report.overall.recognised < 0.5


def test_the_shipped_model_makes_all_ten_digits(shipped):
    assert shipped.meta["command"] == gm.TRAIN_COMMAND
    assert shipped.cells == gm.PIXELS + shipped.hidden and shipped.hidden >= 128
    assert shipped.meta["images"] == 1437
    images, heat = {}, {}
    for d in range(gm.CLASSES):
        g = gm.generate(shipped, d, 10, seed=5)
        images[d], heat[d] = g.images, g.heat
        assert g.images.shape == (10, 64) and g.images.min() >= 0 and g.images.max() <= 16
    report = gq.evaluate(images, heat)
    table = gq.format_table(report)
    assert report.overall.recognised >= 0.85, table
    assert report.overall.nn_min > 8, table              # no copies of training images
    assert report.overall.diversity > 15, table          # more than one image per digit
    assert report.overall.heat > 0, table


def test_mirrored_finds_the_negatives_of_digits(split, rng):
    """No test image is a negative of its digit; every negative (16 - image) is, checked
    beside numpy's correlation with the digit's mean training image."""
    x_train, y_train, x_test, y_test = split
    for d in range(gm.CLASSES):
        images = x_test[y_test == d]
        assert not gq.mirrored(images, d).any()
        assert gq.mirrored(16 - images, d).all()
    noise = rng.integers(0, 17, (20, 64))
    digits = rng.integers(0, 10, 20)
    want = [np.corrcoef(im, x_train[y_train == d].mean(0))[0, 1] < 0
            for im, d in zip(noise, digits)]
    got = [bool(gq.mirrored(im[None], int(d))[0]) for im, d in zip(noise, digits)]
    assert got == want


def test_the_shipped_model_fits_the_coupler(shipped):
    program = gi.to_program(shipped, 3, seed=9)
    assert program.cells == shipped.cells and program.mode == 0 and program.quartic == 1
    assert program.hshift == gm.HSHIFT
    phys = program.physical()
    A = shipped.couplings + 2 * gm.J2 * np.eye(shipped.cells)
    assert np.abs(phys["A"] - A).max() <= 2.0 ** -13
    assert np.abs(phys["b"] + shipped.bias[3]).max() <= 2.0 ** -11
    assert np.allclose(phys["J4"], gm.J4) and phys["kT"] == pytest.approx(gm.KT, rel=0.01)
    figures = gi.program_figures(program)
    assert figures["max_abs_A"] < 8 and figures["max_abs_b"] < 32


def test_fixed_run_is_the_golden_coupler_bit_for_bit():
    rng = np.random.default_rng(21)
    n = 12
    A = 0.5 * rng.standard_normal((n, n))
    A = 0.5 * (A + A.T)
    b = 2 * rng.standard_normal(n)
    first = CouplerProgram.from_physical(np.zeros((n, n)), np.zeros(n), kT=0.1, hshift=10,
                                         J2=1.0, J4=1.0)
    second = CouplerProgram.from_physical(A, b, kT=0.1, hshift=10, J2=1.0, J4=1.0)
    # a third program without the quartic term drives cell 0 into saturation (flags)
    A3 = 0.05 * np.eye(n)
    A3[0, 0] = -8.0
    b3 = b.copy()
    b3[0] = 30.0
    third = CouplerProgram.from_physical(A3, b3, kT=0.1, hshift=10)
    seeds = [5, 6, 7]
    for later in (second, third):
        x0, f0 = gi.fixed_run(first, np.zeros((3, n), dtype=np.int64), seeds, 0, 200)
        x1, f1 = gi.fixed_run(later, x0, seeds, 200, 300)
        for i, s in enumerate(seeds):
            core = CouplerModel(n)
            core.load(first.with_(seed=s, thin=100).writes())
            assert np.array_equal(core.run(200).x[-1], x0[i])
            quartic = coupler_address(COUPLER_REGION_SCALAR, COUPLER_REG_QUARTIC)
            core.load(gi.switch_writes(later) + [(quartic, later.quartic)])
            samples = core.run(300)
            assert np.array_equal(samples.x[-1], x1[i])
            assert np.array_equal(samples.flags[-1], (f0 | f1)[i])
    assert (f0 | f1)[:, 0].all()


def test_every_digit_s_chains_have_their_own_coupler_seeds():
    assert gi.chain_seeds(5, 0, 3) == [5, 6, 7]
    assert gi.chain_seeds(5, 3, 2) == [5 + 3 * 2**24, 6 + 3 * 2**24]
    assert gi.chain_seeds(2**32 - 1, 0, 2) == [2**32 - 1, 0]            # mod 2**32
    assert gi.chain_seeds(2**32 - 2**24, 1, 1) == [0]
    every = [s for d in range(10) for s in gi.chain_seeds(77, d, 1000)]
    assert len(set(every)) == len(every)
    with pytest.raises(UserError):
        gi.chain_seeds(1, 10, 1)


@pytest.mark.parametrize("digit", [0, 7])
def test_golden_run_of_the_shipped_model_is_the_fixed_point_emulation(shipped, digit):
    assert shipped.cells <= COUPLER_MAX_CELLS
    golden = gi.generate_golden(shipped, digit, 1, seed=3)
    fixed = gi.generate_fixed(shipped, digit, 1, seed=3, noise="threefry")
    assert np.array_equal(golden.x_start, fixed.x_start)
    assert np.array_equal(golden.x_end, fixed.x_end)
    assert np.array_equal(golden.flags, fixed.flags) and not golden.flags.any()


def test_the_golden_coupler_refuses_a_network_beyond_its_cells():
    n = COUPLER_MAX_CELLS + 1
    big = gm.GenerativeModel(np.zeros((n, n)), np.zeros((gm.CLASSES, n)),
                             np.zeros((n - gm.PIXELS, gm.PIXELS)), np.zeros(n - gm.PIXELS),
                             np.ones(n - gm.PIXELS))
    with pytest.raises(UserError, match="COUPLER_MAX_CELLS") as info:
        gi.generate_golden(big, 0, 1)
    assert "\n" not in str(info.value)


def test_fixed_point_generation_makes_digits(shipped):
    g = gi.generate_fixed(shipped, 7, 6, seed=2, noise="numpy")
    assert not g.flags.any()
    report = gq.evaluate({7: g.images})
    assert report.overall.recognised >= 0.5


def test_grid_png(tmp_path, shipped):
    rows = [gm.generate(shipped, d, 3, seed=1).images for d in range(2)]
    path = gq.write_grid_png(rows, tmp_path / "grid.png", scale=2, gap=1)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (3 * 17 + 1, 2 * 17 + 1)


@pytest.mark.parametrize("call, words", [
    (lambda m: gm.generate(m, 10, 1), "digit"),
    (lambda m: gm.generate(m, "3", 1), "digit"),
    (lambda m: gm.generate(m, 3, 0), "count"),
    (lambda m: gm.generate(m, 3, 1, seed=-1), "seed"),
    (lambda m: gi.generate_fixed(m, 3, 1, noise="lfsr"), "noise"),
    (lambda m: gi.to_program(m, 11), "digit"),
    (lambda m: gm.TrainConfig(hidden=0), "hidden"),
    (lambda m: gm.TrainConfig(epochs=0), "epochs"),
    (lambda m: gm.TrainConfig(ridge=-1.0), "ridge"),
    (lambda m: gm.TrainConfig(digits=(3, 12)), "digit"),
    (lambda m: gm.train_and_save(1, out="/nonexistent-dir/model.npz"), "not a directory"),
    (lambda m: gm.train_and_save(1, out="model.txt"), ".npz"),
    (lambda m: gm.load_model("/nonexistent-dir/model.npz"), "no generative model"),
    (lambda m: gq.write_grid_png([np.zeros((1, 64))], "grid.jpg"), ".png"),
    (lambda m: gq.evaluate({}), "no images"),
])
def test_bad_arguments_are_one_sentence(shipped, call, words):
    with pytest.raises(UserError, match=words) as info:
        call(shipped)
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(UserError, match="not a generative model"):
        gm.load_model(path)


def test_save_and_load_round_trip(tmp_path, shipped):
    path = tmp_path / "copy.npz"
    shipped.save(path)
    again = gm.load_model(path)
    assert np.array_equal(again.couplings, shipped.couplings)
    assert again.config == shipped.config and again.meta == shipped.meta
