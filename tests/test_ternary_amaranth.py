"""The ternary array on the Amaranth simulator, against the golden model."""

import os

import numpy as np
import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from tritherm.formats import TERNARY_VARIANTS, TernaryArrayShape
from tritherm.hdl.ternary import DenseTernaryArray, TernaryArray, TreeTernaryArray
from tritherm.hdl.ternary.dense import DecodingWeightStore
from tritherm.hdl.ternary.lane_studies import (AdderTreeLane, BitSerialLane, CompressorTreeLane,
                                               LookupLane)
from tritherm.sim.golden import array_weight_image, decode_base3_byte
from tritherm.sim.verify.cycle import AmaranthIO
from tritherm.sim.verify.ternary_vectors import (TEST_SHAPES, Traffic, extreme_jobs, first_mismatch,
                                                 random_jobs, run_vectors, shape_id,
                                                 write_weights)
from tritherm.sim.verify.ternary_driver import run_jobs_amaranth

SEED = int(os.environ["TRITHERM_SEED"])


@pytest.mark.parametrize("shape", TEST_SHAPES, ids=shape_id)
def test_random_and_extreme_jobs(shape):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    jobs = extreme_jobs(shape) + random_jobs(shape, 70, SEED)
    outputs = run_jobs_amaranth(shape, jobs, Traffic(gap=0.3, stall=0.3, seed=SEED))
    assert first_mismatch(shape, jobs, outputs) is None, first_mismatch(shape, jobs, outputs)


#: A byte of zero weights and an invalid byte, in each packing.
ZERO_BYTE = {"base3": 121, "2bit": 0b01010101}
INVALID_BYTE = {"base3": 250, "2bit": 0b01110101}


@pytest.mark.parametrize("variant", TERNARY_VARIANTS)
def test_flags_are_sticky_until_cleared(variant):
    """An invalid weight byte raises invalid_code; a K past capacity raises k_overflow."""
    shape = TernaryArrayShape(lanes=2, inputs=5, max_k=10, variant=variant)
    dut = TernaryArray(shape)
    seen = {}

    async def bench(ctx):
        io = AmaranthIO(ctx, dut)
        image = np.full((shape.rows, shape.row_bytes), ZERO_BYTE[shape.packing], dtype=np.uint8)
        image[1, 1] = INVALID_BYTE[shape.packing]
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


@pytest.mark.parametrize("variant", TERNARY_VARIANTS)
def test_unwritten_weights_read_as_byte_zero(variant):
    """Before any write every weight reads as a byte 0 does: -1 (all digits code 0)."""
    shape = TernaryArrayShape(lanes=3, inputs=5, max_k=10, variant=variant)
    dut = TernaryArray(shape)
    got = {}

    async def bench(ctx):
        got["out"] = await run_vectors(AmaranthIO(ctx, dut), shape, 7,
                                       np.array([[1, 2, 3, 4, 5, 6, -128]]), Traffic(0, 0))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got["out"].tolist() == [[-(21 - 128)] * 3]


@pytest.mark.parametrize("variant", TERNARY_VARIANTS)
def test_positions_past_k_are_ignored(variant):
    """Whatever the last beat holds at or past K (-128 included) adds nothing, even under
    weights of +1 and -1."""
    shape = TernaryArrayShape(lanes=2, inputs=5, max_k=10, variant=variant)
    dut = TernaryArray(shape)
    weights = np.array([[1] * 10, [-1] * 10])
    image = array_weight_image(shape, weights)
    got = {}

    async def bench(ctx):
        io = AmaranthIO(ctx, dut)
        await write_weights(io, shape, image, rows=2)
        beats = np.array([[5, -128, 7, -1, 2, 3, -128, -128, 127, -128],
                          [1, 2, 3, 4, 5, -128, 9, -128, -128, 100]])
        got["k=7"] = await run_vectors(io, shape, 7, beats, Traffic(0, 0))
        got["k=3"] = await run_vectors(io, shape, 3, beats[:, :5], Traffic(0, 0))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got["k=7"].tolist() == [[-240, 240], [-104, 104]]
    assert got["k=3"].tolist() == [[-116, 116], [6, -6]]


def test_invalid_codes_count_as_zero_weights():
    """Every invalid code decodes to a zero weight, in each packing: a row of them adds
    nothing, whatever the activations."""
    for variant in TERNARY_VARIANTS:
        shape = TernaryArrayShape(lanes=2, inputs=5, max_k=5, variant=variant)
        dut = TernaryArray(shape)
        got = {}

        async def bench(ctx):
            io = AmaranthIO(ctx, dut)
            image = np.full((shape.rows, shape.row_bytes), INVALID_BYTE[shape.packing],
                            dtype=np.uint8)
            if shape.packing == "2bit":
                image[:] = 0xFF                                 # every code 3
            else:
                image[0, 0], image[0, 1] = 243, 255
            await write_weights(io, shape, image, rows=1)
            got["out"] = await run_vectors(io, shape, 5, np.array([[1, -128, 127, 5, -7]]),
                                           Traffic(0, 0))
            got["flag"] = io.get("invalid_code")

        sim = Simulator(dut)
        sim.add_clock(1e-6)
        sim.add_testbench(bench)
        sim.run()
        assert got["flag"] == 1 and got["out"].tolist() == [[0, 0]], variant


def test_variant_classes():
    """TernaryArray builds the class its shape names; a class refuses another variant."""
    for variant in TERNARY_VARIANTS:
        array = TernaryArray(TernaryArrayShape(2, 5, 10, variant))
        assert isinstance(array, TernaryArray)
        assert type(array) is (TreeTernaryArray if variant == "tree" else DenseTernaryArray)
        Fragment.get(array, None)                               # it elaborates
    with pytest.raises(ValueError, match="variant must be one of tree, dense"):
        TernaryArrayShape(2, 5, 10, "fast")
    with pytest.raises(ValueError, match="'tree' variant"):
        TreeTernaryArray(TernaryArrayShape(2, 5, 10, "dense"))
    with pytest.raises(ValueError, match="not 'tree'"):
        DenseTernaryArray(TernaryArrayShape(2, 5, 10, "tree"))
    with pytest.raises(TypeError, match="TernaryArrayShape"):
        TernaryArray((2, 5, 10))


def test_decoding_table_matches_the_golden_decoder():
    """The "dense" variant's write-time table gives the golden decoder's five weights
    (and flag) for all 256 byte values."""
    for byte, entry in enumerate(DecodingWeightStore.table()):
        weights, invalid = decode_base3_byte(byte)
        codes = [(entry >> (2 * i)) & 3 for i in range(5)]
        assert [code - 4 if code & 2 else code for code in codes] == weights
        assert bool(entry >> 10) == invalid


# --- the lane studies (benchmark only) ------------------------------------------------------

def _trit_codes(weights):
    return [w & 0b11 for w in weights]


def _simulate(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("study", [AdderTreeLane, CompressorTreeLane])
@pytest.mark.parametrize("inputs", [1, 5, 16, 23])
def test_term_lane_studies(study, inputs):
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    rng = np.random.default_rng(SEED)
    dut = study(inputs)
    cases = [(rng.integers(-1, 2, inputs), rng.integers(-127, 128, inputs)) for _ in range(20)]
    cases += [(np.ones(inputs, int), np.full(inputs, -127)),
              (-np.ones(inputs, int), np.full(inputs, -127))]
    got = []

    async def bench(ctx):
        for weights, x in cases:
            ctx.set(dut.x, [int(v) for v in x])
            ctx.set(dut.z, [int(-v) for v in x])
            ctx.set(dut.codes, _trit_codes(int(w) for w in weights))
            for _ in range(12):
                await ctx.tick()
            got.append(ctx.get(dut.sum))

    _simulate(dut, bench)
    assert got == [int(np.dot(w, x)) for w, x in cases]


@pytest.mark.parametrize("inputs", [1, 8, 13])
def test_bit_serial_lane_study(inputs):
    rng = np.random.default_rng(SEED)
    dut = BitSerialLane(inputs)
    cases = [(rng.integers(-1, 2, inputs), rng.integers(-128, 128, inputs)) for _ in range(12)]
    cases += [(np.ones(inputs, int), np.full(inputs, -128)),
              (-np.ones(inputs, int), np.full(inputs, -128))]
    got = []

    async def bench(ctx):
        for weights, x in cases:
            ctx.set(dut.codes, _trit_codes(int(w) for w in weights))
            for phase in range(8):
                bit = 7 - phase
                ctx.set(dut.bits, sum(((int(v) >> bit) & 1) << j for j, v in enumerate(x)))
                ctx.set(dut.start, phase == 0)
                await ctx.tick()
            ctx.set(dut.start, 0)
            for _ in range(8):
                await ctx.tick()
            got.append(ctx.get(dut.sum))

    _simulate(dut, bench)
    assert got == [int(np.dot(w, x)) for w, x in cases]


@pytest.mark.parametrize("inputs", [5, 12])
def test_lookup_lane_study(inputs):
    rng = np.random.default_rng(SEED)
    dut = LookupLane(inputs)
    x = rng.integers(-127, 128, inputs)
    rows = [rng.integers(-1, 2, inputs) for _ in range(10)] + [np.ones(inputs, int)]
    got = []

    async def bench(ctx):
        ctx.set(dut.x, [int(v) for v in x])
        ctx.set(dut.fill, 1)
        while not ctx.get(dut.fill_done):
            await ctx.tick()
        ctx.set(dut.fill, 0)
        for weights in rows:
            image = array_weight_image(TernaryArrayShape(1, inputs, inputs), weights[None, :])
            ctx.set(dut.weight_bytes, [int(b) for b in image[0]])
            for _ in range(8):
                await ctx.tick()
            got.append(ctx.get(dut.sum))

    _simulate(dut, bench)
    assert got == [int(np.dot(w, x)) for w in rows]
