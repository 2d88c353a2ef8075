"""tritherm: frugal AI hardware (ternary MACs, thermodynamic coupler) on open FPGAs."""

from tritherm import _moved

__version__ = "0.1.0"

_moved.install()
