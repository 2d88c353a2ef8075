"""The ternary array on the Amaranth simulator, against the golden model."""

import os

import pytest
from amaranth.sim import Simulator

from tritherm.hdl.ternary import TernaryArray
from tritherm.sim.cycle import AmaranthIO
from tritherm.sim.ternary_bench import (TEST_SHAPES, Traffic, drive_jobs, extreme_jobs,
                                        first_mismatch, random_jobs)

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")


def run(shape, jobs, traffic):
    dut = TernaryArray(shape)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    outputs = []

    async def bench(ctx):
        outputs.extend(await drive_jobs(AmaranthIO(ctx, dut), shape, jobs, traffic))

    sim.add_testbench(bench)
    sim.run()
    return outputs


@pytest.mark.parametrize("shape", TEST_SHAPES, ids=str)
def test_random_and_extreme_jobs(shape):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    jobs = extreme_jobs(shape) + random_jobs(shape, 70, SEED)
    outputs = run(shape, jobs, Traffic(gap=0.3, stall=0.3, seed=SEED))
    assert first_mismatch(shape, jobs, outputs) is None, first_mismatch(shape, jobs, outputs)
