"""The noise self-test: its check and entropy phases in the simulator (with injected raw
entropy bits), and real board builds whose ring oscillators survive synthesis and placement."""

import os
import random

import pytest
from amaranth.sim import Simulator

from tritherm.boards.catalog import get_board
from tritherm.firmware.noise_selftest import NoiseSelftestCore, noise_rom
from tritherm.sim.verify.cycle import unpack_fields
from tritherm.sim.golden import noise_steps, von_neumann_seed

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")
STREAMS, STEPS, SHAPER = 4, 12, "icdf"
CHECK_SEED = 0x1234_5678


def run_core(core, raw_bits, cycles, fixed=0):
    """Run `core` for `cycles`, raw bit i in cycle i; return its outputs and, per phase,
    the beats it emitted (rows of STREAMS samples)."""
    state = {"beats": [], "running_beats": []}

    async def bench(ctx):
        ctx.set(core.fixed, fixed)
        for cycle in range(cycles):
            ctx.set(core.raw, raw_bits[cycle] if cycle < len(raw_bits) else 0)
            noise = core.noise
            if ctx.get(noise.samples.valid):
                row = unpack_fields(ctx.get(noise.samples.payload.as_value()), 16, STREAMS)
                key = "running_beats" if ctx.get(core.running) else "beats"
                state[key].append(row)
            await ctx.tick()
        for name in ("passed", "failed", "running", "seed"):
            state[name] = ctx.get(getattr(core, name))

    sim = Simulator(core)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return state


def make_core(rom=None, **kwargs):
    core = NoiseSelftestCore(STREAMS, SHAPER, unroll=5, pipelined=True, check_seed=CHECK_SEED,
                             check_steps=STEPS, rom=rom, raw_input=True, display_period=4,
                             **kwargs)
    return core


@pytest.fixture
def raw_bits():
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    rng = random.Random(SEED)
    return [int(rng.random() < 0.7) for _ in range(3000)]


def test_check_passes_then_runs_on_the_entropy_seed(raw_bits):
    core = make_core()
    state = run_core(core, raw_bits, 900)
    assert state["passed"] == 1 and state["failed"] == 0
    golden = noise_steps(CHECK_SEED, STREAMS, STEPS, SHAPER).tolist()
    assert state["beats"][:STEPS] == golden
    # The run phase: a seed made from the injected bits by von Neumann's rule (the bits
    # seen after the reseed, so some prefix of the sequence is skipped), and the noise
    # of that seed.
    assert state["running"] == 1
    seed = state["seed"]
    assert seed != CHECK_SEED
    assert any(von_neumann_seed(raw_bits[skip:]) == seed for skip in range(0, 900, 1))
    run = state["running_beats"]
    assert len(run) >= 3
    assert run == noise_steps(seed, STREAMS, len(run), SHAPER).tolist()


def test_corrupted_rom_word_fails(raw_bits):
    rom = noise_rom(CHECK_SEED, STREAMS, STEPS, SHAPER)
    rom[STEPS // 2] ^= 1 << 7
    state = run_core(make_core(rom), raw_bits, 400)
    assert state["failed"] == 1 and state["passed"] == 0


def test_fixed_run_seed_and_button_reuse_a_fixed_seed(raw_bits):
    state = run_core(make_core(run_seed=42), raw_bits, 400)
    assert state["passed"] == 1 and state["running"] == 1 and state["seed"] == 42
    state = run_core(make_core(), raw_bits, 400, fixed=1)
    assert state["running"] == 1 and state["seed"] == CHECK_SEED


def test_stuck_entropy_is_reported(monkeypatch):
    import tritherm.firmware.noise_selftest as module
    monkeypatch.setattr(module, "ENTROPY_TIMEOUT", 200)
    state = run_core(make_core(), [1] * 1000, 700)
    assert state["passed"] == 0 and state["failed"] == 1 and state["running"] == 0


@pytest.mark.xdist_group("fpga")
@pytest.mark.parametrize("board", ["icebreaker", "ulx3s-85f"])
def test_noise_selftest_bitstream(board, tmp_path):
    from tritherm.boards.build import build_noise_selftest
    from tritherm.firmware.noise_selftest import RING_LENGTHS

    lines = []
    report = build_noise_selftest(board, build_dir=tmp_path, progress=lines.append)
    b = get_board(board)
    assert (tmp_path / f"noise_selftest{b.bitstream_suffix}").stat().st_size > 0
    assert report.ring_cells == {"synthesised": sum(RING_LENGTHS), "placed": sum(RING_LENGTHS)}
    assert report.target_mhz == b.clock_hz / 1e6
    assert report.timing_met, "\n".join(lines)
