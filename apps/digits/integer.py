"""The golden integer model of the digit classifier, its export and its model file.

Inference uses integers only; every constant is computed from the float scales at export:

1. pixels ``p`` (grey levels 0..16) become int8 ``x = requantize(p, 127, 4)``, which is
   ``round(p * 127 / 16)``: 0..127;
2. each layer's product ``acc = W @ x`` is exact (``W`` ternary (N, K), ``x`` int8): the
   `matmul` given to `IntegerNetwork.forward`, by default the golden
   `tritherm.sim.golden.ternary_matmul`;
3. a hidden layer's accumulators become the next layer's int8 activations by
   ``x' = max(requantize(acc, m, shift), 0)`` (ReLU in integers);
4. the output layer's accumulators are the logits (int64); the prediction is their argmax
   (the first of equal maxima).

``requantize(acc, m, shift) = saturate(round(acc * m / 2**shift))``: an exact integer
product, a right shift by `shift` that rounds half to even (as numpy's and BitNet's
``round``), then saturation to [-128, 127]. The multiplier is an unsigned integer of
`MULTIPLIER_BITS` bits with its top bit set (``2**14 <= m < 2**15``), approximating the
real multiplier ``alpha * s_next / s`` (weight scale, next and this layer's activation
scales) to a relative error of at most ``2**-15``.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tritherm.sim.golden import pack_base3, ternary_matmul, unpack_base3

from tritherm.errors import UserError
from tritherm.files import write_bytes

from .data import check_images
from .model import INPUT_FULL_SCALE, INPUT_SCALE, TernaryMLP, quantize_weights

__all__ = ["MULTIPLIER_BITS", "MAX_SHIFT", "INPUT_MULTIPLIER", "INPUT_SHIFT", "FORMAT",
           "quantize_multiplier", "requantize", "quantize_pixels", "IntegerLayer",
           "LayerTrace", "IntegerNetwork", "export", "save_model", "load_model",
           "default_model_path"]

#: Bits of a requantisation multiplier: ``2**(MULTIPLIER_BITS-1) <= m < 2**MULTIPLIER_BITS``.
MULTIPLIER_BITS = 15
#: Largest right shift (``acc * m`` stays below 2**62 for any ``|acc| < 2**47``).
MAX_SHIFT = 62
_ACC_LIMIT = 1 << 47
#: The pixel quantiser: ``round(p * 127 / 16)`` = ``requantize(p, 127, 4)``.
INPUT_MULTIPLIER, INPUT_SHIFT = 127, 4
assert INPUT_MULTIPLIER / 2 ** INPUT_SHIFT == INPUT_SCALE / INPUT_FULL_SCALE
#: The model file's format tag.
FORMAT = "tritherm.apps.digits.integer/1"


def quantize_multiplier(real: float) -> tuple[int, int]:
    """The integers ``(m, shift)`` with ``m / 2**shift`` nearest to `real` (> 0).

    ``2**14 <= m < 2**15``; raises ValueError if `shift` would leave [0, MAX_SHIFT].
    """
    if not (math.isfinite(real) and real > 0):
        raise ValueError(f"a requantisation multiplier must be positive and finite, got {real}")
    fraction, exponent = math.frexp(real)                  # real = fraction * 2**exponent
    m = round(fraction * (1 << MULTIPLIER_BITS))
    if m == 1 << MULTIPLIER_BITS:
        m, exponent = m >> 1, exponent + 1
    shift = MULTIPLIER_BITS - exponent
    if not 0 <= shift <= MAX_SHIFT:
        raise ValueError(f"multiplier {real} needs a shift of {shift}, outside [0, {MAX_SHIFT}]")
    return m, shift


def requantize(acc, multiplier: int, shift: int) -> np.ndarray:
    """int8 ``saturate(round_half_even(acc * multiplier / 2**shift))``, in integers only.

    Parameters
    ----------
    acc : array_like of int
        Accumulators, ``|acc| < 2**47``.
    multiplier : int
        In [0, 2**MULTIPLIER_BITS).
    shift : int
        In [0, MAX_SHIFT].
    """
    acc = np.asarray(acc)
    if acc.dtype.kind not in "iu":
        raise ValueError(f"accumulators must be integers, got dtype {acc.dtype}")
    acc = acc.astype(np.int64)
    if not 0 <= multiplier < 1 << MULTIPLIER_BITS or not 0 <= shift <= MAX_SHIFT:
        raise ValueError(f"multiplier {multiplier} or shift {shift} out of range")
    outside = (acc >= _ACC_LIMIT) | (acc <= -_ACC_LIMIT)
    if outside.any():
        raise ValueError(f"accumulator {acc[outside][0]} is outside the requantiser's "
                         f"range (magnitude < 2**47)")
    return np.clip(_scale(acc, multiplier, shift), -128, 127).astype(np.int8)


def _scale(acc: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """int64 ``round_half_even(acc * multiplier / 2**shift)``, before saturation."""
    product = acc * np.int64(multiplier)
    if shift == 0:
        return product
    floor = product >> shift                               # arithmetic: rounds down
    rest = product - (floor << shift)                      # in [0, 2**shift)
    half = np.int64(1) << (shift - 1)
    return floor + ((rest > half) | ((rest == half) & ((floor & 1) == 1)))


def quantize_pixels(images) -> np.ndarray:
    """int8 (n, 64) activations of grey-level images: ``round(p * 127 / 16)``, 0..127."""
    return requantize(check_images(images), INPUT_MULTIPLIER, INPUT_SHIFT)


@dataclass(frozen=True)
class IntegerLayer:
    """One layer of the integer model.

    Attributes
    ----------
    weights : numpy.ndarray
        Ternary int8 (N, K).
    multiplier, shift : int or None
        The requantisation to the next layer's int8 activations; None for the output layer,
        whose accumulators are the logits.
    """

    weights: np.ndarray
    multiplier: int | None
    shift: int | None

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.weights.shape)


@dataclass(frozen=True)
class LayerTrace:
    """What one layer saw and produced.

    Attributes
    ----------
    activations : numpy.ndarray
        Its int8 (B, K) input.
    accumulators : numpy.ndarray
        Its int64 (B, N) products.
    saturated : int
        How many of the next layer's activations were clipped at 127 by the requantisation
        (0 for the output layer); the flag a saturating core would raise.
    """

    activations: np.ndarray
    accumulators: np.ndarray
    saturated: int = 0


Matmul = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class IntegerNetwork:
    """The integer-only classifier.

    Attributes
    ----------
    layers : list of IntegerLayer
        Input layer first.
    weight_scales, activation_scales : list of float
        Each layer's absmean weight scale and input activation scale (documentation only:
        inference does not use them).
    metadata : dict
        What the model file records: command, seed, epochs, test accuracies.
    """

    layers: list[IntegerLayer]
    weight_scales: list[float]
    activation_scales: list[float]
    metadata: dict = field(default_factory=dict)

    def trace(self, images, matmul: Matmul | None = None) -> list[LayerTrace]:
        """Run the network and return every layer's int8 input and accumulators.

        Parameters
        ----------
        images : array_like
            (B, 64) grey levels 0..16 (checked; a UserError names what is wrong).
        matmul : callable, optional
            ``matmul(weights_nk, activations_bk) -> (B, N)`` integer exact product;
            `tritherm.sim.golden.ternary_matmul` by default. Pass the RTL or the board.
        """
        matmul = ternary_matmul if matmul is None else matmul
        x = quantize_pixels(images)
        traces = []
        for layer in self.layers:
            acc = np.asarray(matmul(layer.weights, x))
            if acc.shape != (x.shape[0], layer.shape[0]) or acc.dtype.kind not in "iu":
                raise ValueError(f"matmul returned {acc.dtype} {acc.shape}, expected integers "
                                 f"of shape {(x.shape[0], layer.shape[0])}")
            acc = acc.astype(np.int64)
            trace = LayerTrace(x, acc)
            if layer.multiplier is not None:
                requantized = requantize(acc, layer.multiplier, layer.shift)
                scaled = _scale(acc, layer.multiplier, layer.shift)
                trace = LayerTrace(x, acc, int(np.count_nonzero(scaled > 127)))
                x = np.maximum(requantized, np.int8(0))
            traces.append(trace)
        return traces

    def forward(self, images, matmul: Matmul | None = None) -> np.ndarray:
        """int64 (B, 10) logits of (B, 64) grey-level images (see `trace`)."""
        return self.trace(images, matmul)[-1].accumulators

    def predict(self, images, matmul: Matmul | None = None) -> np.ndarray:
        """Predicted digits (B,): the first largest logit."""
        return np.argmax(self.forward(images, matmul), axis=1)

    @property
    def weight_count(self) -> int:
        return sum(layer.weights.size for layer in self.layers)


def export(model: TernaryMLP, metadata: dict | None = None) -> IntegerNetwork:
    """The integer network of a quantisation-aware trained `model`.

    Layer ``l`` requantises with ``alpha_l * s_(l+1) / s_l`` as ``(m, shift)``.
    """
    if not model.quantized:
        raise ValueError("only a quantisation-aware (quantized=True) model has an integer form")
    scales = model.activation_scales()
    layers, alphas = [], []
    for index, w in enumerate(model.weights):
        wq, alpha = quantize_weights(w)
        alphas.append(alpha)
        if index < len(model.weights) - 1:
            m, shift = quantize_multiplier(alpha * scales[index + 1] / scales[index])
        else:
            m, shift = None, None
        layers.append(IntegerLayer(wq, m, shift))
    return IntegerNetwork(layers, alphas, scales, dict(metadata or {}))


def default_model_path() -> Path:
    """The shipped model, ``model.npz`` beside this module."""
    return Path(__file__).resolve().with_name("model.npz")


_METADATA_KEYS = {"command": str, "seed": int, "epochs": int, "float32_test_accuracy": float,
                  "ternary_test_accuracy": float, "integer_test_accuracy": float}


def save_model(network: IntegerNetwork, path) -> None:
    """Write `network` to the .npz file `path`, complete or not at all.

    Holds each layer's weights packed five trits a byte (``weights<l>``, uint8) and shape
    (``shape<l>``), the integer ``multipliers`` and ``shifts`` of the hidden layers, the
    float ``weight_scales`` and ``activation_scales``, and the metadata (command, seed,
    epochs, float32 / ternary / integer test accuracies).
    """
    path = Path(path)
    arrays = {"format": np.array(FORMAT), "layer_count": np.array(len(network.layers)),
              "input_multiplier": np.array(INPUT_MULTIPLIER),
              "input_shift": np.array(INPUT_SHIFT),
              "multipliers": np.array([l.multiplier for l in network.layers[:-1]], np.int64),
              "shifts": np.array([l.shift for l in network.layers[:-1]], np.int64),
              "weight_scales": np.array(network.weight_scales, np.float64),
              "activation_scales": np.array(network.activation_scales, np.float64)}
    for index, layer in enumerate(network.layers):
        arrays[f"weights{index}"] = np.frombuffer(pack_base3(layer.weights), dtype=np.uint8)
        arrays[f"shape{index}"] = np.array(layer.shape, np.int64)
    for key, kind in _METADATA_KEYS.items():
        if key in network.metadata:
            arrays[key] = np.array(kind(network.metadata[key]))
    write_bytes(Path(path), _npz_bytes(arrays), "model file")


def _npz_bytes(arrays: dict) -> bytes:
    """An .npz archive (as `numpy.savez_compressed` writes) without time stamps, so the same
    model always gives the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as file:
                np.lib.format.write_array(file, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def load_model(path=None) -> IntegerNetwork:
    """Read a model file written by `save_model` (the shipped model by default).

    Raises UserError, one sentence, for a missing or malformed file.
    """
    path = default_model_path() if path is None else Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise UserError(f"{path} is not a digits model (.npz): {error}") from None
    if str(arrays.get("format", "")) != FORMAT:
        raise UserError(f"{path} is not a digits model: it has no format tag {FORMAT!r}")
    try:
        count = int(arrays["layer_count"])
        if (int(arrays["input_multiplier"]), int(arrays["input_shift"])) != \
                (INPUT_MULTIPLIER, INPUT_SHIFT):
            raise ValueError("its pixel quantiser is not round(p * 127 / 16)")
        layers = []
        for index in range(count):
            n, k = (int(v) for v in arrays[f"shape{index}"])
            weights = unpack_base3(arrays[f"weights{index}"].tobytes(), n * k).reshape(n, k)
            last = index == count - 1
            m = None if last else int(arrays["multipliers"][index])
            shift = None if last else int(arrays["shifts"][index])
            layers.append(IntegerLayer(weights, m, shift))
        for before, after in zip(layers[:-1], layers[1:]):
            if before.shape[0] != after.shape[1]:
                raise ValueError(f"a layer of {before.shape[0]} outputs feeds one of "
                                 f"{after.shape[1]} inputs")
        metadata = {key: kind(arrays[key]) for key, kind in _METADATA_KEYS.items()
                    if key in arrays}
        return IntegerNetwork(layers, [float(v) for v in arrays["weight_scales"]],
                              [float(v) for v in arrays["activation_scales"]], metadata)
    except KeyError as error:
        raise UserError(f"{path} is not a valid digits model: it has no array {error}") from None
    except (IndexError, ValueError) as error:
        raise UserError(f"{path} is not a valid digits model: {error}") from None
