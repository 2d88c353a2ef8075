"""Test vectors and cycle-level drivers for the noise cores (Threefry, shapers, NoiseSource).

The same vectors (`KATS`, `random_requests`, `edge_blocks`) and the same coroutines
(`collect_noise` here, `tritherm.sim.verify.cycle.drive_stream`) run on the Amaranth
simulator (`AmaranthIO`) and under cocotb on Icarus and Verilator (`CocotbIO`). With no
`Traffic` the drivers keep
``valid``/``ready`` high and touch as few ports per cycle as possible (a long bit-exact run
is mostly simulator time); with `Traffic` they add random gaps and back-pressure.

A cycle that sets no input may skip ``begin_cycle()`` (both `CycleIO`s allow it: the
values read after ``settle()`` are those the next rising edge samples).
"""

from __future__ import annotations


import numpy as np

from tritherm.formats import NOISE_FORMAT, THREEFRY_ROUNDS

from .cycle import CycleIO, Traffic, unpack_fields
from ..golden import noise_steps, shape_blocks, threefry2x32

__all__ = ["KATS", "Traffic", "random_requests", "pack_request", "expected_blocks",
           "edge_blocks", "pack_block", "expected_samples", "collect_noise",
           "decode_samples", "first_difference", "THREEFRY_CONFIGS", "config_to_text",
           "config_from_text"]

#: Random123's known answers for Threefry-2x32-20: (counter0, counter1, key0, key1) -> (out0, out1).
KATS = (
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x6b200159, 0x99ba4efe)),
    ((0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff), (0x1cb996fc, 0xbb002be7)),
    ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xc4923a9c, 0x483df7a0)),
)

#: Threefry configurations (rounds, unroll, pipelined) the Amaranth tests cover.
THREEFRY_CONFIGS = (
    (20, 1, True), (20, 5, True), (20, 20, True), (20, 1, False), (20, 4, False),
    (20, 2, False), (13, 1, True), (13, 13, False), (8, 2, True), (32, 8, False),
    (20, 4, False, 2), (20, 10, False, 5),
)


def config_to_text(config) -> str:
    rounds, unroll, pipelined, *interleave = config
    return ",".join(map(str, (rounds, unroll, int(pipelined), *interleave)))


def config_from_text(text: str):
    rounds, unroll, pipelined, *interleave = (int(part) for part in text.split(","))
    return (rounds, unroll, bool(pipelined), *interleave)


def random_requests(count: int, seed: int) -> np.ndarray:
    """`count` requests (uint32, columns counter0, counter1, key0, key1): uniform random
    words, mixed with runs of consecutive counters under one key (how `NoiseSource` asks)
    and with all-zero / all-one words."""
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 1 << 32, size=(count, 4), dtype=np.uint64)
    structured = rng.random(count) < 0.3
    words[structured, 0] = np.arange(int(structured.sum()), dtype=np.uint64)
    words[structured, 1] = 0
    words[structured, 2:] = words[np.argmax(structured), 2:] if structured.any() else 0
    extremes = rng.random((count, 4)) < 0.05
    words[extremes] = rng.choice(np.array([0, 0xFFFFFFFF], dtype=np.uint64),
                                 size=int(extremes.sum()))
    return words.astype(np.uint32)


def pack_request(words) -> int:
    """(counter0, counter1, key0, key1) as the 128-bit ``request__payload``."""
    c0, c1, k0, k1 = (int(w) for w in words)
    return c0 | c1 << 32 | k0 << 64 | k1 << 96


def pack_block(words) -> int:
    """(out0, out1) as a 64-bit ``block`` payload."""
    return int(words[0]) | int(words[1]) << 32


def expected_blocks(requests: np.ndarray, rounds: int = THREEFRY_ROUNDS) -> list[int]:
    """Golden 64-bit blocks for `requests` (rows counter0, counter1, key0, key1)."""
    out0, out1 = threefry2x32(requests[:, 0], requests[:, 1], requests[:, 2], requests[:, 3],
                              rounds)
    return [int(a) | int(b) << 32 for a, b in zip(out0, out1)]


def edge_blocks(count: int, seed: int) -> np.ndarray:
    """Blocks (uint32, count x 2) for the shapers: every leading-zero octave, r = 0 and 1,
    both signs, all-ones fields, then uniform random words."""
    rng = np.random.default_rng(seed)
    special = []
    for z in range(32):
        r = (1 << (30 - z)) if z < 31 else 0
        for low in (0, (r - 1) & 0x7FFFFFFF if r else 0):
            special += [r | low, (r | low) | 0x80000000]
    special += [0, 1, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0x0000FFFF, 0xFFFF0000]
    words = np.array(special + list(rng.integers(0, 1 << 32, size=2 * count, dtype=np.uint64)),
                     dtype=np.uint64)
    words = words[:len(words) // 2 * 2].reshape(-1, 2)
    return words.astype(np.uint32)


def expected_samples(blocks: np.ndarray, shaper: str) -> np.ndarray:
    """Golden samples (rows per block) of a shaper core."""
    return shape_blocks(blocks, shaper)


async def collect_noise(io: CycleIO, seed: int, steps: int, traffic: Traffic | None = None,
                        max_cycles: int | None = None) -> list[int]:
    """Give `NoiseSource` its seed and collect `steps` beats of ``samples`` (flattened)."""
    max_cycles = max_cycles or 16 * steps * 64 + 1000
    await io.begin_cycle()
    io.set("seed__valid", 1)
    io.set("seed__payload", seed)
    io.set("samples__ready", int(traffic is None))
    await io.settle()
    assert io.get("seed__ready"), "NoiseSource does not take a seed after reset"
    await io.end_cycle()
    await io.begin_cycle()
    io.set("seed__valid", 0)
    received: list[int] = []
    for _ in range(max_cycles):
        ready = True
        if traffic is not None:
            await io.begin_cycle()
            ready = traffic.rng.random() >= traffic.stall
            io.set("samples__ready", int(ready))
        await io.settle()
        if ready and io.get("samples__valid"):
            received.append(io.get("samples__payload"))
        await io.end_cycle()
        if len(received) == steps:
            break
    else:
        raise TimeoutError(f"NoiseSource gave {len(received)} of {steps} steps "
                           f"in {max_cycles} cycles")
    await io.begin_cycle()
    io.set("samples__ready", 0)
    await io.end_cycle()
    return received


def decode_samples(words: list[int], count: int, width: int = NOISE_FORMAT.width) -> np.ndarray:
    """Flattened sample payloads -> int64 array (len(words), count)."""
    return np.array([unpack_fields(w, width, count) for w in words],
                    dtype=np.int64).reshape(len(words), count)


def first_difference(got, want, what: str = "word") -> str | None:
    """None if `got` equals `want` element for element, else where they first differ."""
    got, want = list(np.asarray(got, dtype=object).ravel()), \
        list(np.asarray(want, dtype=object).ravel())
    if len(got) != len(want):
        return f"got {len(got)} {what}s, expected {len(want)}"
    for index, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return f"{what} {index}: got {a:#x}, golden model says {b:#x}" \
                if isinstance(a, int) and a >= 0 and b >= 0 else \
                f"{what} {index}: got {a}, golden model says {b}"
    return None


def expected_noise(seed: int, streams: int, steps: int, shaper: str,
                   rounds: int = THREEFRY_ROUNDS) -> np.ndarray:
    """Golden `NoiseSource` output (steps x streams)."""
    return noise_steps(seed, streams, steps, shaper, rounds)


__all__ += ["expected_noise"]
