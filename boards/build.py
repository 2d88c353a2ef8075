"""Build the ternary self-test bitstream for a board, through its amaranth-boards platform."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tritherm import toolchain
from tritherm.formats import TernaryArrayShape

from .catalog import Board, get_board
from .report import PnrReport, format_report, read_report
from .synth import PRE_SYNTH, SYNTH_RETRY_OPTIONS, BuildError

__all__ = ["build_selftest", "timing_message"]


def timing_message(report: PnrReport, board: Board) -> str | None:
    """One sentence when timing is not met at the board's target clock, else None."""
    if report.timing_met:
        return None
    fmax = report.fmax_mhz
    return (f"timing is NOT met on {board.name}: Fmax {fmax:.2f} MHz is below the "
            f"{board.target_hz / 1e6:g} MHz clock; build a smaller array (--lanes, --inputs).")


def build_selftest(board: str | Board, shape: TernaryArrayShape | None = None,
                   build_dir: str | Path | None = None, progress=print) -> PnrReport:
    """Build the `TernarySelftest` bitstream for `board` and return nextpnr's report.

    Parameters
    ----------
    board : str or Board
        A name from `tritherm.boards.catalog.BOARDS`.
    shape : TernaryArrayShape, optional
        Array size; the board's ``selftest_shape`` by default.
    build_dir : path, optional
        ``build/<board>`` by default; the bitstream is ``selftest.bin`` (iCE40) or
        ``selftest.bit`` (ECP5) there.
    progress : callable
        Receives one line per step.

    Raises `BuildError` when a tool fails.
    """
    from tritherm.firmware.selftest import TernarySelftest

    board = get_board(board) if isinstance(board, str) else board
    build_dir = Path(build_dir or Path("build") / board.name)
    toolchain.setup()
    top = TernarySelftest(board, shape)
    s = top.shape
    progress(f"{board.name}: ternary self-test, {s.lanes} lanes x {s.inputs} inputs, "
             f"K <= {s.capacity}, {len(top.vectors.cases)} jobs, "
             f"{len(top.vectors.expected)} result words")
    progress(f"synthesising, placing and routing in {build_dir} (this takes minutes)...")
    for attempt, extra in enumerate(SYNTH_RETRY_OPTIONS):
        try:
            options = dict(script_after_read=PRE_SYNTH, nextpnr_opts="--timing-allow-fail")
            if extra:
                options["synth_opts"] = extra.strip()
            board.make_platform().build(top, name="selftest", build_dir=str(build_dir),
                                        do_program=False, **options)
            break
        except subprocess.CalledProcessError:
            if attempt < len(SYNTH_RETRY_OPTIONS) - 1:
                progress("yosys stopped; retrying with -dff...")
                continue
            raise BuildError(f"the {board.name} build failed; see the logs in {build_dir} "
                             f"(selftest.rpt for yosys, selftest.tim for nextpnr)") from None
    report = read_report(build_dir / "selftest.tim", board.family)
    bitstream = build_dir / f"selftest{board.bitstream_suffix}"
    progress(format_report(report, board.name))
    progress(f"bitstream: {bitstream}")
    message = timing_message(report, board)
    if message:
        progress(message)
    else:
        progress(f"load it with: {' '.join(board.program_command(str(bitstream)))}")
    return report
