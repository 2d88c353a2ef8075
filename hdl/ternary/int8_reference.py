"""An int8 x int8 dot-product array, the ordinary way: for benchmarks against `TernaryArray`.

It has the ternary array's stream interface and pipeline, but its weights are int8 bytes
in memory and every product is a multiply (``*``), which yosys maps to DSP blocks or to
logic. Not part of any bitstream; only the benchmark and the synthesis tests use it.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .array import adder_tree

__all__ = ["Int8MacArray"]


class Int8MacArray(wiring.Component):
    """``lanes`` int8 dot products in parallel, ``inputs`` activations per cycle.

    ``results[l] = sum_k W[l, k] * x[k]`` over ``ceil(k / inputs)`` beats, with W and x
    int8. Weight byte ``l * inputs + j`` of row ``r`` is the weight of input
    ``r * inputs + j`` for lane ``l``.

    Parameters
    ----------
    lanes, inputs, rows : int
        Outputs in parallel, activations per beat, words of weight memory.

    Attributes
    ----------
    activations : In(stream.Signature(ArrayLayout(signed(8), inputs)))
    results : Out(stream.Signature(ArrayLayout(signed(acc_width), lanes)))
    k : In(range(rows * inputs + 1))
    weights : In(Signature(en, row, column, data))
        Byte-wide write port of the weight memory.
    """

    def __init__(self, lanes: int, inputs: int, rows: int):
        for name, value in (("lanes", lanes), ("inputs", inputs), ("rows", rows)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.lanes, self.inputs, self.rows = lanes, inputs, rows
        self.capacity = rows * inputs
        self.acc_width = (128 * 128 * self.capacity).bit_length() + 1
        super().__init__({
            "activations": In(stream.Signature(ArrayLayout(signed(8), inputs))),
            "results": Out(stream.Signature(ArrayLayout(signed(self.acc_width), lanes))),
            "k": In(range(self.capacity + 1)),
            "weights": In(wiring.Signature({
                "en": Out(1), "row": Out(range(rows)),
                "column": Out(range(lanes * inputs)), "data": Out(8)})),
        })

    def elaborate(self, platform):
        m = Module()
        L, P = self.lanes, self.inputs
        m.submodules.memory = memory = Memory(shape=8 * L * P, depth=self.rows, init=[])
        write, read = memory.write_port(granularity=8), memory.read_port()
        m.d.comb += [
            write.addr.eq(self.weights.row),
            write.data.eq(Cat([self.weights.data] * (L * P))),
            write.en.eq(Mux(self.weights.en, Const(1, L * P) << self.weights.column, 0)),
        ]

        advance = Signal()
        s2_valid, s2_first, s2_last = Signal(), Signal(), Signal()
        out_valid = self.results.valid
        m.d.comb += advance.eq(~(s2_valid & s2_last & out_valid & ~self.results.ready))

        # Stage 0: accept a beat, read its weight row, mask positions past K.
        row = Signal(range(self.rows))
        position = Signal(range(self.capacity + 1))
        last_row = (position + P >= self.k) | (row == self.rows - 1)
        accept = self.activations.valid & self.activations.ready
        s1_valid, s1_first, s1_last = Signal(), Signal(), Signal()
        s1_x = Signal(ArrayLayout(signed(8), P))
        m.d.comb += [self.activations.ready.eq(advance), read.addr.eq(row), read.en.eq(advance)]
        with m.If(advance):
            m.d.sync += [s1_valid.eq(accept), s1_first.eq(row == 0), s1_last.eq(last_row)]
            for j in range(P):
                m.d.sync += s1_x[j].eq(Mux(position + j < self.k, self.activations.payload[j], 0))
        with m.If(accept):
            m.d.sync += [row.eq(Mux(last_row, 0, row + 1)),
                         position.eq(Mux(last_row, 0, position + P))]

        # Stage 1: multiply and sum, one adder tree per lane.
        weights = read.data
        s2_partial = Signal(ArrayLayout(signed((128 * 128 * P).bit_length() + 1), L))
        with m.If(advance):
            m.d.sync += [s2_valid.eq(s1_valid), s2_first.eq(s1_first), s2_last.eq(s1_last)]
            for lane in range(L):
                products = [weights[8 * (lane * P + j):8 * (lane * P + j + 1)].as_signed()
                            * s1_x[j] for j in range(P)]
                m.d.sync += s2_partial[lane].eq(adder_tree(products))

        # Stage 2: accumulate; a last beat hands the sums to the output register.
        accumulators = Signal(ArrayLayout(signed(self.acc_width), L))
        sums = [Mux(s2_first, 0, accumulators[lane]) + s2_partial[lane] for lane in range(L)]
        with m.If(out_valid & self.results.ready):
            m.d.sync += out_valid.eq(0)
        with m.If(advance & s2_valid):
            m.d.sync += [accumulators[lane].eq(sums[lane]) for lane in range(L)]
            with m.If(s2_last):
                m.d.sync += out_valid.eq(1)
                m.d.sync += [self.results.payload[lane].eq(sums[lane]) for lane in range(L)]
        return m
