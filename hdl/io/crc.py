"""CRC-16 of a byte stream, one byte per clock cycle.

The parameters are those of the SoC's serial protocol, written once in `tritherm.formats`
(`CRC16_POLY`, `CRC16_INIT`: CRC-16/CCITT-FALSE, bits not reflected, no final xor), so the
gateware and the host's ``tritherm.firmware.protocol.crc16`` cannot disagree.
"""

from amaranth.hdl import Cat, Const, Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tritherm.formats import CRC16_INIT, CRC16_POLY

__all__ = ["Crc16"]

CRC_WIDTH = 16


def _crc16_step(crc, byte):
    """The CRC register (a `Value`) after shifting in `byte`, most significant bit first:
    an XOR network, eight steps of the polynomial division unrolled."""
    bits = [crc[i] for i in range(CRC_WIDTH)]
    for k in reversed(range(8)):
        feedback = bits[CRC_WIDTH - 1] ^ byte[k]
        shifted = [Const(0, 1)] + bits[:-1]
        bits = [bit ^ feedback if (CRC16_POLY >> i) & 1 else bit
                for i, bit in enumerate(shifted)]
    return Cat(*bits)


class Crc16(wiring.Component):
    """CRC-16/CCITT-FALSE accumulator: a byte per cycle, registered.

    Each cycle with ``valid`` high, ``crc`` becomes the CRC of the bytes so far extended by
    ``data`` (computed combinationally from ``crc`` and ``data``, eight steps of the
    polynomial division unrolled). ``clear`` puts ``crc`` back to `CRC16_INIT`; a byte
    given in the same cycle starts the new message (``crc`` becomes the CRC of that byte).
    After reset ``crc`` is `CRC16_INIT`, so ``crc`` is always the CRC of the message since
    the last reset or clear.

    Attributes
    ----------
    clear : In(1)
        Restart the message.
    valid : In(1)
        ``data`` holds the next byte.
    data : In(8)
    crc : Out(16, init=CRC16_INIT)
        The CRC so far (no final xor, as the format says).
    """

    def __init__(self):
        super().__init__({
            "clear": In(1),
            "valid": In(1),
            "data": In(8),
            "crc": Out(CRC_WIDTH, init=CRC16_INIT),
        })

    def elaborate(self, platform):
        m = Module()
        start = Mux(self.clear, CRC16_INIT, self.crc)
        with m.If(self.valid):
            m.d.sync += self.crc.eq(_crc16_step(start, self.data))
        with m.Elif(self.clear):
            m.d.sync += self.crc.eq(CRC16_INIT)
        return m
