"""Input files (.npy/.csv arrays) read with one-sentence errors, and output paths checked."""

from __future__ import annotations

import contextlib
import os
import tempfile
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


def output_path(text: str, what: str, suffixes: tuple[str, ...]) -> Path:
    """Check an output path before any work is done: it ends in one of `suffixes` (the
    format decides, so the file written is exactly the path given), it is not a directory,
    and its directory exists and can be written. Returns it as a `Path`."""
    path = Path(text)
    if not text:
        raise UserError(f"the {what} path is empty")
    if path.suffix.lower() not in suffixes:
        raise UserError(f"the {what} must be a {' or '.join(suffixes)} file, got {text}")
    parent = path.parent
    if path.is_dir():
        problem = "it is a directory"
    elif parent.exists() and not parent.is_dir():
        problem = f"{parent} is a file, not a directory"
    elif not parent.is_dir():
        problem = f"the directory {parent} does not exist"
    elif not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        problem = "permission denied"
    else:
        return path
    raise UserError(f"cannot write the {what} {text}: {problem}")


@contextlib.contextmanager
def atomic_output(path: Path, what: str = "file"):
    """Open `path` for binary writing so that it is complete or absent: the data goes to a
    temporary file beside it, renamed into place when the block ends without an error (a
    full disk, an interrupt, a failed check leave no partial file)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)     # as open() would have made it, not 0600
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise UserError(f"cannot write the {what} {path}: "
                        f"{(error.strerror or str(error)).lower()}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_array(path: Path, array, what: str = "result file") -> None:
    """Write `array` to `path` (.npy, or .csv as comma-separated rows), atomically."""
    import numpy as np
    with atomic_output(path, what) as out:
        if path.suffix.lower() == ".csv":
            np.savetxt(out, np.atleast_2d(array) if np.ndim(array) < 2 else array,
                       delimiter=",")
        else:
            np.save(out, array)
