"""BitLinear golden model (BitNet b1.58): quantisation, exact ternary products, packing.

Pure numpy. Rounding is round-half-to-even everywhere (``numpy.round``, as
``torch.round``), so the integer results match bitnet.cpp's and the array's bit for bit.
"""

from __future__ import annotations

import numpy as np

from tritherm.formats import (BASE3_CODES, INT8_MAX, INT8_MIN, TRITS_PER_BYTE,
                              TernaryArrayShape, accumulator_width)

__all__ = [
    "check_ternary", "check_int8",
    "quantize_weights", "quantize_activations", "ternary_matmul", "dequantize",
    "bitlinear_forward", "float_linear", "accumulator_width",
    "pack_i2s", "unpack_i2s", "pack_base3", "unpack_base3", "decode_base3_byte",
    "decode_2bit_byte",
    "array_weight_image",
]

_EPS = 1e-5
I2S_BLOCK = 128


def _first_bad(array: np.ndarray, bad: np.ndarray) -> tuple[tuple[int, ...], object]:
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return index, array[index].item()


def check_ternary(weights, name: str = "weights") -> np.ndarray:
    """Return `weights` as int8, or raise ValueError naming the first entry not in {-1, 0, 1}."""
    array = np.asarray(weights)
    if array.dtype.kind not in "iub" and array.dtype.kind != "f":
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    bad = ~np.isin(array, (-1, 0, 1))
    if bad.any():
        index, value = _first_bad(array, bad)
        raise ValueError(f"{name}{list(index)} = {value} is not a ternary weight in {{-1, 0, 1}}")
    return array.astype(np.int8)


def check_int8(activations, name: str = "activations") -> np.ndarray:
    """Return `activations` as int8, or raise ValueError naming the first entry outside int8."""
    array = np.asarray(activations)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be integers, got dtype {array.dtype}")
    bad = (array < INT8_MIN) | (array > INT8_MAX) | (array != np.round(array))
    if bad.any():
        index, value = _first_bad(array, bad)
        raise ValueError(f"{name}{list(index)} = {value} is not an int8 value in [-128, 127]")
    return array.astype(np.int8)


def quantize_weights(weights) -> tuple[np.ndarray, float]:
    """Absmean ternary quantisation of one weight matrix.

    Returns ``(Wq, scale)`` with ``Wq = clip(round(W / scale), -1, 1)`` and
    ``scale = 1 / s = max(mean|W|, 1e-5)``.
    """
    w = np.asarray(weights, dtype=np.float64)
    scale = max(float(np.mean(np.abs(w))), _EPS)
    wq = np.clip(np.round(w * (1.0 / scale)), -1, 1).astype(np.int8)
    return wq, scale


def quantize_activations(x) -> tuple[np.ndarray, np.ndarray]:
    """Absmax int8 quantisation per token (last axis). Returns ``(xq, s_x)``."""
    x = np.asarray(x, dtype=np.float64)
    s_x = 127.0 / np.maximum(np.max(np.abs(x), axis=-1, keepdims=True), _EPS)
    xq = np.clip(np.round(x * s_x), INT8_MIN, INT8_MAX).astype(np.int8)
    return xq, s_x


def ternary_matmul(weights, activations) -> np.ndarray:
    """Exact integer product ``W @ x`` for W (N x K) ternary and x (K,) or (B x K) int8.

    Returns int64 of shape (N,) or (B x N). Every partial sum fits in
    ``accumulator_width(K)`` signed bits.
    """
    w = check_ternary(weights)
    x = check_int8(activations)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D N x K matrix, got shape {w.shape}")
    if x.ndim not in (1, 2):
        raise ValueError(f"activations must have shape (K,) or (B, K), got {x.shape}")
    if x.shape[-1] != w.shape[1]:
        raise ValueError(f"activations have K = {x.shape[-1]} but weights have K = {w.shape[1]}")
    return x.astype(np.int64) @ w.astype(np.int64).T


def dequantize(acc, weight_scale: float, s_x) -> np.ndarray:
    """``y = acc * mean|W| / s_x``."""
    return np.asarray(acc, dtype=np.float64) * weight_scale / s_x


def bitlinear_forward(x, weights) -> np.ndarray:
    """BitLinear forward in the quantised domain: quantise both, exact product, dequantise."""
    wq, w_scale = quantize_weights(weights)
    xq, s_x = quantize_activations(x)
    acc = ternary_matmul(wq, xq)
    if acc.ndim == 1:
        s_x = s_x[0]
    return dequantize(acc, w_scale, s_x)


def float_linear(x, weights) -> np.ndarray:
    """The unquantised layer ``x @ W.T``, for comparison with `bitlinear_forward`."""
    return np.asarray(x, dtype=np.float64) @ np.asarray(weights, dtype=np.float64).T


# --- packing -----------------------------------------------------------------------------

def pack_i2s(weights) -> bytes:
    """I2_S packing (2 bits/weight): blocks of 128 weights in 32 bytes, code = w + 1.

    Byte j of a block holds weights j, j+32, j+64, j+96 in bits 7:6, 5:4, 3:2, 1:0.
    The flattened weights are padded with zeros to a whole block.
    """
    flat = check_ternary(weights).reshape(-1)
    padded = np.zeros(-(-flat.size // I2S_BLOCK) * I2S_BLOCK, dtype=np.uint8) + 1
    padded[:flat.size] = flat + 1
    blocks = padded.reshape(-1, 4, 32)
    packed = (blocks[:, 0] << 6) | (blocks[:, 1] << 4) | (blocks[:, 2] << 2) | blocks[:, 3]
    return packed.astype(np.uint8).tobytes()


def unpack_i2s(data: bytes, count: int) -> np.ndarray:
    """Inverse of `pack_i2s`: the first `count` weights as int8."""
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    if raw.size % 32:
        raise ValueError(f"I2_S data must be whole 32-byte blocks, got {raw.size} bytes")
    if count > raw.size * 4:
        raise ValueError(f"count {count} exceeds the {raw.size * 4} weights in the data")
    blocks = raw.reshape(-1, 32)
    codes = np.stack([(blocks >> shift) & 3 for shift in (6, 4, 2, 0)], axis=1).reshape(-1)
    if (codes[:count] == 3).any():
        position = int(np.argmax(codes[:count] == 3))
        raise ValueError(f"I2_S code 3 at weight {position} is invalid (codes are 0, 1, 2)")
    return (codes[:count].astype(np.int8) - 1)


_POWERS = 3 ** np.arange(TRITS_PER_BYTE)


def pack_base3(weights) -> bytes:
    """Base-3 packing (1.6 bits/weight): five weights per byte, code w + 1, first weight in
    the least significant digit. The flattened weights are padded with zeros."""
    flat = check_ternary(weights).reshape(-1)
    padded = np.ones(-(-flat.size // TRITS_PER_BYTE) * TRITS_PER_BYTE, dtype=np.int64)
    padded[:flat.size] = flat.astype(np.int64) + 1
    return (padded.reshape(-1, TRITS_PER_BYTE) @ _POWERS).astype(np.uint8).tobytes()


def decode_base3_byte(value: int) -> tuple[list[int], bool]:
    """What the hardware decoder does with one byte: (five weights, invalid flag).

    An invalid byte (243..255) decodes to five zero weights with the flag set.
    """
    if not 0 <= value <= 255:
        raise ValueError(f"byte value {value} is outside [0, 255]")
    if value >= BASE3_CODES:
        return [0] * TRITS_PER_BYTE, True
    return [(value // 3 ** i) % 3 - 1 for i in range(TRITS_PER_BYTE)], False


def unpack_base3(data: bytes, count: int) -> np.ndarray:
    """Inverse of `pack_base3`; raises ValueError on an invalid byte (243..255)."""
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    needed = -(-count // TRITS_PER_BYTE)
    if needed > raw.size:
        raise ValueError(f"count {count} needs {needed} bytes but the data has {raw.size}")
    raw = raw[:needed]
    invalid = raw >= BASE3_CODES
    if invalid.any():
        offset = int(np.argmax(invalid))
        raise ValueError(f"byte {offset} has value {raw[offset]}, not a base-3 code "
                         f"(valid codes are 0..{BASE3_CODES - 1})")
    digits = (raw[:, None].astype(np.int64) // _POWERS) % 3
    return (digits.reshape(-1)[:count] - 1).astype(np.int8)


def decode_2bit_byte(value: int) -> tuple[list[int], bool]:
    """What the array does with one byte of the "2bit" packing: (four weights, invalid).

    Bits ``2i+1:2i`` hold the code ``w + 1`` of weight ``i`` (I2_S codes); a code 3
    decodes to a zero weight and sets the invalid flag.
    """
    if not 0 <= value <= 255:
        raise ValueError(f"byte value {value} is outside [0, 255]")
    codes = [(value >> (2 * i)) & 3 for i in range(4)]
    return [code - 1 if code != 3 else 0 for code in codes], 3 in codes


def array_weight_image(shape: TernaryArrayShape, weights) -> np.ndarray:
    """The array's weight memory for a tile W of up to `lanes` x `capacity` weights,
    packed as ``shape.packing`` says (base 3, or two bits a weight).

    Returns uint8 of shape (rows, row_bytes); missing lanes and inputs are zero weights.
    """
    w = check_ternary(weights)
    if w.ndim != 2 or w.shape[0] > shape.lanes or w.shape[1] > shape.capacity:
        raise ValueError(f"weight tile of shape {w.shape} does not fit an array of "
                         f"{shape.lanes} lanes x K <= {shape.capacity}")
    per_byte = shape.weights_per_byte
    full = np.zeros((shape.lanes, shape.rows, shape.groups * per_byte), dtype=np.int64)
    tile = np.zeros((shape.lanes, shape.capacity), dtype=np.int64)
    tile[:w.shape[0], :w.shape[1]] = w
    full[:, :, :shape.inputs] = tile.reshape(shape.lanes, shape.rows, shape.inputs)
    codes = (full + 1).reshape(shape.lanes, shape.rows, shape.groups, per_byte)
    if shape.packing == "2bit":
        digit_weights = 4 ** np.arange(per_byte)
    else:
        digit_weights = _POWERS
    packed = codes @ digit_weights                  # lanes x rows x groups
    return packed.transpose(1, 0, 2).reshape(shape.rows, shape.row_bytes).astype(np.uint8)
