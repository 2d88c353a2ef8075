"""Build the self-test bitstreams (ternary array, noise) for a board, through its
amaranth-boards platform."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tritherm import toolchain
from tritherm.formats import TernaryArrayShape

from .catalog import Board, get_board
from .report import PnrReport, format_report, read_report
from .synth import PRE_SYNTH, SYNTH_RETRY_OPTIONS, BuildError

__all__ = ["build_selftest", "build_noise_selftest", "NoiseBuildReport", "count_ring_cells",
           "timing_message"]


def timing_message(report: PnrReport, board: Board,
                   advice: str = "build a smaller array (--lanes, --inputs)") -> str | None:
    """One sentence when timing is not met at the board's target clock, else None."""
    if report.timing_met:
        return None
    fmax = report.fmax_mhz
    return (f"timing is NOT met on {board.name}: Fmax {fmax:.2f} MHz is below the "
            f"{board.target_hz / 1e6:g} MHz clock; {advice}.")


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
    report = _platform_build(board, top, "selftest", build_dir, progress)
    _finish(report, board, build_dir / f"selftest{board.bitstream_suffix}", progress,
            "build a smaller array (--lanes, --inputs)")
    return report


def _platform_build(board: Board, top, name: str, build_dir: Path, progress,
                    nextpnr_opts: str = "") -> PnrReport:
    """Build `top` through the board's amaranth-boards platform (yosys retried with the
    options of `SYNTH_RETRY_OPTIONS`); return nextpnr's report."""
    progress(f"synthesising, placing and routing in {build_dir} (this takes minutes)...")
    for attempt, extra in enumerate(SYNTH_RETRY_OPTIONS):
        try:
            options = dict(script_after_read=PRE_SYNTH,
                           nextpnr_opts=" ".join(["--timing-allow-fail", nextpnr_opts]).strip())
            if extra:
                options["synth_opts"] = extra.strip()
            board.make_platform().build(top, name=name, build_dir=str(build_dir),
                                        do_program=False, **options)
            break
        except subprocess.CalledProcessError:
            if attempt < len(SYNTH_RETRY_OPTIONS) - 1:
                progress("yosys stopped; retrying with -dff...")
                continue
            raise BuildError(f"the {board.name} build failed; see the logs in {build_dir} "
                             f"({name}.rpt for yosys, {name}.tim for nextpnr)") from None
    return read_report(build_dir / f"{name}.tim", board.family)


def _finish(report: PnrReport, board: Board, bitstream: Path, progress, advice: str) -> None:
    """Print the report, the bitstream and how to load it (or why timing fails)."""
    progress(format_report(report, board.name))
    progress(f"bitstream: {bitstream}")
    message = timing_message(report, board, advice)
    if message:
        progress(message)
    else:
        progress(f"load it with: {' '.join(board.program_command(str(bitstream)))}")


#: A ring oscillator's LUT, as `tritherm.hdl.noise.RingOscillators` names it.
_RING_CELL = re.compile(r"ring(\d+)_lut(\d+)")


def count_ring_cells(netlist: str | Path) -> int:
    """Ring-oscillator LUTs in a yosys or nextpnr JSON netlist (cells named
    ``...ringR_lutI``, counted once per ring and position)."""
    modules = json.loads(Path(netlist).read_text())["modules"]
    found = set()
    for module in modules.values():
        for cell in module.get("cells", {}):
            match = _RING_CELL.search(cell)
            if match:
                found.add(match.groups())
    return len(found)


@dataclass
class NoiseBuildReport(PnrReport):
    """`PnrReport` plus the ring-oscillator LUTs found after synthesis (yosys' netlist)
    and after placement (nextpnr's netlist), and how many the design has."""

    ring_cells: dict[str, int] = field(default_factory=dict)
    rings_expected: int = 0


def build_noise_selftest(board: str | Board, build_dir: str | Path | None = None,
                         progress=print, **options) -> NoiseBuildReport:
    """Build the `NoiseSelftest` bitstream for `board` and return nextpnr's report.

    nextpnr runs with ``--ignore-loops`` (the rings are combinational loops) and writes its
    placed netlist, in which the ring LUTs are counted (``report.ring_cells``: found in
    yosys' netlist and in the placed one).

    Parameters
    ----------
    board : str or Board
        A name from `tritherm.boards.catalog.BOARDS`.
    build_dir : path, optional
        ``build/<board>-noise`` by default; the bitstream is ``noise_selftest.bin``
        (iCE40) or ``noise_selftest.bit`` (ECP5) there.
    progress : callable
        Receives one line per step.
    **options :
        Passed to `NoiseSelftest` (``streams``, ``shaper``, ``unroll``, ``pipelined``,
        ``run_seed``, ``fixed_button``, ...).

    Raises `BuildError` when a tool fails or a ring LUT was removed.
    """
    from tritherm.firmware.noise_selftest import NoiseSelftest

    board = get_board(board) if isinstance(board, str) else board
    build_dir = Path(build_dir or Path("build") / f"{board.name}-noise")
    toolchain.setup()
    top = NoiseSelftest(board, **options)
    core = top.core
    noise = core.noise
    mode = (f"{'pipelined' if noise._threefry_args[2] else 'iterative'}, "
            f"{noise._threefry_args[1]} round(s)/cycle")
    seed = "entropy" if core.run_seed is None else f"fixed 0x{core.run_seed:08x}"
    progress(f"{board.name}: noise self-test, {core.streams} streams, {core.shaper} shaper, "
             f"Threefry-2x32 {mode}; check {core.check_steps * core.streams} samples, "
             f"then {seed} seed; rings {'+'.join(map(str, core.lengths))} LUTs")
    name = "noise_selftest"
    placed = f"{name}_placed.json"
    report = _platform_build(board, top, name, build_dir, progress,
                             nextpnr_opts=f"--ignore-loops --write {placed}")
    expected = sum(core.lengths)
    report = NoiseBuildReport(**vars(report), rings_expected=expected, ring_cells={
        "synthesised": count_ring_cells(build_dir / f"{name}.json"),
        "placed": count_ring_cells(build_dir / placed)})
    progress(f"ring-oscillator LUTs: {report.ring_cells['synthesised']} after yosys, "
             f"{report.ring_cells['placed']} placed, of {expected}")
    if report.ring_cells["placed"] != expected:
        raise BuildError(f"the toolchain removed ring-oscillator LUTs on {board.name}: "
                         f"{report.ring_cells['placed']} of {expected} placed")
    _finish(report, board, build_dir / f"{name}{board.bitstream_suffix}", progress,
            "build a smaller noise core (unroll, pipelined)")
    return report
