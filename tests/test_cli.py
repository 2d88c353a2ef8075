"""The `tritherm` command: tiled simulation of user data, and one-sentence errors."""

import os

import numpy as np
import pytest

from tritherm.cli import main

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")


def plain_matmul(weights, activations):
    """Independent reference: the integer product with Python ints."""
    w = weights.tolist()
    xs = np.atleast_2d(activations).tolist()
    out = [[sum(a * b for a, b in zip(row, x)) for row in w] for x in xs]
    return np.array(out[0] if activations.ndim == 1 else out)


@pytest.fixture
def user_files(tmp_path):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    rng = np.random.default_rng(SEED)
    n, k = int(rng.integers(5, 14)), int(rng.integers(81, 200))   # several lane and K tiles
    weights = rng.integers(-1, 2, size=(n, k))
    activations = rng.integers(-128, 128, size=(2, k))
    np.save(tmp_path / "W.npy", weights)
    np.save(tmp_path / "X.npy", activations)
    np.save(tmp_path / "x1.npy", activations[0])
    return tmp_path, weights, activations


@pytest.mark.parametrize("simulator", ["amaranth", "icarus", "verilator"])
def test_sim_ternary_tiles_any_shape_exactly(simulator, user_files, capsys):
    path, weights, activations = user_files
    vcd = path / "wave.vcd"
    rc = main(["sim", "ternary", "--weights", str(path / "W.npy"), "--activations",
               str(path / "X.npy"), "--simulator", simulator, "--vcd", str(vcd),
               "--out", str(path / "Y.npy")])
    out = capsys.readouterr().out
    assert rc == 0 and "PASS" in out, out
    result = np.load(path / "Y.npy")
    assert result.dtype == np.int32
    np.testing.assert_array_equal(result, plain_matmul(weights, activations))
    assert "$enddefinitions" in vcd.read_text()


def test_sim_ternary_single_vector(user_files, capsys):
    path, weights, activations = user_files
    assert main(["sim", "ternary", "--weights", str(path / "W.npy"), "--activations",
                 str(path / "x1.npy"), "--out", str(path / "y.npy")]) == 0
    np.testing.assert_array_equal(np.load(path / "y.npy"), plain_matmul(weights, activations[0]))


@pytest.mark.parametrize("weights, activations, message", [
    (np.array([[1, 2], [0, -1]]), np.array([1, 2]), "weights[0, 1] = 2 is not a ternary"),
    (np.array([[1, 0], [0, -1]]), np.array([1, 128]), "activations[1] = 128 is not an int8"),
    (np.array([[1, 0], [0, -1]]), np.array([1, 2, 3]), "K = 3 but weights have K = 2"),
    (np.array([1, 0, -1]), np.array([1, 2, 3]), "weights must be an N x K matrix"),
    (np.array([[1, 0]]), np.array([0.5, 1.0]), "must be integers"),
])
def test_bad_values_get_one_sentence(tmp_path, capsys, weights, activations, message):
    np.save(tmp_path / "W.npy", weights)
    np.save(tmp_path / "X.npy", activations)
    rc = main(["sim", "ternary", "--weights", str(tmp_path / "W.npy"), "--activations",
               str(tmp_path / "X.npy"), "--out", str(tmp_path / "Y.npy")])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "Y.npy").exists()


def test_bad_files_get_one_sentence(tmp_path, capsys):
    (tmp_path / "junk.npy").write_text("not an array")
    for weights in ("missing.npy", "junk.npy"):
        rc = main(["sim", "ternary", "--weights", str(tmp_path / weights), "--activations",
                   str(tmp_path / weights), "--out", str(tmp_path / "Y.npy")])
        err = capsys.readouterr().err
        assert rc == 2 and len(err.strip().splitlines()) == 1, err
        assert "does not exist" in err or "not a NumPy .npy array" in err


def test_bad_shape_parameters_name_the_parameter(tmp_path, capsys):
    assert main(["verilog", "ternary", "--lanes", "0", "-o", str(tmp_path / "a.v")]) == 2
    assert "lanes must be an integer in [1, 1024], got 0" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--cells", "3", "--multipliers", "2"],
     "--multipliers must be a power of two that divides --cells 3, got 2"),
    (["--shaper", "box"], "shaper must be one of clt, icdf, got 'box'"),
    (["--clock-mhz", "16"], "no SB_PLL40 setting makes 16 MHz from 12 MHz"),
    (["--lanes", "0"], "lanes must be an integer"),
    (["ternary-selftest", "--cells", "4"], "--cells, --multipliers, --shaper, --quartic, "
                                           "--moments and --clock-mhz size the SoC"),
    (["noise-selftest", "--shaper", "clt"], "noise-selftest takes no sizes"),
])
def test_bad_soc_sizes_get_one_sentence_before_any_build(tmp_path, capsys, argv, message):
    rc = main(["build", "--board", "icebreaker", "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not any(tmp_path.iterdir())              # refused before the tools ran


def test_doctor_finds_every_required_tool(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for tool in ("yosys", "nextpnr-ice40", "nextpnr-ecp5", "icepack", "ecppack", "verilator",
                 "iverilog", "openFPGALoader"):
        assert tool in out
    assert "missing" not in out
