"""The trained model on the coupler: programs, the golden run, and a vectorised emulation.

A digit's potential is one overdamped coupler program (`to_program`): with the model's
``V_d = sum_i (J2 x_i^2 + J4 x_i^4 + b_di x_i) + sum_{i<j} J_ij x_i x_j`` the coupler's
update ``x' = x - h (A x - b + k4 x^3) + NOISE xi`` is the model's Euler-Maruyama step when

    A = J + 2 J2 I   (coef format, 12 fraction bits, [-8, 8)),
    b = -b_d         (state format, 10 fraction bits, [-32, 32)),
    k4 = 4 J4 = 4    (coef format), QUARTIC = 1, HSHIFT = 10 (h = 2**-10, exact),
    NOISE = sqrt(2 kT h) / sd(xi)   (mult format; kT = 0.1 realised to 0.4%),

with x itself as the state (no rescaling: the visible units live in [-1.2, 1.2], the
hidden ones in about [-1.5, 1.5], so x, x^2 and x^3 stay far inside [-32, 32)). The
generative run is two programs on one coupler: `uncoupled_program` (A = 2 J2 I, b = 0)
from x = 0 for t_f, the starting noise, then the digit's program, switched in by writing
only the A and b regions (`switch_writes`: x, the noise seed and the step count carry
on), for t_f. Chain i of digit d runs on the coupler seed ``seed + d * 2**24 + i``
(mod 2**32, `chain_seeds`): chains of different digits draw independent noise.

`generate_golden` runs that on `tritherm.sim.golden.CouplerModel`, bit-exact, one chain
at a time (it holds up to ``COUPLER_MAX_CELLS`` = 256 cells; A beyond row or column 63 is
written through region A_ROW). `fixed_run` computes the same integer update vectorised
over chains (A x in float64, exact because every partial sum is an integer below 2**53),
with the very noise the core would draw (``noise="threefry"``: bit for bit what
`generate_golden` returns) or, faster, numpy Gaussians in the noise format
(``noise="numpy"``): the quantised model's quality at many chains.
"""

from __future__ import annotations

import time

import numpy as np

from tritherm.errors import UserError
from tritherm.formats import (COUPLER_FORMAT, COUPLER_INDEX_BITS, COUPLER_MAX_CELLS,
                              COUPLER_OVERDAMPED, COUPLER_REGION_A, COUPLER_REGION_A_ROW,
                              COUPLER_REGION_B,
                              NOISE_FORMAT, THREEFRY_ROUNDS)
from tritherm.sim.golden.coupler import (CouplerModel, CouplerProgram, round_shift,
                                         saturate)
from tritherm.sim.golden.threefry import noise_steps

from .model import (PIXELS, Generated, GenerativeModel, check_count, check_digit,
                    check_seed, decode)

__all__ = ["to_program", "uncoupled_program", "switch_writes", "fixed_run",
           "generate_fixed", "generate_golden", "program_figures", "NOISES"]

#: Noise for `fixed_run`: the core's own (Threefry, per chain seed) or numpy's.
NOISES = ("threefry", "numpy")


def _from_physical(model: GenerativeModel, A, b, seed: int, shaper: str) -> CouplerProgram:
    try:
        return CouplerProgram.from_physical(
            A, b, kT=model.kT, hshift=model.hshift, mode="overdamped", J2=model.J2,
            J4=model.J4, seed=check_seed(seed), shaper=shaper, fmt=COUPLER_FORMAT)
    except ValueError as error:
        raise UserError(f"the model does not fit the coupler's formats: {error}") from None


def to_program(model: GenerativeModel, digit: int, seed: int = 0,
               shaper: str = "icdf") -> CouplerProgram:
    """Digit `digit`'s trained dynamics as an overdamped coupler program for the whole
    network (64 visible + H hidden cells), quantised by `CouplerProgram.from_physical`:
    ``A = J + 2 J2 I``, ``b = -b_digit``, ``k4 = 4 J4``, ``h = 2**-hshift``, kT; x0 = 0."""
    digit = check_digit(digit)
    return _from_physical(model, model.couplings, -model.bias[digit], seed, shaper)


def uncoupled_program(model: GenerativeModel, seed: int = 0,
                      shaper: str = "icdf") -> CouplerProgram:
    """The starting noise's program: no couplings, no bias (A = 2 J2 I, b = 0), x0 = 0."""
    n = model.cells
    return _from_physical(model, np.zeros((n, n)), np.zeros(n), seed, shaper)


def switch_writes(program: CouplerProgram) -> list[tuple[int, int]]:
    """The writes that switch a running coupler to `program`'s A (regions A and A_ROW) and
    b, leaving x, the noise seed, the step count, THIN and the flags as they are."""
    keep = (COUPLER_REGION_A, COUPLER_REGION_A_ROW, COUPLER_REGION_B)
    return [(a, d) for a, d in program.writes(seed=False) if a >> COUPLER_INDEX_BITS in keep]


def program_figures(program: CouplerProgram) -> dict:
    """What a program asks of the hardware: cells, nonzero entries of A (off-diagonal),
    nonzero 64-cell blocks of A, the largest |A|, |b| and the smallest nonzero |A_ij| (in
    the coef format's LSBs)."""
    A, n = program.A, program.cells
    off = A - np.diag(np.diag(A))
    block = 64
    blocks = -(-n // block)
    nonzero_blocks = sum(bool(np.any(A[i * block:(i + 1) * block, j * block:(j + 1) * block]))
                         for i in range(blocks) for j in range(blocks))
    fmt = program.fmt
    nz = np.abs(off[off != 0])
    return {"cells": n, "nonzero_couplings": int(np.count_nonzero(off)),
            "A_entries": n * n, "blocks_64": blocks * blocks,
            "nonzero_blocks_64": int(nonzero_blocks),
            "max_abs_A": float(np.abs(A).max() / fmt.coef.one),
            "max_abs_offdiag_A": float(np.abs(off).max() / fmt.coef.one),
            "max_abs_b": float(np.abs(program.b).max() / fmt.state.one),
            "min_nonzero_offdiag_lsb": int(nz.min()) if len(nz) else 0,
            "noise_multiplier": program.noise, "hshift": program.hshift,
            "realised_kT": program.physical()["kT"]}


def _noise_block(seeds, cells, start, steps, shaper, rounds, noise, rng):
    """Noise samples (steps, chains, cells) in the noise format."""
    if noise == "threefry":
        return np.stack([noise_steps(int(s), cells, steps, shaper, rounds, start=start)
                         for s in seeds], axis=1)
    xi = np.rint(rng.standard_normal((steps, len(seeds), cells)) * NOISE_FORMAT.one)
    return np.clip(xi, NOISE_FORMAT.min, NOISE_FORMAT.max).astype(np.int64)


def fixed_run(program: CouplerProgram, x, seeds, start: int, steps: int,
              noise: str = "threefry", rounds: int = THREEFRY_ROUNDS, rng=None,
              chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """`steps` steps of the coupler's overdamped update (`CouplerModel._step`, quartic
    pre-pass included) on chains (rows of `x`, raw state integers) at once, chain c with
    the noise of coupler seed ``seeds[c]`` from step `start`. Returns the raw states and
    the sticky saturation flags (chains, cells) of 0/1.

    The arithmetic is the golden model's, integer for integer: ``g = A x - (b << 12)
    [+ k4 rnd(rnd(x x, 10) x, 10)]``, ``x' = sat(x + rnd(-(g << 4) + (NOISE xi << hs),
    16 + hs))``."""
    if program.mode != COUPLER_OVERDAMPED:
        raise ValueError("fixed_run computes the overdamped mode only")
    if noise not in NOISES:
        raise UserError(f"noise must be one of {', '.join(NOISES)}, got {noise!r}")
    fmt, hs = program.fmt, program.hshift
    x = np.array(x, dtype=np.int64)
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    if x.ndim != 2 or x.shape != (len(seeds), program.cells):
        raise ValueError("x must have one row of cells per seed")
    rng = np.random.default_rng(int(seeds[0]) if len(seeds) else 0) if rng is None else rng
    A_t = program.A.T.astype(np.float64)
    b12 = program.b << np.int64(fmt.coef.frac)
    flags = np.zeros(x.shape, dtype=bool)
    done = 0
    while done < steps:
        block = min(chunk, steps - done)
        xi = _noise_block(seeds, program.cells, start + done, block, program.shaper, rounds,
                          noise, rng)
        for t in range(block):
            g = (x.astype(np.float64) @ A_t).astype(np.int64) - b12
            if program.quartic:
                square, s1 = saturate(round_shift(x * x, fmt.state.frac), fmt.state.width)
                cube, s2 = saturate(round_shift(square * x, fmt.state.frac), fmt.state.width)
                g = g + program.k4 * cube
                flags |= s1 | s2
            total = -(g << np.int64(4)) + ((program.noise * xi[t]) << np.int64(hs))
            x, s = saturate(x + round_shift(total, 16 + hs))
            flags |= s
        done += block
    return x, flags.astype(np.int64)


#: Coupler seeds of one digit's chains are spaced this far from the next digit's.
DIGIT_SEED_STRIDE = 1 << 24


def chain_seeds(seed: int, digit: int, count: int) -> list[int]:
    """The coupler seeds of `digit`'s `count` chains: ``seed + digit * 2**24 + i`` mod
    2**32, so that every digit's chains draw their own noise (with one seed for all ten,
    one unlucky chain would spoil an image of every digit)."""
    base = check_seed(seed) + check_digit(digit) * DIGIT_SEED_STRIDE
    return [int(s) for s in (base + np.arange(check_count(count))) & 0xFFFFFFFF]


def _quantised_potential(program: CouplerProgram, x) -> np.ndarray:
    """The potential the quantised registers stand for: ``x^T A x / 2 - b.x + k4 x^4 / 4``
    (A with the 2 J2 diagonal), x in real units."""
    phys = program.physical()
    x = np.asarray(x, dtype=float)
    return (0.5 * np.einsum("...i,ij,...j->...", x, phys["A"], x) - x @ phys["b"]
            + (phys["J4"] * x ** 4).sum(-1))


def _finish(model, digit, program, x0_raw, x1_raw, flags, seconds) -> Generated:
    one = program.fmt.state.one
    x0, x1 = x0_raw / one, x1_raw / one
    q = (_quantised_potential(program, x0) - _quantised_potential(program, x1)) / model.kT
    return Generated(digit, decode(x1[:, :PIXELS], model.force_scale, model.J2, model.J4),
                     x0, x1, q, seconds, np.asarray(flags))


def generate_fixed(model: GenerativeModel, digit: int, count: int, seed: int = 0,
                   noise: str = "threefry", shaper: str = "icdf") -> Generated:
    """`count` images of `digit` by the coupler's fixed-point arithmetic (`fixed_run`),
    vectorised over chains: the uncoupled program from x = 0 for t_f, then the digit's
    program for t_f; chain i on coupler seed ``chain_seeds(seed, digit, count)[i]``. With
    ``noise="threefry"`` the
    result is what `generate_golden` computes, bit for bit. The returned `Generated` also
    has ``flags`` (count, cells): the coupler's sticky saturation flags."""
    digit, count = check_digit(digit), check_count(count)
    start = time.perf_counter()
    first = uncoupled_program(model, seed, shaper)
    second = to_program(model, digit, seed, shaper)
    seeds = chain_seeds(seed, digit, count)
    rng = np.random.default_rng([check_seed(seed), digit, 0xF1])
    x = np.zeros((count, model.cells), dtype=np.int64)
    x0, f0 = fixed_run(first, x, seeds, 0, model.steps, noise, rng=rng)
    x1, f1 = fixed_run(second, x0, seeds, model.steps, model.steps, noise, rng=rng)
    return _finish(model, digit, second, x0, x1, f0 | f1, time.perf_counter() - start)


def generate_golden(model: GenerativeModel, digit: int, count: int, seed: int = 0,
                    shaper: str = "icdf") -> Generated:
    """`count` images of `digit` by tritherm's golden coupler (`CouplerModel`, bit-exact
    fixed point), one chain after another: load `uncoupled_program` with chain i's seed
    (`chain_seeds`) and THIN = t_f / h, run t_f, write the digit's A and b
    (`switch_writes`), run t_f.

    A UserError if the golden coupler refuses the network's cell count (it holds
    ``COUPLER_MAX_CELLS`` cells; `generate_fixed` runs the same arithmetic meanwhile)."""
    digit, count = check_digit(digit), check_count(count)
    cells = model.cells
    try:
        CouplerModel(cells, shaper=shaper)
    except ValueError as error:
        raise UserError(
            f"the golden coupler refuses {cells} cells (CouplerModel: {error}; "
            f"tritherm.formats.COUPLER_MAX_CELLS = {COUPLER_MAX_CELLS}), so until it grows "
            f"use generate_fixed, which runs the same arithmetic") from None
    start = time.perf_counter()
    first = uncoupled_program(model, seed, shaper).with_(thin=model.steps)
    second = to_program(model, digit, seed, shaper)
    switch = switch_writes(second)
    x0 = np.zeros((count, cells), dtype=np.int64)
    x1 = np.zeros_like(x0)
    flags = np.zeros_like(x0)
    for i, s in enumerate(chain_seeds(seed, digit, count)):
        core = CouplerModel(cells, shaper=shaper)
        core.load(first.with_(seed=int(s)).writes())
        x0[i] = core.run(model.steps).x[-1]
        core.load(switch)
        samples = core.run(model.steps)
        x1[i] = samples.x[-1]
        flags[i] = samples.flags[-1]
    return _finish(model, digit, second, x0, x1, flags, time.perf_counter() - start)

