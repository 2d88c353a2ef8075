"""`CouplerMoments`: block sums of the coupler's samples, on one time-shared multiplier.

For every sample it takes, the core reads the cells' x and p through the coupler's read
port (`read_signature`, one cell a cycle) and adds ``moment_terms(cells)`` products into
accumulators in block RAM, in the order of `tritherm.sim.golden.block_moments`:
x_i * 1, then row i of the pairs x_i x_j (j = i..cells-1), for i = 0..cells-1, then
p_i * p_i. A row reads cell i once for x_i (kept in a register) and then cells i..n-1, so a
sample takes ``cells + cells (cells + 1) / 2 + cells + 1`` cycles (53 for 8 cells) and one
16 x 16 multiplier (registered operands and product: one DSP). The accumulators are
``moments_acc_width(max_block)`` bits: exact for any block of up to `max_block` samples.

Pipeline: the address of cell c (C0); its x and p and the operands (C1); the product, and
the accumulator's read (C2); the sum written back (C3). Each sample touches every
accumulator once, so two touches of one are a whole sample apart (at least 7 cycles) and
a read never misses the write before it. With `fresh` high when a sample starts, its
products are written instead of added: the first sample of a block clears the block with
no extra cycle.

Parameters
----------
cells : int
max_block : int
    The most samples a block holds (`MOMENTS_MAX_BLOCK`, a u32, by default).

Attributes
----------
samples : In(stream.Signature(sample_layout(cells)))
    The coupler's samples; one is taken once its x and p have been read.
read : Out(read_signature(cells))
    The coupler's read port.
fresh : In(1)
    Sampled as a sample starts: its products start a new block.
busy : Out(1)
    A sample is being read or its products are in the pipeline.
flags : Out(cells)
    The flags of the last sample taken.
acc_addr : In(range(moment_terms(cells)))
acc_data : Out(signed(width))
    Accumulator `acc_addr`, the cycle after (for the answer's bytes).
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tritherm.formats import (COUPLER_FORMAT, COUPLER_MAX_CELLS, MOMENTS_MAX_BLOCK,
                              moment_terms, moments_acc_width)

from .coupler import read_signature, sample_layout

__all__ = ["CouplerMoments"]

_HEAD, _PAIR, _SQUARE = range(3)


class CouplerMoments(wiring.Component):
    __doc__ = __doc__

    def __init__(self, cells: int = 8, max_block: int = MOMENTS_MAX_BLOCK):
        try:
            if not isinstance(cells, int) or not 2 <= cells <= COUPLER_MAX_CELLS:
                raise ValueError(f"cells must be an integer in [2, {COUPLER_MAX_CELLS}], "
                                 f"got {cells!r}")
            if not isinstance(max_block, int) or not 1 <= max_block <= MOMENTS_MAX_BLOCK:
                raise ValueError(f"max_block must be an integer in [1, {MOMENTS_MAX_BLOCK}], "
                                 f"got {max_block!r}")
        except ValueError:
            self._MustUse__silence = True
            raise
        self.cells = cells
        self.terms = moment_terms(cells)
        self.width = moments_acc_width(max_block)
        super().__init__({
            "samples": In(stream.Signature(sample_layout(cells))),
            "read": Out(read_signature(cells)),
            "fresh": In(1),
            "busy": Out(1),
            "flags": Out(cells),
            "acc_addr": In(range(self.terms)),
            "acc_data": Out(signed(self.width)),
        })

    def elaborate(self, platform):
        m = Module()
        n, terms = self.cells, self.terms
        state = signed(COUPLER_FORMAT.state.width)
        m.submodules.acc = acc = Memory(shape=signed(self.width), depth=terms, init=[])
        acc_rd = acc.read_port()
        acc_wr = acc.write_port()
        out_rd = acc.read_port()
        m.d.comb += [out_rd.addr.eq(self.acc_addr), self.acc_data.eq(out_rd.data)]

        # C0: the sequencer.
        i = Signal(range(n))
        j = Signal(range(n))
        pair_addr = Signal(range(terms))
        fresh = Signal()
        issue = Signal()
        kind = Signal(range(3))
        addr = Signal(range(terms))
        m.d.comb += self.read.addr.eq(Mux(kind == _PAIR, j, i))
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.samples.valid):
                    m.d.sync += [i.eq(0), pair_addr.eq(n), fresh.eq(self.fresh)]
                    m.next = "HEAD"
            with m.State("HEAD"):
                m.d.comb += [issue.eq(1), kind.eq(_HEAD), addr.eq(i)]
                m.d.sync += j.eq(i)
                m.next = "PAIR"
            with m.State("PAIR"):
                m.d.comb += [issue.eq(1), kind.eq(_PAIR), addr.eq(pair_addr)]
                m.d.sync += [pair_addr.eq(pair_addr + 1), j.eq(j + 1)]
                with m.If(j == n - 1):
                    with m.If(i == n - 1):
                        m.d.sync += i.eq(0)
                        m.next = "SQUARE"
                    with m.Else():
                        m.d.sync += i.eq(i + 1)
                        m.next = "HEAD"
            with m.State("SQUARE"):
                m.d.comb += [issue.eq(1), kind.eq(_SQUARE), addr.eq(n + n * (n + 1) // 2 + i)]
                m.d.sync += i.eq(i + 1)
                with m.If(i == n - 1):
                    m.d.sync += i.eq(0)
                    m.next = "TAKE"
            with m.State("TAKE"):
                # The last read has been answered: the coupler may move on.
                m.d.comb += self.samples.ready.eq(1)
                m.d.sync += self.flags.eq(self.samples.payload.flags)
                m.next = "IDLE"

        # C1: operands from the read port's answer.
        v1, kind1, addr1, fresh1 = Signal(), Signal(range(3)), Signal(range(terms)), Signal()
        m.d.sync += [v1.eq(issue), kind1.eq(kind), addr1.eq(addr), fresh1.eq(fresh)]
        row_x = Signal(state)
        word = self.read.data
        with m.If(v1 & (kind1 == _HEAD)):
            m.d.sync += row_x.eq(word.x)
        a, b = Signal(state, name="factor_a"), Signal(state, name="factor_b")
        v2, addr2, fresh2 = Signal(), Signal(range(terms)), Signal()
        m.d.sync += [
            a.eq(Mux(kind1 == _HEAD, word.x, Mux(kind1 == _PAIR, row_x, word.p))),
            b.eq(Mux(kind1 == _HEAD, 1, Mux(kind1 == _PAIR, word.x, word.p))),
            v2.eq(v1), addr2.eq(addr1), fresh2.eq(fresh1)]

        # C2: the product (one DSP) and the accumulator's read.
        product = Signal(signed(2 * COUPLER_FORMAT.state.width))
        v3, addr3, fresh3 = Signal(), Signal(range(terms)), Signal()
        m.d.sync += [product.eq(a * b), v3.eq(v2), addr3.eq(addr2), fresh3.eq(fresh2)]
        m.d.comb += acc_rd.addr.eq(addr2)

        # C3: written back.
        m.d.comb += [acc_wr.addr.eq(addr3), acc_wr.en.eq(v3),
                     acc_wr.data.eq(Mux(fresh3, product, acc_rd.data + product))]

        m.d.comb += self.busy.eq(issue | v1 | v2 | v3 | self.samples.ready)
        return m
