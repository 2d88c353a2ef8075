"""Statistics of the coupler's samples against the Langevin references
(`tritherm bench coupler-stats`).

One fixed configuration, `stats_matrix` (8 cells, A symmetric positive definite with
condition number 10), in both modes: underdamped BAOAB as `tritherm.sim.linalg` programs
it, and overdamped Euler-Maruyama (`coupler_plan`). For each, `run_mode` draws N samples
on the RTL (Verilator) or the golden model and measures, at log-spaced prefixes n:

- the relative Frobenius error of the sample covariance of x against the exact stationary
  covariance of the discretised update without rounding (`discrete_stationary_covariance`),
  and against the continuous law kT A^-1;
- the error those should have: the standard error predicted from the linear update itself
  (`covariance_error_variances`: Bartlett's formula over the chain's exact autocovariances
  F^k S) and the cruder one from the integrated autocorrelation time of the samples
  (`covariance_standard_errors`);
- the discretisation bias |discrete - kT A^-1| (zero for BAOAB's x on a quadratic
  potential; of order h A / 2 for Euler-Maruyama), which the error against kT A^-1 settles
  on;
- equipartition (underdamped): each momentum's sample variance against kT and against the
  discrete chain's exact p variance;
- the bias the fixed-point rounding adds (`quantisation_bias`): predicted by treating every
  rounding as independent uniform noise of one LSB, and measured by running the golden
  model beside a float chain driven by the very same noise.

Long runs go in chunks (a fresh core per chunk, continuing from the previous chunk's last
state with a new noise seed), the same for both backends, so the golden backend reproduces
the RTL's samples bit for bit; with the RTL backend every chunk is also checked against the
golden model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from tritherm.formats import COUPLER_OVERDAMPED

from . import linalg
from .noise_stats import family_z
from .verify.coupler_vectors import random_spd
from .golden import (CouplerModel, CouplerSamples, covariance_standard_errors,
                     discrete_lyapunov, discrete_stationary_covariance,
                     integrated_autocorrelation_time, linear_update, noise_steps,
                     shaper_stats)

__all__ = ["stats_matrix", "coupler_plan", "covariance_error_variances",
           "quantisation_bias", "ModeStats", "run_mode", "run_stats", "verdicts",
           "table", "plot", "MODES", "DEFAULT_SAMPLES", "MatplotlibMissing"]

MODES = ("underdamped", "overdamped")
DEFAULT_SAMPLES = 20000
#: The fixed configuration: 8 cells, condition number 10, eigenvalues 1..10.
CELLS, CONDITION, LARGEST, MATRIX_SEED = 8, 10.0, 10.0, 1
#: Steps per chunk (one simulator run each: about 20 s on Verilator).
CHUNK_STEPS = 60000
#: Verdict thresholds, in standard errors.
SIGMAS = 4.0


def stats_matrix() -> np.ndarray:
    """The fixed 8 x 8 SPD matrix: eigenvalues from 1 to 10, random eigenvectors (seed 1)."""
    return random_spd(np.random.default_rng(MATRIX_SEED), CELLS, CONDITION, LARGEST)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def coupler_plan(A, mode: str = "underdamped", seed: int = 1, thin=None):
    """A `tritherm.sim.linalg` plan for `A` in `mode`, burn-in a whole number of samples.

    underdamped: `linalg.prepare` (h sqrt(lambda_max) <= 1/2, slowest mode critically
    damped, kT filling the state range). overdamped: the same scaled A, a step with
    h lambda_max <= 1, half that kT (capped so the NOISE multiplier sqrt(2 kT h) / sd(xi)
    stays below 1.8), thin 0.5 / (h lambda_min) and burn-in 40 / (h lambda_min) steps.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    base = linalg.prepare(A, seed=seed, thin=thin)
    if mode == "underdamped":
        return replace(base, burn_in=_round_up(base.burn_in, base.thin))
    program = base.program
    As = program.physical()["A"]
    eig = np.linalg.eigvalsh(As)
    hshift = max(program.hshift, math.ceil(math.log2(eig[-1])))
    h = 2.0 ** -hshift
    sd_xi = math.sqrt(shaper_stats(program.shaper).variance_sigma2)
    kT = min(base.kT / 2, (1.8 * sd_xi) ** 2 / (2 * h))
    if thin is None:
        thin = max(1, math.ceil(0.5 / (h * eig[0])))
    burn_in = _round_up(max(1000, math.ceil(40 / (h * eig[0]))), thin)
    over = type(program).from_physical(As, None, kT, hshift, "overdamped", thin=thin,
                                       seed=program.seed, shaper=program.shaper,
                                       fmt=program.fmt)
    return replace(base, program=over, kT=over.physical()["kT"], thin=thin, burn_in=burn_in)


# --- theory -----------------------------------------------------------------------------------

def covariance_error_variances(program, thin: int, block=None, tol: float = 1e-12,
                               max_lags: int = 1 << 20) -> np.ndarray:
    """n times the variance of each entry of the sample covariance of the coordinates
    `block` (default: x) of n samples taken every `thin` steps of the unrounded update
    ``s' = F s + G xi`` in equilibrium (Bartlett's formula for a Gaussian series):
    ``sum over lags k of Gamma_k[i,i] Gamma_k[j,j] + Gamma_k[i,j] Gamma_k[j,i]`` with
    ``Gamma_k = (F^thin)^k S`` the exact autocovariances."""
    F, _, _ = linear_update(program)
    S = discrete_stationary_covariance(program)
    block = np.arange(program.cells) if block is None else np.asarray(block)
    step = np.linalg.matrix_power(F, thin)
    scale = np.abs(S[np.ix_(block, block)]).max()

    def term(gamma):
        g = gamma[np.ix_(block, block)]
        d = np.diag(g)
        return np.outer(d, d) + g * g.T, np.abs(g).max()

    total, _ = term(S)
    gamma = S
    for _ in range(max_lags):
        gamma = step @ gamma
        part, size = term(gamma)
        total += 2 * part
        if size <= tol * scale:
            return total
    raise ValueError("the chain decorrelates too slowly for the error prediction")


def _rounding_injection(program) -> np.ndarray:
    """How each rounding error (one per cell and rounding) enters the state s."""
    phys = program.physical()
    n, h = program.cells, phys["h"]
    eye = np.eye(n)
    if program.mode == COUPLER_OVERDAMPED:
        return eye                                # x' = x + rnd(...)
    c1 = phys["c1"]
    # e1 rounds p1, e2 rounds p2, e3 rounds the drift of x: x' = x + h/2 (p1 + p2) + e3.
    columns = [(h / 2 * (1 + c1), c1), (h / 2, 1.0), (1.0, 0.0)]
    return np.hstack([np.vstack([a * eye, b * eye]) for a, b in columns])


def quantisation_bias(program, steps: int = 0, burn_in: int = 0, batches: int = 8) -> dict:
    """The fixed-point rounding's effect on the x covariance, relative to the discrete
    reference's Frobenius norm.

    ``predicted``: every rounding to the state's LSB q taken as independent uniform noise
    (variance q^2 / 12) injected into the unrounded update; the covariance with it, from
    the discrete Lyapunov equation, minus the reference. With `steps`, also
    ``measured``: the golden model and the unrounded float chain run side by side for
    `steps` steps (after `burn_in`) on the very same noise, so that sampling error cancels;
    the relative Frobenius norm of the difference of their x covariances, with
    ``measured_se`` from `batches` batch means.
    """
    F, G, _ = linear_update(program)
    S = discrete_stationary_covariance(program)
    n = program.cells
    norm = np.linalg.norm(S[:n, :n])
    q = 1.0 / program.fmt.state.one
    injection = _rounding_injection(program)
    Sq = discrete_lyapunov(F, G @ G.T + q * q / 12 * injection @ injection.T)
    out = {"predicted": float(np.linalg.norm(Sq[:n, :n] - S[:n, :n]) / norm)}
    if steps <= 0:
        return out
    fixed, exact = _paired_chains(program, burn_in + steps)
    fixed, exact = fixed[burn_in:], exact[burn_in:]
    diff = np.cov(fixed, rowvar=False) - np.cov(exact, rowvar=False)
    parts = [np.cov(a, rowvar=False) - np.cov(b, rowvar=False)
             for a, b in zip(np.array_split(fixed, batches), np.array_split(exact, batches))]
    spread = np.std(parts, axis=0, ddof=1) / math.sqrt(batches)
    out.update(measured=float(np.linalg.norm(diff) / norm),
               measured_se=float(np.linalg.norm(spread) / norm), steps=steps)
    return out


def _paired_chains(program, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """x of the golden model and of the unrounded update on the same noise, every step."""
    F, G, c = linear_update(program)
    phys = program.physical()
    if phys["noise_sd"] == 0:
        raise ValueError("the program has no noise (NOISE = 0)")
    inject = G / phys["noise_sd"]                 # unit noise -> state
    model = CouplerModel(program.cells, program.shaper)
    model.load(program.with_(thin=1).writes())
    one, n = program.fmt.state.one, program.cells
    s = np.concatenate([program.x0, program.p0])[:len(F)] / one
    fixed, exact = np.empty((steps, n)), np.empty((steps, n))
    done = 0
    while done < steps:
        chunk = min(CHUNK_STEPS, steps - done)
        xi = noise_steps(program.seed, n, chunk, program.shaper, model.rounds,
                         start=model.step)
        fixed[done:done + chunk] = model.run(chunk).x / one
        # The core's noise term NOISE * xi in real units (26 fraction bits).
        drive = (program.noise * xi / 2.0 ** 26) @ inject.T + c
        for t in range(chunk):
            s = F @ s + drive[t]
            exact[done + t] = s[:n]
        done += chunk
    return fixed, exact


# --- runs -------------------------------------------------------------------------------------

@dataclass
class ModeStats:
    """Everything `run_mode` measured for one mode (errors relative, Frobenius).

    ``ns``: prefix lengths; ``err_discrete``, ``err_continuous``: of the sample covariance
    of x at each prefix against the discrete reference and kT A^-1; ``se_theory``,
    ``se_tau``: the standard errors predicted at each prefix; ``bias``: |discrete - kT A^-1|;
    ``p_ratio`` (prefixes x cells): sample var(p_i) / kT (underdamped; empty otherwise),
    ``p_se``: its predicted standard error, ``p_discrete``: the discrete chain's exact
    var(p_i) / kT; ``quantisation``: `quantisation_bias`; ``identical``: the RTL's samples
    equal the golden model's (None for the golden backend); ``tau``: integrated
    autocorrelation time of each x, in samples.
    """

    mode: str
    backend: str
    seed: int
    samples: int
    thin: int
    burn_in: int
    kT: float
    h: float
    ns: np.ndarray
    err_discrete: np.ndarray
    err_continuous: np.ndarray
    se_theory: np.ndarray
    se_tau: np.ndarray
    bias: float
    p_ratio: np.ndarray
    p_se: np.ndarray
    p_discrete: np.ndarray
    quantisation: dict
    identical: bool | None
    tau: np.ndarray
    seconds: float
    x: np.ndarray = field(repr=False)
    p: np.ndarray = field(repr=False)
    program: object = field(repr=False)

    @property
    def steps(self) -> int:
        """Coupler steps run, burn-in included."""
        return self.burn_in + self.samples * self.thin


def _chunk_seed(seed: int, k: int) -> int:
    if k == 0:
        return seed
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


def _run_chain(plan, n: int, backend: str, progress) -> tuple[CouplerSamples, bool | None]:
    """n samples after burn-in, in chunks of about CHUNK_STEPS steps (see the module
    docstring); with the RTL backend, also whether every chunk equals the golden model."""
    per_chunk = max(1, CHUNK_STEPS // plan.thin)
    total = plan.burn_in + n * plan.thin
    parts, identical, done, chunk_plan = [], (True if backend == "rtl" else None), 0, plan
    if progress:
        progress(0, total)
    for k in range(math.ceil(n / per_chunk)):
        count = min(per_chunk, n - k * per_chunk)
        if k:
            last = parts[-1]
            chunk_plan = replace(plan, burn_in=0, program=plan.program.with_(
                x0=last.x[-1].copy(), p0=last.p[-1].copy(), seed=_chunk_seed(plan.program.seed, k)))
        golden = linalg._run_golden(chunk_plan, count, None)
        golden = CouplerSamples(*(getattr(golden, f)[-count:]
                                  for f in ("seq", "flags", "x", "p")))
        if backend == "rtl":
            got = linalg._run_rtl(chunk_plan, count, None)
            identical = identical and all(np.array_equal(getattr(got, f), getattr(golden, f))
                                          for f in ("seq", "flags", "x", "p"))
            golden = got
        parts.append(golden)
        done += chunk_plan.burn_in + count * plan.thin
        if progress:
            progress(done, total)
    return CouplerSamples.concatenate(parts, plan.program.cells), identical


def _prefixes(n: int, first: int = 100) -> np.ndarray:
    """1-2-5 steps from `first` up to n, and n."""
    out = [m * 10 ** e for e in range(7) for m in (1, 2, 5) if first <= m * 10 ** e < n]
    return np.array(sorted(set(out + [n])), dtype=np.int64)


def _dense(n: int, first: int = 100, count: int = 24) -> np.ndarray:
    return np.unique(np.round(np.geomspace(min(first, n), n, count)).astype(np.int64))


def _relative(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def run_mode(mode: str, samples: int = DEFAULT_SAMPLES, backend: str = "rtl", seed: int = 1,
             thin=None, quantisation_steps=None, progress=None) -> ModeStats:
    """Run the fixed configuration in `mode` for `samples` samples on `backend` ("rtl":
    Verilator, or "golden") and measure it (see the module docstring). The rounding's
    bias is measured over `quantisation_steps` golden steps (default: the run's samples
    times thin, within 50,000..200,000; 0 predicts it only). `progress(done, total)`
    gets the steps run."""
    if backend not in ("rtl", "golden"):
        raise ValueError(f"backend must be 'rtl' or 'golden', got {backend!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) \
            or samples < 100:
        raise ValueError(f"the number of samples must be a whole number of at least 100, "
                         f"got {samples!r}")
    plan = coupler_plan(stats_matrix(), mode, seed, thin)
    program = plan.program
    cells = program.cells
    start = time.perf_counter()
    raw, identical = _run_chain(plan, int(samples), backend, progress)
    seconds = time.perf_counter() - start
    if raw.flags.any():
        raise ValueError("x or p saturated during the run (a sticky flag is set)")
    one = program.fmt.state.one
    x, p = raw.x / one, raw.p / one
    phys = program.physical()
    kT = phys["kT"]
    S = discrete_stationary_covariance(program)
    Sx = S[:cells, :cells]
    C = kT * np.linalg.inv(phys["A"])
    tau = np.atleast_1d(np.maximum(integrated_autocorrelation_time(x), 1.0))
    M = covariance_error_variances(program, plan.thin)
    ns = np.union1d(_dense(len(x)), _prefixes(len(x)))
    covs = [np.cov(x[:n], rowvar=False) for n in ns]
    under = program.mode != COUPLER_OVERDAMPED
    if under:
        pblock = np.arange(cells, 2 * cells)
        Mp = np.diag(covariance_error_variances(program, plan.thin, pblock))
        p_ratio = np.array([p[:n].var(axis=0, ddof=1) for n in ns]) / kT
        p_se = np.sqrt(Mp[None, :] / ns[:, None]) / kT
        p_discrete = np.diag(S[cells:, cells:]) / kT
    else:
        p_ratio = p_se = p_discrete = np.zeros((0,))
    if quantisation_steps is None:
        quantisation_steps = min(max(50000, int(samples) * plan.thin), 200000)
    quant = quantisation_bias(program, quantisation_steps, plan.burn_in)
    return ModeStats(
        mode=mode, backend=backend, seed=seed, samples=int(samples), thin=plan.thin,
        burn_in=plan.burn_in, kT=kT, h=phys["h"], ns=ns,
        err_discrete=np.array([_relative(c, Sx) for c in covs]),
        err_continuous=np.array([_relative(c, C) for c in covs]),
        se_theory=np.sqrt(M.sum() / ns) / np.linalg.norm(Sx),
        se_tau=np.array([np.linalg.norm(covariance_standard_errors(Sx, tau, n))
                         for n in ns]) / np.linalg.norm(Sx),
        bias=_relative(Sx, C), p_ratio=p_ratio, p_se=p_se, p_discrete=p_discrete,
        quantisation=quant, identical=identical, tau=tau, seconds=seconds, x=x, p=p,
        program=program)


def run_stats(samples: int = DEFAULT_SAMPLES, backend: str = "rtl", seed: int = 1,
              modes=MODES, thin=None, quantisation_steps=None, progress=None
              ) -> list[ModeStats]:
    """`run_mode` for each of `modes`; `progress(mode, done, total)`."""
    return [run_mode(mode, samples, backend, seed, thin, quantisation_steps,
                     (lambda done, total, m=mode: progress(m, done, total)) if progress
                     else None) for mode in modes]


# --- verdicts, table, plot --------------------------------------------------------------------

def verdicts(result: ModeStats, kT_scale: float = 1.0) -> list[tuple[str, bool, str]]:
    """The checks on the whole run, as ``(name, passed, detail)``: the covariance against
    the discrete reference within SIGMAS predicted standard errors plus the measured
    rounding bias; against kT A^-1 within that of the discretisation bias; every
    momentum's variance within `family_z` standard errors of kT (underdamped: the n
    momenta pass together with probability 1 - 1e-6); the RTL equal to
    the golden model. `kT_scale` multiplies every reference's temperature (a control: a
    wrong kT must fail)."""
    n = result.samples
    Sx = discrete_stationary_covariance(result.program)[:result.program.cells,
                                                        :result.program.cells]
    C = result.kT * np.linalg.inv(result.program.physical()["A"])
    cov = np.cov(result.x, rowvar=False)
    se = result.se_theory[-1]
    quant = abs(result.quantisation.get("measured", result.quantisation["predicted"]))
    err = _relative(cov, kT_scale * Sx)
    limit = SIGMAS * se + quant
    out = [("x covariance vs discrete reference", bool(err <= limit),
            f"{100 * err:.2f}% at n = {n}, {err / se:.2f} standard errors "
            f"(SE {100 * se:.2f}%; limit {SIGMAS:g} SE + rounding {100 * quant:.2g}%)")]
    err_c = _relative(cov, kT_scale * C)
    bias = _relative(kT_scale * Sx, kT_scale * C)
    gap = abs(err_c - bias)
    limit_c = limit * np.linalg.norm(Sx) / np.linalg.norm(C)
    bias_text = (f"{100 * bias:.2g}%" if bias > 1e-9 else
                 f"zero ({bias:.1e}: BAOAB's x law is exact on a quadratic potential)")
    out.append(("x covariance vs kT A^-1", bool(gap <= limit_c),
                f"{100 * err_c:.2f}% against a discretisation bias of {bias_text} "
                f"(difference {gap / se:.2f} SE)"))
    if len(result.p_ratio):
        ratio = result.p_ratio[-1] / kT_scale
        z = (ratio - 1) / (result.p_se[-1] / kT_scale)
        worst = int(np.argmax(np.abs(z)))
        # one verdict over n momenta: their largest |z| against the family's bound
        # (5.3 SE for 8 cells), not SIGMAS each, which 8 sound momenta fail 1 run in 2,000
        out.append(("equipartition var(p_i) = kT",
                    bool(np.max(np.abs(z)) <= family_z(len(z))),
                    f"var(p_i)/kT from {ratio.min():.4f} to {ratio.max():.4f} (SE "
                    f"{100 * result.p_se[-1].mean() / kT_scale:.2f}%); worst p{worst} "
                    f"{z[worst]:+.2f} SE; discrete chain's exact var(p_i)/kT "
                    f"{result.p_discrete.min():.6f}..{result.p_discrete.max():.6f}"))
    if result.identical is not None:
        out.append(("RTL samples equal the golden model's", bool(result.identical),
                    f"{n} samples, seq, flags, x, p bit for bit"))
    return out


TABLE_HEADER = ("mode", "n", "err vs discrete", "SE (theory)", "SE (tau)", "err/SE",
                "err vs kT A^-1", "max |var p/kT - 1|", "SE (p)")


def table(results: list[ModeStats]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and rows of the error-against-n table (1-2-5 prefixes and the whole run)."""
    rows = []
    for r in results:
        for n in _prefixes(r.samples):
            k = int(np.searchsorted(r.ns, n))
            if k >= len(r.ns) or r.ns[k] != n:
                continue
            p_dev = p_se = "-"
            if len(r.p_ratio):
                p_dev = f"{100 * np.abs(r.p_ratio[k] - 1).max():.2f}%"
                p_se = f"{100 * r.p_se[k].mean():.2f}%"
            rows.append((r.mode, str(n), f"{100 * r.err_discrete[k]:.2f}%",
                         f"{100 * r.se_theory[k]:.2f}%", f"{100 * r.se_tau[k]:.2f}%",
                         f"{r.err_discrete[k] / r.se_theory[k]:.2f}",
                         f"{100 * r.err_continuous[k]:.2f}%", p_dev, p_se))
    return TABLE_HEADER, rows


class MatplotlibMissing(RuntimeError):
    """matplotlib (the dev extra) is not installed."""


def plot(results: list[ModeStats], path) -> None:
    """Log-log error against n, one panel per mode: the errors against both references,
    both standard-error curves, a c/sqrt(n) guide, the discretisation bias and the
    rounding's predicted bias; PNG to `path`."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MatplotlibMissing("matplotlib is not installed (pip install -e '.[dev]'), so "
                                "no plot was written") from None
    fig, axes = plt.subplots(1, len(results), figsize=(6.2 * len(results), 4.8),
                             squeeze=False)
    for ax, r in zip(axes[0], results):
        ns = r.ns.astype(float)
        c = math.exp(float(np.mean(np.log(r.err_discrete * np.sqrt(ns)))))
        ax.loglog(ns, r.err_discrete, "o", ms=4, label="sample cov vs discrete reference")
        ax.loglog(ns, r.err_continuous, "s", ms=4, mfc="none",
                  label="sample cov vs kT A$^{-1}$")
        ax.loglog(ns, r.se_theory, "-", color="C2", label="standard error (theory)")
        ax.loglog(ns, r.se_tau, "--", color="C2", lw=1,
                  label="standard error (from $\\tau_{int}$)")
        ax.loglog(ns, c / np.sqrt(ns), ":", color="0.4", label=f"{c:.2g} / $\\sqrt{{n}}$")
        if r.bias > 1e-9:
            ax.axhline(r.bias, color="C3", lw=1,
                       label=f"discretisation bias {100 * r.bias:.2g}%")
        else:
            ax.plot([], [], " ", label=f"discretisation bias {r.bias:.0e} (exact)")
        quant = r.quantisation["predicted"]
        low = min(r.err_discrete.min(), r.bias if r.bias > 1e-9 else 1.0)
        if quant >= low / 10:
            ax.axhline(quant, color="C4", lw=1, ls="-.",
                       label=f"rounding bias (predicted) {quant:.1e}")
        else:
            ax.plot([], [], " ", label=f"rounding bias (predicted) {quant:.0e}, off scale")
        if len(r.p_ratio):
            ax.loglog(ns, np.abs(r.p_ratio - 1).max(axis=1), "^", ms=4, color="C1",
                      label="max |var(p$_i$)/kT - 1|")
        ax.set_xlabel("samples n")
        ax.set_ylabel("relative Frobenius error")
        ax.set_title(f"{r.mode}, h = 2$^{{{int(round(math.log2(r.h)))}}}$, thin {r.thin}, "
                     f"{r.backend}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"Coupler statistics: 8 cells, cond(A) = {CONDITION:g}, seed {results[0].seed}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
