"""`NoiseSource`: independent counter-based Gaussian streams, one per consumer cell."""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tritherm.formats import (NOISE_COUNTER_BITS, NOISE_FORMAT, NOISE_SEED_BITS,
                              SHAPER_SAMPLES, THREEFRY_ROUNDS, GaussianFormat)

from .gaussian import shaper_core
from .threefry import Threefry2x32, check_threefry_config

__all__ = ["NoiseSource"]


class NoiseSource(wiring.Component):
    """``streams`` independent Gaussian noise streams; one beat per step, all cells at once.

    Stream (cell) ``i`` under seed ``s`` uses the Threefry key ``(i, s)``
    (`tritherm.formats.stream_key`) and the block counter ``b`` (64 bits); a shaper turns
    each block into ``spb`` samples (CLT: 1, ICDF: 2), and step ``t`` of cell ``i`` is
    sample ``t % spb`` of block ``t // spb``. So ``tritherm.sim.golden.noise_steps(s,
    streams, steps, shaper, rounds)`` is exactly what leaves ``samples``, and
    ``gaussian_samples`` recomputes any cell at any step on its own. No key is stored: the
    key is the cell counter and the seed register.

    Operation: nothing happens until a seed is accepted on ``seed`` (from the host, a fixed
    value, or `tritherm.hdl.noise.entropy.SeedSource`); then step 0 onwards is emitted.
    The seed is taken once; to reseed, reset the core. For every group of ``spb`` steps
    the core requests ``streams`` blocks (cells 0, 1, ...), shapes them, collects them in a
    shift register and hands them to the output buffer, which emits ``spb`` beats.
    With the default fully pipelined Threefry the core makes one block per cycle, so a beat
    every ``(streams + 1) / spb`` cycles (one bubble per group); with ``pipelined=False`` a
    block takes ``rounds / unroll`` cycles. Back-pressure on ``samples`` stalls everything.

    Parameters
    ----------
    streams : int
        Cells fed (1..256).
    shaper : str
        ``"clt"`` (multiplier-free, 1 sample per block) or ``"icdf"`` (tails to 6.3 sigma,
        2 samples per block); see `tritherm.hdl.noise.gaussian`.
    rounds, unroll, pipelined :
        The `Threefry2x32` configuration (20 rounds, one round per pipeline stage).
    fmt : GaussianFormat
        Sample format (`NOISE_FORMAT`).

    Attributes
    ----------
    seed : In(stream.Signature(32))
        The user seed, accepted once after reset (``seed.ready`` is high until then).
    samples : Out(stream.Signature(ArrayLayout(signed(fmt.width), streams)))
        One step of every cell; element i is cell i.
    """

    def __init__(self, streams: int = 8, shaper: str = "icdf", rounds: int = THREEFRY_ROUNDS,
                 unroll: int = 1, pipelined: bool = True, fmt: GaussianFormat = NOISE_FORMAT):
        self._threefry_args = (rounds, unroll, pipelined)
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
            self._MustUse__silence = True      # not built: no "created but never used"
            raise
        self.streams = streams
        self.shaper = shaper
        self.rounds = rounds
        self.fmt = fmt
        self.samples_per_block = SHAPER_SAMPLES[shaper]
        super().__init__({
            "seed": In(stream.Signature(NOISE_SEED_BITS)),
            "samples": Out(stream.Signature(data.ArrayLayout(signed(fmt.width), streams))),
        })

    def elaborate(self, platform):
        m = Module()
        n, spb = self.streams, self.samples_per_block
        m.submodules.threefry = threefry = Threefry2x32(*self._threefry_args)
        m.submodules.shaper = shaper = shaper_core(self.shaper, self.fmt)
        wiring.connect(m, threefry.block, shaper.blocks)

        # Seed, once.
        started = Signal()
        seed = Signal(NOISE_SEED_BITS)
        m.d.comb += self.seed.ready.eq(~started)
        with m.If(self.seed.valid & ~started):
            m.d.sync += [seed.eq(self.seed.payload), started.eq(1)]

        # Requests: cell 0..n-1 of block `group`, key (cell, seed).
        cell = Signal(range(n))
        group = Signal(NOISE_COUNTER_BITS)
        request = threefry.request
        m.d.comb += [
            request.valid.eq(started),
            request.payload.counter.eq(group),
            request.payload.key[0].eq(cell),
            request.payload.key[1].eq(seed),
        ]
        with m.If(request.valid & request.ready):
            with m.If(cell == n - 1):
                m.d.sync += [cell.eq(0), group.eq(group + 1)]
            with m.Else():
                m.d.sync += cell.eq(cell + 1)

        # Collect one shaped bundle per cell in a shift register (cell 0 ends at index 0).
        bundle = shaper.samples.payload.shape()
        collected = [Signal(bundle, name=f"collected_{i}") for i in range(n)]
        slot = Signal(range(n))
        full = Signal()
        m.d.comb += shaper.samples.ready.eq(~full)
        with m.If(shaper.samples.valid & ~full):
            m.d.sync += [collected[i].eq(collected[i + 1]) for i in range(n - 1)]
            m.d.sync += collected[n - 1].eq(shaper.samples.payload)
            with m.If(slot == n - 1):
                m.d.sync += [slot.eq(0), full.eq(1)]
            with m.Else():
                m.d.sync += slot.eq(slot + 1)

        # Output buffer: spb rows (steps) of n samples, shifted out row 0 first.
        row_shape = self.samples.payload.shape()
        rows = [Signal(row_shape, name=f"row_{k}") for k in range(spb)]
        left = Signal(range(spb + 1))
        m.d.comb += [self.samples.payload.eq(rows[0]), self.samples.valid.eq(left != 0)]
        with m.If(self.samples.valid & self.samples.ready):
            m.d.sync += [rows[k].eq(rows[k + 1]) for k in range(spb - 1)]
            m.d.sync += left.eq(left - 1)
        draining = (left == 0) | ((left == 1) & self.samples.ready)
        with m.If(full & draining):
            m.d.sync += [full.eq(0), left.eq(spb)]
            for k in range(spb):
                for i in range(n):
                    m.d.sync += rows[k][i].eq(collected[i][k])
        return m
