"""``tritherm boards``."""

from __future__ import annotations


def run(args) -> int:
    from tritherm.boards.catalog import boards_table
    print(boards_table())
    return 0


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("boards", help="list the supported boards")
    p.set_defaults(func=run)

