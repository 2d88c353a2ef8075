"""Base-3 weight decoder: one packed byte in, five ternary weights out.

The decoder comes in two halves so that the array can put a pipeline register between
them: `Base3High` takes the two most significant digits off the byte by parallel constant
compares and one subtraction, leaving a remainder below 27; `Base3Low` reads the three low digits from
a 27-entry table of that remainder (five input bits, two LUT levels). `Base3Decoder` is
the two halves joined, combinationally. Together they are about 80 iCE40 LUTs, a quarter
of a 243-entry table of the whole byte, and need no multiplier.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from tritherm.formats import BASE3_CODES, TRITS_PER_BYTE

__all__ = ["Base3Decoder", "Base3High", "Base3Low", "TRIT", "HIGH_DIGITS", "LOW_DIGITS",
           "at_least"]

#: A decoded weight: signed(2), so bit 0 says "non-zero" and bit 1 says "negative".
TRIT = signed(2)
#: Digits taken by `Base3Low` from the table, and by `Base3High` by compares.
LOW_DIGITS = 3
HIGH_DIGITS = TRITS_PER_BYTE - LOW_DIGITS
#: `Base3High` leaves a remainder below this bound.
REMAINDER_BOUND = 3 ** LOW_DIGITS


def at_least(value, constant: int):
    """``value >= constant`` as plain logic (bit by bit from the top) rather than a
    subtraction: yosys maps a compare to a carry chain, one logic cell per bit, where a
    few LUTs do."""
    result = Const(1)                      # value[:0] >= 0
    for bit in range(len(value)):
        if (constant >> bit) & 1:
            result = value[bit] & result
        else:
            result = value[bit] | result
    return result if constant < (1 << len(value)) else Const(0)


def _digit_to_trit(at_least_one, two):
    """`TRIT` bits of a digit known by its compares: 0 -> -1, 1 -> 0, 2 -> +1."""
    return Cat(two | ~at_least_one, ~at_least_one)


class Base3High(wiring.Component):
    """The two most significant digits of a packed byte, and the remainder below 27.

    ``q = byte // 27`` comes from eight parallel compares (a thermometer code), the
    remainder from one subtraction of ``27 q``.

    Parameters
    ----------
    pipelined : bool
        Register the compares (with the byte) on ``enable``, so the outputs follow the
        byte one cycle later and the path is cut in two.

    Attributes
    ----------
    byte : In(8)
    weights : Out(ArrayLayout(signed(2), 2))
        Weights of digits 3 and 4; zero when the byte is invalid.
    remainder : Out(range(27))
        The byte's value modulo 27 (meaningless when invalid).
    invalid : Out(1)
        High when the byte is 243..255, which no five weights produce.
    """

    def __init__(self, pipelined: bool = False):
        self.pipelined = pipelined
        members = {
            "byte": In(8),
            "weights": Out(ArrayLayout(TRIT, HIGH_DIGITS)),
            "remainder": Out(range(REMAINDER_BOUND)),
            "invalid": Out(1),
        }
        if pipelined:
            members["enable"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        # q = byte // 27 (the two high digits) from eight parallel compares against 27 k,
        # a thermometer code; then one subtraction of 27 q.
        m = Module()
        byte = self.byte
        thermometer = Cat(at_least(byte, REMAINDER_BOUND * k) for k in range(1, 9))
        invalid = at_least(byte, BASE3_CODES)
        if self.pipelined:
            registered = Signal(len(byte) + len(thermometer) + 1)
            with m.If(self.enable):
                m.d.sync += registered.eq(Cat(byte, thermometer, invalid))
            byte, thermometer, invalid = (registered[:8], registered[8:16], registered[16])
        m.d.comb += self.invalid.eq(invalid)
        t = [None] + [thermometer[k - 1] for k in range(1, 9)]   # t[k]: byte >= 27 k
        top_one, top_two = t[3], t[6]                         # digit 4: q >= 3, q >= 6
        low_one = (t[1] & ~t[3]) | (t[4] & ~t[6]) | t[7]       # digit 3: q mod 3 >= 1
        low_two = (t[2] & ~t[3]) | (t[5] & ~t[6]) | t[8]       #          q mod 3 >= 2
        for index, (one, two) in enumerate([(low_one, low_two), (top_one, top_two)]):
            trit = self.weights.as_value()[2 * index:2 * index + 2]
            m.d.comb += trit.eq(Mux(invalid, 0, _digit_to_trit(one, two)))
        offset = 0
        for k in range(1, 9):
            offset = Mux(t[k], REMAINDER_BOUND * k, offset)
        m.d.comb += self.remainder.eq((byte - offset)[:len(self.remainder)])
        return m


class Base3Low(wiring.Component):
    """The three low digits of a packed byte, from its remainder modulo 27 (a table).

    Attributes
    ----------
    remainder : In(range(27))
    invalid : In(1)
        Forces zero weights (the byte was 243..255).
    weights : Out(ArrayLayout(signed(2), 3))
        Weights of digits 0, 1 and 2.
    """

    remainder: In(range(REMAINDER_BOUND))
    invalid: In(1)
    weights: Out(ArrayLayout(TRIT, LOW_DIGITS))

    def elaborate(self, platform):
        # Each output bit is an OR of the remainders whose digit sets it, written as plain
        # expressions: a comb `m.Switch` becomes a Verilog `always @*` that Icarus does not
        # evaluate until an input changes, leaving the output X after reset.
        m = Module()
        matches = [self.remainder == value for value in range(REMAINDER_BOUND)]
        codes = [sum(((value // 3 ** i % 3 - 1) & 0b11) << (2 * i) for i in range(LOW_DIGITS))
                 for value in range(REMAINDER_BOUND)]
        bits = []
        for bit in range(2 * LOW_DIGITS):
            hits = [matches[value] for value in range(REMAINDER_BOUND) if codes[value] >> bit & 1]
            bits.append(Cat(hits).any() & ~self.invalid)
        m.d.comb += self.weights.as_value().eq(Cat(bits))
        return m


class Base3Decoder(wiring.Component):
    """Combinational decoder of a byte holding five base-3 digits (codes w + 1):
    `Base3High` and `Base3Low` joined.

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
        m.submodules.high = high = Base3High()
        m.submodules.low = low = Base3Low()
        m.d.comb += [
            high.byte.eq(self.byte),
            low.remainder.eq(high.remainder),
            low.invalid.eq(high.invalid),
            self.invalid.eq(high.invalid),
            self.weights.as_value().eq(Cat(low.weights.as_value(), high.weights.as_value())),
        ]
        return m
