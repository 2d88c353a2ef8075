"""The supported boards: FPGA, platform, clocks and PLL, UART, LEDs, programmer, sizes.

Every board is an `amaranth-boards` platform plus what tritherm needs to know beside it:
the design clock its SoC runs at (and the PLL setting that makes it), where its UART is,
how its bitstream is loaded, and the `SocConfig` sized for its FPGA. `get_board` looks one
up by name; `boards_table` prints them all for ``tritherm boards``.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass

from tritherm.firmware.config import SocConfig
from tritherm.formats import TernaryArrayShape

__all__ = ["Led", "SerialPins", "Programmer", "Board", "BOARDS", "get_board", "boards_table", "FAMILY_DEVICES",
           "GENERATOR_SOCS"]

#: Cell-type capacity of the two FPGA parts the benchmarks target (nextpnr's names).
FAMILY_DEVICES = {
    "ice40": ("iCE40UP5K", "sg48"),
    "ecp5": ("LFE5U-85F", "CABGA381"),
}


@dataclass(frozen=True)
class Led:
    """One LED: an amaranth-boards resource name and number, and for an RGB LED the colour
    field (``"r"``, ``"g"`` or ``"b"``)."""

    resource: str
    number: int = 0
    field: str | None = None

    def __str__(self):
        text = f"{self.resource}{self.number}"
        return f"{text}.{self.field}" if self.field else text


@dataclass(frozen=True)
class SerialPins:
    """Where a board's UART is: the FPGA pins of its ``uart`` resource and what is on the
    other end.

    Attributes
    ----------
    rx, tx : str
        The FPGA's receive and transmit pins, as the platform names them.
    bridge : str
        The USB-UART (or adapter) on the other end.
    port : str
        The serial port it usually appears as on Linux.
    connector : tuple or None
        When amaranth-boards has no ``uart`` resource for the board: the connector
        (name, number) whose pins `rx` and `tx` are; `Board.make_platform` adds the
        resource.
    """

    rx: str
    tx: str
    bridge: str
    port: str
    connector: tuple[str, int] | None = None

    def __str__(self):
        where = f"{self.connector[0]}{self.connector[1]}:" if self.connector else ""
        return f"rx {where}{self.rx}, tx {where}{self.tx}"


@dataclass(frozen=True)
class Programmer:
    """How a bitstream gets onto a board.

    Attributes
    ----------
    tool : str
        The program (a `tritherm.toolchain` tool name, or one it does not ship).
    args : tuple of str
        Arguments before the mode and the file (``-b ulx3s``).
    sram, flash : tuple of str or None
        Mode arguments that load the configuration SRAM (lost at power-off) or write the
        SPI flash; None when this programmer cannot do that on this board.
    looks_for : str
        The cable or bootloader it searches the USB bus for, for the "no board found"
        sentence.
    """

    tool: str
    args: tuple[str, ...]
    sram: tuple[str, ...] | None
    flash: tuple[str, ...] | None
    looks_for: str

    def command(self, bitstream: str, flash: bool | None = None,
                board: str = "this board") -> list[str]:
        """The command line that loads `bitstream`: into SRAM, or the flash when `flash`
        is true (None: SRAM where the board can, else the flash). ValueError when `board`
        cannot be loaded that way."""
        if flash is None:
            flash = self.sram is None
        mode = self.flash if flash else self.sram
        if mode is None:
            where, other = ("its flash", "--sram") if flash else ("its SRAM", "--flash")
            raise ValueError(f"{self.tool} cannot load {board}'s bitstream into {where}; "
                             f"use {other}")
        return [self.tool, *self.args, *mode, bitstream]


@dataclass(frozen=True)
class Board:
    """One supported board.

    Attributes
    ----------
    name : str
        What the user types (``tritherm build --board NAME``).
    family : str
        ``"ice40"`` or ``"ecp5"``.
    device, package : str
        The FPGA, as the platform (and so nextpnr) names it.
    platform : str
        ``"module:Class"`` of the amaranth-boards platform, imported on demand.
    clock_hz : float
        Frequency of the board's default clock.
    pass_led, fail_led, heartbeat_led : Led
        Where the self-test shows its verdict and that it is alive; the SoC shows
        "coupler running" on `pass_led` and "a sticky flag is set" on `fail_led`.
    programmer : Programmer
        How a bitstream is loaded (SRAM and flash commands, the cable it looks for).
    selftest_shape : TernaryArrayShape
        Default array size for the self-test bitstream (fits with room to spare).
    uart : SerialPins
        The SoC's serial port.
    soc : SocConfig
        What the board's SoC holds; its ``clock_hz`` is the design clock.
    pll_pad : bool
        iCE40: the board clock arrives on the PLL's own pad (``SB_PLL40_PAD``).
    bitstream_suffix : str
        Extension of the file the programmer loads.
    note : str
        Anything a user must know about the board.
    """

    name: str
    family: str
    device: str
    package: str
    platform: str
    clock_hz: float
    pass_led: Led
    fail_led: Led
    heartbeat_led: Led
    programmer: Programmer
    selftest_shape: TernaryArrayShape
    uart: SerialPins
    soc: SocConfig
    pll_pad: bool = False
    bitstream_suffix: str = ".bit"
    note: str = ""

    @property
    def target_hz(self) -> float:
        """Self-test clock target: the board clock (the self-tests need no PLL)."""
        return self.clock_hz

    @property
    def design_hz(self) -> float:
        """The SoC's design clock: the board clock, or made from it by the PLL."""
        return self.soc.clock_hz

    @property
    def pll(self):
        """The PLL setting that makes `design_hz` from `clock_hz` (`pll_for`)."""
        return self.pll_for(self.design_hz)

    def pll_for(self, clock_hz: float):
        """The PLL setting that makes `clock_hz` from the board clock exactly
        (`tritherm.boards.clocking.solve_pll`); None when `clock_hz` is the board clock
        itself (no PLL). ValueError when the PLL cannot make it."""
        return _solve_pll(self.family, self.clock_hz, clock_hz)

    def make_platform(self):
        """Instantiate the amaranth-boards platform (imported only when asked for), with
        the UART resource added where the platform has none."""
        module_name, class_name = self.platform.split(":")
        module = importlib.import_module(module_name)
        platform = getattr(module, class_name)()
        if self.uart.connector is not None:
            from amaranth.build import Attrs
            from amaranth_boards.resources import UARTResource
            attrs = (Attrs(IO_TYPE="LVCMOS33", PULLMODE="UP") if self.family == "ecp5"
                     else Attrs(IO_STANDARD="SB_LVCMOS", PULLUP=1))
            platform.add_resources([UARTResource(0, rx=self.uart.rx, tx=self.uart.tx,
                                                 conn=self.uart.connector, attrs=attrs)])
        return platform

    def program_command(self, bitstream: str, flash: bool | None = None) -> list[str]:
        """The command line that loads `bitstream` (see `Programmer.command`)."""
        return self.programmer.command(bitstream, flash, f"the {self.name}")


@functools.lru_cache(maxsize=None)
def _solve_pll(family: str, f_in: float, target: float):
    if target == f_in:
        return None
    from .clocking import solve_pll
    return solve_pll(family, f_in, target, tolerance=0.0)


# Self-test array sizes that leave room for the ROMs and build in a minute or two
# (docs/bench-ternary.md has the array's size per MAC).
_SMALL = TernaryArrayShape(lanes=4, inputs=5, max_k=60)        # iCE40UP5K, ECP5-12F
_MEDIUM = TernaryArrayShape(lanes=4, inputs=10, max_k=100)     # ECP5-25F/45F
_LARGE = TernaryArrayShape(lanes=8, inputs=10, max_k=200)      # ECP5-85F

# SoC sizes per FPGA: the ternary array beside the coupler. The ECP5s hold the SPU's 8
# cells with DSPs to spare for 8 multipliers. The iCE40UP5K holds them too since the
# coupler keeps x, p and the noise beats in block RAM (docs/boards.md, "What fits the
# iCE40UP5K"): 8 cells on 4 multipliers (+ 2 update DSPs, + 1 for the ICDF shaper on one
# datapath), no quartic pre-pass, a 2 x 5 array: 5,098 of 5,280 logic cells, 24.50 MHz
# (3 x 5 fits too, 5,239 cells, but one nextpnr seed in three misses 24 MHz with it; 2 x 5
# met it with each seed tried). A step takes 24 cycles (16 A x words, 8 to drain; the
# interleaved Threefry makes a beat every 20), so 10**6 steps a second at 24 MHz.
# Design clocks (the README's board section has the builds):
# - iCE40: 24 MHz from 12 MHz (SB_PLL40_PAD DIVR=0 DIVF=63 DIVQ=5): the lowest rate the
#   PLL makes exactly that 1 Mbaud divides and 24 cycles a step turn into 10**6 steps a
#   second (21 MHz would need 21 cycles).
# - ULX3S: 30 MHz from 25 MHz (PFD 5 MHz). The first guess, 50 MHz, built at 37.98 MHz on
#   the 85F (the coupler's update and saturation path is the critical one); 30 MHz leaves
#   a fifth of margin (35 MHz, the next rate the PLL makes exactly and 1 Mbaud divides,
#   would leave 8%, within nextpnr's seed-to-seed spread).
# - OrangeCrab: 32 MHz from 48 MHz (its speed grade 8 is faster than the ULX3S's 6).
#
# Serial rates (docs/protocol.md, "Baud rates"): the fastest each board's USB-UART and the
# design clock's divisor (at least 4 cycles a bit, exact here) allow. iCEBreaker: the
# FT2232H makes 12 MHz / 2 = 6 Mbaud exactly, 24 MHz / 6 Mbaud = 4 cycles a bit. ULX3S: the
# FT231X stops at 3 Mbaud, 30 MHz / 3 Mbaud = 10. The iCESugar's iCELink and the
# OrangeCrab's external adapter are not known to go past 1 Mbaud: they keep it.
# Block moments on chip (SocConfig.moments, one DSP and about 500 LUT4) on every ECP5 SoC;
# not on the iCE40UP5K: they would take its last SB_MAC16 and about 250 of the 307 logic
# cells left, on a part whose 24 MHz timing is already a draw between nextpnr seeds. The
# compact sample stream (SocConfig.stream, about 80 logic cells) fits it: 5,053 / 5,280
# cells, 25.04 MHz on seed 2 (22.47 on seed 1) as built on 2026-12-07; on every ECP5 SoC
# too (the ULX3S-85F's: 12,627 LUT4, 63.80 MHz against 30 MHz).
_SOC_UP5K = SocConfig(array=TernaryArrayShape(lanes=1, inputs=5, max_k=60), cells=8,
                      multipliers=4, shaper="icdf", clock_hz=24e6, quartic=False,
                      stream=True)
_ICEBREAKER_BAUD = 6_000_000
_ULX3S_BAUD = 3_000_000
_SOC_ECP5 = {
    "12F": TernaryArrayShape(lanes=4, inputs=10, max_k=100),
    "25F": TernaryArrayShape(lanes=8, inputs=10, max_k=200),
    "45F": TernaryArrayShape(lanes=16, inputs=10, max_k=200),
    "85F": TernaryArrayShape(lanes=16, inputs=10, max_k=200),
}


def _soc_ecp5(size: str, clock_hz: float, baud: int = 1_000_000) -> SocConfig:
    return SocConfig(array=_SOC_ECP5[size], cells=8, multipliers=8 if size != "12F" else 4,
                     shaper="icdf", clock_hz=clock_hz, baud=baud, moments=True, stream=True)


_ULX3S_LEDS = dict(pass_led=Led("led", 1), fail_led=Led("led", 0), heartbeat_led=Led("led", 7))
_CRAB_LEDS = dict(pass_led=Led("rgb_led", 0, "g"), fail_led=Led("rgb_led", 0, "r"),
                  heartbeat_led=Led("rgb_led", 0, "b"))

_ULX3S_PROGRAMMER = Programmer("openFPGALoader", ("-b", "ulx3s"), sram=("-m",),
                               flash=("-f",), looks_for="the ULX3S's FT231X (ftdi 0403:6015)")
_ULX3S_UART = SerialPins(rx="M1", tx="L4", bridge="FT231X USB-UART (the US1 port)",
                         port="/dev/ttyUSB0")


def _ulx3s(size: str, shape: TernaryArrayShape) -> Board:
    return Board(
        f"ulx3s-{size.lower()}", "ecp5", f"LFE5U-{size}", "BG381",
        f"amaranth_boards.ulx3s:ULX3S_{size}_Platform", 25e6, **_ULX3S_LEDS,
        programmer=_ULX3S_PROGRAMMER, selftest_shape=shape, uart=_ULX3S_UART,
        soc=_soc_ecp5(size, 30e6, _ULX3S_BAUD))


def _orangecrab(size: str, shape: TernaryArrayShape) -> Board:
    return Board(
        "orangecrab" if size == "25F" else f"orangecrab-{size.lower()}", "ecp5",
        f"LFE5U-{size}", "MG285", f"tritherm.boards.platforms:OrangeCrab{size}Platform",
        48e6, **_CRAB_LEDS, selftest_shape=shape,
        programmer=Programmer("openFPGALoader", ("-b", "orangeCrab"), sram=None, flash=(),
                              looks_for="the OrangeCrab's DFU bootloader (usb 1209:5af0)"),
        uart=SerialPins(rx="0", tx="1", connector=("io", 0),
                        bridge="a 3.3 V USB-UART adapter on the Feather header (its TX to "
                               "pin 0, its RX to pin 1, GND to GND)",
                        port="/dev/ttyUSB0"),
        soc=_soc_ecp5(size, 32e6),
        note="r0.2; loaded over USB DFU (hold the button while plugging in); its USB is the "
             "FPGA's own, with no USB-UART: the SoC's UART is on Feather pins 0 (rx) and 1 "
             "(tx), for an external 3.3 V adapter")


BOARDS: dict[str, Board] = {board.name: board for board in (
    Board("icebreaker", "ice40", "iCE40UP5K", "SG48",
          "tritherm.boards.platforms:ICEBreakerPlatform", 12e6,
          pass_led=Led("led_g", 0), fail_led=Led("led_r", 0), heartbeat_led=Led("led_g", 1),
          programmer=Programmer("openFPGALoader", ("-b", "ice40_generic"), sram=("-m",),
                                flash=("-f",),
                                looks_for="the iCEBreaker's FT2232H (ftdi 0403:6010)"),
          selftest_shape=_SMALL,
          uart=SerialPins(rx="6", tx="9", bridge="FT2232H channel B", port="/dev/ttyUSB1"),
          soc=_SOC_UP5K.with_(baud=_ICEBREAKER_BAUD), pll_pad=True, bitstream_suffix=".bin",
          note="heartbeat on the snap-off PMOD's LED2; the FT2232H's channel A programs, "
               "channel B (the second serial port) is the UART"),
    Board("icesugar", "ice40", "iCE40UP5K", "SG48",
          "amaranth_boards.icesugar:ICESugarPlatform", 12e6,
          pass_led=Led("led_g", 0), fail_led=Led("led_r", 0), heartbeat_led=Led("led_b", 0),
          programmer=Programmer("icesprog", (), sram=None, flash=(),
                                looks_for="the iCESugar's iCELink (usb 1d50:602b)"),
          selftest_shape=_SMALL,
          uart=SerialPins(rx="4", tx="6", bridge="the iCELink's USB serial port",
                          port="/dev/ttyACM0"),
          soc=_SOC_UP5K, pll_pad=True, bitstream_suffix=".bin",
          note="openFPGALoader cannot reach its iCELink; use icesprog (it writes the flash) "
               "or copy the .bin to the iCELink's USB drive"),
    _ulx3s("12F", _SMALL),
    _ulx3s("25F", _MEDIUM),
    _ulx3s("45F", _MEDIUM),
    _ulx3s("85F", _LARGE),
    _orangecrab("25F", _MEDIUM),
    _orangecrab("85F", _LARGE),
)}


#: SoCs sized for the digit generator (`tritherm.apps.generate.hardware`, issue 12): the
#: board's own SoC with a coupler of the model's 192 cells (64 visible + 128 hidden) on 16
#: A x multipliers, quartic pre-pass on, no block moments. The boards' default SoCs keep
#: the SPU's 8 cells. Built with ``tritherm build --board ulx3s-85f --cells 192
#: --multipliers 16 --quartic on --moments off`` (3 Mbaud): 14,920 logic cells of 83,640,
#: 66 DP16KD of 208, 20 MULT18X18D of 156, 50.78 MHz against the 30 MHz design clock. A step is 2,702
#: cycles (12 A words a row, 8 to drain, 390 for the quartic pre-pass): 0.46 s of coupler
#: time an image, beside the 74,188 configuration writes an image costs on the link.
GENERATOR_SOCS: dict[str, SocConfig] = {
    "ulx3s-85f": BOARDS["ulx3s-85f"].soc.with_(cells=192, multipliers=16, quartic=True,
                                               moments=False,    # 192 cells: too many sums
                                               stream=False),    # as built, before it
}


def get_board(name: str) -> Board:
    """The board called `name`; ValueError listing the supported boards otherwise."""
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board {name!r}; supported boards: "
                         f"{', '.join(BOARDS)}") from None


def board_summary(b: Board) -> dict:
    """One board as plain data (``tritherm boards --json``)."""
    soc = b.soc
    return {"board": b.name, "family": b.family, "device": b.device, "package": b.package,
            "clock_mhz": b.clock_hz / 1e6, "design_clock_mhz": b.design_hz / 1e6,
            "pll": b.pll is not None,
            "soc": {"lanes": soc.array.lanes, "inputs": soc.array.inputs,
                    "max_k": soc.array.max_k, "cells": soc.cells,
                    "multipliers": soc.multipliers, "shaper": soc.shaper, "baud": soc.baud},
            "serial_port": b.uart.port,
            "program": b.program_command(f"FILE{b.bitstream_suffix}"), "note": b.note}


def boards_table() -> str:
    """A printable table of the supported boards: FPGA, clocks, the SoC's size, serial
    port and how a bitstream is loaded."""
    header = ("board", "FPGA", "clock -> design", "SoC array, cells/mult", "serial port",
              "program with")
    rows = []
    for b in BOARDS.values():
        soc = b.soc
        rows.append((b.name, f"{b.device}-{b.package}",
                     (f"{b.clock_hz / 1e6:g} MHz, no PLL" if b.pll is None
                      else f"{b.clock_hz / 1e6:g} -> {b.design_hz / 1e6:g} MHz"),
                     f"{soc.array.lanes}x{soc.array.inputs}, {soc.cells}/{soc.multipliers}",
                     b.uart.port,
                     " ".join(b.program_command(f"FILE{b.bitstream_suffix}"))))
    return format_table(header, rows)


def format_table(header, rows) -> str:
    """Left-aligned plain-text table with a rule under the header."""
    table = [tuple(str(cell) for cell in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
