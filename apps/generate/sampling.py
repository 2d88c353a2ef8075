"""Generation on every backend, for the command line: `sample` runs the float model, the
coupler's fixed-point arithmetic vectorised over chains, the golden coupler, the coupler's
RTL or the SoC, for the digits asked, and `evaluate_runs` turns the runs into the quality
figures.

==========  ==================================================================================
backend     what runs
==========  ==================================================================================
float       `model.generate`: float64 Euler-Maruyama, numpy noise (the reference)
fixed       `integer.generate_fixed`: the coupler's integer update, every chain at once, with
            the core's own Threefry noise (``noise="threefry"``, bit-exact with golden) or
            numpy Gaussians in the noise format (``noise="numpy"``, faster)
golden      `integer.generate_golden`: `tritherm.sim.golden.CouplerModel`, chain by chain
rtl         `hardware.generate_rtl`: the coupler's Verilog on Verilator (or Icarus), every
            sample word compared with golden
board       `hardware.generate_board`: the SoC over its serial protocol (a board, or
            ``port="sim"``: the SoC in Verilator), every sample word compared with golden
==========  ==================================================================================
"""

from __future__ import annotations

from collections.abc import Callable

from tritherm.errors import UserError

from . import hardware, integer, model as _model, quality

__all__ = ["BACKENDS", "sample", "golden_agreement", "evaluate_runs"]

BACKENDS = ("float", "fixed", "golden", "rtl", "board")


def sample(model: _model.GenerativeModel, digits=range(10), count: int = 100, seed: int = 0,
           backend: str = "float", noise: str = "threefry",
           progress: Callable[[int, int], None] | None = None,
           simulator: str = "verilator", port: str | None = None,
           board: str | None = None) -> dict:
    """Generate `count` images of each digit in `digits` on `backend`; returns digit ->
    `model.Generated` (images, states, heat, seconds, and flags for fixed point).

    ``rtl`` runs on `simulator` (``"verilator"`` or ``"icarus"``); ``board`` on `port`
    (``"sim"`` or a serial port; `board` names the board's generator SoC to expect). Both
    return `hardware.Checked` runs whose ``agreement`` counts the sample words that differ
    from golden's (`golden_agreement` sums them). `progress(done, total)` counts digits
    (chains on ``board``; ``rtl`` reports once, when its one simulator run is over).
    Bad input is a UserError."""
    if backend not in BACKENDS:
        raise UserError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    digits = [_model.check_digit(d) for d in digits]
    if not digits:
        raise UserError("give at least one digit 0..9")
    if backend == "rtl":
        runs = hardware.generate_rtl(model, digits, count, seed, simulator)
        if progress is not None:
            progress(len(digits), len(digits))
        return runs
    if backend == "board":
        if port is None:
            raise UserError("the board backend needs a port: a serial port, or 'sim' for "
                            "the simulated SoC")
        return hardware.generate_board(model, digits, count, seed, port, board,
                                       progress=progress)
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


def golden_agreement(runs: dict) -> hardware.Agreement | None:
    """All sample words of `sample`'s rtl or board runs against golden (``words``,
    ``mismatched``, ``first`` difference, ``exact``); None for the other backends."""
    parts = [getattr(g, "agreement", None) for g in runs.values()]
    if not parts or any(p is None for p in parts):
        return None
    total = hardware.Agreement(0, 0)
    for part in parts:
        total = total + part
    return total


def evaluate_runs(runs: dict, name: str = "", thermal_test=None) -> quality.QualityReport:
    """The quality figures of `sample`'s runs (heat and time per image included)."""
    return quality.evaluate({d: g.images for d, g in runs.items()},
                            {d: g.heat for d, g in runs.items()},
                            {d: g.seconds for d, g in runs.items()}, name=name,
                            thermal_test=thermal_test)
