"""The SoC's frame layer: `FrameReceiver` (bytes in, checked frames out) and
`FrameTransmitter` (a header and payload bytes in, a framed byte stream out).

Both follow `tritherm.firmware.protocol` (SYNC, opcode, length, payload, CRC-16 over
opcode, length and payload, little-endian CRC) and compute the CRC on the fly with
`tritherm.hdl.io.Crc16`, one byte per cycle.
"""

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tritherm.hdl.io import Crc16

from .protocol import MAX_PAYLOAD, SYNC, Status

__all__ = ["FrameReceiver", "FrameTransmitter", "frame_layout", "header_layout",
           "BufferWriteSignature", "LENGTH_BITS", "STATUS_BITS"]

#: Bits of a received frame's length (frames longer than MAX_PAYLOAD never get through).
LENGTH_BITS = MAX_PAYLOAD.bit_length()
#: Bits of a `Status` code.
STATUS_BITS = max(Status).bit_length()


def frame_layout() -> data.StructLayout:
    """A received frame: the receiver's verdict (OK, BAD_CRC, BAD_LENGTH for a length past
    MAX_PAYLOAD, TIMEOUT), its opcode and its payload length."""
    return data.StructLayout({"status": STATUS_BITS, "op": 8, "length": LENGTH_BITS})


def header_layout() -> data.StructLayout:
    """A frame to send: opcode and payload length."""
    return data.StructLayout({"op": 8, "length": 16})


def BufferWriteSignature() -> wiring.Signature:
    """Byte write port into the payload buffer (payload byte ``addr`` of the frame)."""
    return wiring.Signature({"en": Out(1), "addr": Out(LENGTH_BITS), "data": Out(8)})


class FrameReceiver(wiring.Component):
    """Finds frames in a byte stream, stores their payload, checks their CRC.

    Outside a frame, bytes other than SYNC are dropped (``garbage`` pulses once per byte).
    After SYNC come the opcode and the length; a length beyond `MAX_PAYLOAD` ends the frame
    at once with status BAD_LENGTH (the bytes that follow are garbage to the receiver).
    Payload byte i is written to the buffer at address i; then the two CRC bytes are
    compared with the CRC of opcode, length and payload. The verdict is offered on `frame`
    (status OK or BAD_CRC) and held until taken; meanwhile no byte is taken. A frame that
    stops arriving for `timeout` cycles (no byte offered) ends with status TIMEOUT.

    Parameters
    ----------
    timeout : int
        Clock cycles without a byte after which an incomplete frame is abandoned.

    Attributes
    ----------
    rx : In(stream.Signature(8))
    frame : Out(stream.Signature(frame_layout()))
    buffer : Out(BufferWriteSignature())
    hold : In(1)
        The buffer is in use: payload bytes wait (header bytes are still taken).
    active : Out(1)
        A frame is being received or its verdict waits.
    garbage, bad_crc, bad_frame : Out(1)
        One-cycle pulses: a byte dropped outside a frame; a CRC that failed; a length past
        MAX_PAYLOAD or a timeout.
    """

    def __init__(self, timeout: int):
        if not isinstance(timeout, int) or timeout < 1:
            raise ValueError(f"timeout must be a positive number of cycles, got {timeout!r}")
        self.timeout = timeout
        super().__init__({
            "rx": In(stream.Signature(8)),
            "frame": Out(stream.Signature(frame_layout())),
            "buffer": Out(BufferWriteSignature()),
            "hold": In(1),
            "active": Out(1),
            "garbage": Out(1),
            "bad_crc": Out(1),
            "bad_frame": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc = Crc16()
        rx, frame = self.rx, self.frame
        byte = rx.payload
        took = rx.valid & rx.ready

        timer = Signal(range(self.timeout + 1))
        with m.If(rx.valid):
            m.d.sync += timer.eq(self.timeout)
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        expired = (timer == 0) & ~rx.valid

        length_low = Signal(8)
        index = Signal(LENGTH_BITS)
        last_index = Signal(LENGTH_BITS)        # length - 1: the payload's last byte
        crc_low_ok = Signal()
        m.d.comb += [self.buffer.addr.eq(index), self.buffer.data.eq(byte), crc.data.eq(byte)]

        def verdict(status):
            m.d.sync += [frame.payload.status.eq(status), frame.valid.eq(1)]
            m.next = "VERDICT"

        def time_out():
            # An incomplete frame ends when no byte has been offered for `timeout` cycles.
            with m.If(expired):
                m.d.comb += self.bad_frame.eq(1)
                verdict(Status.TIMEOUT)

        with m.FSM() as fsm:
            with m.State("START"):
                # One cycle after reset, so that the state register changes once and every
                # combinational block of the Verilog is evaluated (Icarus does not run an
                # `always @*` block at time 0).
                m.next = "HUNT"
            with m.State("HUNT"):
                m.d.comb += rx.ready.eq(1)
                with m.If(took):
                    with m.If(byte == SYNC):
                        m.d.comb += crc.clear.eq(1)
                        m.next = "OP"
                    with m.Else():
                        m.d.comb += self.garbage.eq(1)
            with m.State("OP"):
                time_out()
                m.d.comb += [rx.ready.eq(1), crc.valid.eq(took)]
                with m.If(took):
                    m.d.sync += frame.payload.op.eq(byte)
                    m.next = "LENGTH_LOW"
            with m.State("LENGTH_LOW"):
                time_out()
                m.d.comb += [rx.ready.eq(1), crc.valid.eq(took)]
                with m.If(took):
                    m.d.sync += length_low.eq(byte)
                    m.next = "LENGTH_HIGH"
            with m.State("LENGTH_HIGH"):
                time_out()
                m.d.comb += [rx.ready.eq(1), crc.valid.eq(took)]
                length = byte.shift_left(8) | length_low
                with m.If(took):
                    m.d.sync += [frame.payload.length.eq(length), index.eq(0),
                                 last_index.eq(length - 1)]
                    with m.If(length > MAX_PAYLOAD):
                        m.d.comb += self.bad_frame.eq(1)
                        verdict(Status.BAD_LENGTH)
                    with m.Elif(length == 0):
                        m.next = "CRC_LOW"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                time_out()
                m.d.comb += [rx.ready.eq(~self.hold), crc.valid.eq(took),
                             self.buffer.en.eq(took)]
                with m.If(took):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == last_index):
                        m.next = "CRC_LOW"
            with m.State("CRC_LOW"):
                time_out()
                m.d.comb += rx.ready.eq(1)
                with m.If(took):
                    m.d.sync += crc_low_ok.eq(byte == crc.crc[:8])
                    m.next = "CRC_HIGH"
            with m.State("CRC_HIGH"):
                time_out()
                m.d.comb += rx.ready.eq(1)
                with m.If(took):
                    with m.If(crc_low_ok & (byte == crc.crc[8:])):
                        verdict(Status.OK)
                    with m.Else():
                        m.d.comb += self.bad_crc.eq(1)
                        verdict(Status.BAD_CRC)
            with m.State("VERDICT"):
                with m.If(frame.ready):
                    m.d.sync += frame.valid.eq(0)
                    m.next = "HUNT"
        m.d.comb += self.active.eq(~fsm.ongoing("HUNT"))
        return m


class FrameTransmitter(wiring.Component):
    """Frames a payload: SYNC, opcode, length, the payload bytes, CRC-16.

    A header taken from `header` starts a frame; the payload is the next ``length`` bytes
    of `body`, and the CRC follows. `tx` comes from a register (a byte a cycle while
    ``tx.ready`` stays high), so nothing of the payload's source reaches the UART or the
    CRC in the same cycle; the CRC takes each byte the cycle after it enters the register,
    and the first CRC byte waits for the last payload byte to be counted (one idle cycle
    a frame). The next header is taken once the last CRC byte has entered the register.

    Attributes
    ----------
    header : In(stream.Signature(header_layout()))
    body : In(stream.Signature(8))
    tx : Out(stream.Signature(8))
    idle : Out(1)
        No frame is being sent and no byte waits in the output register.
    """

    def __init__(self):
        super().__init__({
            "header": In(stream.Signature(header_layout())),
            "body": In(stream.Signature(8)),
            "tx": Out(stream.Signature(8)),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc = Crc16()
        tx, body = self.tx, self.body
        op = Signal(8)
        remaining = Signal(16)

        # The output register: loaded with `next_byte` when `load`; a checked byte enters
        # the CRC the cycle after (`fresh`), while it is still in the register.
        load, checked, fresh = Signal(), Signal(), Signal()
        next_byte = Signal(8)
        room = ~tx.valid | tx.ready
        with m.If(tx.ready):
            m.d.sync += tx.valid.eq(0)
        with m.If(load):
            m.d.sync += [tx.valid.eq(1), tx.payload.eq(next_byte)]
        m.d.sync += fresh.eq(load & checked)
        m.d.comb += [crc.valid.eq(fresh), crc.data.eq(tx.payload)]

        def offer(value, then, is_checked=True, ready=True):
            m.d.comb += [next_byte.eq(value), checked.eq(is_checked), load.eq(room & ready)]
            with m.If(room & ready):
                m.next = then

        with m.FSM() as fsm:
            with m.State("START"):
                # One cycle after reset, so that the state register changes once and every
                # combinational block of the Verilog is evaluated (Icarus does not run an
                # `always @*` block at time 0).
                m.next = "IDLE"
            with m.State("IDLE"):
                m.d.comb += self.header.ready.eq(1)
                with m.If(self.header.valid):
                    m.d.comb += crc.clear.eq(1)
                    m.d.sync += [op.eq(self.header.payload.op),
                                 remaining.eq(self.header.payload.length)]
                    m.next = "SYNC"
            with m.State("SYNC"):
                offer(Const(SYNC, 8), "OP", is_checked=False)
            with m.State("OP"):
                offer(op, "LENGTH_LOW")
            with m.State("LENGTH_LOW"):
                offer(remaining[:8], "LENGTH_HIGH")
            with m.State("LENGTH_HIGH"):
                offer(remaining[8:], "BODY")
                with m.If(room & (remaining == 0)):
                    m.next = "CRC_LOW"
            with m.State("BODY"):
                m.d.comb += [next_byte.eq(body.payload), checked.eq(1),
                             load.eq(room & body.valid), body.ready.eq(room)]
                with m.If(load):
                    m.d.sync += remaining.eq(remaining - 1)
                    with m.If(remaining == 1):
                        m.next = "CRC_LOW"
            with m.State("CRC_LOW"):
                offer(crc.crc[:8], "CRC_HIGH", is_checked=False, ready=~fresh)
            with m.State("CRC_HIGH"):
                offer(crc.crc[8:], "IDLE", is_checked=False)
        m.d.comb += self.idle.eq(fsm.ongoing("IDLE") & ~tx.valid)
        return m
