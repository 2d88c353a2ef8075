"""Generation on every backend, for the command line: `sample` runs the float model, the
coupler's fixed-point arithmetic vectorised over chains, or the golden coupler, for the
digits asked, and `evaluate_runs` turns the runs into the quality figures.

==========  ==================================================================================
backend     what runs
==========  ==================================================================================
float       `model.generate`: float64 Euler-Maruyama, numpy noise (the reference)
fixed       `integer.generate_fixed`: the coupler's integer update, every chain at once, with
            the core's own Threefry noise (``noise="threefry"``, bit-exact with golden) or
            numpy Gaussians in the noise format (``noise="numpy"``, faster)
golden      `integer.generate_golden`: `tritherm.sim.golden.CouplerModel`, chain by chain
==========  ==================================================================================
"""

from __future__ import annotations

from collections.abc import Callable

from tritherm.errors import UserError

from . import integer, model as _model, quality

__all__ = ["BACKENDS", "sample", "evaluate_runs"]

BACKENDS = ("float", "fixed", "golden")


def sample(model: _model.GenerativeModel, digits=range(10), count: int = 100, seed: int = 0,
           backend: str = "float", noise: str = "threefry",
           progress: Callable[[int, int], None] | None = None) -> dict:
    """Generate `count` images of each digit in `digits` on `backend`; returns digit ->
    `model.Generated` (images, states, heat, seconds, and flags for fixed point)."""
    if backend not in BACKENDS:
        raise UserError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    digits = [_model.check_digit(d) for d in digits]
    if not digits:
        raise UserError("give at least one digit 0..9")
    runs = {}
    for k, d in enumerate(digits):
        if backend == "float":
            runs[d] = _model.generate(model, d, count, seed)
        elif backend == "fixed":
            runs[d] = integer.generate_fixed(model, d, count, seed, noise=noise)
        else:
            runs[d] = integer.generate_golden(model, d, count, seed)
        if progress is not None:
            progress(k + 1, len(digits))
    return runs


def evaluate_runs(runs: dict, name: str = "", thermal_test=None) -> quality.QualityReport:
    """The quality figures of `sample`'s runs (heat and time per image included)."""
    return quality.evaluate({d: g.images for d, g in runs.items()},
                            {d: g.heat for d, g in runs.items()},
                            {d: g.seconds for d, g in runs.items()}, name=name,
                            thermal_test=thermal_test)
