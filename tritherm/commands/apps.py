"""``tritherm apps``: the applications in `tritherm.apps`, one subcommand each."""

from __future__ import annotations

import importlib

#: Application packages under `tritherm.apps` that have a ``command`` module.
APPS: tuple[str, ...] = ("digits", "generate")


def register(sub) -> None:
    """Add ``apps`` and each application's own parser under it."""
    p = sub.add_parser("apps", help="applications on the hardware: "
                                    + (", ".join(APPS) if APPS else "none yet"))
    apps = p.add_subparsers(dest="app", required=True, metavar="APP")
    for name in APPS:
        importlib.import_module(f"tritherm.apps.{name}.command").register(apps)
