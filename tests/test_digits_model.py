"""The ternary digit classifier: training, the shipped model, the integer golden model.

Every expected integer is worked out by hand (arithmetic in a comment) or recomputed here,
independently of the module under test, with Python ints and `fractions.Fraction`
(``round(Fraction)`` rounds halves to even), never with numpy's rounding or floats.
"""

from fractions import Fraction

import numpy as np
import pytest

from tritherm.apps.digits import (EPOCHS, IntegerLayer, IntegerNetwork, TrainConfig,
                                  check_images, check_labels, default_model_path, evaluate,
                                  export, load_model, quantize_multiplier,
                                  quantize_pixels, requantize, save_model, train)
from tritherm.apps.digits.integer import MAX_SHIFT, MULTIPLIER_BITS
from tritherm.errors import UserError
from tritherm.sim.golden import pack_base3


# --- independent plain-Python reference ----------------------------------------------------

def py_requantize(acc, multiplier, shift):
    """saturate(round_half_even(acc * m / 2**shift)) with exact rationals."""
    return min(127, max(-128, round(Fraction(int(acc) * int(multiplier), 2 ** int(shift)))))


def py_unpack(data, count):
    """Base-3 bytes to weights: digit i of a byte (least significant first) is w + 1."""
    weights = []
    for byte in bytes(data):
        assert byte < 243, f"byte {byte} is not a base-3 code"
        for _ in range(5):
            byte, digit = divmod(byte, 3)
            weights.append(digit - 1)
    return weights[:count]


def py_logits(layers, image, saturated=None):
    """The integer schedule with Python ints: pixels, products, requantisation, ReLU.

    Appends to `saturated` how many activations each hidden layer clipped at 127."""
    x = [py_requantize(p, 127, 4) for p in image]
    for weights, multiplier, shift in layers:
        acc = [sum(w * v for w, v in zip(row, x) if w) for row in weights]
        if multiplier is not None:
            x = [max(0, py_requantize(a, multiplier, shift)) for a in acc]
            if saturated is not None:
                saturated.append(sum(round(Fraction(a * multiplier, 2 ** shift)) > 127
                                     for a in acc))
    return acc


def py_layers_from_file(path):
    """Each layer (rows of weights, multiplier, shift) decoded from the raw model file."""
    with np.load(path) as data:
        count = int(data["layer_count"])
        layers = []
        for index in range(count):
            n, k = (int(v) for v in data[f"shape{index}"])
            flat = py_unpack(data[f"weights{index}"].tobytes(), n * k)
            rows = [flat[r * k:(r + 1) * k] for r in range(n)]
            last = index == count - 1
            layers.append((rows, None if last else int(data["multipliers"][index]),
                           None if last else int(data["shifts"][index])))
    return layers


# --- training ----------------------------------------------------------------------------

def test_short_training_learns(rng, split):
    seed = int(rng.integers(1, 2 ** 31))
    reports = []
    model = train(seed, quantized=True, config=TrainConfig(epochs=8), progress=reports.append,
                  data=split)
    assert [r.epoch for r in reports] == list(range(1, 9))
    assert {r.model for r in reports} == {"ternary"} and reports[-1].epochs == 8
    assert reports[-1].loss < reports[0].loss
    x_test, y_test = split[2], split[3]
    assert model.accuracy(x_test, y_test) >= 0.80
    network = export(model)
    integer = network.predict(x_test)
    assert np.mean(integer == y_test) >= 0.80
    assert np.mean(integer == model.predict(x_test)) >= 0.97   # up to the multipliers' rounding


def test_float32_training_learns(rng, split):
    seed = int(rng.integers(1, 2 ** 31))
    model = train(seed, quantized=False, config=TrainConfig(epochs=8), data=split)
    assert model.accuracy(split[2], split[3]) >= 0.85
    with pytest.raises(ValueError, match="only a quantisation-aware"):
        export(model)


def test_training_is_deterministic_from_the_seed(rng, split):
    seed = int(rng.integers(1, 2 ** 31))
    config = TrainConfig(epochs=2, hidden=(32, 32))
    first = train(seed, True, config, data=split)
    second = train(seed, True, config, data=split)
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(a, b)
    assert first.activation_max == second.activation_max


# --- the shipped model ---------------------------------------------------------------------

def test_shipped_model_classifies_the_test_split(shipped, split):
    x_test, y_test = split[2], split[3]
    result = evaluate(shipped, x_test, y_test)
    assert result.accuracy >= 0.97
    assert result.accuracy == shipped.metadata["integer_test_accuracy"]
    assert shipped.metadata["command"] == "tritherm apps digits train --seed 1"
    assert shipped.metadata["seed"] == 1 and shipped.metadata["epochs"] == EPOCHS
    assert shipped.metadata["ternary_test_accuracy"] >= 0.97
    assert shipped.metadata["float32_test_accuracy"] - result.accuracy <= 0.01
    assert [layer.shape for layer in shipped.layers] == [(256, 64), (256, 256), (10, 256)]


def test_shipped_logits_equal_a_float_free_recomputation(shipped, split, rng):
    layers = py_layers_from_file(default_model_path())
    images = split[2][rng.choice(len(split[2]), size=6, replace=False)]
    expected = [py_logits(layers, image.tolist()) for image in images]
    np.testing.assert_array_equal(shipped.forward(images), np.array(expected))


def test_random_network_logits_equal_a_float_free_recomputation(rng):
    sizes = [64, 23, 17, 10]
    weights = [rng.integers(-1, 2, size=(n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
    # multipliers/shifts that make some activations saturate at 127 and some round to 0
    requant = [(int(rng.integers(2 ** 14, 2 ** 15)), int(rng.integers(12, 16)))
               for _ in range(len(weights) - 1)] + [(None, None)]
    network = IntegerNetwork([IntegerLayer(w.astype(np.int8), m, s)
                              for w, (m, s) in zip(weights, requant)], [1.0] * 3, [1.0] * 3)
    images = rng.integers(0, 17, size=(5, 64))
    saturated = []
    expected = [py_logits([(w.tolist(), m, s) for w, (m, s) in zip(weights, requant)],
                          image.tolist(), saturated) for image in images]
    fed = []

    def python_matmul(w, x):
        assert x.dtype == np.int8 and w.dtype == np.int8
        fed.append(x)
        return np.array([[sum(int(a) * int(b) for a, b in zip(row, v)) for row in w.tolist()]
                         for v in x.tolist()], dtype=np.int64)

    np.testing.assert_array_equal(network.forward(images, matmul=python_matmul), expected)
    np.testing.assert_array_equal(network.forward(images), expected)
    assert len(fed) == 3
    assert any((x == 127).any() for x in fed[1:]), "no activation saturated: widen the test"
    traces = network.trace(images)
    assert [t.saturated for t in traces] == [sum(saturated[0::2]), sum(saturated[1::2]), 0]


def test_matmul_fed_int8_in_range_and_shape_checked(shipped, split):
    seen = []

    def recording(w, x):
        assert x.dtype == np.int8 and x.min() >= -128 and x.max() <= 127
        seen.append(x.shape)
        return x.astype(np.int64) @ w.astype(np.int64).T

    shipped.forward(split[2][:7], matmul=recording)
    assert seen == [(7, 64), (7, 256), (7, 256)]
    with pytest.raises(ValueError, match="expected integers of shape"):
        shipped.forward(split[2][:2], matmul=lambda w, x: np.zeros((2, 3)))


# --- requantisation ------------------------------------------------------------------------

@pytest.mark.parametrize("acc, multiplier, shift, expected", [
    (1, 1, 1, 0),                   # 0.5 -> 0 (even)
    (3, 1, 1, 2),                   # 1.5 -> 2 (even)
    (5, 1, 1, 2),                   # 2.5 -> 2 (even)
    (-1, 1, 1, 0),                  # -0.5 -> -0
    (-3, 1, 1, -2),                 # -1.5 -> -2
    (-5, 1, 1, -2),                 # -2.5 -> -2
    (7, 3, 2, 5),                   # 21/4 = 5.25 -> 5
    (-7, 3, 2, -5),                 # -5.25 -> -5
    (254, 1, 1, 127),               # 127 exactly
    (255, 1, 1, 127),               # 127.5 -> 128 (even), saturated to 127
    (-256, 1, 1, -128),             # -128 exactly
    (-257, 1, 1, -128),             # -128.5 -> -128 (even)
    (-259, 1, 1, -128),             # -129.5 -> -130, saturated to -128
    (200, 1, 0, 127),               # shift 0: no rounding, saturation only
    (-200, 1, 0, -128),
    (2 ** 47 - 1, 2 ** 15 - 1, 0, 127),                       # the largest accumulator
    (-(2 ** 47 - 1), 2 ** 15 - 1, MAX_SHIFT, -1),             # -(2^62 - 2^47 - 2^15 + 1)/2^62
    (2 ** 46, 2 ** 15 - 1, MAX_SHIFT, 0),                     # (2^61 - 2^46)/2^62 < 0.5
    (0, 2 ** 15 - 1, 20, 0),
])
def test_requantize_edges(acc, multiplier, shift, expected):
    assert py_requantize(acc, multiplier, shift) == expected      # the reference agrees
    result = requantize(np.array([acc]), multiplier, shift)
    assert result.dtype == np.int8 and int(result[0]) == expected


def test_requantize_matches_exact_rationals(rng):
    count = 3000
    acc = rng.integers(-2 ** 20, 2 ** 20, size=count)
    acc[:200] = rng.integers(-2 ** 46, 2 ** 46, size=200)                 # big accumulators
    multipliers = rng.integers(0, 2 ** MULTIPLIER_BITS, size=count)
    shifts = rng.integers(0, 40, size=count)
    for a, m, s in zip(acc, multipliers, shifts):
        assert int(requantize(np.array([a]), int(m), int(s))[0]) == py_requantize(a, m, s)


def test_requantize_ties_round_to_even(rng):
    # m odd and acc an odd multiple of 2**(shift-1): acc * m / 2**shift is an exact half
    shift = int(rng.integers(1, 30))
    m = int(rng.integers(0, 2 ** 14)) * 2 + 1
    odd = rng.integers(-300, 300, size=500) * 2 + 1
    acc = odd * 2 ** (shift - 1)
    acc = acc[np.abs(acc) < 2 ** 47]
    got = requantize(acc, m, shift)
    expected = [py_requantize(a, m, shift) for a in acc]
    np.testing.assert_array_equal(got, expected)
    unsaturated = np.abs(acc * m / 2 ** shift) < 127
    assert (got[unsaturated] % 2 == 0).all()                 # every tie went to an even value


def test_requantize_refuses_what_it_cannot_do_exactly():
    for acc in (2 ** 47, -2 ** 47, -2 ** 63):
        with pytest.raises(ValueError, match=f"accumulator {acc} is outside the requantiser"):
            requantize(np.array([5, acc]), 1, 0)
    with pytest.raises(ValueError, match="must be integers"):
        requantize(np.array([1.0]), 1, 0)
    with pytest.raises(ValueError, match="out of range"):
        requantize(np.array([1]), 2 ** 15, 0)


def test_pixels_quantise_to_round_p_times_127_over_16():
    pixels = np.arange(17)[None, :].repeat(4, axis=0).reshape(-1)[:64][None, :]
    expected = [round(Fraction(int(p) * 127, 16)) for p in pixels[0]]
    assert expected[8] == 64 and expected[16] == 127     # 63.5 -> 64 (even); 127 exactly
    np.testing.assert_array_equal(quantize_pixels(pixels)[0], expected)
    np.testing.assert_array_equal(quantize_pixels(pixels.astype(float))[0], expected)


def test_quantize_multiplier_is_nearest(rng):
    reals = 2.0 ** rng.uniform(-40, 12, size=300)
    for real in list(reals) + [1.0, 0.5, 2 ** 14 + 0.3, 1 - 2 ** -17]:
        m, shift = quantize_multiplier(float(real))
        assert 2 ** 14 <= m < 2 ** 15 and 0 <= shift <= MAX_SHIFT
        exact = Fraction(float(real))
        error = abs(Fraction(m, 2 ** shift) - exact)
        assert error <= exact / 2 ** 15
        assert error <= abs(Fraction(m + 1, 2 ** shift) - exact)
        assert error <= abs(Fraction(m - 1, 2 ** shift) - exact)
    for bad in (0.0, -1.0, float("nan"), 2.0 ** 16, 2.0 ** -60):
        with pytest.raises(ValueError):
            quantize_multiplier(bad)


# --- model file ----------------------------------------------------------------------------

def test_shipped_bytes_are_the_packed_weights(shipped):
    with np.load(default_model_path()) as data:
        for index, layer in enumerate(shipped.layers):
            raw = data[f"weights{index}"]
            n, k = layer.shape
            assert raw.dtype == np.uint8 and raw.size == -(-n * k // 5)
            assert raw.tobytes() == pack_base3(layer.weights)
            assert py_unpack(raw.tobytes(), n * k) == layer.weights.reshape(-1).tolist()


def test_save_load_round_trip(tmp_path, rng):
    shapes = [(7, 64), (3, 7)]                                  # 448 and 21 weights: padding
    layers = [IntegerLayer(rng.integers(-1, 2, size=shapes[0]).astype(np.int8), 20001, 21),
              IntegerLayer(rng.integers(-1, 2, size=shapes[1]).astype(np.int8), None, None)]
    network = IntegerNetwork(layers, [0.25, 0.5], [127.0, 3.5],
                             {"command": "tritherm apps digits train --seed 5", "seed": 5,
                              "epochs": 3, "float32_test_accuracy": 0.5})
    path = tmp_path / "m.npz"
    save_model(network, path)
    loaded = load_model(path)
    for a, b in zip(network.layers, loaded.layers):
        np.testing.assert_array_equal(a.weights, b.weights)
        assert (a.multiplier, a.shift) == (b.multiplier, b.shift)
    assert loaded.weight_scales == network.weight_scales
    assert loaded.activation_scales == network.activation_scales
    assert loaded.metadata == network.metadata
    save_model(loaded, tmp_path / "again.npz")
    assert (tmp_path / "again.npz").read_bytes() == path.read_bytes()   # no time stamps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.npz", "m.npz"]


def test_bad_model_files_get_one_sentence(tmp_path, shipped):
    (tmp_path / "junk.npz").write_text("not a zip")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    save_model(shipped, tmp_path / "bad.npz")
    with np.load(tmp_path / "bad.npz") as data:
        arrays = {key: data[key] for key in data.files}
    arrays["weights1"] = arrays["weights1"].copy()
    arrays["weights1"][3] = 250
    np.savez(tmp_path / "bad.npz", **arrays)
    del arrays["shifts"]
    np.savez(tmp_path / "short.npz", **arrays)
    for name, message in [("missing.npz", "does not exist"), ("junk.npz", "is not a digits model"),
                          ("other.npz", "has no format tag"), ("bad.npz", "byte 3 has value 250"),
                          ("short.npz", "has no array 'shifts'")]:
        with pytest.raises(UserError, match=message) as error:
            load_model(tmp_path / name)
        assert "\n" not in str(error.value)


# --- user arrays -------------------------------------------------------------------------

def _with(value, where=(1, 5), dtype=np.int64):
    images = np.zeros((3, 64), dtype=dtype)
    images[where] = value
    return images


@pytest.mark.parametrize("images, message", [
    (np.zeros((3, 63)), "images must have shape (n, 64), one 8 x 8 image a row, got shape (3, 63)"),
    (np.zeros(64), "got shape (64,)"),
    (np.zeros((2, 8, 8)), "got shape (2, 8, 8)"),
    (np.zeros((0, 64)), "images is empty: give at least one image"),
    (_with(3.5, dtype=float), "images[1, 5] = 3.5 is not a whole number"),
    (_with(17), "images[1, 5] = 17 is not a grey level in 0..16"),
    (_with(-1), "images[1, 5] = -1 is not a grey level in 0..16"),
    (_with(16.0001, dtype=float), "images[1, 5] = 16.0001 is not a whole number"),
    (_with(np.nan, dtype=float), "images[1, 5] = nan is not a finite number"),
    (_with(np.inf, where=(2, 0), dtype=float), "images[2, 0] = inf is not a finite number"),
    (np.full((1, 64), "a"), "images must be numbers, got an array of dtype <U1"),
])
def test_bad_images_get_one_sentence(images, message, shipped):
    for check in (check_images, shipped.forward, quantize_pixels):
        with pytest.raises(UserError) as error:
            check(images)
        assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("labels, message", [
    (np.array([1, 2]), "labels has 2 entries but there are 3 images"),
    (np.array([1, 2, 10]), "labels[2] = 10 is not a digit in 0..9"),
    (np.array([-1, 2, 3]), "labels[0] = -1 is not a digit in 0..9"),
    (np.array([1.0, 2.5, 3.0]), "labels[1] = 2.5 is not a whole number"),
    (np.array([[1], [2], [3]]), "labels must be a 1-D array of digits, got shape (3, 1)"),
])
def test_bad_labels_get_one_sentence(labels, message, shipped):
    with pytest.raises(UserError) as error:
        evaluate(shipped, np.zeros((3, 64)), labels)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert check_labels(np.array([0.0, 9.0, 3.0]), 3).tolist() == [0, 9, 3]


def test_integral_floats_are_accepted(shipped, split):
    images = split[2][:5]
    np.testing.assert_array_equal(shipped.forward(images.astype(np.float32)),
                                  shipped.forward(images.astype(np.uint8)))
