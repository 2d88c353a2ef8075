"""tritherm: frugal AI hardware (ternary MACs, thermodynamic coupler) on open FPGAs."""

__version__ = "0.1.0"
