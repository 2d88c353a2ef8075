"""Build bitstreams for a board through its amaranth-boards platform (the SoC, the UART
echo, the ternary and noise self-tests), and load them with the board's programmer."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tritherm import toolchain
from tritherm.progress import stage
from tritherm.formats import TernaryArrayShape

from .catalog import Board, get_board
from .report import PnrReport, format_report, parse_nextpnr_log, read_report
from .synth import PRE_SYNTH, SYNTH_RETRY_OPTIONS, BuildError

__all__ = ["build_selftest", "build_noise_selftest", "NoiseBuildReport", "count_ring_cells",
           "timing_message", "build_soc", "default_bitstream", "program_board", "NoBoardFound"]


def timing_message(report: PnrReport, board: Board,
                   advice: str = "build a smaller array (--lanes, --inputs)",
                   target_hz: float | None = None) -> str | None:
    """One sentence when timing is not met at `target_hz` (the board's self-test clock by
    default), else None."""
    if report.timing_met:
        return None
    fmax = report.fmax_mhz
    target = target_hz or board.target_hz
    reached = "nextpnr reported no clock" if fmax is None else f"Fmax {fmax:.2f} MHz is below"
    return (f"timing is NOT met on {board.name}: {reached} the {target / 1e6:g} MHz clock; "
            f"{advice}.")


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
                    nextpnr_opts: str = "", synth_opts: str = "") -> PnrReport:
    """Build `top` through the board's amaranth-boards platform (yosys retried with the
    options of `SYNTH_RETRY_OPTIONS`); return nextpnr's report."""
    progress(f"synthesising, placing and routing in {build_dir} (this takes minutes)...")
    netlist, log = build_dir / f"{name}.json", build_dir / f"{name}.tim"
    for attempt, extra in enumerate(SYNTH_RETRY_OPTIONS):
        for stale in (netlist, log):            # so a failure says which tool stopped
            stale.unlink(missing_ok=True)
        try:
            options = dict(script_after_read=PRE_SYNTH,
                           nextpnr_opts=" ".join(["--timing-allow-fail", nextpnr_opts]).strip())
            if synth_opts or extra:
                options["synth_opts"] = " ".join([synth_opts, extra.strip()]).strip()
            with stage(f"{board.name}: yosys, nextpnr and the packer"):
                board.make_platform().build(top, name=name, build_dir=str(build_dir),
                                            do_program=False, **options)
            break
        except subprocess.CalledProcessError:
            if log.exists():
                raise BuildError(_nextpnr_failure(board, log)) from None
            if attempt < len(SYNTH_RETRY_OPTIONS) - 1:
                progress("yosys stopped; retrying with -dff...")
                continue
            raise BuildError(f"the {board.name} build failed; see the logs in {build_dir} "
                             f"({name}.rpt for yosys, {name}.tim for nextpnr)") from None
    return _meet_timing_with_seeds(board, build_dir, name, progress)


def _meet_timing_with_seeds(board: Board, build_dir: Path, name: str, progress) -> PnrReport:
    """nextpnr's report of the build of `name`, placed and routed again with the next seed
    of `NEXTPNR_SEEDS` while a clock misses its constraint."""
    log = build_dir / f"{name}.tim"
    report = read_report(log, board.family)
    for seed in NEXTPNR_SEEDS[1:]:
        if report.timing_met or not report.clocks:
            break
        progress(f"timing missed with nextpnr's seed {seed - 1} ({_fmax_text(report)}); "
                 f"placing and routing again with seed {seed}...")
        with stage(f"{board.name}: nextpnr (seed {seed}) and the packer"):
            _replace_and_route(board, build_dir, name, seed)
        report = read_report(log, board.family)
    return report


#: nextpnr seeds a build tries, in order, until timing is met. A full part's Fmax is a
#: draw: the iCEBreaker SoC (97% of the iCE40UP5K) met 24 MHz at 24.50 MHz from one clone
#: and missed it at 23.09 MHz from another, the same design with only its source paths
#: (yosys' src attributes) changed. Each further seed re-runs nextpnr and the packer only.
NEXTPNR_SEEDS = (1, 2, 3, 4, 5, 6)


def _fmax_text(report: PnrReport) -> str:
    fmax = report.fmax_mhz
    return "no clock reported" if fmax is None else f"Fmax {fmax:.2f} MHz"


def _replace_and_route(board: Board, build_dir: Path, name: str, seed: int) -> None:
    """Re-run the place-and-route and packing lines of Amaranth's build script for `name`
    (the synthesised netlist stays), nextpnr with ``--seed seed``."""
    script = (build_dir / f"build_{name}.sh").read_text().splitlines()
    lines = [line for line in script if line.startswith(('"$NEXTPNR', '"$ICEPACK', '"$ECPPACK'))]
    if not lines or not lines[0].startswith('"$NEXTPNR'):
        raise BuildError(f"cannot find nextpnr's command in {build_dir / f'build_{name}.sh'}")
    tool, rest = lines[0].split(" ", 1)
    lines[0] = f"{tool} --seed {seed} {rest}"
    try:
        subprocess.run(["sh", "-ec", "\n".join(lines)], cwd=build_dir, check=True,
                       capture_output=True)
    except subprocess.CalledProcessError:
        raise BuildError(_nextpnr_failure(board, build_dir / f"{name}.tim")) from None


def _nextpnr_failure(board: Board, log: Path) -> str:
    """One sentence for a nextpnr run that stopped: which cells overflowed, or its error."""
    report = parse_nextpnr_log(log.read_text(errors="replace"), board.family)
    over = [f"{use.used}/{use.available} {cell}" for cell, use in report.cells.items()
            if use.used > use.available]
    if over:
        return (f"the design does not fit the {board.name}'s {board.device}: "
                f"{', '.join(over)} (nextpnr's counts, in {log})")
    errors = [line.strip() for line in log.read_text(errors="replace").splitlines()
              if line.startswith("ERROR")]
    return (f"nextpnr stopped on the {board.name}: "
            f"{errors[-1] if errors else 'see ' + str(log)}")


def _finish(report: PnrReport, board: Board, bitstream: Path, progress, advice: str,
            target_hz: float | None = None) -> None:
    """Print the report, the bitstream and how to load it (or why timing fails)."""
    progress(format_report(report, board.name))
    progress(f"bitstream: {bitstream}")
    message = timing_message(report, board, advice, target_hz)
    if message:
        progress(message)
    else:
        progress(f"load it with: tritherm flash --board {board.name} --bitstream {bitstream} "
                 f"(runs: {' '.join(board.program_command(str(bitstream)))})")


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


# --- the SoC and the echo bring-up design ---------------------------------------------------

def default_bitstream(board: Board, design: str = "soc") -> Path:
    """Where `build_soc` puts `design`'s bitstream by default:
    ``build/<board>-<design>/<design>.bin`` (iCE40) or ``.bit`` (ECP5)."""
    return Path("build") / f"{board.name}-{design}" / f"{design}{board.bitstream_suffix}"


def build_soc(board: str | Board, design: str = "soc", build_dir: str | Path | None = None,
              progress=print, config=None) -> PnrReport:
    """Build the board top `SocTop` (the SoC, or the UART echo) and return nextpnr's report.

    The clock is the board's PLL output at its design clock; timing is checked there. On
    iCE40 yosys runs with ``-dsp`` so the coupler's multipliers go to the SB_MAC16 blocks.

    Parameters
    ----------
    board : str or Board
        A name from `tritherm.boards.catalog.BOARDS`.
    design : str
        ``"soc"`` or ``"echo"`` (`tritherm.boards.soc_top.SOC_DESIGNS`).
    build_dir : path, optional
        ``build/<board>-<design>`` by default; the bitstream is ``<design>.bin`` or
        ``<design>.bit`` there (`default_bitstream`).
    progress : callable
        Receives one line per step.
    config : SocConfig, optional
        Other sizes than the board's ``soc``.

    Raises `BuildError` when a tool fails.
    """
    from .soc_top import SocTop

    board = get_board(board) if isinstance(board, str) else board
    top = SocTop(board, design, config)
    bitstream = default_bitstream(board, design)
    build_dir = Path(build_dir or bitstream.parent)
    toolchain.setup()
    c = top.config
    what = (f"SoC, array {c.array.lanes} lanes x {c.array.inputs} inputs (K <= "
            f"{c.array.capacity}), coupler {c.cells} cells / {c.multipliers} multipliers, "
            f"{c.shaper} shaper" if design == "soc" else "UART echo")
    progress(f"{board.name}: {what}, {c.baud} baud; clock {top.clock_text}")
    report = _platform_build(board, top, design, build_dir, progress,
                             synth_opts="-dsp" if board.family == "ice40" else "")
    advice = ("choose smaller sizes or a slower design clock in the board's SocConfig"
              if design == "soc" else "this design is tiny: check the PLL and the toolchain")
    _finish(report, board, build_dir / bitstream.name, progress, advice,
            target_hz=top.config.clock_hz)
    return report


# --- loading a bitstream --------------------------------------------------------------------

class NoBoardFound(BuildError):
    """The programmer found no board on the USB bus; the message says what it looked for."""


#: What openFPGALoader (and icesprog) print when the cable or bootloader is not on the bus.
_NO_DEVICE = re.compile(r"unable to open ftdi device|device not found|not found|no dfu "
                        r"compatible device|failed to claim cable|no device|cannot find",
                        re.IGNORECASE)
_NO_PERMISSION = re.compile(r"LIBUSB_ERROR_ACCESS|permission denied|insufficient permissions",
                            re.IGNORECASE)


def _programmer_path(board: Board) -> str:
    tool = board.programmer.tool
    if tool == "openFPGALoader":
        return toolchain.require("openFPGALoader")
    import shutil
    found = shutil.which(tool)
    if found is None:
        raise toolchain.ToolMissing(
            f"{tool} is not installed; build it from the board maker's tools (for the iCESugar: "
            f"github.com/wuxx/icesugar, tools/), or copy the .bin onto the {board.name}'s USB "
            f"drive")
    return found


def program_board(board: str | Board, bitstream: str | Path | None = None,
                  flash: bool | None = None, progress=print) -> list[str]:
    """Load `bitstream` into `board` with its programmer; return the command that ran.

    Parameters
    ----------
    board : str or Board
    bitstream : path, optional
        The SoC's (`default_bitstream`) by default.
    flash : bool, optional
        True writes the SPI flash (kept at power-off), False the configuration SRAM; None
        chooses SRAM where the board's programmer can load it, else the flash.
    progress : callable
        Receives the programmer's output, line by line, when it succeeds.

    Raises ValueError when the bitstream is missing or the board cannot be loaded that way,
    `tritherm.toolchain.ToolMissing` when the programmer is not installed, `NoBoardFound`
    when it finds no board (one sentence naming the cable it looked for), and `BuildError`
    when it fails otherwise.
    """
    board = get_board(board) if isinstance(board, str) else board
    if bitstream is None:
        bitstream = default_bitstream(board)
        if not bitstream.exists():
            raise ValueError(f"no bitstream at {bitstream}; build it with `tritherm build "
                             f"--board {board.name}` or pass --bitstream FILE")
    bitstream = Path(bitstream)
    if not bitstream.is_file():
        raise ValueError(f"bitstream {bitstream} does not exist")
    if bitstream.suffix != board.bitstream_suffix:
        raise ValueError(f"the {board.name} loads {board.bitstream_suffix} bitstreams, "
                         f"got {bitstream}")
    command = board.program_command(str(bitstream), flash)
    command[0] = _programmer_path(board)
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    output = (result.stdout + "\n" + result.stderr).strip()
    tool = board.programmer.tool
    if result.returncode != 0:
        if _NO_PERMISSION.search(output):
            raise BuildError(f"{tool} found {board.programmer.looks_for} but may not open it: "
                             f"permission denied (add a udev rule for it, or run as root)")
        if _NO_DEVICE.search(output):
            raise NoBoardFound(f"no board found: {tool} looked for "
                               f"{board.programmer.looks_for} and found none")
        raise BuildError(f"{tool} failed (exit status {result.returncode}): "
                         f"{_last_line(output)}")
    for line in output.splitlines():
        if line.strip():
            progress(line)
    return command


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
