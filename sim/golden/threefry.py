"""Counter-based Gaussian noise golden model: Threefry-2x32, stream keys, shapers, statistics.

Pure numpy (no Amaranth). Everything here is a function of (seed, stream index, step): any
stream at any step is recomputed directly, without running the steps or streams before it.

Layout of the noise (`tritherm.formats` writes the constants down once):

- Stream ``index`` under user ``seed`` uses the Threefry key ``(key0, key1) = (index, seed)``.
- Its block number ``b`` is the 64-bit counter ``(counter0, counter1) = (b mod 2**32, b >> 32)``.
- A 64-bit block is ``(out0, out1)``; as one integer ``out0 | out1 << 32``.
- A shaper turns one block into ``SHAPER_SAMPLES[shaper]`` samples (CLT: 1, ICDF: 2), so
  step ``t`` of a stream is sample ``t % spb`` of block ``t // spb``.

Shapers (raw samples in `NOISE_FORMAT`, signed 16-bit with 12 fraction bits, target sigma =
4096 LSB; `shaper_stats` gives each one's exact moments):

``clt``  ``S = sum of the four 16-bit fields - 131070``; ``(S * 887) >> 13``. Irwin-Hall of
         order 4: platykurtic (kurtosis 2.7), bounded at 3.46 sigma. Shifts and adds only.
``icdf`` per 32-bit word: sign bit, then a leading-zero octave and 3 bits pick one of 256
         segments of the half-normal inverse CDF, 12 more bits interpolate (one small
         multiply); tails reach 6.3 sigma.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np

from tritherm.formats import (CLT_FIELD_BITS, CLT_FIELDS, CLT_SHIFT, ICDF_FRACTION_BITS,
                              ICDF_SEGMENT_BITS, NOISE_FORMAT, SHAPER_SAMPLES,
                              THREEFRY_INJECT_EVERY, THREEFRY_PARITY, THREEFRY_ROTATIONS,
                              THREEFRY_ROUNDS, GaussianFormat, check_rounds, clt_scale,
                              icdf_table, stream_key)

__all__ = [
    "threefry2x32", "stream_key", "uniform_block", "blocks_as_words",
    "clt_gaussian", "icdf_gaussian", "SHAPERS", "shape_blocks", "gaussian_samples",
    "noise_steps", "shaper_distribution", "shaper_stats", "ShaperStats",
    "lfsr_clt_gaussian", "von_neumann_seed",
]

_M32 = np.uint32(0xFFFFFFFF)


def _u32(value) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "ui":
        raise ValueError(f"Threefry words must be integers, got dtype {array.dtype}")
    if array.dtype != np.uint32:
        wide = array.astype(np.int64) if array.dtype.kind == "i" else array.astype(np.uint64)
        if (wide < 0).any() or (wide > 0xFFFFFFFF).any():
            raise ValueError("Threefry words must be in [0, 2**32 - 1]")
        array = wide.astype(np.uint32)
    return array


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(counter0, counter1, key0, key1, rounds: int = THREEFRY_ROUNDS):
    """Threefry-2x32 of Random123: ``(out0, out1)`` for counter ``(counter0, counter1)`` under
    key ``(key0, key1)``, `rounds` rounds (1..32). Vectorised over broadcast uint32 arrays.

    Round ``r``: ``x0 += x1; x1 = rotl(x1, R[r % 8]) ^ x0``; after every fourth round ``i``-th
    key injection: ``x0 += ks[i % 3]; x1 += ks[(i + 1) % 3] + i`` with ``ks = (k0, k1, k0 ^ k1
    ^ 0x1BD11BDA)``; injection 0 (``x = counter + key``) precedes round 0.
    """
    check_rounds(rounds)
    c0, c1, k0, k1 = np.broadcast_arrays(*(_u32(v) for v in (counter0, counter1, key0, key1)))
    ks = (k0, k1, k0 ^ k1 ^ np.uint32(THREEFRY_PARITY))
    with np.errstate(over="ignore"):
        x0 = c0 + ks[0]
        x1 = c1 + ks[1]
        for r in range(rounds):
            x0 = x0 + x1
            x1 = _rotl(x1, THREEFRY_ROTATIONS[r % 8]) ^ x0
            if r % THREEFRY_INJECT_EVERY == THREEFRY_INJECT_EVERY - 1:
                i = (r + 1) // THREEFRY_INJECT_EVERY
                x0 = x0 + ks[i % 3]
                x1 = x1 + ks[(i + 1) % 3] + np.uint32(i)
    return x0, x1


def uniform_block(seed: int, index, block, rounds: int = THREEFRY_ROUNDS) -> np.ndarray:
    """Block number(s) `block` of stream(s) `index` under `seed`: uint32 array (..., 2) of
    ``(out0, out1)``. `index` and `block` broadcast; `block` is a 64-bit counter."""
    stream_key(seed, 0)                     # validates the seed; key = (index, seed)
    index = np.asarray(index, dtype=np.int64)
    if (index < 0).any() or (index > 0xFFFFFFFF).any():
        raise ValueError("index must be in [0, 2**32 - 1]")
    block = np.asarray(block, dtype=np.uint64)
    out0, out1 = threefry2x32((block & np.uint64(0xFFFFFFFF)).astype(np.uint32),
                              (block >> np.uint64(32)).astype(np.uint32),
                              index.astype(np.uint32), np.uint32(seed),
                              rounds)
    return np.stack([out0, out1], axis=-1)


def blocks_as_words(blocks: np.ndarray) -> np.ndarray:
    """Blocks (..., 2) of uint32 as 64-bit integers ``out0 | out1 << 32`` (uint64)."""
    blocks = np.asarray(blocks, dtype=np.uint64)
    return blocks[..., 0] | (blocks[..., 1] << np.uint64(32))


def clt_gaussian(blocks, fmt: GaussianFormat = NOISE_FORMAT) -> np.ndarray:
    """CLT shaper: one sample per block, int64 array (..., 1) of raw values in `fmt`.

    ``S = f0 + f1 + f2 + f3 - 2 (2**16 - 1)`` over the 16-bit fields of ``out0 | out1 << 32``
    (low field first), then ``(S * K) >> 13`` (floor) with ``K = clt_scale(fmt)``.
    """
    blocks = np.asarray(blocks, dtype=np.uint32).astype(np.int64)
    mask = (1 << CLT_FIELD_BITS) - 1
    total = np.zeros(blocks.shape[:-1], dtype=np.int64)
    for field in range(CLT_FIELDS):
        word, shift = divmod(field * CLT_FIELD_BITS, 32)
        total += (blocks[..., word] >> shift) & mask
    s = total - CLT_FIELDS * mask // 2 if CLT_FIELDS % 2 == 0 else 2 * total - CLT_FIELDS * mask
    return ((s * clt_scale(fmt)) >> CLT_SHIFT)[..., None]


def _icdf_parts(r: np.ndarray):
    """Leading-zero count z (31 for r = 0), sub-segment j and fraction f of 31-bit `r`."""
    r = np.asarray(r, dtype=np.int64)
    bits = np.zeros_like(r)
    nonzero = r > 0
    bits[nonzero] = np.floor(np.log2(r[nonzero])).astype(np.int64)
    # log2 can round up just below a power of two; fix it exactly.
    bits -= (np.left_shift(1, bits) > r) & nonzero
    bits += (np.left_shift(1, bits + 1) <= r) & nonzero
    z = np.where(nonzero, 30 - bits, 31)
    n = np.left_shift(r, z) & 0x7FFFFFFF
    j = (n >> (30 - ICDF_SEGMENT_BITS)) & ((1 << ICDF_SEGMENT_BITS) - 1)
    f = (n >> (30 - ICDF_SEGMENT_BITS - ICDF_FRACTION_BITS)) & ((1 << ICDF_FRACTION_BITS) - 1)
    return z, j, f


@lru_cache(maxsize=None)
def _icdf_arrays(fmt: GaussianFormat):
    table = np.array(icdf_table(fmt), dtype=np.int64)
    return table[:, 0], table[:, 1]


def _icdf_magnitude(z, j, f, fmt):
    x_hi, drop = _icdf_arrays(fmt)
    index = z * (1 << ICDF_SEGMENT_BITS) + j
    return x_hi[index] - ((drop[index] * (2 * f + 1)) >> (ICDF_FRACTION_BITS + 1))


def icdf_gaussian(blocks, fmt: GaussianFormat = NOISE_FORMAT) -> np.ndarray:
    """Inverse-CDF shaper: two samples per block (one per 32-bit word), int64 (..., 2).

    Word ``w``: sign = bit 31; ``r = w & 0x7FFFFFFF``; ``z`` = leading zeros of r in 31 bits
    (31 if r = 0); ``n = (r << z) mod 2**31``; ``j = n[27:30]``, ``f = n[15:27]``;
    magnitude ``x_hi - ((d * (2 f + 1)) >> 13)`` with ``(x_hi, d) = icdf_table(fmt)[8 z + j]``;
    the sample is the magnitude, negated if the sign bit is set.
    """
    words = np.asarray(blocks, dtype=np.uint32).astype(np.int64)
    z, j, f = _icdf_parts(words & 0x7FFFFFFF)
    magnitude = _icdf_magnitude(z, j, f, fmt)
    return np.where(words >> 31, -magnitude, magnitude)


#: Shapers by name: function of blocks (..., 2) -> samples (..., SHAPER_SAMPLES[name]).
SHAPERS = {"clt": clt_gaussian, "icdf": icdf_gaussian}


def _check_shaper(shaper: str) -> str:
    if shaper not in SHAPERS:
        raise ValueError(f"shaper must be one of {', '.join(SHAPERS)}, got {shaper!r}")
    return shaper


def shape_blocks(blocks, shaper: str, fmt: GaussianFormat = NOISE_FORMAT) -> np.ndarray:
    """Apply the named shaper: (..., 2) blocks -> (..., samples per block) int64."""
    return SHAPERS[_check_shaper(shaper)](blocks, fmt)


def gaussian_samples(seed: int, index, steps, shaper: str = "icdf",
                     rounds: int = THREEFRY_ROUNDS, fmt: GaussianFormat = NOISE_FORMAT):
    """Sample(s) of stream(s) `index` at step(s) `steps` (broadcast), int64 raw values.

    Step t is sample ``t % spb`` of block ``t // spb`` (spb = samples per block of the
    shaper). Each value is computed directly from (seed, index, t).
    """
    spb = SHAPER_SAMPLES[_check_shaper(shaper)]
    steps = np.asarray(steps, dtype=np.uint64)
    index, steps = np.broadcast_arrays(np.asarray(index, dtype=np.int64), steps)
    samples = shape_blocks(uniform_block(seed, index, steps // np.uint64(spb), rounds),
                           shaper, fmt)
    which = (steps % np.uint64(spb)).astype(np.int64)
    return np.take_along_axis(samples, which[..., None], axis=-1)[..., 0]


def noise_steps(seed: int, streams: int, steps, shaper: str = "icdf",
                rounds: int = THREEFRY_ROUNDS, start: int = 0,
                fmt: GaussianFormat = NOISE_FORMAT) -> np.ndarray:
    """What `NoiseSource` emits: int64 array (steps, streams), row t = step start + t of
    streams 0..streams-1 (one beat of the core per row)."""
    t = np.arange(steps, dtype=np.uint64) + np.uint64(start)
    return gaussian_samples(seed, np.arange(streams)[None, :], t[:, None], shaper, rounds, fmt)


# --- exact distributions and statistics ---------------------------------------------------

def _clt_sum_counts() -> np.ndarray:
    """Exact counts of the sum of CLT_FIELDS uniform CLT_FIELD_BITS-bit fields (int64)."""
    n = 1 << CLT_FIELD_BITS
    k = CLT_FIELDS
    s = np.arange(k * (n - 1) + 1, dtype=np.int64)
    counts = np.zeros_like(s)
    for j in range(k + 1):
        m = s - j * n
        ok = m >= 0
        c = np.zeros_like(s)
        mm = m[ok] + k - 1          # C(m + k - 1, k - 1), exact in int64 for k = 4, n = 2**16
        term = np.ones_like(mm)
        for i in range(k - 1):
            term = term * (mm - i)
        c[ok] = term // math.factorial(k - 1)
        counts += (-1) ** j * math.comb(k, j) * c
    return counts


@lru_cache(maxsize=None)
def shaper_distribution(shaper: str, fmt: GaussianFormat = NOISE_FORMAT):
    """Exact distribution of one sample: ``(values, counts, total)``: sorted int64 values,
    their int64 counts (numbers of equally likely input words) and the Python-int total."""
    _check_shaper(shaper)
    if shaper == "clt":
        counts = _clt_sum_counts()
        mask = (1 << CLT_FIELD_BITS) - 1
        s = np.arange(len(counts), dtype=np.int64) - CLT_FIELDS * mask // 2
        y = (s * clt_scale(fmt)) >> CLT_SHIFT
        total = 1 << (CLT_FIELDS * CLT_FIELD_BITS)
    else:
        # Enumerate (z, top bits of r below its leading one); lower bits are don't-cares.
        ys, ws = [], []
        used = ICDF_SEGMENT_BITS + ICDF_FRACTION_BITS
        for z in range(32):
            below = 30 - z if z < 31 else 0          # bits of r under its leading one
            top = min(below, used)
            v = np.arange(1 << top, dtype=np.int64)
            jf = v << (used - top)
            j, f = jf >> ICDF_FRACTION_BITS, jf & ((1 << ICDF_FRACTION_BITS) - 1)
            mag = _icdf_magnitude(np.full_like(v, z), j, f, fmt)
            weight = 1 << (below - top)
            ys += [mag, -mag]
            ws += [np.full_like(v, weight)] * 2
        y, counts = np.concatenate(ys), np.concatenate(ws)
        total = 1 << 32
    values, inverse = np.unique(y, return_inverse=True)
    summed = np.zeros(len(values), dtype=np.int64)
    np.add.at(summed, inverse, counts)
    assert sum(int(c) for c in summed) == total
    assert values.min() >= fmt.min and values.max() <= fmt.max
    return values, summed, total


class ShaperStats(dict):
    """Exact statistics of a shaper's output (a dict, also readable as attributes).

    Keys: ``shaper``, ``samples_per_block``, ``mean`` and ``variance`` (exact Fractions, raw
    LSB units), ``sigma`` (float, in LSB), ``variance_sigma2`` (variance in units of the
    target sigma**2, i.e. / 4**frac_bits), ``kurtosis`` (m4 / m2**2; 3 for a normal),
    ``max_sigma`` (largest |value| / its own sigma), ``max_value`` (raw), ``ks`` (exact
    Kolmogorov-Smirnov distance of the discrete law from the normal of the same variance),
    ``tail_5sigma`` (P(|X| >= 5 own sigma)), ``cost`` (a rough structural logic cost).
    """

    __getattr__ = dict.__getitem__


_COST = {
    "clt": "4 x 16-bit adder tree (3 adders) + a constant x887 as 3 shift-adds (19..29 bits); "
           "2 pipeline registers; no multiplier, no memory",
    "icdf": "per sample (x2): 31-bit leading-zero normaliser (5 mux levels), 256 x 24-bit ROM "
            "(1-2 block RAMs), 9 x 13-bit unsigned multiply (one DSP or ~120 LUTs), "
            "15-bit subtract and conditional negate; 3 pipeline registers",
}


@lru_cache(maxsize=None)
def shaper_stats(shaper: str, fmt: GaussianFormat = NOISE_FORMAT) -> ShaperStats:
    """Exact statistics of the named shaper's output distribution (see `ShaperStats`),
    computed by enumerating its discrete distribution with integer arithmetic."""
    values, counts, total = shaper_distribution(shaper, fmt)
    v = [int(x) for x in values]
    c = [int(x) for x in counts]
    m1 = Fraction(sum(ci * vi for ci, vi in zip(c, v)), total)
    m2 = Fraction(sum(ci * vi * vi for ci, vi in zip(c, v)), total)
    variance = m2 - m1 * m1
    cm4 = Fraction(sum(ci * (vi - m1) ** 4 for ci, vi in zip(c, v)), total) if m1 else \
        Fraction(sum(ci * vi ** 4 for ci, vi in zip(c, v)), total)
    sigma = math.sqrt(variance)
    # KS: the normal CDF against the step CDF just before and at each atom.
    x = (values.astype(np.float64) - float(m1)) / sigma
    phi = np.array([0.5 * math.erfc(-t / math.sqrt(2)) for t in x])
    cdf_at = np.cumsum(counts.astype(np.float64)) / float(total)
    cdf_before = cdf_at - counts.astype(np.float64) / float(total)
    ks = float(max(np.abs(cdf_at - phi).max(), np.abs(cdf_before - phi).max()))
    big = np.abs(values - float(m1)) >= 5 * sigma
    return ShaperStats(
        shaper=shaper, samples_per_block=SHAPER_SAMPLES[shaper], mean=m1, variance=variance,
        sigma=sigma, variance_sigma2=float(variance / (1 << (2 * fmt.frac_bits))),
        kurtosis=float(cm4 / (variance * variance)),
        max_value=int(np.abs(values).max()), max_sigma=float(np.abs(values).max() / sigma),
        ks=ks, tail_5sigma=float(counts[big].sum() / total), cost=_COST[shaper])


# --- the thing the counter-based source avoids, and the entropy seeder -----------------------

def lfsr_clt_gaussian(seed: int, n: int, shift: int = 1,
                      fmt: GaussianFormat = NOISE_FORMAT) -> np.ndarray:
    """`n` CLT samples from a 32-bit LFSR, same format and scaling as `clt_gaussian`.

    The LFSR is Fibonacci, ``b[t+32] = b[t+22] ^ b[t+2] ^ b[t+1] ^ b[t]`` (polynomial
    ``x^32 + x^22 + x^2 + x + 1``, maximal length), loaded with the 32 bits of `seed`
    (non-zero, LSB first). Sample k is the CLT shaper applied to the 64-bit window
    ``b[k*shift : k*shift + 64]`` (bit 0 lowest), i.e. a shift register tapped at four
    16-bit fields and advanced `shift` bits per sample (1: the cheapest hardware).
    """
    if not isinstance(seed, int) or not 1 <= seed <= 0xFFFFFFFF:
        raise ValueError(f"seed must be an integer in [1, 2**32 - 1], got {seed!r}")
    if not isinstance(shift, int) or not 1 <= shift <= 64:
        raise ValueError(f"shift must be an integer in [1, 64], got {shift!r}")
    length = n * shift + 64
    bits = np.zeros(length + 10, dtype=np.uint8)
    bits[:32] = [(seed >> i) & 1 for i in range(32)]
    for t in range(0, length - 32, 10):
        bits[t + 32:t + 42] = bits[t + 22:t + 32] ^ bits[t + 2:t + 12] ^ bits[t + 1:t + 11] ^ \
            bits[t:t + 10]
    bits = bits[:length].astype(np.uint32)
    # words[p] = the 32 bits starting at p, bit 0 lowest
    span = length - 31
    words = np.zeros(span, dtype=np.uint32)
    for i in range(32):
        words |= bits[i:i + span] << np.uint32(i)
    starts = np.arange(n) * shift
    blocks = np.stack([words[starts], words[starts + 32]], axis=-1)
    return clt_gaussian(blocks, fmt)[..., 0]


def von_neumann_seed(raw_bits, seed_bits: int = 32) -> int | None:
    """The seed `SeedSource` assembles from a raw entropy bit sequence (one bit per cycle):
    von Neumann de-biasing of non-overlapping pairs (01 -> 0, 10 -> 1, 00/11 dropped),
    first kept bit as the seed's LSB. None if the bits run out first."""
    seed, kept = 0, 0
    raw = [int(b) & 1 for b in raw_bits]
    for a, b in zip(raw[0::2], raw[1::2]):
        if a != b:
            seed |= a << kept
            kept += 1
            if kept == seed_bits:
                return seed
    return None
