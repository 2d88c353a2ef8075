"""Input files (.npy/.csv arrays) read with one-sentence errors, and output paths checked."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from tritherm.errors import UserError


def _existing_file(path: str, what: str, suffixes: str) -> Path:
    """`path` as a Path, if it names a file that exists (UserError otherwise)."""
    if not path:
        raise UserError(f"the {what} file name is empty")
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{what} file {path} is a directory, not a {suffixes} file")
    if not p.exists():
        raise UserError(f"{what} file {path} does not exist")
    return p


def _load_npy(p: Path, what: str):
    """The one array of a .npy file (no pickles), or UserError."""
    import numpy as np
    try:
        array = np.load(p, allow_pickle=False)
    except Exception:  # noqa: BLE001 - whatever numpy makes of a file that is no .npy
        raise UserError(f"{what} file {p} is not a NumPy .npy array of numbers") from None
    if not isinstance(array, np.ndarray):       # an .npz archive of several arrays
        array.close()
        raise UserError(f"{what} file {p} is an .npz archive; save the one array with "
                        f"numpy.save as a .npy file")
    return array


def load_int_array(path: str, what: str):
    """An integer array from a .npy file (integer dtype, or floats with whole values)."""
    import numpy as np
    array = _load_npy(_existing_file(path, what, ".npy"), what)
    kind = array.dtype.kind
    if kind == "c":
        raise UserError(f"{what} in {path} must be integers, got complex numbers "
                        f"(dtype {array.dtype})")
    if kind not in "iuf":
        raise UserError(f"{what} in {path} must be integers, got dtype {array.dtype}")
    if kind == "f" and not np.isfinite(array).all():
        raise UserError(f"{what} in {path} must be integers, got NaN or infinite values")
    if kind == "f" and not np.array_equal(array, np.round(array)):
        raise UserError(f"{what} in {path} must be integers, got dtype {array.dtype} with "
                        f"fractions")
    return array


def load_array(path: str, what: str):
    """A real, finite, non-empty float array from a .npy or .csv (comma-separated) file."""
    import warnings

    import numpy as np
    p = _existing_file(path, what, ".npy or .csv")
    if p.suffix.lower() == ".npy":
        array = _load_npy(p, what)
    elif p.suffix.lower() == ".csv":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")     # "input contained no data": said below
                array = np.loadtxt(p, delimiter=",", dtype=float, ndmin=2)
        except Exception:  # noqa: BLE001 - whatever numpy makes of a file that is no CSV
            raise UserError(f"{what} file {path} is not a numeric CSV (comma-separated "
                            f"numbers, the same count on every line)") from None
    else:
        raise UserError(f"{what} file {path} must be a .npy or .csv file")
    if array.dtype.kind == "c":
        raise UserError(f"{what} in {path} has complex entries; it must be real")
    if array.dtype.kind not in "iuf":
        raise UserError(f"{what} in {path} must hold numbers, got dtype {array.dtype}")
    array = array.astype(float)
    if array.size == 0:
        raise UserError(f"{what} in {path} is empty")
    if not np.isfinite(array).all():
        raise UserError(f"{what} in {path} has NaN or infinite entries")
    return array


#: Fewest samples `tritherm.sim.linalg` averages, and most sample values (samples x
#: cells) a run may keep in memory (each value takes about 32 bytes there).
LINALG_MIN_SAMPLES = 10
MAX_SAMPLE_VALUES = 2 ** 25


def linalg_inputs(args):
    """--samples, --seed, --matrix and --rhs of linalg and run sample, checked."""
    from tritherm.commands._values import parse_count, parse_seed
    samples = parse_count(args.samples, "samples")
    seed = parse_seed(args.seed)
    A = load_array(args.matrix, "matrix")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise UserError(f"the matrix in {args.matrix} must be square, got shape {A.shape}")
    if samples < LINALG_MIN_SAMPLES:
        raise UserError(f"--samples must be at least {LINALG_MIN_SAMPLES}, got {samples}")
    most = MAX_SAMPLE_VALUES // len(A)
    if samples > most:
        raise UserError(f"--samples must be at most {most} for a {len(A)} x {len(A)} matrix "
                        f"(every sample is kept in memory), got {samples}")
    b = None
    if args.rhs is not None:
        b = load_array(args.rhs, "right-hand side (--rhs)")
        if b.ndim == 2 and 1 in b.shape:        # a CSV row or column
            b = b.ravel()
        if b.ndim != 1:
            raise UserError(f"the right-hand side in {args.rhs} must be a vector, got shape "
                            f"{b.shape}")
    return samples, seed, A, b


def _through_file(path: Path) -> Path | None:
    """The first of `path`'s directories that is a file, if one is."""
    for ancestor in reversed(path.parents):
        if ancestor.exists() and not ancestor.is_dir():
            return ancestor
    return None


def _cannot_create_in(directory: Path) -> str | None:
    """Why no file can be made in `directory` (tried, not guessed from permission bits,
    which a superuser or a read-only file system would make wrong), or None."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".tritherm-probe-", dir=directory)
    except OSError as error:
        return (error.strerror or str(error)).lower()
    os.close(handle)
    os.unlink(probe)
    return None


def output_path(text: str, what: str, suffixes: tuple[str, ...] | None) -> Path:
    """Check an output path before any work is done: it ends in one of `suffixes` (the
    format decides, so the file written is exactly the path given; None: any name), it is
    not a directory, and its directory exists and a file can be made there. Returns it as
    a `Path`. An existing device or pipe (/dev/null, /dev/stdout) is written as it is."""
    if not text:
        raise UserError(f"the {what} path is empty")
    path = Path(text)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise UserError(f"the {what} must be a {' or '.join(suffixes)} file, got {text}")
    parent = path.parent
    blocked = _through_file(path)
    if path.is_dir():
        problem = "it is a directory"
    elif blocked is not None:
        problem = f"{blocked} is a file, not a directory"
    elif not parent.is_dir():
        problem = f"the directory {parent} does not exist"
    elif path.exists() and not path.is_file():
        return path                             # a device or a pipe: written in place
    elif path.exists() and not os.access(path, os.W_OK):
        problem = "permission denied"
    else:
        reason = _cannot_create_in(parent)
        if reason is None:
            return path
        problem = f"cannot create a file in {parent} ({reason})"
    raise UserError(f"cannot write the {what} {text}: {problem}")


def output_directory(text: str, what: str) -> Path:
    """Check a directory the work will write into (made if missing) before the work: not
    a file, not below a file, and files can be made in it or its nearest existing parent."""
    if not text:
        raise UserError(f"the {what} path is empty")
    path = Path(text)
    blocked = _through_file(path / "x")
    if blocked is not None:
        raise UserError(f"cannot use the {what} {text}: {blocked} is a file, not a directory")
    existing = next(p for p in (path, *path.parents) if p.exists())
    reason = _cannot_create_in(existing)
    if reason is not None:
        raise UserError(f"cannot use the {what} {text}: cannot create files in {existing} "
                        f"({reason})")
    return path


def _write_error(what: str, path, error: OSError) -> UserError:
    return UserError(f"cannot write the {what} {path}: {(error.strerror or str(error)).lower()}")


@contextlib.contextmanager
def atomic_output(path: Path, what: str = "file"):
    """Open `path` for binary writing so that it is complete or absent: the data goes to a
    temporary file beside it, renamed into place when the block ends without an error (a
    full disk, an interrupt, a failed check leave no partial file). A device or a pipe
    (/dev/null, /dev/stdout) is written directly."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        try:
            with open(path, "wb") as out:
                yield out
        except OSError as error:
            raise _write_error(what, path, error) from None
        return
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    except OSError as error:
        raise _write_error(what, path, error) from None
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)     # as open() would have made it, not 0600
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise _write_error(what, path, error) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staged_outputs(*paths: Path, what: str = "file"):
    """For work that writes files itself (a simulator's waveform, a plot): yields paths of
    the same names in a hidden directory beside `paths` (which share one directory); the
    files made there are moved into place when the block ends without an error, and the
    directory is removed in any case, so each file is complete or absent."""
    import shutil
    paths = [Path(p) for p in paths]
    parent = paths[0].parent
    try:
        stage = Path(tempfile.mkdtemp(prefix=".tritherm-", dir=parent))
    except OSError as error:
        raise _write_error(what, paths[0], error) from None
    try:
        yield [stage / p.name for p in paths]
        for p in paths:
            if (stage / p.name).exists():
                try:
                    os.replace(stage / p.name, p)
                except OSError as error:
                    raise _write_error(what, p, error) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def save_array(path: Path, array, what: str = "result file") -> None:
    """Write `array` to `path` (.npy, or .csv as comma-separated rows), atomically."""
    import numpy as np
    with atomic_output(path, what) as out:
        if path.suffix.lower() == ".csv":
            np.savetxt(out, np.atleast_2d(array) if np.ndim(array) < 2 else array,
                       delimiter=",")
        else:
            np.save(out, array)


@contextlib.contextmanager
def matrix_errors(path: str, rhs: str | None = None):
    """Around checking and scaling a problem (`tritherm.sim.linalg.prepare`): a float
    overflow or a numpy linear-algebra failure is the input's fault, said in one sentence
    naming its files, instead of a warning and a traceback."""
    import numpy as np
    what = f"the matrix in {path}" + (f" with the right-hand side in {rhs}" if rhs else "")
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            yield
    except FloatingPointError:
        raise UserError(f"{what} cannot be scaled into the coupler's formats: its values are "
                        f"too large or too small (floating point overflows)") from None
    except np.linalg.LinAlgError as error:
        raise UserError(f"{what} cannot be scaled into the coupler's formats "
                        f"({str(error).rstrip('.').lower()})") from None


def check_linalg_problem(args, A, b, kind: str, seed: int, samples: int) -> None:
    """Check (A, b) for `samples` samples as `tritherm.sim.linalg` will, before a device is
    opened or any work starts: its one-sentence ValueErrors, or `matrix_errors`'."""
    import inspect

    from tritherm.sim.linalg import prepare
    budget = {"n": samples} if "n" in inspect.signature(prepare).parameters else {}
    with matrix_errors(args.matrix, getattr(args, "rhs", None)):
        prepare(A, b, kind=kind, seed=seed, **budget)
