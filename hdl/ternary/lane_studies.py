"""One lane of ternary dot products built four ways: for the benchmark, not a bitstream.

Each study is the datapath of one output lane alone: ``inputs`` activations and their
weight codes in, the registered sum out, with no weight memory, no control and no
accumulation over beats (the arrays have those). They measure the ideas the dense array
was weighed against, on the same parts and through the same tools:

- `AdderTreeLane`: the dense array's lane: exact terms (``x``, ``z = -x`` or 0, one LUT a
  bit) into two-input adders, registered at every level.
- `CompressorTreeLane`: the same terms into a tree of full adders (3:2 counters built from
  LUTs, a Wallace tree) down to two rows, then one carry-chain adder.
- `BitSerialLane`: one bit of every activation a cycle (eight cycles a vector): terms of
  one bit, a small adder tree, and a shift-and-add accumulator; ``inputs / 8`` MACs a cycle.
- `LookupLane`: lookup instead of add (bitnet.cpp's TL1/TL2, TeLLMe): for every group of
  five activations a 256-entry table in block RAM holds the sums of all 243 weight
  combinations, addressed by the base-3 weight byte itself; the lane adds one table word a
  group. The tables belong to one activation vector; they are written through ``fill``
  (a builder walks the 243 codes, summing five activations; it is included).

The unit tests check each study against the golden model (tests/test_ternary_amaranth.py).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tritherm.formats import BASE3_CODES, TRITS_PER_BYTE, accumulator_width

from .dense import block_ram_register, select_term

__all__ = ["AdderTreeLane", "CompressorTreeLane", "BitSerialLane", "LookupLane", "LANE_STUDIES"]


def _check_inputs(inputs):
    if not isinstance(inputs, int) or not 1 <= inputs <= 256:
        raise ValueError(f"inputs must be an integer in [1, 256], got {inputs!r}")


def _sum_width(inputs: int) -> int:
    """Signed bits of a sum of `inputs` exact terms in [-127, 127]."""
    return (127 * inputs).bit_length() + 1


class _TermLane(wiring.Component):
    """A lane fed with exact-term operands: ``x``, ``z = -x`` (in [-127, 127]) and the
    weights' two-bit `TRIT` codes; ``sum`` is the sum of the terms, registered."""

    def __init__(self, inputs: int):
        _check_inputs(inputs)
        self.inputs = inputs
        self.macs_per_cycle = inputs
        super().__init__({
            "x": In(ArrayLayout(signed(8), inputs)),
            "z": In(ArrayLayout(signed(8), inputs)),
            "codes": In(ArrayLayout(2, inputs)),
            "sum": Out(signed(_sum_width(inputs))),
        })

    def terms(self):
        return [select_term(self.codes[j], self.x[j], self.z[j], "base3")
                for j in range(self.inputs)]


class AdderTreeLane(_TermLane):
    """Exact terms into a balanced tree of two-input adders, registered at every level."""

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.sum.eq(_registered_tree(m, self.terms()))
        return m


class CompressorTreeLane(_TermLane):
    """Exact terms into a Wallace tree of full adders (LUT logic), then one carry-chain
    adder. The terms are made unsigned by flipping their sign bits (``t + 128``) and the
    constant ``128 * inputs`` is taken off at the end. Registered every two levels of
    full adders."""

    def elaborate(self, platform):
        m = Module()
        width = (255 * self.inputs).bit_length() + 1      # the biased sum, and a zero on top
        columns = [[] for _ in range(width)]
        for term in self.terms():
            biased = term.as_unsigned() ^ 0x80
            for bit in range(8):
                columns[bit].append(biased[bit])
        level = 0
        while max(len(column) for column in columns) > 2:
            reduced = [[] for _ in range(width)]
            for bit, column in enumerate(columns):
                while len(column) >= 3:
                    a, b, c = column.pop(), column.pop(), column.pop()
                    reduced[bit].append(a ^ b ^ c)
                    if bit + 1 < width:
                        reduced[bit + 1].append((a & b) | (a & c) | (b & c))
                reduced[bit].extend(column)
            level += 1
            if level % 2 == 0:
                reduced = [[_register(m, value) for value in column] for column in reduced]
            columns = reduced
        rows = [Cat(column[i] if i < len(column) else Const(0) for column in columns)
                for i in range(2)]
        total = (rows[0] + rows[1])[:width]
        m.d.sync += self.sum.eq(total.as_signed() - 128 * self.inputs)
        return m


class BitSerialLane(wiring.Component):
    """One bit of each of ``inputs`` activations a cycle, most significant first (the
    sign bit weighs -128): ``sum`` holds ``sum_j w_j x_j`` once the eight planes are in
    (``done``); ``inputs / 8`` MACs a cycle.

    Attributes
    ----------
    bits : In(inputs)
        Bit ``7 - phase`` of every activation.
    codes : In(ArrayLayout(2, inputs))
        The weights' `TRIT` codes, held for the eight cycles.
    start : In(1)
        The first (sign) bit is on ``bits``.
    """

    def __init__(self, inputs: int):
        _check_inputs(inputs)
        self.inputs = inputs
        self.macs_per_cycle = inputs / 8
        super().__init__({
            "bits": In(inputs),
            "codes": In(ArrayLayout(2, inputs)),
            "start": In(1),
            "sum": Out(signed(accumulator_width(inputs))),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        # w_j * b_j in {-1, 0, +1}, summed over the inputs by a registered adder tree.
        level = [Mux(self.bits[j] & self.codes[j][0], Mux(self.codes[j][1], -1, 1), 0)
                 .as_signed() for j in range(self.inputs)]
        start = self.start
        while len(level) > 1:
            pairs = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
            pairs += level[-1:] if len(level) % 2 else []
            level = [_register(m, value) for value in pairs]
            start = _register(m, start)
        plane = _register(m, level[0])
        start = _register(m, start)
        # Shift and add, most significant plane first; the sign plane counts negative.
        acc = Signal(signed(len(self.sum)))
        phase = Signal(range(9), init=8)              # planes taken since the sign plane
        with m.If(start):
            m.d.sync += [acc.eq(-plane), phase.eq(1)]
        with m.Elif(phase != 8):
            m.d.sync += [acc.eq((acc << 1) + plane), phase.eq(phase + 1)]
        m.d.comb += [self.sum.eq(acc), self.done.eq(phase == 8)]
        return m


class LookupLane(wiring.Component):
    """Lookup instead of add: one 256-entry table of sums in block RAM for every group
    of five activations, addressed by the base-3 weight byte; ``inputs`` MACs a cycle.

    ``fill`` builds the tables for new activations: while it is high, a counter walks the
    243 weight codes of each group in turn and writes the sum of its five activations
    (taken from ``x``) into the group's table; ``fill_done`` rises when all are written.

    Attributes
    ----------
    x : In(ArrayLayout(signed(8), inputs))
    weight_bytes : In(ArrayLayout(8, groups))
    sum : Out(signed)
        Sum over the groups of their table words, registered.
    """

    def __init__(self, inputs: int):
        _check_inputs(inputs)
        self.inputs = inputs
        self.groups = -(-inputs // TRITS_PER_BYTE)
        self.macs_per_cycle = inputs
        self.entry_width = (127 * TRITS_PER_BYTE).bit_length() + 1
        super().__init__({
            "x": In(ArrayLayout(signed(8), inputs)),
            "weight_bytes": In(ArrayLayout(8, self.groups)),
            "fill": In(1),
            "fill_done": Out(1),
            "sum": Out(signed(_sum_width(inputs))),
        })

    def elaborate(self, platform):
        m = Module()
        G, width = self.groups, self.entry_width
        # The builder: code and group counters, the code's digits as weights, their sum.
        code = Signal(range(BASE3_CODES))
        group = Signal(range(G + 1))
        digits = [Signal(range(3), name=f"digit{i}") for i in range(TRITS_PER_BYTE)]
        with m.If(self.fill & (group != G)):
            with m.If(code == BASE3_CODES - 1):
                m.d.sync += [code.eq(0), group.eq(group + 1)]
                m.d.sync += [digit.eq(0) for digit in digits]
            with m.Else():
                m.d.sync += code.eq(code + 1)
                carry = Const(1)
                for digit in digits:                  # count in base 3
                    m.d.sync += digit.eq(Mux(carry, Mux(digit == 2, 0, digit + 1), digit))
                    carry = carry & (digit == 2)
        with m.If(~self.fill):
            m.d.sync += [code.eq(0), group.eq(0)]
        m.d.comb += self.fill_done.eq(group == G)
        group_x = [[self.x[5 * g + i] if 5 * g + i < self.inputs else Const(0, signed(8))
                    for i in range(TRITS_PER_BYTE)] for g in range(G)]
        chosen = [Signal(signed(8), name=f"x_at_{i}") for i in range(TRITS_PER_BYTE)]
        for i in range(TRITS_PER_BYTE):
            value = Const(0, signed(8))
            for g in range(G):
                value = Mux(group == g, group_x[g][i], value)
            m.d.comb += chosen[i].eq(value)
        entry = sum(Mux(digit == 2, x, Mux(digit == 0, -x, 0))
                    for digit, x in zip(digits, chosen))
        looked_up = []
        for g in range(G):
            m.submodules[f"table{g}"] = table = Memory(shape=signed(width), depth=256, init=[],
                                                       attrs={"no_rw_check": 1})
            write = table.write_port()
            m.d.comb += [write.addr.eq(code), write.data.eq(entry),
                         write.en.eq(self.fill & (group == g))]
            looked_up.append(block_ram_register(m, table, self.weight_bytes[g], 1,
                                                f"word{g}").as_signed())
        m.d.sync += self.sum.eq(_registered_tree(m, looked_up))
        return m


def _registered_tree(m, level):
    """The sum of `level` by a balanced tree of two-input adders, registered at every
    level (an odd one out waits a level in its own register)."""
    while len(level) > 1:
        pairs = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        pairs += level[-1:] if len(level) % 2 else []
        level = [_register(m, value) for value in pairs]
    return level[0]


def _register(m, value):
    register = Signal(value.shape(), reset_less=True)
    m.d.sync += register.eq(value)
    return register


#: The studies by benchmark name.
LANE_STUDIES = {"lane-adder-tree": AdderTreeLane, "lane-compressor": CompressorTreeLane,
                "lane-bit-serial": BitSerialLane, "lane-lookup": LookupLane}
