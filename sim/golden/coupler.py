"""Bit-exact golden model of the thermodynamic coupler (`tritherm.hdl.thermo.Coupler`).

`CouplerModel` holds the core's registers and state, takes the same configuration writes
(`CouplerModel.write`, addresses from `tritherm.formats.coupler_address`) and runs steps
with the same noise (`noise_steps`, one stream per cell), returning the samples the core
streams out: sequence number, sticky saturation flags, x and p of every cell. The update
is vectorised over cells and loops over steps; all arithmetic is exact int64.

`CouplerProgram` is a whole configuration as raw register values (and the writes that
load it); `CouplerProgram.from_physical` quantises a physical one (A, b, kT, gamma, h, J2,
J4) and records what the quantised registers really mean (`effective`), which is what the
floating-point reference (`tritherm.sim.golden.langevin`) analyses.

The update, for cell i, with g_i the gradient (all integers; ``rnd(v, s) = (v + 2**(s-1))
>> s``, ``sat`` clamps to 16 bits and raises flag i; h = 2**-hs; fractions: x, p, b 10
bits, A, k4 12, DAMP/NOISE 14, noise xi 12):

    g   = sum_j A_ij x_j - (b_i << 12) [+ k4_i * c3_i]          (22 fraction bits, exact)
          c2_i = sat(rnd(x_i * x_i, 10)),  c3_i = sat(rnd(c2_i * x_i, 10))   (quartic only)
    overdamped (Euler-Maruyama):
        x' = sat(x + rnd(-(g << 4) + (NOISE * xi << hs), 16 + hs))
    underdamped (BAOAB with the two half kicks merged: kick, drift/2, OU, drift/2):
        p1 = sat(p + rnd(-g, 12 + hs))
        p2 = sat(rnd((DAMP * p1 << 2) + NOISE * xi, 16))
        x' = sat(x + rnd(p1 + p2, hs + 1)),   p' = p2
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from tritherm.formats import (COUPLER_CELL_BITS, COUPLER_FORMAT, COUPLER_INDEX_BITS,
                              COUPLER_MAX_CELLS, COUPLER_MODES, COUPLER_OVERDAMPED,
                              COUPLER_REGION_A, COUPLER_REGION_B, COUPLER_REGION_K4,
                              COUPLER_REGION_A_ROW, COUPLER_REGION_P,
                              COUPLER_REGION_SCALAR, COUPLER_REGION_X,
                              COUPLER_REG_DAMP,
                              COUPLER_REG_FLAGS, COUPLER_REG_HSHIFT, COUPLER_REG_MODE,
                              COUPLER_REG_NOISE, COUPLER_REG_QUARTIC, COUPLER_REG_SEED,
                              COUPLER_REG_THIN, THREEFRY_ROUNDS,
                              CouplerFormat, coupler_a_write, coupler_address)

from .threefry import noise_steps, shaper_stats

__all__ = ["CouplerModel", "CouplerSamples", "CouplerProgram", "round_shift", "saturate"]


def round_shift(value, shift: int):
    """Round to nearest, ties upwards: ``(value + 2**(shift-1)) >> shift`` (shift >= 1)."""
    value = np.asarray(value, dtype=np.int64)
    return (value + np.int64(1 << (shift - 1))) >> np.int64(shift)


def saturate(value, width: int = 16):
    """Clamp to signed `width` bits; returns (clamped, saturated) arrays."""
    value = np.asarray(value, dtype=np.int64)
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    clamped = np.minimum(np.maximum(value, low), high)   # np.clip: 3x slower on 8 cells
    return clamped, clamped != value


def _signed(data: int, width: int) -> int:
    data &= (1 << width) - 1
    return data - (1 << width) if data >> (width - 1) else data


@dataclass
class CouplerSamples:
    """Samples as the core streams them: ``seq`` (k,), ``flags`` (k, cells) of 0/1,
    ``x`` and ``p`` (k, cells) raw int64 state."""

    seq: np.ndarray
    flags: np.ndarray
    x: np.ndarray
    p: np.ndarray

    def __len__(self):
        return len(self.seq)

    @staticmethod
    def concatenate(parts: list[CouplerSamples], cells: int) -> CouplerSamples:
        if not parts:
            empty = np.zeros((0, cells), dtype=np.int64)
            return CouplerSamples(np.zeros(0, dtype=np.int64), empty, empty, empty.copy())
        return CouplerSamples(*(np.concatenate([getattr(s, k) for s in parts])
                                for k in ("seq", "flags", "x", "p")))


class CouplerModel:
    """The coupler's registers and state; `write` configures, `run` steps.

    Parameters
    ----------
    cells : int
        Number of cells (1..256).
    shaper, rounds :
        The `NoiseSource` configuration (its samples drive the cells).
    fmt : CouplerFormat
    quartic : bool
        The core has the quartic pre-pass (``Coupler(quartic=True)``); without it the
        QUARTIC register ignores writes and reads 0, as the core's does.
    """

    def __init__(self, cells: int, shaper: str = "icdf", rounds: int = THREEFRY_ROUNDS,
                 fmt: CouplerFormat = COUPLER_FORMAT, quartic: bool = True):
        if not isinstance(cells, int) or not 1 <= cells <= COUPLER_MAX_CELLS:
            raise ValueError(f"cells must be an integer in [1, {COUPLER_MAX_CELLS}], "
                             f"got {cells!r}")
        self.cells, self.shaper, self.rounds, self.fmt = cells, shaper, rounds, fmt
        self.has_quartic = bool(quartic)
        n = cells
        self.A = np.zeros((n, n), dtype=np.int64)
        self.b = np.zeros(n, dtype=np.int64)
        self.k4 = np.zeros(n, dtype=np.int64)
        self.x = np.zeros(n, dtype=np.int64)
        self.p = np.zeros(n, dtype=np.int64)
        self.flags = np.zeros(n, dtype=np.int64)
        self.mode = COUPLER_OVERDAMPED
        self.quartic = 0
        self.hshift = 0
        self.damp = 0
        self.noise = 0
        self.thin = 1
        self.seed = 0
        self.step = 0          # steps since the seed was written (= noise step)
        self.left = 1          # steps until the next sample

    # -- configuration ----------------------------------------------------------------
    def write(self, addr: int, data: int) -> None:
        """One write of the configuration port (as the core takes it)."""
        n, w = self.cells, self.fmt.state.width
        region, index = addr >> COUPLER_INDEX_BITS, addr & ((1 << COUPLER_INDEX_BITS) - 1)
        value = _signed(data, w)
        if region == COUPLER_REGION_A:
            i, j = index >> COUPLER_CELL_BITS, index & ((1 << COUPLER_CELL_BITS) - 1)
            if i < n and j < n:
                self.A[i, j] = _signed(data, self.fmt.coef.width)
        elif region == COUPLER_REGION_A_ROW:
            i, j = index, data >> 16 & 0xFFFF
            if i < n and j < n:
                self.A[i, j] = _signed(data, self.fmt.coef.width)
        elif region in (COUPLER_REGION_B, COUPLER_REGION_K4, COUPLER_REGION_X,
                        COUPLER_REGION_P):
            if index < n:
                target = {COUPLER_REGION_B: self.b, COUPLER_REGION_K4: self.k4,
                          COUPLER_REGION_X: self.x, COUPLER_REGION_P: self.p}[region]
                target[index] = value
        elif region == COUPLER_REGION_SCALAR:
            if index == COUPLER_REG_MODE:
                self.mode = data & 1
            elif index == COUPLER_REG_QUARTIC:
                self.quartic = data & 1 if self.has_quartic else 0
            elif index == COUPLER_REG_HSHIFT:
                self.hshift = data & ((1 << self.fmt.hshift_bits) - 1)
            elif index == COUPLER_REG_DAMP:
                self.damp = _signed(data, self.fmt.mult.width)
            elif index == COUPLER_REG_NOISE:
                self.noise = _signed(data, self.fmt.mult.width)
            elif index == COUPLER_REG_THIN:
                self.thin = max(1, data & 0xFFFF)
                self.left = self.thin
            elif index == COUPLER_REG_SEED:
                self.seed = data & 0xFFFFFFFF
                self.step = 0
                self.left = self.thin
            elif index == COUPLER_REG_FLAGS:
                self.flags[:] = 0

    def load(self, writes) -> None:
        for addr, data in writes:
            self.write(addr, data)

    # -- dynamics -----------------------------------------------------------------------
    def run(self, steps: int) -> CouplerSamples:
        """Run `steps` steps; return the samples emitted (every `thin` steps)."""
        noise = noise_steps(self.seed, self.cells, steps, self.shaper, self.rounds,
                            start=self.step)
        seq, flags, xs, ps = [], [], [], []
        for t in range(steps):
            self._step(noise[t])
            self.step += 1
            if self.left == 1:
                self.left = self.thin
                seq.append(self.step & 0xFFFFFFFF)
                flags.append(self.flags.copy())
                xs.append(self.x.copy())
                ps.append(self.p.copy())
            else:
                self.left -= 1
        if not seq:
            return CouplerSamples.concatenate([], self.cells)
        return CouplerSamples(np.array(seq, dtype=np.int64), np.array(flags),
                              np.array(xs), np.array(ps))

    def _step(self, xi: np.ndarray) -> None:
        fmt, hs = self.fmt, self.hshift
        x, p = self.x, self.p
        flags = np.zeros(self.cells, dtype=bool)
        g = self.A @ x - (self.b << np.int64(fmt.coef.frac))
        if self.quartic:
            square, s1 = saturate(round_shift(x * x, fmt.state.frac), fmt.state.width)
            cube, s2 = saturate(round_shift(square * x, fmt.state.frac), fmt.state.width)
            g = g + self.k4 * cube
            flags |= s1 | s2
        noise = self.noise * xi                       # 26 fraction bits
        if self.mode == COUPLER_OVERDAMPED:
            total = -(g << np.int64(4)) + (noise << np.int64(hs))
            x_new, s = saturate(x + round_shift(total, 16 + hs))
            flags |= s
            p_new = p
        else:
            p1, s1 = saturate(p + round_shift(-g, 12 + hs))
            p2, s2 = saturate(round_shift(((self.damp * p1) << np.int64(2)) + noise, 16))
            x_new, s3 = saturate(x + round_shift(p1 + p2, hs + 1))
            flags |= s1 | s2 | s3
            p_new = p2
        self.x, self.p = x_new, p_new
        self.flags = self.flags | flags.astype(np.int64)


@dataclass
class CouplerProgram:
    """A whole coupler configuration as raw register values.

    ``A`` (cells x cells, coef format, diagonal including 2 J2), ``b``, ``x0``, ``p0``
    (state format), ``k4`` (coef format, 4 J4), ``mode``, ``quartic``, ``hshift``, ``damp``
    and ``noise`` (mult format), ``thin``, ``seed``. `effective` holds the float values the
    registers stand for (filled by `from_physical`, or computed by `physical`).
    """

    A: np.ndarray
    b: np.ndarray
    x0: np.ndarray
    p0: np.ndarray
    k4: np.ndarray
    mode: int = COUPLER_OVERDAMPED
    quartic: int = 0
    hshift: int = 6
    damp: int = 0
    noise: int = 0
    thin: int = 1
    seed: int = 0
    shaper: str = "icdf"
    fmt: CouplerFormat = field(default=COUPLER_FORMAT, repr=False)

    @property
    def cells(self) -> int:
        return len(self.b)

    def writes(self, seed: bool = True) -> list[tuple[int, int]]:
        """The configuration writes that load this program (and clear the flags); with
        `seed`, also the seed (which restarts noise and step count)."""
        n = self.cells
        out = []
        for i in range(n):
            for j in range(n):
                out.append(coupler_a_write(i, j, int(self.A[i, j])))
        for region, values in ((COUPLER_REGION_B, self.b), (COUPLER_REGION_K4, self.k4),
                               (COUPLER_REGION_X, self.x0), (COUPLER_REGION_P, self.p0)):
            out += [(coupler_address(region, i), int(v)) for i, v in enumerate(values)]
        scalars = [(COUPLER_REG_MODE, self.mode), (COUPLER_REG_QUARTIC, self.quartic),
                   (COUPLER_REG_HSHIFT, self.hshift), (COUPLER_REG_DAMP, self.damp),
                   (COUPLER_REG_NOISE, self.noise), (COUPLER_REG_THIN, self.thin),
                   (COUPLER_REG_FLAGS, 0)]
        if seed:
            scalars.append((COUPLER_REG_SEED, self.seed))
        out += [(coupler_address(COUPLER_REGION_SCALAR, r), int(v)) for r, v in scalars]
        return [(a, d & 0xFFFFFFFF) for a, d in out]

    def physical(self) -> dict:
        """What the raw registers mean in real units: A, b, x0, p0, J4, h, c1 (damping
        factor per step), the noise standard deviation per step ``noise_sd`` (NOISE times
        the shaper's exact sigma), gamma and the temperature kT the update realises."""
        fmt = self.fmt
        h = 2.0 ** -self.hshift
        sd_xi = math.sqrt(shaper_stats(self.shaper).variance_sigma2)
        noise_sd = self.noise / fmt.mult.one * sd_xi
        c1 = self.damp / fmt.mult.one
        if self.mode == COUPLER_OVERDAMPED:
            kT, gamma = noise_sd ** 2 / (2 * h), None
        else:
            kT = noise_sd ** 2 / (1 - c1 * c1) if 0 < c1 < 1 else float("nan")
            gamma = -math.log(c1) / h if 0 < c1 < 1 else float("nan")
        return {"A": self.A / fmt.coef.one, "b": self.b / fmt.state.one,
                "x0": self.x0 / fmt.state.one, "p0": self.p0 / fmt.state.one,
                "J4": self.k4 / fmt.coef.one / 4, "h": h, "c1": c1, "noise_sd": noise_sd,
                "kT": kT, "gamma": gamma, "mode": self.mode, "quartic": bool(self.quartic)}

    @classmethod
    def from_physical(cls, A, b, kT: float, hshift: int, mode="overdamped",
                      gamma: float = 1.0, J2=None, J4=None, x0=None, p0=None,
                      thin: int = 1, seed: int = 0, shaper: str = "icdf",
                      fmt: CouplerFormat = COUPLER_FORMAT) -> CouplerProgram:
        """Quantise a physical configuration: A + 2 diag(J2) and k4 = 4 J4 in the coef
        format (J4 given turns the quartic term on), b, x0, p0 in the state format; the
        noise multiplier is set so the realised kT is as close as the format allows
        (overdamped: NOISE = sqrt(2 kT h) / sd(xi); underdamped: DAMP = exp(-gamma h),
        NOISE = sqrt(kT (1 - DAMP**2)) / sd(xi), with sd(xi) the shaper's exact sigma)."""
        A = np.asarray(A, dtype=float)
        n = A.shape[0]
        if A.shape != (n, n) or not np.allclose(A, A.T):
            raise ValueError("A must be a symmetric square matrix")
        mode = COUPLER_MODES[mode] if isinstance(mode, str) else int(mode)
        A_eff = A + 2 * np.diag(np.broadcast_to(0.0 if J2 is None else np.asarray(J2, float), (n,)))
        A_raw = np.array([[fmt.coef.quantise(A_eff[i, j], f"A[{i},{j}]") for j in range(n)]
                          for i in range(n)], dtype=np.int64)
        vec = lambda v, f, name: np.array(  # noqa: E731
            [f.quantise(float(e), f"{name}[{i}]") for i, e in
             enumerate(np.zeros(n) if v is None else np.broadcast_to(v, (n,)))],
            dtype=np.int64)
        h = 2.0 ** -hshift
        sd_xi = math.sqrt(shaper_stats(shaper).variance_sigma2)
        if mode == COUPLER_OVERDAMPED:
            damp = 0
            noise = fmt.mult.quantise(math.sqrt(2 * kT * h) / sd_xi, "noise multiplier")
        else:
            c1 = math.exp(-gamma * h)
            damp = fmt.mult.quantise(c1, "damping factor exp(-gamma h)")
            c1q = damp / fmt.mult.one
            noise = fmt.mult.quantise(math.sqrt(kT * (1 - c1q * c1q)) / sd_xi,
                                      "noise multiplier")
        return cls(A=A_raw, b=vec(b, fmt.state, "b"), x0=vec(x0, fmt.state, "x0"),
                   p0=vec(p0, fmt.state, "p0"), k4=vec(None if J4 is None else
                                                       4 * np.asarray(J4, float),
                                                       fmt.coef, "4 J4"),
                   mode=mode, quartic=int(J4 is not None), hshift=hshift, damp=damp,
                   noise=noise, thin=thin, seed=seed, shaper=shaper, fmt=fmt)

    def with_(self, **changes) -> CouplerProgram:
        return replace(self, **changes)
