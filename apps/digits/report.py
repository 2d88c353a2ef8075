"""Scoring the integer network: accuracy, confusion matrix and its plot, weight memory."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from tritherm.errors import UserError
from tritherm.files import output_path, write_bytes
from tritherm.formats import TRITS_PER_BYTE

from .data import CLASSES, check_images, check_labels
from .integer import IntegerNetwork, Matmul

__all__ = ["Evaluation", "evaluate", "confusion_matrix", "plot_confusion", "MemoryRow",
           "memory_table"]


@dataclass(frozen=True)
class Evaluation:
    """The integer network's answers on a set of images.

    Attributes
    ----------
    logits : numpy.ndarray
        int64 (n, 10).
    predictions : numpy.ndarray
        int64 (n,): the first largest logit.
    accuracy : float
        Fraction of predictions equal to the labels, in [0, 1].
    """

    logits: np.ndarray
    predictions: np.ndarray
    accuracy: float


def evaluate(network: IntegerNetwork, images, labels, matmul: Matmul | None = None) -> Evaluation:
    """Classify `images` (n, 64) with `network` and score them against `labels` (n,).

    `matmul` is passed to `IntegerNetwork.forward` (the golden product by default).
    Raises UserError for malformed images or labels.
    """
    images = check_images(images)
    labels = check_labels(labels, len(images))
    logits = network.forward(images, matmul)
    predictions = np.argmax(logits, axis=1).astype(np.int64)
    return Evaluation(logits, predictions, float(np.mean(predictions == labels)))


def confusion_matrix(y_true, y_pred, classes: int = CLASSES) -> np.ndarray:
    """int64 (classes, classes) counts: row = true digit, column = predicted digit."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be equal 1-D")
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def plot_confusion(path, confusion, images, y_true, y_pred, title: str | None = None,
                   max_errors: int = 24) -> None:
    """Write a PNG: the confusion matrix beside the misclassified digits.

    Each misclassified image (at most `max_errors`) is titled ``true -> predicted``. The
    file is complete or absent. Needs matplotlib (drawn with its Agg canvas).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError("plotting needs matplotlib: pip install matplotlib") from None
    path = output_path(str(path), "plot file", (".png",))
    confusion = np.asarray(confusion)
    images = np.asarray(images).reshape(-1, 8, 8)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)[:max_errors]
    columns = 6
    rows = max(1, -(-len(wrong) // columns))
    figure = Figure(figsize=(11, max(4.5, 1.3 * rows + 0.8)))
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(rows, 1 + columns, width_ratios=[columns * 0.9] + [1] * columns)
    axes = figure.add_subplot(grid[:, 0])
    axes.imshow(confusion, cmap="Blues")
    peak = confusion.max() if confusion.size else 0
    for (i, j), count in np.ndenumerate(confusion):
        if count:
            axes.text(j, i, str(count), ha="center", va="center", fontsize=8,
                      color="white" if count > peak / 2 else "black")
    axes.set_xticks(range(confusion.shape[1]))
    axes.set_yticks(range(confusion.shape[0]))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    accuracy = np.trace(confusion) / max(confusion.sum(), 1)
    axes.set_title(title or f"accuracy {100 * accuracy:.2f}% ({confusion.sum()} images)")
    for slot, index in enumerate(wrong):
        cell = figure.add_subplot(grid[slot // columns, 1 + slot % columns])
        cell.imshow(images[index], cmap="gray_r", vmin=0, vmax=16)
        cell.set_title(f"{y_true[index]} -> {y_pred[index]}", fontsize=9)
        cell.set_axis_off()
    figure.tight_layout(rect=(0, 0, 1, 0.94))
    figure.text(0.72, 0.97, "misclassified: true -> predicted" if len(wrong)
                else "no misclassified digits", ha="center", va="top")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_bytes(path, buffer.getvalue(), "plot file")


@dataclass(frozen=True)
class MemoryRow:
    """Weight memory of the whole network in one storage format."""

    format: str
    bits_per_weight: float
    bytes: int


def memory_table(network: IntegerNetwork) -> list[MemoryRow]:
    """The network's weights stored five trits a byte (1.6 bits), as int8 and as float32.

    The base-3 count is per layer, each padded to whole bytes, as `save_model` stores it.
    """
    count = network.weight_count
    base3 = sum(-(-layer.weights.size // TRITS_PER_BYTE) for layer in network.layers)
    return [MemoryRow("ternary, 5 trits a byte", 8 * base3 / count, base3),
            MemoryRow("int8", 8.0, count),
            MemoryRow("float32", 32.0, 4 * count)]
