"""The ``tritherm`` commands, one module a command: its parser (``register(sub)``) and its
handler together, as apio keeps its commands. `tritherm.cli` assembles them in `COMMANDS`
order, which is the order ``tritherm --help`` lists them in.

Modules whose names start with an underscore hold what several commands share: option
values (`_values`), input files and output paths (`_files`), the device options
(`_device`), tables and progress (`_output`), ternary products (`_ternary_io`).
"""

from __future__ import annotations

import importlib

__all__ = ["COMMANDS", "command_modules"]

#: Command modules in the order ``tritherm --help`` lists them.
COMMANDS = ("doctor", "boards", "verilog", "sim", "build", "flash", "bench", "noise",
            "noise_test", "linalg", "run", "apps", "demo")


def command_modules():
    """The command modules, imported (each imports its heavy dependencies lazily)."""
    return [importlib.import_module(f"tritherm.commands.{name}") for name in COMMANDS]
