"""Floating-point reference for the coupler: what the fixed-point update approximates.

- `stationary_law(A, b, kT)`: the continuous-time Langevin equilibrium of x,
  ``N(A^-1 b, kT A^-1)`` (both modes; momenta ``N(0, kT I)`` in the underdamped one).
- `linear_update(program)`: the coupler's update without rounding, as
  ``s' = F s + G xi + c`` with s = x (overdamped) or (x, p) (underdamped) and xi standard
  normal; the registers' exact meaning (quantised A, b, the shaper's exact variance) is used,
  so only rounding and saturation separate it from the hardware.
- `discrete_stationary_law(program)`: the exact stationary mean and covariance of that
  linear update (``S = F S F^T + G G^T``, solved by doubling), so a test can tell
  discretisation bias (discrete vs continuous law) from sampling error.
- `integrated_autocorrelation_time(samples)`: Sokal's self-consistent window estimate, for
  the standard error of time averages.
"""

from __future__ import annotations

import numpy as np

from tritherm.formats import COUPLER_OVERDAMPED

__all__ = ["stationary_law", "linear_update", "discrete_lyapunov",
           "discrete_stationary_law", "discrete_stationary_covariance",
           "integrated_autocorrelation_time", "covariance_standard_errors"]


def stationary_law(A, b, kT: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``A^-1 b`` and covariance ``kT A^-1`` of the continuous-time equilibrium."""
    A = np.asarray(A, dtype=float)
    inverse = np.linalg.inv(A)
    return inverse @ np.asarray(b, dtype=float), kT * inverse


def linear_update(program) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(F, G, c)`` of the unrounded update ``s' = F s + G xi + c`` (quartic term off).

    overdamped:  x' = x - h (A x - b) + sd xi
    underdamped: p1 = p - h (A x - b);  p' = c1 p1 + sd xi;  x' = x + h/2 (p1 + p')
    """
    phys = program.physical() if hasattr(program, "physical") else program
    if phys.get("quartic"):
        raise ValueError("the linear update has no quartic term; turn it off")
    A, b, h, sd = phys["A"], phys["b"], phys["h"], phys["noise_sd"]
    n = len(b)
    eye = np.eye(n)
    if phys["mode"] == COUPLER_OVERDAMPED:
        return eye - h * A, sd * eye, h * b
    c1 = phys["c1"]
    half = h / 2 * (1 + c1)
    F = np.block([[eye - half * h * A, half * eye], [-c1 * h * A, c1 * eye]])
    G = np.vstack([h / 2 * sd * eye, sd * eye])
    c = np.concatenate([half * h * b, c1 * h * b])
    return F, G, c


def discrete_lyapunov(F, Q, tol: float = 1e-13, max_iter: int = 64) -> np.ndarray:
    """S with ``S = F S F^T + Q`` (F stable), by doubling: ``S <- S + F S F^T, F <- F F``."""
    F = np.asarray(F, dtype=float)
    radius = np.abs(np.linalg.eigvals(F)).max()
    if radius >= 1:
        raise ValueError(f"the update is unstable (spectral radius {radius:.6g} >= 1)")
    S = np.asarray(Q, dtype=float).copy()
    for _ in range(max_iter):
        step = F @ S @ F.T
        S = S + step
        F = F @ F
        if np.abs(step).max() <= tol * np.abs(S).max():
            return (S + S.T) / 2
    raise ValueError("the doubling iteration did not converge")


def discrete_stationary_law(program) -> tuple[np.ndarray, np.ndarray]:
    """Exact stationary mean ``(I - F)^-1 c`` and covariance of `linear_update`."""
    F, G, c = linear_update(program)
    mean = np.linalg.solve(np.eye(len(F)) - F, c)
    return mean, discrete_lyapunov(F, G @ G.T)


def discrete_stationary_covariance(program) -> np.ndarray:
    """The covariance half of `discrete_stationary_law`."""
    return discrete_stationary_law(program)[1]


def integrated_autocorrelation_time(samples, c: float = 5.0) -> np.ndarray:
    """tau_int (in steps) of each column of `samples` (1-D: one series): ``1 + 2 sum rho``
    up to Sokal's window, the first M with M >= c tau(M). Returns a scalar for 1-D input."""
    data = np.asarray(samples, dtype=float)
    single = data.ndim == 1
    data = data.reshape(len(data), -1)
    n = len(data)
    centred = data - data.mean(axis=0)
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=size, axis=0)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=0)[:n]
    acf /= acf[0]
    taus = 2 * np.cumsum(acf, axis=0) - 1
    out = np.empty(data.shape[1])
    for k in range(data.shape[1]):
        window = np.arange(n) >= c * taus[:, k]
        m = int(np.argmax(window)) if window.any() else n - 1
        out[k] = taus[m, k]
    return out[0] if single else out


def covariance_standard_errors(S, tau, n: int) -> np.ndarray:
    """Approximate standard errors of a sample covariance of a Gaussian series with
    covariance S, `n` samples and integrated autocorrelation times `tau` (per variable):
    ``sqrt((S_ii S_jj + S_ij^2) sqrt(tau_i tau_j) / n)``."""
    S = np.asarray(S, dtype=float)
    d = np.diag(S)
    t = np.sqrt(np.outer(tau, tau))
    return np.sqrt((np.outer(d, d) + S * S) * t / n)
