"""Figures of merit of generated digits, the same for every generator (model, fixed point, peer).

Per digit and overall:

- ``recognised``: the fraction an independent float classifier (`classifier`: scikit-learn's
  LogisticRegression on p / 16, trained on the training split, 96% on the test split) labels
  as the intended digit;
- ``nn``: the mean Euclidean distance (grey levels) of a generated image to its nearest
  training image, beside ``test_nn``, the test images' own distance to the training set,
  ``thermal_test_nn``, the same for the test images as a generator's readout sees data
  (for the model: held at equilibrium under their data force, thermal noise and all, and
  decoded), and ``nn_min``, the smallest (a copy of a training image would be about 0);
- ``mirrored``: the fraction that are a digit's negative (background lit, ink dark):
  correlated negatively with the mean training image of the digit asked (no test image
  is); the potential is even in x apart from the biases, so its mirror mode is a real
  failure the linear judge can still label as the digit;
- ``diversity``: the mean pairwise distance between the generated images of the digit,
  beside ``data_diversity``, the same over the digit's training images;
- ``heat``: the heat emitted per image in kT (for the thermodynamic generators);
- ``seconds``: time per image.

`write_grid_png` draws images as a PNG (a row per digit, ink dark), with no dependency
beyond zlib.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from tritherm.errors import UserError
from tritherm.files import write_bytes

__all__ = ["DigitFigures", "QualityReport", "classifier", "classifier_accuracy",
           "evaluate", "mirrored", "format_table", "write_grid_png", "nearest_distances",
           "mean_pairwise_distance"]

CLASSES = 10


@lru_cache(maxsize=1)
def _split():
    from tritherm.apps.digits.data import load_split
    return load_split()


@lru_cache(maxsize=1)
def classifier():
    """The independent judge: LogisticRegression on p / 16, fitted on the training split
    (deterministic; lbfgs)."""
    from sklearn.linear_model import LogisticRegression
    x_train, y_train, _, _ = _split()
    return LogisticRegression(max_iter=5000).fit(x_train / 16.0, y_train)


def classifier_accuracy() -> float:
    """The judge's accuracy on the test split."""
    _, _, x_test, y_test = _split()
    return float(classifier().score(x_test / 16.0, y_test))


def nearest_distances(images, reference) -> np.ndarray:
    """Euclidean distance of each row of `images` to its nearest row of `reference`."""
    a = np.asarray(images, dtype=float)
    b = np.asarray(reference, dtype=float)
    d2 = (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None, :]
    return np.sqrt(np.maximum(d2.min(axis=1), 0.0))


def mean_pairwise_distance(images) -> float:
    """Mean Euclidean distance over the distinct pairs of rows (nan for one row)."""
    a = np.asarray(images, dtype=float)
    if len(a) < 2:
        return float("nan")
    d2 = (a * a).sum(1)[:, None] - 2 * a @ a.T + (a * a).sum(1)[None, :]
    iu = np.triu_indices(len(a), 1)
    return float(np.sqrt(np.maximum(d2[iu], 0.0)).mean())


@lru_cache(maxsize=1)
def _templates() -> np.ndarray:
    """The mean training image of each digit, (10, 64)."""
    x_train, y_train, _, _ = _split()
    return np.stack([x_train[y_train == d].mean(0) for d in range(CLASSES)])


def mirrored(images, digit: int) -> np.ndarray:
    """Per image (rows of 64 grey levels), whether it is a negative of `digit`: its
    Pearson correlation with the digit's mean training image is below zero."""
    a = np.asarray(images, dtype=float)
    a = a - a.mean(axis=1, keepdims=True)
    t = _templates()[digit]
    t = t - t.mean()
    return a @ t < 0


@lru_cache(maxsize=1)
def _references():
    x_train, y_train, x_test, y_test = _split()
    test_nn = nearest_distances(x_test, x_train)
    rows = {}
    for d in range(CLASSES):
        rows[d] = (float(test_nn[y_test == d].mean()),
                   mean_pairwise_distance(x_train[y_train == d]))
    data_div = float(np.mean([rows[d][1] for d in range(CLASSES)]))
    return rows, float(test_nn.mean()), data_div


@dataclass
class DigitFigures:
    """The figures of one digit (``digit`` -1: all of them)."""

    digit: int
    count: int
    recognised: float
    nn: float
    nn_min: float
    test_nn: float
    diversity: float
    data_diversity: float
    heat: float = float("nan")
    seconds: float = float("nan")
    thermal_test_nn: float = float("nan")
    mirrored: float = float("nan")

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class QualityReport:
    """Per-digit rows and the overall row; ``classifier_accuracy`` on the test split."""

    name: str
    rows: list[DigitFigures]
    overall: DigitFigures
    classifier_accuracy: float
    notes: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "classifier_accuracy": self.classifier_accuracy,
                "digits": [r.as_dict() for r in self.rows], "overall": self.overall.as_dict(),
                "notes": dict(self.notes)}


def evaluate(images: dict, heat: dict | None = None, seconds: dict | None = None,
             name: str = "", thermal_test: tuple | None = None) -> QualityReport:
    """Figures of generated images.

    Parameters
    ----------
    images : dict
        digit -> (count, 64) grey levels (floats in 0..16 allowed).
    heat : dict, optional
        digit -> (count,) heat emitted per image, in kT.
    seconds : dict, optional
        digit -> seconds spent generating that digit's images.
    thermal_test : tuple, optional
        ``(images, labels)``: the test images as the generator's readout sees data (for
        the model, `tritherm.apps.generate.model.thermal_images`: thermal noise and all);
        their nearest-neighbour distance is the column ``(thermal)``.
    """
    if not images:
        raise UserError("no images to evaluate: give at least one digit")
    x_train, _, _, _ = _split()
    judge = classifier()
    refs, test_nn_all, data_div_all = _references()
    thermal = None
    if thermal_test is not None:
        t_images, t_labels = (np.asarray(a) for a in thermal_test)
        thermal = (nearest_distances(t_images, x_train), t_labels)
    rows = []
    all_rec, all_nn, all_mirrored, heats, times, counts = [], [], [], [], [], []
    for d in sorted(images):
        im = np.asarray(images[d], dtype=float)
        if im.ndim != 2 or im.shape[1] != 64 or len(im) == 0:
            raise UserError(f"images of digit {d} must have shape (n, 64) with n >= 1, "
                            f"got {im.shape}")
        rec = judge.predict(im / 16.0) == d
        mirror = mirrored(im, d)
        nn = nearest_distances(im, x_train)
        q = np.asarray(heat[d], dtype=float) if heat and d in heat else None
        s = float(seconds[d]) / len(im) if seconds and d in seconds else float("nan")
        rows.append(DigitFigures(int(d), len(im), float(rec.mean()), float(nn.mean()),
                                 float(nn.min()), refs[d][0], mean_pairwise_distance(im),
                                 refs[d][1], float(q.mean()) if q is not None else float("nan"),
                                 s, float(thermal[0][thermal[1] == d].mean())
                                 if thermal is not None else float("nan"),
                                 float(mirror.mean())))
        all_rec.append(rec)
        all_mirrored.append(mirror)
        all_nn.append(nn)
        counts.append(len(im))
        if q is not None:
            heats.append(q)
        if seconds and d in seconds:
            times.append(float(seconds[d]))
    rec, nn = np.concatenate(all_rec), np.concatenate(all_nn)
    overall = DigitFigures(
        -1, int(sum(counts)), float(rec.mean()), float(nn.mean()), float(nn.min()),
        test_nn_all if len(rows) == CLASSES else float(np.mean([r.test_nn for r in rows])),
        float(np.mean([r.diversity for r in rows])),
        data_div_all if len(rows) == CLASSES else float(np.mean([r.data_diversity
                                                                  for r in rows])),
        float(np.concatenate(heats).mean()) if heats else float("nan"),
        float(sum(times)) / sum(counts) if times and len(times) == len(rows) else float("nan"),
        float(thermal[0][np.isin(thermal[1], sorted(images))].mean())
        if thermal is not None else float("nan"),
        float(np.concatenate(all_mirrored).mean()))
    return QualityReport(name, rows, overall, classifier_accuracy())


def format_table(report: QualityReport) -> str:
    """The report as a text table, a row per digit and one for all."""
    head = (f"{'digit':>5} {'n':>5} {'recognised':>10} {'mirrored':>8} {'NN dist':>8} "
            f"{'(test)':>7} "
            f"{'(thermal)':>9} "
            f"{'NN min':>7} {'diversity':>9} {'(data)':>7} {'heat/kT':>9} {'ms/image':>9}")
    lines = []
    if report.name:
        lines.append(report.name)
    lines.append(head)

    def fmt(r: DigitFigures, label: str) -> str:
        heat = f"{r.heat:9.1f}" if np.isfinite(r.heat) else f"{'-':>9}"
        ms = f"{1e3 * r.seconds:9.2f}" if np.isfinite(r.seconds) else f"{'-':>9}"
        thermal = f"{r.thermal_test_nn:9.2f}" if np.isfinite(r.thermal_test_nn) else f"{'-':>9}"
        return (f"{label:>5} {r.count:5d} {r.recognised:10.3f} {r.mirrored:8.3f} {r.nn:8.2f} "
                f"{r.test_nn:7.2f} "
                f"{thermal} "
                f"{r.nn_min:7.2f} {r.diversity:9.2f} {r.data_diversity:7.2f} {heat} {ms}")
    for r in report.rows:
        lines.append(fmt(r, str(r.digit)))
    lines.append(fmt(report.overall, "all"))
    lines.append(f"judge: LogisticRegression, {report.classifier_accuracy:.3f} on the test "
                 f"split; distances in grey levels (0..16 a pixel)")
    return "\n".join(lines)


def _png(pixels: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of `pixels` (height, width) uint8."""
    height, width = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def write_grid_png(rows, path, scale: int = 4, gap: int = 2) -> Path:
    """Write images as a PNG grid, one row of the grid per entry of `rows` (a sequence of
    (k, 64) grey-level arrays, e.g. one per digit), ink dark on white; each pixel drawn as
    `scale` x `scale`, `gap` white pixels between images. Complete or not written."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"the grid file must end in .png, got {path}")
    if not path.parent.is_dir():
        raise UserError(f"cannot write {path}: {path.parent} is not a directory")
    rows = [np.asarray(r, dtype=float).reshape(-1, 64) for r in rows]
    if not rows or max(len(r) for r in rows) == 0:
        raise UserError("no images to draw")
    if not (isinstance(scale, int) and 1 <= scale <= 64 and isinstance(gap, int)
            and 0 <= gap <= 64):
        raise UserError("scale must be 1..64 and gap 0..64 pixels")
    cols = max(len(r) for r in rows)
    cell = 8 * scale + gap
    canvas = np.full((len(rows) * cell + gap, cols * cell + gap), 255, dtype=np.uint8)
    for i, r in enumerate(rows):
        for j, image in enumerate(r):
            tile = 255 - np.round(np.clip(image, 0, 16) * 255 / 16).astype(np.uint8)
            tile = np.kron(tile.reshape(8, 8), np.ones((scale, scale), dtype=np.uint8))
            y, x = gap + i * cell, gap + j * cell
            canvas[y:y + 8 * scale, x:x + 8 * scale] = tile
    write_bytes(path, _png(canvas), "grid file")
    return path
