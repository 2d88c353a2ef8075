"""``tritherm doctor``."""

from __future__ import annotations

import sys

from tritherm import toolchain
from tritherm.commands._output import table


def run(args) -> int:
    rows = toolchain.survey()
    print(table(("tool", "version", "from", "path"), [row[:4] for row in rows]))
    missing = [row[0] for row in rows if row[2] == "missing" and row[4]]
    if missing:
        print(f"missing required tools: {', '.join(missing)}", file=sys.stderr)
        return 1
    print("all required tools found")
    return 0


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("doctor", help="list the toolchain: each tool, version and origin")
    p.set_defaults(func=run)

