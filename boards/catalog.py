"""The supported boards: FPGA, platform, clock, LEDs, programmer and self-test size.

Every board is an `amaranth-boards` platform plus what tritherm needs to know beside it.
`get_board` looks one up by name; `boards_table` prints them all for ``tritherm boards``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from tritherm.formats import TernaryArrayShape

__all__ = ["Led", "Board", "BOARDS", "get_board", "boards_table", "FAMILY_DEVICES"]

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
        Where the self-test shows its verdict and that it is alive.
    programmer : tuple of str
        The command line that loads a bitstream, without the file (openFPGALoader where it
        supports the board).
    selftest_shape : TernaryArrayShape
        Default array size for the self-test bitstream (fits with room to spare).
    bitstream_suffix : str
        Extension of the file the programmer loads.
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
    programmer: tuple[str, ...]
    selftest_shape: TernaryArrayShape
    bitstream_suffix: str = ".bit"
    note: str = ""

    @property
    def target_hz(self) -> float:
        """Design clock target: the board clock (the self-test needs no PLL)."""
        return self.clock_hz

    def make_platform(self):
        """Instantiate the amaranth-boards platform (imported only when asked for)."""
        module_name, class_name = self.platform.split(":")
        module = importlib.import_module(module_name)
        return getattr(module, class_name)()

    def program_command(self, bitstream: str) -> list[str]:
        """The command line that loads `bitstream` into the board."""
        return [*self.programmer, bitstream]


# Self-test array sizes that leave room for the ROMs and build in a minute or two
# (docs/bench-ternary.md has the array's size per MAC).
_SMALL = TernaryArrayShape(lanes=4, inputs=5, max_k=60)        # iCE40UP5K, ECP5-12F
_MEDIUM = TernaryArrayShape(lanes=4, inputs=10, max_k=100)     # ECP5-25F/45F
_LARGE = TernaryArrayShape(lanes=8, inputs=10, max_k=200)      # ECP5-85F

_ULX3S_LEDS = dict(pass_led=Led("led", 1), fail_led=Led("led", 0), heartbeat_led=Led("led", 7))
_CRAB_LEDS = dict(pass_led=Led("rgb_led", 0, "g"), fail_led=Led("rgb_led", 0, "r"),
                  heartbeat_led=Led("rgb_led", 0, "b"))


def _ulx3s(size: str, shape: TernaryArrayShape) -> Board:
    return Board(
        f"ulx3s-{size.lower()}", "ecp5", f"LFE5U-{size}", "BG381",
        f"amaranth_boards.ulx3s:ULX3S_{size}_Platform", 25e6, **_ULX3S_LEDS,
        programmer=("openFPGALoader", "-b", "ulx3s"), selftest_shape=shape)


def _orangecrab(size: str, shape: TernaryArrayShape) -> Board:
    return Board(
        "orangecrab" if size == "25F" else f"orangecrab-{size.lower()}", "ecp5",
        f"LFE5U-{size}", "MG285", f"tritherm.boards.platforms:OrangeCrab{size}Platform",
        48e6, **_CRAB_LEDS, programmer=("openFPGALoader", "-b", "orangeCrab"), selftest_shape=shape,
        note="r0.2; loaded over USB DFU (hold the button while plugging in)")


BOARDS: dict[str, Board] = {board.name: board for board in (
    Board("icebreaker", "ice40", "iCE40UP5K", "SG48",
          "tritherm.boards.platforms:ICEBreakerPlatform", 12e6,
          pass_led=Led("led_g", 0), fail_led=Led("led_r", 0),
          heartbeat_led=Led("led_g", 1), programmer=("openFPGALoader", "-b", "ice40_generic"),
          selftest_shape=_SMALL, bitstream_suffix=".bin",
          note="heartbeat on the snap-off PMOD's LED2"),
    Board("icesugar", "ice40", "iCE40UP5K", "SG48",
          "amaranth_boards.icesugar:ICESugarPlatform", 12e6,
          pass_led=Led("led_g", 0), fail_led=Led("led_r", 0), heartbeat_led=Led("led_b", 0),
          programmer=("icesprog",), selftest_shape=_SMALL, bitstream_suffix=".bin",
          note="openFPGALoader cannot reach its iCELink; use icesprog or copy to its USB drive"),
    _ulx3s("12F", _SMALL),
    _ulx3s("25F", _MEDIUM),
    _ulx3s("45F", _MEDIUM),
    _ulx3s("85F", _LARGE),
    _orangecrab("25F", _MEDIUM),
    _orangecrab("85F", _LARGE),
)}


def get_board(name: str) -> Board:
    """The board called `name`; ValueError listing the supported boards otherwise."""
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board {name!r}; supported boards: "
                         f"{', '.join(BOARDS)}") from None


def boards_table() -> str:
    """A printable table of the supported boards (name, FPGA, clock, LEDs, programmer)."""
    header = ("board", "FPGA", "clock", "LEDs pass/fail/alive", "program with")
    rows = [(b.name, f"{b.device}-{b.package}", f"{b.clock_hz / 1e6:g} MHz",
             f"{b.pass_led}/{b.fail_led}/{b.heartbeat_led}",
             " ".join(b.program_command(f"FILE{b.bitstream_suffix}")))
            for b in BOARDS.values()]
    return format_table(header, rows)


def format_table(header, rows) -> str:
    """Left-aligned plain-text table with a rule under the header."""
    table = [tuple(str(cell) for cell in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
