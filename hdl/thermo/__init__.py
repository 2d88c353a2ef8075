"""The thermodynamic coupler: coupled, damped, noise-driven cells in fixed point."""

from .coupler import Coupler, config_layout, sample_layout

__all__ = ["Coupler", "config_layout", "sample_layout"]
