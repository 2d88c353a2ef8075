"""The board self-test top on the Amaranth simulator: it passes, and it catches a bad ROM."""

import dataclasses

import pytest
from amaranth.sim import Simulator

from tritherm.firmware.selftest import SelftestCore, default_jobs, selftest_vectors
from tritherm.formats import TernaryArrayShape

SHAPE = TernaryArrayShape(lanes=3, inputs=5, max_k=23)


def run_selftest(vectors, max_cycles=20_000):
    """Simulate until two complete runs or a failure; return (passed, failed, runs)."""
    core = SelftestCore(vectors, heartbeat_period=16)
    sim = Simulator(core)
    sim.add_clock(1e-6)
    state = {}

    async def bench(ctx):
        for _ in range(max_cycles):
            await ctx.tick()
            if ctx.get(core.failed) or ctx.get(core.runs) >= 2:
                break
        state.update(passed=ctx.get(core.passed), failed=ctx.get(core.failed),
                     runs=ctx.get(core.runs))

    sim.add_testbench(bench)
    sim.run()
    return state["passed"], state["failed"], state["runs"]


@pytest.fixture(scope="module")
def vectors():
    return selftest_vectors(SHAPE, default_jobs(SHAPE, seed=7, count=4))


def test_selftest_passes_on_golden_vectors(vectors):
    passed, failed, runs = run_selftest(vectors)
    assert (passed, failed, runs) == (1, 0, 2)


@pytest.mark.parametrize("index", [0, -1])
def test_selftest_fails_on_a_corrupted_expected_word(vectors, index):
    expected = list(vectors.expected)
    expected[index] ^= 1 << 3
    passed, failed, runs = run_selftest(dataclasses.replace(vectors, expected=expected))
    assert (passed, failed) == (0, 1)
