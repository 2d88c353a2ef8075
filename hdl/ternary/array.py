"""The ternary MAC array: int8 activations x packed ternary weights, adds and subtracts only."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tritherm.formats import TRITS_PER_BYTE, TernaryArrayShape

from .decoder import TRIT, Base3Decoder

__all__ = ["TernaryArray", "WeightWriteSignature", "ternary_term", "ternary_borrow",
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
    activation; there is no multiplier. Weights are held in on-chip memory packed five to a
    byte (`TernaryArrayShape` gives the layout) and decoded by `Base3Decoder`.

    A dot product is ``ceil(K / inputs)`` beats on ``activations``; positions at or past K
    in the last beat are ignored. One word leaves on ``results`` per dot product, all lanes
    together. Results are ``acc_width = bit_length(128 * capacity) + 1`` signed bits wide,
    which holds the extremes ``+-128 * capacity``, so the accumulator cannot overflow.

    Pipeline (four stages): beat accepted and weight row read -> row decoded -> add,
    subtract or skip and adder tree -> accumulate. The whole pipeline stalls (``activations.ready`` low) only while a finished result waits for
    ``results.ready``. Weight writes must not overlap a dot product.

    Parameters
    ----------
    shape : TernaryArrayShape
        Lanes, inputs per cycle and maximum K.

    Attributes
    ----------
    activations : In(stream.Signature(ArrayLayout(signed(8), inputs)))
    results : Out(stream.Signature(ArrayLayout(signed(acc_width), lanes)))
    k : In(k_width)
        Dot-product length, sampled while a dot product runs.
    weights : In(WeightWriteSignature(shape))
        Write port of the packed weight memory.
    invalid_code : Out(1)
        Sticky: a weight byte in 243..255 was decoded (it counts as five zero weights).
    k_overflow : Out(1)
        Sticky: a dot product ran with K beyond ``capacity`` (it was cut at ``capacity``).
    clear_flags : In(1)
        Clears both sticky flags.
    """

    def __init__(self, shape: TernaryArrayShape):
        if not isinstance(shape, TernaryArrayShape):
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

        # Every stage moves on `advance`; the only stall is a finished sum at the end of
        # the pipeline while the output register is still full.
        stages = [_Stage(f"s{n}") for n in range(4)]
        s1, s2, s3 = stages[1:]
        advance = Signal()
        out_valid = self.results.valid
        m.d.comb += advance.eq(~(s3.valid & s3.last & out_valid & ~self.results.ready))
        with m.If(advance):
            for before, after in zip(stages, stages[1:]):
                m.d.sync += after.follow(before)

        # Stage 0: accept a beat, address its weight row, zero the positions at or past K.
        s0 = stages[0]
        row = Signal(range(shape.rows))
        position = Signal(range(shape.capacity + 1))
        remaining = Signal(signed(shape.k_width + 2))
        m.d.comb += remaining.eq(self.k - position)
        last_row = (remaining <= P) | (row == shape.rows - 1)
        m.d.comb += [
            s0.valid.eq(self.activations.valid & self.activations.ready),
            s0.first.eq(row == 0),
            s0.last.eq(last_row),
            self.activations.ready.eq(advance),
            read.addr.eq(row),
            read.en.eq(advance),
        ]
        s1_x = Signal(ArrayLayout(signed(8), P))
        with m.If(advance):
            for j in range(P):
                m.d.sync += s1_x[j].eq(Mux(remaining > j, self.activations.payload[j], 0))
        with m.If(s0.valid):
            with m.If(last_row):
                m.d.sync += [row.eq(0), position.eq(0)]
            with m.Else():
                m.d.sync += [row.eq(row + 1), position.eq(position + P)]
            with m.If(self.k > shape.capacity):
                m.d.sync += self.k_overflow.eq(1)

        # Stage 1: decode the weight row (read.data is valid now) and register the weights.
        s2_x = Signal.like(s1_x)
        s2_weights = Signal(ArrayLayout(TRIT, L * P))   # lane l, input j at l * P + j
        any_invalid = []
        for column in range(shape.row_bytes):
            lane, group = divmod(column, G)
            decoder = Base3Decoder()
            m.submodules[f"decoder_{lane}_{group}"] = decoder
            m.d.comb += decoder.byte.eq(read.data[8 * column:8 * column + 8])
            any_invalid.append(decoder.invalid)
            with m.If(advance):
                for i in range(TRITS_PER_BYTE):
                    j = group * TRITS_PER_BYTE + i
                    if j < P:
                        m.d.sync += s2_weights[lane * P + j].eq(decoder.weights[i])
        with m.If(advance):
            m.d.sync += s2_x.eq(s1_x)
            with m.If(s1.valid & Cat(any_invalid).any()):
                m.d.sync += self.invalid_code.eq(1)

        # Stage 2: add, subtract or skip; one adder tree per lane.
        s3_partial = Signal(ArrayLayout(signed((128 * P).bit_length() + 1), L))
        with m.If(advance):
            for lane in range(L):
                weights = [s2_weights[lane * P + j] for j in range(P)]
                terms = [ternary_term(w, s2_x[j]) for j, w in enumerate(weights)]
                borrows = adder_tree(ternary_borrow(w) for w in weights)
                m.d.sync += s3_partial[lane].eq(adder_tree(terms + [borrows]))

        # Stage 3: accumulate; a last beat hands the sums to the output register.
        accumulators = Signal(ArrayLayout(signed(shape.acc_width), L))
        sums = [Mux(s3.first, 0, accumulators[lane]) + s3_partial[lane] for lane in range(L)]
        with m.If(out_valid & self.results.ready):
            m.d.sync += out_valid.eq(0)
        with m.If(advance & s3.valid):
            for lane in range(L):
                m.d.sync += accumulators[lane].eq(sums[lane])
            with m.If(s3.last):
                m.d.sync += out_valid.eq(1)
                for lane in range(L):
                    m.d.sync += self.results.payload[lane].eq(sums[lane])

        with m.If(self.clear_flags):
            m.d.sync += [self.invalid_code.eq(0), self.k_overflow.eq(0)]
        return m


class _Stage:
    """The control bits that travel down the pipeline with a beat."""

    def __init__(self, name):
        self.valid = Signal(name=f"{name}_valid")
        self.first = Signal(name=f"{name}_first")
        self.last = Signal(name=f"{name}_last")

    def follow(self, before):
        return [self.valid.eq(before.valid), self.first.eq(before.first),
                self.last.eq(before.last)]
