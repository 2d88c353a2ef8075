"""Noise without LFSRs: Threefry-2x32 counter-based streams, Gaussian shapers, entropy seeding."""

from .threefry import THREEFRY_BLOCK, THREEFRY_REQUEST, Threefry2x32, threefry_divisors

__all__ = ["Threefry2x32", "THREEFRY_REQUEST", "THREEFRY_BLOCK", "threefry_divisors"]
