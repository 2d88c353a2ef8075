"""Input files (.npy/.csv arrays) read with one-sentence errors; the output checks and
writers of `tritherm.files`."""

from __future__ import annotations

import contextlib
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
