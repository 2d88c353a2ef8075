"""`tritherm noise` and `tritherm noise-test`: Random123 known answers, output formats equal
to the golden model byte for byte, one-sentence errors, closed pipes, the dieharder table
and the Gaussian table."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tritherm.cli import main
from tritherm.sim.golden import noise_steps, threefry2x32, uniform_block
from tritherm.sim.verify.noise_vectors import KATS

SEED = (int(os.environ.get("TRITHERM_SEED", "0")) or
        int.from_bytes(os.urandom(3), "little")) & 0xFFFFFFFF


@pytest.fixture(autouse=True)
def print_seed():
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


# --- noise --uniform: plain Threefry blocks ---------------------------------------------------

def test_uniform_first_block_is_random123s_answer(capsys):
    assert run(capsys, "noise", "--uniform", "--key", "0:0", "--counter", "0:0", "--count",
               1) == (0, "6b200159 99ba4efe\n", "")


@pytest.mark.parametrize("words,out", KATS, ids=lambda v: "-".join(f"{w:08x}" for w in v))
@pytest.mark.parametrize("prefix", ["", "0x"])
def test_uniform_known_answers(capsys, words, out, prefix):
    c0, c1, k0, k1 = (f"{prefix}{w:08x}" for w in words)
    rc, text, _ = run(capsys, "noise", "--uniform", "--key", f"{k0}:{k1}", "--counter",
                      f"{c0}:{c1}", "--count", 1, "--format", "hex")
    assert rc == 0 and text == f"{out[0]:08x} {out[1]:08x}\n"


def test_uniform_counter_counts_in_64_bits(capsys):
    rc, text, _ = run(capsys, "noise", "--uniform", "--key", "1234:abcd", "--counter",
                      "fffffffe:7", "--count", 4, "--rounds", 13)
    assert rc == 0
    lines = text.splitlines()
    start = 0xFFFFFFFE | 7 << 32
    for i, line in enumerate(lines):
        c = start + i
        out = threefry2x32(np.uint32(c & 0xFFFFFFFF), np.uint32(c >> 32), np.uint32(0x1234),
                           np.uint32(0xABCD), 13)
        assert line == f"{int(out[0]):08x} {int(out[1]):08x}"
    assert len(lines) == 4


# --- noise: streams ---------------------------------------------------------------------------

def test_raw_is_the_uniform_words_of_the_golden_model(tmp_path):
    path = tmp_path / "noise.bin"
    assert main(["noise", "--seed", str(SEED), "--streams", "3", "--count", "70000",
                 "--format", "raw", "--out", str(path)]) == 0
    golden = uniform_block(SEED, np.arange(3)[None, :], np.arange(70000)[:, None])
    assert path.read_bytes() == golden.astype("<u4").tobytes()


def test_hex_is_the_raw_words_as_text(capsys, tmp_path):
    rc, text, _ = run(capsys, "noise", "--seed", SEED, "--streams", 2, "--count", 5,
                      "--format", "hex")
    golden = uniform_block(SEED, np.arange(2)[None, :], np.arange(5)[:, None]).reshape(-1, 2)
    assert rc == 0 and text.splitlines() == [f"{a:08x} {b:08x}" for a, b in golden.tolist()]
    # A stream is Threefry under key (index, seed): the same blocks as --uniform.
    rc, plain, _ = run(capsys, "noise", "--uniform", "--key", f"1:{SEED:x}", "--count", 5)
    assert plain.splitlines() == text.splitlines()[1::2]


@pytest.mark.parametrize("shaper", ["clt", "icdf"])
def test_int_and_float_are_the_gaussian_samples(capsys, shaper):
    golden = noise_steps(SEED, 3, 301, shaper)
    rc, text, _ = run(capsys, "noise", "--seed", SEED, "--streams", 3, "--count", 301,
                      "--format", "int", "--shaper", shaper)
    assert rc == 0
    np.testing.assert_array_equal(np.array([line.split() for line in text.splitlines()],
                                           dtype=np.int64), golden)
    rc, text, _ = run(capsys, "noise", "--seed", SEED, "--count", 301, "--format", "float",
                      "--shaper", shaper)
    assert rc == 0
    assert [float(v) for v in text.split()] == (golden[:, 0] / 4096).tolist()


def test_closed_pipe_ends_quietly():
    generator = subprocess.Popen([sys.executable, "-m", "tritherm.cli", "noise", "--format",
                                  "raw"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = generator.stdout.read(4096)
    generator.stdout.close()
    _, err = generator.communicate(timeout=60)
    assert first == uniform_block(0, 0, np.arange(512)).astype("<u4").tobytes()
    assert generator.returncode == 0 and err == b""


@pytest.mark.parametrize("argv, message", [
    ("--uniform --key 0:0 --counter 12g4:0 --count 1", "'12g4' is not a hexadecimal word"),
    ("--uniform --key 0:1ffffffff --count 1", "does not fit in 32 bits"),
    ("--uniform --key 0x:0 --count 1", "is not a hexadecimal word"),
    ("--uniform --key 0 --count 1", "--key must be two hex words"),
    ("--uniform --key 0:0 --count 1 --rounds 0", "--rounds must be a whole number in [1, 32]"),
    ("--uniform --key 0:0 --count 1 --rounds 33", "--rounds must be a whole number in [1, 32]"),
    ("--uniform --key 0:0 --count 0", "--count must be at least 1"),
    ("--uniform --key 0:0 --count -5", "--count must be at least 1"),
    ("--uniform --key 0:0 --count many", "--count must be a whole number"),
    ("--uniform --key 0:0 --count 1 --format int", "use --format hex or raw"),
    ("--uniform --count 1", "--uniform needs --key"),
    ("--key 0:0 --count 1", "--key and --counter need --uniform"),
    ("--count 3 --format bin", "--format must be one of raw, int, float, hex"),
    ("--count 3 --shaper box", "--shaper must be clt or icdf"),
    ("--count 3 --format raw --shaper clt", "--shaper applies to --format int and float"),
    ("--format float", "--count is required"),
    ("--seed 4294967296 --count 1", "--seed must be in [0, 2**32 - 1]"),
    ("--streams 0 --count 1", "--streams must be a whole number"),
])
def test_bad_values_get_one_sentence(capsys, tmp_path, argv, message):
    out = tmp_path / "out.txt"
    rc, text, err = run(capsys, "noise", *argv.split(), "--out", out)
    assert rc == 2 and text == ""
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("tritherm: error: ") and err.strip().endswith(".")
    assert not out.exists()


# --- noise-test -------------------------------------------------------------------------------

def test_gaussian_table_passes_threefry_and_fails_the_lfsr(capsys, monkeypatch):
    monkeypatch.setenv("TRITHERM_PROGRESS", "1")     # stage lines as on a terminal
    rc, text, err = run(capsys, "noise-test", "--gaussian", "--samples", 20000, "--seed", SEED)
    assert rc == 0, text
    rows = [line.split() for line in text.splitlines()]
    checks = {(r[0], r[2]): r[-1] for r in rows
              if r and r[0] in ("clt", "icdf", "lfsr-clt") and r[-1] in ("PASS", "FAIL")}
    assert checks == {("clt", "|autocorrelation|,"): "PASS", ("clt", "|cross-correlation|,"):
                      "PASS", ("icdf", "|autocorrelation|,"): "PASS",
                      ("icdf", "|cross-correlation|,"): "PASS",
                      ("lfsr-clt", "|autocorrelation|,"): "FAIL",
                      ("lfsr-clt", "|cross-correlation|,"): "FAIL"}
    for source in ("clt", "icdf", "lfsr-clt"):
        for statistic in ("mean", "variance", "skewness", "excess kurtosis", "KS distance",
                          "Anderson-Darling"):
            assert any(line.startswith(source) and statistic in line
                       for line in text.splitlines()), (source, statistic)
    from scipy.stats import norm
    lags = norm.isf((1 - (1 - 1e-6) ** (1 / 16)) / 2) / 20000 ** 0.5     # Sidak, 16 lags
    assert f"z/sqrt(n) = {lags:.2e} (lags)" in text
    assert err.count("noise-test:") == 9             # a progress line per stage


def test_progress_is_quiet_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("TRITHERM_PROGRESS", raising=False)
    rc, text, err = run(capsys, "noise-test", "--gaussian", "--samples", 200, "--seed", SEED)
    assert rc == 0 and err == ""
    assert "independence: PASS for the counter-based streams; lfsr-clt: FAIL" in text


def test_noise_test_without_dieharder_says_how_to_install(capsys, monkeypatch):
    import tritherm.sim.noise_stats as noise_stats
    monkeypatch.setattr(noise_stats.shutil, "which", lambda name: None)
    rc, text, err = run(capsys, "noise-test", "--quick")
    assert rc == 2 and "apt-get install dieharder" in err
    assert len(err.strip().splitlines()) == 1


def test_noise_test_quick_runs_dieharder(capsys):
    if shutil.which("dieharder") is None:
        if os.environ.get("CI"):
            pytest.fail("dieharder is missing on CI: `make setup` installs it (apt-get "
                        "install dieharder)")
        pytest.skip("dieharder is not installed (sudo apt-get install dieharder)")
    from tritherm.sim.noise_stats import QUICK_TESTS
    # A fixed stream: with only 10 p-values per test, dieharder's verdicts are coarse
    # enough that some random seed eventually gets a FAILED from a sound generator (seen
    # once: rank_32x32 at p = 0.9999992). The run is deterministic for a fixed seed.
    rc, text, err = run(capsys, "noise-test", "--quick", "--seed", 1, "--psamples", 10)
    print(text)
    assert rc == 0, text + err
    tested = {line.split()[0] for line in text.splitlines()
              if line.split() and line.split()[-1] in ("PASSED", "WEAK")}
    assert tested == {name for _, name in QUICK_TESTS}
    assert "0 failed" in text
