"""cocotb test module behind ``tritherm sim ternary --simulator icarus|verilator``.

Reads the jobs pickled by `tritherm.sim.verify.ternary_driver` (``TRITHERM_JOBS``), runs them
through the array and pickles the result words to ``TRITHERM_RESULTS``; the host side
compares them with the golden model.
"""

import os
import pickle
from pathlib import Path

import cocotb

from tritherm.sim.verify.cocotb_io import start_clock_and_reset
from tritherm.sim.verify.ternary_vectors import (ARRAY_INPUTS, TernaryJob, Traffic, drive_jobs,
                                                 shape_from_text)


@cocotb.test()
async def run_ternary_jobs(dut):
    shape = shape_from_text(os.environ["TRITHERM_SHAPE"])
    spec = pickle.loads(Path(os.environ["TRITHERM_JOBS"]).read_bytes())
    jobs = [TernaryJob(w, x, name) for w, x, name in spec["jobs"]]
    gap, stall, seed = spec["traffic"]
    io = await start_clock_and_reset(dut, ARRAY_INPUTS)
    outputs = await drive_jobs(io, shape, jobs, Traffic(gap=gap, stall=stall, seed=seed))
    Path(os.environ["TRITHERM_RESULTS"]).write_bytes(pickle.dumps(outputs))
