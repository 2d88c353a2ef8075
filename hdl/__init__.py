"""Amaranth cores, one folder per concept."""
