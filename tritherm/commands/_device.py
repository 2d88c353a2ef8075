"""The --port/--board options and opening the device they name."""

from __future__ import annotations

import os
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
    if getattr(args, "port", None) is not None or getattr(args, "board", None) is not None:
        raise UserError("--port and --board go with --backend board")


def device_board(args):
    """Check --port and --board without opening anything: the Board of --board (None
    without it)."""
    port = getattr(args, "port", None)
    if port is None:
        raise UserError("--backend board needs --port: the board's serial port (such as "
                        "/dev/ttyUSB1), or sim for the simulated SoC")
    if not port.strip():
        raise UserError("--port is empty: give the board's serial port (such as "
                        "/dev/ttyUSB1), or sim for the simulated SoC")
    if port != "sim" and os.path.isdir(port):
        raise UserError(f"--port {port} is a directory, not a serial port (such as "
                        f"/dev/ttyUSB1)")
    if getattr(args, "board", None) is None:
        return None
    from tritherm.boards.catalog import get_board
    return get_board(args.board)


def check_backend_options(args) -> None:
    """An application's ``--backend golden|rtl|board`` against the options that go with
    one backend: ``--simulator`` only with rtl, ``--port`` (and ``--board``) only with
    board."""
    if args.backend != "rtl" and args.simulator is not None:
        raise UserError("--simulator goes with --backend rtl")
    if args.backend == "board":
        device_board(args)                 # --port given and sane, --board known
    else:
        no_port_without_board(args)


def open_device(args):
    """The device on --port (a serial port, or sim), checked against --board's SoC."""
    from tritherm.firmware.device import open_device
    board = device_board(args)
    config, what = None, "the SoC expected"
    if board is not None:
        config, what = board.soc, f"the {board.name} SoC"
    return open_device(args.port, config, what=what,
                       progress=lambda text: print(f"{text} ...", file=sys.stderr, flush=True))
