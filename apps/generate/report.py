"""What the command and the benchmark report about generated digits, computed once.

Every backend's images are first made grey levels as `load_digits` has them (`grey_levels`:
integers 0..16, the form ``--save`` writes and the grid draws); on those:

- the quality figures of `quality.evaluate` (the independent float judge's recognised
  fraction, nearest-neighbour distances, diversity, heat per image in kT, time per image);
- the fraction the ternary classifier of `tritherm.apps.digits` (its golden integer model)
  recognises as the digit asked for.

(The hardware backends' agreement with golden on every sample word comes with their runs:
`sampling.golden_agreement`.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import quality

__all__ = ["Figures", "grey_levels", "figures", "figures_rows", "FIGURE_COLUMNS",
           "figures_json"]


def grey_levels(images) -> np.ndarray:
    """int64 grey levels 0..16 (the scale of `load_digits`) of float images in 0..16."""
    return np.clip(np.rint(np.asarray(images, dtype=float)), 0, 16).astype(np.int64)


@lru_cache(maxsize=1)
def _ternary_classifier():
    from tritherm.apps.digits import load_model
    return load_model()


@dataclass
class Figures:
    """The quality report of one run and the ternary classifier's recognised fractions
    (``ternary``: digit -> fraction, ``ternary_overall``)."""

    report: quality.QualityReport
    ternary: dict
    ternary_overall: float
    notes: dict = field(default_factory=dict)


def figures(runs: dict, name: str = "", thermal_test=None) -> Figures:
    """Figures of `runs` (digit -> `model.Generated`, from `sampling.sample` or a peer)."""
    images = {d: grey_levels(g.images) for d, g in runs.items()}
    heat = {d: g.heat for d, g in runs.items()}
    seconds = {d: g.seconds for d, g in runs.items()}
    report = quality.evaluate(images, heat, seconds, name=name, thermal_test=thermal_test)
    network = _ternary_classifier()
    hits = {d: network.predict(im) == d for d, im in images.items()}
    ternary = {d: float(h.mean()) for d, h in hits.items()}
    return Figures(report, ternary, float(np.concatenate(list(hits.values())).mean()))


#: The columns of `figures_rows`.
FIGURE_COLUMNS = ("digit", "n", "recognised", "(ternary)", "mirrored", "NN dist", "(test)",
                  "NN min", "diversity", "(data)", "heat/kT", "ms/image")


def _cell(value, fmt: str) -> str:
    return format(value, fmt) if np.isfinite(value) else "-"


def figures_rows(fig: Figures) -> list[tuple]:
    """A row per digit and one for all, in the order of `FIGURE_COLUMNS`."""
    def row(r, label, ternary):
        return (label, r.count, f"{r.recognised:.3f}", f"{ternary:.3f}", f"{r.mirrored:.3f}",
                f"{r.nn:.2f}", f"{r.test_nn:.2f}", f"{r.nn_min:.2f}", f"{r.diversity:.2f}",
                f"{r.data_diversity:.2f}", _cell(r.heat, ".1f"), _cell(1e3 * r.seconds, ".2f"))
    return ([row(r, str(r.digit), fig.ternary[r.digit]) for r in fig.report.rows]
            + [row(fig.report.overall, "all", fig.ternary_overall)])


def _figures_dict(r: quality.DigitFigures, ternary: float) -> dict:
    return {"digit": None if r.digit < 0 else r.digit, "count": r.count,
            "recognised": r.recognised, "recognised_ternary": ternary,
            "mirrored": r.mirrored, "nn": r.nn,
            "nn_min": r.nn_min, "test_nn": r.test_nn, "diversity": r.diversity,
            "data_diversity": r.data_diversity, "heat": r.heat, "seconds_per_image": r.seconds}


def figures_json(fig: Figures) -> dict:
    """The figures as JSON-ready dicts: ``digits`` (a dict per digit), ``overall``,
    ``classifier_accuracy`` (the float judge's on the test split)."""
    return {"digits": [_figures_dict(r, fig.ternary[r.digit]) for r in fig.report.rows],
            "overall": _figures_dict(fig.report.overall, fig.ternary_overall),
            "classifier_accuracy": fig.report.classifier_accuracy}
