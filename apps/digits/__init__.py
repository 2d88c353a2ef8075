"""Ternary digit classifier: scikit-learn's 8 x 8 digits on a BitNet b1.58 network.

A ``64 -> 256 -> 256 -> 10`` perceptron of ternary weights and int8 activations, trained
with quantisation awareness in numpy (`model`), exported to an integer-only golden model
whose matrix products can be handed to the RTL or a board (`integer`), scored and plotted
(`report`), beside the same network in float32 and scikit-learn's float MLP (`baseline`).

The shipped model (`default_model_path`) was written by
``tritherm apps digits train --seed 1`` (`train_and_save`).
"""

from .baseline import float_baseline
from .data import check_images, check_labels, load_split
from .integer import (IntegerLayer, IntegerNetwork, LayerTrace, default_model_path, export,
                      load_model, quantize_multiplier, quantize_pixels, requantize, save_model)
from .model import HIDDEN, EpochReport, TernaryMLP, TrainConfig, train
from .pipeline import EPOCHS, TrainingResult, train_and_save, train_command
from .report import Evaluation, MemoryRow, confusion_matrix, evaluate, memory_table, plot_confusion

__all__ = [
    "load_split", "check_images", "check_labels",
    "HIDDEN", "TrainConfig", "EpochReport", "TernaryMLP", "train",
    "IntegerLayer", "IntegerNetwork", "LayerTrace", "export", "quantize_multiplier",
    "requantize", "quantize_pixels", "save_model", "load_model", "default_model_path",
    "EPOCHS", "TrainingResult", "train_and_save", "train_command",
    "Evaluation", "evaluate", "confusion_matrix", "plot_confusion", "MemoryRow", "memory_table",
    "float_baseline",
]
