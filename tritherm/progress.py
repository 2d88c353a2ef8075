"""Progress of long work (simulator builds, synthesis and place-and-route, long sample runs,
dieharder), through one library, tqdm, on stderr.

Quiet when stderr is not a terminal (a pipe, a log file, a test), so scripts and CI see
only the commands' results; ``TRITHERM_PROGRESS=1`` forces it on, ``=0`` off.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

__all__ = ["enabled", "steps", "stage", "items"]


def enabled() -> bool:
    """Whether progress is shown: stderr is a terminal, unless TRITHERM_PROGRESS says."""
    forced = os.environ.get("TRITHERM_PROGRESS")
    if forced in ("0", "1"):
        return forced == "1"
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _bar(label: str, total=None, unit: str = "it"):
    from tqdm import tqdm
    return tqdm(total=total, desc=label, unit=unit, file=sys.stderr, leave=False,
                dynamic_ncols=True, disable=not enabled())


def steps(label: str, unit: str = "step"):
    """A ``progress(done, total)`` callback drawing a bar of `unit`s; the bar closes when
    ``done == total``."""
    state = {"bar": None}

    def progress(done: int, total: int) -> None:
        bar = state["bar"]
        if bar is None:
            bar = state["bar"] = _bar(label, total, unit)
        bar.update(max(0, done - bar.n))
        if done >= total:
            bar.close()
            state["bar"] = None
    return progress


@contextlib.contextmanager
def stage(label: str):
    """Show `label` with the time spent on it while the block runs (work of unknown
    length: a Verilator build, yosys and nextpnr)."""
    bar = _bar(label)
    done = threading.Event()

    def tick():
        while not done.wait(0.5):
            bar.refresh()
    ticker = threading.Thread(target=tick, daemon=True)
    if not bar.disable:
        bar.bar_format = "{desc}: {elapsed}"
        ticker.start()
    try:
        yield bar
    finally:
        done.set()
        if ticker.is_alive():
            ticker.join()
        bar.close()


def items(label: str, total: int | None = None, unit: str = "test"):
    """A bar advanced by one with each call of the returned ``advance(text="")``; the
    text, if any, is shown beside the bar. Close it with ``advance.close()``."""
    bar = _bar(label, total, unit)

    def advance(text: str = "") -> None:
        if text:
            bar.set_postfix_str(text, refresh=False)
        bar.update(1)
    advance.close = bar.close
    return advance
