"""The SoC gateware: `SocCore` (the byte-level system) and `Soc` (it behind a UART).

`SocCore` speaks `tritherm.firmware.protocol` on a byte stream. Its parts:

- `FrameReceiver` hunts SYNC, stores the payload in a `MAX_PAYLOAD`-byte buffer memory,
  checks the CRC and the inter-byte timeout, and hands the executor one verdict per frame;
- the executor (this module) acts on a good frame whose opcode is known and whose length
  is right for it, and answers every frame it acts on or refuses (statuses and counters
  below); it drives the `TernaryArray` (weight write port, activations from the buffer,
  results), the `Coupler` (configuration stream, run, stop, samples, the raw `noise` tap)
  and the `RegisterFile`;
- `FrameTransmitter` frames each answer, the payload coming byte by byte from the
  executor (a byte index into the result word or a register, or a cell's x, p or noise
  sample read through the coupler's read port, never a copy of them) with the CRC
  computed on the fly; a byte is offered from a register the cycle after it is ready,
  and a byte register stands between the core and the UART transmitter.

What the executor does with a frame:

- a frame the receiver refused (bad CRC, length past MAX_PAYLOAD, timeout) is answered
  with ERROR and that status; the receiver counts it (BAD_CRC_COUNT, BAD_FRAME_COUNT);
- an unknown opcode, or a length wrong for the opcode, is answered with UNKNOWN_OPCODE or
  BAD_LENGTH and counted in BAD_FRAME_COUNT; an argument out of range (K, weight
  addresses, registers, noise beats) with BAD_ARGUMENT; a write to a register that is not
  writable with READ_ONLY (BAD_ARGUMENT if there is no such register);
- lengths: IDENTIFY 0, READ_REGS 2, WRITE_REG 5, LOAD_WEIGHTS >= 2, MATVEC exactly 2 + K,
  COUPLER_WRITE a multiple of 6, COUPLER_RUN 4, COUPLER_MOMENTS 6 (block >= 1, on a
  SoC built with moments; UNKNOWN_OPCODE otherwise), COUPLER_STREAM 4 (on a SoC built
  with the stream; UNKNOWN_OPCODE otherwise), COUPLER_STOP 0, NOISE 2;
- READ_REGS needs ``count >= 1`` and ``first + count <= REGISTER_COUNT`` (registers 14, 15
  read 0); MATVEC ``1 <= K <= capacity``; LOAD_WEIGHTS ``start + bytes <= rows *
  row_bytes``; NOISE ``1 <= beats`` and an answer of at most 65535 bytes;
- COUPLER_RUN is answered OK, then streams a SAMPLE frame per sample (the coupler waits
  while one is on its way out) and ends with RUN_DONE (step count, samples sent). While it
  streams, a good COUPLER_STOP of length 0 makes the coupler stop at the end of its step;
  every other frame, good or not, is dropped and counted in DROPPED_COUNT (and in its
  error counter if the receiver refused it). COUPLER_STOP outside a run is answered OK.
- COUPLER_MOMENTS runs the same way, but `CouplerMoments` takes the samples (reading
  them through the coupler's read port) and the executor sends a MOMENTS frame (the
  block's sample count, the last sample's flags, then the sums read from the
  accumulators a word at a time) whenever a block is full, and the short last one at the
  end, before RUN_DONE.
- COUPLER_STREAM (a SoC built with ``stream``) runs the same way, but each SAMPLES frame
  carries the seq of its first sample and x of `stream_samples_per_frame` samples: the
  frame starts when its first sample is offered and its bytes wait for each next one (the
  coupler waits while a sample is read, as for SAMPLE); a run that ends part way through a
  frame fills it with zero bytes. No flags: the host reads the registers after RUN_DONE.

Bytes arrive while an answer is being sent; a frame's payload bytes wait only while the
executor reads the buffer (a few cycles a byte), and a complete frame waits for the
executor to finish the previous one. ``busy`` is low only when the receiver hunts for
SYNC, the executor is idle and nothing is left to send.

LEDs: 0 a heartbeat (about 1 Hz), 1 the coupler running, 2 any sticky flag.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out, connect, flipped

from tritherm.formats import COUPLER_REG_FLAGS, COUPLER_REGION_SCALAR, coupler_address
from tritherm.hdl.io import UartRx, UartTx, uart_divisor
from tritherm.hdl.ternary import TernaryArray
from tritherm.hdl.thermo import Coupler
from tritherm.hdl.thermo.moments import CouplerMoments

from .config import SocConfig
from .protocol import (IDENTITY_WORDS, MAX_PAYLOAD, REGISTER_COUNT, RESPONSE_BIT,
                       TIMEOUT_BYTE_TIMES, WRITABLE_REGISTERS, Op, Reg, Status,
                       moments_payload_bytes, sample_flag_bytes, sample_payload_bytes,
                       stream_payload_bytes)
from .soc_frames import LENGTH_BITS, STATUS_BITS, FrameReceiver, FrameTransmitter
from .soc_regs import REGISTER_INDEX_BITS, RegisterFile

__all__ = ["SocCore", "Soc", "frame_timeout_cycles", "max_noise_beats"]

#: Bytes a COUPLER_WRITE entry takes (address u16, data u32).
_WRITE_BYTES = 6
#: Bytes of the argument register: the longest fixed part of a payload.
_ARG_BYTES = 6
#: Where an answer's payload comes from, after its status byte (RUN_DONE's step count and
#: sample count are registers COUPLER_STEP and RUN_SAMPLES).
_STATUS_ONLY, _REGISTERS, _RESULTS, _NOISE, _SAMPLE, _MOMENTS, _XS = range(7)
#: The commands the executor knows.
_OPS = (Op.IDENTIFY, Op.READ_REGS, Op.WRITE_REG, Op.LOAD_WEIGHTS, Op.MATVEC, Op.COUPLER_WRITE,
        Op.COUPLER_RUN, Op.COUPLER_STOP, Op.NOISE)
#: Where the executor goes once an answer has left.
_THEN_IDLE, _THEN_RUN_START, _THEN_RUN = range(3)


def frame_timeout_cycles(config: SocConfig) -> int:
    """Clock cycles without a byte after which the SoC abandons a frame:
    ``TIMEOUT_BYTE_TIMES`` byte times of ten bits at the UART's divisor."""
    return TIMEOUT_BYTE_TIMES * 10 * uart_divisor(config.clock_hz, config.baud)


def max_noise_beats(cells: int) -> int:
    """The most beats one NOISE answer carries (its length must fit 16 bits)."""
    return (0xFFFF - 1) // (2 * cells)


class SocCore(wiring.Component):
    """The SoC at byte level: protocol, register file, ternary array and coupler.

    See the module documentation for the behaviour.

    Parameters
    ----------
    config : SocConfig
        Array shape, coupler size, clock and baud rate (the frame timeout is
        `frame_timeout_cycles`).

    Attributes
    ----------
    rx : In(stream.Signature(8))
        Bytes from the host.
    tx : Out(stream.Signature(8))
        Bytes to the host.
    busy : Out(1)
        Receiving a frame, executing, or sending.
    framing_error, overrun : In(1)
        The UART's sticky flags (FLAGS bits UART_FRAMING, UART_OVERRUN).
    uart_clear : Out(1)
        Clears the UART's flags.
    leds : Out(3)
        Heartbeat, coupler running, any sticky flag.
    """

    def __init__(self, config: SocConfig):
        try:
            if not isinstance(config, SocConfig):
                raise TypeError(f"config must be a SocConfig, not {config!r}")
            self.timeout = frame_timeout_cycles(config)
        except (TypeError, ValueError):
            self._MustUse__silence = True
            raise
        self.config = config
        super().__init__({
            "rx": In(stream.Signature(8)),
            "tx": Out(stream.Signature(8)),
            "busy": Out(1),
            "framing_error": In(1),
            "overrun": In(1),
            "uart_clear": Out(1),
            "leds": Out(3),
        })

    def elaborate(self, platform):
        m = Module()
        config = self.config
        shape, cells = config.array, config.cells

        m.submodules.receiver = receiver = FrameReceiver(self.timeout)
        m.submodules.transmitter = transmitter = FrameTransmitter()
        m.submodules.registers = regs = RegisterFile(config)
        m.submodules.array = array = TernaryArray(shape)
        m.submodules.coupler = coupler = Coupler(cells, config.multipliers, config.shaper,
                                                 quartic=config.quartic)
        if config.moments:
            m.submodules.moments = moments = CouplerMoments(cells)
        m.submodules.buffer = buffer = Memory(shape=8, depth=MAX_PAYLOAD, init=[])
        write_port = buffer.write_port()
        read = buffer.read_port()

        connect(m, flipped(self.rx), receiver.rx)
        connect(m, transmitter.tx, flipped(self.tx))
        m.d.comb += [write_port.en.eq(receiver.buffer.en),
                     write_port.addr.eq(receiver.buffer.addr),
                     write_port.data.eq(receiver.buffer.data)]
        frame = receiver.frame

        # The executor's registers.
        op = Signal(8)
        length = Signal(LENGTH_BITS)
        arg = Signal(8 * _ARG_BYTES)             # payload bytes 0..5, little-endian
        ptr = Signal(LENGTH_BITS)                # buffer read address
        fetched = Signal(range(_ARG_BYTES + 1))
        fetch_for_write = Signal()               # FETCH serves COUPLER_WRITE
        remaining = Signal(LENGTH_BITS)
        weight_row = Signal(range(shape.rows + 1))
        position = Signal(range(shape.inputs))
        beat = Signal(ArrayLayout(signed(8), shape.inputs))
        answer_op = Signal(8)
        answer_length = Signal(16)
        status = Signal(STATUS_BITS)
        source = Signal(range(7))
        then = Signal(range(3))
        first = Signal(REGISTER_INDEX_BITS)
        status_sent = Signal()
        in_run, stop = Signal(), Signal()
        length_ok, argument_ok = Signal(), Signal()
        refusal = Signal(STATUS_BITS)
        samples_sent = Signal(32)
        # COUPLER_MOMENTS: the run feeds `moments`; a block of `block_size` samples is
        # answered with a MOMENTS frame once `block_fill` reaches it.
        moments_mode = Signal()
        block_size = Signal(16)
        block_fill = Signal(16)
        # COUPLER_STREAM: SAMPLES frames; `x_byte` is the byte of the sample being sent,
        # `padding` the run ended part way through the frame; `valid_seen` the sample was
        # offered last cycle too (the cycle it appears, the read port still has the other bank).
        stream_mode, padding, valid_seen = Signal(), Signal(), Signal()
        x_byte = Signal(range(2 * cells))
        m.d.sync += valid_seen.eq(coupler.samples.valid)
        m.d.comb += read.addr.eq(ptr)

        # Arguments (valid from CHECK on): where each command keeps them in payload bytes 0..5.
        arg16 = arg[:16]                          # K, weight start, noise beats
        arg_first, arg_count = arg[:8], arg[8:16]
        arg_register, arg_value = arg[:8], arg[8:40]
        arg_steps = arg[:32]
        column = arg[:16]                         # LOAD_WEIGHTS: the column being written

        # Answer payload, after the status byte: byte `index` of a word. A sample's x and p
        # and a noise beat are the coupler's, read a cell at a time through its read port
        # (its answer comes the cycle after the address: `settled`).
        sample = coupler.samples.payload
        flag_bytes = sample_flag_bytes(cells)
        head_bytes = 4 + flag_bytes                       # seq, flags; then x, then p
        sample_head = Cat(sample.seq, sample.flags, Const(0, 8 * flag_bytes - cells))
        lane_results = [Signal(signed(32), name=f"result{lane}") for lane in range(shape.lanes)]
        m.d.comb += [value.eq(array.results.payload[lane])           # sign-extended
                     for lane, value in enumerate(lane_results)]
        result_word = Cat(*lane_results)
        lengths = {_REGISTERS: 4, _RESULTS: 4 * shape.lanes, _NOISE: 2 * cells,
                   _SAMPLE: sample_payload_bytes(cells) - 1}
        if config.moments:
            lengths[_MOMENTS] = moments_payload_bytes(cells) - 1
        if config.stream:
            lengths[_XS] = stream_payload_bytes(cells) - 1
        index = Signal(range(max(4 * REGISTER_COUNT, *lengths.values()) + 1))
        settled = Signal()              # the read port answers for `index`
        offer = Signal()                # the byte for `index` (or the status) is offered
        offered_byte = Signal(8)        # ... and this is it (data_byte, a cycle later)
        beat_taken = Signal()           # MATVEC: the array took the beat last cycle
        p_at = head_bytes + 2 * cells
        in_p = index >= p_at
        read_cell = Mux(source == _NOISE, index[1:],
                        Mux(source == _XS, x_byte[1:],
                            Mux(in_p, (index - p_at)[1:], (index - head_bytes)[1:])))
        if config.moments:
            m.d.comb += [coupler.read.addr.eq(Mux(moments_mode, moments.read.addr,
                                                  read_cell[:len(coupler.read.addr)])),
                         moments.read.data.eq(coupler.read.data),
                         moments.samples.payload.eq(coupler.samples.payload)]
        else:
            m.d.comb += coupler.read.addr.eq(read_cell[:len(coupler.read.addr)])
        answer_word = coupler.read.data
        read_word = Mux(source == _NOISE, answer_word.xi,
                        Mux(in_p, answer_word.p, answer_word.x))
        sample_byte = Mux(index < head_bytes,
                          sample_head.word_select(index[:(head_bytes - 1).bit_length()], 8),
                          read_word.word_select(index[0], 8))

        def word_byte(word, count):
            return word.word_select(index[:(count - 1).bit_length()], 8)

        # Shifts and plain expressions, not Switches: the Verilog is continuous assignments,
        # which Icarus evaluates at time 0 (it does not run an `always @*` block until an
        # input changes).
        bytes_ = [Const(0, 8), word_byte(regs.value, 4),
                  word_byte(result_word, 4 * shape.lanes),
                  read_word.word_select(index[0], 8), sample_byte]
        valids = [Const(1), Const(1), array.results.valid, coupler.noise.valid & settled,
                  coupler.samples.valid & settled]
        if config.moments:
            # MOMENTS: samples u16, flags, then each sum as s64 (read the cycle after).
            moments_head = 2 + flag_bytes
            rel = Signal(len(index))
            acc_word = Signal(signed(64))
            m.d.comb += [rel.eq(index - moments_head), moments.acc_addr.eq(rel[3:]),
                         acc_word.eq(moments.acc_data)]
            head = Cat(block_fill, moments.flags, Const(0, 8 * flag_bytes - cells))
            bytes_.append(Mux(index < moments_head,
                              head.word_select(index[:(moments_head - 1).bit_length()], 8),
                              acc_word.word_select(rel[:3], 8)))
            valids.append(settled)
        elif config.stream:
            bytes_.append(Const(0, 8))
            valids.append(Const(0))
        if config.stream:
            # SAMPLES: seq u32 of the frame's first sample, then x of each sample.
            in_seq = index < 4
            bytes_.append(Mux(in_seq, sample.seq.word_select(index[:2], 8),
                              Mux(padding, 0, answer_word.x.word_select(x_byte[0], 8))))
            valids.append(in_seq | padding
                          | (coupler.samples.valid & valid_seen & settled))
        data_byte = Cat(*bytes_).word_select(source, 8)
        data_valid = Cat(*valids).bit_select(source, 1)
        last_byte = Cat(Const(0), Const(0), *(index == lengths[key] - 1 if key in lengths
                                              else Const(0) for key in range(2, _XS + 1))
                        ).bit_select(source, 1)
        m.d.sync += settled.eq(1)

        m.d.comb += [
            transmitter.header.payload.op.eq(answer_op),
            transmitter.header.payload.length.eq(answer_length),
            array.k.eq(arg16),
            array.activations.payload.eq(beat),
            array.weights.row.eq(weight_row),
            array.weights.column.eq(column),
            array.weights.data.eq(read.data),
            coupler.config.payload.addr.eq(arg[:16]),
            coupler.config.payload.data.eq(arg[16:48]),
            coupler.run.payload.eq(arg_steps),
            coupler.stop.eq(stop),
        ]

        m.d.comb += [
            regs.index.eq(first + index[2:]),         # the register being sent
            regs.write_index.eq(arg_register),        # WRITE_REG, in DISPATCH
            regs.write_data.eq(arg_value),
            regs.garbage.eq(receiver.garbage),
            regs.bad_crc.eq(receiver.bad_crc),
            regs.bad_frame[0].eq(receiver.bad_frame),
            regs.running.eq(coupler.running),
            regs.step.eq(coupler.step),
            regs.run_samples.eq(samples_sent),
            regs.saturated.eq(coupler.saturated),
            regs.array_flags.eq(Cat(array.invalid_code, array.k_overflow)),
            regs.uart_flags.eq(Cat(self.framing_error, self.overrun)),
            array.clear_flags.eq(regs.clear_array),
            self.uart_clear.eq(regs.clear_uart),
        ]

        def answer(op_value, length_value, from_=_STATUS_ONLY, status_value=Status.OK,
                   then_value=_THEN_IDLE):
            m.d.sync += [answer_op.eq(op_value), answer_length.eq(length_value),
                         source.eq(from_), status.eq(status_value), then.eq(then_value)]
            m.next = "ANSWER"

        reply = op | RESPONSE_BIT

        def refuse(status_value):
            answer(reply, 1, status_value=status_value)
            if isinstance(status_value, Status) and status_value in (Status.BAD_LENGTH,
                                                                     Status.UNKNOWN_OPCODE):
                m.d.comb += regs.bad_frame[1].eq(1)

        # While a run streams, frames are taken as they come: COUPLER_STOP or dropped.
        with m.If(in_run):
            m.d.comb += frame.ready.eq(1)
            with m.If(frame.valid):
                with m.If((frame.payload.status == Status.OK)
                          & (frame.payload.op == Op.COUPLER_STOP)
                          & (frame.payload.length == 0)):
                    m.d.sync += stop.eq(1)
                with m.Else():
                    m.d.comb += regs.dropped.eq(1)

        with m.FSM() as fsm:
            with m.State("START"):
                # One cycle after reset, so that the state register changes once and every
                # combinational block of the Verilog is evaluated (Icarus does not run an
                # `always @*` block at time 0).
                m.next = "IDLE"
            with m.State("IDLE"):
                m.d.comb += frame.ready.eq(1)
                with m.If(frame.valid):
                    m.d.sync += [op.eq(frame.payload.op), length.eq(frame.payload.length),
                                 ptr.eq(0), fetched.eq(0), fetch_for_write.eq(0)]
                    with m.If(frame.payload.status == Status.OK):
                        m.next = "FETCH"
                    with m.Else():
                        answer(Op.ERROR, 1, status_value=frame.payload.status)

            with m.State("FETCH"):
                # Payload bytes ptr.. into `arg`: one read to prime, then a byte a cycle.
                m.d.sync += fetched.eq(fetched + 1)
                with m.If(fetched != 0):
                    m.d.sync += arg.eq(Cat(arg[8:], read.data))
                with m.If(fetched != _ARG_BYTES):
                    m.d.sync += ptr.eq(ptr + 1)
                with m.Else():
                    m.d.sync += fetched.eq(0)
                    with m.If(fetch_for_write):
                        m.next = "COUPLER_WRITE"
                    with m.Else():
                        m.next = "CHECK"

            with m.State("CHECK"):
                # Length and arguments checked into registers, so DISPATCH acts on a few
                # registered bits (the comparisons are carry chains).
                m.d.sync += [length_ok.eq(1), argument_ok.eq(1),
                             refusal.eq(Status.BAD_ARGUMENT)]
                with m.Switch(op):
                    with m.Case(Op.IDENTIFY, Op.COUPLER_STOP):
                        m.d.sync += length_ok.eq(length == 0)
                    with m.Case(Op.READ_REGS):
                        m.d.sync += [length_ok.eq(length == 2),
                                     argument_ok.eq((arg_count != 0) & (
                                         arg_first + arg_count <= REGISTER_COUNT))]
                    with m.Case(Op.WRITE_REG):
                        m.d.sync += [
                            length_ok.eq(length == 5),
                            argument_ok.eq(Cat(arg_register == reg
                                               for reg in WRITABLE_REGISTERS).any()),
                            refusal.eq(Mux(arg_register < REGISTER_COUNT, Status.READ_ONLY,
                                           Status.BAD_ARGUMENT))]
                    with m.Case(Op.LOAD_WEIGHTS):
                        m.d.sync += [length_ok.eq(length >= 2),
                                     argument_ok.eq(arg16 + length
                                                    <= shape.rows * shape.row_bytes + 2)]
                    with m.Case(Op.MATVEC):
                        m.d.sync += [length_ok.eq(length - 2 == arg16),
                                     argument_ok.eq((arg16 != 0) & (arg16 <= shape.capacity))]
                    with m.Case(Op.COUPLER_RUN, Op.COUPLER_STREAM):
                        m.d.sync += length_ok.eq(length == 4)
                    if config.moments:
                        with m.Case(Op.COUPLER_MOMENTS):
                            m.d.sync += [length_ok.eq(length == 6),
                                         argument_ok.eq(arg[32:48] != 0)]
                    with m.Case(Op.NOISE):
                        m.d.sync += [length_ok.eq(length == 2),
                                     argument_ok.eq((arg16 != 0)
                                                    & (arg16 <= max_noise_beats(cells)))]
                m.next = "DISPATCH"

            with m.State("DISPATCH"):
                with m.Switch(op):
                    with m.Case(*_OPS, *((Op.COUPLER_MOMENTS,) if config.moments else ()),
                                *((Op.COUPLER_STREAM,) if config.stream else ())):
                        with m.If(~length_ok):
                            refuse(Status.BAD_LENGTH)
                        with m.Elif(~argument_ok):
                            refuse(refusal)
                        with m.Else():
                            with m.Switch(op):
                                with m.Case(Op.IDENTIFY):
                                    m.d.sync += first.eq(0)
                                    answer(reply, 1 + 4 * IDENTITY_WORDS, _REGISTERS)
                                with m.Case(Op.READ_REGS):
                                    m.d.sync += first.eq(arg_first)
                                    answer(reply, 1 + 4 * arg_count, _REGISTERS)
                                with m.Case(Op.WRITE_REG):
                                    m.d.comb += regs.write.eq(1)
                                    with m.If(regs.clear_saturated):
                                        # Clear the cells' flags: the coupler's FLAGS register.
                                        m.d.sync += [
                                            arg.eq(coupler_address(COUPLER_REGION_SCALAR,
                                                                   COUPLER_REG_FLAGS)),
                                            ptr.eq(length)]
                                        m.next = "COUPLER_WRITE"
                                    with m.Else():
                                        answer(reply, 1)
                                with m.Case(Op.LOAD_WEIGHTS):
                                    m.d.sync += [remaining.eq(length - 2), ptr.eq(2),
                                                 weight_row.eq(0)]
                                    m.next = "WEIGHTS_ADDRESS"
                                with m.Case(Op.MATVEC):
                                    m.d.sync += [remaining.eq(arg16), ptr.eq(2),
                                                 position.eq(0)]
                                    m.next = "MATVEC_PRIME"
                                with m.Case(Op.COUPLER_WRITE):
                                    m.d.sync += remaining.eq(length)
                                    m.next = "WRITES_CHECK"
                                with m.Case(Op.COUPLER_RUN):
                                    answer(reply, 1, then_value=_THEN_RUN_START)
                                    if config.moments:
                                        m.d.sync += moments_mode.eq(0)
                                    m.d.sync += stream_mode.eq(0)
                                if config.stream:
                                    with m.Case(Op.COUPLER_STREAM):
                                        answer(reply, 1, then_value=_THEN_RUN_START)
                                        m.d.sync += stream_mode.eq(1)
                                        if config.moments:
                                            m.d.sync += moments_mode.eq(0)
                                if config.moments:
                                    with m.Case(Op.COUPLER_MOMENTS):
                                        m.d.sync += [moments_mode.eq(1), stream_mode.eq(0),
                                                     block_size.eq(arg[32:48]),
                                                     block_fill.eq(0)]
                                        answer(reply, 1, then_value=_THEN_RUN_START)
                                with m.Case(Op.COUPLER_STOP):
                                    answer(reply, 1)
                                with m.Case(Op.NOISE):
                                    answer(reply, 1 + 2 * cells * arg16, _NOISE)
                    with m.Default():
                        refuse(Status.UNKNOWN_OPCODE)

            # LOAD_WEIGHTS: start -> (row, column) by repeated subtraction, then a byte a
            # cycle into the array's weight memory.
            with m.State("WEIGHTS_ADDRESS"):
                with m.If(remaining == 0):
                    answer(reply, 1)
                with m.Elif(column >= shape.row_bytes):
                    m.d.sync += [column.eq(column - shape.row_bytes),
                                 weight_row.eq(weight_row + 1)]
                with m.Else():
                    m.d.sync += ptr.eq(ptr + 1)
                    m.next = "WEIGHTS"
            with m.State("WEIGHTS"):
                m.d.comb += array.weights.en.eq(1)
                m.d.sync += [ptr.eq(ptr + 1), remaining.eq(remaining - 1)]
                with m.If(column == shape.row_bytes - 1):
                    m.d.sync += [column.eq(0), weight_row.eq(weight_row + 1)]
                with m.Else():
                    m.d.sync += column.eq(column + 1)
                with m.If(remaining == 1):
                    answer(reply, 1)

            # MATVEC: `inputs` activations a beat, a byte a cycle from the buffer.
            with m.State("MATVEC_PRIME"):
                m.d.sync += ptr.eq(ptr + 1)
                m.next = "MATVEC_FILL"
            with m.State("MATVEC_FILL"):
                m.d.sync += [beat[position].eq(read.data), remaining.eq(remaining - 1)]
                with m.If((position == shape.inputs - 1) | (remaining == 1)):
                    m.d.sync += position.eq(0)
                    m.next = "MATVEC_BEAT"
                with m.Else():
                    m.d.sync += [position.eq(position + 1), ptr.eq(ptr + 1)]
            with m.State("MATVEC_BEAT"):
                # The beat is offered until taken; the state moves on the cycle after (from
                # a register: the array's ready is not on the state machine's path).
                m.d.comb += array.activations.valid.eq(~beat_taken)
                m.d.sync += beat_taken.eq(array.activations.valid & array.activations.ready)
                with m.If(beat_taken):
                    m.d.sync += beat_taken.eq(0)
                    with m.If(remaining == 0):
                        answer(reply, 1 + 4 * shape.lanes, _RESULTS)
                    with m.Else():
                        m.d.sync += ptr.eq(ptr + 1)
                        m.next = "MATVEC_FILL"

            # COUPLER_WRITE: the length must be a multiple of 6 before anything is written.
            with m.State("WRITES_CHECK"):
                with m.If(remaining >= _WRITE_BYTES):
                    m.d.sync += remaining.eq(remaining - _WRITE_BYTES)
                with m.Elif(remaining != 0):
                    refuse(Status.BAD_LENGTH)
                with m.Elif(length == 0):
                    answer(reply, 1)
                with m.Else():
                    m.d.sync += [ptr.eq(0), fetched.eq(0), fetch_for_write.eq(1)]
                    m.next = "FETCH"
            with m.State("COUPLER_WRITE"):
                m.d.comb += coupler.config.valid.eq(1)
                with m.If(coupler.config.ready):
                    with m.If(ptr == length):
                        answer(reply, 1)
                    with m.Else():
                        m.next = "FETCH"

            # Answers: the header, then the status byte and the payload.
            with m.State("ANSWER"):
                m.d.comb += transmitter.header.valid.eq(1)
                with m.If(transmitter.header.ready):
                    m.d.sync += [status_sent.eq(0), index.eq(0), settled.eq(0), offer.eq(0)]
                    if config.stream:
                        m.d.sync += [x_byte.eq(0), padding.eq(0)]
                    m.next = "SEND"
            with m.State("SEND"):
                # A byte is offered from registers set the cycle after it is ready, so the
                # transmitter's handshake and what follows a byte's acceptance (the next
                # index, a sample or a beat taken) do not wait for the data sources (after
                # an acceptance nothing is offered for a cycle, and `index` is then stable).
                body = transmitter.body
                m.d.comb += [body.valid.eq(offer),
                             body.payload.eq(Mux(status_sent, offered_byte, status))]
                m.d.sync += [offer.eq(Mux(status_sent, data_valid, 1)),
                             offered_byte.eq(data_byte)]
                with m.If(body.valid & body.ready):
                    m.d.sync += [status_sent.eq(1), offer.eq(0)]
                    with m.If(status_sent):
                        m.d.sync += [index.eq(index + 1), settled.eq(0)]
                        with m.If(last_byte):
                            with m.Switch(source):
                                with m.Case(_RESULTS):
                                    m.d.comb += array.results.ready.eq(1)
                                with m.Case(_NOISE):
                                    m.d.comb += coupler.noise.ready.eq(1)
                                    m.d.sync += index.eq(0)
                                with m.Case(_SAMPLE):
                                    m.d.comb += coupler.samples.ready.eq(1)
                                    m.d.sync += samples_sent.eq(samples_sent + 1)
                                if config.moments:
                                    with m.Case(_MOMENTS):
                                        m.d.sync += block_fill.eq(0)
                        if config.stream:
                            # SAMPLES: a sample is taken with its last byte; a run that
                            # ended before the next sample leaves the rest of the frame zero.
                            with m.If((source == _XS) & (index >= 4)):
                                m.d.sync += x_byte.eq(x_byte + 1)
                                with m.If(x_byte == 2 * cells - 1):
                                    m.d.sync += x_byte.eq(0)
                                    with m.If(~padding):
                                        m.d.comb += coupler.samples.ready.eq(1)
                                        m.d.sync += samples_sent.eq(samples_sent + 1)
                if config.stream:
                    with m.If((source == _XS) & status_sent & (index >= 4) & (x_byte == 0)
                              & ~coupler.running & ~coupler.samples.valid):
                        m.d.sync += padding.eq(1)
                with m.If(transmitter.idle):
                    with m.Switch(then):
                        with m.Case(_THEN_IDLE):
                            m.next = "IDLE"
                        with m.Case(_THEN_RUN_START):
                            m.next = "RUN_START"
                        with m.Case(_THEN_RUN):
                            m.next = "RUN"

            # COUPLER_RUN: start the coupler, stream its samples, end with RUN_DONE.
            with m.State("RUN_START"):
                m.d.comb += coupler.run.valid.eq(1)
                with m.If(coupler.run.ready):
                    m.d.sync += [in_run.eq(1), stop.eq(0), samples_sent.eq(0)]
                    m.next = "RUN"
            with m.State("RUN"):
                def run_done():
                    m.d.sync += [in_run.eq(0), stop.eq(0), first.eq(Reg.COUPLER_STEP)]
                    if config.moments:
                        m.d.sync += moments_mode.eq(0)   # the read port is the answers' again
                    answer(Op.RUN_DONE, 9, _REGISTERS)

                if config.moments:
                    # The moments take the samples; a full block, or the rest of one at
                    # the end of the run, is answered once its last products are written.
                    full = block_fill == block_size
                    take = coupler.samples.valid & moments_mode & ~full
                    m.d.comb += [moments.samples.valid.eq(take),
                                 moments.fresh.eq(block_fill == 0)]
                    with m.If(take):
                        m.d.comb += coupler.samples.ready.eq(moments.samples.ready)
                    with m.If(take & moments.samples.ready):
                        m.d.sync += [block_fill.eq(block_fill + 1),
                                     samples_sent.eq(samples_sent + 1)]
                    ended = ~coupler.running & ~coupler.samples.valid
                    with m.If(moments_mode):
                        with m.If(moments.busy | take):
                            pass
                        with m.Elif(full | (ended & (block_fill != 0))):
                            answer(Op.MOMENTS, moments_payload_bytes(cells), _MOMENTS,
                                   then_value=_THEN_RUN)
                        with m.Elif(ended):
                            run_done()

                def stream():
                    with m.If(coupler.samples.valid):
                        answer(Op.SAMPLE, sample_payload_bytes(cells), _SAMPLE,
                               then_value=_THEN_RUN)
                    with m.Elif(~coupler.running):
                        run_done()

                if config.moments:
                    with m.If(~moments_mode):
                        stream()
                else:
                    stream()
                if config.stream:
                    with m.If(stream_mode & coupler.samples.valid):
                        answer(Op.SAMPLES, stream_payload_bytes(cells), _XS,
                               then_value=_THEN_RUN)

        buffer_in_use = Cat(fsm.ongoing(state) for state in (
            "FETCH", "CHECK", "DISPATCH", "WEIGHTS_ADDRESS", "WEIGHTS", "MATVEC_PRIME", "MATVEC_FILL",
            "MATVEC_BEAT", "WRITES_CHECK", "COUPLER_WRITE")).any()
        m.d.comb += [
            receiver.hold.eq(buffer_in_use),
            self.busy.eq(receiver.active | ~fsm.ongoing("IDLE") | ~transmitter.idle),
        ]

        # LEDs: a heartbeat of about 1 Hz, the coupler running, any sticky flag.
        beat_bits = max(1, round(config.clock_hz).bit_length() - 1)
        heartbeat = Signal(beat_bits)
        m.d.sync += heartbeat.eq(heartbeat + 1)
        m.d.comb += self.leds.eq(Cat(heartbeat[-1], coupler.running, regs.flags.any()))
        return m


class Soc(wiring.Component):
    """`SocCore` behind an 8N1 UART (`UartRx`, `UartTx`) at ``config.baud``.

    Parameters
    ----------
    config : SocConfig

    Attributes
    ----------
    rx : In(1)
        Serial line from the host (idle high).
    tx : Out(1)
        Serial line to the host.
    leds : Out(3)
        See `SocCore`.
    """

    def __init__(self, config: SocConfig):
        try:
            if not isinstance(config, SocConfig):
                raise TypeError(f"config must be a SocConfig, not {config!r}")
            self.divisor = uart_divisor(config.clock_hz, config.baud)
        except (TypeError, ValueError):
            self._MustUse__silence = True
            raise
        self.config = config
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "leds": Out(3)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = uart_rx = UartRx(self.divisor)
        m.submodules.uart_tx = uart_tx = UartTx(self.divisor)
        m.submodules.core = core = SocCore(self.config)
        connect(m, uart_rx.data, core.rx)
        # A byte register between the core and the UART transmitter: the core's handshake
        # then ends at a register instead of running through the UART's state.
        held = Signal(8)
        full = Signal()
        m.d.comb += [core.tx.ready.eq(~full), uart_tx.data.valid.eq(full),
                     uart_tx.data.payload.eq(held)]
        with m.If(uart_tx.data.ready):
            m.d.sync += full.eq(0)
        with m.If(core.tx.valid & ~full):
            m.d.sync += [held.eq(core.tx.payload), full.eq(1)]
        m.d.comb += [
            uart_rx.rx.eq(self.rx),
            self.tx.eq(uart_tx.tx),
            core.framing_error.eq(uart_rx.framing_error),
            core.overrun.eq(uart_rx.overrun),
            uart_rx.clear.eq(core.uart_clear),
            self.leds.eq(core.leds),
        ]
        return m
