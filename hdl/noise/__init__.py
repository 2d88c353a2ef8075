"""Noise without LFSRs: Threefry-2x32 counter-based streams, Gaussian shapers, entropy seeding."""

from .beats import NoiseBeats, beat_read_signature
from .entropy import RingOscillators, SeedSource, lut_family
from .gaussian import SHAPER_CORES, CltShaper, IcdfShaper, csd_digits, shaper_core
from .source import NoiseSource
from .threefry import (THREEFRY_BLOCK, THREEFRY_REQUEST, Threefry2x32, check_threefry_config,
                       threefry_divisors)

__all__ = ["Threefry2x32", "THREEFRY_REQUEST", "THREEFRY_BLOCK", "threefry_divisors",
           "check_threefry_config",
           "CltShaper", "IcdfShaper", "SHAPER_CORES", "shaper_core", "csd_digits",
           "NoiseSource", "NoiseBeats", "beat_read_signature", "SeedSource", "RingOscillators",
           "lut_family"]
