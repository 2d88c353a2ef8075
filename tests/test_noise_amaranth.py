"""The noise cores on the Amaranth simulator, word for word against the golden model.

Counting: "words" are 32-bit Threefry output words (two per 64-bit block). The long runs
check 10**5 of them per run: `Threefry2x32` on 50 000 random requests, and `NoiseSource`
on 50 000 blocks (CLT: 50 000 samples; ICDF: 100 000 samples).
"""

import os

import numpy as np
import pytest
from amaranth.sim import Simulator

from tritherm.formats import SHAPER_SAMPLES
from tritherm.hdl.noise import NoiseSource, Threefry2x32, shaper_core
from tritherm.sim.verify.cycle import AmaranthIO, drive_stream
from tritherm.sim.verify.noise_vectors import (KATS, THREEFRY_CONFIGS, Traffic, collect_noise,
                                               decode_samples, edge_blocks,
                                               expected_blocks, expected_noise, expected_samples,
                                               first_difference, pack_block, pack_request,
                                               random_requests)

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")
WORDS = 100_000


def simulate(dut, coroutine):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    result = []

    async def bench(ctx):
        result.append(await coroutine(AmaranthIO(ctx, dut)))

    sim.add_testbench(bench)
    sim.run()
    return result[0]


def run_threefry(config, requests, traffic=None):
    rounds = config[0]
    dut = Threefry2x32(*config)
    got = simulate(dut, lambda io: drive_stream(io, "request", "block",
                                                [pack_request(r) for r in requests], traffic))
    return got, expected_blocks(requests, rounds)


@pytest.mark.parametrize("config", THREEFRY_CONFIGS, ids=lambda c: "r{}u{}{}".format(
    c[0], c[1], "p" if c[2] else "i" + "".join(f"x{k}" for k in c[3:])))
def test_threefry_configs_random_traffic(config):
    """Every configuration: KATs (20 rounds) or golden answers, then 300 random requests
    with gaps and back-pressure."""
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    requests = np.concatenate([np.array([k for k, _ in KATS], dtype=np.uint32),
                               random_requests(300, SEED)])
    got, want = run_threefry(config, requests, Traffic(0.3, 0.3, SEED))
    assert first_difference(got, want, "block") is None, first_difference(got, want, "block")
    if config[0] == 20:
        assert got[:3] == [pack_block(out) for _, out in KATS]


def test_threefry_kats_back_to_back():
    """Random123's known answers, one per cycle, on the default (pipelined) core."""
    requests = np.array([k for k, _ in KATS] * 4, dtype=np.uint32)
    got, _ = run_threefry((20, 1, True), requests)
    assert got == [pack_block(out) for _, out in KATS] * 4


def test_threefry_100k_words():
    """10**5 32-bit words (50 000 blocks) of random requests, one per cycle."""
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    requests = random_requests(WORDS // 2, SEED)
    got, want = run_threefry((20, 1, True), requests)
    assert first_difference(got, want, "block") is None, first_difference(got, want, "block")


@pytest.mark.parametrize("shaper", sorted(SHAPER_SAMPLES))
def test_shaper_edges_and_traffic(shaper):
    """Each shaper core alone: every octave, r = 0/1, both signs, then random blocks."""
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    blocks = edge_blocks(400, SEED)
    dut = shaper_core(shaper)
    got = simulate(dut, lambda io: drive_stream(io, "blocks", "samples",
                                                [pack_block(b) for b in blocks],
                                                Traffic(0.3, 0.3, SEED)))
    got = decode_samples(got, SHAPER_SAMPLES[shaper])
    want = expected_samples(blocks, shaper)
    assert first_difference(got, want, "sample") is None, first_difference(got, want, "sample")


@pytest.mark.parametrize("shaper", sorted(SHAPER_SAMPLES))
def test_noise_source_100k_words(shaper):
    """`NoiseSource` (8 cells, pipelined Threefry-20): 50 000 blocks = 10**5 words,
    under a random seed, against `noise_steps`."""
    streams = 8
    seed = (SEED * 2654435761 + len(shaper)) & 0xFFFFFFFF
    print(f"seed {SEED}, noise seed {seed:#x} (replay with TRITHERM_SEED={SEED})")
    steps = WORDS // 2 * SHAPER_SAMPLES[shaper] // streams
    dut = NoiseSource(streams, shaper)
    got = decode_samples(simulate(dut, lambda io: collect_noise(io, seed, steps)), streams)
    want = expected_noise(seed, streams, steps, shaper)
    assert first_difference(got, want, "sample") is None, first_difference(got, want, "sample")


@pytest.mark.parametrize("shaper,config", [("clt", (20, 4, False)), ("icdf", (13, 1, True)),
                                           ("icdf", (20, 5, False))])
def test_noise_source_backpressure(shaper, config):
    """Other Threefry configurations and 1-3 cells, with random back-pressure."""
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    for streams, seed in ((1, 0), (3, SEED), (2, 0xFFFFFFFF)):
        dut = NoiseSource(streams, shaper, *config)
        steps = 60
        got = decode_samples(simulate(dut, lambda io: collect_noise(
            io, seed, steps, Traffic(0.0, 0.4, SEED))), streams)
        want = expected_noise(seed, streams, steps, shaper, config[0])
        assert first_difference(got, want, "sample") is None, \
            f"{streams} cells, seed {seed:#x}: " + first_difference(got, want, "sample")


@pytest.mark.parametrize("make,message", [
    (lambda: Threefry2x32(rounds=0), "rounds must be an integer in [1, 32]"),
    (lambda: Threefry2x32(rounds=33), "rounds must be an integer in [1, 32]"),
    (lambda: Threefry2x32(rounds=20, unroll=3), "unroll must be a divisor of rounds=20"),
    (lambda: Threefry2x32(pipelined=1), "pipelined must be True or False"),
    (lambda: NoiseSource(streams=0), "streams must be an integer in [1, 256]"),
    (lambda: NoiseSource(shaper="box-muller"), "shaper must be one of clt, icdf"),
    (lambda: shaper_core("lfsr"), "shaper must be one of clt, icdf"),
])
def test_bad_parameters(make, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make()
