"""Option values as users type them: counts, seeds, rounds, stream counts, hex words."""

from __future__ import annotations

from tritherm.errors import UserError


def parse_count(text, what="count", required=True):
    if text is None:
        if required:
            raise UserError(f"--{what} is required (only --format raw may run without it)")
        return None
    try:
        if isinstance(text, str):
            base, _, power = text.replace("_", "").partition("**")   # 10**9 is welcome
            value = int(base, 0) ** int(power, 0) if power else int(base, 0)
        else:
            value = int(text)
    except ValueError:
        raise UserError(f"--{what} must be a whole number, got {text!r}") from None
    if value <= 0:
        raise UserError(f"--{what} must be at least 1, got {value}")
    return value


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
