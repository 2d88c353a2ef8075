"""Physical entropy for seeding: ring oscillators of LUT primitives, von Neumann de-biased.

`SeedSource` hands `NoiseSource` a seed once after reset: the fixed seed when ``use_fixed``
is high (a reproducible run), otherwise ``seed_bits`` bits of ring-oscillator entropy (fresh
noise on every board run). Several free-running rings (an odd number of inverting LUTs in a
loop, kept through synthesis with a ``keep`` attribute) are each sampled by the clock
through two flip-flops, XORed into one raw bit per cycle, and de-biased by von Neumann's
rule on non-overlapping pairs (01 -> 0, 10 -> 1, 00 and 11 dropped); kept bits fill the
seed from its LSB. ``tritherm.sim.golden.von_neumann_seed`` says which seed a raw bit
sequence gives.

Ring oscillators cannot be simulated (and are combinational loops: nextpnr needs
``--ignore-loops``). Built with ``raw_input=True`` the core has a ``raw`` input in place of
the rings, so the sampling, de-biasing and seed multiplexing are tested in simulation with
an injected bit sequence. Rough cost: ``rings * length`` LUTs for the rings, 2 flip-flops
per ring, ``seed_bits`` + ~10 flip-flops and a few LUTs for the rest.
"""

from amaranth.hdl import Cat, Instance, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from tritherm.formats import NOISE_SEED_BITS

__all__ = ["SeedSource", "RingOscillators", "lut_family"]

#: An inverter on input 0 of a 4-input LUT: output = ~I0 (same truth table on both families).
INVERTER_INIT = 0x5555


def lut_family(platform) -> str:
    """``"ice40"`` (SB_LUT4) or ``"ecp5"`` (LUT4) for `platform`; ValueError otherwise."""
    family = str(getattr(platform, "family", "") or "").lower()
    if family in ("ice40", "ice5"):
        return "ice40"
    if family == "ecp5":
        return "ecp5"
    raise ValueError(f"ring-oscillator entropy needs an iCE40 or ECP5 platform (SB_LUT4 or "
                     f"LUT4 primitives), got {platform!r}; build SeedSource(raw_input=True) "
                     f"to simulate it")


class RingOscillators(wiring.Component):
    """``rings`` free-running ring oscillators of inverting LUTs, sampled and XORed.

    Ring k has ``lengths[k]`` inverters (odd, distinct, so the rings drift apart). Each
    ring's output goes through two flip-flops in the sync domain; ``bit`` is their XOR.
    Platform-dependent: iCE40 (``SB_LUT4``) or ECP5 (``LUT4``); anything else (including
    simulation, ``platform=None``) raises ValueError.

    Parameters
    ----------
    lengths : tuple of int
        Inverters per ring, each odd and in [3, 31].

    Attributes
    ----------
    bit : Out(1)
        One raw, biased and correlated entropy bit per cycle.
    """

    def __init__(self, lengths=(5, 7, 11, 13)):
        lengths = tuple(lengths)
        if not lengths or any(not isinstance(n, int) or n % 2 == 0 or not 3 <= n <= 31
                              for n in lengths):
            self._MustUse__silence = True
            raise ValueError(f"lengths must be odd integers in [3, 31], got {lengths!r}")
        self.lengths = lengths
        super().__init__({"bit": Out(1)})

    def elaborate(self, platform):
        family = lut_family(platform)
        m = Module()
        samples = []
        for ring, length in enumerate(self.lengths):
            nodes = [Signal(name=f"ring{ring}_n{i}", attrs={"keep": 1}) for i in range(length)]
            for i in range(length):
                a, z = nodes[i], nodes[(i + 1) % length]
                if family == "ice40":
                    cell = Instance("SB_LUT4", p_LUT_INIT=INVERTER_INIT, i_I0=a, i_I1=0,
                                    i_I2=0, i_I3=0, o_O=z, a_keep=1)
                else:
                    cell = Instance("LUT4", p_INIT=f"0x{INVERTER_INIT:04X}", i_A=a, i_B=0,
                                    i_C=0, i_D=0, o_Z=z, a_keep=1)
                m.submodules[f"ring{ring}_lut{i}"] = cell
            first, second = Signal(name=f"ring{ring}_sync0"), Signal(name=f"ring{ring}_sync1")
            m.d.sync += [first.eq(nodes[0]), second.eq(first)]
            samples.append(second)
        raw = 0
        for sample in samples:
            raw = raw ^ sample
        m.d.comb += self.bit.eq(raw)
        return m


class SeedSource(wiring.Component):
    """A seed, once after reset: fixed (``use_fixed``) or from ring-oscillator entropy.

    Parameters
    ----------
    seed_bits : int
        Seed width, 1..64 (32 = `tritherm.formats.NOISE_SEED_BITS`, NoiseSource's seed).
    lengths : tuple of int
        Ring lengths for `RingOscillators` (ignored with ``raw_input``).
    raw_input : bool
        True: no rings; the raw bit comes from the ``raw`` input (simulation, or another
        entropy source). False: rings, so elaboration needs an iCE40 or ECP5 platform.

    Attributes
    ----------
    fixed_seed : In(seed_bits)
    use_fixed : In(1)
        Sampled in the first cycle after reset: high offers ``fixed_seed`` at once.
    seed : Out(stream.Signature(seed_bits))
        Valid (and held) once the seed is known; a transfer completes the job, after which
        ``valid`` stays low until the next reset.
    raw : In(1)
        Only with ``raw_input=True``: one raw entropy bit per cycle (goes through the same
        two-flip-flop synchroniser as a ring, then the de-biaser).
    """

    def __init__(self, seed_bits: int = NOISE_SEED_BITS, lengths=(5, 7, 11, 13),
                 raw_input: bool = False):
        if not isinstance(seed_bits, int) or not 1 <= seed_bits <= 64:
            self._MustUse__silence = True
            raise ValueError(f"seed_bits must be an integer in [1, 64], got {seed_bits!r}")
        self.seed_bits = seed_bits
        self.lengths = tuple(lengths)
        self.raw_input = raw_input
        members = {
            "fixed_seed": In(seed_bits),
            "use_fixed": In(1),
            "seed": Out(stream.Signature(seed_bits)),
        }
        if raw_input:
            members["raw"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        if not self.raw_input:
            lut_family(platform)               # a clear error before any primitive
        m = Module()
        raw = Signal()
        if self.raw_input:
            first, second = Signal(), Signal()
            m.d.sync += [first.eq(self.raw), second.eq(first)]
            m.d.comb += raw.eq(second)
        else:
            m.submodules.rings = rings = RingOscillators(self.lengths)
            m.d.comb += raw.eq(rings.bit)

        # Von Neumann on non-overlapping pairs; `held` is the pair's first bit.
        phase, held = Signal(), Signal()
        kept = Signal(range(self.seed_bits + 1))
        collecting = Signal(init=1)
        decided = Signal()                     # use_fixed sampled
        done = Signal()                        # the seed has been transferred
        shift = Signal(self.seed_bits)
        m.d.sync += phase.eq(~phase)
        with m.If(~phase):
            m.d.sync += held.eq(raw)
        with m.Elif(collecting & (raw != held)):
            m.d.sync += [shift.eq(Cat(shift[1:], held)), kept.eq(kept + 1)]
            with m.If(kept == self.seed_bits - 1):
                m.d.sync += collecting.eq(0)

        with m.If(~decided):
            m.d.sync += decided.eq(1)
            with m.If(self.use_fixed):
                m.d.sync += [self.seed.payload.eq(self.fixed_seed), self.seed.valid.eq(1),
                             collecting.eq(0)]
        with m.Elif(~collecting & ~done & ~self.seed.valid):
            m.d.sync += [self.seed.payload.eq(shift), self.seed.valid.eq(1)]
        with m.If(self.seed.valid & self.seed.ready):
            m.d.sync += [self.seed.valid.eq(0), done.eq(1)]
        return m

