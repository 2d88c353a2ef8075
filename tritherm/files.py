"""Output files that are complete or absent, and output paths checked before the work.

Every command and application writes its results through these: `output_path` (and
`output_directory`) refuse a path no file can be written to, with one sentence, before any
work starts; `atomic_output`, `save_array` and `staged_outputs` write so that an interrupt,
a full disk or a failed check leaves no partial file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from tritherm.errors import UserError

__all__ = ["output_path", "output_directory", "atomic_output", "staged_outputs",
           "save_array", "write_bytes"]


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


def write_bytes(path: Path, data: bytes, what: str = "file") -> None:
    """Write `data` to `path`, complete or absent."""
    with atomic_output(path, what) as out:
        out.write(data)
