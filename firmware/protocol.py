"""The SoC's serial protocol, written once for the gateware and the host driver.

Every frame, in both directions::

    SYNC (0xA5) | opcode (1) | length (2, little-endian) | payload (length) | CRC-16 (2, LE)

The CRC is CRC-16/CCITT-FALSE (`tritherm.formats.CRC16_POLY`, `CRC16_INIT`) over the
opcode, the two length bytes and the payload. A response carries the command's opcode with
bit 7 set (`response`) and a payload that starts with a `Status` byte. Multi-byte fields are
little-endian; x, p and noise are signed 16-bit, matvec results signed 32-bit.

Commands (host to device; the device accepts payloads up to `MAX_PAYLOAD` bytes):

=============  ======================================  ==========================================
opcode         payload                                 response data (after the status byte)
=============  ======================================  ==========================================
IDENTIFY       (none)                                  registers 0 .. IDENTITY_WORDS-1, u32 each
READ_REGS      first u8, count u8                      ``count`` registers, u32 each
WRITE_REG      register u8, value u32                  (none)
LOAD_WEIGHTS   start u16, bytes                        (none); bytes go to the packed weight
                                                       memory from byte address ``start`` =
                                                       row * row_bytes + column
MATVEC         k u16, k activations int8               ``lanes`` results, s32 each
COUPLER_WRITE  n x (address u16, data u32)             (none); `tritherm.formats.coupler_address`
COUPLER_RUN    steps u32                               (none), then one SAMPLE frame per sample,
                                                       then one RUN_DONE frame
COUPLER_MOM..  steps u32, block u16 (1..65535)         (none), then one MOMENTS frame per block of
                                                       ``block`` samples (the last may hold
                                                       fewer), then one RUN_DONE frame
COUPLER_STR..  steps u32                               (none), then one SAMPLES frame per
                                                       `stream_samples_per_frame` samples (x
                                                       only), then one RUN_DONE frame; only on
                                                       a SoC with `Feature.STREAM`
COUPLER_STOP   (none)                                  (answered by the run's RUN_DONE)
NOISE          beats u16                               ``beats x cells`` Gaussian samples, s16
=============  ======================================  ==========================================

Device-only frames: SAMPLE (seq u32, flags u64 -- one u64 per 64 cells on a coupler of more
than 64 cells, `sample_flag_bytes` --, x cells x s16, p cells x s16), RUN_DONE
(step u32, samples u32), MOMENTS (samples u16 in the block, flags as SAMPLE's (the cells'
sticky flags after its last sample), then `moment_terms` sums as s64: sum x_i, sum x_i x_j
for i <= j row by row, sum p_i^2, of the raw 16-bit state, exact; `moments_payload_bytes`),
SAMPLES (seq u32 of the frame's first sample, then `stream_samples_per_frame` samples
of x, cells x s16 each; one sample every THIN steps; the run's last frame is padded with
zero samples, and how many of its samples are real follows from RUN_DONE's count; no
flags: the host reads SATURATED_LO/HI and FLAGS after RUN_DONE; `stream_payload_bytes`),
and ERROR (a frame that failed its CRC, overran `MAX_PAYLOAD`, or
stopped arriving for `TIMEOUT_BYTE_TIMES` byte times: the opcode cannot be trusted, so the
answer is ERROR with the status that says why).

Robustness: outside a frame, bytes other than SYNC are dropped and counted (GARBAGE). A
frame is acted on only when its CRC is good, its opcode known and its length right for the
opcode; otherwise it is answered with an error status and nothing else happens. While a run
streams samples or moments, the device answers nothing but COUPLER_STOP (whose answer is RUN_DONE);
other frames are dropped and counted (DROPPED). The coupler waits while a sample has not
left over the wire, so no sample is ever lost on the device; the host detects any loss on
its side from the sequence numbers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from tritherm.formats import CRC16_INIT, CRC16_POLY, MOMENTS_MAX_BLOCK, moment_terms

__all__ = [
    "SYNC", "RESPONSE_BIT", "HEADER_BYTES", "CRC_BYTES", "MAX_PAYLOAD", "TIMEOUT_BYTE_TIMES",
    "PROTOCOL_VERSION", "MAGIC", "Op", "Status", "Reg", "Flag", "IDENTITY_WORDS",
    "REGISTER_COUNT", "COUNTER_REGISTERS", "WRITABLE_REGISTERS", "crc16", "response",
    "encode_frame", "Frame", "FrameParser", "ProtocolError", "SampleFrame",
    "pack_read_regs", "pack_write_reg", "pack_load_weights", "pack_matvec", "unpack_matvec",
    "pack_coupler_writes", "pack_run", "pack_noise", "unpack_noise", "unpack_sample",
    "unpack_run_done", "sample_payload_bytes", "sample_flag_bytes", "max_coupler_writes",
    "max_weight_bytes", "Feature", "pack_moments_run", "moments_payload_bytes",
    "MomentsFrame", "unpack_moments", "stream_samples_per_frame", "stream_payload_bytes",
    "stream_bytes_per_sample", "SamplesFrame", "unpack_samples",
]

SYNC = 0xA5
RESPONSE_BIT = 0x80
HEADER_BYTES = 4                 # sync, opcode, length (2)
CRC_BYTES = 2
#: Longest payload the device accepts (its frame buffer is one 4-kbit block RAM).
MAX_PAYLOAD = 512
#: An incomplete frame is abandoned after this many byte times without a byte.
TIMEOUT_BYTE_TIMES = 64
PROTOCOL_VERSION = 1
#: Register MAGIC reads b"TRTH" (as a little-endian word).
MAGIC = int.from_bytes(b"TRTH", "little")


class Op(IntEnum):
    """Command opcodes (responses set `RESPONSE_BIT`)."""

    IDENTIFY = 0x01
    READ_REGS = 0x02
    WRITE_REG = 0x03
    LOAD_WEIGHTS = 0x10
    MATVEC = 0x11
    COUPLER_WRITE = 0x20
    COUPLER_RUN = 0x21
    COUPLER_STOP = 0x22
    COUPLER_MOMENTS = 0x23
    COUPLER_STREAM = 0x24
    NOISE = 0x30
    SAMPLE = 0x40        # device to host only
    RUN_DONE = 0x41      # device to host only
    MOMENTS = 0x42       # device to host only
    SAMPLES = 0x43       # device to host only
    ERROR = 0x7F         # device to host only


class Status(IntEnum):
    """First byte of every response payload."""

    OK = 0
    BAD_CRC = 1
    BAD_LENGTH = 2         # wrong for the opcode, or beyond MAX_PAYLOAD
    UNKNOWN_OPCODE = 3
    BAD_ARGUMENT = 4       # K beyond the array, weights past the memory, no such register
    BUSY = 5
    TIMEOUT = 6            # the frame stopped arriving
    READ_ONLY = 7


class Reg(IntEnum):
    """The register map (32-bit registers; READ_REGS, WRITE_REG)."""

    MAGIC = 0
    VERSION = 1
    CLOCK_HZ = 2
    BAUD = 3
    ARRAY_LANES = 4
    ARRAY_INPUTS = 5
    ARRAY_CAPACITY = 6       # longest K
    ARRAY_ACC_WIDTH = 7
    COUPLER_CELLS = 8
    COUPLER_MULTIPLIERS = 9
    COUPLER_SHAPER = 10      # 0 clt, 1 icdf (tritherm.formats.SHAPER_SAMPLES order)
    COUPLER_FORMAT = 11      # bytes: state width, state frac, coef frac, mult frac
    MAX_PAYLOAD = 12
    COUPLER_FEATURES = 13    # `Feature` bits
    STATUS = 16              # bit 0: the coupler is running
    FLAGS = 17               # sticky `Flag` bits; write ones to clear them
    SATURATED_LO = 18        # per-cell saturation flags, cells 0..31
    SATURATED_HI = 19        # cells 32..63
    BAD_CRC_COUNT = 20       # counters: write anything to zero them
    BAD_FRAME_COUNT = 21     # unknown opcode, bad length, timeout
    GARBAGE_COUNT = 22       # bytes dropped outside frames
    DROPPED_COUNT = 23       # frames dropped while a run streamed
    COUPLER_STEP = 24


class Feature(IntEnum):
    """Bits of the COUPLER_FEATURES register."""

    QUARTIC = 1 << 0     # the coupler has the quartic pre-pass
    MOMENTS = 1 << 1     # COUPLER_MOMENTS: block moments on chip
    STREAM = 1 << 2      # COUPLER_STREAM: the compact sample stream (SAMPLES frames)


class Flag(IntEnum):
    """Bits of the FLAGS register."""

    ARRAY_INVALID_CODE = 1 << 0
    ARRAY_K_OVERFLOW = 1 << 1
    COUPLER_SATURATED = 1 << 2   # any cell; clearing it clears every cell's flag
    UART_FRAMING = 1 << 3
    UART_OVERRUN = 1 << 4


IDENTITY_WORDS = Reg.COUPLER_FEATURES + 1
REGISTER_COUNT = Reg.COUPLER_STEP + 1
COUNTER_REGISTERS = (Reg.BAD_CRC_COUNT, Reg.BAD_FRAME_COUNT, Reg.GARBAGE_COUNT,
                     Reg.DROPPED_COUNT)
WRITABLE_REGISTERS = (Reg.FLAGS, *COUNTER_REGISTERS)


class ProtocolError(ValueError):
    """A frame or payload that does not follow the protocol."""


def crc16(data: bytes, crc: int = CRC16_INIT) -> int:
    """CRC-16/CCITT-FALSE of `data` (continuing from `crc`)."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC16_POLY if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def response(op: int) -> int:
    """The opcode of the response to command `op`."""
    return op | RESPONSE_BIT


def encode_frame(op: int, payload: bytes = b"") -> bytes:
    """One frame: sync, opcode, length, payload, CRC."""
    if not 0 <= op <= 0xFF:
        raise ProtocolError(f"opcode must be a byte, got {op!r}")
    if len(payload) > 0xFFFF:
        raise ProtocolError(f"a payload holds at most 65535 bytes, got {len(payload)}")
    body = bytes([op]) + struct.pack("<H", len(payload)) + bytes(payload)
    return bytes([SYNC]) + body + struct.pack("<H", crc16(body))


@dataclass(frozen=True)
class Frame:
    """A received frame: opcode and payload (CRC already checked)."""

    op: int
    payload: bytes

    @property
    def status(self) -> Status | int:
        """The status byte of a response (ProtocolError if there is none)."""
        if not self.payload:
            raise ProtocolError(f"response 0x{self.op:02x} has no status byte")
        try:
            return Status(self.payload[0])
        except ValueError:
            return self.payload[0]

    @property
    def data(self) -> bytes:
        """A response's payload after the status byte."""
        return self.payload[1:]


class FrameParser:
    """Incremental frame parser for a byte stream (the host side; the gateware's is
    `tritherm.firmware.soc`).

    `feed` returns the frames completed by the new bytes. Bytes outside frames are counted
    in `garbage`; a frame whose CRC fails is counted in `bad_crc` and the search for the
    next SYNC restarts at the byte after the false one, so a good frame hidden behind
    garbage or a corrupted frame is still found. Lengths beyond `max_length` are treated as
    a false sync.
    """

    def __init__(self, max_length: int = 0xFFFF):
        self.max_length = max_length
        self.garbage = 0
        self.bad_crc = 0
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while True:
            start = self._buffer.find(SYNC)
            if start < 0:
                self.garbage += len(self._buffer)
                self._buffer.clear()
                return frames
            self.garbage += start
            del self._buffer[:start]
            if len(self._buffer) < HEADER_BYTES:
                return frames
            length = int.from_bytes(self._buffer[2:4], "little")
            if length > self.max_length:
                self._skip_false_sync()
                continue
            end = HEADER_BYTES + length + CRC_BYTES
            if len(self._buffer) < end:
                return frames
            body = bytes(self._buffer[1:HEADER_BYTES + length])
            if crc16(body) != int.from_bytes(self._buffer[end - 2:end], "little"):
                self.bad_crc += 1
                self._skip_false_sync()
                continue
            frames.append(Frame(body[0], body[3:]))
            del self._buffer[:end]

    def _skip_false_sync(self) -> None:
        self.garbage += 1
        del self._buffer[:1]

    @property
    def pending(self) -> int:
        """Bytes held while a frame is incomplete."""
        return len(self._buffer)


# --- Payloads -----------------------------------------------------------------------------

def pack_read_regs(first: int, count: int) -> bytes:
    return struct.pack("<BB", first, count)


def pack_write_reg(register: int, value: int) -> bytes:
    return struct.pack("<BI", register, value & 0xFFFFFFFF)


def max_weight_bytes() -> int:
    """Weight bytes one LOAD_WEIGHTS frame carries."""
    return MAX_PAYLOAD - 2


def pack_load_weights(start: int, data: bytes) -> bytes:
    if not 0 <= start <= 0xFFFF:
        raise ProtocolError(f"weight address must be in [0, 65535], got {start}")
    if len(data) > max_weight_bytes():
        raise ProtocolError(f"one frame carries at most {max_weight_bytes()} weight bytes")
    return struct.pack("<H", start) + bytes(data)


def pack_matvec(activations) -> bytes:
    values = [int(v) for v in activations]
    if not 1 <= len(values) <= MAX_PAYLOAD - 2:
        raise ProtocolError(f"a matvec takes 1..{MAX_PAYLOAD - 2} activations, "
                            f"got {len(values)}")
    if any(not -128 <= v <= 127 for v in values):
        raise ProtocolError("activations must be int8 (-128..127)")
    return struct.pack("<H", len(values)) + struct.pack(f"<{len(values)}b", *values)


def unpack_matvec(data: bytes, lanes: int) -> list[int]:
    if len(data) != 4 * lanes:
        raise ProtocolError(f"matvec answer holds {len(data)} bytes, expected {4 * lanes}")
    return list(struct.unpack(f"<{lanes}i", data))


def max_coupler_writes() -> int:
    """Configuration writes one COUPLER_WRITE frame carries."""
    return MAX_PAYLOAD // 6


def pack_coupler_writes(writes) -> bytes:
    writes = list(writes)
    if len(writes) > max_coupler_writes():
        raise ProtocolError(f"one frame carries at most {max_coupler_writes()} writes")
    return b"".join(struct.pack("<HI", addr, data & 0xFFFFFFFF) for addr, data in writes)


def pack_run(steps: int) -> bytes:
    if not 0 <= steps <= 0xFFFFFFFF:
        raise ProtocolError(f"steps must be in [0, 2**32 - 1], got {steps}")
    return struct.pack("<I", steps)


def pack_noise(beats: int) -> bytes:
    if not 1 <= beats <= 0xFFFF:
        raise ProtocolError(f"noise beats must be in [1, 65535], got {beats}")
    return struct.pack("<H", beats)


def unpack_noise(data: bytes, cells: int) -> list[list[int]]:
    """Beats of ``cells`` signed 16-bit noise samples."""
    if len(data) % (2 * cells):
        raise ProtocolError(f"noise answer of {len(data)} bytes is not whole beats")
    values = struct.unpack(f"<{len(data) // 2}h", data)
    return [list(values[i:i + cells]) for i in range(0, len(values), cells)]


def sample_flag_bytes(cells: int) -> int:
    """Bytes of a SAMPLE frame's flags: 8 for up to 64 cells, 8 more per further 64."""
    return 8 * max(1, -(-cells // 64))


def sample_payload_bytes(cells: int) -> int:
    """Bytes of a SAMPLE frame's payload, status included."""
    return 1 + 4 + sample_flag_bytes(cells) + 4 * cells


@dataclass(frozen=True)
class SampleFrame:
    """One coupler sample as it crosses the wire."""

    seq: int
    flags: int
    x: tuple[int, ...]
    p: tuple[int, ...]


def unpack_sample(data: bytes, cells: int) -> SampleFrame:
    if len(data) != sample_payload_bytes(cells) - 1:
        raise ProtocolError(f"sample of {len(data)} bytes, expected "
                            f"{sample_payload_bytes(cells) - 1} for {cells} cells")
    flag_bytes = sample_flag_bytes(cells)
    seq = int.from_bytes(data[:4], "little")
    flags = int.from_bytes(data[4:4 + flag_bytes], "little")
    values = struct.unpack_from(f"<{2 * cells}h", data, 4 + flag_bytes)
    return SampleFrame(seq, flags, tuple(values[:cells]), tuple(values[cells:]))


def unpack_run_done(data: bytes) -> tuple[int, int]:
    """(step count at the end, samples sent)."""
    if len(data) != 8:
        raise ProtocolError(f"RUN_DONE of {len(data)} bytes, expected 8")
    return struct.unpack("<II", data)


def pack_moments_run(steps: int, block: int) -> bytes:
    if not 0 <= steps <= 0xFFFFFFFF:
        raise ProtocolError(f"steps must be in [0, 2**32 - 1], got {steps}")
    if not 1 <= block <= MOMENTS_MAX_BLOCK:
        raise ProtocolError(f"block must be in [1, {MOMENTS_MAX_BLOCK}], got {block}")
    return struct.pack("<IH", steps, block)


def moments_payload_bytes(cells: int) -> int:
    """Bytes of a MOMENTS frame's payload, status included."""
    return 1 + 2 + sample_flag_bytes(cells) + 8 * moment_terms(cells)


@dataclass(frozen=True)
class MomentsFrame:
    """One block of moments as it crosses the wire."""

    samples: int
    flags: int
    sums: tuple[int, ...]


def unpack_moments(data: bytes, cells: int) -> MomentsFrame:
    if len(data) != moments_payload_bytes(cells) - 1:
        raise ProtocolError(f"moments of {len(data)} bytes, expected "
                            f"{moments_payload_bytes(cells) - 1} for {cells} cells")
    flag_bytes = sample_flag_bytes(cells)
    samples = int.from_bytes(data[:2], "little")
    flags = int.from_bytes(data[2:2 + flag_bytes], "little")
    sums = struct.unpack_from(f"<{moment_terms(cells)}q", data, 2 + flag_bytes)
    return MomentsFrame(samples, flags, sums)


def stream_samples_per_frame(cells: int) -> int:
    """Samples one SAMPLES frame holds: as many as fit `MAX_PAYLOAD` (at least one)."""
    return max(1, (MAX_PAYLOAD - 5) // (2 * cells))


def stream_payload_bytes(cells: int) -> int:
    """Bytes of a SAMPLES frame's payload, status included: status, seq u32, x of each sample."""
    return 1 + 4 + 2 * cells * stream_samples_per_frame(cells)


def stream_bytes_per_sample(cells: int) -> float:
    """Bytes on the wire a sample costs in full SAMPLES frames (framing, status and seq
    shared by the frame's samples); `sample_payload_bytes` + 6 for a SAMPLE frame."""
    frame_bytes = HEADER_BYTES + stream_payload_bytes(cells) + CRC_BYTES
    return frame_bytes / stream_samples_per_frame(cells)


@dataclass(frozen=True)
class SamplesFrame:
    """A SAMPLES frame: the seq of its first sample and x of each of its samples
    (`stream_samples_per_frame` of them, the padding of a run's last frame included)."""

    seq: int
    x: tuple[tuple[int, ...], ...]


def unpack_samples(data: bytes, cells: int) -> SamplesFrame:
    if len(data) != stream_payload_bytes(cells) - 1:
        raise ProtocolError(f"samples of {len(data)} bytes, expected "
                            f"{stream_payload_bytes(cells) - 1} for {cells} cells")
    seq = int.from_bytes(data[:4], "little")
    values = struct.unpack_from(f"<{(len(data) - 4) // 2}h", data, 4)
    return SamplesFrame(seq, tuple(values[i:i + cells] for i in range(0, len(values), cells)))
