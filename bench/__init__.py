"""Benchmarks: commands that place and route each core with the open toolchain and print
tables (``tritherm bench ternary|noise|coupler|coupler-stats|digits|generate``), one module
per core or application.

`placement` holds what they share (yosys + nextpnr through a `Harness`, the placed-results
cache); `ternary`, `noise` and `coupler` are the benchmarks themselves; `digits` and `generate`
measure the applications (`tritherm.apps.digits`, `tritherm.apps.generate`).
"""

from .coupler import *  # noqa: F401,F403
from .coupler import __all__ as _coupler
from .noise import *  # noqa: F401,F403
from .noise import __all__ as _noise
from .placement import *  # noqa: F401,F403
from .placement import __all__ as _placement
from .ternary import *  # noqa: F401,F403
from .ternary import __all__ as _ternary

__all__ = [*_placement, *_ternary, *_noise, *_coupler]
