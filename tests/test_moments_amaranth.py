"""`CouplerMoments` on the Amaranth simulator against the golden `block_moments`: random
samples (the state's extremes among them) in random blocks with gaps, every accumulator
compared; the accumulator bound at its extreme (the largest products in the largest
block a core of that width takes). Through the whole SoC, on both Verilog simulators,
the moments are checked by `tests/test_soc_amaranth.py` and `tests/test_soc_cocotb.py`."""

import os

import numpy as np
import pytest
from amaranth.sim import Simulator

from tritherm.formats import moment_terms, moments_acc_width
from tritherm.hdl.thermo.moments import CouplerMoments
from tritherm.sim.golden import block_moments

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")
LOW, HIGH = -(1 << 15), (1 << 15) - 1


def run(dut, x, p, flags, block, gap=0.0, seed=0):
    """Feed the samples in blocks of `block` (a block's first sample with `fresh`); after
    each block, read every accumulator. Returns (sums per block, flags per block)."""
    rng = np.random.default_rng(seed)
    got_sums, got_flags = [], []

    async def bench(ctx):
        k = 0
        while k < len(x):
            first, fill = True, 0
            while fill < block and k < len(x):
                while gap and rng.random() < gap:
                    await ctx.tick()
                ctx.set(dut.samples.valid, 1)
                ctx.set(dut.samples.payload.flags, int(flags[k]))
                ctx.set(dut.fresh, first)
                while True:
                    addr, ready = ctx.get(dut.read.addr), ctx.get(dut.samples.ready)
                    await ctx.tick()
                    ctx.set(dut.read.data.x, int(x[k][addr]))
                    ctx.set(dut.read.data.p, int(p[k][addr]))
                    if ready:
                        break
                ctx.set(dut.samples.valid, 0)
                k, fill, first = k + 1, fill + 1, False
            while ctx.get(dut.busy):
                await ctx.tick()
            sums = []
            for a in range(dut.terms):
                ctx.set(dut.acc_addr, a)
                await ctx.tick()
                sums.append(ctx.get(dut.acc_data))
            got_sums.append(sums)
            got_flags.append(ctx.get(dut.flags))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got_sums, dtype=np.int64), got_flags


def check(dut, x, p, flags, block, **traffic):
    sums, got_flags = run(dut, x, p, flags, block, **traffic)
    want = block_moments(x, p, block)
    assert sums.shape == want.sums.shape
    for b, (g, w) in enumerate(zip(sums, want.sums)):
        assert np.array_equal(g, w), (f"block {b}: accumulators {np.flatnonzero(g != w)} "
                                      f"differ: {g[g != w]} against {w[g != w]} (seed {SEED})")
    last = [flags[min(len(x), (b + 1) * block) - 1] for b in range(len(want.counts))]
    assert got_flags == last


@pytest.mark.parametrize("cells,block,count", [(2, 3, 10), (5, 4, 9), (8, 7, 15)])
def test_block_moments_bit_exact(cells, block, count):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    rng = np.random.default_rng([SEED, cells])
    x = rng.integers(LOW, HIGH + 1, size=(count, cells))
    p = rng.integers(LOW, HIGH + 1, size=(count, cells))
    x[rng.random(x.shape) < 0.2] = LOW            # the rails, as a saturated cell holds
    x[rng.random(x.shape) < 0.2] = HIGH
    p[rng.random(p.shape) < 0.2] = LOW
    flags = rng.integers(0, 1 << cells, size=count)
    check(CouplerMoments(cells), x, p, flags, block, gap=0.3, seed=SEED)


def test_accumulator_bound_at_its_extreme():
    """With max_block samples of the largest products (-2**15 squared, and -2**15 times
    2**15 - 1), every sum reaches the bound, and the bound needs the width
    `moments_acc_width` gives: one bit less would not hold it."""
    max_block, cells = 5, 3
    width = moments_acc_width(max_block)
    largest = max_block << 30
    assert largest < 1 << (width - 1) and largest >= 1 << (width - 2)
    dut = CouplerMoments(cells, max_block=max_block)
    assert dut.width == width and dut.terms == moment_terms(cells)
    x = np.array([[LOW, HIGH, LOW]] * max_block + [[LOW] * cells] * max_block)
    p = np.full_like(x, LOW)
    check(dut, x, p, np.zeros(len(x), dtype=np.int64), max_block)
    sums = block_moments(x, p, max_block).sums
    assert sums.max() == largest and sums.min() == max_block * LOW * HIGH


@pytest.mark.parametrize("kwargs,message", [
    (dict(cells=1), "cells must be an integer in [2, 256]"),
    (dict(max_block=0), "max_block must be an integer in [1, 65535]"),
    (dict(max_block=1 << 16), "max_block must be an integer in [1, 65535]"),
])
def test_parameters_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        CouplerMoments(**kwargs)
