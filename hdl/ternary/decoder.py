"""Base-3 weight decoder: one packed byte in, five ternary weights out."""

from amaranth.hdl import Cat, Module, Mux, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from tritherm.formats import BASE3_CODES, TRITS_PER_BYTE

__all__ = ["Base3Decoder", "TRIT"]

#: A decoded weight: signed(2), so bit 0 says "non-zero" and bit 1 says "negative".
TRIT = signed(2)


class Base3Decoder(wiring.Component):
    """Combinational decoder of a byte holding five base-3 digits (codes w + 1), built
    from constant compares and subtractions (no table, no multiplier).

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
        # Mixed-radix extraction, most significant digit first: at digit i the remainder
        # is below 3**(i+1); two compares against 3**i and 2 * 3**i give the digit, and the
        # matching subtraction the next remainder. About 5x smaller than a 243-way table.
        m = Module()
        m.d.comb += self.invalid.eq(self.byte >= BASE3_CODES)
        remainder = self.byte
        for i in reversed(range(TRITS_PER_BYTE)):
            unit = 3 ** i
            at_least_one, two = remainder >= unit, remainder >= 2 * unit
            weight = self.weights.as_value()[2 * i:2 * i + 2]
            # digit 0 -> -1 (0b11), 1 -> 0 (0b00), 2 -> +1 (0b01); zero when invalid
            m.d.comb += weight.eq(Mux(self.invalid, 0, Cat(two | ~at_least_one, ~at_least_one)))
            remainder = Mux(two, remainder - 2 * unit,
                            Mux(at_least_one, remainder - unit, remainder))[:max(unit - 1, 1).bit_length()]
        return m
