"""Old import names of modules that moved, kept working with a `DeprecationWarning`.

``import tritherm.sim.coupler_bench`` still works and gives the module now at
``tritherm.sim.verify.coupler_vectors`` (the same module object), after a warning that
names the new home. One table, `MOVED`, lists every such name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__all__ = ["MOVED", "install"]

#: old module name -> new module name
MOVED = {
    "tritherm.sim.cycle": "tritherm.sim.verify.cycle",
    "tritherm.sim.cocotb_io": "tritherm.sim.verify.cocotb_io",
    "tritherm.sim.rtl": "tritherm.sim.verify.rtl",
    "tritherm.sim.cocotb_jobs": "tritherm.sim.verify.ternary_cocotb",
    "tritherm.sim.coupler_cocotb": "tritherm.sim.verify.coupler_cocotb",
    "tritherm.sim.ternary_bench": "tritherm.sim.verify.ternary_vectors",
    "tritherm.sim.ternary_driver": "tritherm.sim.verify.ternary_driver",
    "tritherm.sim.coupler_bench": "tritherm.sim.verify.coupler_vectors",
    "tritherm.sim.coupler_vcd": "tritherm.sim.verify.coupler_vcd",
    "tritherm.sim.noise_bench": "tritherm.sim.verify.noise_vectors",
    "tritherm.sim.soc_vectors": "tritherm.sim.verify.soc_vectors",
    "tritherm.boards.bench": "tritherm.bench",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        warnings.warn(f"{spec.name} has moved to {self.new}; import it from there",
                      DeprecationWarning, stacklevel=3)
        module = importlib.import_module(self.new)
        self.spec = module.__spec__         # importlib overwrites it with the alias's spec
        return module

    def exec_module(self, module):
        module.__spec__ = self.spec         # the module itself is already executed


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        new = MOVED.get(name)
        if new is None:
            return None
        return importlib.util.spec_from_loader(name, _AliasLoader(new))


def install() -> None:
    """Put the alias finder first on `sys.meta_path` (once)."""
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
