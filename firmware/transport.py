"""Byte pipes to a SoC: a serial port for a board, a Verilator simulation for everything else.

A transport moves raw bytes; `tritherm.firmware.device.Device` speaks the protocol over it.
Both kinds have the same four members: `write`, `read` (whatever arrived within a timeout),
`close`, and `resync_seconds` (how long the device needs to give up on a partial frame).

`SimTransport` is byte-level: it runs `SocCore` (the SoC without its UART) compiled by
Verilator, under a small C++ harness (``sim_harness.cpp``) that copies the host's bytes
from a pipe into the core's ``rx`` stream (one byte per cycle at most) and the core's ``tx``
stream back into a pipe. The simulated clock free-runs while the core is busy or input is
queued and stops while the core waits idle for a frame, so an idle simulation costs nothing
and everything the core does is simulated cycle by cycle. Builds are cached like
`tritherm.sim.verify.rtl`'s, keyed on the Verilog and the harness.
"""

from __future__ import annotations

import functools
import hashlib
import os
import select
import subprocess
import time
from importlib import resources
from pathlib import Path

from .config import SIM_SOC_CONFIG, SocConfig
from .protocol import TIMEOUT_BYTE_TIMES

__all__ = ["Transport", "DeviceError", "TransportError", "SerialTransport", "SimTransport",
           "build_sim_harness", "sim_verilog", "HARNESS_SOURCE"]

#: The C++ main of the simulation (package data of tritherm.firmware).
HARNESS_SOURCE = "sim_harness.cpp"
TOPLEVEL = "soc_core"


class DeviceError(RuntimeError):
    """The device refused a command, did not answer, or is not the SoC expected."""


class TransportError(DeviceError):
    """The byte pipe itself failed: no such port, the simulation died, a build failed."""


class Transport:
    """A byte pipe to a device (see the module docstring)."""

    #: Seconds the device needs to abandon a partial frame, plus a margin.
    resync_seconds: float = 0.05
    #: A response time that is generous for this transport (`Device`'s default timeout).
    default_timeout: float = 2.0
    #: What the user knows this transport by ("/dev/ttyUSB1", "the simulated SoC").
    description: str = "the device"

    def write(self, data: bytes) -> None:
        """Send `data` (all of it)."""
        raise NotImplementedError

    def read(self, timeout: float) -> bytes:
        """Whatever has arrived, waiting up to `timeout` seconds for the first byte; b""
        if nothing came."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the port or stop the simulation."""

    def drain(self, seconds: float) -> bytes:
        """Everything that arrives within `seconds` (and nothing later)."""
        end = time.monotonic() + seconds
        data = bytearray()
        while (left := end - time.monotonic()) > 0:
            data += self.read(left)
        return bytes(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- serial port -------------------------------------------------------------------------

class SerialTransport(Transport):
    """A board's USB-UART through pyserial, 8N1 at `baud`.

    Parameters
    ----------
    port : str
        The serial device (``/dev/ttyUSB1``, ``COM3``).
    baud : int
        Must be the SoC's rate (``identify`` reports it; `SocConfig.baud`).
    """

    default_timeout = 1.0

    def __init__(self, port: str, baud: int):
        import serial

        self.description = port
        self.baud = baud
        # The device drops a frame after TIMEOUT_BYTE_TIMES silent byte times; the USB
        # adapters deliver bytes in packets up to ~16 ms apart (the FTDI latency timer).
        self.resync_seconds = 2 * TIMEOUT_BYTE_TIMES * 10 / baud + 0.05
        if not os.path.exists(port) and os.name == "posix":
            raise TransportError(f"no serial port {port} (is the board plugged in? boards "
                                 f"usually appear as /dev/ttyUSB* or /dev/ttyACM*)")
        try:
            self._serial = serial.Serial(port, baud, timeout=0, write_timeout=5)
        except serial.SerialException as error:
            reason = str(error)
            if "Inappropriate ioctl" in reason:
                raise TransportError(f"{port} is not a serial port") from None
            if "Permission denied" in reason:
                raise TransportError(f"permission denied opening {port} (add yourself to "
                                     f"the dialout group, then log in again)") from None
            raise TransportError(f"cannot open serial port {port}: {reason}") from None
        self._timeout = 0.0
        self._serial.reset_input_buffer()

    def write(self, data: bytes) -> None:
        import serial
        try:
            self._serial.write(data)
            self._serial.flush()
        except serial.SerialException as error:
            raise TransportError(f"writing to {self.description} failed: {error}") from None

    def read(self, timeout: float) -> bytes:
        import serial
        timeout = max(0.0, timeout)
        try:
            if timeout != self._timeout:
                self._serial.timeout = self._timeout = timeout
            first = self._serial.read(1)
            if not first:
                return b""
            waiting = self._serial.in_waiting
            return first + (self._serial.read(waiting) if waiting else b"")
        except serial.SerialException as error:
            raise TransportError(f"reading from {self.description} failed: {error}") from None

    def close(self) -> None:
        self._serial.close()


# --- Verilator simulation ----------------------------------------------------------------

def _harness_text() -> str:
    return resources.files("tritherm.firmware").joinpath(HARNESS_SOURCE).read_text()


def build_sim_harness(verilog: str, progress=None) -> Path:
    """The executable of `verilog` (module ``soc_core``, with the `SocCore` ports rx, tx
    and busy) under the byte-level harness, built by Verilator or taken from the cache.

    `progress(text)` hears about a build before it starts (it takes a minute or so).
    """
    from tritherm import toolchain
    from tritherm.progress import stage
    from tritherm.sim.verify import rtl

    verilator = toolchain.require("verilator")
    harness = _harness_text()
    key = hashlib.sha256(f"{verilator}\n{harness}\n{verilog}".encode()).hexdigest()[:16]
    directory = rtl.cache_root() / "soc-sim" / f"{TOPLEVEL}-{key}"
    executable = directory / "obj" / "sim_harness"
    with rtl._locked(directory):
        if (directory / ".built").exists() and executable.exists():
            return executable
        if progress:
            progress("building the simulated SoC with Verilator (a minute or so; cached "
                     "afterwards)")
        (directory / f"{TOPLEVEL}.v").write_text(verilog)
        (directory / HARNESS_SOURCE).write_text(harness)
        command = [verilator, "--cc", "--exe", "--build", "-O3", "-Wno-fatal", "-Wno-lint",
                   "--no-timing", "--prefix", "Vtop", "--top-module", TOPLEVEL,
                   "-Mdir", "obj", "-o", "sim_harness", "-j", "2", "-CFLAGS", "-O2",
                   f"{TOPLEVEL}.v", HARNESS_SOURCE]
        with rtl._verilator_make_fix("verilator"), \
                open(directory / "build.log", "w") as log, \
                stage("verilator: building the simulated SoC"):
            result = subprocess.run(command, cwd=directory, stdout=log,
                                    stderr=subprocess.STDOUT)
        if result.returncode or not executable.exists():
            raise TransportError(f"Verilator could not build the simulated SoC; see "
                                 f"{directory / 'build.log'}")
        (directory / ".built").touch()
    return executable


def sim_verilog(component) -> str:
    """`component` as Verilog with the top module the harness expects."""
    from tritherm.sim.verify.rtl import verilog_of
    return verilog_of(component, TOPLEVEL)


@functools.lru_cache(maxsize=8)
def _soc_verilog(config: SocConfig) -> str:
    # Converting the SoC takes seconds; once per configuration and process is enough.
    from .soc import SocCore
    return sim_verilog(SocCore(config))


class SimTransport(Transport):
    """The SoC in simulation: a byte-level Verilator build of `SocCore` (see the module
    docstring).

    Parameters
    ----------
    config : SocConfig
        The SoC to simulate (default `SIM_SOC_CONFIG`).
    component : Amaranth component, optional
        Simulate this instead of ``SocCore(config)``; it must have the ports rx, tx and
        busy (tests use it for stand-ins).
    rx_gap : int
        Idle cycles between two bytes into rx (0: as fast as the core takes them).
    progress : callable, optional
        ``progress(text)`` is told when a build starts.
    """

    resync_seconds = 0.05      # the clock runs while a frame is partial: it times out at once
    default_timeout = 10.0
    description = "the simulated SoC"

    def __init__(self, config: SocConfig = SIM_SOC_CONFIG, *, component=None, rx_gap: int = 0,
                 progress=None):
        self.config = config
        verilog = sim_verilog(component) if component is not None else _soc_verilog(config)
        executable = build_sim_harness(verilog, progress)
        self._process = subprocess.Popen([str(executable), "--rx-gap", str(int(rx_gap))],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         bufsize=0)
        self._out = self._process.stdout.fileno()

    def _died(self) -> TransportError:
        code = self._process.poll()
        return TransportError(f"the simulated SoC stopped unexpectedly (exit status {code})")

    def write(self, data: bytes) -> None:
        try:
            self._process.stdin.write(bytes(data))
        except (BrokenPipeError, ValueError):
            raise self._died() from None

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self._out], [], [], max(0.0, timeout))
        if not ready:
            return b""
        data = os.read(self._out, 1 << 16)
        if not data:
            raise self._died()
        return data

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self._process.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process.stdout.close()
