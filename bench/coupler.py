"""Benchmark: the coupler (cells, multipliers, noise) placed and routed beside a ternary
array, its steps per second, and the accuracy of its inverse against the discrete target.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out
from tritherm.boards.catalog import FAMILY_DEVICES, format_table
from tritherm.boards.synth import DEVICE_CAPACITY, resource_estimate, run_yosys
from tritherm.hdl.noise import shaper_core
from tritherm.hdl.ternary import TernaryArray
from tritherm.hdl.thermo import Coupler

from tritherm import toolchain
from tritherm.formats import (
    COUPLER_MAX_CELLS,
    TernaryArrayShape,
    coupler_cycles_per_step,
)

from .placement import PlacedResources, place_cached, resource_cells
from .ternary import ROWS_PER_ARRAY

__all__ = ["COUPLER_CELLS", "COUPLER_SHAPER", "PAIR_ARRAYS", "TAU_STEPS", "ACCURACY_SAMPLES",
           "QUICK_ACCURACY_SAMPLES", "ACCURACY_TARGET", "STEPS_TARGET", "spd_test_matrix",
           "coupler_multipliers", "NOISE_CONFIGS", "coupler_noise", "coupler_cycles",
           "coupler_tau", "CouplerBenchRow", "COUPLER_HEADER", "coupler_bench_table",
           "CouplerWithArray", "AccuracyRow", "ACCURACY_HEADER", "discrete_inverse_target",
           "inverse_accuracy", "bench_coupler", "pair_verdict", "accuracy_verdict"]

COUPLER_CELLS = (8, 16, 64)
#: The coupler's noise shaper (its default): it takes the part's DSPs beside the core's.
COUPLER_SHAPER = "icdf"
#: Ternary arrays tried beside the 8-cell coupler on the iCE40UP5K, largest first.
PAIR_ARRAYS = ((6, 10), (4, 10), (4, 5), (2, 5))
#: Steps of the golden model from which tau_int is measured.
TAU_STEPS = 200_000
#: Samples of the `inverse` accuracy rows, and the issue's targets.
ACCURACY_SAMPLES = (10 ** 4, 10 ** 5, 10 ** 6)
QUICK_ACCURACY_SAMPLES = (10 ** 4, 10 ** 5)
ACCURACY_TARGET = 0.02
STEPS_TARGET = 1e6


def spd_test_matrix(cells: int = 8, cond: float = 10.0, seed: int = 1) -> np.ndarray:
    """The fixed test matrix: ``Q diag(geomspace(1, cond, cells)) Q^T`` (symmetrised), Q
    from the QR decomposition of a `seed` Gaussian ``cells x cells`` matrix. For 8 cells
    it is the README's A8 (condition number 10, seed 1)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(cells, cells)))
    A = q @ np.diag(np.geomspace(1, cond, cells)) @ q.T
    return (A + A.T) / 2


def coupler_multipliers(cells: int, dsp_budget: int, shaper_dsps: int) -> int:
    """The most A x multipliers (a power of two dividing `cells`, at most `cells`) with
    which the coupler's DSPs (`Coupler.dsp_count`) plus the shaper's fit `dsp_budget`;
    1 when none does (the row then says it does not fit)."""
    best, m = 1, 1
    while m <= cells and cells % m == 0:
        if _coupler(cells, m).dsp_count + shaper_dsps <= dsp_budget:
            best = m
        m *= 2
    return best


#: Threefry configurations (unroll, pipelined) tried for the coupler's noise: the smallest
#: core (iterative, 4 rounds a cycle: `bench noise`), else the pipelined one, which keeps up
#: with any schedule at the highest Fmax. More rounds a cycle would keep up too, but their
#: longer round chain sets the Fmax: 8 cells on 8 multipliers on the LFE5U-85F placed at
#: 19.2 MHz with 10 rounds a cycle against 37.0 MHz with 4.
NOISE_CONFIGS = ((4, False), (1, True))


def _coupler(cells: int, multipliers: int, noise_unroll: int = 4,
             noise_pipelined: bool = False) -> Coupler:
    """A `Coupler` with `COUPLER_SHAPER` noise, asked for its properties only."""
    core = Coupler(cells, multipliers, COUPLER_SHAPER, noise_unroll=noise_unroll,
                   noise_pipelined=noise_pipelined)
    core._MustUse__silence = True       # elaborated, if at all, by a fresh instance
    return core


def coupler_noise(cells: int, multipliers: int) -> tuple[int, bool]:
    """The smallest `NOISE_CONFIGS` entry (Threefry unroll, pipelined) whose noise beats
    keep up with the A x schedule (`Coupler.noise_cycles_per_step` at most
    `coupler_cycles_per_step`), or the fastest when none does."""
    need = coupler_cycles_per_step(cells, multipliers)
    for unroll, pipelined in NOISE_CONFIGS:
        if _coupler(cells, multipliers, unroll, pipelined).noise_cycles_per_step <= need:
            return unroll, pipelined
    return NOISE_CONFIGS[-1]


def coupler_cycles(cells: int, multipliers: int, noise_unroll: int = 4,
                   noise_pipelined: bool = False, thin: int = 1) -> float:
    """Mean clock cycles per step (linear case, samples taken at once, one every `thin`
    steps): the larger of `tritherm.formats.coupler_cycles_per_step` and the noise
    source's pace `Coupler.noise_cycles_per_step`. tests/test_coupler_amaranth.py measures
    both against the RTL."""
    with_sample = coupler_cycles_per_step(cells, multipliers, sample=True)
    without = coupler_cycles_per_step(cells, multipliers, sample=False)
    schedule = (with_sample + (thin - 1) * without) / thin
    return max(schedule,
               _coupler(cells, multipliers, noise_unroll, noise_pipelined).noise_cycles_per_step)


def coupler_tau(cells: int, steps: int = TAU_STEPS, seed: int = 1) -> float:
    """Integrated autocorrelation time, in steps, of the golden coupler on the linalg
    configuration of `spd_test_matrix(cells)` (underdamped, THIN = 1, after burn-in): the
    largest of the cells' tau_int of x."""
    from tritherm.sim.golden import integrated_autocorrelation_time
    from tritherm.sim.linalg import _run_golden, prepare
    plan = prepare(spd_test_matrix(cells), seed=seed, thin=1)
    raw = _run_golden(plan, steps, None)
    if raw.flags.any():
        raise ValueError(f"the {cells}-cell tau configuration saturated; lower its kT")
    return float(np.max(integrated_autocorrelation_time(raw.x[-steps:])))


@dataclass
class CouplerBenchRow(PlacedResources):
    """One coupler (with, for the target row, a ternary array beside it) on one part."""

    family: str
    cells: int
    multipliers: int
    tau_steps: float | None = None
    array: tuple[int, int] | None = None
    noise_unroll: int = 4
    noise_pipelined: bool = False

    @property
    def noise(self) -> str:
        """The noise source's Threefry, as a table cell."""
        return "pipelined" if self.noise_pipelined else f"{self.noise_unroll} rounds/cycle"

    @property
    def design(self) -> str:
        name = f"coupler {self.cells}"
        return name if self.array is None else f"{name} + ternary {self.array[0]}x{self.array[1]}"

    @property
    def cycles(self) -> float:
        return coupler_cycles(self.cells, self.multipliers, self.noise_unroll,
                              self.noise_pipelined)

    @property
    def steps_per_s(self) -> float | None:
        """Coupler steps per second at Fmax: ``Fmax / cycles``."""
        return None if self.fmax_mhz is None else self.fmax_mhz * 1e6 / self.cycles

    @property
    def independent_per_s(self) -> float | None:
        """Independent samples per second at Fmax: ``steps_per_s / tau_int``."""
        if self.steps_per_s is None or self.tau_steps is None:
            return None
        return self.steps_per_s / max(self.tau_steps, 1.0)

    def table_cells(self) -> tuple[str, ...]:
        """The row as table cells."""
        dash = "-"
        logic, ram, dsp, fmax = resource_cells(self)
        if self.logic_fraction is not None and self.logic is not None:
            logic = f"{self.logic} ({100 * self.logic_fraction:.0f}%)"
        return (FAMILY_DEVICES[self.family][0], self.design, str(self.multipliers),
                self.noise, logic,
                dash if self.ff is None else str(self.ff), dsp, ram, fmax,
                f"{self.cycles:g}",
                dash if self.steps_per_s is None else f"{self.steps_per_s / 1e6:.3f}",
                dash if self.tau_steps is None else f"{self.tau_steps:.1f}",
                dash if self.independent_per_s is None else f"{self.independent_per_s / 1e3:.1f}",
                self.note)


COUPLER_HEADER = ("part", "design", "mult", "noise", "logic", "FF", "DSP", "RAM", "Fmax MHz",
                  "cycles/step", "Msteps/s", "tau_int steps", "indep. ksamples/s", "note")


def coupler_bench_table(rows: list[CouplerBenchRow]) -> str:
    """The coupler benchmark rows as a printable table."""
    return format_table(COUPLER_HEADER, [row.table_cells() for row in rows])


class CouplerWithArray(wiring.Component):
    """A coupler and a ternary array side by side in one design, each with its own ports
    (``coupler``, ``array``), for the target row: both cores on one part."""

    def __init__(self, coupler: wiring.Component, array: wiring.Component):
        self._coupler, self._array = coupler, array
        super().__init__({"coupler": Out(coupler.signature), "array": Out(array.signature)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.coupler, m.submodules.array = self._coupler, self._array
        wiring.connect(m, wiring.flipped(self.coupler), self._coupler)
        wiring.connect(m, wiring.flipped(self.array), self._array)
        return m



@dataclass
class AccuracyRow:
    """`inverse` of the test matrix from `samples` golden-model samples."""

    samples: int
    error_discrete: float     # relative Frobenius error vs the exact discrete target
    error_numpy: float        # ... vs numpy.linalg.inv
    standard_error: float     # relative (Frobenius) standard error
    tau_samples: float        # largest tau_int of x, in samples
    seconds: float

    def cells(self) -> tuple[str, ...]:
        return (f"{self.samples:.0e}".replace("e+0", "e"), f"{100 * self.error_discrete:.2f}%",
                f"{100 * self.error_numpy:.2f}%", f"{100 * self.standard_error:.2f}%",
                f"{self.tau_samples:.1f}", f"{self.seconds:.1f}")


ACCURACY_HEADER = ("samples", "error vs discrete target", "error vs numpy inv",
                   "standard error", "tau_int (samples)", "seconds")


def discrete_inverse_target(result) -> np.ndarray:
    """What `inverse` estimates exactly: the discrete chain's stationary x-covariance of
    its quantised program (`discrete_stationary_covariance`), un-scaled like the estimate."""
    from tritherm.sim.golden import discrete_stationary_covariance
    d = len(result.estimate)
    return discrete_stationary_covariance(result.program)[:d, :d] / (result.kT * result.scale)


def inverse_accuracy(samples=ACCURACY_SAMPLES, cells: int = 8, seed: int = 1,
                     out=print) -> list[AccuracyRow]:
    """`tritherm.sim.linalg.inverse` of `spd_test_matrix(cells)` (golden backend, `seed`)
    at each sample count: errors against the exact discrete target and numpy, the standard
    error and the wall time."""
    from tritherm.sim.linalg import inverse
    A = spd_test_matrix(cells)
    rows = []
    for n in samples:
        out(f"inverse of the {cells}x{cells} test matrix, {n} samples (golden model)...")
        result = inverse(A, n, backend="golden", seed=seed)
        target = discrete_inverse_target(result)
        rows.append(AccuracyRow(
            n, float(np.linalg.norm(result.estimate - target) / np.linalg.norm(target)),
            result.relative_error,
            float(np.linalg.norm(result.standard_error) / np.linalg.norm(result.exact)),
            float(np.max(result.tau)), result.seconds))
        out("  " + ", ".join(f"{h} {c}" for h, c in zip(ACCURACY_HEADER[1:], rows[-1].cells()[1:])))
    return rows


def _check_cells(cells) -> tuple[int, ...]:
    cells = tuple(cells)
    for n in cells:
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= COUPLER_MAX_CELLS:
            raise ValueError(f"--cells takes whole numbers from 2 to {COUPLER_MAX_CELLS}, "
                             f"got {n!r}")
    return cells


def _shaper_dsps(family: str, build_dir: Path) -> int:
    """DSP blocks yosys gives the coupler's noise shaper on `family`."""
    cells = run_yosys(shaper_core(COUPLER_SHAPER), family, build_dir / f"{family}-shaper")
    return resource_estimate(cells, family)["dsp"]


def bench_coupler(families=("ice40", "ecp5"), cells=COUPLER_CELLS, quick: bool = False,
                  accuracy: bool = True, pair: bool = True, cache: bool = True, out=print,
                  build_dir: str | Path = "build/bench-coupler"
                  ) -> tuple[list[CouplerBenchRow], list[AccuracyRow]]:
    """Place and route the coupler; rate it; measure `inverse`'s accuracy; print tables.

    For each family and cell count the coupler (`COUPLER_SHAPER` noise, as many A x
    multipliers as the part's DSPs allow: `coupler_multipliers`, the smallest Threefry that
    keeps up: `coupler_noise`) goes in a `Harness` through yosys and nextpnr (results
    cached: `placement_key`). Steps per second are ``Fmax / coupler_cycles(...)`` (a
    sample every step), independent samples per second that over tau_int (`coupler_tau`,
    golden model). With `pair`, the 8-cell
    coupler and the largest `PAIR_ARRAYS` ternary array that fits go on the iCE40UP5K
    together (the issue's target row). With `accuracy`, `inverse_accuracy` runs at
    `ACCURACY_SAMPLES` (`QUICK_ACCURACY_SAMPLES` when `quick`, which also keeps only the
    first cell count).

    Returns the placement rows and the accuracy rows.
    """
    start = time.monotonic()
    toolchain.setup()
    build_dir = Path(build_dir)
    cells = _check_cells(cells)[:1] if quick else _check_cells(cells)
    for family in families:
        if family not in FAMILY_DEVICES:
            raise ValueError(f"family must be one of {', '.join(FAMILY_DEVICES)}, "
                             f"got {family!r}")
    taus = {}
    rows = []
    for family in families:
        device = FAMILY_DEVICES[family][0]
        shaper_dsps = _shaper_dsps(family, build_dir)
        for n in cells:
            if n not in taus:
                out(f"tau_int of the {n}-cell coupler (golden model, {TAU_STEPS} steps)...")
                taus[n] = coupler_tau(n)
            m = coupler_multipliers(n, DEVICE_CAPACITY[device]["dsp"], shaper_dsps)
            unroll, pipelined = coupler_noise(n, m)
            row = CouplerBenchRow(family, n, m, taus[n], noise_unroll=unroll,
                                  noise_pipelined=pipelined)
            out(f"{device}: coupler {n} cells, {m} multipliers, noise {row.noise}...")
            rows.append(place_cached(row, lambda n=n, m=m, u=unroll, p=pipelined:
                                      Coupler(n, m, COUPLER_SHAPER, noise_unroll=u,
                                              noise_pipelined=p),
                                      build_dir / f"{family}-coupler{n}-m{m}-{'p' if pipelined else 'i'}{unroll}",
                                      cache=cache, out=out))
            out("  " + " ".join(c for c in row.table_cells()[3:] if c != "-"))
    if pair and "ice40" in families:
        alone = [r for r in rows if r.family == "ice40" and r.cells == 8]
        # When the coupler alone does not fit, only the smallest array is tried beside it.
        smallest = quick or bool(alone and alone[0].fmax_mhz is None)
        rows.append(_bench_pair(shaper_dsps=_shaper_dsps("ice40", build_dir),
                                smallest=smallest, tau=taus.get(8) or coupler_tau(8),
                                cache=cache, out=out, build_dir=build_dir))
    out(coupler_bench_table(rows))
    if pair and "ice40" in families:
        out(pair_verdict(rows[-1]))
    accuracy_rows = []
    if accuracy:
        accuracy_rows = inverse_accuracy(QUICK_ACCURACY_SAMPLES if quick else ACCURACY_SAMPLES,
                                         out=out)
        out(format_table(ACCURACY_HEADER, [r.cells() for r in accuracy_rows]))
        out(accuracy_verdict(accuracy_rows))
    out(f"bench coupler took {time.monotonic() - start:.0f} s")
    return rows, accuracy_rows


def _bench_pair(shaper_dsps: int, smallest: bool, tau: float, cache: bool, out,
                build_dir: Path) -> CouplerBenchRow:
    """The 8-cell coupler beside the largest `PAIR_ARRAYS` ternary array that fits the
    iCE40UP5K (only the smallest with `smallest`); the last row tried when none fits."""
    family, n = "ice40", 8
    m = coupler_multipliers(n, DEVICE_CAPACITY[FAMILY_DEVICES[family][0]]["dsp"], shaper_dsps)
    unroll, pipelined = coupler_noise(n, m)
    row = None
    for lanes, inputs in PAIR_ARRAYS[-1:] if smallest else PAIR_ARRAYS:
        out(f"iCE40UP5K: coupler {n} cells, {m} multipliers + ternary {lanes}x{inputs}...")
        row = CouplerBenchRow(family, n, m, tau, array=(lanes, inputs), noise_unroll=unroll,
                              noise_pipelined=pipelined)

        def build(lanes=lanes, inputs=inputs):
            shape = TernaryArrayShape(lanes, inputs, ROWS_PER_ARRAY * inputs)
            return CouplerWithArray(Coupler(n, m, COUPLER_SHAPER, noise_unroll=unroll,
                                            noise_pipelined=pipelined), TernaryArray(shape))

        place_cached(row, build, build_dir / f"{family}-pair-m{m}-i{unroll}-{lanes}x{inputs}",
                      cache=cache, out=out)
        out("  " + " ".join(c for c in row.table_cells()[3:] if c != "-"))
        if row.fmax_mhz is not None:
            break
    return row


def pair_verdict(row: CouplerBenchRow) -> str:
    """One sentence: is the issue's target (8 cells beside a ternary array on the
    iCE40UP5K, at least `STEPS_TARGET` steps/s at Fmax) met?"""
    if row.steps_per_s is None:
        return (f"Target NOT met: the 8-cell coupler and a {row.design.split('+ ')[-1]} "
                f"array do not fit the iCE40UP5K together "
                f"({row.note.removeprefix('does not fit (').rstrip(')')}).")
    met = row.steps_per_s >= STEPS_TARGET
    return (f"Target {'met' if met else 'NOT met'}: {row.design} on the iCE40UP5K runs "
            f"{row.steps_per_s / 1e6:.3f} M steps/s at {row.fmax_mhz:.1f} MHz "
            f"({row.cycles:g} cycles/step; target {STEPS_TARGET / 1e6:g} M).")


def accuracy_verdict(rows: list[AccuracyRow]) -> str:
    """One sentence: is the issue's accuracy target (`ACCURACY_TARGET` relative Frobenius
    error against the exact discrete target after 10^6 samples) met?"""
    final = [r for r in rows if r.samples >= ACCURACY_SAMPLES[-1]]
    if not final:
        return (f"Accuracy target not measured (it needs {ACCURACY_SAMPLES[-1]:.0e} samples; "
                f"the largest run had {max((r.samples for r in rows), default=0)}).")
    r = final[0]
    met = r.error_discrete <= ACCURACY_TARGET
    return (f"Accuracy target {'met' if met else 'NOT met'}: {100 * r.error_discrete:.2f}% "
            f"against the exact discrete target after {r.samples} samples "
            f"(target {100 * ACCURACY_TARGET:g}%).")


# --- time to solution: the SoC's moments against the stream, the golden model, thermox ----

#: Relative Frobenius errors of A^-1 the time-to-solution table asks for.
SOLUTION_ERRORS = (0.01, 0.001)
#: Samples of the golden run that calibrates how many samples each error needs.
SOLUTION_CALIBRATION = 20_000
#: Samples per thermox run that calibrates its error (three keys).
THERMOX_CALIBRATION = 100_000
#: thermox holds every sample: runs of more values than this are not made.
THERMOX_MAX_VALUES = 12 * 10 ** 7
#: The SoCs of the table: the ULX3S-85F's (moments on chip) and the iCEBreaker's (stream).
SOLUTION_BOARDS = ("ulx3s-85f", "icebreaker")
SOLUTION_HEADER = ("cells", "error", "method", "samples", "seconds", "how")


@dataclass
class SolutionRow:
    """One way to reach a relative Frobenius error of A^-1 on `spd_test_matrix(cells)`."""

    cells: int
    error: float
    method: str
    samples: int
    seconds: float | None
    how: str

    def cells_(self) -> tuple[str, ...]:
        return (str(self.cells), f"{100 * self.error:g}%", self.method, f"{self.samples:,}",
                "-" if self.seconds is None else f"{self.seconds:.3g}", self.how)

    def figures(self) -> dict:
        return {"cells": self.cells, "error": self.error, "method": self.method,
                "samples": self.samples, "seconds": self.seconds, "how": self.how}


def soc_cycles_per_step(config, program, samples=(8, 24)) -> float:
    """Clock cycles per coupler step of `config`'s SoC running `program` with the moments
    on chip (the stream when the SoC has none), measured on `SocCore` in the Amaranth
    simulator (every answer checked against the golden `SocModel`): the slope between two
    runs of ``samples`` samples, so the command's and the answers' bytes cancel (the
    byte-level link moves a SAMPLE frame in fewer cycles than a sample's THIN steps take,
    so the stream's frames are hidden behind the steps).""" 
    from tritherm.sim.verify import soc_vectors as sv
    thin = max(1, program.thin)
    cycles = []
    for k in samples:
        run = (sv.Run(k * thin, block=0xFFFF) if config.moments else sv.Run(k * thin))
        cycles.append(sv.run_amaranth(config, sv.configure(program.writes()) + [run])["cycles"])
    return (cycles[1] - cycles[0]) / ((samples[1] - samples[0]) * thin)


def link_bytes(config, plan, n: int, moments: bool, compact: bool = False) -> tuple[int, int]:
    """(bytes to the device, bytes from it) of a linalg run of n samples on `config`'s SoC:
    the program's COUPLER_WRITE frames and their answers, then with `moments` the burn-in
    and main COUPLER_MOMENTS runs (command, OK, MOMENTS frames, RUN_DONE), with `compact`
    one COUPLER_STREAM (SAMPLES frames, the last one padded) and the saturation registers
    read after it, else one COUPLER_RUN and a SAMPLE frame per sample."""
    from tritherm.firmware.protocol import (CRC_BYTES, HEADER_BYTES, max_coupler_writes,
                                            moments_payload_bytes, sample_payload_bytes,
                                            stream_payload_bytes, stream_samples_per_frame)
    from tritherm.sim.linalg import moment_block
    frame = HEADER_BYTES + CRC_BYTES
    writes = len(plan.program.writes())
    frames = -(-writes // max_coupler_writes())
    sent, got = writes * 6 + frames * frame, frames * (frame + 1)
    done = frame + 9
    if moments:
        block = frame + moments_payload_bytes(config.cells)
        burn = plan.burn_in // plan.thin
        runs = (2 if plan.burn_in else 1)
        sent += runs * (frame + 6)
        got += runs * (frame + 1 + done)
        got += ((-(-burn // 0xFFFF) if plan.burn_in else 0) + -(-n // moment_block(n))) * block
    elif compact:
        sent += frame + 4 + frame + 2                   # COUPLER_STREAM, READ_REGS
        got += frame + 1 + done + frame + 1 + 8
        samples = plan.burn_in // plan.thin + n
        got += (-(-samples // stream_samples_per_frame(config.cells))
                * (frame + stream_payload_bytes(config.cells)))
    else:
        sent += frame + 4
        got += frame + 1 + done
        got += (plan.burn_in // plan.thin + n) * (frame + sample_payload_bytes(config.cells))
    return sent, got


def link_seconds(config, plan, n: int, moments: bool, compact: bool = False) -> float:
    """Seconds on the serial link at ``config.baud`` (ten bits a byte) for `link_bytes`."""
    return 10 * sum(link_bytes(config, plan, n, moments, compact)) / config.baud


def _thermox_rows(A, errors, cells: int, out) -> list[SolutionRow]:
    """thermox.linalg.inv at the samples each error needs (from the RMS error of three
    keys at THERMOX_CALIBRATION samples): wall time with JIT compilation (the first call
    at that size) and without (the second)."""
    try:
        import jax
        import thermox
    except ImportError:
        return [SolutionRow(cells, e, "thermox (CPU)", 0, None,
                            "not installed: pip install 'tritherm[bench]'") for e in errors]
    exact = np.linalg.inv(A)
    A_j = jax.numpy.asarray(A)

    def rel(n, key):
        got = np.asarray(thermox.linalg.inv(A_j, n, key=jax.random.PRNGKey(key)))
        return float(np.linalg.norm(got - exact) / np.linalg.norm(exact))

    out(f"thermox: calibrating on {THERMOX_CALIBRATION} samples...")
    rms = float(np.sqrt(np.mean([rel(THERMOX_CALIBRATION, key) ** 2 for key in range(3)])))
    rows = []
    for error in errors:
        n = math.ceil(THERMOX_CALIBRATION * (rms / error) ** 2)
        if n * len(A) > THERMOX_MAX_VALUES:
            rows.append(SolutionRow(cells, error, "thermox (CPU)", n, None,
                                    f"not run: {n:,} x {len(A)} samples held at once"))
            continue
        times = []
        for attempt in range(2):
            start = time.perf_counter()
            got = rel(n, 10 + attempt)
            times.append(time.perf_counter() - start)
        rows.append(SolutionRow(cells, error, "thermox (CPU), JIT included", n, times[0],
                                f"measured, error {100 * got:.3g}%"))
        rows.append(SolutionRow(cells, error, "thermox (CPU), compiled", n, times[1],
                                "measured (second call)"))
    return rows


def time_to_solution(cells=(8,), errors=SOLUTION_ERRORS, boards=SOLUTION_BOARDS, seed=1,
                     thermox: bool = True, out=print) -> list[SolutionRow]:
    """Time to each relative Frobenius error of A^-1 on `spd_test_matrix(cells)`
    (condition number 10): each board's SoC at its design clock (RTL cycles per step from
    `soc_cycles_per_step`, plus the link's bytes at its baud, `link_seconds`) with the
    moments on chip where it has them and with today's stream (SAMPLE frames at 1 Mbaud);
    the golden model (wall time, measured at the first error, scaled by samples beyond);
    thermox. The samples an error needs come from a golden run's batch-means standard
    error at `SOLUTION_CALIBRATION` samples (it falls as 1 / sqrt(n))."""
    from tritherm.boards.catalog import get_board
    from tritherm.firmware.config import DEFAULT_BAUD
    from tritherm.sim.linalg import MAX_SAMPLES, inverse, prepare
    rows = []
    for d in cells:
        A = spd_test_matrix(d)
        out(f"{d} cells: calibrating on {SOLUTION_CALIBRATION} golden samples...")
        cal = inverse(A, SOLUTION_CALIBRATION, seed=seed, moments=True)
        rse = float(np.linalg.norm(cal.standard_error) / np.linalg.norm(cal.exact))
        need = {e: math.ceil(SOLUTION_CALIBRATION * (rse / e) ** 2) for e in errors}
        golden_rate, measured = cal.seconds / SOLUTION_CALIBRATION, False
        for e in errors:
            n = need[e]
            if n <= MAX_SAMPLES and not measured:
                out(f"{d} cells: golden model, {n} samples...")
                r = inverse(A, n, seed=seed, moments=True)
                golden_rate, measured = r.seconds / n, True
                rows.append(SolutionRow(d, e, "golden model (numpy)", n, r.seconds,
                                        f"measured, error {100 * r.relative_error:.3g}%"))
            else:
                rows.append(SolutionRow(d, e, "golden model (numpy)", n, golden_rate * n,
                                        "extrapolated (seconds a sample of the run above)"
                                        if measured else "extrapolated from the calibration"))
        for name in boards:
            board = get_board(name)
            config, label = board.soc, name
            if config.cells < d:
                if board.family != "ecp5":
                    continue
                # No catalog SoC holds this many cells: the board's SoC with a d-cell
                # coupler on 16 multipliers (as `bench coupler` places it), not built.
                config = config.with_(cells=d, multipliers=min(16, d))
                label = f"{name} SoC with {d} cells (not built)"
            else:
                label = f"{name} SoC"
            plan = prepare(A, seed=seed, shaper=config.shaper, n=need[errors[0]])
            out(f"{d} cells on the {name} SoC: cycles per step on the RTL...")
            cps = soc_cycles_per_step(config, plan.program)
            for e in errors:
                n = need[e]
                compute = (plan.burn_in + n * plan.thin) * cps / config.clock_hz
                if config.moments:
                    link = link_seconds(config, plan, n, True)
                    rows.append(SolutionRow(
                        d, e, f"{label}, moments on chip", n, compute + link,
                        f"{cps:.3g} cycles/step at {config.clock_hz / 1e6:g} MHz "
                        f"({compute:.3g} s) + link at {config.baud / 1e6:g} Mbaud "
                        f"({link:.3g} s)"))
                for baud, how, compact in ((config.baud, "compact stream", True),
                                           (config.baud, "stream", False),
                                           (DEFAULT_BAUD, "today's stream", False)):
                    if (how == "today's stream" and baud == config.baud
                            or compact and not config.stream):
                        continue
                    link = link_seconds(config.with_(baud=baud), plan, n, False, compact)
                    rows.append(SolutionRow(
                        d, e, f"{label}, {how} at {baud / 1e6:g} Mbaud", n,
                        max(compute, link), f"the larger of compute ({compute:.3g} s) and "
                                            f"link ({link:.3g} s)"))
        if thermox:
            rows += _thermox_rows(A, errors, d, out)
    return rows


def solution_table(rows: list[SolutionRow]) -> str:
    return format_table(SOLUTION_HEADER, [r.cells_() for r in rows])
