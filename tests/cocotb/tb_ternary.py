"""cocotb testbench of the ternary MAC array (same vectors and driver as the Amaranth tests).

Configured by the environment: TRITHERM_SHAPE (lanes,inputs,max_k), TRITHERM_SEED,
TRITHERM_CASES.
"""

import os

import cocotb

from tritherm.sim.verify.cocotb_io import start_clock_and_reset
from tritherm.sim.verify.ternary_vectors import (ARRAY_INPUTS, Traffic, drive_jobs, extreme_jobs,
                                                 first_mismatch, random_jobs, shape_from_text)


class TB:
    """The array under test: its shape, seed, clock and reset."""

    def __init__(self, dut):
        self.dut = dut
        self.shape = shape_from_text(os.environ["TRITHERM_SHAPE"])
        self.seed = int(os.environ["TRITHERM_SEED"])
        self.cases = int(os.environ.get("TRITHERM_CASES", "70"))
        dut._log.info("shape %s, seed %d (replay with TRITHERM_SEED=%d)",
                      self.shape, self.seed, self.seed)

    async def run(self, jobs, traffic):
        io = await start_clock_and_reset(self.dut, ARRAY_INPUTS)
        outputs = await drive_jobs(io, self.shape, jobs, traffic)
        mismatch = first_mismatch(self.shape, jobs, outputs)
        assert mismatch is None, f"{mismatch} (seed {self.seed})"


@cocotb.test()
async def random_jobs_gaps_and_backpressure(dut):
    """Runs first, so the first job usually leaves weight rows unwritten: nothing
    undefined (X on Icarus) may reach a result."""
    tb = TB(dut)
    await tb.run(random_jobs(tb.shape, tb.cases, tb.seed),
                 Traffic(gap=0.3, stall=0.4, seed=tb.seed))


@cocotb.test()
async def extremes_at_max_k(dut):
    tb = TB(dut)
    await tb.run(extreme_jobs(tb.shape), Traffic(gap=0.0, stall=0.0, seed=tb.seed))
