"""The thermodynamic coupler: coupled, damped, noise-driven cells in fixed point."""

from .coupler import Coupler, config_layout, read_signature, sample_layout, state_layout

__all__ = ["Coupler", "config_layout", "sample_layout", "state_layout", "read_signature"]
