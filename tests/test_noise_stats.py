"""Statistics of the noise (tritherm.sim.noise_stats): KS and Anderson-Darling against known
cases, the independence checks (pass for Threefry streams, fail for the LFSR cells), the
chunked streams against the golden model, and the dieharder report parser."""

import math
import os

import numpy as np
import pytest

from tritherm.sim.golden import (noise_steps, shaper_distribution, shaper_stats, threefry2x32,
                                 uniform_block)
from tritherm.sim.noise_stats import (ad_distance, ad_expected, anderson_darling,
                                      autocorrelation, autocorrelation_check, counter_chunks,
                                      cross_correlation_check, gaussian_battery, gaussian_chunks,
                                      gaussian_streams, independence_bound, ks_distance,
                                      ks_statistic, lfsr_cells, moments, normal_cdf,
                                      parse_dieharder, uniform_chunks)
from tritherm.sim.noise_stats import final_results

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")


@pytest.fixture
def rng():
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    return np.random.default_rng(SEED)


@pytest.fixture
def fixed_rng():
    """A fixed stream for checks of the statistics' implementation at a critical value: with
    a fresh seed each run, a 1% critical value fails one run in a hundred by design."""
    return np.random.default_rng(20261123)


# --- KS and Anderson-Darling ------------------------------------------------------------------

def test_normal_cdf_keeps_both_tails():
    lower, upper = normal_cdf(np.array([-30.0, 0.0, 1.0, 30.0]))
    assert lower[1] == upper[1] == 0.5
    assert lower[2] == pytest.approx(0.8413447460685429, rel=1e-14)
    assert lower[0] > 0 and upper[3] > 0 and lower[0] == pytest.approx(upper[3], rel=1e-12)


def test_ks_of_a_sample_against_its_own_law_is_small_and_of_a_shifted_one_large(fixed_rng):
    n = 50_000
    x = fixed_rng.standard_normal(n)
    assert ks_statistic(x) < 1.63 / math.sqrt(n)            # 1% Kolmogorov critical value
    shifted = ks_statistic(x + 0.1)
    assert shifted == pytest.approx(math.erf(0.05 / math.sqrt(2)), abs=1.63 / math.sqrt(n))
    assert ks_statistic(x, sigma=1.2) > 0.04


def test_ks_and_ad_of_one_atom_are_known():
    # A point mass at the mean: G jumps from 0 to 1 where Phi = 1/2.
    assert ks_distance([0.0], [1.0]) == 0.5
    # integral_0^1/2 u / (1 - u) du + integral_1/2^1 (1 - u) / u du = 2 ln 2 - 1
    assert ad_distance([0.0], [1.0]) == pytest.approx(2 * math.log(2) - 1, rel=1e-12)


def test_ad_equals_the_textbook_formula_on_continuous_data(rng):
    n = 2000
    x = np.sort(rng.normal(0.2, 1.3, n))
    u = np.array([0.5 * math.erfc(-(v - 0.2) / (1.3 * math.sqrt(2))) for v in x])
    i = np.arange(1, n + 1)
    textbook = -n - np.mean((2 * i - 1) * (np.log(u) + np.log1p(-u[::-1])))
    assert anderson_darling(x, 0.2, 1.3) == pytest.approx(textbook, rel=1e-9)


def test_ad_of_normal_data_is_near_its_expected_value(fixed_rng):
    n = 20_000
    values = [anderson_darling(fixed_rng.standard_normal(n)) for _ in range(20)]
    assert max(values) < 6.0                              # 1% point 3.86; 20 draws
    assert 0.5 < np.mean(values) < 1.6                    # E[A^2] = 1, sd of the mean ~0.17
    assert anderson_darling(fixed_rng.standard_normal(n) * 1.1) > 10  # E[A^2] ~ 35


def test_ad_expected_of_a_fine_normal_lattice_is_one_and_grows_with_n_for_another_law():
    grid = np.arange(-9, 9, 1 / 4096)
    weights = np.diff(0.5 * np.array([math.erfc(-(g + 0.5 / 4096) / math.sqrt(2))
                                      for g in np.concatenate([[grid[0] - 1 / 4096], grid])]))
    assert ad_expected(grid, weights, 10 ** 6) == pytest.approx(1.0, abs=0.01)
    values, counts, _ = shaper_distribution("clt")
    st = shaper_stats("clt")
    mean, sigma = float(st.mean), st.sigma
    d = ad_distance(values, counts, mean, sigma)
    assert d > 1e-5
    assert ad_expected(values, counts, 10 ** 6, mean, sigma) == pytest.approx(10 ** 6 * d + 1,
                                                                              rel=0.01)


@pytest.mark.parametrize("shaper", ["clt", "icdf"])
def test_ks_of_a_shaper_law_equals_its_enumerated_statistics(shaper):
    values, counts, _ = shaper_distribution(shaper)
    st = shaper_stats(shaper)
    assert ks_distance(values, counts, float(st.mean), st.sigma) == pytest.approx(st.ks,
                                                                                 rel=1e-9)


def test_moments_of_known_data():
    m = moments([1.0, 2.0, 3.0, 4.0])
    assert (m.n, m.mean, m.variance, m.skewness) == (4, 2.5, 1.25, 0.0)
    assert m.excess_kurtosis == pytest.approx(1.64 - 3)
    with pytest.raises(ValueError, match="all equal"):
        moments([3, 3, 3])


# --- independence -------------------------------------------------------------------------

def test_autocorrelation_finds_a_planted_lag(rng):
    e = rng.standard_normal(100_003)
    x = e[3:] + 0.5 * e[:-3]                          # lag-3 correlation 0.5 / 1.25 = 0.4
    r = autocorrelation(x, [1, 2, 3, 4])
    # Bartlett: beside a lag-3 correlation of 0.4 the other lags' r has variance
    # (1 + 2 * 0.4**2) / n, not 1 / n
    others = independence_bound(x.size, 3) * math.sqrt(1 + 2 * 0.4 ** 2)
    assert abs(r[2] - 0.4) < 0.02 and max(abs(r[[0, 1, 3]])) < others
    check = autocorrelation_check(x)
    assert not check.passed and check.where == "lag 3"


def family_bound(n, family, false_alarm=1e-6):
    """z / sqrt(n) with z scipy's normal quantile for a Sidak-corrected family."""
    from scipy.stats import norm
    return norm.isf((1 - (1 - false_alarm) ** (1 / family)) / 2) / math.sqrt(n)


def test_independence_bound_holds_a_family_to_its_false_alarm_rate():
    assert independence_bound(20_000, 16) == pytest.approx(family_bound(20_000, 16))
    assert independence_bound(1, 1) == pytest.approx(4.8916, abs=1e-4)   # 1e-6 two-sided
    assert independence_bound(100, 28) > independence_bound(100, 16) > independence_bound(100)


def test_threefry_streams_are_independent_and_the_lfsr_cells_are_not():
    n = 200_000
    for shaper in ("clt", "icdf"):
        streams = gaussian_streams(SEED & 0xFFFFFFFF, 8, n, shaper)
        auto, cross = autocorrelation_check(streams[:, 0]), cross_correlation_check(streams)
        assert auto.passed and cross.passed, (shaper, auto, cross)
        assert cross.bound == pytest.approx(family_bound(n, 28))
        assert auto.bound == pytest.approx(family_bound(n, 16))
    cells = lfsr_cells((SEED & 0xFFFFFFFF) or 1, 8, n)
    auto, cross = autocorrelation_check(cells[:, 0]), cross_correlation_check(cells)
    assert not auto.passed and not cross.passed
    assert cross.worst > 0.4 and auto.worst > 0.4      # neighbouring taps share bits


def test_gaussian_battery_reports_each_source():
    lines = []
    reports = gaussian_battery(SEED & 0xFFFFFFFF, 20_000, 8, progress=lines.append)
    assert [r.source for r in reports] == ["clt", "icdf", "lfsr-clt"]
    assert [r.independent for r in reports] == [True, True, False]
    assert len(lines) == 9
    for r in reports:
        shaper = "icdf" if r.source == "icdf" else "clt"
        st = shaper_stats(shaper)
        assert r.exact_variance == pytest.approx(st.variance_sigma2, rel=1e-12)
        assert r.exact_excess_kurtosis == pytest.approx(st.kurtosis - 3, rel=1e-12)
        assert r.ks_exact == pytest.approx(st.ks, rel=1e-9)
        if r.source != "lfsr-clt":   # (its correlated samples make these errors larger)
            assert abs(r.moments.variance - r.exact_variance) < 5 * r.variance_se
            assert abs(r.moments.mean - r.exact_mean) < 5 * r.mean_se


# --- the chunked streams equal the golden model ---------------------------------------------

def test_uniform_and_gaussian_chunks_equal_the_golden_model():
    seed = SEED & 0xFFFFFFFF
    chunks = list(uniform_chunks(seed, 3, 1001, chunk=256))
    assert len(chunks) > 1
    expected = uniform_block(seed, np.arange(3)[None, :], np.arange(1001)[:, None])
    np.testing.assert_array_equal(np.concatenate(chunks), expected)
    for shaper in ("clt", "icdf"):
        got = np.concatenate(list(gaussian_chunks(seed, 3, 777, shaper, chunk=200)))
        np.testing.assert_array_equal(got, noise_steps(seed, 3, 777, shaper))
    endless = uniform_chunks(seed, 1, None, chunk=16)
    assert sum(len(next(endless)) for _ in range(5)) == 80


def test_counter_chunks_carry_into_the_high_word_and_wrap():
    blocks = np.concatenate(list(counter_chunks(5, 6, (1 << 64) - 2, 4, chunk=3)))
    counters = [((1 << 64) - 2 + i) % (1 << 64) for i in range(4)]
    for block, c in zip(blocks, counters):
        out = threefry2x32(np.uint32(c & 0xFFFFFFFF), np.uint32(c >> 32), np.uint32(5),
                           np.uint32(6))
        assert (int(block[0]), int(block[1])) == (int(out[0]), int(out[1]))


# --- dieharder's report ---------------------------------------------------------------------

DIEHARDER_OUTPUT = """\
#=============================================================================#
#            dieharder version 3.31.1 Copyright 2003 Robert G. Brown          #
#=============================================================================#
   rng_name    |rands/second|   Seed   |
stdin_input_raw|  3.37e+07  |3271542466|
#=============================================================================#
        test_name   |ntup| tsamples |psamples|  p-value |Assessment
#=============================================================================#
   diehard_birthdays|   0|       100|     100|0.99499591|  PASSED  
      diehard_operm5|   0|   1000000|     100|0.00021213|   WEAK   
        diehard_runs|   0|    100000|     100|0.00000000|  FAILED  
     sts_serial|  16|    100000|     100|0.37262837|  PASSED  
"""


def test_parse_dieharder_rows():
    rows = parse_dieharder(DIEHARDER_OUTPUT)
    assert [(r.test, r.ntup, r.assessment) for r in rows] == [
        ("diehard_birthdays", 0, "PASSED"), ("diehard_operm5", 0, "WEAK"),
        ("diehard_runs", 0, "FAILED"), ("sts_serial", 16, "PASSED")]
    assert rows[0].p_value == 0.99499591 and rows[1].tsamples == 1000000
    assert rows[0].psamples == 100


RESOLVED = """\
       diehard_craps|   0|    200000|       5|0.99964466|   WEAK   
       diehard_craps|   0|    200000|       5|0.73856190|  PASSED  
       diehard_craps|   0|    200000|     105|0.34974567|  PASSED  
       diehard_craps|   0|    200000|     105|0.74415063|  PASSED  
      diehard_operm5|   0|   1000000|       5|0.99919212|   WEAK   
      diehard_operm5|   0|   1000000|     105|0.87873151|  PASSED  
        diehard_runs|   0|    100000|       5|0.44635049|  PASSED  
        diehard_runs|   0|    100000|       5|0.44739972|  PASSED  
"""


def test_final_results_keep_the_last_pass_of_each_test():
    final = final_results(parse_dieharder(RESOLVED))
    assert [(r.test, r.psamples, r.p_value) for r in final] == [
        ("diehard_craps", 105, 0.34974567), ("diehard_craps", 105, 0.74415063),
        ("diehard_operm5", 105, 0.87873151),
        ("diehard_runs", 5, 0.44635049), ("diehard_runs", 5, 0.44739972)]
