"""Errors that reach the user as one sentence, and the exit statuses every command uses.

Exit statuses (the same for every command):

=====  ==================================================================================
0      success
1      a check failed: a test, a mismatch against the golden model, a statistics FAIL of a
       counter-based source, timing not met
2      bad input, or a missing tool or board
130    interrupted (Ctrl-C), also while a simulated SoC runs
=====  ==================================================================================
"""

from __future__ import annotations

__all__ = ["UserError", "EXIT_OK", "EXIT_CHECK_FAILED", "EXIT_BAD_INPUT", "EXIT_INTERRUPTED"]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A mistake in the command's input, reported as one sentence (exit status 2)."""
