"""Tables and step progress on the terminal."""

from __future__ import annotations

import sys
import time


def table(header, rows) -> str:
    rows = [tuple(str(cell) for cell in row) for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join("-" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), line, *(fmt.format(*r) for r in rows)])


def step_progress(label: str):
    """A `progress(done, total)` that shows steps on stderr once a run takes 2 s."""
    start, shown = time.monotonic(), [0.0, False]

    def progress(done, total):
        now = time.monotonic()
        if now - start >= 2 and (now - shown[0] >= 1 or done == total):
            shown[0], shown[1] = now, True
            print(f"\r{label}: {done}/{total} steps ({100 * done / total:.0f}%)", end="",
                  file=sys.stderr, flush=True)
        if done == total and shown[1]:
            print(file=sys.stderr)
    return progress
