"""The ternary array on the Amaranth simulator, against the golden model."""

import os

import numpy as np
import pytest
from amaranth.sim import Simulator

from tritherm.formats import TernaryArrayShape
from tritherm.hdl.ternary import TernaryArray
from tritherm.sim.verify.cycle import AmaranthIO
from tritherm.sim.verify.ternary_vectors import (TEST_SHAPES, Traffic, extreme_jobs, first_mismatch,
                                                 random_jobs, run_vectors, write_weights)
from tritherm.sim.verify.ternary_driver import run_jobs_amaranth

SEED = int(os.environ["TRITHERM_SEED"])


@pytest.mark.parametrize("shape", TEST_SHAPES, ids=str)
def test_random_and_extreme_jobs(shape):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    jobs = extreme_jobs(shape) + random_jobs(shape, 70, SEED)
    outputs = run_jobs_amaranth(shape, jobs, Traffic(gap=0.3, stall=0.3, seed=SEED))
    assert first_mismatch(shape, jobs, outputs) is None, first_mismatch(shape, jobs, outputs)


def test_flags_are_sticky_until_cleared():
    """An invalid weight byte raises invalid_code; a K past capacity raises k_overflow."""
    shape = TernaryArrayShape(lanes=2, inputs=5, max_k=10)
    dut = TernaryArray(shape)
    seen = {}

    async def bench(ctx):
        io = AmaranthIO(ctx, dut)
        image = np.full((shape.rows, shape.row_bytes), 121, dtype=np.uint8)  # all zeros
        image[1, 1] = 250                                                    # invalid
        await write_weights(io, shape, image, rows=1)
        await run_vectors(io, shape, 5, np.ones((1, 5)), Traffic(0, 0))
        seen["clean"] = (io.get("invalid_code"), io.get("k_overflow"))
        await write_weights(io, shape, image, rows=2)
        await run_vectors(io, shape, 10, np.ones((1, 10)), Traffic(0, 0))
        seen["invalid"] = io.get("invalid_code")
        await run_vectors(io, shape, 11, np.ones((1, 10)), Traffic(0, 0))   # K > capacity
        seen["overflow"] = io.get("k_overflow")
        await run_vectors(io, shape, 5, np.ones((1, 5)), Traffic(0, 0))
        seen["still"] = (io.get("invalid_code"), io.get("k_overflow"))
        io.set("clear_flags", 1)
        await io.end_cycle()
        io.set("clear_flags", 0)
        await io.end_cycle()
        seen["cleared"] = (io.get("invalid_code"), io.get("k_overflow"))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen == {"clean": (0, 0), "invalid": 1, "overflow": 1, "still": (1, 1),
                    "cleared": (0, 0)}
