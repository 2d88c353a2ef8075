"""cocotb test module that runs coupler jobs (`tritherm.sim.verify.coupler_vectors.run_jobs`).

Reads the jobs pickled in ``TRITHERM_JOBS``, drives them through the core and pickles the
sample words to ``TRITHERM_RESULTS``; the host side compares them with the golden model.
"""

import os
import pickle
from pathlib import Path

import cocotb

from tritherm.sim.verify.cocotb_io import start_clock_and_reset
from tritherm.sim.verify.coupler_vectors import CONFIG_INPUTS, CouplerJob, Traffic, drive_jobs


@cocotb.test()
async def run_coupler_jobs(dut):
    spec = pickle.loads(Path(os.environ["TRITHERM_JOBS"]).read_bytes())
    jobs = [CouplerJob(name, phases) for name, phases in spec["jobs"]]
    traffic = None if spec["traffic"] is None else Traffic(*spec["traffic"])
    io = await start_clock_and_reset(dut, CONFIG_INPUTS)
    words = await drive_jobs(io, spec["cells"], spec["multipliers"], jobs, spec["counts"],
                             traffic)
    Path(os.environ["TRITHERM_RESULTS"]).write_bytes(pickle.dumps(words))
