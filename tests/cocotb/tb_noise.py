"""cocotb testbench of the noise cores (same vectors and drivers as the Amaranth tests).

Configured by the environment: TRITHERM_DESIGN (``threefry`` for `Threefry2x32(20, 1,
True)`, ``noise-clt`` / ``noise-icdf`` for `NoiseSource(TRITHERM_STREAMS, shaper)`),
TRITHERM_SEED, TRITHERM_WORDS (32-bit Threefry words per bit-exact run).
"""

import os

import cocotb
import numpy as np

from tritherm.formats import SHAPER_SAMPLES
from tritherm.sim.verify.cocotb_io import start_clock_and_reset
from tritherm.sim.verify.cycle import drive_stream
from tritherm.sim.verify.noise_vectors import (KATS, Traffic, collect_noise, decode_samples,
                                               expected_blocks, expected_noise,
                                               first_difference, pack_block, pack_request,
                                               random_requests)

DESIGN = os.environ.get("TRITHERM_DESIGN", "threefry")
IS_THREEFRY = DESIGN == "threefry"


class TB:
    """The core under test: its design, seed, run length, clock and reset."""

    def __init__(self, dut):
        self.dut = dut
        self.seed = int(os.environ["TRITHERM_SEED"])
        self.words = int(os.environ.get("TRITHERM_WORDS", "100000"))
        self.streams = int(os.environ.get("TRITHERM_STREAMS", "8"))
        self.shaper = DESIGN.removeprefix("noise-")
        dut._log.info("%s, seed %d (replay with TRITHERM_SEED=%d)", DESIGN, self.seed, self.seed)

    async def start(self):
        inputs = (("request__valid", "request__payload", "block__ready") if IS_THREEFRY
                  else ("seed__valid", "seed__payload", "samples__ready"))
        return await start_clock_and_reset(self.dut, inputs)

    async def threefry(self, requests, traffic=None):
        io = await self.start()
        got = await drive_stream(io, "request", "block", [pack_request(r) for r in requests],
                                 traffic)
        return got, expected_blocks(requests)

    async def noise(self, seed, steps, traffic=None):
        io = await self.start()
        got = decode_samples(await collect_noise(io, seed, steps, traffic), self.streams)
        want = expected_noise(seed, self.streams, steps, self.shaper)
        mismatch = first_difference(got, want, "sample")
        assert mismatch is None, f"noise seed {seed:#x}: {mismatch} (seed {self.seed})"


@cocotb.test(skip=not IS_THREEFRY)
async def threefry_known_answers(dut):
    """Random123's three known answers, back to back, twice."""
    tb = TB(dut)
    got, _ = await tb.threefry(np.array([k for k, _ in KATS] * 2, dtype=np.uint32))
    assert got == [pack_block(out) for _, out in KATS] * 2


@cocotb.test(skip=not IS_THREEFRY)
async def threefry_random_words(dut):
    """TRITHERM_WORDS 32-bit words (half as many blocks), one request per cycle."""
    tb = TB(dut)
    requests = random_requests(tb.words // 2, tb.seed)
    got, want = await tb.threefry(requests)
    mismatch = first_difference(got, want, "block")
    assert mismatch is None, f"{mismatch} (seed {tb.seed})"


@cocotb.test(skip=not IS_THREEFRY)
async def threefry_gaps_and_backpressure(dut):
    tb = TB(dut)
    requests = random_requests(300, tb.seed + 1)
    got, want = await tb.threefry(requests, Traffic(0.3, 0.4, tb.seed))
    mismatch = first_difference(got, want, "block")
    assert mismatch is None, f"{mismatch} (seed {tb.seed})"


@cocotb.test(skip=IS_THREEFRY)
async def noise_words_bit_exact(dut):
    """TRITHERM_WORDS 32-bit Threefry words' worth of samples, under a seed drawn from
    TRITHERM_SEED."""
    tb = TB(dut)
    seed = (tb.seed * 2654435761 + len(tb.shaper)) & 0xFFFFFFFF
    steps = tb.words // 2 * SHAPER_SAMPLES[tb.shaper] // tb.streams
    await tb.noise(seed, steps)


@cocotb.test(skip=IS_THREEFRY)
async def noise_backpressure(dut):
    tb = TB(dut)
    await tb.noise(0xFFFFFFFF, 100, Traffic(0.0, 0.4, tb.seed))
