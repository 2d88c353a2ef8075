"""Test vectors, a golden model and one driver for the SoC (`tritherm.firmware.soc`).

`SocModel` is the SoC as the protocol (`tritherm.firmware.protocol`) describes it, frame by
frame: a receiver (SYNC hunt, length limit, CRC, timeout), the register file, the array's
weight memory (results from `ternary_matmul`), and the coupler (`CouplerModel`, raw noise
from `noise_steps`). `SocModel.exchange` splits a byte stream where the device answers, and
says what it answers, byte for byte.

Scripts (`identify_script`, `matvec_script`, ...) are lists of `Send`, `Pause` and `Run`
steps; `play` runs one through any `SocLink` and checks every byte that comes back against
the model. The Amaranth tests (`SocCore`, byte level) and the cocotb tests (`Soc` on
Verilator, bit level through cocotbext-uart) implement `SocLink` and share everything else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from tritherm.firmware.config import SIM_SOC_CONFIG, SocConfig
from tritherm.firmware.protocol import (CRC_BYTES, HEADER_BYTES, IDENTITY_WORDS, MAGIC,
                                        MAX_PAYLOAD, PROTOCOL_VERSION, REGISTER_COUNT,
                                        SYNC, WRITABLE_REGISTERS, Flag, FrameParser, Op,
                                        Reg, Status, crc16, encode_frame, max_coupler_writes,
                                        max_weight_bytes, pack_coupler_writes,
                                        pack_load_weights, pack_matvec,
                                        pack_moments_run, pack_noise, pack_read_regs,
                                        pack_run, pack_write_reg, response,
                                        sample_flag_bytes, stream_samples_per_frame)
from tritherm.formats import (COUPLER_FORMAT, COUPLER_REG_FLAGS, COUPLER_REGION_SCALAR,
                              SHAPER_SAMPLES, TRITS_PER_BYTE, coupler_address)

from .coupler_vectors import random_program
from ..golden import (CouplerModel, array_weight_image, block_moments, decode_base3_byte,
                      noise_steps)
from .ternary_vectors import extreme_jobs, random_jobs

__all__ = ["SOC_TEST_CONFIG", "SocModel", "Send", "Pause", "Run", "SocLink", "play",
           "frame", "identify_script", "registers_script", "matvec_script",
           "coupler_script", "noise_script", "error_script", "stop_script",
           "corruption_script", "moments_script"]

#: The SoC the tests elaborate: the simulation SoC at 3 Mbaud from 24 MHz (divisor 8),
#: so a frame times out after 5,120 cycles.
SOC_TEST_CONFIG = SIM_SOC_CONFIG.with_(baud=3_000_000)

_SCALAR = lambda register: coupler_address(COUPLER_REGION_SCALAR, register)  # noqa: E731


def frame(op: int, payload: bytes = b"") -> bytes:
    """A frame as the device sends it (the protocol's `encode_frame`)."""
    return encode_frame(op, payload)


def _answer(op: int, status: int, data: bytes = b"") -> bytes:
    return frame(response(op), bytes([status]) + data)


# --- the golden model --------------------------------------------------------------------

class SocModel:
    """The SoC of `config` as the protocol defines it, one byte and one frame at a time.

    `exchange` feeds host bytes and returns, for each stretch that ends where the device
    answers, the stretch and the frames it answers with; `time_out` is a pause long
    enough for the frame timeout. While `in_run` is set (a run is streaming) frames are
    only counted, and COUPLER_STOP sets `stop_requested`.
    """

    def __init__(self, config: SocConfig = SOC_TEST_CONFIG):
        self.config = config
        shape = config.array
        self.weights = bytearray(shape.rows * shape.row_bytes)
        self.coupler = CouplerModel(config.cells, config.shaper, quartic=config.quartic)
        self.counters = {Reg.BAD_CRC_COUNT: 0, Reg.BAD_FRAME_COUNT: 0,
                         Reg.GARBAGE_COUNT: 0, Reg.DROPPED_COUNT: 0}
        self.array_invalid = False
        self.in_run = False
        self.stop_requested = False
        self._state = "HUNT"
        self._header = bytearray()
        self._payload = bytearray()
        self._length = 0

    # -- the receiver ----------------------------------------------------------------
    def _count(self, register: Reg) -> None:
        self.counters[register] = min(self.counters[register] + 1, 0xFFFF)

    def _byte(self, byte: int):
        """Feed one byte; return a verdict (status, op, payload) when a frame ends."""
        state = self._state
        if state == "HUNT":
            if byte == SYNC:
                self._state, self._header = "HEADER", bytearray()
            else:
                self._count(Reg.GARBAGE_COUNT)
            return None
        if state == "HEADER":
            self._header.append(byte)
            if len(self._header) < 3:
                return None
            self._length = self._header[1] | self._header[2] << 8
            self._payload = bytearray()
            if self._length > MAX_PAYLOAD:
                self._state = "HUNT"
                self._count(Reg.BAD_FRAME_COUNT)
                return Status.BAD_LENGTH, self._header[0], b""
            self._state = "PAYLOAD" if self._length else "CRC"
            self._crc = bytearray()
            return None
        if state == "PAYLOAD":
            self._payload.append(byte)
            if len(self._payload) == self._length:
                self._state, self._crc = "CRC", bytearray()
            return None
        self._crc.append(byte)                                # state == "CRC"
        if len(self._crc) < CRC_BYTES:
            return None
        self._state = "HUNT"
        body = bytes(self._header) + bytes(self._payload)
        if crc16(body) != int.from_bytes(self._crc, "little"):
            self._count(Reg.BAD_CRC_COUNT)
            return Status.BAD_CRC, self._header[0], b""
        return Status.OK, self._header[0], bytes(self._payload)

    def exchange(self, data: bytes) -> list[tuple[bytes, list[bytes]]]:
        """Split `data` after each byte that ends a frame; pair each piece with the frames
        the device answers with (the last piece may have none)."""
        pieces, start = [], 0
        for end, byte in enumerate(data, 1):
            verdict = self._byte(byte)
            if verdict is not None:
                pieces.append((bytes(data[start:end]), self._verdict(*verdict)))
                start = end
        if start < len(data) or not pieces:
            pieces.append((bytes(data[start:]), []))
        return pieces

    def time_out(self) -> list[bytes]:
        """The device's answer to a pause past the frame timeout."""
        if self._state == "HUNT":
            return []
        self._state = "HUNT"
        self._count(Reg.BAD_FRAME_COUNT)
        return self._verdict(Status.TIMEOUT, 0, b"")

    def _verdict(self, status: int, op: int, payload: bytes) -> list[bytes]:
        if self.in_run:
            if status == Status.OK and op == Op.COUPLER_STOP and not payload:
                self.stop_requested = True
            else:
                self._count(Reg.DROPPED_COUNT)
            return []
        if status != Status.OK:
            return [frame(Op.ERROR, bytes([status]))]
        return self._execute(op, payload)

    # -- the executor -------------------------------------------------------------------
    def register(self, register: int) -> int:
        """What READ_REGS reads from `register` (while no run streams)."""
        config, fmt = self.config, COUPLER_FORMAT
        identity = {
            Reg.MAGIC: MAGIC, Reg.VERSION: PROTOCOL_VERSION,
            Reg.CLOCK_HZ: int(round(config.clock_hz)), Reg.BAUD: config.baud,
            Reg.ARRAY_LANES: config.array.lanes, Reg.ARRAY_INPUTS: config.array.inputs,
            Reg.ARRAY_CAPACITY: config.array.capacity,
            Reg.ARRAY_ACC_WIDTH: config.array.acc_width,
            Reg.COUPLER_CELLS: config.cells, Reg.COUPLER_MULTIPLIERS: config.multipliers,
            Reg.COUPLER_SHAPER: list(SHAPER_SAMPLES).index(config.shaper),
            Reg.COUPLER_FORMAT: int.from_bytes(bytes([fmt.state.width, fmt.state.frac,
                                                      fmt.coef.frac, fmt.mult.frac]),
                                               "little"),
            Reg.MAX_PAYLOAD: MAX_PAYLOAD,
            Reg.COUPLER_FEATURES: int(config.quartic) | 2 * int(config.moments)
                                    | 4 * int(config.stream),
        }
        saturated = sum(int(f) << i for i, f in enumerate(self.coupler.flags))
        live = {
            Reg.STATUS: 0,
            Reg.FLAGS: self.flags(),
            Reg.SATURATED_LO: saturated & 0xFFFFFFFF,
            Reg.SATURATED_HI: saturated >> 32,
            Reg.COUPLER_STEP: self.coupler.step & 0xFFFFFFFF,
            **self.counters,
        }
        return {**identity, **live}.get(register, 0)

    def flags(self) -> int:
        """The FLAGS register (the UART flags are never set in these tests)."""
        return ((Flag.ARRAY_INVALID_CODE if self.array_invalid else 0)
                | (Flag.COUPLER_SATURATED if self.coupler.flags.any() else 0))

    def matvec(self, activations: np.ndarray) -> list[int]:
        """The array's results for K = len(activations) from the loaded weight memory."""
        shape = self.config.array
        k = len(activations)
        rows = -(-k // shape.inputs)
        weights = np.zeros((shape.lanes, rows * shape.inputs), dtype=np.int64)
        for row in range(rows):
            for byte_column in range(shape.row_bytes):
                value = self.weights[row * shape.row_bytes + byte_column]
                digits, invalid = decode_base3_byte(value)
                self.array_invalid |= invalid
                lane, group = divmod(byte_column, shape.groups)
                for i, w in enumerate(digits):
                    j = group * TRITS_PER_BYTE + i
                    if j < shape.inputs:
                        weights[lane, row * shape.inputs + j] = w
        return [int(v) for v in weights[:, :k] @ np.asarray(activations, dtype=np.int64)]

    def _execute(self, op: int, payload: bytes) -> list[bytes]:
        config, n = self.config, len(payload)
        ok = lambda data=b"": [_answer(op, Status.OK, data)]  # noqa: E731

        def refuse(status):
            if status in (Status.BAD_LENGTH, Status.UNKNOWN_OPCODE):
                self._count(Reg.BAD_FRAME_COUNT)
            return [_answer(op, status)]

        if op == Op.IDENTIFY:
            if n != 0:
                return refuse(Status.BAD_LENGTH)
            return ok(b"".join(struct.pack("<I", self.register(r))
                               for r in range(IDENTITY_WORDS)))
        if op == Op.READ_REGS:
            if n != 2:
                return refuse(Status.BAD_LENGTH)
            first, count = payload
            if count == 0 or first + count > REGISTER_COUNT:
                return refuse(Status.BAD_ARGUMENT)
            return ok(b"".join(struct.pack("<I", self.register(r))
                               for r in range(first, first + count)))
        if op == Op.WRITE_REG:
            if n != 5:
                return refuse(Status.BAD_LENGTH)
            register, value = struct.unpack("<BI", payload)
            if register not in WRITABLE_REGISTERS:
                return refuse(Status.READ_ONLY if register < REGISTER_COUNT
                              else Status.BAD_ARGUMENT)
            if register == Reg.FLAGS:
                if value & Flag.ARRAY_INVALID_CODE:
                    self.array_invalid = False
                if value & Flag.COUPLER_SATURATED:
                    self.coupler.write(_SCALAR(COUPLER_REG_FLAGS), 0)
            else:
                self.counters[Reg(register)] = 0
            return ok()
        if op == Op.LOAD_WEIGHTS:
            if n < 2:
                return refuse(Status.BAD_LENGTH)
            start = payload[0] | payload[1] << 8
            if start + n - 2 > len(self.weights):
                return refuse(Status.BAD_ARGUMENT)
            self.weights[start:start + n - 2] = payload[2:]
            return ok()
        if op == Op.MATVEC:
            k = payload[0] | payload[1] << 8 if n >= 2 else None
            if k is None or n != 2 + k:
                return refuse(Status.BAD_LENGTH)
            if not 1 <= k <= config.array.capacity:
                return refuse(Status.BAD_ARGUMENT)
            results = self.matvec(np.frombuffer(payload[2:], dtype=np.int8))
            return ok(struct.pack(f"<{len(results)}i", *results))
        if op == Op.COUPLER_WRITE:
            if n % 6:
                return refuse(Status.BAD_LENGTH)
            for offset in range(0, n, 6):
                self.coupler.write(*struct.unpack_from("<HI", payload, offset))
            return ok()
        if op == Op.COUPLER_RUN:
            if n != 4:
                return refuse(Status.BAD_LENGTH)
            (steps,) = struct.unpack("<I", payload)
            samples, done = self.run_frames(steps)
            return ok() + samples + [done]
        if op == Op.COUPLER_MOMENTS and config.moments:
            if n != 6:
                return refuse(Status.BAD_LENGTH)
            steps, block = struct.unpack("<IH", payload)
            if block == 0:
                return refuse(Status.BAD_ARGUMENT)
            blocks, done = self.run_frames(steps, block)
            return ok() + blocks + [done]
        if op == Op.COUPLER_STREAM and config.stream:
            if n != 4:
                return refuse(Status.BAD_LENGTH)
            (steps,) = struct.unpack("<I", payload)
            frames, done = self.run_frames(steps, compact=True)
            return ok() + frames + [done]
        if op == Op.COUPLER_STOP:
            return ok() if n == 0 else refuse(Status.BAD_LENGTH)
        if op == Op.NOISE:
            if n != 2:
                return refuse(Status.BAD_LENGTH)
            beats = payload[0] | payload[1] << 8
            if not 1 <= beats <= (0xFFFF - 1) // (2 * config.cells):
                return refuse(Status.BAD_ARGUMENT)
            c = self.coupler
            values = noise_steps(c.seed, c.cells, beats, c.shaper, c.rounds, start=c.step)
            c.step += beats
            return ok(struct.pack(f"<{values.size}h", *values.reshape(-1)))
        return refuse(Status.UNKNOWN_OPCODE)

    def run_frames(self, steps: int, block: int | None = None,
                   compact: bool = False) -> tuple[list[bytes], bytes]:
        """Run the coupler `steps` steps: its SAMPLE frames (with `block`, its MOMENTS
        frames, `block_moments`; with `compact`, its SAMPLES frames, the last one padded
        with zeros) and the RUN_DONE frame."""
        samples = self.coupler.run(steps)
        frames = []
        if compact:
            k = stream_samples_per_frame(self.config.cells)
            for first in range(0, len(samples), k):
                x = np.zeros((k, self.config.cells), dtype=np.int64)
                x[:len(samples.x[first:first + k])] = samples.x[first:first + k]
                frames.append(frame(Op.SAMPLES, bytes([Status.OK]) + struct.pack(
                    "<I", int(samples.seq[first])) + struct.pack(
                    f"<{x.size}h", *(int(v) for v in x.reshape(-1)))))
        flag_bytes = sample_flag_bytes(self.config.cells)
        if block is not None:
            moments = block_moments(samples.x, samples.p, block)
            for k, (count, sums) in enumerate(zip(moments.counts, moments.sums)):
                last = samples.flags[min(len(samples), (k + 1) * block) - 1]
                flags = sum(int(f) << i for i, f in enumerate(last))
                frames.append(frame(Op.MOMENTS, bytes([Status.OK]) + struct.pack(
                    "<H", int(count)) + flags.to_bytes(flag_bytes, "little")
                    + struct.pack(f"<{len(sums)}q", *(int(v) for v in sums))))
        for k in range(len(samples) if block is None and not compact else 0):
            flags = sum(int(f) << i for i, f in enumerate(samples.flags[k]))
            values = [int(v) for v in samples.x[k]] + [int(v) for v in samples.p[k]]
            frames.append(frame(Op.SAMPLE, bytes([Status.OK]) + struct.pack(
                "<I", int(samples.seq[k])) + flags.to_bytes(
                sample_flag_bytes(self.config.cells), "little") + struct.pack(
                f"<{len(values)}h", *values)))
        done = frame(Op.RUN_DONE, bytes([Status.OK]) + struct.pack(
            "<II", self.coupler.step & 0xFFFFFFFF, len(samples)))
        return frames, done


# --- scripts -------------------------------------------------------------------------------

@dataclass
class Send:
    """Send bytes; expect what the model answers (and, with `recovers`, an OK answer to
    the command in `data`: the device is back in step whatever came before)."""

    data: bytes
    note: str = ""
    recovers: bool = False


@dataclass
class Pause:
    """Send nothing for longer than the frame timeout."""

    note: str = "pause past the frame timeout"


@dataclass
class Run:
    """COUPLER_RUN of `steps` (COUPLER_MOMENTS in blocks of `block` samples when given,
    COUPLER_STREAM with `compact`);
    after `after` frames, send `during` (frames the device must drop and count) and, if
    `stop`, a COUPLER_STOP."""

    steps: int
    after: int = 0
    during: list = field(default_factory=list)
    stop: bool = False
    note: str = ""
    block: int | None = None
    compact: bool = False


def _regs(first: int, count: int) -> Send:
    return Send(frame(Op.READ_REGS, pack_read_regs(first, count)),
                f"READ_REGS {first}..{first + count - 1}")


def identify_script() -> list:
    """IDENTIFY, every register, and single ones at both ends of the map."""
    return [Send(frame(Op.IDENTIFY), "IDENTIFY"), _regs(0, REGISTER_COUNT),
            _regs(Reg.STATUS, REGISTER_COUNT - Reg.STATUS), _regs(REGISTER_COUNT - 1, 1),
            _regs(Reg.MAGIC, 1)]


def registers_script() -> list:
    """Counters counted, read and zeroed; flags written; refused writes and reads."""
    counters = _regs(Reg.BAD_CRC_COUNT, 4)
    bad_crc = bytearray(frame(Op.IDENTIFY))
    bad_crc[-1] ^= 0x40
    return [
        Send(bytes([0x00, 0x13, 0x5A, 0xFF]), "four garbage bytes"),
        Send(bytes(bad_crc), "IDENTIFY with a bad CRC"),
        Send(frame(0x55), "unknown opcode"),
        Send(frame(Op.IDENTIFY, b"\x00"), "IDENTIFY with a payload"),
        counters,
        Send(frame(Op.WRITE_REG, pack_write_reg(Reg.GARBAGE_COUNT, 12345)), "zero GARBAGE"),
        Send(frame(Op.WRITE_REG, pack_write_reg(Reg.BAD_CRC_COUNT, 0)), "zero BAD_CRC"),
        counters,
        Send(frame(Op.WRITE_REG, pack_write_reg(Reg.FLAGS, 0xFFFFFFFF)), "clear all flags"),
        _regs(Reg.FLAGS, 1),
        Send(frame(Op.WRITE_REG, pack_write_reg(Reg.MAGIC, 1)), "write a read-only register"),
        Send(frame(Op.WRITE_REG, pack_write_reg(14, 1)), "write a register hole"),
        Send(frame(Op.WRITE_REG, pack_write_reg(REGISTER_COUNT, 1)), "write past the map"),
        Send(frame(Op.READ_REGS, pack_read_regs(REGISTER_COUNT - 2, 3)), "read past the map"),
        Send(frame(Op.READ_REGS, pack_read_regs(0, 0)), "read no register"),
        Send(frame(Op.READ_REGS, b"\x00"), "READ_REGS too short"),
        Send(frame(Op.WRITE_REG, pack_write_reg(Reg.DROPPED_COUNT, 0) + b"\x00"),
             "WRITE_REG too long"),
        _regs(Reg.BAD_CRC_COUNT, 4),
    ]


def load_weights(image: bytes, rng: np.random.Generator | None = None) -> list:
    """LOAD_WEIGHTS frames for a whole weight image: in `max_weight_bytes` pieces, or in
    random pieces (random starts, so the row/column split is exercised) with `rng`."""
    out, start = [], 0
    while start < len(image):
        size = max_weight_bytes() if rng is None else int(rng.integers(1, 40))
        piece = image[start:start + size]
        out.append(Send(frame(Op.LOAD_WEIGHTS, pack_load_weights(start, piece)),
                        f"LOAD_WEIGHTS {len(piece)} bytes at {start}"))
        start += len(piece)
    return out


def matvec_script(config: SocConfig, seed: int, jobs: int = 4) -> list:
    """Random and extreme ternary jobs: weights loaded, every vector multiplied; an
    invalid weight byte (flag, cleared); refused K and lengths."""
    shape = config.array
    rng = np.random.default_rng([seed, 5])
    script = []
    tiles = extreme_jobs(shape) + random_jobs(shape, jobs, seed)
    for number, job in enumerate(tiles):
        image = array_weight_image(shape, job.weights).tobytes()
        script += load_weights(image, rng if number % 2 else None)
        script += [Send(frame(Op.MATVEC, pack_matvec(x)), f"MATVEC K={job.k} ({job.name})")
                   for x in job.activations]
    capacity = shape.capacity
    script += [
        Send(frame(Op.LOAD_WEIGHTS, pack_load_weights(0, b"\xff")), "invalid weight code"),
        Send(frame(Op.MATVEC, pack_matvec([1] * shape.inputs)), "MATVEC over it"),
        _regs(Reg.FLAGS, 1),
        Send(frame(Op.WRITE_REG, pack_write_reg(Reg.FLAGS, Flag.ARRAY_INVALID_CODE)),
             "clear ARRAY_INVALID_CODE"),
        _regs(Reg.FLAGS, 1),
        Send(frame(Op.MATVEC, struct.pack("<H", capacity + 1) + bytes(capacity + 1)),
             "MATVEC K past the capacity"),
        Send(frame(Op.MATVEC, struct.pack("<H", 0)), "MATVEC K = 0"),
        Send(frame(Op.MATVEC, struct.pack("<H", 3) + bytes(2)), "MATVEC one activation short"),
        Send(frame(Op.MATVEC, b"\x01"), "MATVEC without K"),
        Send(frame(Op.LOAD_WEIGHTS, pack_load_weights(shape.rows * shape.row_bytes - 1,
                                                       b"\x00\x00")), "weights past the end"),
        Send(frame(Op.LOAD_WEIGHTS, pack_load_weights(shape.rows * shape.row_bytes, b"")),
             "no weights at the end"),
        Send(frame(Op.LOAD_WEIGHTS, b"\x00"), "LOAD_WEIGHTS without a start"),
    ]
    return script


def configure(writes) -> list:
    """COUPLER_WRITE frames for a list of (address, data) writes."""
    writes, step = list(writes), max_coupler_writes()
    return [Send(frame(Op.COUPLER_WRITE, pack_coupler_writes(writes[i:i + step])),
                 f"COUPLER_WRITE {len(writes[i:i + step])} writes")
            for i in range(0, len(writes), step)]


def coupler_script(config: SocConfig, seed: int, steps: int = 12) -> list:
    """Two random programs (overdamped, then underdamped with the quartic term and
    THIN = 2), each run twice; a run of 0 steps; refused lengths."""
    rng = np.random.default_rng([seed, 6])
    cells = config.cells
    first = random_program(rng, cells, "overdamped", False)
    second = random_program(rng, cells, "underdamped", True, saturate=True, thin=2)
    script = configure(first.writes()) + [Run(steps, note="overdamped"), Run(3),
                                          _regs(Reg.STATUS, 9)]
    script += configure(second.writes()) + [Run(steps, note="underdamped, quartic, thin 2"),
                                            Run(0, note="no steps"), _regs(Reg.FLAGS, 3)]
    script += [
        Send(frame(Op.WRITE_REG, pack_write_reg(Reg.FLAGS, Flag.COUPLER_SATURATED)),
             "clear COUPLER_SATURATED"),
        _regs(Reg.FLAGS, 3),
        Send(frame(Op.COUPLER_WRITE, bytes(7)), "COUPLER_WRITE of 7 bytes"),
        Send(frame(Op.COUPLER_WRITE), "COUPLER_WRITE of nothing"),
        Send(frame(Op.COUPLER_RUN, b"\x01\x00"), "COUPLER_RUN too short"),
        Send(frame(Op.COUPLER_STOP), "COUPLER_STOP while stopped"),
        Send(frame(Op.COUPLER_STOP, b"\x00"), "COUPLER_STOP with a payload"),
    ]
    return script


def moments_script(config: SocConfig, seed: int, steps: int = 23) -> list:
    """Block moments on chip (COUPLER_MOMENTS): an overdamped program whose x saturates,
    in blocks of 5 (the last one short) and of 1; a sample stream between moments runs;
    an underdamped program (quartic where the coupler has it, THIN = 2) whose p saturates,
    in one block of 65535 and in blocks of 3 stopped part way, with frames (a corrupted
    one among them) dropped while it runs; refused lengths and a block of 0."""
    rng = np.random.default_rng([seed, 10])
    cells = config.cells
    first = random_program(rng, cells, "overdamped", False, saturate=True)
    second = random_program(rng, cells, "underdamped", config.quartic, saturate=True, thin=2)
    bad = bytearray(frame(Op.READ_REGS, pack_read_regs(0, 2)))
    bad[5] ^= 0x10
    during = [frame(Op.IDENTIFY), bytes(bad), b"\x00\x11",
              frame(Op.COUPLER_MOMENTS, pack_moments_run(5, 1))]
    return configure(first.writes()) + [
        Run(steps, block=5, note="overdamped, saturating, blocks of 5"),
        Run(4, block=1, note="blocks of 1"),
        Run(3, note="samples between moments runs"),
        _regs(Reg.FLAGS, 3),
        *configure(second.writes()),
        Run(steps, block=0xFFFF, note="underdamped, thin 2, one block"),
        Run(1_000_000, block=3, after=2, during=during, stop=True,
            note="blocks of 3, stopped"),
        _regs(Reg.BAD_CRC_COUNT, 5),
        Send(frame(Op.NOISE, pack_noise(2)), "NOISE after a moments run (the read port's)"),
        Run(0, block=2, note="no steps"),
        Send(frame(Op.COUPLER_MOMENTS, pack_run(5)), "COUPLER_MOMENTS without a block"),
        Send(frame(Op.COUPLER_MOMENTS, pack_run(5) + bytes(2)), "COUPLER_MOMENTS block 0"),
    ]


def stream_script(config: SocConfig, seed: int) -> list:
    """The compact sample stream (COUPLER_STREAM): an overdamped program whose x
    saturates, in a run of exactly one frame and a run whose last frame is padded; the
    flags read after it; an underdamped program (THIN = 2) stopped part way, with frames
    (a corrupted one among them) dropped while it streams; a sample run after it; no
    steps; a refused length."""
    rng = np.random.default_rng([seed, 11])
    cells, k = config.cells, stream_samples_per_frame(config.cells)
    first = random_program(rng, cells, "overdamped", False, saturate=True)
    second = random_program(rng, cells, "underdamped", config.quartic, thin=2)
    bad = bytearray(frame(Op.IDENTIFY))
    bad[-1] ^= 0x04
    during = [frame(Op.READ_REGS, pack_read_regs(0, 1)), bytes(bad), b"\x00\xa5\x07",
              frame(Op.COUPLER_STREAM, pack_run(3))]
    return configure(first.writes()) + [
        Run(k, compact=True, note="overdamped, saturating, one full frame"),
        Run(k + 5, compact=True, note="a padded last frame"),
        _regs(Reg.FLAGS, 3),
        *configure(second.writes()),
        Run(1_000_000, compact=True, after=1, during=during, stop=True,
            note="underdamped, thin 2, stopped"),
        _regs(Reg.BAD_CRC_COUNT, 5),
        Run(2, note="SAMPLE frames after a compact stream"),
        Run(0, compact=True, note="no steps"),
        Send(frame(Op.COUPLER_STREAM, pack_run(5) + b"\x00"), "COUPLER_STREAM too long"),
    ]


def noise_script(config: SocConfig, seed: int) -> list:
    """Raw noise after a program (and its seed) is loaded, a run that continues the
    noise streams, noise again; the step register; refused beat counts."""
    cells = config.cells
    program = random_program(np.random.default_rng([seed, 9]), cells, "overdamped", False)
    beats = (0xFFFF - 1) // (2 * cells)
    return configure(program.writes()) + [
        Send(frame(Op.NOISE, pack_noise(3)), "NOISE 3 beats"),
        Send(frame(Op.NOISE, pack_noise(1)), "NOISE 1 beat"),
        _regs(Reg.COUPLER_STEP, 1),
        Run(2, note="a run after noise"),
        Send(frame(Op.NOISE, pack_noise(2)), "NOISE 2 beats after the run"),
        Send(frame(Op.NOISE, struct.pack("<H", beats + 1)), "NOISE answer past 65535 bytes"),
        Send(frame(Op.NOISE, struct.pack("<H", 0)), "NOISE 0 beats"),
        Send(frame(Op.NOISE, b"\x01"), "NOISE too short"),
        _regs(Reg.COUPLER_STEP, 1),
    ]


def error_script() -> list:
    """Each kind of bad input, then a good frame that must succeed."""
    good = Send(frame(Op.READ_REGS, pack_read_regs(Reg.BAD_CRC_COUNT, 4)), "good READ_REGS",
                recovers=True)
    bad_crc = bytearray(frame(Op.READ_REGS, pack_read_regs(0, 2)))
    bad_crc[5] ^= 0x01
    truncated = frame(Op.READ_REGS, pack_read_regs(0, 2))[:5]
    overlong = bytes([SYNC, Op.LOAD_WEIGHTS]) + struct.pack("<H", MAX_PAYLOAD + 1)
    return [
        Send(bytes(bad_crc), "a flipped payload bit"), good,
        Send(frame(0x7E, b"abc"), "an unknown opcode"), good,
        Send(frame(Op.SAMPLE), "a device-only opcode"), good,
        Send(frame(Op.WRITE_REG, b"\x11\x00"), "a wrong length"), good,
        Send(bytes(range(1, 40)), "garbage"), good,
        Send(truncated, "a truncated frame"), Pause(), good,
        Send(overlong + bytes(10), "a length past MAX_PAYLOAD, then its bytes"), good,
        Send(bytes([SYNC]), "a lone SYNC"), Pause(), good,
        Send(bytes([SYNC, SYNC, SYNC]) + frame(Op.IDENTIFY)[1:],
             "SYNC bytes read as a header, then a frame without its SYNC"), Pause(), good,
    ]


def stop_script(config: SocConfig, seed: int) -> list:
    """A long run stopped with COUPLER_STOP after a few samples, with frames sent during
    it (dropped and counted), then a normal run that continues where it stopped."""
    rng = np.random.default_rng([seed, 7])
    program = random_program(rng, config.cells, "underdamped", False)
    bad = bytearray(frame(Op.IDENTIFY))
    bad[-2] ^= 0x80
    during = [frame(Op.READ_REGS, pack_read_regs(0, 1)), bytes(bad), b"\x00\x01\x02",
              frame(Op.COUPLER_STOP, b"\x00")]
    return configure(program.writes()) + [
        Run(1_000_000, after=2, during=during, stop=True, note="stopped run"),
        _regs(Reg.BAD_CRC_COUNT, 5),
        Run(4, note="after the stop"),
    ]


_CHEAP_COMMANDS = (
    lambda rng, config: frame(Op.IDENTIFY),
    lambda rng, config: frame(Op.READ_REGS, pack_read_regs(int(rng.integers(0, 20)), 3)),
    lambda rng, config: frame(Op.MATVEC, pack_matvec(
        rng.integers(-128, 128, size=int(rng.integers(1, config.array.capacity + 1))))),
    lambda rng, config: frame(Op.NOISE, pack_noise(int(rng.integers(1, 4)))),
    lambda rng, config: frame(Op.WRITE_REG, pack_write_reg(Reg.DROPPED_COUNT, 0)),
    lambda rng, config: (frame(Op.COUPLER_MOMENTS, pack_moments_run(
        int(rng.integers(1, 9)), int(rng.integers(1, 4)))) if config.moments
        else frame(Op.IDENTIFY)),
    lambda rng, config: (frame(Op.COUPLER_STREAM, pack_run(int(rng.integers(1, 9))))
                         if config.stream else frame(Op.IDENTIFY)),
)


def corruption_script(config: SocConfig, seed: int, count: int = 12) -> list:
    """`count` rounds of a corrupted command (1-3 random bit flips, a random truncation,
    or random garbage before it, SYNC bytes included), a pause, then the same command
    intact, which must succeed; the counters at the end. Random weights are loaded first
    (a MATVEC is among the commands)."""
    rng = np.random.default_rng([seed, 8])
    shape = config.array
    weights = rng.integers(-1, 2, size=(shape.lanes, shape.capacity))
    script = load_weights(array_weight_image(shape, weights).tobytes())
    if config.moments or config.stream:
        # Moments runs and compact streams are among the commands: the coupler's state memories keep what an
        # earlier test left (a reset does not clear them), so load a program first.
        script += configure(random_program(rng, config.cells, "overdamped", False).writes())
    for number in range(count):
        command = _CHEAP_COMMANDS[int(rng.integers(len(_CHEAP_COMMANDS)))](rng, config)
        kind = ("flips", "truncation", "garbage")[number % 3]
        if kind == "flips":
            damaged = bytearray(command)
            flips = int(rng.integers(1, 4))
            for bit in rng.choice(8 * len(command), size=flips, replace=False):
                damaged[bit // 8] ^= 1 << (bit % 8)
            note = f"{flips} bit flips"
        elif kind == "truncation":
            damaged = command[:int(rng.integers(1, len(command)))]
            note = f"truncated to {len(damaged)} of {len(command)} bytes"
        else:
            garbage = rng.integers(0, 256, size=int(rng.integers(1, 30)), dtype=np.uint8)
            garbage[rng.random(len(garbage)) < 0.1] = SYNC
            damaged = garbage.tobytes() + command
            note = f"{len(garbage)} garbage bytes before it"
        script += [Send(bytes(damaged), f"round {number}: {note}"), Pause(),
                   Send(command, f"round {number}: intact", recovers=True)]
    return script + [_regs(Reg.BAD_CRC_COUNT, 4)]


# --- the driver ------------------------------------------------------------------------------

class SocLink(Protocol):
    """A byte pipe to a simulated SoC, counted in its clock cycles."""

    #: Clock cycles a byte takes on the link (1 at byte level, 10 * divisor over the UART).
    byte_cycles: int

    async def send(self, data: bytes) -> None:
        """Send `data`; return once the device has taken every byte."""

    async def receive(self, count: int, max_cycles: int) -> bytes:
        """The next `count` bytes from the device (fewer if `max_cycles` pass first)."""

    async def idle(self, cycles: int) -> None:
        """Let `cycles` clock cycles pass."""


def describe(data: bytes) -> str:
    """Frames in `data`, readably: opcode, status and payload length (or raw bytes)."""
    parser = FrameParser()
    frames = parser.feed(bytes(data))
    parts = [f"0x{f.op:02x}[{len(f.payload)}]" + (f" status {f.payload[0]}" if f.payload
                                                  else "") for f in frames]
    if parser.garbage or parser.pending:
        parts.append(f"+{parser.garbage + parser.pending} other bytes")
    return ", ".join(parts) or "nothing"


def _check(got: bytes, want: bytes, note: str) -> None:
    if got != want:
        where = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                     min(len(got), len(want)))
        near = slice(max(0, where - 8), where + 8)
        raise AssertionError(f"{note}: expected {describe(want)}, got {describe(got)} "
                             f"(first difference at byte {where} of {len(want)}: "
                             f"{want[near].hex()} expected there, {got[near].hex()} got)")


#: Clock cycles allowed for a command to start answering (the longest, a matvec or a
#: COUPLER_WRITE of 85 entries, takes a few hundred).
_SLACK = 4000


async def _frame(link: SocLink, max_cycles: int, note: str) -> bytes:
    head = await link.receive(HEADER_BYTES, max_cycles)
    if len(head) < HEADER_BYTES or head[0] != SYNC:
        raise AssertionError(f"{note}: expected a frame, got {head.hex() or 'nothing'}")
    rest = int.from_bytes(head[2:4], "little") + CRC_BYTES
    return head + await link.receive(rest, rest * link.byte_cycles + _SLACK)


async def _run(link: SocLink, model: SocModel, run: Run, step_cycles: int) -> int:
    op = (Op.COUPLER_MOMENTS if run.block is not None
          else Op.COUPLER_STREAM if run.compact else Op.COUPLER_RUN)
    note = f"{op.name} {run.steps}" + (f" ({run.note})" if run.note else "")
    command = frame(op, pack_run(run.steps) if run.block is None
                    else pack_moments_run(run.steps, run.block))
    await link.send(command)
    ok = _answer(op, Status.OK)
    _check(await link.receive(len(ok), len(ok) * link.byte_cycles + _SLACK), ok, note)
    model.in_run, model.stop_requested = True, False
    start = model.coupler.step
    received = []
    per_frame = (run.block if run.block is not None
                 else stream_samples_per_frame(model.config.cells) if run.compact else 1)
    wait = (step_cycles * max(1, model.coupler.thin) * per_frame
            + (64 + 8 * model.config.cells ** 2) * link.byte_cycles + _SLACK)
    while True:
        if run.after == len(received) and (run.during or run.stop):
            for data in run.during:
                model.exchange(data)
                await link.send(data)
            if run.stop:
                model.exchange(frame(Op.COUPLER_STOP))
                await link.send(frame(Op.COUPLER_STOP))
        got = await _frame(link, wait, note)
        if got[1] == Op.RUN_DONE:
            break
        received.append(got)
        if len(received) > run.steps:
            raise AssertionError(f"{note}: more samples than steps")
    model.in_run = False
    done_step = struct.unpack_from("<I", got, HEADER_BYTES + 1)[0]
    steps = (done_step - start) & 0xFFFFFFFF
    if run.stop:
        if not model.stop_requested or steps >= run.steps:
            raise AssertionError(f"{note}: the run did not stop ({steps} steps)")
    elif steps != run.steps:
        raise AssertionError(f"{note}: ran {steps} steps")
    samples, done = model.run_frames(steps, run.block, run.compact)
    for number, (g, w) in enumerate(zip(received, samples)):
        _check(g, w, f"{note}, sample {number}")
    _check(got, done, f"{note}, RUN_DONE after {len(received)} samples")
    if len(received) != len(samples):
        raise AssertionError(f"{note}: {len(received)} samples, expected {len(samples)}")
    return len(ok) + sum(len(f) for f in received) + len(got)


async def play(link: SocLink, model: SocModel, script: list, timeout_cycles: int,
               step_cycles: int = 400) -> int:
    """Run `script` through `link`, checking every answer against `model`. Returns the
    number of bytes the device sent. `timeout_cycles` is the SoC's frame timeout;
    `step_cycles` a bound on one coupler step."""
    total = 0
    for step in script:
        if isinstance(step, Run):
            total += await _run(link, model, step, step_cycles)
            continue
        if isinstance(step, Pause):
            await link.idle(timeout_cycles + 64)
            pieces = [(b"", model.time_out())]
        else:
            pieces = model.exchange(step.data)
        for data, answers in pieces:
            if data:
                await link.send(data)
            want = b"".join(answers)
            # Each frame may wait for the device (a run's frames for its steps).
            got = await link.receive(len(want), len(want) * link.byte_cycles
                                     + _SLACK * max(1, len(answers)))
            _check(got, want, step.note)
            total += len(got)
        if isinstance(step, Send) and step.recovers:
            answers = FrameParser().feed(got)
            if not answers or answers[0].op != response(step.data[1]) or answers[0].status:
                raise AssertionError(f"{step.note}: the command was not answered OK "
                                     f"({describe(got)})")
    extra = await link.receive(1, 20 * link.byte_cycles + 100)
    if extra:
        raise AssertionError(f"the device sent more than expected: {extra.hex()}")
    return total


class AmaranthLink:
    """`SocLink` over an Amaranth testbench driving `SocCore`'s byte streams: at most one
    byte a cycle each way; with `stall`, the host is not ready for a byte that often
    (random, from `seed`). While idle it takes nothing, so the device waits to send."""

    byte_cycles = 1

    def __init__(self, ctx, core, stall: float = 0.0, seed: int = 0):
        import random
        self._ctx, self._core = ctx, core
        self._rng = random.Random(seed)
        self._stall = stall
        self._received = bytearray()
        self.cycles = 0                                 # clock cycles so far

    async def _cycle(self, byte: int | None = None) -> bool:
        ctx, core = self._ctx, self._core
        ctx.set(core.rx.valid, byte is not None)
        if byte is not None:
            ctx.set(core.rx.payload, byte)
        ready = self._stall == 0 or self._rng.random() >= self._stall
        ctx.set(core.tx.ready, ready)
        taken = byte is not None and ctx.get(core.rx.ready)
        if ready and ctx.get(core.tx.valid):
            self._received.append(ctx.get(core.tx.payload))
        await ctx.tick()
        self.cycles += 1
        return bool(taken)

    async def send(self, data: bytes, max_cycles: int = 100_000) -> None:
        for byte in data:
            for _ in range(max_cycles):
                if await self._cycle(byte):
                    break
            else:
                raise TimeoutError(f"the SoC took no byte for {max_cycles} cycles")
        self._ctx.set(self._core.rx.valid, 0)

    async def receive(self, count: int, max_cycles: int) -> bytes:
        for _ in range(max_cycles):
            if len(self._received) >= count:
                break
            await self._cycle()
        out = bytes(self._received[:count])
        del self._received[:count]
        return out

    async def idle(self, cycles: int) -> None:
        self._ctx.set(self._core.rx.valid, 0)
        self._ctx.set(self._core.tx.ready, 0)
        await self._ctx.tick().repeat(cycles)
        self.cycles += cycles


def run_amaranth(config: SocConfig, script: list, stall: float = 0.0, seed: int = 0,
                 core=None) -> dict:
    """Play `script` on `SocCore(config)` (or `core`) in the Amaranth simulator.

    Returns {"bytes": how many bytes the device sent, "cycles": clock cycles the script
    took (a byte a cycle each way), "busy" and "leds": those outputs at the end}; raises
    AssertionError at the first wrong answer."""
    from amaranth.sim import Simulator

    from tritherm.firmware.soc import SocCore, frame_timeout_cycles

    core = SocCore(config) if core is None else core
    sim = Simulator(core)
    period = 1 / config.clock_hz
    sim.add_clock(period)
    result = {}

    async def bench(ctx):
        link = AmaranthLink(ctx, core, stall, seed)
        result["bytes"] = await play(link, SocModel(config), script,
                                     frame_timeout_cycles(config))
        result["cycles"] = link.cycles
        await ctx.tick().repeat(4)
        result["busy"] = ctx.get(core.busy)
        result["leds"] = ctx.get(core.leds)

    sim.add_testbench(bench)
    sim.run()
    return result
