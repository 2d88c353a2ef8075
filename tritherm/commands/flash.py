"""``tritherm flash``."""

from __future__ import annotations

from pathlib import Path

from tritherm.errors import UserError


def run(args) -> int:
    from tritherm.boards.build import program_board
    from tritherm.boards.catalog import get_board
    board = get_board(args.board)
    if args.bitstream is not None:
        bitstream = Path(args.bitstream)
        if not args.bitstream:
            raise UserError("the --bitstream path is empty")
        if bitstream.is_dir():
            raise UserError(f"--bitstream {args.bitstream} is a directory, not a "
                            f"{board.bitstream_suffix} bitstream")
        if not bitstream.exists():
            raise UserError(f"bitstream {args.bitstream} does not exist")
    flash = True if args.flash else False if args.sram else None
    command = program_board(args.board, args.bitstream, flash)
    print(f"loaded: {' '.join(command)}")
    return 0


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("flash", help="load a bitstream into a board (openFPGALoader, icesprog)")
    p.add_argument("--board", required=True, help="board name (see `tritherm boards`)")
    p.add_argument("--bitstream", help="the file to load (default: the SoC built by "
                                       "`tritherm build --board B`)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--sram", action="store_true",
                      help="load the configuration SRAM (lost at power-off; the default "
                           "where the board can)")
    mode.add_argument("--flash", action="store_true", help="write the SPI flash (kept)")
    p.set_defaults(func=run)

