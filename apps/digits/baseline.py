"""A conventional float baseline: scikit-learn's MLPClassifier on the same split."""

from __future__ import annotations

import warnings

import numpy as np

from tritherm.threads import one_blas_thread

from .data import GREY_LEVELS, load_split
from .model import HIDDEN

__all__ = ["float_baseline"]


def float_baseline(seed: int, hidden: tuple[int, ...] = HIDDEN, max_iter: int = 300,
                   data: tuple[np.ndarray, ...] | None = None) -> tuple[float, int]:
    """Train ``sklearn.neural_network.MLPClassifier`` (ReLU, Adam, biases) on the split.

    Inputs are ``p / 16``; the widths are the ternary network's (`HIDDEN`).

    Returns
    -------
    accuracy : float
        On the 360 test images, in [0, 1].
    weight_bytes : int
        Its weights and biases stored as float32.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_train, y_train, x_test, y_test = data if data is not None else load_split()
    scale = float(GREY_LEVELS - 1)
    classifier = MLPClassifier(hidden_layer_sizes=hidden, max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(x_train / scale, y_train)
    accuracy = float(classifier.score(x_test / scale, y_test))
    parameters = sum(a.size for a in classifier.coefs_) + sum(b.size for b in classifier.intercepts_)
    return accuracy, 4 * parameters
