"""A multilayer perceptron of BitLinear layers (BitNet b1.58), trained in numpy.

The network is ``64 -> 256 -> 256 -> 10`` (`HIDDEN`), ReLU between layers, no biases and no
normalisation (BitNet's BitLinear has no biases; its RMSNorm would need a division at run
time). With ``quantized=True`` every layer computes in its forward pass what the integer model
of `tritherm.apps.digits.integer` computes, up to the float rounding of its scales:

- weights, per matrix (absmean): ``alpha = max(mean|W|, 1e-5)``,
  ``Wq = clip(round(W / alpha), -1, 1)``, used as ``Wq * alpha``;
- activations (absmax, int8, round half to even):
  ``xq = clip(round(x * s), -128, 127)``, used as ``xq / s``, with one scale ``s`` per layer
  instead of BitNet's one per token, so that the integer model can fold it into a constant
  multiplier. The input layer's scale is fixed: pixels are grey levels 0..16, the network
  sees ``x = p / 16`` and ``s = 127`` (`INPUT_SCALE`), so ``xq = round(p * 127 / 16)``. A hidden
  layer's scale is ``127 / m`` with ``m`` a running average (momentum `TrainConfig.momentum`)
  of the largest activation of each training batch; it is frozen when training ends.

The gradient passes through both quantisers unchanged (the straight-through estimator, as
``x + (q(x) - x).detach()`` in BitNet's code) onto a float32 master copy of the weights,
updated by Adam with a cosine learning-rate decay. With ``quantized=False`` the same network
is trained in plain float32: the reference the ternary network is compared with.

Everything is deterministic from the seed (weights, batch order, shifts). Training runs
its float32 BLAS products on one thread (threadpoolctl, which scikit-learn installs): the
matrices are small, so more threads only wait for each other, and the sums come out the
same whatever the machine's thread count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tritherm.threads import one_blas_thread

from .data import CLASSES, GREY_LEVELS, PIXELS, load_split

__all__ = ["HIDDEN", "INPUT_SCALE", "INPUT_FULL_SCALE", "TrainConfig", "EpochReport", "TernaryMLP",
           "train", "quantize_weights", "quantize_activations", "shift_images"]

#: Widths of the hidden layers.
HIDDEN = (256, 256)
#: The input layer's activation scale: ``x = p / 16`` is quantised as ``round(x * 127)``.
INPUT_SCALE = 127.0
#: Full scale of the input, the largest grey level.
INPUT_FULL_SCALE = GREY_LEVELS - 1
_EPS = 1e-5


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run.

    Parameters
    ----------
    epochs : int
        Passes over the 1,437 training images.
    hidden : tuple of int
        Widths of the hidden layers.
    batch_size : int
        Images per Adam step.
    learning_rate : float
        Adam's initial step size, decayed to zero along a cosine.
    momentum : float
        Momentum of the running maximum that sets each hidden layer's activation scale.
    shift : bool
        Move each training image by a random offset of -1, 0 or +1 pixel in each direction
        (blank pixels fill the edge) every time it is used.
    """

    epochs: int = 200
    hidden: tuple[int, ...] = HIDDEN
    batch_size: int = 32
    learning_rate: float = 2e-3
    momentum: float = 0.9
    shift: bool = True


@dataclass(frozen=True)
class EpochReport:
    """What the progress callback receives after each epoch.

    Attributes
    ----------
    model : str
        ``"float32"`` or ``"ternary"``.
    epoch, epochs : int
        This epoch (1-based) and the number of epochs.
    loss : float
        Mean training cross-entropy over the epoch.
    test_accuracy : float
        Accuracy on the test split at the end of the epoch, in [0, 1].
    seconds : float
        Time since training started.
    """

    model: str
    epoch: int
    epochs: int
    loss: float
    test_accuracy: float
    seconds: float


def quantize_weights(weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Absmean ternary weights: ``(Wq as int8, alpha)`` with ``W ~ Wq * alpha``."""
    alpha = max(float(np.mean(np.abs(weights))), _EPS)
    return np.clip(np.round(weights / alpha), -1, 1).astype(np.int8), alpha


def quantize_activations(x: np.ndarray, scale: float) -> np.ndarray:
    """Int8 activations ``clip(round(x * scale), -128, 127)`` (round half to even), as int8."""
    return np.clip(np.round(x * scale), -128, 127).astype(np.int8)


@dataclass
class TernaryMLP:
    """The network: float32 master weights and, when quantised, the activation scales.

    Attributes
    ----------
    weights : list of numpy.ndarray
        float32 (N, K) matrices, input layer first.
    quantized : bool
        Ternary weights and int8 activations in the forward pass, or plain float32.
    activation_max : list of float
        Running maximum of each layer's input (1.0 for the input ``p / 16``).
    """

    weights: list[np.ndarray]
    quantized: bool
    activation_max: list[float] = field(default_factory=list)

    @classmethod
    def initial(cls, sizes: tuple[int, ...], quantized: bool, rng: np.random.Generator):
        """He-initialised weights for layer widths `sizes` (input first)."""
        weights = []
        for k, n in zip(sizes[:-1], sizes[1:]):
            gain = 2.0 if n != sizes[-1] else 1.0
            weights.append((rng.standard_normal((n, k)) * math.sqrt(gain / k))
                           .astype(np.float32))
        return cls(weights, quantized, [1.0] + [0.0] * (len(weights) - 1))

    def activation_scales(self) -> list[float]:
        """Each layer's activation scale ``s``: ``127 / max`` (``INPUT_SCALE`` for the input)."""
        return [127.0 / max(m, _EPS) for m in self.activation_max]

    def weight_scales(self) -> list[float]:
        """Each layer's absmean weight scale ``alpha``."""
        return [quantize_weights(w)[1] for w in self.weights]

    def _forward(self, pixels: np.ndarray, momentum: float | None = None):
        x = np.asarray(pixels, dtype=np.float32) / INPUT_FULL_SCALE
        cache = []
        for index, w in enumerate(self.weights):
            if self.quantized:
                if momentum is not None and index > 0:
                    peak = float(x.max())
                    old = self.activation_max[index]
                    self.activation_max[index] = peak if old == 0.0 else \
                        momentum * old + (1.0 - momentum) * peak
                scale = 127.0 / max(self.activation_max[index], _EPS)
                x = quantize_activations(x, scale).astype(np.float32) / np.float32(scale)
                wq, alpha = quantize_weights(w)
                w = wq.astype(np.float32) * np.float32(alpha)
            z = x @ w.T
            cache.append((x, w, z))
            if index < len(self.weights) - 1:
                x = np.maximum(z, 0.0)
        return z, cache

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        """float32 (B, 10) logits of grey-level images (B, 64)."""
        return self._forward(pixels)[0]

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        """Predicted digits (B,)."""
        return np.argmax(self.logits(pixels), axis=1)

    def accuracy(self, pixels: np.ndarray, labels: np.ndarray) -> float:
        """Fraction of `pixels` classified as `labels`."""
        return float(np.mean(self.predict(pixels) == labels))

    def loss_and_gradients(self, pixels, labels, momentum: float | None = None):
        """Mean cross-entropy of a batch and its gradients on the master weights.

        The quantisers are passed straight through: the gradient of ``Wq * alpha`` is taken
        as the gradient of ``W``, that of ``xq / s`` as that of ``x``.
        """
        z, cache = self._forward(pixels, momentum)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        batch = len(labels)
        loss = -float(log_p[np.arange(batch), labels].mean())
        dz = np.exp(log_p)
        dz[np.arange(batch), labels] -= 1.0
        dz /= batch
        grads = [None] * len(self.weights)
        for index in range(len(self.weights) - 1, -1, -1):
            x, w, _ = cache[index]
            grads[index] = dz.T @ x
            if index:
                dz = (dz @ w) * (cache[index - 1][2] > 0)
        return loss, grads


def shift_images(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each (n, 64) image moved by -1, 0 or +1 pixel (random) in each direction, zero-filled."""
    n = len(images)
    padded = np.zeros((n, 10, 10), dtype=images.dtype)
    padded[:, 1:9, 1:9] = images.reshape(n, 8, 8)
    dy, dx = rng.integers(0, 3, size=(2, n))
    rows = dy[:, None] + np.arange(8)[None, :]
    cols = dx[:, None] + np.arange(8)[None, :]
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return out.reshape(n, PIXELS)


class _Adam:
    def __init__(self, params, beta1=0.9, beta2=0.999, eps=1e-8):
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.beta1, self.beta2, self.eps, self.t = beta1, beta2, eps, 0

    def step(self, params, grads, lr):
        self.t += 1
        c1, c2 = 1 - self.beta1 ** self.t, 1 - self.beta2 ** self.t
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            p -= (lr * (m / c1) / (np.sqrt(v / c2) + self.eps)).astype(p.dtype)


def train(seed: int, quantized: bool = True, config: TrainConfig = TrainConfig(),
          progress: Callable[[EpochReport], None] | None = None,
          data: tuple[np.ndarray, ...] | None = None) -> TernaryMLP:
    """Train the network on the fixed split, deterministically from `seed`.

    Parameters
    ----------
    seed : int
        Seeds the initial weights, the batch order and the shifts.
    quantized : bool
        Ternary weights and int8 activations (quantisation-aware), or plain float32.
    config : TrainConfig
        Epochs, widths, batch size, learning rate.
    progress : callable, optional
        Called with an `EpochReport` after each epoch.
    data : tuple, optional
        ``(x_train, y_train, x_test, y_test)``; `load_split` by default.

    Returns
    -------
    TernaryMLP
        The trained network, its activation scales frozen.
    """
    x_train, y_train, x_test, y_test = data if data is not None else load_split()
    with one_blas_thread():
        return _train(seed, quantized, config, progress, x_train, y_train, x_test, y_test)


def _train(seed, quantized, config, progress, x_train, y_train, x_test, y_test):
    rng = np.random.default_rng(seed)
    model = TernaryMLP.initial((PIXELS, *config.hidden, CLASSES), quantized, rng)
    adam = _Adam(model.weights)
    steps_per_epoch = -(-len(y_train) // config.batch_size)
    total = config.epochs * steps_per_epoch
    start = time.perf_counter()
    step = 0
    name = "ternary" if quantized else "float32"
    for epoch in range(1, config.epochs + 1):
        order = rng.permutation(len(y_train))
        images = shift_images(x_train, rng) if config.shift else x_train
        losses = []
        for first in range(0, len(order), config.batch_size):
            batch = order[first:first + config.batch_size]
            loss, grads = model.loss_and_gradients(images[batch], y_train[batch],
                                                   config.momentum)
            lr = config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * step / total))
            adam.step(model.weights, grads, lr)
            losses.append(loss * len(batch))
            step += 1
        if progress is not None:
            progress(EpochReport(name, epoch, config.epochs, sum(losses) / len(y_train),
                                 model.accuracy(x_test, y_test), time.perf_counter() - start))
    return model
