"""The ternary MAC array: int8 activations x packed ternary weights, adds and subtracts only."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tritherm.formats import TERNARY_VARIANTS, TRITS_PER_BYTE, TernaryArrayShape

from .decoder import Base3High, Base3Low

__all__ = ["TernaryArray", "TreeTernaryArray", "WeightWriteSignature", "ternary_term", "ternary_borrow",
           "adder_tree"]


def WeightWriteSignature(shape: TernaryArrayShape) -> wiring.Signature:
    """Byte-wide write port into the packed weight memory (see `TernaryArrayShape`)."""
    return wiring.Signature({
        "en": Out(1),
        "row": Out(range(shape.rows)),
        "column": Out(range(shape.row_bytes)),
        "data": Out(8),
    })


def ternary_term(weight, activation):
    """The product of a weight in {-1, 0, +1} (`TRIT`) and an int8 activation, less the
    weight's borrow: 0 on 0, ``x`` on +1, ``~x = -x - 1`` on -1 (one LUT per bit, no
    negation adder). Add `ternary_borrow` of every weight to get the exact sum."""
    masked = Mux(weight[0], activation, 0).as_signed()
    return masked ^ weight[1].replicate(len(activation)).as_signed()


def ternary_borrow(weight):
    """1 for a -1 weight: what `ternary_term` left out of ``-x``."""
    return weight[1]


def adder_tree(terms):
    """Sum `terms` with a balanced tree of two-input adders (log2 depth, widths growing)."""
    terms = list(terms)
    while len(terms) > 1:
        pairs = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        terms = pairs + ([terms[-1]] if len(terms) % 2 else [])
    return terms[0]


class TernaryArray(wiring.Component):
    """``lanes`` ternary dot products in parallel, ``inputs`` activations per cycle.

    The array computes ``results[l] = sum_k W[l, k] * x[k]`` for ``k < K``, where ``K`` is
    set at run time (``1 <= K <= shape.capacity``), the weights ``W[l, k]`` are in
    {-1, 0, +1} and the activations are int8. Each weight adds, subtracts or skips its
    activation; there is no multiplier. Weights are written into on-chip memory as packed
    bytes (`TernaryArrayShape` gives the layout and `array_weight_image` builds it).

    ``TernaryArray(shape)`` builds the implementation that ``shape.variant`` names: a
    `TreeTernaryArray` (``"tree"``) or a `DenseTernaryArray` (``"dense"``,
    ``"dense-2bit"``, ``"dense-base3"``). All of them have these ports and this protocol,
    and give the same results bit for bit:

    A dot product is ``ceil(K / inputs)`` beats on ``activations``; positions at or past K
    in the last beat are ignored. One word leaves on ``results`` per dot product, all lanes
    together. Results are ``acc_width = bit_length(128 * capacity) + 1`` signed bits wide,
    which holds the extremes ``+-128 * capacity``, so the accumulator cannot overflow.
    Weight writes must not overlap a dot product; a beat may follow the last write at once.

    Parameters
    ----------
    shape : TernaryArrayShape
        Lanes, inputs per cycle, maximum K and the variant.

    Attributes
    ----------
    activations : In(stream.Signature(ArrayLayout(signed(8), inputs)))
    results : Out(stream.Signature(ArrayLayout(signed(acc_width), lanes)))
    k : In(k_width)
        Dot-product length, sampled while a dot product runs.
    weights : In(WeightWriteSignature(shape))
        Write port of the packed weight memory.
    invalid_code : Out(1)
        Sticky: an invalid weight code was found (it counts as a zero weight): a base-3
        byte 243..255, or a 2-bit code 3. The "tree" and "dense-base3" variants find it as
        they decode a beat, the "dense" and "dense-2bit" variants as the byte is written.
    k_overflow : Out(1)
        Sticky: a dot product ran with K beyond ``capacity`` (it was cut at ``capacity``).
    clear_flags : In(1)
        Clears both sticky flags.
    """

    def __new__(cls, shape, *args, **kwargs):
        if cls is TernaryArray:
            if not isinstance(shape, TernaryArrayShape):
                raise TypeError(f"shape must be a TernaryArrayShape, not {shape!r}")
            cls = _implementation(shape.variant)
        return super().__new__(cls, shape, *args, src_loc_at=1, **kwargs)

    def __init__(self, shape: TernaryArrayShape):
        if not isinstance(shape, TernaryArrayShape):
            self._MustUse__silence = True
            raise TypeError(f"shape must be a TernaryArrayShape, not {shape!r}")
        self.shape = shape
        super().__init__({
            "activations": In(stream.Signature(ArrayLayout(signed(8), shape.inputs))),
            "results": Out(stream.Signature(ArrayLayout(signed(shape.acc_width), shape.lanes))),
            "k": In(shape.k_width),
            "weights": In(WeightWriteSignature(shape)),
            "invalid_code": Out(1),
            "k_overflow": Out(1),
            "clear_flags": In(1),
        })


def _implementation(variant: str) -> type:
    """The class of the array variant `variant` (a `TERNARY_VARIANTS` name)."""
    if variant == "tree":
        return TreeTernaryArray
    from .dense import DenseTernaryArray
    if variant in DenseTernaryArray.VARIANTS:
        return DenseTernaryArray
    raise ValueError(f"variant must be one of {', '.join(TERNARY_VARIANTS)}, got {variant!r}")


class TreeTernaryArray(TernaryArray):
    """The ``"tree"`` variant of `TernaryArray`: base-3 bytes in memory, decoded on every
    read, and a tree of two-input adders over ``~x`` terms.

    Weights are held packed five to a byte (1.6 bits a weight) and decoded by `Base3High`
    and `Base3Low` as each row is read, so the activations wait for the decoder in delay
    lines of flip-flops. A -1 weight adds ``~x = -x - 1`` and a borrow counted once per
    lane, so no term needs a negation adder.

    Pipeline: beat accepted and weight row read -> compares of every byte -> its two high
    digits and remainder -> its three low digits -> add, subtract or skip and a balanced
    adder tree, registered every `TREE_LEVELS_PER_STAGE` levels -> accumulate. The whole
    pipeline stalls (``activations.ready`` low) only while a finished result waits for
    ``results.ready``.
    """

    def __init__(self, shape: TernaryArrayShape):
        if isinstance(shape, TernaryArrayShape) and shape.variant != "tree":
            self._MustUse__silence = True
            raise ValueError(f"TreeTernaryArray is the 'tree' variant, not {shape.variant!r}")
        super().__init__(shape)

    #: Adder-tree levels between pipeline registers (each level is one carry chain).
    TREE_LEVELS_PER_STAGE = 2

    def elaborate(self, platform):
        m = Module()
        shape = self.shape
        P, L, G = shape.inputs, shape.lanes, shape.groups

        m.submodules.memory = memory = Memory(
            shape=8 * shape.row_bytes, depth=shape.rows, init=[])
        write = memory.write_port(granularity=8)
        read = memory.read_port()
        m.d.comb += [
            write.addr.eq(self.weights.row),
            write.data.eq(Cat([self.weights.data] * shape.row_bytes)),
            write.en.eq(Mux(self.weights.en, Const(1, shape.row_bytes) << self.weights.column, 0)),
        ]

        # Every register moves on `advance`; the only stall is a finished sum at the end of
        # the pipeline while the output register is still full.
        advance = Signal()
        pipe = _Pipeline(m, advance)

        # Accept a beat, address its weight row, zero the positions at or past K.
        row = Signal(range(shape.rows))
        position = Signal(range(shape.capacity + 1))
        remaining = Signal(signed(shape.k_width + 2))
        m.d.comb += remaining.eq(self.k - position)
        last_row = (remaining <= P) | (row == shape.rows - 1)
        accept = self.activations.valid & self.activations.ready
        m.d.comb += [
            self.activations.ready.eq(advance),
            read.addr.eq(row),
            read.en.eq(advance),
        ]
        with m.If(accept):
            with m.If(last_row):
                m.d.sync += [row.eq(0), position.eq(0)]
            with m.Else():
                m.d.sync += [row.eq(row + 1), position.eq(position + P)]
            with m.If(self.k > shape.capacity):
                m.d.sync += self.k_overflow.eq(1)
        control = _Control(accept, row == 0, last_row)
        x = [Mux(remaining > j, self.activations.payload[j], 0) for j in range(P)]

        # The weight row arrives: take the two high digits off every byte.
        control, x = pipe.stage(control), pipe.registers(x, "x")
        highs = []
        for column in range(shape.row_bytes):
            high = Base3High(pipelined=True)
            m.submodules[f"high_{column}"] = high
            m.d.comb += [high.byte.eq(read.data[8 * column:8 * column + 8]),
                         high.enable.eq(advance)]
            highs.append(high)
        control, x = pipe.stage(control), pipe.registers(x, "x")     # inside Base3High
        control, x = pipe.stage(control), pipe.registers(x, "x")
        high_weights = pipe.registers([h.weights.as_value() for h in highs], "high_weights")
        remainders = pipe.registers([h.remainder for h in highs], "remainder")
        invalid = pipe.registers([h.invalid for h in highs], "invalid")
        with m.If(advance & control.valid & Cat(invalid).any()):
            m.d.sync += self.invalid_code.eq(1)

        # The three low digits from the remainders; weights[lane][j] for input j.
        weights = [[None] * P for _ in range(L)]
        for column in range(shape.row_bytes):
            low = Base3Low()
            m.submodules[f"low_{column}"] = low
            m.d.comb += [low.remainder.eq(remainders[column]), low.invalid.eq(invalid[column])]
            lane, group = divmod(column, G)
            digits = Cat(low.weights.as_value(), high_weights[column])
            for i in range(TRITS_PER_BYTE):
                j = group * TRITS_PER_BYTE + i
                if j < P:
                    weights[lane][j] = digits[2 * i:2 * i + 2]
        control, x = pipe.stage(control), pipe.registers(x, "x")
        weights = [pipe.registers(lane_weights, f"weights_{lane}") for lane, lane_weights
                   in enumerate(weights)]

        # Add, subtract or skip; a balanced adder tree per lane, registered every few levels.
        sums = [[ternary_term(w.as_signed(), x[j]) for j, w in enumerate(lane_weights)]
                + [adder_tree(ternary_borrow(w.as_signed()) for w in lane_weights)]
                for lane_weights in weights]
        while len(sums[0]) > 1:
            for _ in range(self.TREE_LEVELS_PER_STAGE):
                sums = [_adder_level(terms) for terms in sums]
            control = pipe.stage(control)
            sums = [pipe.registers(terms, f"tree_{lane}") for lane, terms in enumerate(sums)]
        partials = [terms[0] for terms in sums]

        # Accumulate; a last beat hands the sums to the output register.
        out_valid = self.results.valid
        m.d.comb += advance.eq(~(control.valid & control.last & out_valid & ~self.results.ready))
        accumulators = Signal(ArrayLayout(signed(shape.acc_width), L))
        totals = [Mux(control.first, 0, accumulators[lane]) + partials[lane] for lane in range(L)]
        with m.If(out_valid & self.results.ready):
            m.d.sync += out_valid.eq(0)
        with m.If(advance & control.valid):
            for lane in range(L):
                m.d.sync += accumulators[lane].eq(totals[lane])
            with m.If(control.last):
                m.d.sync += out_valid.eq(1)
                for lane in range(L):
                    m.d.sync += self.results.payload[lane].eq(totals[lane])

        with m.If(self.clear_flags):
            m.d.sync += [self.invalid_code.eq(0), self.k_overflow.eq(0)]
        return m


def _adder_level(terms):
    """One level of a balanced adder tree."""
    pairs = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
    return pairs + ([terms[-1]] if len(terms) % 2 else [])


class _Control:
    """The control bits that travel down the pipeline with a beat."""

    def __init__(self, valid, first, last):
        self.valid, self.first, self.last = valid, first, last


class _Pipeline:
    """Registers that all move on one `advance` signal, numbered stage by stage."""

    def __init__(self, m, advance):
        self._m, self._advance, self.depth = m, advance, 0

    def registers(self, values, name):
        """A register for each value (keeping its shape), loaded when the pipeline moves."""
        out = []
        for index, value in enumerate(values):
            register = Signal.like(value, name=f"s{self.depth}_{name}_{index}") \
                if isinstance(value, Signal) else \
                Signal(value.shape(), name=f"s{self.depth}_{name}_{index}")
            with self._m.If(self._advance):
                self._m.d.sync += register.eq(value)
            out.append(register)
        return out

    def stage(self, control):
        """The control bits one stage further down."""
        self.depth += 1
        valid, first, last = self.registers([control.valid, control.first, control.last],
                                            "control")
        return _Control(valid, first, last)
