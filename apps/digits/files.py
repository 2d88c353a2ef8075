"""Result files that are complete or absent."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from tritherm.errors import UserError

__all__ = ["check_output", "write_atomically"]


def check_output(path) -> Path:
    """Return `path` as a Path, or raise UserError if a file cannot be written there."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"output {path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise UserError(f"output directory {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise UserError(f"output directory {path.parent} is not writable")
    return path


def write_atomically(path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file beside it, renamed when complete.

    The file gets the permissions of any new file (0o666 less the umask).
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
