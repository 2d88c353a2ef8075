"""``tritherm doctor``: every tool a command needs, its version and origin, and which
commands need it; exit status 2 when a required tool is missing."""

from __future__ import annotations

import sys

from tritherm import toolchain
from tritherm.commands._output import add_json_option, print_json, table
from tritherm.errors import EXIT_BAD_INPUT, EXIT_OK


def run(args) -> int:
    rows = toolchain.survey()
    missing = [row.tool for row in rows if row.missing and row.required]
    if args.json:
        print_json({"tools": [{"tool": r.tool, "version": r.version, "origin": r.origin,
                               "path": r.path, "required": r.required,
                               "used_by": list(r.used_by),
                               "install": r.hint if r.missing else None} for r in rows],
                    "missing": missing})
    else:
        print(table(("tool", "version", "from", "path (or how to install)", "needed by"),
                    [(r.tool, r.version, r.origin, r.hint if r.missing else r.path,
                      ", ".join(r.used_by)) for r in rows]))
    if missing:
        print(f"tritherm: error: missing required tools: {', '.join(missing)} "
              "(see the table for how to install them).", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.json:
        print("all required tools found")
    return EXIT_OK


def register(sub) -> None:
    """Add the command's parser to `sub`."""
    p = sub.add_parser("doctor", help="list the toolchain: each tool, its version and origin, "
                                      "and the commands that need it")
    add_json_option(p)
    p.set_defaults(func=run)
