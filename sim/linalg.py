"""Thermodynamic linear algebra on the coupler: Gaussian sampling, A^-1 and A^-1 b.

The coupler's underdamped (BAOAB) mode, with A symmetric positive definite and the quartic
term off, has the stationary law ``x ~ N(A^-1 b, kT A^-1)``; for this linear update the
discrete chain's x-covariance is exactly ``kT A^-1`` for any stable step h (check it with
`tritherm.sim.golden.discrete_stationary_covariance`), so time averages give:

- `inverse(A)`: the sample covariance of x divided by kT,
- `solve(A, b)`: the sample mean of x,
- `sample(A, n, b)`: draws of ``N(A^-1 b, A^-1)``.

Scaling (`prepare`). Only the extreme eigenvalues of A are used (bounds, not the answer).
A is divided by ``alpha = lambda_max / LARGEST_EIGENVALUE`` so that its largest eigenvalue
is 5.236 = 2 (1 + golden ratio): every entry is then below 8 (the coef range is [-8, 8)),
and the fastest force per LSB of x, h lambda_max = 2.618 LSB of p, is as far from every
fraction with a small denominator as a number can be, so that its rounding averages out
(`resonance_bias`; if some other diagonal entry does not, the first largest eigenvalue down
to 7/8 of that which clears them all is used). The step is h = 1/2 (``h sqrt(lambda_max)
= 1.14``: BAOAB is stable below 2 and samples x exactly for any stable h, and a large step
makes the smallest force resolvable; the overdamped variant of
`tritherm.sim.coupler_stats` keeps h lambda_max = 0.65); gamma = 2 sqrt(lambda_min) damps
the slowest mode critically; x is scaled so that its mean plus six standard deviations
stays inside +-28 of the state range [-32, 32), with kT as large as that allows (capped so
that p ~ N(0, kT) and the NOISE multiplier (< 2) fit too); THIN is four time constants of
the slowest mode (1 / sqrt(lambda_min)), the burn-in forty.

Precision: what the fixed-point formats can serve, and the rule that refuses the rest.

- Rounding in the update (the kick h A x, the thermostat and the drift, each to the state's
  LSB q = 2**-10) adds noise of about q^2 / 12 per step, which inflates each mode's
  variance; it is largest for the fastest mode and grows as cond^1.5 (the thermostat's
  noise per step shrinks as the slowest mode slows down). For a diagonal A the kick of the
  slowest mode is a staircase of period ``q / (h lambda_min)``, which turns into a dead zone
  once that period exceeds the mode's spread (so diag(1, 1e4), scaled as before this rule,
  gave an inverse 40% off). `rounding_bias` bounds both: 1.5 times the uniform-noise model
  (which matches the golden model within 30% from cond 1e3 to 2e4) plus a Fourier bound of
  the staircase; it depends on the condition number and the x scaling only. A problem is
  accepted if that bound is at most a quarter of the relative standard error of an entry
  from n independent samples, ``rounding_bias <= 0.25 / sqrt(n)``; `largest_condition(n)`
  is the limit (for A^-1: 2.8e4 at 100 samples, 1.04e4 at 10^4, 2.2e3 at 10^6; for A^-1 b,
  whose x scale leaves kT 5.4 times smaller, 1.2e4, 3.4e3 and 720). Any scale of A from
  1e-150 to 1e150 fits (alpha absorbs it).
- A cell whose force is not dithered by the other cells' (a diagonal or nearly diagonal A)
  rounds ``h A_ii x_i`` alone, which averages out over x_i's spread only if ``h A_ii`` (in
  LSBs of p per LSB of x) is not close to a fraction with a small denominator; otherwise
  the rounding error drifts with x_i and acts as a change of stiffness (diag(1, 3812, 1e4)
  at the golden scale: -0.12% on the middle variance where the white model says +0.06%).
  `resonance_bias` bounds it; it must stay below a fifth of the budget above, and `prepare`
  lowers the largest eigenvalue in steps of 1/128 (at most 16) until it does, or refuses.
- The coupling format holds A / alpha to 2**-13. The coupler samples the rounded Aq, and
  the estimate corrects for the rounding E = Aq - A / alpha (``A^-1 = (I - Aq^-1 E)^-1
  Aq^-1``, summed as a Neumann series with the sample covariance in place of Aq^-1; b's
  rounding likewise), which needs ``rho = ||E||_2 / lambda_min <= 0.5``; a d x d matrix
  always passes that for condition numbers up to ``0.5 * 4.58 / (d 2**-13)`` (18766 / d;
  4.58 is the smallest largest eigenvalue the scaling uses).

Standard errors come from the influence of each sample on the (corrected) estimate,
``(T y)(T y)^T`` for the covariance (T the correction's linearisation, y the centred
sample): their sample variance over n, times the integrated autocorrelation time of the
slowest mode's x^2 (or of x, for the mean) in the realised chain; with the default THIN
(four time constants) that is 1.0-1.2 and the samples are nearly independent; a smaller
THIN makes the standard errors conservative.

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

from .golden import (BlockMoments, CouplerModel, CouplerProgram, CouplerSamples,
                     block_moments, discrete_lyapunov, integrated_autocorrelation_time)

__all__ = ["LinalgResult", "sample", "inverse", "solve", "prepare", "rounding_bias",
           "resonance_bias", "largest_condition", "BACKENDS", "RTL_MAX_SAMPLES",
           "MIN_SAMPLES", "MAX_SAMPLES", "MOMENT_BLOCKS", "moment_block"]

BACKENDS = ("golden", "rtl", "board")
RTL_MAX_SAMPLES = 20000
#: Fewest samples (the standard error is estimated from them) and most (all are held in
#: memory: x, p and flags of every cell).
MIN_SAMPLES = 100
MAX_SAMPLES = 10 ** 6
#: Half-width of the state range the stationary x may use (mean + SIGMAS sd).
X_LIMIT = 28.0
SIGMAS = 6.0
#: A / alpha has this largest eigenvalue: 2 (1 + golden ratio) = 5.236 (raw 21447 in the
#: coef format), so that h lambda_max = 2.61804 is as far from every fraction with a small
#: denominator as a number can be (the force of a diagonal A's fastest mode, rounded to the
#: LSB, then averages out instead of drifting with x), and every entry is below 8.
LARGEST_EIGENVALUE = 21447 / 4096
#: h = 2**-HSHIFT = 1/2, so h sqrt(lambda_max) = 1.14.
HSHIFT = 1
#: The most the coupling format's rounding E of A / alpha may be: ||E||_2 / lambda_min.
QUANTISATION_LIMIT = 0.5
#: The rounding bias may be at most this fraction of an n-sample standard error.
BIAS_FRACTION = 0.25
#: Safety factor on the uniform-noise model of the update's rounding.
ROUNDING_SAFETY = 1.5
#: A cell's force rounding that does not average out (`resonance_bias`) may be at most this
#: fraction of the rounding budget; `prepare` tries largest eigenvalues down to
#: (1 - RESONANCE_STEPS / 128) LARGEST_EIGENVALUE to keep it there.
RESONANCE_FRACTION = 0.2
RESONANCE_STEPS = 16
#: THIN and burn-in in time constants of the slowest mode (1 / sqrt(lambda_min)).
THIN_TIME = 4.0
BURN_IN_TIME = 40.0
#: |A|'s largest entry must lie in this range (float64 headroom for A^-1 and the scaling).
SCALE_RANGE = (1e-150, 1e150)
_NOISE_CAP = 3.8            # kT (1 - c1^2) <= 3.8: the NOISE multiplier stays below 2
_CHUNK_STEPS = 20000
#: Blocks of moments a run is cut into (batch means over them; `moment_block`).
MOMENT_BLOCKS = 32


def moment_block(n: int) -> int:
    """Samples per block of moments for a run of `n`: `MOMENT_BLOCKS` blocks, the last
    one shorter when n is not a multiple."""
    return max(1, -(-int(n) // MOMENT_BLOCKS))


@dataclass
class LinalgResult:
    """What `inverse`, `solve` and `sample` return.

    ``estimate``: A^-1 (inverse), x with A x = b (solve), or the draws, n x d (sample).
    ``standard_error``: of each entry of the estimate (for sample: of the draws' covariance
    entries), from the samples' influence on it and the slowest mode's integrated
    autocorrelation time. ``exact``: numpy.linalg's answer (for sample: A^-1, the
    covariance the draws should have). ``relative_error``: ``||estimate - exact||_F /
    ||exact||_F`` (for sample: of the draws' covariance). ``samples_used``: samples
    averaged; ``steps``: coupler steps run (burn-in included); ``tau``: integrated
    autocorrelation time of each x (in samples, measured); ``kT``: the realised
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
    raw: CouplerSamples | None = field(repr=False)
    #: With ``moments=True``: the block moments the statistics came from (on chip on the
    #: board backend, `block_moments` of the samples on the others); raw is then None.
    moments: BlockMoments | None = field(default=None, repr=False)


@dataclass
class _Plan:
    program: CouplerProgram
    alpha: float          # A_s = A / alpha
    beta: float           # x = beta * x_s
    kT: float             # realised kT (register units)
    thin: int
    burn_in: int          # steps
    #: Rounding of the coupling format, Aq - A_s, and of the bias, b_s - bq (scaled units).
    E: np.ndarray | None = None
    db: np.ndarray | None = None
    rho: float = 0.0      # ||E||_2 / lambda_min(A_s)
    #: Integrated autocorrelation times (in samples) of the slowest mode's x^2 and x.
    tau_square: float = 1.0
    tau_linear: float = 1.0


def _fail(message: str):
    raise ValueError(message)


def _is_count(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _real_array(value, name: str, what: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        _fail(f"{name} must be a {what} of numbers")
    if array.dtype.kind == "c":
        if np.any(array.imag != 0):
            _fail(f"{name} has complex entries, but the coupler works with real numbers only")
        array = array.real
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(float)
        except (TypeError, ValueError):
            _fail(f"{name} must be a {what} of numbers")
        if array.dtype.kind not in "biuf":
            _fail(f"{name} must be a {what} of numbers")
    return array.astype(float)


def _check_matrix(A) -> np.ndarray:
    A = _real_array(A, "A", "matrix")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        _fail(f"A must be a square matrix, got shape {A.shape}")
    d = A.shape[0]
    if d == 0:
        _fail("A is empty (0 x 0)")
    if not np.isfinite(A).all():
        _fail("A has NaN or infinite entries")
    if d > COUPLER_MAX_CELLS:
        _fail(f"A is {d} x {d} but the coupler has at most {COUPLER_MAX_CELLS} cells")
    big = np.abs(A).max()
    if big == 0:
        _fail("A is zero, so it is not positive definite")
    if not SCALE_RANGE[0] <= big <= SCALE_RANGE[1]:
        _fail(f"A's largest entry {big:.3g} is outside the scales that fit, "
              f"{SCALE_RANGE[0]:.0e} to {SCALE_RANGE[1]:.0e} in magnitude")
    asym = np.abs(A - A.T).max()
    if asym > 1e-9 * big:
        _fail(f"A is not symmetric (largest |A - A^T| entry {asym:.3g}, tolerance "
              f"{1e-9 * big:.3g})")
    return (A + A.T) / 2


def _check_b(b, d: int) -> np.ndarray | None:
    if b is None:
        return None
    b = _real_array(b, "b", "vector")
    if b.ndim == 2 and 1 in b.shape:
        b = b.ravel()
    if b.ndim != 1 or len(b) != d:
        _fail(f"b must be a vector of length {d} (A is {d} x {d}), got shape {b.shape}")
    if not np.isfinite(b).all():
        _fail("b has NaN or infinite entries")
    return b


def _check_count(n, backend: str) -> int:
    if not _is_count(n) or not MIN_SAMPLES <= n <= MAX_SAMPLES:
        _fail(f"the number of samples must be a whole number of at least {MIN_SAMPLES} and "
              f"at most {MAX_SAMPLES} (all are held in memory), got {n!r}")
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


# --- the precision rule -----------------------------------------------------------------

def _design_kT(cond: float, kind: str, mean_scale: float, bias_cap: float, kT,
               largest: float | None = None) -> tuple:
    """(kT, c1) of the ideal design for a matrix of condition number `cond` scaled to the
    largest eigenvalue LARGEST_EIGENVALUE (unquantised: the rule depends on these only).
    `mean_scale` (sample with b): ||b|| / sqrt(lambda_max LARGEST_EIGENVALUE), so that
    the mean's bound in state units is ``mean_scale * cond * sqrt(kT)``; `bias_cap`: the
    largest kT for which b stays inside the bias range (sample)."""
    lmin = (largest or LARGEST_EIGENVALUE) / cond
    h = 2.0 ** -HSHIFT
    c1 = math.exp(-2 * math.sqrt(lmin) * h)
    if kT is not None:
        return float(kT), c1
    cap = min((X_LIMIT / SIGMAS) ** 2, _NOISE_CAP / (1 - c1 * c1))
    if kind == "solve":
        target = (12 / SIGMAS) ** 2 * lmin            # spread 6 sd <= 12, mean <= 16
    else:
        target = (X_LIMIT / (mean_scale * cond + SIGMAS / math.sqrt(lmin))) ** 2
        target = min(target, bias_cap)
    return min(target, cap), c1


def _mode_variance_bias(lam: float, h: float, c1: float, kT: float) -> float:
    """Relative increase of a mode's x variance when every rounding of the update (p1, p2,
    the drift) is taken as independent uniform noise of one LSB (variance q^2 / 12)."""
    q = 1.0 / COUPLER_FORMAT.state.one
    half = h / 2 * (1 + c1)
    F = np.array([[1 - half * h * lam, half], [-c1 * h * lam, c1]])
    sd = math.sqrt(kT * (1 - c1 * c1))
    G = np.array([[h / 2 * sd], [sd]])
    inject = np.array([[h / 2 * (1 + c1), h / 2, 1.0], [c1, 1.0, 0.0]])
    S = discrete_lyapunov(F, G @ G.T)
    Sq = discrete_lyapunov(F, G @ G.T + q * q / 12 * inject @ inject.T)
    return float(Sq[0, 0] / S[0, 0] - 1)


def rounding_bias(cond: float, kind: str = "inverse", *, mean_scale: float = 0.0,
                  bias_cap: float = math.inf, kT=None) -> float:
    """Bound on the relative bias of the estimate's variances (per eigenvector of A) that
    the update's fixed-point rounding causes, for a matrix of condition number `cond`
    (see the module docstring): 1.5 times the uniform-noise model plus the staircase."""
    kT, c1 = _design_kT(cond, kind, mean_scale, bias_cap, kT)
    h = 2.0 ** -HSHIFT
    lmin = LARGEST_EIGENVALUE / cond
    q = 1.0 / COUPLER_FORMAT.state.one
    # The slowest mode's kick staircase: period q / (h lambda_min) against its spread.
    ratio = q / (h * math.sqrt(lmin * kT))
    stair = ratio * ratio / 8 * math.exp(-2 * math.pi ** 2 / (ratio * ratio))
    if stair > 1 or not 0 < c1 < 1:
        return math.inf
    white = max(_mode_variance_bias(lam, h, c1, kT)
                for lam in np.geomspace(lmin, LARGEST_EIGENVALUE, 9))
    return ROUNDING_SAFETY * white + stair


def _fits(bias: float, n: int) -> bool:
    return bias <= BIAS_FRACTION / math.sqrt(n)


def resonance_bias(As, kT: float) -> float:
    """Bound on the relative variance bias from force rounding that does not average out,
    for A / alpha = `As` at temperature `kT` (register units).

    Cell i's kick rounds ``a_ii x_i + sum_j a_ij x_j`` to the LSB (``a = raw A /
    2**(12 + HSHIFT)``, x in LSBs). Its rounding error is a periodic function of that sum;
    harmonic k of the diagonal term drifts with x_i at ``||k a_ii||`` (the distance of
    ``k a_ii`` to the nearest integer, at least 1), which the spread of x_i (at least
    ``sqrt(kT / A_ii)``) averages out unless it is small, and the other cells' terms dither
    it (``exp(-2 pi^2 k^2 dither^2)``). Harmonic k shifts the mode's stiffness by about
    ``2 ||k a|| / (k a) exp(-2 pi^2 (||k a|| sd)^2)`` (first order); the bound is 1.5 times
    their sum over k <= 32 (the golden model's shifts were 0.56 and 0.88 of the sum for a
    near 1 and near 13/4). The slowest mode's staircase (``k a < 1/2``) is
    `rounding_bias`'s."""
    fmt = COUPLER_FORMAT
    As = np.asarray(As, dtype=float)
    raw = np.sign(As) * np.floor(np.abs(As) * fmt.coef.one + 0.5)
    a = raw / 2.0 ** (fmt.coef.frac + HSHIFT)
    sd = fmt.state.one * np.sqrt(kT / np.maximum(np.diag(As), 1e-300))
    off = a * sd[None, :]
    np.fill_diagonal(off, 0.0)
    dither2 = (off ** 2).sum(axis=1)
    k = np.arange(1, 33, dtype=float)[:, None]
    ka = k * np.abs(np.diag(a))[None, :]
    near = np.round(ka)
    delta = np.abs(ka - near)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(near >= 1, 2 * delta / ka, 0.0) \
            * np.exp(-2 * math.pi ** 2 * ((delta * sd[None, :]) ** 2 + k * k * dither2[None, :]))
    return float(ROUNDING_SAFETY * np.nan_to_num(terms).sum(axis=0).max()) if len(As) else 0.0


def largest_condition(n: int, kind: str = "inverse", **design) -> float:
    """The largest condition number the precision rule accepts for `n` samples (`design`:
    `rounding_bias`'s keywords)."""
    lo, hi = 0.0, math.log(1e9)
    if _fits(rounding_bias(1e9, kind, **design), n):
        return 1e9
    if not _fits(rounding_bias(1.0, kind, **design), n):
        return 0.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _fits(rounding_bias(math.exp(mid), kind, **design), n):
            lo = mid
        else:
            hi = mid
    return math.exp(lo)


def _precision_refusal(cond, n, kind, design, has_b, user_kT):
    bias = rounding_bias(cond, kind, **design)
    cmax = largest_condition(n, kind, **design)
    what = {"inverse": "A^-1", "solve": "A^-1 b", "sample": "samples of N(A^-1 b, A^-1)"}[kind]
    extra = (" with this b" if kind == "sample" and has_b else "") + \
        (f" at kT = {user_kT:g}" if user_kT is not None else "")
    most = int((BIAS_FRACTION / bias) ** 2) if math.isfinite(bias) and bias > 0 else 0
    tail = (f"this A fits with at most {most} samples" if most >= MIN_SAMPLES
            else "no sample count fits this A")
    limit = (f"condition numbers up to about {cmax:.4g} fit at {n} samples" if cmax >= 1
             else f"no condition number fits at {n} samples{extra}")
    size = f"up to {100 * bias:.2g}%" if bias < 1 else "100% or more"
    _fail(f"A's condition number {cond:.4g} is too large for {what} from {n} samples{extra}: "
          f"the coupler's fixed-point rounding may bias the variances by {size}, more than "
          f"a quarter of the standard error; {limit} and {tail}")


def _autocorrelation_times(program, thin: int) -> tuple[float, float]:
    """Integrated autocorrelation times, in samples, of x^2 and of x for the modes of the
    realised chain (A's extreme eigenvalues and between): the largest over the modes."""
    phys = program.physical()
    h, c1 = phys["h"], phys["c1"]
    eig = np.linalg.eigvalsh(phys["A"])
    t2 = t1 = 1.0
    e0 = np.array([1.0, 0.0])
    for lam in np.geomspace(eig[0], eig[-1], 9):
        half = h / 2 * (1 + c1)
        F = np.array([[1 - half * h * lam, half], [-c1 * h * lam, c1]])
        G = np.array([[h / 2], [1.0]])
        S = discrete_lyapunov(F, G @ G.T)
        Ft = np.linalg.matrix_power(F, thin)
        s = S @ e0
        # sum_k>=1 rho_k = [Ft (I - Ft)^-1 S]_00 / S_00; sum rho_k^2 = s' X s / S_00^2 with
        # X = sum_k>=1 Ft'^k e0 e0' Ft^k.
        lin = (Ft @ np.linalg.solve(np.eye(2) - Ft, S))[0, 0] / S[0, 0]
        X = discrete_lyapunov(Ft.T, np.outer(Ft.T @ e0, Ft.T @ e0))
        sq = float(s @ X @ s) / S[0, 0] ** 2
        t1, t2 = max(t1, 1 + 2 * lin), max(t2, 1 + 2 * sq)
    return t2, t1


def prepare(A, b=None, *, kind: str = "inverse", seed: int = 1, kT=None, burn_in=None,
            thin=None, shaper: str = "icdf", n=None) -> _Plan:
    """Check and scale (A, b) into a `CouplerProgram` (see the module docstring); `kind`
    is "inverse", "solve" or "sample" (how x is scaled); `shaper` is the noise source's;
    `n`, the number of samples, sets the precision rule's budget (None: the fewest,
    `MIN_SAMPLES`, so that only what no sample count can serve is refused)."""
    fmt = COUPLER_FORMAT
    if kind not in ("inverse", "solve", "sample"):
        _fail(f"kind must be 'inverse', 'solve' or 'sample', got {kind!r}")
    A = _check_matrix(A)
    d = len(A)
    b = _check_b(b, d)
    if kind == "solve" and b is None:
        _fail("solve needs a right-hand side b")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < 1 << 32:
        _fail(f"seed must be a whole number in [0, 2**32 - 1], got {seed!r}")
    if kT is not None and not (isinstance(kT, (int, float, np.integer, np.floating))
                               and not isinstance(kT, bool) and math.isfinite(kT) and kT > 0):
        _fail(f"kT must be a positive number, got {kT!r}")
    if thin is not None and (not _is_count(thin) or not 1 <= thin <= 0xFFFF):
        _fail(f"thin must be a whole number in [1, 65535], got {thin!r}")
    if burn_in is not None and (not _is_count(burn_in) or burn_in < 0):
        _fail(f"burn_in must be a whole number of steps >= 0, got {burn_in!r}")
    eig = np.linalg.eigvalsh(A)
    if eig[0] <= 0:
        _fail(f"A is not positive definite (smallest eigenvalue {eig[0]:.3g})")
    if eig[0] <= 64 * np.finfo(float).eps * eig[-1]:
        _fail(f"A is not positive definite within rounding (smallest eigenvalue "
              f"{eig[0]:.3g} against largest {eig[-1]:.3g})")
    cond = float(eig[-1] / eig[0])
    alpha = float(eig[-1] / LARGEST_EIGENVALUE)
    As = A / alpha

    # The precision rule (a function of the condition number, the sample count and how x
    # is scaled; see the module docstring).
    design = {"kT": None if kT is None else float(kT)}
    if kind == "sample" and b is not None and np.any(b):
        design["mean_scale"] = float(np.linalg.norm(b) / math.sqrt(eig[-1] * LARGEST_EIGENVALUE))
        design["bias_cap"] = float((30 / np.abs(b).max()) ** 2 * alpha)
    budget_n = MIN_SAMPLES if n is None else int(n)
    if not _fits(rounding_bias(cond, kind, **design), budget_n):
        _precision_refusal(cond, budget_n, kind, design, b is not None, kT)

    # Force rounding that does not average out (a diagonal entry near a fraction with a
    # small denominator): the first largest eigenvalue from LARGEST_EIGENVALUE down that
    # keeps it negligible.
    kT_design = _design_kT(cond, kind, design.get("mean_scale", 0.0),
                           design.get("bias_cap", math.inf), kT)[0]
    allowed = RESONANCE_FRACTION * BIAS_FRACTION / math.sqrt(budget_n)
    best = (math.inf, LARGEST_EIGENVALUE)
    for j in range(RESONANCE_STEPS + 1):
        largest = LARGEST_EIGENVALUE * (1 - j / 128)
        trial_kT = kT_design if kT is not None else kT_design * largest / LARGEST_EIGENVALUE
        resonance = resonance_bias(A * (largest / eig[-1]), trial_kT)
        best = min(best, (resonance, largest))
        if resonance <= allowed:
            break
    resonance, largest = best
    if resonance > allowed:
        most = int((RESONANCE_FRACTION * BIAS_FRACTION / resonance) ** 2)
        _fail(f"A's diagonal entries sit so close to fractions with small denominators of "
              f"the coupler's force step that its fixed-point rounding does not average "
              f"out: at {budget_n} samples that may bias the variances by up to "
              f"{100 * resonance:.2g}%, more than a twentieth of the standard error, and "
              + (f"this A fits with at most {most} samples" if most >= MIN_SAMPLES
                 else "no sample count fits this A"))
    alpha = float(eig[-1] / largest)
    As = A / alpha

    lmin = largest / cond
    h = 2.0 ** -HSHIFT
    gamma = 2 * math.sqrt(lmin)
    c1q = fmt.mult.quantise(math.exp(-gamma * h), "damping factor") / fmt.mult.one
    kT_cap = min((X_LIMIT / SIGMAS) ** 2, _NOISE_CAP / (1 - c1q * c1q))
    if kT is not None and kT > kT_cap * 1.0001:
        _fail(f"kT = {kT:g} does not fit the coupler's formats for this A; at most "
              f"{kT_cap:.3g} fits")

    # x's scale and kT: the design's, with the registers' c1.
    beta = 1.0
    if kind == "solve":
        # Mean within +-16 (and b_s within +-30), spread within 6 sd <= 12.
        m_bound = np.linalg.norm(b) / eig[0]
        beta = max(m_bound / 16, np.abs(b).max() / (30 * alpha))
        target = min((12 / SIGMAS) ** 2 * lmin, kT_cap)
    else:
        # One scale for mean and spread (sample): x = x_s / sqrt(kT alpha).
        m_bound = 0.0 if b is None else np.linalg.norm(b) / eig[0]
        target = min((X_LIMIT / (m_bound * math.sqrt(alpha) + SIGMAS / math.sqrt(lmin))) ** 2,
                     design.get("bias_cap", math.inf), kT_cap)
    if kT is not None:
        target = float(kT)
    if target * (1 - c1q * c1q) < (4 / fmt.mult.one) ** 2:
        _fail(f"kT = {target:.3g} is too small for the 14-fraction-bit noise multiplier")
    if thin is None:
        thin = max(1, math.ceil(THIN_TIME / (h * math.sqrt(lmin))))
    thin = int(thin)
    if burn_in is None:
        burn_in = max(1000, math.ceil(BURN_IN_TIME / (h * math.sqrt(lmin))))

    def build(bs):
        return CouplerProgram.from_physical(As, bs, target, HSHIFT, "underdamped", gamma,
                                            thin=thin, seed=int(seed), shaper=shaper,
                                            fmt=fmt)

    program = build(None)
    E = program.A / fmt.coef.one - As
    rho = float(np.linalg.norm(E, 2) / (eig[0] / alpha))
    if rho > QUANTISATION_LIMIT:
        always = (QUANTISATION_LIMIT * LARGEST_EIGENVALUE * (1 - RESONANCE_STEPS / 128)
                  * 2 * fmt.coef.one / d)
        _fail(f"A cannot be held precisely enough in the coupler's 12-fraction-bit coupling "
              f"format: scaled so that its largest eigenvalue is {largest:.7g}, "
              f"rounding its entries moves it by {np.linalg.norm(E, 2):.3g} (spectral norm), "
              f"{rho:.3g} of its smallest eigenvalue, and at most {QUANTISATION_LIMIT:g} fits "
              f"(a {d} x {d} matrix always passes this check up to condition number "
              f"{always:.4g})")
    kT_eff = program.physical()["kT"]
    db = None
    if b is not None:
        if kind == "sample":
            beta = 1 / math.sqrt(kT_eff * alpha)
        bs = b / (alpha * beta)
        if np.abs(bs).max() >= 31.9:
            _fail("b does not fit the coupler's bias range [-32, 32) after scaling")
        program = build(bs)
        db = bs - program.b / fmt.state.one
    elif kind == "sample":
        beta = 1 / math.sqrt(kT_eff * alpha)
    tau_square, tau_linear = _autocorrelation_times(program, thin)
    return _Plan(program, alpha, beta, kT_eff, thin, int(burn_in), E=E, db=db, rho=rho,
                 tau_square=tau_square, tau_linear=tau_linear)


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


def _configure_board(plan: _Plan, device) -> None:
    cells = device.identity.cells
    if plan.program.cells > cells:
        _fail(f"A is {plan.program.cells} x {plan.program.cells} but the device's coupler "
              f"has {cells} cells")
    device.configure_coupler(plan.program)


def _run_board_moments(plan: _Plan, n: int, progress, device) -> BlockMoments:
    """Burn-in, then n * THIN steps with the moments on chip: the moments of exactly the
    last n samples of the golden run (the burn-in's own moments are dropped)."""
    _configure_board(plan, device)
    total = plan.burn_in + n * plan.thin
    if plan.burn_in:
        device.moments(plan.burn_in, 0xFFFF)
    if progress:
        progress(plan.burn_in, total)
    moments = device.moments(n * plan.thin, moment_block(n), progress and (
        lambda done, _: progress(plan.burn_in + done, total)))
    if moments.samples != n:
        _fail(f"the device accumulated {moments.samples} samples, not the {n} asked for")
    return moments


def _run_board(plan: _Plan, n: int, progress, device, compact: bool = False) -> CouplerSamples:
    _configure_board(plan, device)
    # One run of burn-in and samples: the samples after the burn-in are the golden model's.
    raw = device.sample(plan.burn_in + n * plan.thin, progress, compact=compact)
    if len(raw) < n:
        _fail(f"the device sent {len(raw)} samples, fewer than the {n} asked for")
    return raw


def _use_moments(moments, backend: str, device) -> bool:
    if moments is None:
        return backend == "board" and device.identity.moments
    if not isinstance(moments, bool):
        _fail(f"moments must be True, False or None, got {moments!r}")
    if moments and backend == "board" and not device.identity.moments:
        _fail("the device's SoC was built without moments on chip; pass moments=False "
              "(the sample stream)")
    return moments


def _simulate(A, b, n, kind, backend, seed, kT, burn_in, thin, progress, device=None,
              moments=False, compact=False):
    """(plan, raw samples, their x in scaled units, seconds); with `moments`, (plan,
    BlockMoments, None, seconds)."""
    _check_backend(backend, device)
    n = _check_count(n, backend)
    moments = _use_moments(moments, backend, device)
    shaper = device.identity.shaper if backend == "board" else "icdf"
    plan = prepare(A, b, kind=kind, seed=seed, kT=kT, burn_in=burn_in, thin=thin,
                   shaper=shaper, n=n)
    start = time.perf_counter()
    if moments:
        if backend == "board":
            got = _run_board_moments(plan, n, progress, device)
        else:
            raw = (_run_golden(plan, n, progress) if backend == "golden"
                   else _run_rtl(plan, n, progress))
            raw = CouplerSamples(*(getattr(raw, k)[-n:] for k in ("seq", "flags", "x", "p")))
            got = block_moments(raw.x, raw.p, moment_block(n),
                                sum(int(f) << i for i, f in enumerate(raw.flags[-1])))
        if got.flags:
            _fail("x or p saturated during the run (a sticky flag is set); pass a smaller kT")
        return plan, got, None, time.perf_counter() - start
    if backend in ("golden", "board"):
        raw = (_run_golden(plan, n, progress) if backend == "golden"
               else _run_board(plan, n, progress, device, compact))
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


def _result(plan, raw, xs, seconds, estimate, se, exact, backend, rel=None):
    if isinstance(raw, BlockMoments):
        n, tau, moments, raw = raw.samples, _BlockStatistics(plan, raw).tau, raw, None
    else:
        n, moments = len(xs), None
        tau = np.atleast_1d(np.maximum(integrated_autocorrelation_time(xs), 1.0))
    return LinalgResult(estimate=estimate, standard_error=se, exact=exact,
                        relative_error=_rel(estimate, exact) if rel is None else rel,
                        samples_used=n, steps=plan.burn_in + n * plan.thin,
                        tau=tau, kT=plan.kT, scale=plan.alpha, backend=backend,
                        seconds=seconds, program=plan.program, raw=raw, moments=moments)


def _series(K: np.ndarray, power: float) -> np.ndarray:
    """``(I - K)^-power`` as its binomial series (matrix products only); the precision rule
    keeps the spectral radius of K near QUANTISATION_LIMIT, so it converges fast."""
    total = np.eye(len(K))
    term = np.eye(len(K))
    for k in range(1, 2000):
        term = term @ K * ((k - 1 + power) / k)
        total = total + term
        if np.abs(term).max() <= 1e-17 * np.abs(total).max():
            return total
    _fail("the correction for the coupling format's rounding did not converge; the samples "
          "are too few for this A")


class _Moments:
    """The centred samples (scaled units) and the corrected covariance's pieces."""

    def __init__(self, plan: _Plan, xs: np.ndarray):
        self.n = len(xs)
        self.mean = xs.mean(axis=0)
        self.y = xs - self.mean
        self.S = self.y.T @ self.y / (self.n - 1)
        self.M = self.S / plan.kT                         # estimates Aq^-1
        K = self.M @ plan.E
        self.T = _series(K, 1.0)                          # (I - M E)^-1
        self.K = K

    def inverse(self, plan: _Plan):
        """A_s^-1 = (I - M E)^-1 M and its standard errors (scaled units)."""
        est = self.T @ self.M
        est = (est + est.T) / 2
        z = self.y @ self.T.T
        z2 = z * z
        var = z2.T @ z2 / self.n - (z.T @ z / self.n) ** 2
        se = np.sqrt(np.maximum(var, 0) * plan.tau_square / self.n) / plan.kT
        return est, se

    def solve(self, plan: _Plan):
        """A_s^-1 b_s = (I - M E)^-1 (mean + M db) and its standard errors (scaled)."""
        db = np.zeros(len(self.mean)) if plan.db is None else plan.db
        x = self.T @ (self.mean + self.M @ db)
        w = plan.E @ x + db
        u = self.y + self.y * (self.y @ w)[:, None] / plan.kT
        phi = u @ self.T.T
        tau = max(plan.tau_linear, plan.tau_square)
        se = np.sqrt(phi.var(axis=0) * tau / self.n)
        return x, se


class _BlockStatistics(_Moments):
    """`_Moments` from block sums (`BlockMoments`): the same mean and covariance, and
    standard errors by batch means over the blocks, each block's estimate linearised about
    the whole run's (the same influence as `_Moments` uses, averaged over a block)."""

    def __init__(self, plan: _Plan, moments: BlockMoments):
        one = COUPLER_FORMAT.state.one
        counts = moments.counts.astype(float)
        self.n = n = int(moments.counts.sum())
        self.weights = counts / n
        sx = moments.sum_x().astype(float) / one                  # (blocks, d)
        sxx = moments.sum_xx().astype(float) / one ** 2           # (blocks, d, d)
        self.mean = sx.sum(axis=0) / n
        m = self.mean
        block_means = sx / counts[:, None]
        # Each block's second moment about the whole run's mean.
        self.blocks = (sxx / counts[:, None, None]
                       - block_means[:, :, None] * m[None, None, :]
                       - m[None, :, None] * block_means[:, None, :] + np.outer(m, m))
        biased = np.tensordot(self.weights, self.blocks, axes=1)
        self.S = biased * n / (n - 1)
        self.block_means = block_means
        self.M = self.S / plan.kT
        self.K = self.M @ plan.E
        self.T = _series(self.K, 1.0)
        self.tau = np.maximum(self._batch_variance(block_means) * n
                              / np.maximum(np.diag(biased), 1e-300), 1.0)

    def _batch_variance(self, values: np.ndarray) -> np.ndarray:
        """The variance of the run's weighted mean of per-block `values` (batch means)."""
        w = self.weights
        centre = np.tensordot(w, values, axes=1)
        spread = np.tensordot(w * w, (values - centre) ** 2, axes=1)
        return spread * len(w) / max(len(w) - 1, 1)

    def inverse(self, plan: _Plan):
        est = self.T @ self.M
        est = (est + est.T) / 2
        z = np.einsum("ij,bjk,lk->bil", self.T, self.blocks, self.T) / plan.kT
        return est, np.sqrt(self._batch_variance(z))

    def solve(self, plan: _Plan):
        db = np.zeros(len(self.mean)) if plan.db is None else plan.db
        x = self.T @ (self.mean + self.M @ db)
        w = plan.E @ x + db
        u = (self.block_means - self.mean) + np.einsum("bij,j->bi", self.blocks, w) / plan.kT
        return x, np.sqrt(self._batch_variance(u @ self.T.T))


def _statistics(plan: _Plan, raw, xs):
    return _BlockStatistics(plan, raw) if isinstance(raw, BlockMoments) else _Moments(plan, xs)


def inverse(A, n: int = 10000, *, backend: str = "golden", seed: int = 1, kT=None,
            burn_in=None, thin=None, progress=None, device=None,
            moments: bool | None = None) -> LinalgResult:
    """A^-1 of a symmetric positive definite A from `n` coupler samples: the sample
    covariance of x over kT, corrected for the coupling format's rounding (see the module
    docstring). `progress(done, total)` (steps) is called during long runs; `device` is the
    board backend's `tritherm.firmware.Device`. `moments`: the statistics from block
    moments (on chip on the board backend; its default there when the SoC has them) with
    batch-means standard errors, else from every sample."""
    plan, raw, xs, seconds = _simulate(A, None, n, "inverse", backend, seed, kT, burn_in,
                                       thin, progress, device, moments)
    est, se = _statistics(plan, raw, xs).inverse(plan)
    exact = np.linalg.inv(_check_matrix(A))
    return _result(plan, raw, xs, seconds, est / plan.alpha, se / plan.alpha, exact, backend)


def solve(A, b, n: int = 10000, *, backend: str = "golden", seed: int = 1, kT=None,
          burn_in=None, thin=None, progress=None, device=None,
          moments: bool | None = None) -> LinalgResult:
    """x with A x = b (A symmetric positive definite) from `n` coupler samples: the sample
    mean of x, corrected for the formats' rounding of A and b, scaled back (`moments` as
    for `inverse`)."""
    if b is None:
        _fail("solve needs a right-hand side b")
    plan, raw, xs, seconds = _simulate(A, b, n, "solve", backend, seed, kT, burn_in, thin,
                                       progress, device, moments)
    x, se = _statistics(plan, raw, xs).solve(plan)
    exact = np.linalg.solve(_check_matrix(A), _check_b(b, len(x)))
    return _result(plan, raw, xs, seconds, x * plan.beta, se * plan.beta, exact, backend)


def sample(A, n: int, b=None, *, backend: str = "golden", seed: int = 1, kT=None,
           burn_in=None, thin=None, progress=None, device=None,
           compact: bool = False) -> LinalgResult:
    """`n` draws (n x d) of N(A^-1 b, A^-1) (b = None: zero mean) from the coupler: its
    samples, mapped by ``(I - M E)^-1/2`` about the corrected mean so that their mean and
    covariance are the corrected estimates. ``exact``, ``standard_error`` and
    ``relative_error`` describe the draws' covariance against A^-1. With `compact` (board
    backend), the device sends x only (`Device.sample` ``compact``; ``raw.p`` is empty)."""
    if compact and backend != "board":
        _fail("compact is a way of sending samples from a board; it needs backend='board'")
    plan, raw, xs, seconds = _simulate(A, b, n, "sample", backend, seed, kT, burn_in, thin,
                                       progress, device, compact=compact)
    moments = _Moments(plan, xs)
    mean, _ = moments.solve(plan)
    _, se = moments.inverse(plan)
    draws = (mean + moments.y @ _series(moments.K, 0.5).T) * plan.beta
    S = np.cov(draws, rowvar=False, ddof=1).reshape(xs.shape[1], xs.shape[1])
    exact = np.linalg.inv(_check_matrix(A))
    return _result(plan, raw, xs, seconds, draws, se / plan.alpha, exact, backend,
                   rel=_rel(S, exact))
