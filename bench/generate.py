"""Benchmark: the generative model (`tritherm.apps.generate`), its quality beside the peer,
its time per image on every backend, and its quality against the hidden-unit count.

Quality: the shipped model in float and in the coupler's fixed point (Threefry noise: bit
for bit the golden coupler's images), scikit-learn's BernoulliRBM (`peer`) trained on the
same split, and for scale the test split itself (as it is, and as the model's readout sees
data: held under its data force for t_f, thermal noise and all); every generator's images
judged as grey levels 0..16 (`report.figures`). Time per image: every backend
`sampling.BACKENDS` offers (or those asked), a few images on the slow ones, and the SoC at
its design clock from the RTL's cycles (`hardware.throughput`). Hidden units: models
trained with the same seed and epochs as the shipped one, judged on the float backend.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["QualityRow", "TimingRow", "HiddenRow", "quality_rows", "timing_rows",
           "hidden_rows", "bench_generate", "default_backends", "DEFAULT_HIDDEN_SWEEP", "DEFAULT_COUNT",
           "SLOW_IMAGES"]

#: Hidden-unit counts of the sweep, images per digit of the quality table, and images
#: (digit, count) that time the slow backends.
DEFAULT_HIDDEN_SWEEP = (32, 64, 128, 256)
DEFAULT_COUNT = 50
SLOW_IMAGES = {"golden": (range(10), 1), "rtl": ((0,), 1), "board": ((0,), 1)}


@dataclass
class QualityRow:
    """One generator's figures over all ten digits (`report.figures`' overall row)."""

    generator: str
    images: int
    recognised: float
    recognised_ternary: float
    mirrored: float
    nn: float
    nn_min: float
    test_nn: float
    diversity: float
    data_diversity: float
    heat: float
    seconds_per_image: float
    note: str = ""


@dataclass
class TimingRow:
    """Time per image on one backend; ``agreement`` with golden for rtl and board."""

    backend: str
    images: int
    seconds_per_image: float
    agreement: float | None = None
    note: str = ""


@dataclass
class HiddenRow:
    """A model trained with `hidden` hidden units, judged on the float backend."""

    hidden: int
    cells: int
    train_seconds: float
    recognised: float
    recognised_ternary: float
    mirrored: float
    nn: float
    nn_min: float
    diversity: float
    heat: float
    note: str = ""


def _row(name: str, fig, note: str = "") -> QualityRow:
    r = fig.report.overall
    return QualityRow(name, r.count, r.recognised, fig.ternary_overall, r.mirrored, r.nn,
                      r.nn_min, r.test_nn, r.diversity, r.data_diversity, r.heat, r.seconds, note)


def _data_runs(images, labels) -> dict:
    """The test split as runs of a generator that took no time and emitted no heat."""
    from tritherm.apps.generate.model import Generated
    runs = {}
    for d in range(10):
        im = images[labels == d]
        nothing = np.zeros((len(im), 0))
        runs[d] = Generated(d, im, nothing, nothing, np.full(len(im), np.nan), float("nan"))
    return runs


def quality_rows(model, count: int = DEFAULT_COUNT, seed: int = 1, out=print
                 ) -> tuple[list[QualityRow], dict]:
    """The quality table's rows, and the runs of the model's backends (for timing)."""
    from tritherm.apps.digits import load_split
    from tritherm.apps.generate import report, sampling
    from tritherm.apps.generate.model import thermal_images
    from tritherm.apps.generate.peer import sample_peer, train_peer
    _, _, x_test, y_test = load_split()
    rows, runs = [], {}
    out("the test split, as it is and as the model's readout sees it ...")
    thermal = thermal_images(model, x_test, seed)
    rows.append(_row("test split (data)", report.figures(_data_runs(x_test, y_test)),
                     "the judges' accuracy; NN: distance to the training split"))
    rows.append(_row("test split, thermal readout", report.figures(_data_runs(thermal, y_test)),
                     "held under its data force for t_f, then decoded"))
    for backend, name, note in (
            ("float", "thermodynamic model, float", "float64 Euler-Maruyama, numpy noise"),
            ("fixed", "thermodynamic model, fixed point",
             "the coupler's integers and Threefry noise: golden's images bit for bit")):
        out(f"{count} images of each digit on {backend} ...")
        runs[backend] = sampling.sample(model, range(10), count, seed, backend)
        rows.append(_row(name, report.figures(runs[backend]), note))
    out("scikit-learn BernoulliRBM: training (128 hidden, 100 epochs) ...")
    peer = train_peer(seed, hidden=128)
    out(f"{count} images of each digit by Gibbs sampling (1,000 sweeps) ...")
    peer_runs = {d: sample_peer(peer, d, count, seed) for d in range(10)}
    rows.append(_row("BernoulliRBM peer (128 hidden)", report.figures(peer_runs),
                     f"label units clamped; trained in {peer.meta['train_seconds']:.0f} s"))
    return rows, runs


def timing_rows(model, backends, runs: dict, seed: int = 1, port: str = "sim",
                out=print) -> list[TimingRow]:
    """Time per image on each of `backends` (the runs of `quality_rows` where there are
    some; `SLOW_IMAGES` otherwise), and each generator SoC (`GENERATOR_SOCS`) at its design
    clock from RTL cycles."""
    from tritherm.apps.generate import hardware, sampling
    rows = []
    for backend in backends:
        agreement, note = None, ""
        if backend in runs:
            done = runs[backend]
        else:
            digits, count = SLOW_IMAGES.get(backend, (range(10), 1))
            digits = list(digits)
            out(f"{count * len(digits)} image(s) on {backend} ...")
            options = {"port": port} if backend == "board" else {}
            done = sampling.sample(model, digits, count, seed, backend, **options)
            check = sampling.golden_agreement(done)
            if check is not None:
                agreement = 1 - check.mismatched / check.words if check.words else 0.0
            note = {"golden": "tritherm.sim.golden.CouplerModel, one chain after another",
                    "rtl": "Verilator, the simulator's wall time (build cached)",
                    "board": f"--port {port}: the SoC's Verilog in Verilator"
                             }.get(backend, "")
        images = sum(len(g.images) for g in done.values())
        seconds = sum(g.seconds for g in done.values())
        rows.append(TimingRow(backend, images, seconds / images, agreement, note))
    from tritherm.boards.catalog import GENERATOR_SOCS
    for board, soc in GENERATOR_SOCS.items():
        figures = hardware.throughput(model, clock_hz=soc.clock_hz, baud=soc.baud,
                                      multipliers=soc.multipliers)
        rows.append(TimingRow(
            f"{board} generator SoC at {soc.clock_hz / 1e6:g} MHz, {soc.baud / 1e6:g} Mbaud",
            1, figures["seconds_per_image"], None,
            f"the coupler {figures['core_seconds']:.3f} s ({figures['cycles_per_step']:,} "
            f"cycles a step on the RTL x {figures['steps_per_image']:,} steps) + the link "
            f"{figures['link_seconds']:.2f} s ({figures['link_bytes_per_image']:,} bytes)"))
    return rows


def _trained(hidden: int, seed: int, shipped, out):
    """A model of `hidden` hidden units trained as the shipped one was (the shipped model
    itself when it is that model), and whether it was trained here."""
    from tritherm.apps.generate.model import TrainConfig, train
    config = TrainConfig(hidden=hidden)
    if shipped.config == config and shipped.seed == seed:
        return shipped, False
    out(f"training {hidden} hidden units, seed {seed}, {config.epochs} epochs ...")
    return train(seed, config), True


def hidden_rows(hidden=DEFAULT_HIDDEN_SWEEP, seed: int = 1, count: int = DEFAULT_COUNT,
                out=print) -> list[HiddenRow]:
    """Quality against the hidden-unit count (float backend, `count` images a digit)."""
    from tritherm.apps.generate import load_model, report, sampling
    shipped = load_model()
    rows = []
    for h in hidden:
        model, trained = _trained(h, seed, shipped, out)
        out(f"{count} images of each digit from {model.cells} units (float) ...")
        fig = report.figures(sampling.sample(model, range(10), count, seed, "float"))
        r = fig.report.overall
        rows.append(HiddenRow(h, model.cells, model.meta["train_seconds"], r.recognised,
                              fig.ternary_overall, r.mirrored, r.nn, r.nn_min, r.diversity,
                              r.heat,
                              "" if trained else "the shipped model (seconds as recorded)"))
    return rows


def _f(value, fmt):
    return "-" if value is None or not np.isfinite(value) else format(value, fmt)


def default_backends() -> tuple[str, ...]:
    """Every backend of `sampling.BACKENDS` (board on ``--port sim``: the SoC's Verilog in
    Verilator, serial link and all)."""
    from tritherm.apps.generate import sampling
    return tuple(sampling.BACKENDS)


def bench_generate(backends=None, hidden=DEFAULT_HIDDEN_SWEEP, count: int = DEFAULT_COUNT,
                   seed: int = 1, out=print):
    """Print the three tables; return (quality rows, timing rows, hidden rows). Everything
    runs on one BLAS thread, as training does (the products are small; OpenBLAS's threads
    on a busy machine made float generation 13 times slower)."""
    from tritherm.threads import one_blas_thread
    with one_blas_thread():
        return _bench(default_backends() if backends is None else tuple(backends), hidden,
                      count, seed, out)


def _bench(backends, hidden, count, seed, out):
    from tritherm.apps.generate import load_model
    from tritherm.boards.catalog import format_table
    model = load_model()
    start = time.perf_counter()
    quality, runs = quality_rows(model, count, seed, out)
    out(format_table(
        ("generator", "images", "recognised", "(ternary)", "mirrored", "NN dist", "NN min",
         "(test NN)", "diversity", "(data)", "heat/kT", "ms/image", "note"),
        [(r.generator, r.images, _f(r.recognised, ".3f"), _f(r.recognised_ternary, ".3f"),
          _f(r.mirrored, ".3f"),
          _f(r.nn, ".2f"), _f(r.nn_min, ".2f"), _f(r.test_nn, ".2f"), _f(r.diversity, ".2f"),
          _f(r.data_diversity, ".2f"), _f(r.heat, ".1f"), _f(1e3 * r.seconds_per_image, ".2f"),
          r.note) for r in quality]))
    timing = timing_rows(model, backends, runs, seed, out=out)
    out(format_table(("backend", "images", "s/image", "words equal to golden", "note"),
                     [(r.backend, r.images, _f(r.seconds_per_image, ".4g"),
                       "-" if r.agreement is None else f"{100 * r.agreement:.2f}%", r.note)
                      for r in timing]))
    sweep = hidden_rows(hidden, seed, count, out) if hidden else []
    if sweep:
        out(format_table(("hidden", "cells", "train s", "recognised", "(ternary)", "mirrored",
                          "NN dist", "NN min", "diversity", "heat/kT", "note"),
                         [(r.hidden, r.cells, f"{r.train_seconds:.0f}",
                           f"{r.recognised:.3f}", f"{r.recognised_ternary:.3f}",
                           f"{r.mirrored:.3f}",
                           f"{r.nn:.2f}", f"{r.nn_min:.2f}", f"{r.diversity:.2f}",
                           f"{r.heat:.1f}", r.note) for r in sweep]))
    out(f"seed {seed}, {count} images of each digit; {time.perf_counter() - start:.0f} s")
    return quality, timing, sweep
