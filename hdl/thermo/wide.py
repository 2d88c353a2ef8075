"""`WideCoupler`: a `Coupler` whose samples and noise beats come out as one wide word each.

The core keeps x, p and the noise beats in block RAM and hands them out one cell a cycle
through its `read` port. Test benches, waveforms and the golden model's sample words want
the whole state in one word (``{seq, flags, x[cells], p[cells]}``, cell 0 lowest), so this
wrapper reads every cell of a sample (or of a noise beat) into registers and offers the
word. It costs registers for every cell, so it is for simulation and waveforms; a system
on an FPGA (`tritherm.firmware.soc`) reads the core's port itself.

Timing: a sample is offered ``cells + 1`` cycles after the core offers it, and taken from
the core as it is offered here; the core runs its next step meanwhile, so while a step
takes longer than that (it always takes at least ``cells + 6`` cycles) and the word is
taken at once, the samples are as many cycles apart as the core's.

A noise beat is read while the core is stopped and taken from the core only when the wide
beat is taken here (a beat read ahead would advance the core's streams and step count);
a configuration write or a run throws a beat read ahead away.
"""

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tritherm.formats import COUPLER_FORMAT, COUPLER_SEQ_BITS, NOISE_FORMAT

from .coupler import Coupler, config_layout

__all__ = ["WideCoupler", "wide_sample_layout"]


def wide_sample_layout(cells: int, fmt=COUPLER_FORMAT) -> data.StructLayout:
    """One sample as one word: ``seq`` (low bits), ``flags``, ``x``, ``p`` (cell 0 lowest)."""
    state = signed(fmt.state.width)
    return data.StructLayout({"seq": unsigned(COUPLER_SEQ_BITS), "flags": unsigned(cells),
                              "x": data.ArrayLayout(state, cells),
                              "p": data.ArrayLayout(state, cells)})


class WideCoupler(wiring.Component):
    """A `Coupler` (built from the same arguments) with wide ``samples`` and ``noise``.

    Attributes
    ----------
    config, run, stop, running, step, saturated :
        The core's.
    samples : Out(stream.Signature(wide_sample_layout(cells)))
    noise : Out(stream.Signature(ArrayLayout(signed(16), cells)))
        The next noise beat, offered while stopped (element i is cell i).
    core : Coupler
    """

    def __init__(self, *args, **kwargs):
        self.core = core = Coupler(*args, **kwargs)
        self.cells, self.multipliers = core.cells, core.multipliers
        self.shaper, self.quartic = core.shaper, core.quartic
        self.noise_cycles_per_step = core.noise_cycles_per_step
        cells = core.cells
        super().__init__({
            "config": In(stream.Signature(config_layout())),
            "run": In(stream.Signature(32)),
            "stop": In(1),
            "running": Out(1),
            "step": Out(COUPLER_SEQ_BITS),
            "saturated": Out(cells),
            "samples": Out(stream.Signature(wide_sample_layout(cells, core.fmt))),
            "noise": Out(stream.Signature(
                data.ArrayLayout(signed(NOISE_FORMAT.width), cells))),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        n = self.cells
        wiring.connect(m, wiring.flipped(self.config), core.config)
        wiring.connect(m, wiring.flipped(self.run), core.run)
        m.d.comb += [core.stop.eq(self.stop), self.running.eq(core.running),
                     self.step.eq(core.step), self.saturated.eq(core.saturated)]

        # Reads: cell `cell` is addressed, its data arrives the cycle after (`arrived`).
        cell = Signal(range(n + 1))
        arrived = Signal()
        arrived_cell = Signal(range(n))
        m.d.comb += core.read.addr.eq(cell[:len(core.read.addr)])
        got = core.read.data

        # Samples: read every cell while the core offers one and the wide word is free.
        out = self.samples
        reading = core.samples.valid & ~out.valid
        with m.If(out.valid & out.ready):
            m.d.sync += out.valid.eq(0)
        # Noise beats: read while the core is stopped and offers one; a write, a run or
        # the beat's use throws the copy away.
        beat = self.noise
        have_beat = Signal()
        reading_noise = core.noise.valid & ~have_beat & ~core.samples.valid
        disturbed = (self.config.valid & self.config.ready) | \
            (self.run.valid & self.run.ready) | (beat.valid & beat.ready)
        m.d.comb += [beat.valid.eq(have_beat & core.noise.valid),
                     core.noise.ready.eq(beat.valid & beat.ready)]

        with m.If(disturbed & ~reading):
            m.d.sync += [have_beat.eq(0), cell.eq(0), arrived.eq(0)]
        with m.Elif(reading | reading_noise):
            m.d.sync += [cell.eq(cell + 1), arrived.eq(cell != n),
                         arrived_cell.eq(cell[:len(arrived_cell)])]
            with m.If(arrived):
                with m.If(reading):
                    m.d.sync += [out.payload.x[arrived_cell].eq(got.x),
                                 out.payload.p[arrived_cell].eq(got.p)]
                with m.Else():
                    m.d.sync += beat.payload[arrived_cell].eq(got.xi)
            with m.If(cell == n):
                m.d.sync += [cell.eq(0), arrived.eq(0)]
                with m.If(reading):
                    m.d.comb += core.samples.ready.eq(1)
                    m.d.sync += [out.valid.eq(1), out.payload.seq.eq(core.samples.payload.seq),
                                 out.payload.flags.eq(core.samples.payload.flags)]
                with m.Else():
                    m.d.sync += have_beat.eq(1)
        with m.Else():
            m.d.sync += [cell.eq(0), arrived.eq(0)]
        return m
