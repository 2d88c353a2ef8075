"""`NoiseBeats`: the `NoiseSource`'s streams with the beats kept in a memory, read one
cell at a time."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tritherm.formats import (NOISE_COUNTER_BITS, NOISE_FORMAT, NOISE_SEED_BITS,
                              SHAPER_SAMPLES, THREEFRY_ROUNDS, GaussianFormat)

from .gaussian import SerialIcdfShaper, shaper_core
from .threefry import Threefry2x32, check_threefry_config

__all__ = ["NoiseBeats", "beat_read_signature"]


def beat_read_signature(streams: int, fmt: GaussianFormat = NOISE_FORMAT) -> wiring.Signature:
    """A read port into the current beat, from the reader's side: ``addr`` (a cell) out,
    ``data`` (that cell's sample, the cycle after) in."""
    return wiring.Signature({"addr": Out(range(streams)), "data": In(signed(fmt.width))})


class NoiseBeats(wiring.Component):
    """``streams`` counter-based Gaussian streams, one beat per step, read a cell at a time.

    The same samples as `NoiseSource` (stream i under seed s: Threefry key ``(i, s)``, step
    t of cell i is sample ``t % spb`` of block ``t // spb``, so beat k after the seed is
    ``tritherm.sim.golden.noise_steps`` row k), but the beats are not handed out as one
    wide word: the shaped blocks go to a memory of two halves, each holding ``spb`` beats
    of every cell (one ``spb``-sample word a cell). While the reader uses the beats of one
    half the generator fills the other, so a consumer that reads one cell a cycle needs no
    register per cell (the wide source holds 32 flip-flops a cell for its beat buffers).

    With an iterative Threefry (a block every two cycles or slower) the ICDF shaper is
    `SerialIcdfShaper`: one datapath, a sample a cycle, which keeps up.

    Operation: nothing happens until a seed is taken on ``seed``; its payload must then
    stay as it was until the next reset (a seed register: the stages read it as the key). ``beat.valid`` says a
    beat is ready; while it is, ``read.addr = i`` gives cell i's sample of that beat on
    ``read.data`` the cycle after. Taking the beat (``beat.ready``) moves on to the next.
    Back-pressure stalls the generator once both halves are full.

    Parameters
    ----------
    streams : int
        Cells fed (1..256).
    shaper, rounds, unroll, pipelined, fmt :
        As `NoiseSource`.
    interleave : int
        The iterative Threefry's chain in that many register stages (`Threefry2x32`).

    Attributes
    ----------
    seed : In(stream.Signature(32))
    beat : Out(stream.Signature(0))
    read : In(beat_read_signature(streams))
    """

    def __init__(self, streams: int = 8, shaper: str = "icdf", rounds: int = THREEFRY_ROUNDS,
                 unroll: int = 1, pipelined: bool = True, interleave: int = 1,
                 fmt: GaussianFormat = NOISE_FORMAT):
        self._threefry_args = (rounds, unroll, pipelined, interleave)
        try:
            if not isinstance(streams, int) or isinstance(streams, bool) \
                    or not 1 <= streams <= 256:
                raise ValueError(f"streams must be an integer in [1, 256], got {streams!r}")
            if shaper not in SHAPER_SAMPLES:
                raise ValueError(f"shaper must be one of {', '.join(SHAPER_SAMPLES)}, "
                                 f"got {shaper!r}")
            check_threefry_config(*self._threefry_args)
            if not isinstance(fmt, GaussianFormat):
                raise ValueError(f"fmt must be a GaussianFormat, got {fmt!r}")
        except ValueError:
            self._MustUse__silence = True
            raise
        self.streams, self.shaper, self.rounds, self.fmt = streams, shaper, rounds, fmt
        self.samples_per_block = SHAPER_SAMPLES[shaper]
        self.serial_shaper = shaper == "icdf" and not pipelined and rounds // unroll >= 2
        super().__init__({
            "seed": In(stream.Signature(NOISE_SEED_BITS)),
            "beat": Out(stream.Signature(0)),
            "read": In(beat_read_signature(streams, fmt)),
        })

    def elaborate(self, platform):
        m = Module()
        n, spb, width = self.streams, self.samples_per_block, self.fmt.width
        cell_bits = max(1, (n - 1).bit_length())
        m.submodules.threefry = threefry = Threefry2x32(*self._threefry_args,
                                                        shared_key1=True)
        if self.serial_shaper:
            m.submodules.shaper = shaper = SerialIcdfShaper(self.fmt)
            per_beat = 1                             # samples a shaper beat carries
        else:
            m.submodules.shaper = shaper = shaper_core(self.shaper, self.fmt)
            per_beat = spb
        wiring.connect(m, threefry.block, shaper.blocks)

        started = Signal()
        seed = self.seed.payload                 # held by the user (see above)
        m.d.comb += self.seed.ready.eq(~started)
        with m.If(self.seed.valid & ~started):
            m.d.sync += started.eq(1)

        # Requests: cell 0..n-1 of block `group`, key (cell, seed).
        cell = Signal(range(n))
        group = Signal(NOISE_COUNTER_BITS)
        request = threefry.request
        m.d.comb += [request.valid.eq(started), request.payload.counter.eq(group),
                     request.payload.key[0].eq(cell), request.payload.key[1].eq(seed)]
        with m.If(request.valid & request.ready):
            with m.If(cell == n - 1):
                m.d.sync += [cell.eq(0), group.eq(group + 1)]
            with m.Else():
                m.d.sync += cell.eq(cell + 1)

        # The memory: half h, cell i at address Cat(i, h); a word holds the spb samples one
        # block of cell i gives (beat k of the group in bits k*width..).
        m.submodules.memory = memory = Memory(
            shape=unsigned(spb * width), depth=2 << cell_bits, init=[],
            attrs={"ram_style": "block"})
        write, read = memory.write_port(granularity=per_beat * width), memory.read_port()
        fill_half, use_half = Signal(), Signal()
        slot = Signal(range(n))
        sample = Signal(range(spb))                  # serial: the block's sample written
        full = [Signal(name=f"full{h}") for h in range(2)]
        filling_full = Cat(*full).bit_select(fill_half, 1)
        m.d.comb += shaper.samples.ready.eq(~filling_full)
        produce = shaper.samples.valid & ~filling_full
        m.d.comb += [write.addr.eq(Cat(slot[:cell_bits], fill_half)),
                     write.data.eq(Cat(*[shaper.samples.payload.as_value()]
                                       * (spb // per_beat)))]
        block_done = Signal()
        if per_beat == spb:
            m.d.comb += [write.en.eq(produce), block_done.eq(produce)]
        else:
            m.d.comb += [write.en.eq(Mux(produce, Const(1, spb) << sample, 0)),
                         block_done.eq(produce & (sample == spb - 1))]
            with m.If(produce):
                m.d.sync += sample.eq(Mux(sample == spb - 1, 0, sample + 1))
        produced = Signal()
        with m.If(block_done):
            with m.If(slot == n - 1):
                m.d.comb += produced.eq(1)
                m.d.sync += [slot.eq(0), fill_half.eq(~fill_half)]
            with m.Else():
                m.d.sync += slot.eq(slot + 1)

        # Beats: spb of them from the half in use, then that half is free again.
        k = Signal(range(spb))
        consumed = Signal()
        m.d.comb += self.beat.valid.eq(Cat(*full).bit_select(use_half, 1))
        with m.If(self.beat.valid & self.beat.ready):
            with m.If(k == spb - 1):
                m.d.comb += consumed.eq(1)
                m.d.sync += [k.eq(0), use_half.eq(~use_half)]
            with m.Else():
                m.d.sync += k.eq(k + 1)
        for h in range(2):
            with m.If(produced & (fill_half == h)):
                m.d.sync += full[h].eq(1)
            with m.Elif(consumed & (use_half == h)):
                m.d.sync += full[h].eq(0)

        lane = Signal(range(spb))
        m.d.sync += lane.eq(k)
        m.d.comb += [read.addr.eq(Cat(self.read.addr[:cell_bits], use_half)),
                     self.read.data.eq(read.data.word_select(lane, width)
                                       if spb > 1 else read.data)]
        return m
