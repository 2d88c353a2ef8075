"""``tritherm boards``: the supported boards, their clocks, SoC sizes and programmers."""

from __future__ import annotations

from tritherm.commands._output import add_json_option, print_json


def run(args) -> int:
    from tritherm.boards.catalog import BOARDS, board_summary, boards_table
    if args.json:
        print_json({"boards": [board_summary(board) for board in BOARDS.values()]})
    else:
        print(boards_table())
    return 0


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("boards", help="list the supported boards")
    add_json_option(p)
    p.set_defaults(func=run)
