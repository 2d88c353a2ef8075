"""Base-3 weight decoder: one packed byte in, five ternary weights out."""

from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from tritherm.formats import BASE3_CODES, TRITS_PER_BYTE

__all__ = ["Base3Decoder", "TRIT"]

#: A decoded weight: signed(2), so bit 0 says "non-zero" and bit 1 says "negative".
TRIT = signed(2)


class Base3Decoder(wiring.Component):
    """Combinational decoder of a byte holding five base-3 digits (codes w + 1).

    Attributes
    ----------
    byte : In(8)
        The packed byte; digit ``i`` (least significant first) is weight ``i``.
    weights : Out(ArrayLayout(signed(2), 5))
        The five weights in {-1, 0, +1}; all zero when the byte is invalid.
    invalid : Out(1)
        High when the byte is 243..255, which no five weights produce.
    """

    byte: In(8)
    weights: Out(ArrayLayout(TRIT, TRITS_PER_BYTE))
    invalid: Out(1)

    def elaborate(self, platform):
        m = Module()
        with m.Switch(self.byte):
            for value in range(BASE3_CODES):
                with m.Case(value):
                    for i in range(TRITS_PER_BYTE):
                        digit = (value // 3 ** i) % 3
                        if digit != 1:
                            m.d.comb += self.weights[i].eq(digit - 1)
            with m.Default():
                m.d.comb += self.invalid.eq(1)
        return m
