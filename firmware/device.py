"""The host driver: `Device` speaks the SoC's protocol over a transport.

Every command waits for its response and checks its status; a refusal becomes a
`DeviceError` of one sentence. A response that does not come within the timeout, or an
ERROR frame (the device could not read the command: a transmission error), is retried once
after resynchronising: the host waits out the device's frame timeout, drops whatever is
half received, and stops a coupler run that may still be streaming. Coupler samples carry
sequence numbers, and a gap is reported with the number that is missing.

The same code drives a board over `SerialTransport` and the simulated SoC over
`SimTransport`; `open_device` picks one from a port name (``"sim"`` for the simulation).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from tritherm.formats import (COUPLER_FORMAT, COUPLER_INDEX_BITS, COUPLER_REG_QUARTIC,
                              COUPLER_REG_THIN, COUPLER_REGION_K4, COUPLER_REGION_SCALAR,
                              MOMENTS_MAX_BLOCK, SHAPER_SAMPLES, TernaryArrayShape,
                              coupler_address, coupler_cycles_per_step)
from tritherm.sim.golden import (BlockMoments, CouplerProgram, CouplerSamples,
                                 array_weight_image, check_int8, check_ternary, pair_index)

from .config import SIM_SOC_CONFIG, SocConfig
from .protocol import (COUNTER_REGISTERS, IDENTITY_WORDS, MAGIC, MAX_PAYLOAD,
                       PROTOCOL_VERSION, RESPONSE_BIT, REGISTER_COUNT, Feature, Flag, Frame,
                       FrameParser, Op, ProtocolError, Reg, Status, encode_frame,
                       max_coupler_writes, max_weight_bytes, pack_coupler_writes,
                       pack_load_weights, pack_matvec, pack_noise, pack_read_regs, pack_run,
                       pack_write_reg, response, unpack_matvec, unpack_noise, unpack_run_done,
                       unpack_sample, moments_payload_bytes, pack_moments_run, unpack_moments,
                       sample_payload_bytes, stream_payload_bytes, stream_samples_per_frame,
                       unpack_samples)
from .transport import DeviceError, SerialTransport, SimTransport, Transport, TransportError

__all__ = ["Device", "DeviceError", "TransportError", "Identity", "FlagReport", "CouplerRun",
           "open_device", "padded_program", "STATUS_TEXT"]


#: What each non-OK status means, as the end of a sentence.
STATUS_TEXT = {
    Status.BAD_CRC: "the frame arrived with a bad CRC (a transmission error)",
    Status.BAD_LENGTH: "the payload length is wrong for the command",
    Status.UNKNOWN_OPCODE: "it does not know the command",
    Status.BAD_ARGUMENT: "an argument is out of range (K beyond the array, weights past "
                         "the memory, or no such register)",
    Status.BUSY: "it is busy",
    Status.TIMEOUT: "the frame stopped arriving part way",
    Status.READ_ONLY: "the register is read-only",
}

_DEVICE_ONLY = (Op.SAMPLE, Op.RUN_DONE, Op.MOMENTS, Op.SAMPLES, Op.ERROR)
_RUN_FRAMES = (Op.SAMPLE, Op.MOMENTS, Op.SAMPLES)
_SHAPERS = tuple(SHAPER_SAMPLES)             # register order: 0 clt, 1 icdf
_HOST_FORMAT = (COUPLER_FORMAT.state.width, COUPLER_FORMAT.state.frac,
                COUPLER_FORMAT.coef.frac, COUPLER_FORMAT.mult.frac)


def _kind(op: int) -> int:
    """A device-only opcode (with or without the response bit), else the opcode as sent."""
    base = op & ~RESPONSE_BIT
    return base if base in _DEVICE_ONLY else op


def _status_text(status) -> str:
    if isinstance(status, str):
        return status
    if isinstance(status, Status):
        return STATUS_TEXT.get(status, status.name)
    return f"an unknown status {status}"


def _op_name(op: int) -> str:
    try:
        return Op(op).name
    except ValueError:
        return f"opcode 0x{op:02x}"


def _has_quartic_term(writes) -> bool:
    """Whether configuration `writes` turn the quartic term on or set a k4 != 0."""
    quartic = coupler_address(COUPLER_REGION_SCALAR, COUPLER_REG_QUARTIC)
    k4_first = coupler_address(COUPLER_REGION_K4, 0)
    k4_end = k4_first + (1 << COUPLER_INDEX_BITS)
    return any((address == quartic and data & 1)
               or (k4_first <= address < k4_end and data & 0xFFFF)
               for address, data in writes)


# --- what the device says about itself ----------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """The identity registers, decoded (`Device.identify`).

    ``array`` is the ternary array's geometry (its ``capacity`` is the longest K),
    ``coupler_format`` the (state width, state fraction, coef fraction, mult fraction) bits
    of the coupler's numbers.
    """

    version: int
    clock_hz: int
    baud: int
    array: TernaryArrayShape
    acc_width: int
    cells: int
    multipliers: int
    shaper: str
    coupler_format: tuple[int, int, int, int]
    max_payload: int
    quartic: bool = True
    moments: bool = False
    stream: bool = False

    @classmethod
    def decode(cls, words, where: str = "the device") -> Identity:
        """Decode registers 0 .. IDENTITY_WORDS-1; DeviceError if it is not a tritherm SoC
        this host can drive."""
        words = list(words)
        if words[Reg.MAGIC] != MAGIC:
            raise DeviceError(f"{where} answered, but its magic word is "
                              f"0x{words[Reg.MAGIC]:08x} instead of 0x{MAGIC:08x} ('TRTH'), "
                              f"so it is not running the tritherm SoC")
        if words[Reg.VERSION] != PROTOCOL_VERSION:
            raise DeviceError(f"{where} speaks protocol version {words[Reg.VERSION]}, but "
                              f"this host speaks version {PROTOCOL_VERSION}; rebuild the "
                              f"bitstream or update tritherm")
        fmt = tuple((words[Reg.COUPLER_FORMAT] >> (8 * i)) & 0xFF for i in range(4))
        if fmt != _HOST_FORMAT:
            raise DeviceError(f"{where}'s coupler formats {fmt} (state width and fraction, "
                              f"coef fraction, mult fraction) differ from this host's "
                              f"{_HOST_FORMAT}")
        shaper = words[Reg.COUPLER_SHAPER]
        try:
            array = TernaryArrayShape(words[Reg.ARRAY_LANES], words[Reg.ARRAY_INPUTS],
                                      words[Reg.ARRAY_CAPACITY])
            if shaper >= len(_SHAPERS):
                raise ValueError(f"shaper number {shaper}")
        except ValueError as error:
            raise DeviceError(f"{where} reports an impossible configuration ({error})") \
                from None
        return cls(version=words[Reg.VERSION], clock_hz=words[Reg.CLOCK_HZ],
                   baud=words[Reg.BAUD], array=array, acc_width=words[Reg.ARRAY_ACC_WIDTH],
                   cells=words[Reg.COUPLER_CELLS], multipliers=words[Reg.COUPLER_MULTIPLIERS],
                   shaper=_SHAPERS[shaper], coupler_format=fmt,
                   max_payload=words[Reg.MAX_PAYLOAD],
                   quartic=bool(words[Reg.COUPLER_FEATURES] & Feature.QUARTIC),
                   moments=bool(words[Reg.COUPLER_FEATURES] & Feature.MOMENTS),
                   stream=bool(words[Reg.COUPLER_FEATURES] & Feature.STREAM))

    def soc_config(self) -> SocConfig:
        """The `SocConfig` this identity describes."""
        return SocConfig(array=self.array, cells=self.cells, multipliers=self.multipliers,
                         shaper=self.shaper, quartic=self.quartic, clock_hz=float(self.clock_hz), baud=self.baud,
                         moments=self.moments, stream=self.stream)

    def differences(self, config: SocConfig) -> list[str]:
        """How the device differs from `config` ("4 lanes, not 8", ...); empty if alike."""
        mine = {"lanes": self.array.lanes, "inputs per cycle": self.array.inputs,
                "longest K": self.array.capacity, "cells": self.cells,
                "multipliers": self.multipliers, "shaper": self.shaper,
                "quartic pre-pass": self.quartic, "moments": self.moments,
                "compact stream": self.stream, "clock (Hz)": self.clock_hz, "baud": self.baud}
        theirs = {"lanes": config.array.lanes, "inputs per cycle": config.array.inputs,
                  "longest K": config.array.capacity, "cells": config.cells,
                  "multipliers": config.multipliers, "shaper": config.shaper,
                  "quartic pre-pass": config.quartic, "moments": config.moments,
                  "compact stream": config.stream, "clock (Hz)": round(config.clock_hz), "baud": config.baud}
        return [f"{mine[k]} {k}, not {theirs[k]}" for k in mine if mine[k] != theirs[k]]

    def rows(self) -> list[tuple[str, str]]:
        """(name, value) pairs for a printed table."""
        a = self.array
        return [("protocol version", str(self.version)),
                ("design clock", f"{self.clock_hz / 1e6:g} MHz"),
                ("baud", str(self.baud)),
                ("ternary array", f"{a.lanes} lanes x {a.inputs} inputs per cycle, "
                                  f"K up to {a.capacity}, {a.acc_width}-bit accumulators"),
                ("coupler", f"{self.cells} cells, {self.multipliers} multipliers, "
                            f"{self.shaper} noise shaper"
                            + ("" if self.quartic else ", no quartic pre-pass")
                            + (", moments on chip" if self.moments else "")
                            + (", compact sample stream" if self.stream else "")),
                ("coupler formats", "state {}.{}, coef .{}, mult .{}".format(
                    *self.coupler_format)),
                ("largest command payload", f"{self.max_payload} bytes")]


@dataclass(frozen=True)
class FlagReport:
    """Sticky flags, per-cell saturation and counters (`Device.flags`)."""

    flags: tuple[str, ...]          # names of the `Flag` bits that are set
    saturated: tuple[int, ...]      # cells whose saturation flag is set
    counters: dict                  # bad_crc, bad_frame, garbage, dropped
    running: bool                   # a coupler run is in progress
    step: int                       # the coupler's step counter
    raw: int                        # the FLAGS register

    def rows(self) -> list[tuple[str, str]]:
        """(name, value) pairs for a printed table."""
        return ([("flags", ", ".join(self.flags) or "none"),
                 ("saturated cells", ", ".join(map(str, self.saturated)) or "none"),
                 ("coupler", f"{'running' if self.running else 'idle'}, step {self.step}")]
                + [(f"{name.replace('_', ' ')} count", str(value))
                   for name, value in self.counters.items()])


def padded_program(program: CouplerProgram, cells: int) -> CouplerProgram:
    """`program` on a coupler with more cells: the extra cells get no coupling, zero bias
    and state, and the largest diagonal entry of A as their own stiffness (so they are
    stable and stay in range under the same step and noise). The first cells then evolve
    bit for bit as they would alone, since cell i always draws noise stream i."""
    d = program.cells
    if cells == d:
        return program
    if cells < d:
        raise ValueError(f"the program has {d} cells but the coupler has only {cells}")
    A = np.zeros((cells, cells), dtype=np.int64)
    A[:d, :d] = program.A
    diag = int(np.max(np.diag(program.A))) if d else 0
    A[range(d, cells), range(d, cells)] = diag if diag > 0 else program.fmt.coef.one

    def pad(v):
        out = np.zeros(cells, dtype=np.int64)
        out[:d] = v
        return out

    return program.with_(A=A, b=pad(program.b), x0=pad(program.x0), p0=pad(program.p0),
                         k4=pad(program.k4))


# --- coupler runs ------------------------------------------------------------------------

class CouplerRun:
    """A COUPLER_RUN in progress (`Device.start_run`). Iterate over it for its samples
    (`SampleFrame`, with every cell of the device) in order, or with `block` (a
    COUPLER_MOMENTS run) for its blocks of moments (`MomentsFrame`), or with `compact` (a
    COUPLER_STREAM run) for its SAMPLES frames (`SamplesFrame`: `per_frame` samples each,
    the last frame's padding included; RUN_DONE says how many are real); the iteration ends at
    the run's RUN_DONE, whose (step, samples sent) is then in `done`. `stop` asks the
    device to end the run early. A gap in the sequence numbers, a block short of `block`
    samples before the last, a missing sample or a count that disagrees with RUN_DONE
    raises DeviceError (after stopping the run)."""

    def __init__(self, device: Device, steps: int, thin: int | None, block: int | None = None,
                 compact: bool = False):
        self.device = device
        self.compact = compact
        self.per_frame = stream_samples_per_frame(device.identity.cells) if compact else 1
        self.steps = steps
        self.thin = thin
        self.block = block
        self.short_block = False
        self.received = 0
        self.last_seq: int | None = None
        self.done: tuple[int, int] | None = None
        self.stopped = False
        self.failed = False

    def stop(self) -> None:
        """Ask the device to end the run; the samples already on their way still arrive."""
        if not self.stopped and self.done is None:
            self.stopped = True
            self.device.transport.write(encode_frame(Op.COUPLER_STOP))

    def wait(self) -> tuple[int, int]:
        """Consume (and drop) the rest of the run; return RUN_DONE's (step, samples)."""
        for _ in self:
            pass
        return self.done

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.done is None and not self.failed:
            self.stop()
            try:
                self.wait()
            except DeviceError:
                if exc[0] is None:
                    raise

    def _fail(self, message: str):
        self.failed = True
        self.device._run = None
        if not self.stopped:
            self.stopped = True
            self.device._stop_streaming()
        raise DeviceError(message)

    def _check_seq(self, seq: int, count: int = 1) -> None:
        """`seq` must follow the last one by `count` samples of THIN steps."""
        last, thin = self.last_seq, self.thin
        self.last_seq = seq
        if last is None:
            return
        step = (seq - last) & 0xFFFFFFFF
        if thin is None:
            self.thin = thin = max(1, step // count)
        if step != thin * count:
            missing = (last + thin * count) & 0xFFFFFFFF
            self._fail(f"sample with seq {missing} was lost: after seq {last} the device's "
                       f"next sample has seq {seq} (one sample every {thin} steps)")

    def __iter__(self):
        device = self.device
        ident = device.identity
        cells = ident.cells
        wait = device.timeout
        if self.block is not None or self.compact:
            # A block (a SAMPLES frame) takes block (per_frame) * THIN steps of device time.
            cycles = coupler_cycles_per_step(cells, ident.multipliers, ident.quartic)
            wait += 4 * (self.block or self.per_frame) * (self.thin or 1) * cycles / ident.clock_hz
        while self.done is None:
            frame = device._next_frame(time.monotonic() + wait)
            if frame is None:
                after = f"after seq {self.last_seq}" if self.received else "before the first"
                self._fail(f"no sample from {device.transport.description} within "
                           f"{device.timeout:g} s ({after}, {self.received} received)")
            kind = _kind(frame.op)
            if kind == Op.SAMPLE:
                try:
                    sample = unpack_sample(frame.data, cells)
                except ProtocolError as error:
                    self._fail(f"a malformed sample arrived ({error})")
                self._check_seq(sample.seq)
                self.received += 1
                yield sample
            elif kind == Op.MOMENTS and self.block is not None:
                try:
                    moments = unpack_moments(frame.data, cells)
                except ProtocolError as error:
                    self._fail(f"a malformed block of moments arrived ({error})")
                if self.short_block or not 1 <= moments.samples <= self.block:
                    self._fail(f"a block of moments was lost: after {self.received} samples "
                               f"a block of {moments.samples} arrived (blocks of "
                               f"{self.block})")
                self.short_block = moments.samples < self.block
                self.received += moments.samples
                yield moments
            elif kind == Op.SAMPLES and self.compact:
                try:
                    samples = unpack_samples(frame.data, cells)
                except ProtocolError as error:
                    self._fail(f"a malformed SAMPLES frame arrived ({error})")
                self._check_seq(samples.seq, self.per_frame)
                self.received += self.per_frame
                yield samples
            elif kind == Op.RUN_DONE:
                device._run = None
                if frame.status != Status.OK:
                    raise DeviceError(f"the coupler run ended with an error: "
                                      f"{_status_text(frame.status)}")
                self.done = unpack_run_done(frame.data)
                if self.compact and 0 <= self.received - self.done[1] < self.per_frame:
                    self.received = self.done[1]        # the last frame's padding
                if self.done[1] != self.received:
                    lost = self.done[1] - self.received
                    raise DeviceError(f"the device sent {self.done[1]} samples but "
                                      f"{self.received} arrived ({lost} lost after seq "
                                      f"{self.last_seq})")
            else:
                device.stray += 1           # an answer to COUPLER_STOP, or a stale frame


# --- the device ----------------------------------------------------------------------------

class Device:
    """A tritherm SoC behind `transport` (a `SerialTransport` or `SimTransport`).

    Parameters
    ----------
    transport : Transport
    timeout : float, optional
        Seconds to wait for a response, or for the next sample of a run (default: the
        transport's `default_timeout`).

    Attributes
    ----------
    retries : int
        Commands that needed their one retry.
    stray : int
        Frames that arrived unasked (stale samples, answers nobody waited for).
    """

    def __init__(self, transport: Transport, timeout: float | None = None):
        self.transport = transport
        self.timeout = float(timeout if timeout is not None else transport.default_timeout)
        self.retries = 0
        self.stray = 0
        self._max_length = MAX_PAYLOAD
        self._parser = FrameParser(self._max_length)
        self._frames: deque[Frame] = deque()
        self._identity: Identity | None = None
        self._active_cells: int | None = None
        self._thin: int | None = None
        self._run: CouplerRun | None = None
        self._run_seen = False

    def close(self) -> None:
        """Close the transport."""
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- frames --------------------------------------------------------------------------
    def _next_frame(self, deadline: float) -> Frame | None:
        while not self._frames:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            data = self.transport.read(left)
            if data:
                self._frames.extend(self._parser.feed(data))
        return self._frames.popleft()

    def _new_parser(self) -> None:
        self._parser = FrameParser(self._max_length)
        self._frames.clear()

    def _stop_streaming(self) -> None:
        """Stop a coupler run and drop its frames up to RUN_DONE (best effort)."""
        self.transport.write(encode_frame(Op.COUPLER_STOP))
        deadline = time.monotonic() + self.timeout
        while (frame := self._next_frame(deadline)) is not None:
            if _kind(frame.op) == Op.RUN_DONE:
                break
        self._run_seen = False

    def _resync(self) -> None:
        """Wait out the device's frame timeout, drop what is half received, and stop a
        coupler run that is still streaming."""
        self._new_parser()
        frames = self._parser.feed(self.transport.drain(self.transport.resync_seconds))
        if self._run_seen or any(_kind(f.op) in _RUN_FRAMES for f in frames):
            self._stop_streaming()
        self._new_parser()

    def _command(self, op: Op, payload: bytes = b"", also: tuple = ()) -> Frame | None:
        """Send a command and return its OK response. A frame whose kind is in `also`
        (evidence that the command took effect) is put back and None returned."""
        frame = encode_frame(op, payload)
        problem = ""
        for attempt in (0, 1):
            if attempt:
                self.retries += 1
                self._resync()
            self.transport.write(frame)
            deadline = time.monotonic() + self.timeout
            while True:
                got = self._next_frame(deadline)
                if got is None:
                    problem = f"no answer within {self.timeout:g} s"
                    break
                kind = _kind(got.op)
                if kind == response(op):
                    try:
                        status = got.status
                    except ProtocolError as error:
                        raise DeviceError(f"the device's answer to {op.name} is malformed "
                                          f"({error})") from None
                    if status != Status.OK:
                        raise DeviceError(f"the device refused {op.name}: "
                                          f"{_status_text(status)}")
                    return got
                if kind in also:
                    self._frames.appendleft(got)
                    return None
                if kind == Op.ERROR:
                    status = got.status if got.payload else "no status"
                    problem = f"it could not read the frame: {_status_text(status)}"
                    break
                if kind in _RUN_FRAMES:
                    self._run_seen = True
                elif kind == Op.RUN_DONE:
                    self._run_seen = False
                self.stray += 1
        hint = ""
        if self._run_seen:
            hint = "; it is streaming samples of a coupler run that would not stop"
        elif problem.startswith("no answer") and isinstance(self.transport, SerialTransport):
            hint = (f"; is the board running the tritherm SoC at {self.transport.baud} baud "
                    f"on this port?")
        raise DeviceError(f"{self.transport.description} did not answer {op.name} (tried "
                          f"twice; {problem}){hint}")

    # -- registers -------------------------------------------------------------------------
    @property
    def identity(self) -> Identity:
        """The decoded identity (read once, on first use)."""
        if self._identity is None:
            self.identify()
        return self._identity

    def identify(self) -> Identity:
        """Read and decode the identity registers (DeviceError if MAGIC or the protocol
        version is wrong)."""
        reply = self._command(Op.IDENTIFY)
        if len(reply.data) != 4 * IDENTITY_WORDS:
            raise DeviceError(f"the device's IDENTIFY answer holds {len(reply.data)} bytes, "
                              f"not {4 * IDENTITY_WORDS}; it is not running the tritherm SoC")
        words = np.frombuffer(reply.data, dtype="<u4").tolist()
        self._identity = Identity.decode(words, self.transport.description)
        self._max_length = max(MAX_PAYLOAD, 1 + 4 * self._identity.array.lanes,
                               sample_payload_bytes(self._identity.cells),
                               moments_payload_bytes(self._identity.cells)
                               if self._identity.moments else 0,
                               stream_payload_bytes(self._identity.cells)
                               if self._identity.stream else 0)
        self._parser.max_length = self._max_length
        return self._identity

    def read_regs(self, first: int, count: int = 1) -> list[int]:
        """Registers ``first .. first+count-1`` (u32 each)."""
        if not (0 <= first and 1 <= count and first + count <= REGISTER_COUNT):
            raise ValueError(f"registers {first}..{first + count - 1} are outside the "
                             f"register map 0..{REGISTER_COUNT - 1}")
        reply = self._command(Op.READ_REGS, pack_read_regs(first, count))
        if len(reply.data) != 4 * count:
            raise DeviceError(f"READ_REGS answered {len(reply.data)} bytes for {count} "
                              f"registers")
        return np.frombuffer(reply.data, dtype="<u4").tolist()

    def write_reg(self, register: int, value: int) -> None:
        """Write one register (FLAGS: ones clear; counters: any write zeroes)."""
        self._command(Op.WRITE_REG, pack_write_reg(register, value))

    def flags(self, clear: bool = False) -> FlagReport:
        """Sticky flags, saturated cells, counters; with `clear`, clear the flags that were
        read and zero the counters afterwards."""
        first = Reg.STATUS
        words = dict(zip(range(first, Reg.COUPLER_STEP + 1),
                         self.read_regs(first, Reg.COUPLER_STEP + 1 - first)))
        raw = words[Reg.FLAGS]
        saturation = words[Reg.SATURATED_LO] | words[Reg.SATURATED_HI] << 32
        counters = {reg.name[:-len("_COUNT")].lower(): words[reg] for reg in COUNTER_REGISTERS}
        report = FlagReport(flags=tuple(f.name for f in Flag if raw & f),
                            saturated=tuple(i for i in range(64) if saturation >> i & 1),
                            counters=counters, running=bool(words[Reg.STATUS] & 1),
                            step=words[Reg.COUPLER_STEP], raw=raw)
        if clear:
            if raw:
                self.write_reg(Reg.FLAGS, raw)
            for reg in COUNTER_REGISTERS:
                if words[reg]:
                    self.write_reg(reg, 0)
        return report

    # -- ternary array ---------------------------------------------------------------------
    def load_weights(self, weights, start: int = 0) -> int:
        """Write the weight memory: packed bytes (from byte address `start`), or a ternary
        matrix of up to lanes x capacity weights (packed as `array_weight_image`, only the
        rows its K needs). Returns the bytes written."""
        shape = self.identity.array
        if isinstance(weights, (bytes, bytearray, memoryview)):
            data = bytes(weights)
        else:
            w = check_ternary(weights)
            if w.ndim != 2:
                raise ValueError(f"weights must be a 2-D matrix, got shape {w.shape}")
            rows = -(-w.shape[1] // shape.inputs)
            data = array_weight_image(shape, w)[:rows].tobytes()
            start = 0
        size = shape.rows * shape.row_bytes
        if start < 0 or start + len(data) > size:
            raise ValueError(f"weight bytes {start}..{start + len(data) - 1} do not fit the "
                             f"device's {size}-byte weight memory")
        step = max_weight_bytes()
        for offset in range(0, len(data), step):
            self._command(Op.LOAD_WEIGHTS,
                          pack_load_weights(start + offset, data[offset:offset + step]))
        return len(data)

    def matvec(self, activations) -> np.ndarray:
        """The loaded weights times int8 activations (K, or B x K): int64 (lanes,) or
        (B, lanes)."""
        shape = self.identity.array
        x = check_int8(activations)
        rows = np.atleast_2d(x)
        if rows.ndim != 2 or not 1 <= rows.shape[1] <= shape.capacity:
            raise ValueError(f"activations must be K or B x K with 1 <= K <= "
                             f"{shape.capacity} (the device's array), got shape {x.shape}")
        out = np.array([unpack_matvec(self._command(Op.MATVEC, pack_matvec(row)).data,
                                      shape.lanes) for row in rows], dtype=np.int64)
        return out[0] if x.ndim == 1 else out

    def run_jobs(self, shape: TernaryArrayShape, jobs) -> list[np.ndarray]:
        """Run `tritherm.sim.verify.ternary_vectors.TernaryJob`s (B x lanes results each): the
        backend that `tritherm.sim.verify.ternary_driver.run_matrix` tiles a whole matrix onto."""
        mine = self.identity.array
        if (shape.lanes, shape.inputs, shape.capacity) != (mine.lanes, mine.inputs,
                                                           mine.capacity):
            raise ValueError(f"the jobs are tiled for {shape}, the device has {mine}")
        outputs = []
        for job in jobs:
            self.load_weights(job.weights)
            outputs.append(np.atleast_2d(self.matvec(job.activations)))
        return outputs

    def matmul(self, weights, activations):
        """``W @ x`` for any N x K ternary W, tiled over the array; returns the
        `tritherm.sim.verify.ternary_driver.MatrixRun` (result, golden result, mismatch)."""
        from tritherm.sim.verify.ternary_driver import run_matrix
        return run_matrix(weights, activations, self.identity.array, simulator=self.run_jobs)

    # -- coupler -------------------------------------------------------------------------
    def configure_coupler(self, program) -> int:
        """Load a `CouplerProgram` (padded to the device's cells, see `padded_program`) or
        raw (address, data) writes; returns the number of writes."""
        ident = self.identity
        if isinstance(program, CouplerProgram):
            if program.shaper != ident.shaper:
                raise ValueError(f"the program is made for the {program.shaper} noise "
                                 f"shaper, but the device's uses {ident.shaper}")
            writes = padded_program(program, ident.cells).writes()
            self._active_cells, self._thin = program.cells, max(1, program.thin)
        else:
            writes = [(int(a), int(d)) for a, d in program]
            self._active_cells = ident.cells
            thin_address = coupler_address(COUPLER_REGION_SCALAR, COUPLER_REG_THIN)
            for address, data in writes:
                if address == thin_address:
                    self._thin = max(1, data & 0xFFFF)
        if not ident.quartic and _has_quartic_term(writes):
            raise ValueError("the program has a quartic term (k4 != 0 or QUARTIC = 1), but "
                             "the device's coupler was built without the quartic pre-pass")
        step = max_coupler_writes()
        for offset in range(0, len(writes), step):
            self._command(Op.COUPLER_WRITE, pack_coupler_writes(writes[offset:offset + step]))
        return len(writes)

    def start_run(self, steps: int, block: int | None = None,
                  compact: bool = False) -> CouplerRun:
        """Start `steps` coupler steps; iterate over the returned `CouplerRun` for the
        samples, with `block`, for the moments of each block of that many samples
        (COUPLER_MOMENTS), or with `compact`, for SAMPLES frames of x only (COUPLER_STREAM);
        ValueError on a device without the mode asked for."""
        if self._run is not None and self._run.done is None:
            raise DeviceError("a coupler run is still in progress; stop it or read it to "
                              "the end first")
        if compact:
            if block is not None:
                raise ValueError("a run is either compact or in blocks of moments, not both")
            if not self.identity.stream:
                raise ValueError("the device's SoC was built without the compact sample "
                                 "stream; use the sample stream")
            op, payload = Op.COUPLER_STREAM, pack_run(steps)
        elif block is None:
            op, payload = Op.COUPLER_RUN, pack_run(steps)
        else:
            if isinstance(block, bool) or not isinstance(block, (int, np.integer)) \
                    or not 1 <= block <= MOMENTS_MAX_BLOCK:
                raise ValueError(f"block must be a whole number in [1, {MOMENTS_MAX_BLOCK}], "
                                 f"got {block!r}")
            if not self.identity.moments:
                raise ValueError("the device's SoC was built without moments on chip; "
                                 "use the sample stream")
            op, payload = Op.COUPLER_MOMENTS, pack_moments_run(steps, int(block))
        self.identity                           # the run needs the cell count
        run = CouplerRun(self, steps, self._thin, None if block is None else int(block),
                         compact)
        # A lost OK is proven by the run's frames: a retried command is then dropped.
        self._command(op, payload, also=(*_RUN_FRAMES, Op.RUN_DONE))
        self._run = run
        return run

    def moments(self, steps: int, block: int, progress=None) -> BlockMoments:
        """Run `steps` steps with the moments on chip, in blocks of `block` samples:
        the golden `block_moments` of the run's samples, bit for bit (the cells of the last
        program only; ``flags`` are the cells' sticky flags at the end)."""
        ident = self.identity
        cells = self._active_cells or ident.cells
        i, j = pair_index(ident.cells)
        keep = np.concatenate([np.arange(cells), ident.cells + np.flatnonzero(
            (i < cells) & (j < cells)), ident.cells + len(i) + np.arange(cells)])
        counts, sums, flags = [], [], 0
        with self.start_run(steps, block) as run:
            for frame in run:
                counts.append(frame.samples)
                sums.append(np.array(frame.sums, dtype=np.int64)[keep])
                flags = frame.flags
                if progress:
                    progress(min(steps, run.received * (run.thin or 1)), steps)
        if progress:
            progress(steps, steps)
        return BlockMoments(cells, np.array(counts, dtype=np.int64),
                            np.array(sums, dtype=np.int64).reshape(len(counts), len(keep)),
                            flags & ((1 << cells) - 1))

    def sample(self, steps: int, progress=None, compact: bool = False) -> CouplerSamples:
        """Run `steps` steps and return every sample, in the golden model's layout
        (`CouplerSamples`, the cells of the last program only). `progress(done, total)`
        (steps) is called now and then. With `compact` (a SoC with the compact stream),
        x only: ``p`` is empty (k x 0) and every row of ``flags`` holds the cells' sticky
        flags read once after the run (a bound on each sample's own, which are sticky)."""
        if compact:
            return self._stream(steps, progress)
        cells = self._active_cells or self.identity.cells
        seq, flags, xs, ps = [], [], [], []
        with self.start_run(steps) as run:
            for sample in run:
                seq.append(sample.seq)
                flags.append(sample.flags)
                xs.append(sample.x[:cells])
                ps.append(sample.p[:cells])
                if progress and len(seq) % 1000 == 0:
                    progress(min(steps, len(seq) * (run.thin or 1)), steps)
        if progress:
            progress(steps, steps)
        if not seq:
            return CouplerSamples.concatenate([], cells)
        bits = np.array([[(f >> i) & 1 for i in range(cells)] for f in flags], dtype=np.int64)
        return CouplerSamples(np.array(seq, dtype=np.int64), bits,
                              np.array(xs, dtype=np.int64), np.array(ps, dtype=np.int64))

    def _stream(self, steps: int, progress=None) -> CouplerSamples:
        """`sample` over COUPLER_STREAM."""
        cells = self._active_cells or self.identity.cells
        firsts, xs = [], []
        with self.start_run(steps, compact=True) as run:
            for frame in run:
                firsts.append(frame.seq)
                xs.extend(row[:cells] for row in frame.x)
                if progress and len(firsts) % 64 == 0:
                    progress(min(steps, run.received * (run.thin or 1)), steps)
        count = run.done[1]
        if progress:
            progress(steps, steps)
        thin = run.thin or self._thin or 1
        seq = (np.repeat(np.array(firsts, dtype=np.int64), run.per_frame)
               + np.tile(np.arange(run.per_frame, dtype=np.int64) * thin, len(firsts)))
        low, high = self.read_regs(Reg.SATURATED_LO, 2)
        saturated = low | high << 32
        final = np.array([(saturated >> i) & 1 for i in range(cells)], dtype=np.int64)
        return CouplerSamples((seq[:count] & 0xFFFFFFFF),
                              np.tile(final, (count, 1)).reshape(count, cells),
                              np.array(xs[:count], dtype=np.int64).reshape(count, cells),
                              np.zeros((count, 0), dtype=np.int64))

    def stop(self) -> tuple[int, int] | None:
        """End a coupler run early: returns RUN_DONE's (step, samples sent), or None when
        no run was in progress (the samples still on their way are dropped)."""
        if self._run is not None and self._run.done is None:
            run = self._run
            run.stop()
            return run.wait()
        reply = self._command(Op.COUPLER_STOP, also=(Op.RUN_DONE,))
        if reply is None:
            frame = self._frames.popleft()
            return unpack_run_done(frame.data)
        return None

    def noise(self, beats: int) -> np.ndarray:
        """`beats` x cells raw Gaussian samples from the noise source (NOISE_FORMAT)."""
        if isinstance(beats, bool) or not isinstance(beats, (int, np.integer)) or beats < 1:
            raise ValueError(f"beats must be a whole number of at least 1, got {beats!r}")
        cells = self.identity.cells
        per_command = max(1, (MAX_PAYLOAD - 1) // (2 * cells))
        out = []
        for done in range(0, int(beats), per_command):
            count = min(per_command, int(beats) - done)
            values = unpack_noise(self._command(Op.NOISE, pack_noise(count)).data, cells)
            if len(values) != count:
                raise DeviceError(f"NOISE answered {len(values)} beats, not {count}")
            out += values
        return np.array(out, dtype=np.int64)


def open_device(port: str, config: SocConfig | None = None, *, timeout: float | None = None,
                progress=None, what: str = "the SoC expected") -> Device:
    """A `Device` on serial `port` (at ``config.baud``), or on the simulated SoC when port is
    ``"sim"`` (`config`, default `SIM_SOC_CONFIG`); identified, and checked against
    `config` when one is given (DeviceError naming the differences from `what`)."""
    if port == "sim":
        transport = SimTransport(config or SIM_SOC_CONFIG, progress=progress)
    else:
        baud = config.baud if config is not None else SIM_SOC_CONFIG.baud
        transport = SerialTransport(port, baud)
    device = Device(transport, timeout)
    try:
        identity = device.identify()
        if config is not None and (diff := identity.differences(config)):
            raise DeviceError(f"{transport.description} is not {what}: it has "
                              f"{', '.join(diff)}")
    except BaseException:
        device.close()
        raise
    return device

