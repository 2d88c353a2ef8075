"""The layout: old module names still import (with a DeprecationWarning naming the new
home), the command line has no import circles, and every command module registers."""

import importlib
import subprocess
import sys

import pytest

from tritherm._moved import MOVED


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_an_old_module_name_warns_and_gives_the_new_module(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} has moved to {new}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert module.__spec__.name == new


def test_the_command_line_imports_without_a_circle():
    # Importing each command module first, in a fresh interpreter, fails on a circle.
    from tritherm.commands import COMMANDS
    for name in ("tritherm.cli", *(f"tritherm.commands.{c}" for c in COMMANDS)):
        subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c",
                        f"import {name}"], check=True)
