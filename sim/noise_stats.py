"""Statistics of the counter-based noise: chunked streams, distribution and independence
checks against the normal, the LFSR comparison, and dieharder runs.

Pure numpy (and the standard library); the ``tritherm noise`` and ``tritherm noise-test``
commands only format what these functions return.

Streams
    `uniform_chunks` and `gaussian_chunks` yield the noise of `noise_steps` /
    `uniform_block` in bounded chunks (2**16 blocks at a time), so any length streams in
    constant memory; `counter_chunks` yields plain Threefry-2x32 blocks for consecutive
    64-bit counters under one key (the Random123 known-answer form).

Distribution (`moments`, `ks_distance`, `ad_distance`, `ad_expected`)
    KS and Anderson-Darling are computed for *discrete* laws (the samples are integers in
    `NOISE_FORMAT`): a law is a set of atoms with weights, the empirical law of a sample is
    one (atom = each distinct value, weight = its count), the enumerated law of a shaper
    (`shaper_distribution`) another. ``A**2 = n * ad_distance(sample)``.

Independence (`autocorrelation_check`, `cross_correlation_check`)
    Pearson correlations, each compared with the bound ``z / sqrt(n)`` of its family (for
    independent streams a correlation is about N(0, 1/n); `independence_bound` picks z
    so that a whole family of independent correlations, the 16 lags or every pair of
    streams, passes with probability 1 - `FAMILY_FALSE_ALARM`: z = 5.4 for 16 lags, 5.5
    for the 28 pairs of 8 streams).

The LFSR comparison (`lfsr_cells`)
    What a naive design does: one 32-bit LFSR (`lfsr_clt_gaussian`, advanced one bit per
    sample), and cell ``i`` taps the shift register ``i`` bits further along, so cell ``i``
    at step ``t`` reads the window of step ``t + i``. This is the cheapest way to give
    eight cells "their own" noise from one register, and it is what the counter-based
    source avoids.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Callable, Iterator

import numpy as np

from tritherm.formats import (NOISE_FORMAT, SHAPER_SAMPLES, THREEFRY_ROUNDS,
                              GaussianFormat, check_rounds, stream_key)

from .golden.threefry import (lfsr_clt_gaussian, shape_blocks, shaper_distribution,
                              shaper_stats, threefry2x32, uniform_block)

__all__ = [
    "CHUNK_BLOCKS", "uniform_chunks", "gaussian_chunks", "counter_chunks", "gaussian_streams",
    "lfsr_cells",
    "Moments", "moments", "normal_cdf", "empirical_law", "ks_distance", "ad_distance",
    "ad_expected", "ks_statistic", "anderson_darling",
    "IndependenceCheck", "independence_bound", "FAMILY_FALSE_ALARM", "family_z",
    "autocorrelation", "autocorrelation_check",
    "cross_correlation_check",
    "GaussianReport", "gaussian_report", "gaussian_battery", "SOURCES",
    "DieharderResult", "parse_dieharder", "final_results", "dieharder_command", "run_dieharder",
    "QUICK_TESTS", "DieharderMissing",
]

#: Blocks computed per chunk (per stream group) when streaming noise.
CHUNK_BLOCKS = 1 << 16

_U64 = (1 << 64) - 1


# --- streams in chunks -----------------------------------------------------------------------

def _chunk_ranges(count: int | None, per_chunk: int) -> Iterator[tuple[int, int]]:
    """(start, length) of consecutive chunks covering [0, count), or forever if None."""
    start = 0
    while count is None or start < count:
        length = per_chunk if count is None else min(per_chunk, count - start)
        yield start, length
        start += length


def uniform_chunks(seed: int, streams: int, count: int | None,
                   rounds: int = THREEFRY_ROUNDS,
                   chunk: int = CHUNK_BLOCKS) -> Iterator[np.ndarray]:
    """Blocks 0..count-1 of streams 0..streams-1 under `seed` (forever if `count` is None):
    uint32 arrays (blocks, streams, 2) of ``(out0, out1)``, as `uniform_block` gives them,
    about `chunk` blocks in all per array."""
    stream_key(seed, streams - 1)
    check_rounds(rounds)
    index = np.arange(streams, dtype=np.int64)[None, :]
    for start, length in _chunk_ranges(count, max(1, chunk // streams)):
        blocks = np.arange(start, start + length, dtype=np.uint64)[:, None]
        yield uniform_block(seed, index, blocks, rounds)


def gaussian_chunks(seed: int, streams: int, count: int | None, shaper: str = "icdf",
                    rounds: int = THREEFRY_ROUNDS, fmt: GaussianFormat = NOISE_FORMAT,
                    chunk: int = CHUNK_BLOCKS) -> Iterator[np.ndarray]:
    """Steps 0..count-1 of the Gaussian streams (forever if `count` is None): int64 arrays
    (steps, streams), row t equal to row t of ``noise_steps(seed, streams, count, shaper)``."""
    spb = SHAPER_SAMPLES[shaper] if shaper in SHAPER_SAMPLES else None
    if spb is None:
        raise ValueError(f"shaper must be one of {', '.join(SHAPER_SAMPLES)}, got {shaper!r}")
    blocks_needed = None if count is None else -(-count // spb)
    done = 0
    for blocks in uniform_chunks(seed, streams, blocks_needed, rounds, chunk):
        samples = shape_blocks(blocks, shaper, fmt)             # (blocks, streams, spb)
        steps = samples.transpose(0, 2, 1).reshape(-1, streams)  # step = block * spb + k
        if count is not None:
            steps = steps[:count - done]
        done += len(steps)
        yield steps


def counter_chunks(key0: int, key1: int, counter: int, count: int,
                   rounds: int = THREEFRY_ROUNDS,
                   chunk: int = CHUNK_BLOCKS) -> Iterator[np.ndarray]:
    """Threefry-2x32 of the 64-bit counters ``counter, counter + 1, ...`` (`count` of them,
    modulo 2**64; counter0 = low word) under key ``(key0, key1)``: uint32 arrays (blocks, 2)."""
    check_rounds(rounds)
    for start, length in _chunk_ranges(count, chunk):
        first = (counter + start) & _U64
        with np.errstate(over="ignore"):
            c = np.arange(length, dtype=np.uint64) + np.uint64(first)   # wraps mod 2**64
        out0, out1 = threefry2x32((c & np.uint64(0xFFFFFFFF)).astype(np.uint32),
                                  (c >> np.uint64(32)).astype(np.uint32),
                                  np.uint32(key0), np.uint32(key1), rounds)
        yield np.stack([out0, out1], axis=-1)


def gaussian_streams(seed: int, streams: int, n: int, shaper: str,
                     rounds: int = THREEFRY_ROUNDS) -> np.ndarray:
    """The first `n` steps of `streams` Gaussian streams, int64 (n, streams)."""
    return np.concatenate(list(gaussian_chunks(seed, streams, n, shaper, rounds)))


def lfsr_cells(seed: int, cells: int, n: int, spacing: int = 1) -> np.ndarray:
    """The naive LFSR design's noise for `cells` cells: int64 (n, cells), column i = the
    CLT samples of one 32-bit LFSR (`lfsr_clt_gaussian`, one bit per sample) read through a
    tap `spacing * i` bits further along the shift register."""
    if not isinstance(spacing, int) or spacing < 1:
        raise ValueError(f"spacing must be a positive integer, got {spacing!r}")
    one = lfsr_clt_gaussian(seed, n + spacing * (cells - 1))
    return np.stack([one[spacing * i:spacing * i + n] for i in range(cells)], axis=1)


# --- distribution -------------------------------------------------------------------------

@dataclass(frozen=True)
class Moments:
    """Sample moments: mean, variance (1/n), skewness and excess kurtosis, n samples."""

    n: int
    mean: float
    variance: float
    skewness: float
    excess_kurtosis: float


def moments(x) -> Moments:
    """`Moments` of the samples `x` (any shape, flattened; float64, centred first)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 2:
        raise ValueError("need at least two samples")
    mean = float(x.mean())
    d = x - mean
    m2 = float(np.mean(d * d))
    m3 = float(np.mean(d ** 3))
    m4 = float(np.mean(d ** 4))
    if m2 == 0:
        raise ValueError("samples are all equal; their moments are undefined")
    return Moments(x.size, mean, m2, m3 / m2 ** 1.5, m4 / (m2 * m2) - 3.0)


def normal_cdf(x, mean: float = 0.0, sigma: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(P(X <= x), P(X > x))`` for X ~ N(mean, sigma**2), both computed with erfc so the
    far tails keep their relative precision. Evaluated once per distinct value of `x`."""
    x = np.asarray(x, dtype=np.float64)
    values, inverse = np.unique(x, return_inverse=True)
    t = (values - mean) / (sigma * math.sqrt(2.0))
    lower = np.array([0.5 * math.erfc(-v) for v in t.tolist()])
    upper = np.array([0.5 * math.erfc(v) for v in t.tolist()])
    return lower[inverse].reshape(x.shape), upper[inverse].reshape(x.shape)


def empirical_law(x) -> tuple[np.ndarray, np.ndarray]:
    """The empirical law of samples `x`: (distinct values sorted, their counts)."""
    return np.unique(np.asarray(x).ravel(), return_counts=True)


def _law(values, weights, mean, sigma):
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if values.ndim != 1 or values.shape != weights.shape or values.size == 0:
        raise ValueError("a law is two equal-length 1-D arrays: values and weights")
    if np.any(np.diff(values) <= 0):
        raise ValueError("a law's values must be strictly increasing")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    total = weights.sum()
    after = np.cumsum(weights) / total             # G at each atom
    before = np.concatenate([[0.0], after[:-1]])   # G just below each atom
    after[-1] = 1.0
    lower, upper = normal_cdf(values, mean, sigma)
    return before, after, lower, upper


def ks_distance(values, weights, mean: float = 0.0, sigma: float = 1.0) -> float:
    """Kolmogorov-Smirnov distance ``sup |G(x) - Phi((x - mean) / sigma)|`` between the
    discrete law G (atoms `values`, weights `weights`) and the normal. The sup is reached
    just below or at an atom."""
    before, after, lower, _ = _law(values, weights, mean, sigma)
    return float(max(np.abs(after - lower).max(), np.abs(before - lower).max()))


def _ad_pieces(before, after, lower, upper):
    """Per-interval integrals of the Anderson-Darling weight over u = Phi, where G is the
    constant c on [a, b] (in u): intervals (-inf, x0), (x0, x1), ..., (x_last, inf)."""
    c = np.concatenate([before[:1], after])                 # G on each interval
    a = np.concatenate([[0.0], lower])                      # Phi at the interval's ends
    b = np.concatenate([lower, [1.0]])
    qa = np.concatenate([[1.0], upper])                     # 1 - Phi, from erfc
    qb = np.concatenate([upper, [0.0]])
    return c, a, b, qa, qb


def _log_ratio(hi, lo):
    """ln(hi / lo) for hi >= lo >= 0 (0 where hi == lo, inf where lo == 0 < hi)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log1p((hi - lo) / lo)
    return np.where(hi == lo, 0.0, out)


def ad_distance(values, weights, mean: float = 0.0, sigma: float = 1.0) -> float:
    """Anderson-Darling distance ``integral (G - Phi)**2 / (Phi (1 - Phi)) dPhi`` of the
    discrete law G from the normal; for an empirical law of n samples ``n`` times it is the
    statistic A**2. Exact piecewise: on an interval where G = c,
    ``(c - u)**2 / (u (1 - u)) = c**2 / u + (1 - c)**2 / (1 - u) - 1``."""
    before, after, lower, upper = _law(values, weights, mean, sigma)
    c, a, b, qa, qb = _ad_pieces(before, after, lower, upper)
    with np.errstate(invalid="ignore"):
        pieces = (-(b - a) + np.where(c > 0, c * c * _log_ratio(b, a), 0.0)
                  + np.where(c < 1, (1 - c) ** 2 * _log_ratio(qa, qb), 0.0))
    return float(pieces.sum())


def ad_expected(values, weights, n: int, mean: float = 0.0, sigma: float = 1.0) -> float:
    """Expected A**2 of `n` samples drawn from the discrete law G, tested against the normal:
    ``n * ad_distance(G) + integral G (1 - G) / (Phi (1 - Phi)) dPhi`` (the second term is
    about 1; a sample from the normal itself has E[A**2] = 1)."""
    before, after, lower, upper = _law(values, weights, mean, sigma)
    c, a, b, qa, qb = _ad_pieces(before, after, lower, upper)
    inner = (c > 0) & (c < 1)
    with np.errstate(invalid="ignore"):
        spread = np.where(inner, c * (1 - c) * (_log_ratio(b, a) + _log_ratio(qa, qb)), 0.0)
    return n * ad_distance(values, weights, mean, sigma) + float(spread.sum())


def ks_statistic(x, mean: float = 0.0, sigma: float = 1.0) -> float:
    """Kolmogorov-Smirnov statistic D of samples `x` against N(mean, sigma**2)."""
    return ks_distance(*empirical_law(x), mean, sigma)


def anderson_darling(x, mean: float = 0.0, sigma: float = 1.0) -> float:
    """Anderson-Darling statistic A**2 of samples `x` against N(mean, sigma**2) (known
    parameters: about 1 on average for normal samples, 2.49 / 3.86 the 5% / 1% points)."""
    values, counts = empirical_law(x)
    return int(counts.sum()) * ad_distance(values, counts, mean, sigma)


# --- independence -------------------------------------------------------------------------

#: The probability that a family of correlations of independent streams fails its check.
FAMILY_FALSE_ALARM = 1e-6


def family_z(family: int, false_alarm: float = FAMILY_FALSE_ALARM) -> float:
    """The |z| that `family` independent standard normal values all stay within with
    probability ``1 - false_alarm`` (Sidak: each may exceed it with probability
    ``1 - (1 - false_alarm) ** (1 / family)``)."""
    each = -math.expm1(math.log1p(-false_alarm) / family)
    return NormalDist().inv_cdf(1 - each / 2)


def independence_bound(n: int, family: int = 1) -> float:
    """The bound each of `family` correlations of n samples of independent streams must
    stay within: ``family_z(family) / sqrt(n)`` (a correlation is about N(0, 1/n)), so
    that the whole family fails with probability `FAMILY_FALSE_ALARM`."""
    return family_z(family) / math.sqrt(n)


@dataclass(frozen=True)
class IndependenceCheck:
    """The largest |correlation| of a family, where it is, and its bound
    (`independence_bound`)."""

    what: str
    n: int
    worst: float
    where: str
    bound: float
    values: tuple = field(repr=False, default=())

    @property
    def passed(self) -> bool:
        return self.worst <= self.bound


def _standardise(x):
    x = np.asarray(x, dtype=np.float64)
    d = x - x.mean(axis=0)
    sd = np.sqrt(np.mean(d * d, axis=0))
    if np.any(sd == 0):
        raise ValueError("a stream is constant; its correlations are undefined")
    return d / sd


def autocorrelation(x, lags) -> np.ndarray:
    """Pearson correlation of one stream `x` with itself `lag` steps later, for each lag."""
    z = _standardise(np.asarray(x).ravel())
    return np.array([float(np.dot(z[:-lag], z[lag:]) / (z.size - lag)) for lag in lags])


def autocorrelation_check(x, max_lag: int = 16) -> IndependenceCheck:
    """Lags 1..max_lag of one stream against `independence_bound` (a family of max_lag)."""
    x = np.asarray(x).ravel()
    r = autocorrelation(x, range(1, max_lag + 1))
    k = int(np.argmax(np.abs(r)))
    return IndependenceCheck(f"max |autocorrelation|, lags 1..{max_lag}", x.size,
                             float(abs(r[k])), f"lag {k + 1}", independence_bound(x.size, max_lag),
                             tuple(r.tolist()))


def cross_correlation_check(streams) -> IndependenceCheck:
    """Lag-0 correlation between every pair of columns of `streams` (n, m) against
    `independence_bound` (a family of m (m - 1) / 2 pairs)."""
    streams = np.asarray(streams)
    n, m = streams.shape
    if m < 2:
        raise ValueError("cross-correlation needs at least two streams")
    z = _standardise(streams)
    c = (z.T @ z) / n
    i, j = np.triu_indices(m, 1)
    pairs = np.abs(c[i, j])
    k = int(np.argmax(pairs))
    return IndependenceCheck(f"max |cross-correlation|, {m} streams", n, float(pairs[k]),
                             f"streams {i[k]},{j[k]}", independence_bound(n, len(pairs)),
                             tuple(c[i, j].tolist()))


# --- the Gaussian table ---------------------------------------------------------------------

#: Sources of `gaussian_battery`: name -> (shaper whose exact law applies, description).
SOURCES = {
    "clt": ("clt", "Threefry-2x32, CLT shaper"),
    "icdf": ("icdf", "Threefry-2x32, inverse-CDF shaper"),
    "lfsr-clt": ("clt", "32-bit LFSR, CLT shaper; cells tap neighbouring bits"),
}


@dataclass(frozen=True)
class GaussianReport:
    """Everything the Gaussian table shows for one source, in units of the target sigma
    (raw / 2**frac_bits). ``exact_*`` come from the enumerated law of the source's shaper
    (`shaper_stats`); ``*_se`` are standard errors of the sample statistic under that law."""

    source: str
    description: str
    n: int
    streams: int
    moments: Moments
    exact_mean: float
    exact_variance: float
    exact_skewness: float
    exact_excess_kurtosis: float
    mean_se: float
    variance_se: float
    skewness_se: float
    kurtosis_se: float
    ks: float
    ks_exact: float
    ad: float
    ad_expected: float
    autocorrelation: IndependenceCheck
    cross_correlation: IndependenceCheck

    @property
    def independent(self) -> bool:
        return self.autocorrelation.passed and self.cross_correlation.passed


def _exact_law(shaper: str, fmt: GaussianFormat):
    """Values (in sigmas), weights, and the exact mean, variance, skewness, excess kurtosis."""
    values, counts, total = shaper_distribution(shaper, fmt)
    x = values.astype(np.float64) / fmt.one
    w = counts.astype(np.float64) / float(total)
    stats = shaper_stats(shaper, fmt)
    mean = float(stats.mean) / fmt.one
    d = x - mean
    var = float(stats.variance) / fmt.one ** 2
    skew = float(np.sum(w * d ** 3)) / var ** 1.5
    return x, w, mean, var, skew, stats.kurtosis - 3.0


def gaussian_report(source: str, samples, fmt: GaussianFormat = NOISE_FORMAT,
                    max_lag: int = 16) -> GaussianReport:
    """The statistics of `samples` (int64 (n, streams), raw values in `fmt`) of `source`
    (a key of `SOURCES`): distribution of stream 0 against the normal with the exact mean
    and variance of the source's shaper, autocorrelation of stream 0, cross-correlation of
    all streams."""
    shaper, description = SOURCES[source]
    samples = np.asarray(samples)
    n, streams = samples.shape
    x0 = samples[:, 0].astype(np.float64) / fmt.one
    values, weights, mean, var, skew, exkurt = _exact_law(shaper, fmt)
    sigma = math.sqrt(var)
    m = moments(x0)
    kurt = exkurt + 3.0
    # Standard errors under the exact law (large-n formulas; the 6th/8th moments of a
    # near-normal law are used for skewness and kurtosis).
    d = values - mean
    m6 = float(np.sum(weights * d ** 6)) / var ** 3
    m8 = float(np.sum(weights * d ** 8)) / var ** 4
    law_values, law_counts = empirical_law(x0)
    return GaussianReport(
        source=source, description=description, n=n, streams=streams, moments=m,
        exact_mean=mean, exact_variance=var, exact_skewness=skew, exact_excess_kurtosis=exkurt,
        mean_se=sigma / math.sqrt(n),
        variance_se=var * math.sqrt((kurt - 1.0) / n),
        skewness_se=math.sqrt(max(m6 - 6 * kurt + 9, 0.0) / n),
        kurtosis_se=math.sqrt(max(m8 - kurt * kurt, 0.0) / n),
        ks=ks_distance(law_values, law_counts, mean, sigma),
        ks_exact=ks_distance(values, weights, mean, sigma),
        ad=n * ad_distance(law_values, law_counts, mean, sigma),
        ad_expected=ad_expected(values, weights, n, mean, sigma),
        autocorrelation=autocorrelation_check(samples[:, 0], max_lag),
        cross_correlation=cross_correlation_check(samples))


def gaussian_battery(seed: int, n: int, streams: int = 8, sources=tuple(SOURCES),
                     rounds: int = THREEFRY_ROUNDS, lfsr_seed: int | None = None,
                     progress: Callable[[str], None] | None = None) -> list[GaussianReport]:
    """`gaussian_report` for each source on `n` samples of `streams` streams (cells).

    Threefry sources use streams 0..streams-1 of `seed`; the LFSR source is seeded with
    `lfsr_seed` (default: `seed`, or 1 if that is 0 or wider than 32 bits) and builds its
    cells with `lfsr_cells`."""
    if not isinstance(n, int) or n < 100:
        raise ValueError(f"samples must be an integer of at least 100, got {n!r}")
    if not isinstance(streams, int) or not 2 <= streams <= 1024:
        raise ValueError(f"streams must be an integer in [2, 1024], got {streams!r}")
    say = progress or (lambda line: None)
    reports = []
    for source in sources:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        began = time.monotonic()
        say(f"{source}: generating {streams} streams x {n} samples")
        if source == "lfsr-clt":
            s = lfsr_seed if lfsr_seed is not None else (seed if 0 < seed < 1 << 32 else 1)
            samples = lfsr_cells(s, streams, n)
        else:
            samples = gaussian_streams(seed, streams, n, SOURCES[source][0], rounds)
        say(f"{source}: moments, KS, Anderson-Darling, correlations")
        reports.append(gaussian_report(source, samples))
        say(f"{source}: done in {time.monotonic() - began:.1f} s")
    return reports


# --- dieharder ------------------------------------------------------------------------------

class DieharderMissing(Exception):
    """dieharder is not on PATH."""


#: The quick subset: (dieharder test number, name), about 100 s in all on one core (birthday
#: spacings, overlapping permutations, binary ranks, bitstream, count-the-ones, parking lot,
#: minimum distances, runs, craps, STS monobit, RGB permutations). The binary-rank tests are
#: the ones a linear generator (an LFSR) fails.
QUICK_TESTS = (
    (0, "diehard_birthdays"),
    (1, "diehard_operm5"),
    (2, "diehard_rank_32x32"),
    (3, "diehard_rank_6x8"),
    (4, "diehard_bitstream"),
    (8, "diehard_count_1s_str"),
    (10, "diehard_parking_lot"),
    (11, "diehard_2dsphere"),
    (12, "diehard_3dsphere"),
    (15, "diehard_runs"),
    (16, "diehard_craps"),
    (100, "sts_monobit"),
    (202, "rgb_permutations"),
)


@dataclass(frozen=True)
class DieharderResult:
    """One row of dieharder's report."""

    test: str
    ntup: int
    tsamples: int
    psamples: int
    p_value: float
    assessment: str        # PASSED, WEAK or FAILED


_ROW = re.compile(r"^\s*(\w+)\|\s*(\d+)\|\s*(\d+)\|\s*(\d+)\|\s*([0-9.eE+-]+)\|\s*(PASSED|WEAK|FAILED)")


def parse_dieharder(text: str) -> list[DieharderResult]:
    """The result rows of dieharder's standard output (header and comment lines skipped)."""
    rows = []
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            name, ntup, tsamples, psamples, p, verdict = match.groups()
            rows.append(DieharderResult(name, int(ntup), int(tsamples), int(psamples),
                                        float(p), verdict))
    return rows


def final_results(rows) -> list[DieharderResult]:
    """The rows that stand after ``-Y 1``: dieharder prints a test's rows (one per
    statistic), and when one is WEAK prints them all again with more p-values; keep the last
    pass of each test (a pass has as many rows as the test's first one)."""
    by_test: dict[str, list[DieharderResult]] = {}
    for row in rows:
        by_test.setdefault(row.test, []).append(row)
    final = []
    for test_rows in by_test.values():
        first = sum(1 for _ in _leading(test_rows))
        final += test_rows[-first:]
    return final


def _leading(rows):
    for row in rows:
        if row.psamples != rows[0].psamples:
            return
        yield row


def generator_command(seed: int, streams: int = 1, rounds: int = THREEFRY_ROUNDS) -> list[str]:
    """The command that writes the endless raw uniform words dieharder reads."""
    return [sys.executable, "-m", "tritherm.cli", "noise", "--seed", str(seed),
            "--streams", str(streams), "--rounds", str(rounds), "--format", "raw"]


def dieharder_command(test: int | None, psamples: int | None = None) -> list[str]:
    """``dieharder -g 200 -Y 1`` (raw 32-bit words on stdin; a WEAK result is re-run with
    more p-values until it resolves to PASSED or FAILED) for test number `test`, or the whole
    battery (``-a``) if `test` is None; `psamples` overrides the test's p-value count."""
    command = ["dieharder", "-g", "200", "-Y", "1"]
    command += ["-a"] if test is None else ["-d", str(test)]
    if psamples is not None:
        command += ["-p", str(psamples)]
    return command


def run_dieharder(tests, seed: int = 0, streams: int = 1, rounds: int = THREEFRY_ROUNDS,
                  psamples: int | None = None,
                  progress: Callable[[str], None] | None = None,
                  row: Callable[[DieharderResult], None] | None = None):
    """Run dieharder on the raw uniform words of `streams` interleaved streams of `seed`:
    one pipeline ``tritherm noise --format raw | dieharder -g 200 -d N`` per entry of
    `tests` (a test number, or None for the whole battery, ``-a``). Returns the rows and
    the wall time in seconds; `row` is called for each row as dieharder prints it."""
    if shutil.which("dieharder") is None:
        raise DieharderMissing("dieharder is not installed; install it with "
                               "`sudo apt-get install dieharder`")
    say = progress or (lambda line: None)
    results = []
    began = time.monotonic()
    for test in tests:
        start = time.monotonic()
        say(f"dieharder {'-a (the whole battery)' if test is None else f'-d {test}'} ...")
        generator = subprocess.Popen(generator_command(seed, streams, rounds),
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            tester = subprocess.Popen(dieharder_command(test, psamples), stdin=generator.stdout,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)
            generator.stdout.close()        # dieharder owns the read end now
            lines = []
            for line in tester.stdout:
                lines.append(line)
                for result in parse_dieharder(line):
                    results.append(result)
                    if row:
                        row(result)
            error = tester.stderr.read()
            status = tester.wait()
        finally:
            generator.kill()
            generator.wait()
        if status != 0 or not parse_dieharder("".join(lines)):
            message = (error.strip().splitlines() or ["no result rows"])[-1]
            raise RuntimeError(f"dieharder {' '.join(dieharder_command(test, psamples)[1:])} "
                               f"failed (exit status {status}): {message}")
        say(f"  done in {time.monotonic() - start:.0f} s")
    return results, time.monotonic() - began
