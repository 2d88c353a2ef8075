"""Round trips of the protocol's payload functions (`tritherm.firmware.protocol`): what
the SoC sends, packed independently with `struct`, unpacked by the host's functions; the
compact stream's frame sizes against `MAX_PAYLOAD` and SAMPLE's."""

import os
import struct

import numpy as np
import pytest

from tritherm.firmware.protocol import (CRC_BYTES, HEADER_BYTES, MAX_PAYLOAD, ProtocolError,
                                        pack_moments_run, pack_run, sample_payload_bytes,
                                        stream_bytes_per_sample, stream_payload_bytes,
                                        stream_samples_per_frame, unpack_run_done,
                                        unpack_sample, unpack_samples)
from tritherm.formats import COUPLER_MAX_CELLS

SEED = int(os.environ.get("TRITHERM_SEED", "0")) or int.from_bytes(os.urandom(3), "little")


@pytest.fixture
def rng():
    print(f"seed {SEED} (replay with TRITHERM_SEED={SEED})")
    return np.random.default_rng(SEED)


@pytest.mark.parametrize("cells", [2, 3, 8, 64, 126, 127, 192, COUPLER_MAX_CELLS])
def test_samples_frames_round_trip(rng, cells):
    k = stream_samples_per_frame(cells)
    seq = int(rng.integers(0, 2 ** 32))
    x = rng.integers(-2 ** 15, 2 ** 15, size=(k, cells))
    data = struct.pack("<I", seq) + struct.pack(f"<{x.size}h", *x.reshape(-1).tolist())
    assert len(data) == stream_payload_bytes(cells) - 1
    got = unpack_samples(data, cells)
    assert got.seq == seq and np.array_equal(np.array(got.x), x)
    for bad in (data[:-1], data + b"\x00"):
        with pytest.raises(ProtocolError, match="samples of"):
            unpack_samples(bad, cells)


@pytest.mark.parametrize("cells", range(2, COUPLER_MAX_CELLS + 1))
def test_a_samples_frame_is_as_full_as_max_payload_allows(cells):
    k = stream_samples_per_frame(cells)
    if 5 + 2 * cells <= MAX_PAYLOAD:
        assert stream_payload_bytes(cells) <= MAX_PAYLOAD < stream_payload_bytes(cells) + 2 * cells
    else:                              # one sample past MAX_PAYLOAD, as SAMPLE frames are
        assert k == 1 and stream_payload_bytes(cells) < sample_payload_bytes(cells)


def test_the_compact_stream_costs_close_to_two_bytes_a_cell():
    """8 cells: 31 samples a frame of 501 payload bytes, 507 on the wire: 16.35 bytes a
    sample against 51 for a SAMPLE frame."""
    assert stream_samples_per_frame(8) == 31 and stream_payload_bytes(8) == 501
    assert stream_bytes_per_sample(8) == pytest.approx(507 / 31)
    assert HEADER_BYTES + sample_payload_bytes(8) + CRC_BYTES == 51
    assert stream_bytes_per_sample(8) < 2 * 8 + 0.5


def test_sample_and_run_payloads_round_trip(rng):
    cells = 8
    seq, flags = int(rng.integers(0, 2 ** 32)), int(rng.integers(0, 2 ** 8))
    xp = rng.integers(-2 ** 15, 2 ** 15, size=2 * cells)
    got = unpack_sample(struct.pack("<IQ", seq, flags)
                        + struct.pack(f"<{2 * cells}h", *xp.tolist()), cells)
    assert (got.seq, got.flags, got.x + got.p) == (seq, flags, tuple(xp.tolist()))
    assert unpack_run_done(struct.pack("<II", 7, 3)) == (7, 3)
    assert pack_run(0xFFFFFFFF) == b"\xff\xff\xff\xff"
    assert pack_moments_run(5, 0xFFFF) == struct.pack("<IH", 5, 0xFFFF)
    for call in (lambda: pack_run(-1), lambda: pack_run(2 ** 32),
                 lambda: pack_moments_run(5, 0), lambda: unpack_run_done(b"\x00" * 7)):
        with pytest.raises(ProtocolError):
            call()
