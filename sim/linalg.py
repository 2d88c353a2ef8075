"""Thermodynamic linear algebra on the coupler: Gaussian sampling, A^-1 and A^-1 b.

The coupler's underdamped (BAOAB) mode, with A symmetric positive definite and the quartic
term off, has the stationary law ``x ~ N(A^-1 b, kT A^-1)``; for this linear update the
discrete chain's x-covariance is exactly ``kT A^-1`` for any stable step h (check it with
`tritherm.sim.golden.discrete_stationary_covariance`), so time averages give:

- `inverse(A)`: the sample covariance of x divided by kT,
- `solve(A, b)`: the sample mean of x,
- `sample(A, n, b)`: draws of ``N(A^-1 b, A^-1)``.

Each call checks its input (one-sentence ValueErrors), scales the problem into the
fixed-point formats (`tritherm.formats.COUPLER_FORMAT`): A is divided by a power of two
``alpha`` so that its largest entry lies in [2, 4) (the coef range is [-8, 8)); x is
scaled so that its mean plus six standard deviations stays inside +-28 of the state range
[-32, 32); kT is capped so that p (``N(0, kT)``) and the NOISE multiplier (< 2) fit too;
``h = 2**-hs`` with ``h sqrt(lambda_max) <= 1/2`` (BAOAB is stable for
``h sqrt(lambda_max) < 2``), gamma = 2 sqrt(lambda_min) (the slowest mode critically
damped). Only extreme eigenvalues of A are used for the scaling (bounds, not the answer).
Results are un-scaled with the kT the quantised registers realise
(`CouplerProgram.physical`), so they estimate the inverse of the *quantised* A, which the
input checks keep within 1% of A^-1.

Backends: ``"golden"`` (the bit-exact `CouplerModel`, numpy), ``"rtl"`` (the Verilog
core on Verilator through `tritherm.sim.verify.coupler_vectors.run_jobs`, at most
`RTL_MAX_SAMPLES` samples) and ``"board"`` (the coupler of a SoC, on a board or simulated,
through a `tritherm.firmware.Device` passed as ``device=``; a problem smaller than the
coupler leaves its other cells uncoupled); for the same arguments all give the same
samples bit for bit. Only how the samples are produced differs: the scaling, the plan and
the statistics are shared.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from tritherm.formats import COUPLER_FORMAT, COUPLER_MAX_CELLS

from .golden import (CouplerModel, CouplerProgram, CouplerSamples,
                     covariance_standard_errors, integrated_autocorrelation_time)

__all__ = ["LinalgResult", "sample", "inverse", "solve", "prepare", "BACKENDS",
           "RTL_MAX_SAMPLES"]

BACKENDS = ("golden", "rtl", "board")
RTL_MAX_SAMPLES = 20000
#: Half-width of the state range the stationary x may use (mean + SIGMAS sd).
X_LIMIT = 28.0
SIGMAS = 6.0
#: Largest relative change of A^-1 that quantising A may cause.
QUANTISATION_TOLERANCE = 1e-2
_CHUNK_STEPS = 20000


@dataclass
class LinalgResult:
    """What `inverse`, `solve` and `sample` return.

    ``estimate``: A^-1 (inverse), x with A x = b (solve), or the draws, n x d (sample).
    ``standard_error``: of each entry of the estimate (for sample: of the draws' covariance
    entries), from the effective sample size n / tau_int. ``exact``: numpy.linalg's answer
    (for sample: A^-1, the covariance the draws should have). ``relative_error``:
    ``||estimate - exact||_F / ||exact||_F`` (for sample: of the draws' covariance).
    ``samples_used``: samples averaged; ``steps``: coupler steps run (burn-in included);
    ``tau``: integrated autocorrelation time of each x (in samples); ``kT``: the realised
    temperature; ``scale``: alpha (A / alpha went to the coupler); ``seconds``: wall time.
    """

    estimate: np.ndarray
    standard_error: np.ndarray
    exact: np.ndarray
    relative_error: float
    samples_used: int
    steps: int
    tau: np.ndarray
    kT: float
    scale: float
    backend: str
    seconds: float
    program: CouplerProgram = field(repr=False)
    raw: CouplerSamples = field(repr=False)


@dataclass
class _Plan:
    program: CouplerProgram
    alpha: float          # A_s = A / alpha
    beta: float           # x = beta * x_s
    kT: float             # realised kT (register units)
    thin: int
    burn_in: int          # steps


def _fail(message: str):
    raise ValueError(message)


def _check_matrix(A) -> np.ndarray:
    try:
        A = np.asarray(A, dtype=float)
    except (TypeError, ValueError):
        _fail("A must be a matrix of numbers")
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1:
        _fail(f"A must be a square matrix, got shape {A.shape}")
    d = A.shape[0]
    if not np.isfinite(A).all():
        _fail("A has NaN or infinite entries")
    if d > COUPLER_MAX_CELLS:
        _fail(f"A is {d} x {d} but the coupler has at most {COUPLER_MAX_CELLS} cells")
    big = np.abs(A).max()
    if big == 0:
        _fail("A is zero, so it is not positive definite")
    asym = np.abs(A - A.T).max()
    if asym > 1e-9 * big:
        _fail(f"A is not symmetric (largest |A - A^T| entry {asym:.3g}, tolerance "
              f"{1e-9 * big:.3g})")
    return (A + A.T) / 2


def _check_b(b, d: int) -> np.ndarray | None:
    if b is None:
        return None
    try:
        b = np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        _fail("b must be a vector of numbers")
    if b.ndim == 2 and 1 in b.shape:
        b = b.ravel()
    if b.ndim != 1 or len(b) != d:
        _fail(f"b must be a vector of length {d} (A is {d} x {d}), got shape {b.shape}")
    if not np.isfinite(b).all():
        _fail("b has NaN or infinite entries")
    return b


def _check_count(n, backend: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10:
        _fail(f"the number of samples must be a whole number of at least 10, got {n!r}")
    n = int(n)
    if backend == "rtl" and n > RTL_MAX_SAMPLES:
        _fail(f"the rtl backend simulates every clock cycle, so it takes at most "
              f"{RTL_MAX_SAMPLES} samples; asked for {n} (use backend='golden')")
    return n


def _check_backend(backend: str, device) -> None:
    if backend not in BACKENDS:
        _fail(f"backend must be 'golden', 'rtl' or 'board', got {backend!r}")
    if backend == "board" and device is None:
        _fail("the board backend needs a device (device=tritherm.firmware.open_device(port))")


def prepare(A, b=None, *, kind: str = "inverse", seed: int = 1, kT=None, burn_in=None,
            thin=None, shaper: str = "icdf") -> _Plan:
    """Check and scale (A, b) into a `CouplerProgram` (see the module docstring); `kind`
    is "inverse", "solve" or "sample" (how x is scaled); `shaper` is the noise source's."""
    fmt = COUPLER_FORMAT
    A = _check_matrix(A)
    d = len(A)
    b = _check_b(b, d)
    eig = np.linalg.eigvalsh(A)
    if eig[0] <= 0:
        _fail(f"A is not positive definite (smallest eigenvalue {eig[0]:.3g})")
    cond = eig[-1] / eig[0]
    big = np.abs(A).max()
    alpha = 2.0 ** (math.floor(math.log2(big)) - 1)        # max |A / alpha| in [2, 4)
    As = A / alpha
    lmin, lmax = eig[0] / alpha, eig[-1] / alpha

    # Condition: the 12-fraction-bit coupling format must keep A^-1 (nearly) intact.
    Aq = np.round(As * fmt.coef.one) / fmt.coef.one
    eq = np.linalg.eigvalsh(Aq)
    change = math.inf
    if eq[0] > 0:
        exact_inv = np.linalg.inv(As)
        change = (np.linalg.norm(np.linalg.inv(Aq) - exact_inv)
                  / np.linalg.norm(exact_inv))
    if change > QUANTISATION_TOLERANCE:
        fits = cond * QUANTISATION_TOLERANCE / change if math.isfinite(change) else None
        what = ("makes A indefinite" if not math.isfinite(change)
                else f"changes A^-1 by {100 * change:.2g}%")
        _fail(f"A's condition number {cond:.3g} is too large for the coupler's "
              f"12-fraction-bit coupling format (quantising A {what}); condition numbers up "
              f"to about {fits if fits else cond / 100:.2g} fit")

    hshift = max(0, math.ceil(math.log2(2 * math.sqrt(lmax))))
    if hshift > fmt.hshift_max:
        _fail(f"A's largest eigenvalue needs a step 2**-{hshift}, finer than the coupler's "
              f"2**-{fmt.hshift_max}")
    h = 2.0 ** -hshift
    gamma = 2 * math.sqrt(lmin)
    c1 = math.exp(-gamma * h)
    c1q = round(c1 * fmt.mult.one) / fmt.mult.one
    if not 0 < c1q < 1:
        _fail(f"A's condition number {cond:.3g} needs a damping factor exp(-gamma h) = "
              f"{c1:.6f} that the 14-fraction-bit multiplier format rounds to 1; condition "
              f"numbers up to about {cond * (1 - c1) * fmt.mult.one / 4:.2g} fit")
    # kT caps: p ~ N(0, kT) inside the range, NOISE = sqrt(kT (1 - c1^2)) / sd(xi) < 2.
    kT_cap = min((X_LIMIT / SIGMAS) ** 2, 3.8 / (1 - c1q * c1q))
    sd_bound = 1 / math.sqrt(lmin)          # largest marginal sd of x_s at kT = 1
    beta = 1.0
    if kind == "sample":
        # One scale for mean and spread: x = x_s / sqrt(kT alpha), A_s^-1 kT alpha = A^-1.
        m_bound = 0.0 if b is None else np.linalg.norm(b) / eig[0]
        k = (X_LIMIT / (m_bound + SIGMAS / math.sqrt(eig[0]))) ** 2 / alpha
        target = min(k, kT_cap)
    elif kind == "solve":
        # Mean within +-16 (and b_s within +-30), spread within 6 sd <= 12.
        m_bound = np.linalg.norm(b) / eig[0]
        beta = max(m_bound / 16, np.abs(b).max() / (30 * alpha))
        target = min((12 / SIGMAS / sd_bound) ** 2, kT_cap)
    else:
        target = min((X_LIMIT / SIGMAS / sd_bound) ** 2, kT_cap)
    if kT is not None:
        if not (isinstance(kT, (int, float)) and math.isfinite(kT) and kT > 0):
            _fail(f"kT must be a positive number, got {kT!r}")
        if kT > kT_cap * 1.0001:
            _fail(f"kT = {kT:g} does not fit the coupler's formats for this A; at most "
                  f"{kT_cap:.3g} fits")
        target = float(kT)
    if target * (1 - c1q * c1q) < (4 / fmt.mult.one) ** 2:
        _fail(f"kT = {target:.3g} is too small for the 14-fraction-bit noise multiplier")
    if thin is None:
        thin = max(1, math.ceil(0.5 / (h * math.sqrt(lmin))))
    if isinstance(thin, bool) or not isinstance(thin, (int, np.integer)) \
            or not 1 <= thin <= 0xFFFF:
        _fail(f"thin must be a whole number in [1, 65535], got {thin!r}")
    thin = int(thin)
    if burn_in is None:
        burn_in = max(1000, math.ceil(40 / (h * math.sqrt(lmin))))
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, np.integer)) \
            or burn_in < 0:
        _fail(f"burn_in must be a whole number of steps >= 0, got {burn_in!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < 1 << 32:
        _fail(f"seed must be a whole number in [0, 2**32 - 1], got {seed!r}")

    def build(bs):
        return CouplerProgram.from_physical(As, bs, target, hshift, "underdamped", gamma,
                                            thin=thin, seed=int(seed), shaper=shaper,
                                            fmt=fmt)

    program = build(None)
    kT_eff = program.physical()["kT"]
    if b is not None:
        if kind == "sample":
            beta = 1 / math.sqrt(kT_eff * alpha)
        bs = b / (alpha * beta)
        if np.abs(bs).max() >= 31.9:
            _fail("b does not fit the coupler's bias range [-32, 32) after scaling")
        bq = np.round(bs * fmt.state.one) / fmt.state.one
        err = np.linalg.norm(bq - bs) / np.linalg.norm(bs) if np.any(bs) else 0.0
        if err > 1e-3:
            _fail(f"b cannot be held precisely in the coupler's 10-fraction-bit bias "
                  f"format once x is scaled into the state range (rounding changes b by "
                  f"{100 * err:.2g}%, at most 0.1% fits); a smaller condition number of A "
                  f"(here {cond:.3g}) would fit")
        program = build(bs)
    elif kind == "sample":
        beta = 1 / math.sqrt(kT_eff * alpha)
    return _Plan(program, alpha, beta, kT_eff, thin, int(burn_in))


def _run_golden(plan: _Plan, n: int, progress) -> CouplerSamples:
    program = plan.program
    model = CouplerModel(program.cells, program.shaper)
    model.load(program.writes())
    total = plan.burn_in + n * plan.thin
    done = 0
    parts = []
    # Burn-in: run with THIN = 1 but drop everything (the counter restarts below).
    while done < plan.burn_in:
        steps = min(_CHUNK_STEPS, plan.burn_in - done)
        model.run(steps)
        done += steps
        if progress:
            progress(done, total)
    remaining = n * plan.thin
    while remaining:
        steps = min(_CHUNK_STEPS - _CHUNK_STEPS % plan.thin or plan.thin, remaining)
        parts.append(model.run(steps))
        remaining -= steps
        done += steps
        if progress:
            progress(done, total)
    return CouplerSamples.concatenate(parts, program.cells)


def _run_rtl(plan: _Plan, n: int, progress) -> CouplerSamples:
    from .verify.coupler_vectors import CouplerJob, run_jobs, unpack_sample

    program = plan.program
    cells = program.cells
    multipliers = math.gcd(cells, 4)
    phases = [("write", program.writes())]
    if plan.burn_in:
        phases.append(("run", plan.burn_in))
    phases.append(("run", n * plan.thin))
    if progress:
        progress(0, plan.burn_in + n * plan.thin)
    words = run_jobs("verilator", cells, multipliers, [CouplerJob("linalg", phases)])[0]
    if progress:
        progress(plan.burn_in + n * plan.thin, plan.burn_in + n * plan.thin)
    # With THIN > 1 the burn-in leaves the sample counter part way; both models agree.
    burn_samples = len(words) - n
    decoded = [unpack_sample(w, cells) for w in words[burn_samples:]]
    return CouplerSamples(np.array([s["seq"] for s in decoded], dtype=np.int64),
                          np.array([s["flags"] for s in decoded], dtype=np.int64),
                          np.array([s["x"] for s in decoded], dtype=np.int64),
                          np.array([s["p"] for s in decoded], dtype=np.int64))


def _run_board(plan: _Plan, n: int, progress, device) -> CouplerSamples:
    cells = device.identity.cells
    if plan.program.cells > cells:
        _fail(f"A is {plan.program.cells} x {plan.program.cells} but the device's coupler "
              f"has {cells} cells")
    device.configure_coupler(plan.program)
    # One run of burn-in and samples: the samples after the burn-in are the golden model's.
    raw = device.sample(plan.burn_in + n * plan.thin, progress)
    if len(raw) < n:
        _fail(f"the device sent {len(raw)} samples, fewer than the {n} asked for")
    return raw


def _simulate(A, b, n, kind, backend, seed, kT, burn_in, thin, progress, device=None):
    _check_backend(backend, device)
    n = _check_count(n, backend)
    shaper = device.identity.shaper if backend == "board" else "icdf"
    plan = prepare(A, b, kind=kind, seed=seed, kT=kT, burn_in=burn_in, thin=thin,
                   shaper=shaper)
    start = time.perf_counter()
    if backend in ("golden", "board"):
        raw = (_run_golden(plan, n, progress) if backend == "golden"
               else _run_board(plan, n, progress, device))
        raw = CouplerSamples(*(getattr(raw, k)[-n:] for k in ("seq", "flags", "x", "p")))
    else:
        raw = _run_rtl(plan, n, progress)
    seconds = time.perf_counter() - start
    if raw.flags.any():
        _fail("x or p saturated during the run (a sticky flag is set); pass a smaller kT")
    xs = raw.x / COUPLER_FORMAT.state.one
    return plan, raw, xs, seconds


def _rel(estimate, exact) -> float:
    norm = np.linalg.norm(exact)
    diff = np.linalg.norm(estimate - exact)
    return float(diff / norm) if norm else float(diff)


def _result(plan, raw, xs, seconds, estimate, se, exact, tau, backend, rel=None):
    return LinalgResult(estimate=estimate, standard_error=se, exact=exact,
                        relative_error=_rel(estimate, exact) if rel is None else rel,
                        samples_used=len(xs), steps=plan.burn_in + len(xs) * plan.thin,
                        tau=tau, kT=plan.kT, scale=plan.alpha, backend=backend,
                        seconds=seconds, program=plan.program, raw=raw)


def _covariance(plan, xs):
    S = np.cov(xs, rowvar=False, ddof=1).reshape(xs.shape[1], xs.shape[1])
    tau = np.atleast_1d(np.maximum(integrated_autocorrelation_time(xs), 1.0))
    se = covariance_standard_errors(S, tau, len(xs))
    return S, tau, se


def inverse(A, n: int = 10000, *, backend: str = "golden", seed: int = 1, kT=None,
            burn_in=None, thin=None, progress=None, device=None) -> LinalgResult:
    """A^-1 of a symmetric positive definite A from `n` coupler samples: the sample
    covariance of x over kT (see the module docstring). `progress(done, total)` (steps) is
    called during long runs; `device` is the board backend's `tritherm.firmware.Device`."""
    plan, raw, xs, seconds = _simulate(A, None, n, "inverse", backend, seed, kT, burn_in,
                                       thin, progress, device)
    S, tau, se = _covariance(plan, xs)
    unscale = 1 / (plan.kT * plan.alpha)
    exact = np.linalg.inv(_check_matrix(A))
    return _result(plan, raw, xs, seconds, S * unscale, se * unscale, exact, tau, backend)


def solve(A, b, n: int = 10000, *, backend: str = "golden", seed: int = 1, kT=None,
          burn_in=None, thin=None, progress=None, device=None) -> LinalgResult:
    """x with A x = b (A symmetric positive definite) from `n` coupler samples: the sample
    mean of x, scaled back."""
    if b is None:
        _fail("solve needs a right-hand side b")
    plan, raw, xs, seconds = _simulate(A, b, n, "solve", backend, seed, kT, burn_in, thin,
                                       progress, device)
    tau = np.atleast_1d(np.maximum(integrated_autocorrelation_time(xs), 1.0))
    se = np.sqrt(xs.var(axis=0, ddof=1) * tau / len(xs)) * plan.beta
    exact = np.linalg.solve(_check_matrix(A), np.asarray(b, dtype=float).ravel())
    return _result(plan, raw, xs, seconds, xs.mean(axis=0) * plan.beta, se, exact, tau,
                   backend)


def sample(A, n: int, b=None, *, backend: str = "golden", seed: int = 1, kT=None,
           burn_in=None, thin=None, progress=None, device=None) -> LinalgResult:
    """`n` draws (n x d) of N(A^-1 b, A^-1) (b = None: zero mean) from the coupler.
    ``exact``, ``standard_error`` and ``relative_error`` describe the draws' covariance
    against A^-1."""
    plan, raw, xs, seconds = _simulate(A, b, n, "sample", backend, seed, kT, burn_in, thin,
                                       progress, device)
    draws = xs * plan.beta
    S, tau, se = _covariance(plan, draws)
    exact = np.linalg.inv(_check_matrix(A))
    return _result(plan, raw, xs, seconds, draws, se, exact, tau, backend,
                   rel=_rel(S, exact))
