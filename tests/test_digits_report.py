"""The digit classifier's API for its command: evaluation, plots, memory, baseline, training."""


import numpy as np
import pytest

from tritherm.apps.digits import (TrainConfig, confusion_matrix, evaluate,
                                  float_baseline, load_model, load_split, memory_table,
                                  plot_confusion, train_and_save)
from tritherm.errors import UserError


def test_split_is_fixed_and_stratified(split):
    x_train, y_train, x_test, y_test = split
    assert x_train.shape == (1437, 64) and x_test.shape == (360, 64)
    assert x_train.dtype == np.int64 and x_train.min() == 0 and x_train.max() == 16
    share = np.bincount(np.concatenate([y_train, y_test])) / 1797      # each digit's share
    assert (np.abs(np.bincount(y_test) - 360 * share) < 1).all()        # stratified
    again = load_split()
    for a, b in zip(split, again):
        np.testing.assert_array_equal(a, b)


def test_evaluate_and_confusion_agree(shipped, split, rng):
    index = rng.choice(360, size=100, replace=False)
    images, labels = split[2][index], split[3][index]
    result = evaluate(shipped, images, labels)
    assert result.logits.dtype == np.int64 and result.logits.shape == (100, 10)
    np.testing.assert_array_equal(result.predictions, np.argmax(result.logits, axis=1))
    assert result.accuracy == np.mean(result.predictions == labels)
    confusion = confusion_matrix(labels, result.predictions)
    expected = np.zeros((10, 10), dtype=np.int64)
    for t, p in zip(labels.tolist(), result.predictions.tolist()):
        expected[t, p] += 1
    np.testing.assert_array_equal(confusion, expected)
    assert np.trace(confusion) == round(result.accuracy * 100)


def test_plot_confusion_writes_a_png(tmp_path, shipped, split):
    images, labels = split[2], split[3]
    result = evaluate(shipped, images, labels)
    predictions = result.predictions.copy()
    predictions[:3] = (labels[:3] + 1) % 10                 # at least three errors to draw
    path = tmp_path / "confusion.png"
    plot_confusion(path, confusion_matrix(labels, predictions), images, labels, predictions)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["confusion.png"]
    with pytest.raises(UserError, match="the directory .* does not exist"):
        plot_confusion(tmp_path / "no" / "c.png", confusion_matrix(labels, labels), images,
                       labels, labels)


def test_memory_table(shipped):
    rows = {row.format: row for row in memory_table(shipped)}
    weights = 64 * 256 + 256 * 256 + 256 * 10                              # 84,480
    base3 = -(-64 * 256 // 5) + -(-256 * 256 // 5) + -(-256 * 10 // 5)    # 3,277 + 13,108 + 512
    assert rows["ternary, 5 trits a byte"].bytes == base3 == 16_897
    assert rows["ternary, 5 trits a byte"].bits_per_weight == pytest.approx(1.6, abs=1e-3)
    assert rows["int8"].bytes == weights and rows["float32"].bytes == 4 * weights


def test_float_baseline(rng, split):
    seed = int(rng.integers(1, 2 ** 31))
    accuracy, weight_bytes = float_baseline(seed, hidden=(32,), max_iter=60, data=split)
    assert accuracy >= 0.85
    assert weight_bytes == 4 * (64 * 32 + 32 + 32 * 10 + 10)


def test_train_and_save_refuses_a_bad_output_before_training(tmp_path):
    with pytest.raises(UserError, match="the directory .* does not exist"):
        train_and_save(1, out=tmp_path / "missing" / "m.npz")
    with pytest.raises(UserError, match="must be a .npz file"):
        train_and_save(1, out=tmp_path / "m.txt")
    with pytest.raises(UserError, match="epochs must be a positive integer, got 0"):
        train_and_save(1, epochs=0, out=tmp_path / "m.npz")
    assert not any(tmp_path.iterdir())
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(UserError, match="is a directory"):
        train_and_save(1, out=tmp_path / "d.npz")


def test_train_and_save_writes_a_loadable_model(tmp_path, rng):
    seed = int(rng.integers(1, 2 ** 31))
    reports = []
    path = tmp_path / "small.npz"
    result = train_and_save(seed, epochs=2, out=path, progress=reports.append,
                            config=TrainConfig(hidden=(32, 32)))
    assert [(r.model, r.epoch) for r in reports] == [("float32", 1), ("float32", 2),
                                                     ("ternary", 1), ("ternary", 2)]
    network = load_model(path)
    assert network.metadata["command"] == f"tritherm apps digits train --seed {seed} --epochs 2"
    assert network.metadata["epochs"] == 2 and network.metadata["seed"] == seed
    assert network.metadata["integer_test_accuracy"] == result.integer_accuracy
    assert [layer.shape for layer in network.layers] == [(32, 64), (32, 32), (10, 32)]
    assert [p.name for p in tmp_path.iterdir()] == ["small.npz"]
