"""``tritherm flash``."""

from __future__ import annotations


def run(args) -> int:
    from tritherm.boards.build import program_board
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

