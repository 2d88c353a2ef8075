"""Every bad input a user could give, answered: one table of rows, one test.

Each row is a command line with a bad value in it (missing, a directory, a text file, the
wrong dtype, empty, complex, NaN/inf, out of range, huge, an output path that cannot be
written, an option that would be silently ignored, ...). The test runs it in-process and
asserts the conventions of docs/cli.md and the design brief:

- exit status 2 (bad input, or a missing tool or board);
- stderr is exactly one line, ``tritherm...: error: <one sentence>.``, and no traceback;
- no warnings (a warning is a second line the user sees);
- nothing written: no result file, no partial or temporary file, no file changed (the
  whole of the row's directory is compared before and after);
- no work started: the expensive steps (simulators, the SoC simulation, place and route,
  the statistics runs) are trip-wired, so every check must come before them.

Placeholders ``{name}`` in a row's arguments are files the `files` fixture makes in
tmp_path when a row names them (see `FILES`); ``{o}`` is an empty output directory.
"""

from __future__ import annotations

import dataclasses
import errno
import glob
import hashlib
import os
import string
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from tritherm.cli import main


class Row(NamedTuple):
    id: str
    argv: tuple[str, ...]
    message: str | None = None      # a fragment the sentence must contain
    outputs: tuple[str, ...] = ()   # paths (or globs) that must not exist afterwards


ROWS: list[Row] = []


def row(id, argv, message=None, outputs=()):
    ROWS.append(Row(id, tuple(argv), message, tuple(outputs)))


def swap(argv, option, value=None):
    """`argv` with `option`'s value replaced by `value` (or the option removed if None)."""
    argv = list(argv)
    i = argv.index(option)
    if value is None:
        del argv[i:i + 2]
    else:
        argv[i + 1] = value
    return argv


# --- the files a row may name --------------------------------------------------------------

def _spd(d=3):
    return np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])[:d, :d]


def _save(name, array, **kwargs):
    def make(tmp):
        path = tmp / name
        np.save(path, array, **kwargs)
        return path
    return make


def _text(name, text):
    def make(tmp):
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path
    return make


def _dir(name):
    def make(tmp):
        path = tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path
    return make


def _copy(name, source):
    def make(tmp):
        path = tmp / name
        path.write_bytes(Path(source).read_bytes())
        return path
    return make


def _digits_model_path():
    from tritherm.apps.digits import default_model_path
    return default_model_path()


def _sparse(name, shape):
    """A large all-zero .npy written sparsely (no time, no disk)."""
    def make(tmp):
        path = tmp / name
        np.lib.format.open_memmap(path, mode="w+", dtype=np.int8, shape=shape).flush()
        return path
    return make


_W = np.array([[1, 0, -1, 1, 0, 0, -1, 1, 1, 0],
               [0, 1, 1, -1, 0, 1, 0, 0, -1, 1],
               [-1, -1, 0, 0, 1, 0, 1, 0, 0, 1]], dtype=np.int8)
_X = np.array([5, -3, 127, -128, 0, 1, 2, 3, 4, 5], dtype=np.int8)
#: K beyond what an int32 result holds: 128 * K > 2**31 - 1.
BIG_K = (2 ** 31 - 1) // 128 + 1

FILES = {
    # good inputs
    "W": _save("W.npy", _W),
    "x": _save("x.npy", _X),
    "xb": _save("xb.npy", np.stack([_X, -_X.astype(np.int16)]).astype(np.int16)),
    "A": _save("A.npy", _spd()),
    "Acsv": _text("A.csv", "4,1,0\n1,3,0.5\n0,0.5,2\n"),
    "b": _save("b.npy", np.array([1.0, -2.0, 0.5])),
    "bin": _text("soc.bin", "not really a bitstream"),
    "bit": _text("soc.bit", "not really a bitstream"),
    "keep": _save("keep.npy", np.arange(3)),
    # not arrays
    "dir": _dir("adir"),
    "txt": _text("notes.txt", "hello\n"),
    "junk": _text("junk.npy", "not an array\n"),
    "zero": _text("zero.npy", ""),
    "npz": lambda tmp: (np.savez(tmp / "A.npz", A=_spd()), tmp / "A.npz")[1],
    "obj": _save("obj.npy", np.array([[1, "a"], [None, 2]], dtype=object), allow_pickle=True),
    "str": _save("str.npy", np.array([["1", "0"], ["0", "1"]])),
    "pickle": lambda tmp: ((tmp / "p.npy").write_bytes(b"\x80\x04K\x01."), tmp / "p.npy")[1],
    # ternary inputs of the wrong kind
    "W2": _save("W2.npy", np.where(_W == 1, 2, _W)),
    "Wneg": _save("Wneg.npy", np.full((2, 10), -2)),
    "Wfrac": _save("Wfrac.npy", _W * 0.5),
    "Wnan": _save("Wnan.npy", np.where(_W == 1, np.nan, _W)),
    "Winf": _save("Winf.npy", np.where(_W == 1, np.inf, _W)),
    "Wcomplex": _save("Wcomplex.npy", _W.astype(complex)),
    "Wbool": _save("Wbool.npy", _W != 0),
    "W1d": _save("W1d.npy", _W[0]),
    "W3d": _save("W3d.npy", np.stack([_W, _W])),
    "Wscalar": _save("Wscalar.npy", np.array(1)),
    "Wempty": _save("Wempty.npy", np.zeros((3, 0), dtype=np.int8)),
    "Wnone": _save("Wnone.npy", np.zeros((0, 10), dtype=np.int8)),
    "Whuge": _save("Whuge.npy", np.full((3, 10), 2 ** 62, dtype=np.int64)),
    "WK": _save("WK.npy", _W[:, :7]),
    "WbigK": _sparse("WbigK.npy", (1, BIG_K)),
    "xbigK": _sparse("xbigK.npy", (BIG_K,)),
    "x128": _save("x128.npy", np.where(_X == 127, 128, _X.astype(np.int16))),
    "xneg": _save("xneg.npy", np.full(10, -129, dtype=np.int16)),
    "xhuge": _save("xhuge.npy", np.full(10, 2 ** 40, dtype=np.int64)),
    "xfrac": _save("xfrac.npy", _X / 2),
    "xnan": _save("xnan.npy", np.where(_X == 0, np.nan, _X)),
    "xinf": _save("xinf.npy", np.where(_X == 0, -np.inf, _X)),
    "xcomplex": _save("xcomplex.npy", _X + 1j),
    "x3d": _save("x3d.npy", np.zeros((2, 2, 10), dtype=np.int8)),
    "xscalar": _save("xscalar.npy", np.array(3, dtype=np.int8)),
    "xempty": _save("xempty.npy", np.zeros(0, dtype=np.int8)),
    "xbatch0": _save("xbatch0.npy", np.zeros((0, 10), dtype=np.int8)),
    "xK": _save("xK.npy", _X[:7]),
    "xu64": _save("xu64.npy", np.full(10, 2 ** 63, dtype=np.uint64)),
    # matrices of the wrong kind
    "Acomplex": _save("Acomplex.npy", _spd() + 1j * np.eye(3)),
    "Anan": _save("Anan.npy", np.where(np.eye(3) == 1, np.nan, _spd())),
    "Ainf": _save("Ainf.npy", np.where(np.eye(3) == 1, np.inf, _spd())),
    "Ahuge": _save("Ahuge.npy", _spd() * 4e307),     # A + A^T overflows
    "Aempty": _save("Aempty.npy", np.zeros((0, 0))),
    "A1d": _save("A1d.npy", np.array([1.0, 2.0, 3.0])),
    "A3d": _save("A3d.npy", np.stack([_spd(), _spd()])),
    "Arect": _save("Arect.npy", np.ones((3, 4))),
    "Anonsym": _save("Anonsym.npy", _spd() + np.triu(np.ones((3, 3)), 1)),
    "Aindef": _save("Aindef.npy", np.diag([1.0, -1.0, 2.0])),
    "Azero": _save("Azero.npy", np.zeros((3, 3))),
    "Abig": _save("Abig.npy", np.eye(257)),
    "A1": _save("A1.npy", np.array([[2.0]])),
    "Acond": _save("Acond.npy", np.diag([1.0, 1e-9, 1.0])),
    "Abool": _save("Abool.npy", np.eye(3, dtype=bool)),
    "Atext_csv": _text("Atext.csv", "a,b,c\n1,2,3\n4,5,6\n"),
    "Aragged_csv": _text("Aragged.csv", "4,1,0\n1,3\n0,0.5,2\n"),
    "Aempty_csv": _text("Aempty.csv", ""),
    "Anan_csv": _text("Anan.csv", "nan,1,0\n1,3,0.5\n0,0.5,2\n"),
    "Asemi_csv": _text("Asemi.csv", "4;1;0\n1;3;0.5\n0;0.5;2\n"),
    "Acomplex_csv": _text("Acomplex.csv", "4+1j,1,0\n1,3,0.5\n0,0.5,2\n"),
    "Atxt": _text("A.txt", "4 1 0\n1 3 0.5\n0 0.5 2\n"),
    "bwrong": _save("bwrong.npy", np.ones(4)),
    "bnan": _save("bnan.npy", np.array([1.0, np.nan, 0.0])),
    "binf": _save("binf.npy", np.array([1.0, np.inf, 0.0])),
    "bcomplex": _save("bcomplex.npy", np.array([1.0, 1j, 0.0])),
    "b2d": _save("b2d.npy", np.ones((3, 2))),
    "bempty": _save("bempty.npy", np.zeros(0)),
    "bhuge": _save("bhuge.npy", np.array([1e300, 0.0, 0.0])),
    # outputs
    "o": _dir("o"),
    "npydir": _dir("o/res.npy"),
    "csvdir": _dir("o/res.csv"),
    "vcddir": _dir("o/wave.vcd"),
    "gvcd": lambda tmp: (_dir("o/g.golden.vcd")(tmp), tmp / "o" / "g.vcd")[1],
    "vdir": _dir("o/core.v"),
    "pngdir": _dir("o/plot.png"),
    "builddir_file": _text("o/build-here", "a file, not a directory\n"),
    # digits for `apps digits eval`
    "img": _save("img.npy", np.tile(np.arange(64) % 17, (3, 1))),
    "img17": _save("img17.npy", np.full((2, 64), 17)),
    "imgneg": _save("imgneg.npy", np.full((2, 64), -1)),
    "imgfrac": _save("imgfrac.npy", np.full((2, 64), 0.5)),
    "imgnan": _save("imgnan.npy", np.full((2, 64), np.nan)),
    "imgshape": _save("imgshape.npy", np.zeros((2, 63), dtype=np.int64)),
    "img8x8": _save("img8x8.npy", np.zeros((2, 8, 8), dtype=np.int64)),
    "imgempty": _save("imgempty.npy", np.zeros((0, 64), dtype=np.int64)),
    "imgcomplex": _save("imgcomplex.npy", np.zeros((2, 64), dtype=complex)),
    "lab": _save("lab.npy", np.array([1, 2, 3])),
    "lab10": _save("lab10.npy", np.array([1, 10, 3])),
    "labneg": _save("labneg.npy", np.array([1, -1, 3])),
    "labshort": _save("labshort.npy", np.array([1, 2])),
    "lab2d": _save("lab2d.npy", np.array([[1, 2, 3]])),
    "labfrac": _save("labfrac.npy", np.array([1.5, 2, 3])),
    "modeljunk": _text("model.npz", "not a model\n"),
    # a model of another application (the digit classifier's) for `apps generate`
    "digitsmodel": lambda tmp: _copy("digits-model.npz", _digits_model_path())(tmp),
    "npzdir": _dir("o/s.npz"),
}


def _names(argv):
    return {field for arg in argv for _, field, _, _ in string.Formatter().parse(arg) if field}


@pytest.fixture
def files(tmp_path):
    made = {"tmp": tmp_path}

    def make(names):
        for name in sorted(names - made.keys()):
            if name == "o" or name not in FILES:
                continue
            made[name] = FILES[name](tmp_path)
        if "o" not in made:
            made["o"] = FILES["o"](tmp_path)
        return {k: str(v) for k, v in made.items()}
    return make


def _snapshot(root: Path) -> dict:
    """Every path under `root` with a digest of each file's contents."""
    state = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_dir():
            state[key] = "dir"
        else:
            state[key] = hashlib.sha1(path.read_bytes()).hexdigest()
    return state


class WorkStarted(BaseException):
    """Raised by a trip-wired expensive step: the command started work before it had
    checked all of its input."""


def _tripwire(name):
    def tripped(*args, **kwargs):
        raise WorkStarted(f"{name} ran before the input was checked")
    return tripped


@pytest.fixture
def tripwires(monkeypatch):
    install_tripwires(monkeypatch)


def install_tripwires(monkeypatch):
    """Make every expensive step raise `WorkStarted`."""
    import amaranth.back.verilog
    import tritherm.bench
    import tritherm.boards.build
    import tritherm.firmware.device
    import tritherm.sim.coupler_stats
    import tritherm.sim.linalg
    import tritherm.sim.noise_stats
    import tritherm.sim.verify.coupler_vcd
    import tritherm.sim.verify.ternary_driver

    import tritherm.apps.digits.integer
    import tritherm.apps.digits.pipeline
    import tritherm.apps.generate.model
    import tritherm.apps.generate.sampling
    import tritherm.bench.generate
    import tritherm.commands.demo
    monkeypatch.setattr(tritherm.apps.digits.integer.IntegerNetwork, "forward",
                        _tripwire("IntegerNetwork.forward"))
    for module, name in [
        (tritherm.apps.digits.pipeline, "train_and_save"),
        (tritherm.apps.generate.model, "train"),
        (tritherm.apps.generate.sampling, "sample"),
        (tritherm.bench.generate, "bench_generate"),
        (tritherm.boards.build, "_platform_build"),
        (tritherm.sim.verify.ternary_driver, "run_matrix"),
        (tritherm.sim.verify.coupler_vcd, "run_with_waves"),
        (tritherm.firmware.device, "SimTransport"),
        (tritherm.sim.linalg, "_run_golden"),
        (tritherm.sim.linalg, "_run_rtl"),
        (tritherm.sim.linalg, "_run_board"),
        (tritherm.sim.linalg, "_run_board_moments"),
        (tritherm.sim.noise_stats, "gaussian_battery"),
        (tritherm.sim.noise_stats, "run_dieharder"),
        (tritherm.sim.coupler_stats, "run_stats"),
        (tritherm.bench, "bench_ternary"),
        (tritherm.bench, "bench_noise"),
        (tritherm.bench, "bench_coupler"),
        (tritherm.bench.coupler, "time_to_solution"),
        (tritherm.commands.demo, "run_demo"),
        (amaranth.back.verilog, "convert"),
    ]:
        monkeypatch.setattr(module, name, _tripwire(f"{module.__name__}.{name}"))
    # The noise writers may make their first chunk (it checks the values) but no more.
    for name in ("uniform_chunks", "gaussian_chunks", "counter_chunks"):
        real = getattr(tritherm.sim.noise_stats, name)

        def first_only(*args, _real=real, _name=name, **kwargs):
            chunks = _real(*args, **kwargs)
            yield next(chunks)
            raise WorkStarted(f"{_name} wrote more than its first chunk")
        monkeypatch.setattr(tritherm.sim.noise_stats, name, first_only)


# --- the rows, command by command ----------------------------------------------------------

# top level
row("top-no-command", [], "required")
row("top-unknown-command", ["frobnicate"], "invalid choice")
row("top-unknown-option", ["--frobnicate"], "required")
row("top-misspelt-command", ["sims"], "invalid choice")

# doctor, boards, apps, demo: no arguments to get wrong but extra ones
row("doctor-extra-argument", ["doctor", "now"], "unrecognized")
row("doctor-unknown-option", ["doctor", "--fix"], "unrecognized")
row("boards-extra-argument", ["boards", "icebreaker"], "unrecognized")
row("boards-unknown-option", ["boards", "--all"], "unrecognized")
row("apps-no-app", ["apps"], "required")
row("apps-unknown-app", ["apps", "frobnicate"], "invalid choice")

# apps digits train
TRAIN = ["apps", "digits", "train", "--out", "{o}/m.npz"]
row("digits-no-action", ["apps", "digits"], "required")
row("digits-unknown-action", ["apps", "digits", "fit"], "invalid choice")
for value, message in [("x", "whole number"), ("-1", "--seed"), ("2**40", "--seed"),
                       ("", "whole number")]:
    row(f"digits-train-seed-{value or 'empty'}", swap(TRAIN, "--out", "{o}/m.npz") + ["--seed", value],
        message, ["{o}/m.npz"])
for value, message in [("0", "at least 1"), ("-3", "at least 1"), ("ten", "whole number"),
                       ("1e9", "whole number"), ("10**9", "at most"), ("", "whole number")]:
    row(f"digits-train-epochs-{value or 'empty'}", TRAIN + ["--epochs", value], message,
        ["{o}/m.npz"])
for out, message, name in [("{o}/m.txt", ".npz", "suffix"), ("{o}/missing/m.npz", "does not exist", "nodir"),
                           ("{txt}/m.npz", "is a file", "through-file"),
                           ("{o}", ".npz", "dir"), ("", "empty", "empty"),
                           ("/proc/m.npz", "cannot create", "unwritable")]:
    row(f"digits-train-out-{name}", swap(TRAIN, "--out", out), message)

# apps digits eval
EVAL = ["apps", "digits", "eval"]
for args, message, name in [
    (["--images", "{img17}"], "17", "image-17"), (["--images", "{imgneg}"], "-1", "image-negative"),
    (["--images", "{imgfrac}"], "integers", "image-fraction"), (["--images", "{imgnan}"], "integers", "image-nan"),
    (["--images", "{imgshape}"], "64", "image-63-pixels"), (["--images", "{img8x8}"], "64", "image-8x8"),
    (["--images", "{imgempty}"], "--images", "image-empty"), (["--images", "{imgcomplex}"], "--images", "image-complex"),
    (["--images", "{txt}"], "--images", "image-text"), (["--images", "{dir}"], "--images", "image-dir"),
    (["--images", "{tmp}/none.npy"], "does not exist", "image-missing"), (["--images", "{junk}"], "--images", "image-junk"),
    (["--images", "{img}", "--labels", "{lab10}"], "10", "labels-10"),
    (["--images", "{img}", "--labels", "{labneg}"], "-1", "labels-negative"),
    (["--images", "{img}", "--labels", "{labshort}"], "--labels", "labels-short"),
    (["--images", "{img}", "--labels", "{lab2d}"], "--labels", "labels-2d"),
    (["--images", "{img}", "--labels", "{labfrac}"], "integers", "labels-fraction"),
    (["--labels", "{lab}"], "--labels goes with --images", "labels-alone"),
    (["--images", "{img}", "--labels", "{tmp}/none.npy"], "does not exist", "labels-missing"),
    (["--model", "{tmp}/none.npz"], "none.npz", "model-missing"), (["--model", "{modeljunk}"], "model", "model-junk"),
    (["--model", "{dir}"], "adir", "model-dir"),
    (["--limit", "0"], "at least 1", "limit-0"), (["--limit", "x"], "whole number", "limit-text"),
    (["--limit", "-5"], "at least 1", "limit-negative"),
    (["--backend", "fpga"], "invalid choice", "backend-unknown"),
    (["--simulator", "icarus"], "--simulator goes with --backend rtl", "simulator-on-golden"),
    (["--backend", "board", "--simulator", "verilator", "--port", "sim"], "--simulator", "simulator-on-board"),
    (["--backend", "rtl", "--simulator", "modelsim"], "invalid choice", "simulator-unknown"),
    (["--port", "sim"], "--backend board", "port-on-golden"), (["--board", "icebreaker"], "--backend board", "board-on-golden"),
    (["--backend", "board"], "--port", "board-no-port"), (["--backend", "board", "--port", ""], "empty", "board-empty-port"),
    (["--backend", "board", "--port", "sim", "--board", "nosuch"], "unknown board", "board-unknown"),
    (["--backend", "board", "--port", "{dir}"], "directory", "board-port-dir"),
    (["--backend", "rtl", "--port", "sim"], "--backend board", "port-on-rtl"),
]:
    row(f"digits-eval-{name}", EVAL + args, message)
for plot, message, name in [("{o}/c.jpg", ".png", "suffix"), ("{o}/no/c.png", "does not exist", "nodir"),
                            ("{txt}/c.png", "is a file", "through-file"), ("{pngdir}", "directory", "dir"),
                            ("", "empty", "empty"), ("/proc/c.png", "cannot create", "unwritable")]:
    row(f"digits-eval-plot-{name}", EVAL + ["--plot", plot], message)

# apps generate train
GT = ["apps", "generate", "train", "--out", "{o}/m.npz"]
GTOUT = ("{o}/m.npz", "generate-model.npz")
row("generate-no-action", ["apps", "generate"], "required")
row("generate-unknown-action", ["apps", "generate", "fit"], "invalid choice")
for option, bad, name, message in [
    ("--seed", "x", "seed-text", "whole number"), ("--seed", "-1", "seed-negative", "--seed"),
    ("--seed", str(2 ** 32), "seed-too-big", "--seed"), ("--seed", "", "seed-empty", "whole number"),
    ("--hidden", "0", "hidden-0", "at least 1"), ("--hidden", "-3", "hidden-negative", "at least 1"),
    ("--hidden", "ten", "hidden-text", "whole number"), ("--hidden", "2000", "hidden-huge", "at most 1024"),
    ("--hidden", "12.5", "hidden-fraction", "whole number"), ("--hidden", "", "hidden-empty", "whole number"),
    ("--epochs", "0", "epochs-0", "at least 1"), ("--epochs", "x", "epochs-text", "whole number"),
    ("--epochs", "101", "epochs-huge", "at most 100"),
    ("--out", "{o}/m.txt", "out-suffix", ".npz"), ("--out", "{o}/missing/m.npz", "out-nodir", "does not exist"),
    ("--out", "{txt}/m.npz", "out-through-file", "is a file"), ("--out", "{npzdir}", "out-dir", "directory"),
    ("--out", "", "out-empty", "empty"), ("--out", "/proc/m.npz", "out-unwritable", "cannot create"),
]:
    row(f"generate-train-{name}", swap(GT, option, bad) if option in GT else [*GT, option, bad],
        message, GTOUT)

# apps generate sample
GS = ["apps", "generate", "sample", "--out", "{o}/g.png"]
GSOUT = ("{o}/g.png", "generate-grid.png", "{o}/s.npz", "{o}/.g.png*", "{o}/.s.npz*")
for option, bad, name, message in [
    ("--digit", "10", "digit-10", "0..9"), ("--digit", "-1", "digit-negative", "0..9"),
    ("--digit", "x", "digit-text", "--digit"), ("--digit", "", "digit-empty", "--digit"),
    ("--digit", "3.5", "digit-fraction", "--digit"), ("--digit", "1,2", "digit-list", "--digit"),
    ("--count", "0", "count-0", "at least 1"), ("--count", "-1", "count-negative", "at least 1"),
    ("--count", "10**6", "count-huge", "at most 100000"), ("--count", "x", "count-text", "whole number"),
    ("--seed", "-1", "seed-negative", "--seed"), ("--seed", str(2 ** 32), "seed-too-big", "--seed"),
    ("--seed", "x", "seed-text", "whole number"),
    ("--model", "{tmp}/none.npz", "model-missing", "none.npz"), ("--model", "{modeljunk}", "model-junk", "model"),
    ("--model", "{dir}", "model-dir", "adir"), ("--model", "{npz}", "model-other-npz", "not a generative model"),
    ("--model", "{digitsmodel}", "model-of-the-classifier", "not a generative model"),
    ("--backend", "fpga", "backend-unknown", "invalid choice"),
    ("--simulator", "icarus", "simulator-on-fixed", "--simulator goes with --backend rtl"),
    ("--simulator", "modelsim", "simulator-unknown", "invalid choice"),
    ("--port", "sim", "port-on-fixed", "--backend board"), ("--board", "icebreaker", "board-on-golden", "--backend board"),
    ("--out", "{o}/g.jpg", "out-suffix", ".png"), ("--out", "{o}/no/g.png", "out-nodir", "does not exist"),
    ("--out", "{txt}/g.png", "out-through-file", "is a file"), ("--out", "{pngdir}", "out-dir", "directory"),
    ("--out", "", "out-empty", "empty"), ("--out", "/proc/g.png", "out-unwritable", "cannot create"),
    ("--save", "{o}/s.npy", "save-suffix", ".npz"), ("--save", "{o}/no/s.npz", "save-nodir", "does not exist"),
    ("--save", "{txt}/s.npz", "save-through-file", "is a file"), ("--save", "{npzdir}", "save-dir", "directory"),
    ("--save", "", "save-empty", "empty"), ("--save", "/proc/s.npz", "save-unwritable", "cannot create"),
]:
    argv = swap(GS, option, bad) if option in GS else [*GS, option, bad]
    if option == "--board":
        argv = [*argv, "--backend", "golden"]
    row(f"generate-sample-{name}", argv, message, GSOUT)
for args, message, name in [
    (["--backend", "board", "--simulator", "verilator", "--port", "sim"], "--simulator", "simulator-on-board"),
    (["--backend", "board"], "--port", "board-no-port"), (["--backend", "board", "--port", ""], "empty", "board-empty-port"),
    (["--backend", "board", "--port", "sim", "--board", "nosuch"], "unknown board", "board-unknown"),
    (["--backend", "board", "--port", "{dir}"], "directory", "board-port-dir"),
    (["--backend", "rtl", "--port", "sim"], "--backend board", "port-on-rtl"),
    (["--backend", "float", "--board", "ulx3s-85f"], "--backend board", "board-on-float"),
]:
    row(f"generate-sample-{name}", GS + args, message, GSOUT)
row("demo-unknown-option", ["demo", "--quick"], "unrecognized")
row("demo-extra-argument", ["demo", "now"], "unrecognized")
row("demo-flag-with-value", ["demo", "--no-build=yes"], "ignored explicit argument")
row("demo-misspelt-flag", ["demo", "--nobuild"], "unrecognized")

# verilog
V = ["verilog", "ternary", "-o", "{o}/core.v"]
VOUT = ("{o}/core.v",)
row("verilog-no-core", ["verilog", "-o", "{o}/core.v"], "required", VOUT)
row("verilog-unknown-core", ["verilog", "coupler9", "-o", "{o}/core.v"], "invalid choice", VOUT)
row("verilog-no-output", ["verilog", "ternary"], "required")
row("verilog-output-empty", swap(V, "-o", ""), "-o")
row("verilog-output-wrong-suffix", swap(V, "-o", "{o}/core.txt"), ".v", ("{o}/core.txt",))
row("verilog-output-npy-suffix", swap(V, "-o", "{o}/core.npy"), ".v", ("{o}/core.npy",))
row("verilog-output-no-suffix", swap(V, "-o", "{o}/core"), ".v", ("{o}/core",))
row("verilog-output-is-directory", swap(V, "-o", "{vdir}"), "directory")
row("verilog-output-through-file", swap(V, "-o", "{txt}/core.v"), "not a directory")
row("verilog-output-missing-directory", swap(V, "-o", "{tmp}/nodir/core.v"), "does not exist")
row("verilog-output-in-proc", swap(V, "-o", "/proc/tritherm-core.v"), "/proc",
    ("/proc/tritherm-core.v",))
row("verilog-lanes-zero", [*V, "--lanes", "0"], "lanes", VOUT)
row("verilog-lanes-negative", [*V, "--lanes", "-4"], "lanes", VOUT)
row("verilog-lanes-text", [*V, "--lanes", "four"], "--lanes", VOUT)
row("verilog-lanes-float", [*V, "--lanes", "4.5"], "--lanes", VOUT)
row("verilog-lanes-huge", [*V, "--lanes", "100000000"], "lanes", VOUT)
row("verilog-inputs-zero", [*V, "--inputs", "0"], "inputs", VOUT)
row("verilog-inputs-text", [*V, "--inputs", "five"], "--inputs", VOUT)
row("verilog-inputs-huge", [*V, "--inputs", "1000000"], "inputs", VOUT)
row("verilog-max-k-zero", [*V, "--max-k", "0"], "max", VOUT)
row("verilog-max-k-negative", [*V, "--max-k", "-80"], "max", VOUT)
row("verilog-max-k-empty", [*V, "--max-k", ""], "--max-k", VOUT)
row("verilog-max-k-huge", [*V, "--max-k", str(2 ** 40)], "max", VOUT)
row("verilog-name-empty", [*V, "--name", ""], "--name", VOUT)
row("verilog-name-space", [*V, "--name", "my core"], "--name", VOUT)
row("verilog-name-digit", [*V, "--name", "1core"], "--name", VOUT)
row("verilog-name-keyword", [*V, "--name", "module"], "--name", VOUT)
row("verilog-name-slash", [*V, "--name", "a/b"], "--name", VOUT)

# sim ternary
ST = ["sim", "ternary", "--weights", "{W}", "--activations", "{x}", "--out", "{o}/y.npy"]
STOUT = ("{o}/y.npy",)
for option in ("--weights", "--activations", "--out"):
    row(f"sim-ternary-no{option}", swap(ST, option), "required", STOUT)
for option, what in (("--weights", "weights"), ("--activations", "activations")):
    for bad, name, message in [
        ("{tmp}/missing.npy", "missing", "does not exist"),
        ("{dir}", "directory", "directory"),
        ("{txt}", "text-file", None),
        ("{junk}", "junk-npy", None),
        ("{zero}", "empty-file", None),
        ("{npz}", "npz", None),
        ("{obj}", "object-array", None),
        ("{pickle}", "pickle", None),
        ("{str}", "strings", "integers"),
        ("{Acsv}", "csv", None),
        ("", "empty-path", None),
    ]:
        row(f"sim-ternary-{what}-{name}", swap(ST, option, bad), message, STOUT)
for bad, name, message in [
    ("{W2}", "two", "not a ternary weight"),
    ("{Wneg}", "minus-two", "not a ternary weight"),
    ("{Wfrac}", "fraction", "integers"),
    ("{Wnan}", "nan", None),
    ("{Winf}", "inf", None),
    ("{Wcomplex}", "complex", "complex"),
    ("{Wbool}", "bool", None),
    ("{W1d}", "vector", "N x K"),
    ("{W3d}", "3-d", "N x K"),
    ("{Wscalar}", "scalar", "N x K"),
    ("{Wempty}", "no-columns", "empty"),
    ("{Wnone}", "no-rows", "empty"),
    ("{Whuge}", "huge", "not a ternary weight"),
    ("{WK}", "k-mismatch", "K = 7"),
]:
    row(f"sim-ternary-weights-{name}", swap(ST, "--weights", bad), message, STOUT)
for bad, name, message in [
    ("{x128}", "128", "int8"),
    ("{xneg}", "minus-129", "int8"),
    ("{xhuge}", "huge", "int8"),
    ("{xu64}", "uint64-huge", "int8"),
    ("{xfrac}", "fraction", "integers"),
    ("{xnan}", "nan", None),
    ("{xinf}", "inf", None),
    ("{xcomplex}", "complex", "complex"),
    ("{x3d}", "3-d", "(K,) or (B, K)"),
    ("{xscalar}", "scalar", "(K,) or (B, K)"),
    ("{xempty}", "empty", None),
    ("{xbatch0}", "empty-batch", "empty"),
    ("{xK}", "k-mismatch", "K = 7"),
]:
    row(f"sim-ternary-activations-{name}", swap(ST, "--activations", bad), message, STOUT)
row("sim-ternary-k-beyond-int32",
    swap(swap(ST, "--weights", "{WbigK}"), "--activations", "{xbigK}"), "int32", STOUT)
for bad, name, message in [
    ("{o}/y.txt", "wrong-suffix", ".npy"),
    ("{o}/y.csv", "csv-suffix", ".npy"),
    ("{o}/y", "no-suffix", ".npy"),
    ("{o}/y.npy.gz", "gz-suffix", ".npy"),
    ("", "empty", "--out"),
    ("{npydir}", "directory", "directory"),
    ("{txt}/y.npy", "through-file", "not a directory"),
    ("{tmp}/nodir/y.npy", "missing-directory", "does not exist"),
    ("/proc/tritherm-y.npy", "in-proc", None),
    ("/dev/full", "dev-full", ".npy"),
]:
    row(f"sim-ternary-out-{name}", swap(ST, "--out", bad), message,
        (*STOUT, "{o}/y.txt", "{o}/y.csv", "{o}/y", "{o}/y.npy.gz", "/dev/.full*", "/proc/trit*"))
row("sim-ternary-out-kept-on-bad-input",
    swap(swap(ST, "--out", "{keep}"), "--weights", "{W2}"), "ternary")
for bad, name, message in [
    ("{o}/wave.txt", "wrong-suffix", ".vcd"),
    ("{o}/wave", "no-suffix", ".vcd"),
    ("{vcddir}", "directory", "directory"),
    ("{txt}/wave.vcd", "through-file", "not a directory"),
    ("{tmp}/nodir/wave.vcd", "missing-directory", "does not exist"),
    ("", "empty", "--vcd"),
]:
    row(f"sim-ternary-vcd-{name}", [*ST, "--vcd", bad], message, STOUT)
for option, bad, name in [
    ("--lanes", "0", "zero"), ("--lanes", "-1", "negative"), ("--lanes", "x", "text"),
    ("--lanes", "99999999", "huge"), ("--inputs", "0", "zero"), ("--inputs", "2.5", "float"),
    ("--inputs", "99999999", "huge"), ("--max-k", "0", "zero"), ("--max-k", "-80", "negative"),
    ("--max-k", "1e3", "float"),
]:
    row(f"sim-ternary{option}-{name}", [*ST, option, bad], option.lstrip("-")[:4], STOUT)
row("sim-ternary-unknown-simulator", [*ST, "--simulator", "modelsim"], "invalid choice", STOUT)
row("sim-ternary-unknown-backend", [*ST, "--backend", "fpga"], "invalid choice", STOUT)
row("sim-ternary-port-without-board-backend", [*ST, "--port", "/dev/ttyUSB1"], "--backend board",
    STOUT)
row("sim-ternary-board-without-board-backend", [*ST, "--board", "icebreaker"], "--backend board",
    STOUT)
STB = [*ST, "--backend", "board", "--port", "/dev/ttyNONE"]
for option, value in (("--lanes", "4"), ("--inputs", "5"), ("--max-k", "80"),
                      ("--simulator", "icarus"), ("--vcd", "{o}/wave.vcd")):
    row(f"sim-ternary-board-with{option}", [*STB, option, value], option,
        (*STOUT, "{o}/wave.vcd"))
row("sim-ternary-board-no-port", swap(STB, "--port"), "--port", STOUT)
row("sim-ternary-board-no-serial-port", STB, "/dev/ttyNONE", STOUT)
row("sim-ternary-board-port-is-text-file", swap(STB, "--port", "{txt}"), "serial port", STOUT)
row("sim-ternary-board-port-is-directory", swap(STB, "--port", "{dir}"), "serial port", STOUT)
row("sim-ternary-board-port-empty", swap(STB, "--port", ""), "--port", STOUT)
row("sim-ternary-board-unknown-board", [*STB, "--board", "de10"], "unknown board", STOUT)
row("sim-ternary-board-bad-weights", swap(STB, "--weights", "{W2}"), "ternary", STOUT)
row("sim-ternary-board-bad-out", swap(STB, "--out", "{o}/y.txt"), ".npy", ("{o}/y.txt",))
row("sim-ternary-sim-port-bad-out", [*swap(ST, "--out", "{txt}/y.npy"), "--backend", "board",
                                     "--port", "sim"], "not a directory")

# sim coupler
SC = ["sim", "coupler", "--cells", "4", "--steps", "10", "--vcd", "{o}/wave.vcd"]
SCOUT = ("{o}/wave.vcd", "{o}/wave.golden.vcd")
row("sim-coupler-no-steps", swap(SC, "--steps"), "required", SCOUT)
row("sim-coupler-no-vcd", swap(SC, "--vcd"), "required")
row("sim-coupler-no-cells-no-matrix", swap(SC, "--cells"), "--cells", SCOUT)
row("sim-coupler-no-core", ["sim"], "required")
row("sim-coupler-unknown-core", ["sim", "noise"], "invalid choice")
for bad, name in (("0", "zero"), ("-5", "negative"), ("ten", "text"), ("5001", "too-many"),
                  ("2.5", "float"), ("", "empty"), ("10**20", "huge"), ("nan", "nan")):
    row(f"sim-coupler-steps-{name}", swap(SC, "--steps", bad), "--steps", SCOUT)
for bad, name in (("1", "one"), ("0", "zero"), ("257", "too-many"), ("-8", "negative"),
                  ("eight", "text"), ("8.0", "float")):
    row(f"sim-coupler-cells-{name}", swap(SC, "--cells", bad), "cells", SCOUT)
for bad, name in (("3", "not-power-of-two"), ("0", "zero"), ("8", "more-than-cells"),
                  ("-2", "negative"), ("two", "text"), ("1024", "huge")):
    row(f"sim-coupler-multipliers-{name}", [*SC, "--multipliers", bad], "multipliers", SCOUT)
#: Matrix files no command that takes --matrix accepts: (path, row name, message fragment).
BAD_MATRICES = [
    ("{tmp}/missing.npy", "missing", "does not exist"),
    ("{dir}", "directory", "directory"),
    ("{txt}", "text-file", None),
    ("{Atxt}", "txt-numbers", ".npy or .csv"),
    ("{junk}", "junk-npy", None),
    ("{npz}", "npz", None),
    ("{obj}", "object-array", None),
    ("{Acomplex}", "complex", "complex"),
    ("{Anan}", "nan", "NaN"),
    ("{Ainf}", "inf", None),
    ("{Ahuge}", "huge", None),
    ("{Aempty}", "empty", "empty"),
    ("{A1d}", "vector", "square"),
    ("{A3d}", "3-d", "square"),
    ("{Arect}", "rectangular", "square"),
    ("{Anonsym}", "not-symmetric", "symmetric"),
    ("{Aindef}", "indefinite", "positive definite"),
    ("{Azero}", "zero", None),
    ("{Abig}", "too-big", "cells"),
    ("{Atext_csv}", "csv-text", None),
    ("{Aragged_csv}", "csv-ragged", None),
    ("{Aempty_csv}", "csv-empty", None),
    ("{Anan_csv}", "csv-nan", None),
    ("{Asemi_csv}", "csv-semicolons", None),
]

SCM = swap(SC, "--cells")
for bad, name, message in BAD_MATRICES + [
    ("{A1}", "one-cell", "cells"),
]:
    row(f"sim-coupler-matrix-{name}", [*SCM, "--matrix", bad], message, SCOUT)
row("sim-coupler-cells-disagree-with-matrix", [*SC, "--matrix", "{A}"], "--cells", SCOUT)
for bad, name in (("-1", "negative"), (str(2 ** 32), "too-big"), ("one", "text"),
                  ("1.5", "float"), ("", "empty")):
    row(f"sim-coupler-seed-{name}", [*SC, "--seed", bad], "--seed", SCOUT)
row("sim-coupler-unknown-mode", [*SC, "--mode", "critical"], "invalid choice", SCOUT)
row("sim-coupler-unknown-simulator", [*SC, "--simulator", "amaranth"], "invalid choice", SCOUT)
for bad, name, message in [
    ("{o}/wave.txt", "wrong-suffix", ".vcd"),
    ("{o}/wave", "no-suffix", ".vcd"),
    ("", "empty", "--vcd"),
    ("{vcddir}", "directory", "directory"),
    ("{gvcd}", "golden-is-directory", "directory"),
    ("{txt}/wave.vcd", "through-file", "not a directory"),
    ("{tmp}/nodir/wave.vcd", "missing-directory", "does not exist"),
    ("/proc/tritherm-wave.vcd", "in-proc", None),
]:
    row(f"sim-coupler-vcd-{name}", swap(SC, "--vcd", bad), message,
        ("{o}/wave.golden.vcd", "{o}/wave.txt", "{o}/wave", "/proc/tritherm-wave*", "{o}/.*"))

# build
B = ["build", "--board", "icebreaker"]
row("build-no-board", ["build"], "required")
row("build-unknown-board", swap(B, "--board", "de10-nano"), "unknown board")
row("build-board-empty", swap(B, "--board", ""), "board")
row("build-board-wrong-case", swap(B, "--board", "iCEBreaker"), "unknown board")
row("build-unknown-target", [*B, "blinky"], "unknown build target")
row("build-two-targets", [*B, "ternary-selftest", "noise-selftest"], "unrecognized")
row("build-unknown-design", [*B, "--design", "cpu"], "--design")
row("build-design-empty", [*B, "--design", ""], "--design")
row("build-design-with-target", [*B, "ternary-selftest", "--design", "echo"], "--design")
for option, bad in (("--lanes", "4"), ("--inputs", "5"), ("--max-k", "40"), ("--cells", "2"),
                    ("--multipliers", "1"), ("--shaper", "clt"), ("--clock-mhz", "12"),
                    ("--moments", "off")):
    row(f"build-noise-selftest-with{option}", [*B, "noise-selftest", option, bad],
        option)
for option, bad in (("--cells", "2"), ("--multipliers", "1"), ("--shaper", "clt"),
                    ("--quartic", "on"), ("--moments", "on"), ("--clock-mhz", "12")):
    row(f"build-ternary-selftest-with{option}", [*B, "ternary-selftest", option, bad],
        option)
for option, bad in (("--lanes", "1"), ("--inputs", "5"), ("--max-k", "40"), ("--cells", "2"),
                    ("--multipliers", "1"), ("--shaper", "clt"), ("--quartic", "on"),
                    ("--moments", "off")):
    row(f"build-echo-with{option}", [*B, "--design", "echo", option, bad], option)
for option, bad, name in [
    ("--lanes", "0", "zero"), ("--lanes", "-1", "negative"), ("--lanes", "one", "text"),
    ("--lanes", "100000", "huge"), ("--inputs", "0", "zero"), ("--inputs", "1.5", "float"),
    ("--max-k", "0", "zero"), ("--max-k", "-1", "negative"),
    ("--cells", "1", "one"), ("--cells", "257", "too-many"), ("--cells", "x", "text"),
    ("--multipliers", "3", "not-power-of-two"), ("--multipliers", "0", "zero"),
    ("--multipliers", "16", "more-than-cells"),
    ("--shaper", "box", "unknown"), ("--shaper", "", "empty"),
    ("--quartic", "yes", "unknown"), ("--moments", "1", "unknown"),
    ("--clock-mhz", "0", "zero"), ("--clock-mhz", "-12", "negative"),
    ("--clock-mhz", "nan", "nan"), ("--clock-mhz", "inf", "inf"),
    ("--clock-mhz", "fast", "text"), ("--clock-mhz", "1000", "too-fast"),
    ("--clock-mhz", "13.37", "inexact"),
]:
    row(f"build-soc{option}-{name}", [*B, option, bad], option.lstrip("-").split("-")[0])
row("build-soc-too-many-cells-for-moments",
    ["build", "--board", "ulx3s-85f", "--cells", "192", "--multipliers", "16"],
    "--moments off")
row("build-soc-clock-above-pll-says-below", [*B, "--clock-mhz", "1000"], "(-73.00%)")
for option, bad, name in (("--lanes", "0", "zero"), ("--inputs", "-5", "negative"),
                          ("--max-k", "0", "zero"), ("--lanes", "999999", "huge")):
    row(f"build-ternary-selftest{option}-{name}", [*B, "ternary-selftest", option, bad],
        option.lstrip("-").split("-")[0])
for target in ("", "ternary-selftest", "noise-selftest"):
    name = target or "soc"
    row(f"build-{name}-dir-is-file", [*B, *([target] if target else []), "--build-dir",
                                      "{builddir_file}"], "not a directory")
    row(f"build-{name}-dir-through-file", [*B, *([target] if target else []), "--build-dir",
                                           "{txt}/build"], "not a directory")
row("build-dir-empty", [*B, "--build-dir", ""], "--build-dir")
row("build-dir-in-proc", [*B, "--build-dir", "/proc/tritherm-build"], "/proc")
row("build-out-alias-is-file", [*B, "--out", "{txt}"], "not a directory")

# flash (no board is attached here)
F = ["flash", "--board", "icebreaker", "--bitstream", "{bin}"]
row("flash-no-board-option", ["flash", "--bitstream", "{bin}"], "required")
row("flash-unknown-board", swap(F, "--board", "de10"), "unknown board")
row("flash-board-empty", swap(F, "--board", ""), "board")
row("flash-no-board-attached", F, "no board found")
row("flash-no-board-attached-flash", [*F, "--flash"], "no board found")
row("flash-no-board-attached-ecp5", ["flash", "--board", "ulx3s-85f", "--bitstream", "{bit}"],
    "no board found")
row("flash-programmer-missing", ["flash", "--board", "icesugar", "--bitstream", "{bin}"],
    "icesprog")
row("flash-sram-and-flash", [*F, "--sram", "--flash"], "not allowed with")
row("flash-bitstream-missing", swap(F, "--bitstream", "{tmp}/missing.bin"), "does not exist")
row("flash-bitstream-directory", swap(F, "--bitstream", "{dir}"), "directory")
row("flash-bitstream-wrong-suffix", swap(F, "--bitstream", "{bit}"), ".bin")
row("flash-bitstream-text-file", swap(F, "--bitstream", "{txt}"), ".bin")
row("flash-bitstream-empty-path", swap(F, "--bitstream", ""), "--bitstream")
row("flash-no-default-bitstream", swap(F, "--bitstream"), "tritherm build")
row("flash-ecp5-bin", ["flash", "--board", "ulx3s-12f", "--bitstream", "{bin}"], ".bit")

# bench
row("bench-no-core", ["bench"], "required")
row("bench-unknown-core", ["bench", "dsp"], "invalid choice")
row("bench-unknown-family", ["bench", "ternary", "--family", "xilinx"], "invalid choice")
for core in ("ternary", "noise"):
    for option, value in (("--samples", "100"), ("--backend", "golden"),
                          ("--plot", "{o}/p.png"), ("--seed", "1"), ("--cells", "8"),
                          ("--no-accuracy", None)):
        row(f"bench-{core}-with{option}", ["bench", core, option,
                                           *([value] if value else [])], option,
            ("{o}/p.png",))
for option, value in (("--samples", "100"), ("--backend", "golden"), ("--plot", "{o}/p.png"),
                      ("--seed", "1")):
    row(f"bench-coupler-with{option}", ["bench", "coupler", option, value], option,
        ("{o}/p.png",))
for bad, name in (("eight", "text"), ("", "empty"), ("0", "zero"), ("1", "one"),
                  ("257", "too-many"), ("8,,16", "empty-item"), ("-8", "negative"),
                  ("8.5", "float"), ("8;16", "semicolons")):
    row(f"bench-coupler-cells-{name}", ["bench", "coupler", f"--cells={bad}"], "--cells")
for core in ("ternary", "noise", "coupler-stats"):
    row(f"bench-{core}-time-to-solution", ["bench", core, "--time-to-solution"],
        "--time-to-solution")
for option in ("--quick", "--no-accuracy", "--family=ecp5"):
    row(f"bench-coupler-time-to-solution-with{option.split('=')[0]}",
        ["bench", "coupler", "--time-to-solution", option], "--time-to-solution")
row("bench-coupler-time-to-solution-cells-zero",
    ["bench", "coupler", "--time-to-solution", "--cells=0"], "--cells")
CS = ["bench", "coupler-stats", "--backend", "golden", "--plot", "{o}/plot.png"]
CSOUT = ("{o}/plot.png", "coupler-stats.png")
for option, value in (("--family", "ice40"), ("--quick", None), ("--cells", "8"),
                      ("--no-accuracy", None)):
    row(f"bench-coupler-stats-with{option}", [*CS, option, *([value] if value else [])],
        option, CSOUT)
for bad, name in (("0", "zero"), ("99", "too-few"), ("-100", "negative"), ("many", "text"),
                  ("1e4", "float"), ("10**15", "huge")):
    row(f"bench-coupler-stats-samples-{name}", [*CS, "--samples", bad], "--samples", CSOUT)
row("bench-coupler-stats-rtl-too-many", [*swap(CS, "--backend", "rtl"), "--samples", "10**9"],
    "--samples", CSOUT)
for bad, name in (("-1", "negative"), (str(2 ** 32), "too-big"), ("x", "text")):
    row(f"bench-coupler-stats-seed-{name}", [*CS, "--seed", bad], "--seed", CSOUT)
row("bench-coupler-stats-unknown-backend", swap(CS, "--backend", "board"), "invalid choice",
    CSOUT)
for bad, name, message in [
    ("{o}/plot.pdf", "wrong-suffix", ".png"),
    ("{o}/plot", "no-suffix", ".png"),
    ("", "empty", "--plot"),
    ("{pngdir}", "directory", "directory"),
    ("{txt}/plot.png", "through-file", "not a directory"),
    ("{tmp}/nodir/plot.png", "missing-directory", "does not exist"),
    ("/proc/tritherm-plot.png", "in-proc", None),
]:
    row(f"bench-coupler-stats-plot-{name}", swap(CS, "--plot", bad), message, CSOUT)

BG = ["bench", "generate"]
for option, value in (("--family", "ice40"), ("--quick", None), ("--cells", "8"),
                      ("--no-accuracy", None), ("--samples", "100"), ("--backend", "golden"),
                      ("--plot", "{o}/p.png")):
    row(f"bench-generate-with{option}", [*BG, option, *([value] if value else [])], option,
        ("{o}/p.png",))
for option, bad, name, message in [
    ("--backends", "fpga", "backends-unknown", "'fpga'"), ("--backends", "", "backends-empty", "--backends"),
    ("--backends", "float,,fixed", "backends-empty-item", "--backends"),
    ("--hidden", "0", "hidden-0", "at least 1"), ("--hidden", "x", "hidden-text", "whole number"),
    ("--hidden", "32,2000", "hidden-huge", "at most 1024"), ("--hidden", "32;64", "hidden-semicolons", "--hidden"),
    ("--hidden", "", "hidden-empty", "--hidden"),
    ("--count", "0", "count-0", "at least 1"), ("--count", "x", "count-text", "whole number"),
    ("--count", "10**6", "count-huge", "at most"),
    ("--seed", "-1", "seed-negative", "--seed"), ("--seed", "x", "seed-text", "--seed"),
]:
    row(f"bench-generate-{name}", [*BG, option, bad], message)
for core in ("ternary", "coupler-stats", "digits"):
    for option, value in (("--backends", "float"), ("--hidden", "32"), ("--count", "5")):
        row(f"bench-{core}-with{option}", ["bench", core, option, value], option)

# noise
N = ["noise", "--count", "10", "--out", "{o}/noise.txt"]
NOUT = ("{o}/noise.txt", "{o}/.noise*")
for bad, name in (("-1", "negative"), (str(2 ** 32), "too-big"), ("one", "text"),
                  ("1.5", "float"), ("", "empty"), ("0x1_0000_0000", "hex-too-big")):
    row(f"noise-seed-{name}", [*N, "--seed", bad], "--seed", NOUT)
for bad, name in (("0", "zero"), ("-10", "negative"), ("ten", "text"), ("1e3", "float"),
                  ("", "empty"), ("10**", "bad-power")):
    row(f"noise-count-{name}", swap(N, "--count", bad), "--count", NOUT)
row("noise-unknown-format", [*N, "--format", "binary"], "--format", NOUT)
row("noise-unknown-shaper", [*N, "--shaper", "box"], "--shaper", NOUT)
row("noise-shaper-with-raw", [*N, "--format", "raw", "--shaper", "clt"], "--shaper", NOUT)
row("noise-shaper-with-hex", [*N, "--format", "hex", "--shaper", "icdf"], "--shaper", NOUT)
for bad, name in (("0", "zero"), ("65537", "too-many"), ("x", "text"), ("-1", "negative")):
    row(f"noise-streams-{name}", [*N, "--streams", bad], "--streams", NOUT)
for bad, name in (("0", "zero"), ("33", "too-many"), ("x", "text"), ("", "empty")):
    row(f"noise-rounds-{name}", [*N, "--rounds", bad], "--rounds", NOUT)
row("noise-hex-without-count", ["noise", "--format", "hex", "--out", "{o}/noise.txt"],
    "--count", NOUT)
row("noise-int-without-count", ["noise", "--format", "int", "--out", "{o}/noise.txt"],
    "--count", NOUT)
row("noise-raw-endless-to-file", ["noise", "--format", "raw", "--out", "{o}/noise.bin"],
    "--count", ("{o}/noise.bin", "{o}/.noise*"))
U = ["noise", "--uniform", "--key", "0:0", "--count", "4", "--out", "{o}/noise.txt"]
row("noise-uniform-no-key", swap(U, "--key"), "--key", NOUT)
row("noise-uniform-no-count", swap(U, "--count"), "--count", NOUT)
row("noise-uniform-int-format", [*U, "--format", "int"], "--format", NOUT)
row("noise-uniform-float-format", [*U, "--format", "float"], "--format", NOUT)
for option, value in (("--seed", "1"), ("--streams", "2"), ("--shaper", "clt")):
    row(f"noise-uniform-with{option}", [*U, option, value], option, NOUT)
for bad, name in (("0", "one-word"), ("0:0:0", "three-words"), ("g:0", "not-hex"),
                  ("1:100000000", "too-big"), (":", "empty-words"), ("-1:0", "negative")):
    row(f"noise-uniform-key-{name}", swap(U, "--key", bad), "--key", NOUT)
for bad, name in (("5", "one-word"), ("0:zz", "not-hex"), ("100000000:0", "too-big")):
    row(f"noise-uniform-counter-{name}", [*U, "--counter", bad], "--counter", NOUT)
row("noise-key-without-uniform", [*N, "--key", "0:0"], "--uniform", NOUT)
row("noise-counter-without-uniform", [*N, "--counter", "0:0"], "--uniform", NOUT)
for bad, name, message in [
    ("", "empty", "--out"),
    ("{dir}", "directory", "directory"),
    ("{txt}/noise.txt", "through-file", "not a directory"),
    ("{tmp}/nodir/noise.txt", "missing-directory", "does not exist"),
    ("/dev/full", "disk-full", "no space left"),
    ("/proc/tritherm-noise.txt", "in-proc", None),
]:
    row(f"noise-out-{name}", swap(N, "--out", bad), message, (*NOUT, "/dev/.full*"))
row("noise-out-kept-on-bad-seed", [*swap(N, "--out", "{keep}"), "--seed", "-1"], "--seed")

# noise-test
NT = ["noise-test"]
row("noise-test-quick-and-full", [*NT, "--quick", "--full"], "--quick")
for bad, name in (("-1", "negative"), (str(2 ** 32), "too-big"), ("x", "text")):
    row(f"noise-test-seed-{name}", [*NT, "--seed", bad], "--seed")
    row(f"noise-test-gaussian-seed-{name}", [*NT, "--gaussian", "--seed", bad], "--seed")
for bad, name in (("0", "zero"), ("65537", "too-many"), ("x", "text")):
    row(f"noise-test-streams-{name}", [*NT, "--streams", bad], "--streams")
for bad, name in (("1", "one"), ("1025", "too-many"), ("x", "text")):
    row(f"noise-test-gaussian-streams-{name}", [*NT, "--gaussian", "--streams", bad],
        "--streams")
for bad, name in (("0", "zero"), ("33", "too-many"), ("twenty", "text")):
    row(f"noise-test-rounds-{name}", [*NT, "--rounds", bad], "--rounds")
    row(f"noise-test-gaussian-rounds-{name}", [*NT, "--gaussian", "--rounds", bad], "--rounds")
for bad, name in (("abc", "text"), ("-1", "negative"), ("", "empty"), ("1.5", "float"),
                  ("999", "unknown")):
    row(f"noise-test-test-{name}", [*NT, "--test", bad], "--test")
for bad, name in (("0", "zero"), ("x", "text"), ("-5", "negative")):
    row(f"noise-test-psamples-{name}", [*NT, "--psamples", bad], "--psamples")
for bad, name in (("99", "too-few"), ("0", "zero"), ("x", "text"), ("10**15", "huge")):
    row(f"noise-test-gaussian-samples-{name}", [*NT, "--gaussian", "--samples", bad],
        "--samples")
for option, value in (("--test", "0"), ("--quick", None), ("--full", None),
                      ("--psamples", "10")):
    row(f"noise-test-gaussian-with{option}", [*NT, "--gaussian", option,
                                              *([value] if value else [])], option)
row("noise-test-samples-without-gaussian", [*NT, "--samples", "1000"], "--samples")
row("noise-test-full-with-test", [*NT, "--full", "--test", "0"], "--full")

# linalg
L = ["linalg", "inv", "--matrix", "{A}", "--out", "{o}/r.npy"]
LOUT = ("{o}/r.npy", "{o}/.r.npy*")
row("linalg-no-op", ["linalg", "--matrix", "{A}"], "required")
row("linalg-unknown-op", ["linalg", "det", "--matrix", "{A}"], "invalid choice")
row("linalg-statistics-unknown", [*L, "--statistics", "blocks"], "invalid choice", LOUT)
row("linalg-sample-statistics-moments", ["linalg", "sample", "--matrix", "{A}", "--statistics",
                                         "moments"], "--statistics moments")
row("linalg-board-statistics-moments-no-port",
    [*L, "--backend", "board", "--statistics", "moments"], "--port", LOUT)
row("linalg-no-matrix", swap(L, "--matrix"), "required", LOUT)
for bad, name, message in BAD_MATRICES + [
    ("{zero}", "empty-file", None),
    ("{pickle}", "pickle", None),
    ("{str}", "strings", None),
    ("{Acond}", "ill-conditioned", "condition number"),
    ("{Abool}", "bool", None),
    ("{Acomplex_csv}", "csv-complex", None),
    ("", "empty-path", None),
]:
    row(f"linalg-matrix-{name}", swap(L, "--matrix", bad), message, LOUT)
LS = ["linalg", "solve", "--matrix", "{A}", "--rhs", "{b}", "--out", "{o}/r.npy"]
row("linalg-solve-no-rhs", swap(LS, "--rhs"), "--rhs", LOUT)
row("linalg-inv-with-rhs", [*L, "--rhs", "{b}"], "--rhs", LOUT)
for bad, name, message in [
    ("{tmp}/missing.npy", "missing", "does not exist"),
    ("{dir}", "directory", "directory"),
    ("{txt}", "text-file", None),
    ("{bwrong}", "wrong-length", "length 3"),
    ("{bnan}", "nan", "NaN"),
    ("{binf}", "inf", None),
    ("{bcomplex}", "complex", "complex"),
    ("{b2d}", "matrix", None),
    ("{bempty}", "empty", "empty"),
    ("{bhuge}", "huge", None),
    ("{junk}", "junk-npy", None),
]:
    row(f"linalg-solve-rhs-{name}", swap(LS, "--rhs", bad), message, LOUT)
    if name in ("wrong-length", "nan", "complex"):
        row(f"linalg-sample-rhs-{name}", ["linalg", "sample", *LS[2:4], "--rhs", bad, *LS[6:]],
            message, LOUT)
for bad, name in (("0", "zero"), ("9", "too-few"), ("-100", "negative"), ("many", "text"),
                  ("1e4", "float"), ("", "empty"), ("10**15", "huge")):
    row(f"linalg-samples-{name}", [*L, "--samples", bad], "--samples", LOUT)
row("linalg-rtl-too-many-samples", [*L, "--backend", "rtl", "--samples", "30000"], "--samples",
    LOUT)
for bad, name in (("-1", "negative"), (str(2 ** 32), "too-big"), ("x", "text"), ("", "empty")):
    row(f"linalg-seed-{name}", [*L, "--seed", bad], "--seed", LOUT)
row("linalg-unknown-backend", [*L, "--backend", "gpu"], "invalid choice", LOUT)
for bad, name, message in [
    ("{o}/r.txt", "wrong-suffix", ".npy or .csv"),
    ("{o}/r.npz", "npz-suffix", ".npy or .csv"),
    ("{o}/r", "no-suffix", ".npy or .csv"),
    ("", "empty", "--out"),
    ("{npydir}", "directory", "directory"),
    ("{csvdir}", "csv-directory", "directory"),
    ("{txt}/r.npy", "through-file", "not a directory"),
    ("{tmp}/nodir/r.csv", "missing-directory", "does not exist"),
    ("/proc/tritherm-r.npy", "in-proc", None),
]:
    row(f"linalg-out-{name}", swap(L, "--out", bad), message, (*LOUT, "{o}/r.txt", "{o}/r"))
row("linalg-out-bad-with-bad-matrix-names-out-first", swap(swap(L, "--out", "{o}/r.txt"),
                                                           "--matrix", "{Anan}"), None, LOUT)
row("linalg-out-kept-on-bad-matrix", swap(swap(L, "--out", "{keep}"), "--matrix", "{Aindef}"),
    "positive definite")
row("linalg-port-without-board-backend", [*L, "--port", "sim"], "--backend board", LOUT)
row("linalg-board-without-board-backend", [*L, "--board", "icebreaker"], "--backend board",
    LOUT)
LB = [*L, "--backend", "board", "--port", "/dev/ttyNONE"]
row("linalg-board-no-port", swap(LB, "--port"), "--port", LOUT)
row("linalg-board-no-serial-port", LB, "/dev/ttyNONE", LOUT)
row("linalg-board-unknown-board", [*LB, "--board", "de10"], "unknown board", LOUT)
row("linalg-board-sim-bad-matrix", [*swap(LB, "--port", "sim"), "--matrix", "{Aindef}"],
    "positive definite", LOUT)
row("linalg-board-sim-bad-out", swap(swap(LB, "--port", "sim"), "--out", "{o}/r.txt"),
    ".npy or .csv", LOUT)
row("linalg-board-sim-bad-samples", [*swap(LB, "--port", "sim"), "--samples", "5"],
    "--samples", LOUT)

# run: every row fails before the device is opened (--port sim is trip-wired), or on a
# serial port that is not there
R = ["run", "--port", "sim"]
row("run-no-port", ["run", "identify"], "required")
row("run-no-action", R, "required")
row("run-unknown-action", [*R, "reset"], "invalid choice")
row("run-port-missing", ["run", "--port", "/dev/ttyNONE", "identify"], "/dev/ttyNONE")
row("run-port-text-file", ["run", "--port", "{txt}", "identify"], "serial port")
row("run-port-directory", ["run", "--port", "{dir}", "identify"], "serial port")
row("run-port-dev-null", ["run", "--port", "/dev/null", "identify"], "serial port")
row("run-port-empty", ["run", "--port", "", "identify"], "--port")
row("run-unknown-board", [*R, "--board", "de10", "identify"], "unknown board")
row("run-board-empty", [*R, "--board", "", "identify"], "board")
row("run-identify-extra-argument", [*R, "identify", "now"], "unrecognized")
row("run-flags-unknown-option", [*R, "flags", "--reset"], "unrecognized")
row("run-flags-clear-with-value", [*R, "flags", "--clear=yes"], "ignored explicit argument")
for bad, name in (("0", "zero"), ("-4", "negative"), ("four", "text"), ("", "empty"),
                  ("10**12", "huge"), ("2.5", "float")):
    row(f"run-noise-beats-{name}", [*R, "noise", "--beats", bad], "--beats")
for bad, name in (("-1", "negative"), (str(2 ** 32), "too-big"), ("x", "text")):
    row(f"run-noise-seed-{name}", [*R, "noise", "--seed", bad], "--seed")
RM = [*R, "matvec", "--weights", "{W}", "--activations", "{x}", "--out", "{o}/y.npy"]
for option in ("--weights", "--activations", "--out"):
    row(f"run-matvec-no{option}", swap(RM, option), "required", STOUT)
for option, bad, name, message in [
    ("--weights", "{tmp}/missing.npy", "weights-missing", "does not exist"),
    ("--weights", "{dir}", "weights-directory", "directory"),
    ("--weights", "{junk}", "weights-junk", None),
    ("--weights", "{W2}", "weights-two", "ternary"),
    ("--weights", "{Wcomplex}", "weights-complex", "complex"),
    ("--weights", "{Wnan}", "weights-nan", None),
    ("--weights", "{W3d}", "weights-3-d", "N x K"),
    ("--weights", "{Wempty}", "weights-empty", "empty"),
    ("--activations", "{x128}", "activations-128", "int8"),
    ("--activations", "{xfrac}", "activations-fraction", "integers"),
    ("--activations", "{xbatch0}", "activations-empty-batch", "empty"),
    ("--activations", "{xK}", "activations-k-mismatch", "K = 7"),
    ("--out", "{o}/y.txt", "out-wrong-suffix", ".npy"),
    ("--out", "{npydir}", "out-directory", "directory"),
    ("--out", "{txt}/y.npy", "out-through-file", "not a directory"),
    ("--out", "{tmp}/nodir/y.npy", "out-missing-directory", "does not exist"),
]:
    row(f"run-matvec-{name}", swap(RM, option, bad), message, (*STOUT, "{o}/y.txt"))
row("run-matvec-k-beyond-int32", swap(swap(RM, "--weights", "{WbigK}"), "--activations",
                                      "{xbigK}"), "int32", STOUT)
RS = [*R, "sample", "--matrix", "{A}", "--out", "{o}/d.npy"]
RSOUT = ("{o}/d.npy", "{o}/.d.npy*")
row("run-sample-no-matrix", swap(RS, "--matrix"), "required", RSOUT)
for option, bad, name, message in [
    ("--matrix", "{tmp}/missing.npy", "matrix-missing", "does not exist"),
    ("--matrix", "{dir}", "matrix-directory", "directory"),
    ("--matrix", "{Acomplex}", "matrix-complex", "complex"),
    ("--matrix", "{Anan}", "matrix-nan", "NaN"),
    ("--matrix", "{Aempty}", "matrix-empty", "empty"),
    ("--matrix", "{Aindef}", "matrix-indefinite", "positive definite"),
    ("--matrix", "{Anonsym}", "matrix-not-symmetric", "symmetric"),
    ("--matrix", "{Abig}", "matrix-too-big", "cells"),
    ("--samples", "0", "samples-zero", "--samples"),
    ("--samples", "x", "samples-text", "--samples"),
    ("--samples", "10**15", "samples-huge", "--samples"),
    ("--seed", "-1", "seed-negative", "--seed"),
    ("--seed", "x", "seed-text", "--seed"),
    ("--out", "{o}/d.csv", "out-csv", ".npy"),
    ("--out", "{o}/d.txt", "out-wrong-suffix", ".npy"),
    ("--out", "{npydir}", "out-directory", "directory"),
    ("--out", "{txt}/d.npy", "out-through-file", "not a directory"),
    ("--out", "{tmp}/nodir/d.npy", "out-missing-directory", "does not exist"),
    ("--out", "", "out-empty", "--out"),
]:
    argv = swap(RS, option, bad) if option in RS else [*RS, option, bad]
    row(f"run-sample-{name}", argv, message, (*RSOUT, "{o}/d.csv", "{o}/d.txt"))
for bad, name, message in (("{bwrong}", "wrong-length", "length 3"), ("{bnan}", "nan", "NaN"),
                           ("{tmp}/missing.npy", "missing", "does not exist")):
    row(f"run-sample-rhs-{name}", [*RS, "--rhs", bad], message, RSOUT)
row("run-serial-port-missing-with-good-matvec",
    ["run", "--port", "/dev/ttyNONE", *RM[3:]], "/dev/ttyNONE", STOUT)


# --- the test ------------------------------------------------------------------------------

def _expand(text, names):
    return text.format(**names)


@pytest.mark.parametrize("case", ROWS, ids=[r.id for r in ROWS])
def test_bad_input(case, files, tripwires, tmp_path, monkeypatch, capsys):
    names = files(_names(case.argv) | _names(case.outputs))
    argv = [_expand(arg, names) for arg in case.argv]
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    outputs = [_expand(pattern, names) for pattern in case.outputs]
    existed = {path for pattern in outputs for path in glob.glob(pattern)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rc = main(argv)
        except SystemExit as exit:          # argparse's usage errors
            rc = exit.code
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err and "Traceback" not in captured.out, err
    assert rc == 2, f"exit status {rc}; stderr: {err!r}"
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    line = err.rstrip("\n")
    assert line.startswith("tritherm") and "error:" in line and line.endswith("."), line
    if case.message:
        assert case.message in line, f"{case.message!r} not in {line!r}"
    assert not [str(w.message) for w in caught], [str(w.message) for w in caught]
    assert _snapshot(tmp_path) == before, "the command wrote or changed files"
    for pattern in outputs:
        assert set(glob.glob(pattern)) <= existed, f"{pattern} was written"


def test_every_command_has_rows():
    from tritherm.commands import COMMANDS
    counts = _rows_per_command()
    for command in COMMANDS:
        assert counts.get(command.replace("_", "-"), 0) >= 1, command
    assert sum(counts.values()) >= 300, counts


def _rows_per_command():
    counts = {}
    for r in ROWS:
        command = r.argv[0] if r.argv and not r.argv[0].startswith("-") else "top"
        counts[command] = counts.get(command, 0) + 1
    return counts


# --- interrupted, and out of space ---------------------------------------------------------

def _good_files(tmp_path):
    A = tmp_path / "A.npy"
    np.save(A, _spd())
    return A


def test_interrupted_linalg_leaves_no_output(tmp_path, monkeypatch, capsys):
    import tritherm.sim.linalg

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(tritherm.sim.linalg, "_run_golden", interrupted)
    A = _good_files(tmp_path)
    before = _snapshot(tmp_path)
    for out in ("r.npy", "r.csv"):
        rc = main(["linalg", "inv", "--matrix", str(A), "--samples", "1000",
                   "--out", str(tmp_path / out)])
        assert rc == 130
        assert "interrupted" in capsys.readouterr().err
        assert _snapshot(tmp_path) == before


def test_interrupted_while_saving_leaves_no_output(tmp_path, monkeypatch, capsys):
    """An interrupt in the middle of writing the result: neither it nor a temporary file
    stays."""
    A = _good_files(tmp_path)
    real_save = np.save

    def save_then_interrupt(file, array, *args, **kwargs):
        real_save(file, array[:1], *args, **kwargs)   # a partial file
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "save", save_then_interrupt)
    before = _snapshot(tmp_path)
    rc = main(["linalg", "inv", "--matrix", str(A), "--samples", "200",
               "--out", str(tmp_path / "r.npy")])
    assert rc == 130
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("fmt", ["raw", "hex", "int", "float"])
def test_interrupted_noise_writer_leaves_no_output(fmt, tmp_path, monkeypatch, capsys):
    from tritherm.sim import noise_stats
    for name in ("uniform_chunks", "gaussian_chunks"):
        real = getattr(noise_stats, name)

        def two_then_interrupt(*args, _real=real, **kwargs):
            chunks = _real(*args, **kwargs)
            yield next(chunks)
            yield next(chunks)
            raise KeyboardInterrupt
        monkeypatch.setattr(noise_stats, name, two_then_interrupt)
    out = tmp_path / "noise.out"
    rc = main(["noise", "--format", fmt, "--count", "10000000", "--out", str(out)])
    assert rc == 130
    assert "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_full_disk_leaves_no_output(tmp_path, monkeypatch, capsys):
    """Writes that fail (ENOSPC) part-way: one sentence, status 2, nothing left."""
    A = _good_files(tmp_path)
    real_save = np.save

    def save_then_fill(file, array, *args, **kwargs):
        real_save(file, array[:1], *args, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(np, "save", save_then_fill)
    before = _snapshot(tmp_path)
    rc = main(["linalg", "inv", "--matrix", str(A), "--samples", "200",
               "--out", str(tmp_path / "r.npy")])
    err = capsys.readouterr().err
    assert rc == 2 and "no space left on device" in err and err.count("\n") == 1, err
    assert _snapshot(tmp_path) == before


def test_doctor_missing_tool_is_status_2(monkeypatch, capsys):
    """A required tool missing is exit status 2 (bad input or a missing tool), with the
    table on stdout and one sentence on stderr."""
    from tritherm import toolchain
    rows = toolchain.survey()
    first = rows[1]
    missing = dataclasses.replace(first, version="-", origin="missing", path=None)
    monkeypatch.setattr(toolchain, "survey", lambda: [rows[0], missing, *rows[2:]])
    rc = main(["doctor"])
    captured = capsys.readouterr()
    assert rc == 2
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("tritherm: error:") and first.tool in err, err
