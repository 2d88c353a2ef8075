"""Train the float32 and the ternary network, export the integer model, write the file."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from tritherm.errors import UserError
from tritherm.files import output_path

from .data import load_split
from .integer import IntegerNetwork, default_model_path, export, save_model
from .model import EpochReport, TrainConfig, train

__all__ = ["EPOCHS", "TrainingResult", "train_command", "train_and_save"]

#: Epochs of the shipped model.
EPOCHS = TrainConfig.epochs


@dataclass(frozen=True)
class TrainingResult:
    """What `train_and_save` measured.

    Attributes
    ----------
    network : IntegerNetwork
        The exported integer model (as written to `path`).
    path : pathlib.Path
        The model file.
    float32_accuracy, ternary_accuracy, integer_accuracy : float
        Test accuracy of the float32 network, of the quantisation-aware network with its
        float scales, and of the integer model.
    seconds : float
        Wall time of both trainings and the export.
    """

    network: IntegerNetwork
    path: Path
    float32_accuracy: float
    ternary_accuracy: float
    integer_accuracy: float
    seconds: float


def train_command(seed: int, epochs: int = EPOCHS) -> str:
    """The command line that trains with `seed` and `epochs`, as the model file records it."""
    return f"tritherm apps digits train --seed {seed}" + \
        (f" --epochs {epochs}" if epochs != EPOCHS else "")


def train_and_save(seed: int = 1, epochs: int = EPOCHS, out=None,
                   progress: Callable[[EpochReport], None] | None = None,
                   command: str | None = None, config: TrainConfig | None = None,
                   ) -> TrainingResult:
    """Train both networks from `seed`, export the ternary one and save it to `out`.

    Parameters
    ----------
    seed : int
        Seeds both trainings (weights, batch order, shifts).
    epochs : int
        Epochs of each training (`EPOCHS` for the shipped model).
    out : path, optional
        The .npz model file; `default_model_path` by default. Checked before training.
    progress : callable, optional
        Called with an `EpochReport` after every epoch of the float32 run, then of the
        ternary run.
    command : str, optional
        The command line recorded in the file; `train_command` by default.
    config : TrainConfig, optional
        Other hyper-parameters (its ``epochs`` is replaced by `epochs`).
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise UserError(f"epochs must be a positive integer, got {epochs!r}")
    out = output_path(str(default_model_path() if out is None else out), "model file", (".npz",))
    config = replace(config or TrainConfig(), epochs=epochs)
    data = load_split()
    x_train, y_train, x_test, y_test = data
    start = time.perf_counter()
    reference = train(seed, quantized=False, config=config, progress=progress, data=data)
    model = train(seed, quantized=True, config=config, progress=progress, data=data)
    float32_accuracy = reference.accuracy(x_test, y_test)
    ternary_accuracy = model.accuracy(x_test, y_test)
    network = export(model)
    integer_accuracy = float(np.mean(network.predict(x_test) == y_test))
    network.metadata.update(
        command=command or train_command(seed, epochs), seed=seed, epochs=epochs,
        float32_test_accuracy=float32_accuracy, ternary_test_accuracy=ternary_accuracy,
        integer_test_accuracy=integer_accuracy)
    save_model(network, out)
    return TrainingResult(network, out, float32_accuracy, ternary_accuracy, integer_accuracy,
                          time.perf_counter() - start)
