"""Input files (.npy/.csv arrays) read with one-sentence errors, and output paths checked."""

from __future__ import annotations

from pathlib import Path

from tritherm.errors import UserError


def load_int_array(path: str, what: str):
    import numpy as np
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"{what} file {path} does not exist") from None
    except (ValueError, OSError):
        raise UserError(f"{what} file {path} is not a NumPy .npy array of numbers") from None
    if array.dtype.kind not in "iuf" or (array.dtype.kind == "f" and not
                                          np.array_equal(array, np.round(array))):
        raise UserError(f"{what} in {path} must be integers, got dtype {array.dtype}")
    return array


def load_array(path: str, what: str):
    import numpy as np
    p = Path(path)
    if not p.exists():
        raise UserError(f"{what} file {path} does not exist")
    if p.is_dir():
        raise UserError(f"{what} file {path} is a directory")
    try:
        if p.suffix.lower() == ".npy":
            array = np.load(p, allow_pickle=False)
        elif p.suffix.lower() == ".csv":
            array = np.loadtxt(p, delimiter=",", dtype=float, ndmin=2)
        else:
            raise UserError(f"{what} file {path} must be a .npy or .csv file")
        array = np.asarray(array, dtype=float)
    except UserError:
        raise
    except (ValueError, OSError, TypeError):
        raise UserError(f"{what} file {path} is not a numeric .npy or .csv array") from None
    return array


def writable(path: Path, what: str) -> None:
    """UserError unless `path` can be written (without creating it)."""
    import os
    parent = path.parent
    problem = ("it is a directory" if path.is_dir() else
               f"the directory {parent} does not exist" if not parent.is_dir() else
               "permission denied" if not os.access(parent, os.W_OK)
               or (path.exists() and not os.access(path, os.W_OK)) else None)
    if problem:
        raise UserError(f"cannot write the {what} {path}: {problem}")


def linalg_inputs(args):
    """--samples, --seed, --matrix and --rhs of linalg and run sample."""
    try:
        samples = int(args.samples)
    except ValueError:
        raise UserError(f"--samples must be a whole number, got {args.samples!r}") from None
    try:
        seed = int(args.seed, 0)
    except ValueError:
        raise UserError(f"--seed must be a whole number, got {args.seed!r}") from None
    A = load_array(args.matrix, "matrix")
    b = None
    if args.rhs is not None:
        b = load_array(args.rhs, "right-hand side").ravel()
    return samples, seed, A, b
