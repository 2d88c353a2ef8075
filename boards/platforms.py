"""Platform adjustments on top of amaranth-boards.

The OrangeCrab r0.2 platforms add a ``dfu-suffix`` step (from dfu-util, not a PyPI wheel)
to the build and list it as a required tool, so a build fails where dfu-util is not
installed. openFPGALoader, which tritherm uses to program the board, loads a plain ``.bit``
over DFU, so these subclasses drop that step.

The iCEBreaker's snap-off PMOD (five LEDs, three buttons) is described by amaranth-boards
but not added to the platform; `ICEBreakerPlatform` adds it.
"""

from amaranth.vendor import LatticeECP5Platform
from amaranth_boards.icebreaker import ICEBreakerPlatform as _ICEBreakerPlatform
from amaranth_boards.orangecrab_r0_2 import (OrangeCrabR0_2_25FPlatform,
                                             OrangeCrabR0_2_85FPlatform)

__all__ = ["ICEBreakerPlatform", "OrangeCrab25FPlatform", "OrangeCrab85FPlatform"]


class ICEBreakerPlatform(_ICEBreakerPlatform):
    """iCEBreaker with its snap-off PMOD attached (LEDs ``led_r1``, ``led_g1..4``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_resources(self.break_off_pmod)


class _NoDfuSuffix:
    """Mixin: the plain ECP5 tool list and build script, without ``dfu-suffix``."""

    @property
    def required_tools(self):
        return LatticeECP5Platform.required_tools.fget(self)

    @property
    def command_templates(self):
        return LatticeECP5Platform.command_templates.fget(self)


class OrangeCrab25FPlatform(_NoDfuSuffix, OrangeCrabR0_2_25FPlatform):
    """OrangeCrab r0.2 with an LFE5U-25F, built without the dfu-suffix step."""


class OrangeCrab85FPlatform(_NoDfuSuffix, OrangeCrabR0_2_85FPlatform):
    """OrangeCrab r0.2 with an LFE5U-85F, built without the dfu-suffix step."""
