"""Golden models: pure numpy, deterministic from a seed, no Amaranth import.

Each model defines the behaviour a core in ``tritherm.hdl`` must reproduce bit for bit.
"""

from .bitlinear import *  # noqa: F401,F403
from .bitlinear import __all__ as _bitlinear_all

__all__ = list(_bitlinear_all)

from .threefry import *  # noqa: F401,F403,E402
from .threefry import __all__ as _threefry_all  # noqa: E402

__all__ += list(_threefry_all)

from .coupler import *  # noqa: F401,F403,E402
from .coupler import __all__ as _coupler_all  # noqa: E402
from .langevin import *  # noqa: F401,F403,E402
from .langevin import __all__ as _langevin_all  # noqa: E402

__all__ += list(_coupler_all) + list(_langevin_all)

from .moments import *  # noqa: F401,F403,E402
from .moments import __all__ as _moments_all  # noqa: E402

__all__ += list(_moments_all)
