"""`tritherm apps generate`: training from the command line learns; the shipped model makes
all ten digits on the bit-exact fixed-point backend, with --save, the grid and --json
checked against values computed here; golden equals fixed word for word; a hardware
backend is compared with golden on every sample word (a wrong word fails, status 1)."""

import contextlib
import io
import json
import os
import struct
import zlib

import numpy as np
import pytest

from tritherm.apps.generate import integer as gi
from tritherm.apps.generate import model as gm
from tritherm.apps.generate import quality as gq
from tritherm.cli import main

SEED = int(os.environ.get("TRITHERM_SEED", "1"))


def seed(offset=0):
    """A noise or training seed from the run's seed, printed for replay."""
    value = (SEED + offset) % 10_000 + 1
    print(f"seed {value} (replay with TRITHERM_SEED={SEED})")
    return value


@pytest.fixture(scope="module")
def shipped():
    return gm.load_model()


def grey(images):
    return np.clip(np.rint(images), 0, 16).astype(np.int64)


def read_png(path) -> np.ndarray:
    """The pixels (height, width) of an 8-bit greyscale PNG without filters, as written by
    `quality.write_grid_png`."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(data):
        length, = struct.unpack(">I", data[at:at + 4])
        chunks.setdefault(data[at + 4:at + 8], b"")
        chunks[data[at + 4:at + 8]] += data[at + 8:at + 8 + length]
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 0)
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8)
    rows = raw.reshape(height, width + 1)
    assert not rows[:, 0].any()                        # filter type 0 on every row
    return rows[:, 1:]


def test_train_from_the_command_line_learns(tmp_path, cli):
    out_file = tmp_path / "m.npz"
    train_seed = seed()
    code, out, err = cli(["apps", "generate", "train", "--seed", train_seed, "--hidden", 8,
                          "--epochs", 1, "--out", out_file])
    assert code == 0, err
    assert out.count("epoch 1/1: action") == 1 and str(out_file) in out
    model = gm.load_model(out_file)
    assert model.hidden == 8 and model.seed == train_seed and model.meta["images"] == 1437
    assert model.meta["command"] == (f"tritherm apps generate train --seed {train_seed} "
                                     f"--hidden 8 --epochs 1")
    code, out, err = cli(["apps", "generate", "sample", "--model", out_file, "--backend",
                          "float", "--count", 4, "--seed", seed(1), "--out",
                          tmp_path / "g.png", "--json"])
    assert code == 0, err
    document = json.loads(out)
    # One epoch with 8 hidden units recognises 0.95 to 1.0 of each digit (seen over seeds);
    # the same dynamics untrained make no digits (test_generate_model), chance is 0.1.
    assert document["overall"]["recognised"] >= 0.8, out
    assert document["overall"]["count"] == 40


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    """All ten digits, two images each, from the shipped model on the default backend
    (fixed), with --save, --out and --json: (directory, seed, JSON document)."""
    tmp = tmp_path_factory.mktemp("sampled")
    noise_seed = seed(2)
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        code = main(["apps", "generate", "sample", "--count", "2", "--seed", str(noise_seed),
                     "--save", str(tmp / "s.npz"), "--out", str(tmp / "g.png"), "--json"])
    assert code == 0
    return tmp, noise_seed, json.loads(text.getvalue())


def test_the_shipped_model_makes_all_ten_digits(sampled):
    _, noise_seed, document = sampled
    print(f"seed {noise_seed}")
    assert document["backend"] == "fixed" and document["count"] == 2
    assert [row["digit"] for row in document["digits"]] == list(range(10))
    # Over 300 noise seeds (3,010 chains) these 20 images stayed at or above 0.85
    # recognised and 0.65 by the ternary classifier, at most 0.25 mirrored; from the
    # per-digit rates (the ternary one is lowest for 1 and 8: 0.64 and 0.77 a chain) and
    # independent chains, the floors are missed about once in 70,000 runs.
    assert document["overall"]["recognised"] >= 0.75, document["overall"]
    assert document["overall"]["recognised_ternary"] >= 0.6, document["overall"]
    assert document["overall"]["mirrored"] <= 0.4, document["overall"]
    assert document["agreement"] is None                 # fixed is not compared


def test_saved_images_are_the_golden_coupler_s(sampled, shipped):
    """--save holds grey levels of what the golden coupler makes for the same seeds (two
    digits chosen by the run's seed, run here on golden)."""
    tmp, noise_seed, _ = sampled
    with np.load(tmp / "s.npz") as data:
        images, digits = data["images"], data["digits"]
    assert images.shape == (20, 64) and images.dtype.kind == "i"
    assert images.min() >= 0 and images.max() <= 16
    assert digits.tolist() == [d for d in range(10) for _ in range(2)]
    for d in np.random.default_rng(SEED).choice(10, 2, replace=False):
        golden = gi.generate_golden(shipped, int(d), 2, seed=noise_seed)
        np.testing.assert_array_equal(images[digits == d], grey(golden.images))


def test_the_figures_are_those_of_the_saved_images(sampled, split):
    """Recognised fractions by both classifiers and the nearest-neighbour distances,
    recomputed from the saved images."""
    from tritherm.apps.digits import load_model
    tmp, _, document = sampled
    with np.load(tmp / "s.npz") as data:
        images, digits = data["images"], data["digits"]
    x_train = split[0]
    judge = gq.classifier().predict(images / 16.0) == digits
    ternary = load_model().predict(images) == digits
    nn = np.sqrt(((images[:, None, :] - x_train[None, :, :]) ** 2).sum(-1)).min(axis=1)
    overall = document["overall"]
    assert overall["recognised"] == pytest.approx(judge.mean())
    assert overall["recognised_ternary"] == pytest.approx(ternary.mean())
    assert overall["nn"] == pytest.approx(nn.mean())
    assert overall["nn_min"] == pytest.approx(nn.min())
    templates = np.stack([x_train[split[1] == d].mean(0) for d in range(10)])
    negative = np.array([np.corrcoef(im, templates[d])[0, 1] < 0
                         for im, d in zip(images.astype(float), digits)])
    assert overall["mirrored"] == pytest.approx(negative.mean())
    for row in document["digits"]:
        d = row["digit"]
        assert row["recognised"] == pytest.approx(judge[digits == d].mean())
        pair = images[digits == d].astype(float)
        assert row["diversity"] == pytest.approx(np.linalg.norm(pair[0] - pair[1]))
        assert row["heat"] > 0 and row["seconds_per_image"] > 0


def test_the_grid_has_a_row_per_digit(sampled):
    tmp, _, document = sampled
    with np.load(tmp / "s.npz") as data:
        images, digits = data["images"], data["digits"]
    assert document["grid"] == str(tmp / "g.png")
    pixels = read_png(tmp / "g.png")
    scale, gap = 4, 2                                  # write_grid_png's defaults
    cell = 8 * scale + gap
    assert pixels.shape == (10 * cell + gap, 2 * cell + gap)
    for d in range(10):
        for j, image in enumerate(images[digits == d]):
            y, x = gap + d * cell, gap + j * cell
            tile = pixels[y:y + 8 * scale:scale, x:x + 8 * scale:scale]
            np.testing.assert_array_equal(tile, 255 - np.round(image * 255 / 16).reshape(8, 8))


def test_golden_equals_fixed_image_for_image(tmp_path, cli):
    noise_seed = seed(3)
    digit = SEED % 10
    saved = {}
    for backend in ("golden", "fixed"):
        code, out, err = cli(["apps", "generate", "sample", "--backend", backend, "--digit",
                              digit, "--count", 2, "--seed", noise_seed, "--out",
                              tmp_path / f"{backend}.png", "--save",
                              tmp_path / f"{backend}.npz"])
        assert code == 0, err
        assert f"on {backend}" in out and "recognised" in out
        with np.load(tmp_path / f"{backend}.npz") as data:
            saved[backend] = data["images"]
            assert data["digits"].tolist() == [digit, digit]
    np.testing.assert_array_equal(saved["golden"], saved["fixed"])


@pytest.fixture
def hardware(monkeypatch):
    """A stand-in for the rtl backend: the fixed-point run (bit-exact with golden) with the
    agreement the hardware backends attach to their runs, one word wrong when asked
    (``hardware["wrong"] = True``); the calls it received."""
    from tritherm.apps.generate import hardware as gh
    from tritherm.apps.generate import sampling
    real = sampling.sample
    state = {"wrong": False, "calls": []}

    def sample(model, digits, count, seed, backend, **options):
        state["calls"].append((backend, options))
        runs = real(model, digits, count, seed, "fixed")
        for d, g in runs.items():
            wrong = state["wrong"] and d == min(runs)
            g.agreement = gh.Agreement(3 * count * model.cells, int(wrong),
                                       "chain 0, cell 70: x" if wrong else None)
        return runs
    monkeypatch.setattr(sampling, "sample", sample)
    return state


@pytest.mark.parametrize("wrong", [False, True])
def test_a_hardware_backend_s_agreement_with_golden_is_reported(hardware, wrong, tmp_path,
                                                                 cli, shipped):
    hardware["wrong"] = wrong
    code, out, err = cli(["apps", "generate", "sample", "--backend", "rtl", "--digit", 4,
                          "--count", 1, "--seed", seed(4), "--out", tmp_path / "g.png",
                          "--json"])
    words = 3 * shipped.cells
    assert hardware["calls"] == [("rtl", {"simulator": "verilator",
                                          "progress": hardware["calls"][0][1]["progress"]})]
    document = json.loads(out)
    assert document["words"] == words and document["mismatched"] == int(wrong)
    if not wrong:
        assert code == 0 and document["agreement"] == 1.0
    else:
        assert code == 1 and document["agreement"] == (words - 1) / words
        assert "chain 0, cell 70: x" in err and f"1 of {words} sample words differ" in err
