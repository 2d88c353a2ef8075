"""Option values as users type them: counts, seeds, rounds, stream counts, hex words."""

from __future__ import annotations

from tritherm.errors import UserError


def parse_count(text, what="count", required=True, high=None, why=""):
    """A whole number >= 1 (``10**9`` is welcome), at most `high` if given (`why` says
    why, in a parenthesis); None if `text` is None and not `required`."""
    if text is None:
        if required:
            raise UserError(f"--{what} is required")
        return None
    try:
        if isinstance(text, str):
            base, star, power = text.replace("_", "").partition("**")   # 10**9 is welcome
            if star and (not power.strip().isdigit() or int(power) > 64):
                raise ValueError
            value = int(base, 0) ** int(power) if star else int(base, 0)
        else:
            value = int(text)
    except ValueError:
        raise UserError(f"--{what} must be a whole number, got {text!r}") from None
    if value <= 0:
        raise UserError(f"--{what} must be at least 1, got {value}")
    if high is not None and value > high:
        raise UserError(f"--{what} must be at most {high}{f' ({why})' if why else ''}, "
                        f"got {value}")
    return value


def option_names(text: str, names: dict[str, str]) -> str:
    """`text` (a message from a library) with its parameter names replaced by the options
    the user typed: ``{"max_k": "--max-k"}`` turns "max_k must be ..." into "--max-k must
    be ..." and "cells=4" into "--cells 4"."""
    import re
    for name, option in names.items():
        text = re.sub(rf"^{re.escape(name)}\b", option, text)
        text = re.sub(rf"\b{re.escape(name)}=", f"{option} ", text)
    return text


def parse_hex_word(text: str, what: str) -> int:
    digits = text.strip()
    digits = digits[2:] if digits.lower().startswith("0x") else digits
    if not digits or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
        raise UserError(f"{what} {text!r} is not a hexadecimal word")
    value = int(digits, 16)
    if value >> 32:
        raise UserError(f"{what} {text!r} does not fit in 32 bits")
    return value


def parse_hex_pair(text: str, what: str) -> tuple[int, int]:
    parts = text.split(":")
    if len(parts) != 2:
        raise UserError(f"{what} must be two hex words W0:W1, got {text!r}")
    return parse_hex_word(parts[0], f"{what} word 0"), parse_hex_word(parts[1], f"{what} word 1")


def parse_seed(text) -> int:
    try:
        value = int(text, 0) if isinstance(text, str) else int(text)
    except ValueError:
        raise UserError(f"--seed must be a whole number (decimal or 0x hex), got {text!r}") \
            from None
    if not 0 <= value < 1 << 32:
        raise UserError(f"--seed must be in [0, 2**32 - 1], got {value}")
    return value


def parse_rounds(text) -> int:
    from tritherm.formats import THREEFRY_MAX_ROUNDS
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= THREEFRY_MAX_ROUNDS:
        raise UserError(f"--rounds must be a whole number in [1, {THREEFRY_MAX_ROUNDS}], "
                        f"got {text!r}")
    return value


def parse_streams(text, low=1, high=1 << 16) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise UserError(f"--streams must be a whole number in [{low}, {high}], got {text!r}")
    return value
