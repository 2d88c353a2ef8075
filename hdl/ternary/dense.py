"""The dense ternary array: weights kept two bits each, exact 8-bit terms, no borrows.

`DenseTernaryArray` is the ``"dense"``, ``"dense-2bit"`` and ``"dense-base3"`` variants of
`TernaryArray`. On a 4-input-LUT part with carry chains each product and each adder bit
is one logic cell, so the array is built to spend almost nothing else:

- **Two bits a weight in block RAM** (`DecodingWeightStore`, `TwoBitWeightStore`): the
  datapath reads codes it uses as they are; the base-3 bytes are decoded once, as they
  are written (a 256-entry table in one block RAM), not on every read. The control
  variant ``"dense-base3"`` (`Base3WeightStore`) keeps base-3 bytes in memory and decodes
  every row as it is read, with the activations waiting in delay lines.
- **Exact 8-bit terms from one LUT a bit**: every input j has ``x_j`` and ``z_j = -x_j``
  (once, for all lanes), and a term is ``x``, ``z`` or 0: one 4-input function of
  ``x_j[i]``, ``z_j[i]`` and the weight's two bits. No borrow is counted. ``-(-128)``
  does not fit in 8 bits, so a beat that holds -128 runs twice: first with -127 in its
  place, then with -1 there and 0 elsewhere (``-128 = -127 + -1``); BitNet's absmax
  quantisation gives -127..127, so it never happens there.
- **An adder tree registered at every level**: the registers sit in the adders' logic
  cells, so they cost nothing and every path is one carry chain.
- **The accumulator is the result register**: a finished sum waits in it, and the next
  dot product's first beat stalls until it is taken.

Pipeline: beat accepted, row address, activations masked and registered -> weight codes
(after the store's latency) -> ``z = -x``, terms and the first adder level -> the rest of
the tree, one level a stage -> accumulate.
"""

from amaranth.back.rtlil import Undef
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tritherm.formats import BASE3_CODES, TRITS_PER_BYTE, TernaryArrayShape

from .array import TernaryArray, WeightWriteSignature
from .decoder import Base3High, Base3Low, at_least

__all__ = ["DenseTernaryArray", "DecodingWeightStore", "TwoBitWeightStore",
           "Base3WeightStore", "WeightStoreSignature", "select_term", "block_ram_register"]


def WeightStoreSignature(shape: TernaryArrayShape) -> wiring.Signature:
    """A weight store seen from the array: its write port, a row to read and the codes.

    ``codes`` holds a 2-bit code for each (lane, input), lane-major, ``latency`` cycles
    of ``enable`` after ``row``; ``invalid`` is high for a cycle when an invalid code was
    written (or, for a store that decodes as it reads, is in the codes that came out);
    ``busy`` is high while a write is still on its way into the memory.
    """
    return wiring.Signature({
        "weights": In(WeightWriteSignature(shape)),
        "row": In(range(shape.rows)),
        "enable": In(1),
        "codes": Out(ArrayLayout(2, shape.lanes * shape.inputs)),
        "invalid": Out(1),
        "busy": Out(1),
    })


def block_ram_register(m: Module, memory: Memory, address, enable, name: str):
    """Read `memory` at `address` into a register loaded on `enable`, in a way that yosys
    puts inside the block RAM.

    Amaranth's synchronous read ports promise the old data when the same address is
    written in the same cycle, and an initial value of zero; iCE40 block RAM does
    neither, so yosys adds logic to every output bit to keep those promises (about a
    LUT a bit). Weight writes never overlap reads here, so the memory is marked
    ``no_rw_check`` and read through an asynchronous port and a register whose initial
    value is undefined: yosys then merges the register into the block RAM's read port.
    """
    read = memory.read_port(domain="comb")
    data = Signal(len(read.data), name=name, reset_less=True,
                  attrs={"init": Undef(len(read.data))})
    m.d.comb += read.addr.eq(address)
    with m.If(enable):
        m.d.sync += data.eq(read.data)
    return data


def _weight_memory(shape, unit, name, fill=0):
    """The weight memory: a word a row, `unit` bits a byte column, each unit `fill` at
    first."""
    word = sum(fill << (unit * column) for column in range(shape.row_bytes))
    return Memory(shape=unit * shape.row_bytes, depth=shape.rows, init=[word] * shape.rows,
                  attrs={"no_rw_check": 1}, src_loc_at=1)


def _column_enables(shape, en, column):
    return Mux(en, Const(1, shape.row_bytes) << column, 0)


class DecodingWeightStore(wiring.Component):
    """Base-3 bytes in, two-bit codes (`TRIT`) in memory, decoded once as they are written.

    The decoder is a 256-entry table (the five codes of each byte, and a flag for 243..255)
    in one block RAM, whose word is registered before it is written: a write lands two
    cycles after it is made, and ``busy`` is high until it has. Codes come out one cycle
    after ``row``.
    """

    latency = 1
    invalid_on_read = False

    def __init__(self, shape: TernaryArrayShape):
        self.shape = shape
        super().__init__(WeightStoreSignature(shape))

    @staticmethod
    def table() -> list[int]:
        """The decoding table: five `TRIT` codes (bits ``2i+1:2i``), and bit 10 set for an
        invalid byte (whose weights are zero)."""
        unit = 2 * TRITS_PER_BYTE
        entries = []
        for byte in range(256):
            if byte >= BASE3_CODES:
                entries.append(1 << unit)
                continue
            code = 0
            for digit in range(TRITS_PER_BYTE):
                code |= ((byte // 3 ** digit % 3 - 1) & 0b11) << (2 * digit)
            entries.append(code)
        return entries

    def elaborate(self, platform):
        m = Module()
        shape, unit = self.shape, 2 * TRITS_PER_BYTE
        # Unwritten weights read as a byte 0 does (five -1 weights), as in the other variants.
        m.submodules.memory = memory = _weight_memory(shape, unit, "memory",
                                                      fill=self.table()[0])
        m.submodules.table = table = Memory(shape=unit + 1, depth=256, init=self.table())
        write = memory.write_port(granularity=unit)
        lookup = table.read_port()
        # The byte's address waits for the table, then the table's word is registered
        # before it is written (a block RAM's read data come late on the ECP5).
        en = [Signal(name=f"en{i}") for i in range(2)]
        row = [Signal.like(self.weights.row, name=f"row{i}") for i in range(2)]
        column = [Signal.like(self.weights.column, name=f"column{i}") for i in range(2)]
        decoded = Signal.like(lookup.data)
        m.d.sync += [en[0].eq(self.weights.en), row[0].eq(self.weights.row),
                     column[0].eq(self.weights.column),
                     en[1].eq(en[0]), row[1].eq(row[0]), column[1].eq(column[0]),
                     decoded.eq(lookup.data)]
        m.d.comb += [
            lookup.addr.eq(self.weights.data),
            write.addr.eq(row[1]),
            write.data.eq(Cat([decoded[:unit]] * shape.row_bytes)),
            write.en.eq(_column_enables(shape, en[1], column[1])),
            self.invalid.eq(en[1] & decoded[unit]),
        ]
        busy = Signal()                           # en[0] | en[1], as a register of its own
        m.d.sync += busy.eq(self.weights.en | en[0])
        m.d.comb += self.busy.eq(busy)
        data = block_ram_register(m, memory, self.row, self.enable, "row_codes")
        m.d.comb += self.codes.eq(_unpack(shape, data, unit, TRITS_PER_BYTE))
        return m


class TwoBitWeightStore(wiring.Component):
    """Bytes of four two-bit codes (``w + 1``, bitnet.cpp's I2_S codes) written as they
    are: no decoder. Code 3 is invalid (a zero weight) and raises ``invalid`` as it is
    written. Codes come out one cycle after ``row``."""

    latency = 1
    invalid_on_read = False

    def __init__(self, shape: TernaryArrayShape):
        self.shape = shape
        super().__init__(WeightStoreSignature(shape))

    def elaborate(self, platform):
        m = Module()
        shape = self.shape
        m.submodules.memory = memory = _weight_memory(shape, 8, "memory")
        write = memory.write_port(granularity=8)
        data = self.weights.data
        m.d.comb += [
            write.addr.eq(self.weights.row),
            write.data.eq(Cat([data] * shape.row_bytes)),
            write.en.eq(_column_enables(shape, self.weights.en, self.weights.column)),
            self.invalid.eq(self.weights.en & Cat(data[2 * i] & data[2 * i + 1]
                                                  for i in range(4)).any()),
        ]
        row_data = block_ram_register(m, memory, self.row, self.enable, "row_codes")
        m.d.comb += self.codes.eq(_unpack(shape, row_data, 8, shape.weights_per_byte))
        return m


class Base3WeightStore(wiring.Component):
    """Base-3 bytes in memory (1.6 bits a weight), decoded on every read: the RAM-for-logic
    control of `DecodingWeightStore`. Each byte column has its own `Base3High` (compares,
    registered) and `Base3Low`, so codes (`TRIT`) come out three cycles after ``row``, and
    ``invalid`` with them."""

    latency = 3
    invalid_on_read = True

    def __init__(self, shape: TernaryArrayShape):
        self.shape = shape
        super().__init__(WeightStoreSignature(shape))

    def elaborate(self, platform):
        m = Module()
        shape = self.shape
        m.submodules.memory = memory = _weight_memory(shape, 8, "memory")
        write = memory.write_port(granularity=8)
        m.d.comb += [
            write.addr.eq(self.weights.row),
            write.data.eq(Cat([self.weights.data] * shape.row_bytes)),
            write.en.eq(_column_enables(shape, self.weights.en, self.weights.column)),
        ]
        row_data = block_ram_register(m, memory, self.row, self.enable, "row_bytes")
        decoded, invalid = [], []
        for column in range(shape.row_bytes):
            m.submodules[f"high_{column}"] = high = Base3High(pipelined=True)
            m.submodules[f"low_{column}"] = low = Base3Low()
            m.d.comb += [high.byte.eq(row_data[8 * column:8 * column + 8]),
                         high.enable.eq(self.enable),
                         low.remainder.eq(high.remainder), low.invalid.eq(high.invalid)]
            decoded.append(Cat(low.weights.as_value(), high.weights.as_value()))
            invalid.append(high.invalid)
        codes = Signal(2 * TRITS_PER_BYTE * shape.row_bytes, reset_less=True)
        bad = Signal()
        with m.If(self.enable):
            m.d.sync += [codes.eq(Cat(decoded)), bad.eq(Cat(invalid).any())]
        m.d.comb += [self.codes.eq(_unpack(shape, codes, 2 * TRITS_PER_BYTE, TRITS_PER_BYTE)),
                     self.invalid.eq(bad)]
        return m


def _unpack(shape, data, unit, per_byte):
    """The codes of a row, lane-major, from the memory word `data` (a `unit` of bits for
    each byte column, `per_byte` codes in each)."""
    codes = []
    for lane in range(shape.lanes):
        for j in range(shape.inputs):
            group, digit = divmod(j, per_byte)
            base = unit * (lane * shape.groups + group) + 2 * digit
            codes.append(data[base:base + 2])
    return Cat(codes)


def select_term(code, x, z, packing: str):
    """The term of one weight code: ``x`` for +1, ``z = -x`` for -1, else 0. One 4-input
    LUT a bit: `TRIT` codes (bit 0 non-zero, bit 1 negative) or, for the ``"2bit"``
    packing, I2_S codes ``w + 1`` (code 3 invalid, a zero)."""
    if packing == "2bit":
        return Mux(code[0], 0, Mux(code[1], x, z))
    return Mux(code[0], Mux(code[1], z, x), 0)


class DenseTernaryArray(TernaryArray):
    """The ``"dense"``, ``"dense-2bit"`` and ``"dense-base3"`` variants of `TernaryArray`
    (same ports and protocol); the module documentation says how it is built.

    A beat holding -128 at a position below K takes two cycles (``activations.ready``
    stays low for the second); every other beat takes one. Weight writes of the ``"dense"``
    variant land two cycles after they are made; a beat offered before waits for them.

    Parameters
    ----------
    shape : TernaryArrayShape
    ram_output_register : bool
        Register the weight codes once more between the memory and the terms: for block
        RAM whose read data come late (the ECP5's DP16KD, read without its own output
        register, takes about 6 ns). A flip-flop per code bit: free on the ECP5, whose
        flip-flops take no LUT; a logic cell each on the iCE40, where it is not needed.
    """

    #: The variants this class builds, and their weight stores.
    VARIANTS = {"dense": DecodingWeightStore, "dense-2bit": TwoBitWeightStore,
                "dense-base3": Base3WeightStore}

    def __init__(self, shape: TernaryArrayShape, *, ram_output_register: bool = False):
        if isinstance(shape, TernaryArrayShape) and shape.variant not in self.VARIANTS:
            self._MustUse__silence = True
            raise ValueError(f"DenseTernaryArray builds the variants "
                             f"{', '.join(self.VARIANTS)}, not {shape.variant!r}")
        self.ram_output_register = bool(ram_output_register)
        super().__init__(shape)

    def elaborate(self, platform):
        m = Module()
        shape = self.shape
        P, L = shape.inputs, shape.lanes
        advance = Signal()        # every pipeline register moves on it

        m.submodules.store = store = self.VARIANTS[shape.variant](shape)
        wiring.connect(m, wiring.flipped(self.weights), store.weights)
        write_busy = store.busy

        # Accept a beat: its row, its positions below K, its -128s. A beat that held -128
        # is replayed from stage 1 in the next cycle (its row read again, -1 where it held
        # -128 and 0 elsewhere), and no beat is accepted in that cycle; so `ready` depends
        # on registers only, never on the payload.
        row = Signal(range(shape.rows))
        first_row = Signal(init=1)                      # row == 0
        end_row = Signal(init=shape.rows == 1)          # row == rows - 1
        replay_row = Signal.like(row)                   # the row of the beat in stage 1
        # K less the positions before this row: K itself in the first row, else `left`.
        # What the next row needs from it (is it the last? which positions are below K?)
        # is found one beat ahead, by compares with constants, and kept in registers.
        remaining = Signal(shape.k_width)
        left = Signal.like(remaining, reset_less=True)
        left_last = Signal(reset_less=True)
        left_below = Signal(P, reset_less=True)
        m.d.comb += remaining.eq(Mux(first_row, self.k, left))
        last_row = Mux(first_row, ~at_least(self.k, P + 1), left_last) | end_row
        below_k = [Mux(first_row, at_least(self.k, j + 1), left_below[j]) for j in range(P)]
        x = [self.activations.payload[j] for j in range(P)]
        # -128 where it counts; the replay is decided on -128 anywhere in the beat (a
        # shorter path; a -128 at or past K alone costs a cycle and adds nothing).
        holds_min = [x[j] == -128 for j in range(P)]
        is_min = [holds_min[j] & below_k[j] for j in range(P)]

        pipe = _Pipeline(m, advance)
        s1_valid, s1_first, s1_last, s1_replay = (Signal(name=f"s1_{n}") for n in
                                                  ("valid", "first", "last", "replay"))
        s1_min = Signal(P, name="s1_min", reset_less=True)   # where stage 1's beat held -128
        s1_has_min = Signal(name="s1_has_min")
        replay = Signal()            # s1_valid & ~s1_replay & s1_has_min, a register itself
        ready = advance & ~write_busy & ~replay
        accept = self.activations.valid & ready
        m.d.comb += [self.activations.ready.eq(ready),
                     store.row.eq(Mux(replay, replay_row, row)), store.enable.eq(advance)]
        with m.If(accept):
            m.d.sync += [row.eq(Mux(last_row, 0, row + 1)), first_row.eq(last_row),
                         end_row.eq(Mux(last_row, shape.rows == 1, row == shape.rows - 2)),
                         replay_row.eq(row), left.eq(remaining - P),
                         left_last.eq(~at_least(remaining, 2 * P + 1)),
                         left_below.eq(Cat(at_least(remaining, P + j + 1) for j in range(P)))]
            with m.If(self.k > shape.capacity):
                m.d.sync += self.k_overflow.eq(1)

        # Stage 1: the activations, masked (0 at or past K), -127 for -128; or the replay.
        xr = []
        for j in range(P):
            first_pass = Mux(below_k[j], Cat(x[j][0] | is_min[j], x[j][1:]), 0)
            xr.append(pipe.register(Mux(replay, s1_min[j].replicate(8), first_pass).as_signed(),
                                    f"x{j}"))
        with m.If(advance):
            m.d.sync += [s1_valid.eq(accept | replay), s1_first.eq(~replay & first_row),
                         s1_last.eq(Mux(replay, s1_last, last_row)), s1_replay.eq(replay),
                         s1_min.eq(Cat(is_min)), s1_has_min.eq(Cat(holds_min).any()),
                         replay.eq(accept & Cat(holds_min).any())]
        pipe.depth = 1
        # A beat that is replayed is not the last of its dot product; its replay is.
        control = (s1_valid, s1_first, s1_last & ~(s1_has_min & ~s1_replay))
        codes, invalid, latency = store.codes, store.invalid, store.latency
        if self.ram_output_register:
            codes = pipe.register(codes, "codes")
            invalid = pipe.register(invalid, "invalid") if store.invalid_on_read else invalid
            latency += 1
        for _ in range(latency - 1):                     # wait for the codes
            control = pipe.control(*control)
            xr = [pipe.register(value, f"x{j}") for j, value in enumerate(xr)]
        valid = control[0]
        if store.invalid_on_read:
            with m.If(advance & valid & invalid):
                m.d.sync += self.invalid_code.eq(1)
        else:
            with m.If(invalid):
                m.d.sync += self.invalid_code.eq(1)

        # Terms: z = -x = ~(x - 1), one carry chain an input; a term is x, z or 0.
        z = [Signal(signed(8), name=f"z{j}") for j in range(P)]
        m.d.comb += [z[j].eq(~(xr[j] - 1)[:8]) for j in range(P)]
        sums = [[select_term(codes[lane * P + j], xr[j], z[j], shape.packing)
                 for j in range(P)] for lane in range(L)]

        # The adder tree, registered at every level (the first one with the terms).
        while len(sums[0]) > 1:
            control_in, control = control, pipe.control(*control)
            sums = [[pipe.register(value, f"tree{lane}") for value in _adder_level(terms)]
                    for lane, terms in enumerate(sums)]
        if P == 1:
            control_in, control = control, pipe.control(*control)
            sums = [[pipe.register(terms[0], f"tree{lane}")] for lane, terms in enumerate(sums)]
        valid, first, last = control

        # Accumulate into the result register; a first beat waits while it is full. Whether
        # it waits (`hold`: valid & first & out_valid) is a register of its own, so that
        # `advance` and `activations.ready` are one LUT from registers and `results.ready`.
        out_valid = self.results.valid
        hold = Signal()
        m.d.comb += advance.eq(~(hold & ~self.results.ready))
        taken = out_valid & self.results.ready
        with m.If(taken):
            m.d.sync += out_valid.eq(0)
        next_valid, next_first = (Mux(advance, previous, now) for previous, now in
                                  zip(control_in, (valid, first)))
        next_out = Mux(advance & valid & last, 1, out_valid & ~taken)
        m.d.sync += hold.eq(next_valid & next_first & next_out)
        with m.If(advance & valid):
            for lane in range(L):
                total = self.results.payload[lane]
                m.d.sync += total.eq(Mux(first, sums[lane][0], total + sums[lane][0]))
            with m.If(last):
                m.d.sync += out_valid.eq(1)

        with m.If(self.clear_flags):
            m.d.sync += [self.invalid_code.eq(0), self.k_overflow.eq(0)]
        return m


def _adder_level(terms):
    """One level of a balanced adder tree."""
    pairs = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
    return pairs + ([terms[-1]] if len(terms) % 2 else [])


class _Pipeline:
    """Registers that all move on one `advance` signal, numbered stage by stage: data
    registers without reset (they are in the adders' logic cells), control bits with."""

    def __init__(self, m, advance):
        self._m, self._advance, self.depth = m, advance, 0

    def register(self, value, name):
        register = Signal(value.shape(), name=f"s{self.depth}_{name}", reset_less=True)
        with self._m.If(self._advance):
            self._m.d.sync += register.eq(value)
        return register

    def control(self, valid, first, last):
        """The control bits one stage further down."""
        self.depth += 1
        out = []
        for name, value in (("valid", valid), ("first", first), ("last", last)):
            register = Signal(name=f"s{self.depth}_{name}")
            with self._m.If(self._advance):
                self._m.d.sync += register.eq(value)
            out.append(register)
        return tuple(out)
