"""Property-based fuzzing of the host's frame parser (`tritherm.firmware.protocol.FrameParser`).

Streams of valid frames interleaved with garbage, bit-flipped frames and truncated frames,
fed in arbitrary chunks: the parser never raises, finds exactly what an independent
whole-stream reference finds (a greedy scan for SYNC + CRC-valid frame, with the CRC from
`binascii.crc_hqx`), recovers every valid frame that no spurious frame overlaps, and its
counts add up. Hypothesis is seeded with the session seed (printed in pytest's header).
"""

from __future__ import annotations

import binascii
import os

from hypothesis import given, seed, settings, strategies as st

from tritherm.firmware.protocol import (CRC_BYTES, HEADER_BYTES, MAX_PAYLOAD, SYNC,
                                        FrameParser, encode_frame)

SESSION_SEED = int(os.environ.get("TRITHERM_SEED", "1"))
MAX_LENGTH = MAX_PAYLOAD


def reference_frames(stream: bytes, max_length: int) -> list[tuple[int, int]]:
    """Spans (start, end) of the frames a greedy scan finds: at each SYNC whose header
    gives a length <= max_length and whose CRC-16/CCITT-FALSE checks, take the frame and
    continue after it; otherwise move on by one byte."""
    spans, i = [], 0
    while i < len(stream):
        if stream[i] == SYNC and i + HEADER_BYTES <= len(stream):
            length = int.from_bytes(stream[i + 2:i + 4], "little")
            end = i + HEADER_BYTES + length + CRC_BYTES
            if length <= max_length and end <= len(stream):
                body = stream[i + 1:end - CRC_BYTES]
                if binascii.crc_hqx(body, 0xFFFF) == int.from_bytes(stream[end - 2:end],
                                                                    "little"):
                    spans.append((i, end))
                    i = end
                    continue
        i += 1
    return spans


frames = st.builds(lambda op, payload: encode_frame(op, payload),
                   st.integers(0, 255), st.binary(max_size=48))


@st.composite
def corrupted(draw):
    """A frame with 1..4 bits flipped, cut short, or with its length field replaced."""
    frame = bytearray(draw(frames))
    how = draw(st.sampled_from(["flip", "truncate", "length"]))
    if how == "flip":
        for _ in range(draw(st.integers(1, 4))):
            bit = draw(st.integers(0, 8 * len(frame) - 1))
            frame[bit // 8] ^= 1 << (bit % 8)
    elif how == "truncate":
        frame = frame[:draw(st.integers(1, len(frame) - 1))]
    else:
        frame[2:4] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "little")
    return bytes(frame)


segments = st.lists(st.one_of(
    st.tuples(st.just("valid"), frames),
    st.tuples(st.just("garbage"), st.binary(min_size=1, max_size=24)),
    st.tuples(st.just("sync-heavy"), st.lists(st.sampled_from([SYNC, 0, 1, 2, 0xFF]),
                                              min_size=1, max_size=12).map(bytes)),
    st.tuples(st.just("corrupt"), corrupted()),
), max_size=14)


def _stream(parts):
    stream, valid = bytearray(), []
    for kind, data in parts:
        if kind == "valid":
            valid.append((len(stream), len(stream) + len(data)))
        stream += data
    # Enough non-SYNC bytes at the end for every candidate frame to reach its CRC check.
    stream += bytes(MAX_LENGTH + HEADER_BYTES + CRC_BYTES)
    return bytes(stream), valid


def _feed(stream: bytes, cuts: list[int]):
    parser = FrameParser(MAX_LENGTH)
    found = []
    edges = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    for a, b in zip(edges, edges[1:]):
        found += parser.feed(stream[a:b])
    return parser, found


@seed(SESSION_SEED)
@settings(max_examples=300, deadline=None)
@given(segments, st.lists(st.integers(0, 10_000), max_size=20))
def test_parser_recovers_every_valid_frame_not_overlapped(parts, cuts):
    stream, valid = _stream(parts)
    parser, found = _feed(stream, cuts)
    spans = reference_frames(stream, MAX_LENGTH)

    # Exactly the reference's frames, whatever the chunking.
    assert [(f.op, f.payload) for f in found] == \
        [(stream[a + 1], stream[a + HEADER_BYTES:b - CRC_BYTES]) for a, b in spans]
    # Every valid frame is recovered unless a spurious frame (garbage that happens to
    # carry a good CRC, probability 2**-16 per candidate) overlaps it.
    spurious = [s for s in spans if s not in valid]
    for a, b in valid:
        if not any(x < b and a < y for x, y in spurious):
            assert (a, b) in spans, f"valid frame at bytes {a}..{b} was not recovered"
    # Counts: every byte is garbage or part of a frame; nothing is left pending.
    assert parser.pending == 0
    assert parser.garbage + sum(b - a for a, b in spans) == len(stream)
    syncs_outside = sum(1 for i, byte in enumerate(stream) if byte == SYNC
                        and not any(a <= i < b for a, b in spans))
    assert parser.bad_crc <= syncs_outside


@seed(SESSION_SEED)
@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(frames, st.binary(max_size=16).map(
    lambda g: g.replace(bytes([SYNC]), b""))), max_size=10),
    st.lists(st.integers(0, 10_000), max_size=10))
def test_garbage_without_sync_is_counted_exactly(pairs, cuts):
    """Garbage with no SYNC byte in it can hide nothing: every frame comes out and the
    garbage count is the garbage's length."""
    stream = b"".join(frame + garbage for frame, garbage in pairs)
    parser, found = _feed(stream, cuts)
    assert [encode_frame(f.op, f.payload) for f in found] == [frame for frame, _ in pairs]
    assert parser.garbage == sum(len(g) for _, g in pairs)
    assert parser.bad_crc == 0 and parser.pending == 0


def test_reference_agrees_with_the_protocol_crc():
    """The reference's CRC (binascii) is CRC-16/CCITT-FALSE: check value 0x29B1."""
    assert binascii.crc_hqx(b"123456789", 0xFFFF) == 0x29B1
    frame = encode_frame(0x81, b"\x00hello")
    assert reference_frames(frame, MAX_LENGTH) == [(0, len(frame))]
