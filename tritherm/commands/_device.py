"""The --port/--board options and opening the device they name."""

from __future__ import annotations

import sys

from tritherm.errors import UserError


def add_device_options(parser, required: bool = False) -> None:
    parser.add_argument("--port", required=required,
                        help="the board's serial port (/dev/ttyUSB1), or sim for the SoC "
                             "simulated by Verilator" + ("" if required else
                                                         " (with --backend board)"))
    parser.add_argument("--board", help="board name: check the device against its SoC "
                                        "(and, with --port sim, simulate that SoC)")


def no_port_without_board(args) -> None:
    if getattr(args, "port", None) or getattr(args, "board", None):
        raise UserError("--port and --board go with --backend board")


def open_device(args):
    """The device on --port (a serial port, or sim), checked against --board's SoC."""
    from tritherm.firmware.device import open_device
    if not getattr(args, "port", None):
        raise UserError("--backend board needs --port: the board's serial port (such as "
                        "/dev/ttyUSB1), or sim for the simulated SoC")
    config, what = None, "the SoC expected"
    if getattr(args, "board", None):
        from tritherm.boards.catalog import get_board
        board = get_board(args.board)
        config, what = board.soc, f"the {board.name} SoC"
    return open_device(args.port, config, what=what,
                       progress=lambda text: print(f"{text} ...", file=sys.stderr, flush=True))
