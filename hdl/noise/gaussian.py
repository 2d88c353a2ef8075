"""Gaussian shapers: uniform 64-bit Threefry blocks in, signed fixed-point samples out.

Both are bit-exact with ``tritherm.sim.golden.clt_gaussian`` / ``icdf_gaussian`` and emit
`tritherm.formats.NOISE_FORMAT` (signed 16-bit, 12 fraction bits, target sigma 4096 LSB).
Exact statistics come from ``tritherm.sim.golden.shaper_stats(name)`` (enumerated):

=========  =====  ==============  ===========  =========  ==========  =============================
shaper     per    variance        kurtosis     max |x|    KS vs       logic (rough, by structure)
           block  (sigma**2)      (normal 3)   (sigma)    normal
=========  =====  ==============  ===========  =========  ==========  =============================
``clt``    1      1.000429        2.700        3.46       7.4e-3      3 adders (4 x 16-bit fields),
                                                                      3 shift-adds (x887); no DSP
``icdf``   2      1.000655        2.9985       6.34       2.6e-4      per sample: 5-level
                                                                      normaliser, 256 x 24 ROM,
                                                                      9 x 13 multiply (DSP)
=========  =====  ==============  ===========  =========  ==========  =============================

(variance: exact variance / 4096**2; the CLT mean is exactly -0.49994 LSB, from its floor;
the ICDF law is exactly symmetric.) A consumer that needs sigma s multiplies samples by
``s / sqrt(variance)`` with the exact variance, not by ``s / 4096``.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tritherm.formats import (CLT_FIELD_BITS, CLT_FIELDS, CLT_SHIFT, ICDF_FRACTION_BITS,
                              ICDF_SEGMENT_BITS, NOISE_FORMAT, SHAPER_SAMPLES, GaussianFormat,
                              clt_scale, icdf_table)

from .threefry import THREEFRY_BLOCK

__all__ = ["CltShaper", "IcdfShaper", "SerialIcdfShaper", "SHAPER_CORES", "shaper_core",
           "csd_digits"]


def csd_digits(constant: int) -> list[tuple[int, int]]:
    """Canonical signed-digit form of a positive constant: ``[(shift, +1 or -1), ...]``,
    so that ``x * constant == sum(sign * (x << shift))`` with the fewest terms."""
    digits, shift = [], 0
    while constant:
        if constant & 1:
            digit = 2 - (constant & 3)          # +1 if ...01, -1 if ...11
            digits.append((shift, digit))
            constant -= digit
        constant >>= 1
        shift += 1
    return digits


def _sample_signature(fmt, count):
    return stream.Signature(data.ArrayLayout(signed(fmt.width), count))


class _Shaper(wiring.Component):
    name = None

    def __init__(self, fmt: GaussianFormat = NOISE_FORMAT):
        if not isinstance(fmt, GaussianFormat):
            raise TypeError(f"fmt must be a GaussianFormat, not {fmt!r}")
        self.fmt = fmt
        self.samples_per_block = SHAPER_SAMPLES[self.name]
        super().__init__({
            "blocks": In(stream.Signature(THREEFRY_BLOCK)),
            "samples": Out(_sample_signature(fmt, self.samples_per_block)),
        })


class CltShaper(_Shaper):
    """Central-limit shaper: one sample per block, shifts and adds only (no multiplier).

    ``S = f0 + f1 + f2 + f3 - 131070`` over the four 16-bit fields of the block (exactly
    centred), then ``(S * 887) >> 13`` (floor; 887 = 2**10 - 2**7 - 2**3 - 1 as three
    shift-subtracts). An Irwin-Hall law of order 4: exact variance 1.000429 sigma**2
    (16784405.41 LSB**2), kurtosis 2.7, bounded at 3.464 sigma (no tail beyond), KS
    distance 7.4e-3 from the normal. Logic: three adders for the sum, three for the scale,
    two pipeline registers (latency 2, one sample per cycle).

    Parameters
    ----------
    fmt : GaussianFormat
        Output format (`NOISE_FORMAT` by default).

    Attributes
    ----------
    blocks : In(stream.Signature(THREEFRY_BLOCK))
    samples : Out(stream.Signature(ArrayLayout(signed(fmt.width), 1)))
    """

    name = "clt"

    def elaborate(self, platform):
        m = Module()
        advance = Signal()
        m.d.comb += [advance.eq(~self.samples.valid | self.samples.ready),
                     self.blocks.ready.eq(advance)]
        word = Cat(self.blocks.payload[0], self.blocks.payload[1])
        mask = (1 << CLT_FIELD_BITS) - 1
        fields = [word[i * CLT_FIELD_BITS:(i + 1) * CLT_FIELD_BITS] for i in range(CLT_FIELDS)]
        total = Signal(range(CLT_FIELDS * mask + 1))
        total_valid = Signal()
        centred = Signal(signed(total.shape().width + 1))
        m.d.comb += centred.eq(total - CLT_FIELDS * mask // 2)
        scaled = 0
        for shift, sign in csd_digits(clt_scale(self.fmt)):
            term = centred << shift
            scaled = scaled + term if sign > 0 else scaled - term
        with m.If(advance):
            m.d.sync += [
                total.eq(fields[0] + fields[1] + (fields[2] + fields[3])),
                total_valid.eq(self.blocks.valid),
                self.samples.valid.eq(total_valid),
                self.samples.payload[0].eq(scaled >> CLT_SHIFT),
            ]
        return m


class IcdfShaper(_Shaper):
    """Piecewise-linear inverse-CDF shaper: two samples per block, tails to 6.34 sigma.

    Each 32-bit word is a sample: bit 31 the sign, the other 31 bits ``r`` the tail
    probability. A leading-zero normaliser finds ``z`` (octave ``q in [2**-(z+1), 2**-z)``,
    non-uniform segments that reach q = 2**-32) and ``n = r << z``; ``8 z + n[27:30]``
    addresses a 256-entry ROM of ``(x_hi, d)`` (`tritherm.formats.icdf_table`) and
    ``f = n[15:27]`` interpolates: ``x_hi - ((d * (2 f + 1)) >> 13)``, negated by the sign.
    Exact variance 1.000655 sigma**2 (16788201.28 LSB**2), kurtosis 2.9985, largest value
    25960 LSB = 6.336 own sigma, P(|x| >= 5 sigma) = 5.7e-7 (normal: 5.7e-7), KS distance
    2.6e-4. Logic per sample: 5 levels of 31-bit muxes, one ROM read port (the ROM is
    256 x 24 bits), one 9 x 13-bit unsigned multiply (a DSP where there is one), a 15-bit
    subtract and a negate; three pipeline stages (latency 3, one block per cycle).

    Parameters
    ----------
    fmt : GaussianFormat
        Output format (`NOISE_FORMAT` by default).

    Attributes
    ----------
    blocks : In(stream.Signature(THREEFRY_BLOCK))
    samples : Out(stream.Signature(ArrayLayout(signed(fmt.width), 2)))
        Element 0 from out0, element 1 from out1.
    """

    name = "icdf"

    def elaborate(self, platform):
        m = Module()
        rom, x_bits = _icdf_rom(m, self.fmt)
        advance = Signal()
        m.d.comb += [advance.eq(~self.samples.valid | self.samples.ready),
                     self.blocks.ready.eq(advance)]
        valid_b, valid_c = Signal(), Signal()
        with m.If(advance):
            m.d.sync += [valid_b.eq(self.blocks.valid), valid_c.eq(valid_b),
                         self.samples.valid.eq(valid_c)]
        for lane in range(2):
            _icdf_lane(m, self.blocks.payload[lane], advance, rom, x_bits,
                       self.samples.payload[lane], str(lane))
        return m


def _icdf_rom(m, fmt):
    """The inverse-CDF ROM as a submodule of `m`; (memory, bits of x_hi)."""
    table = icdf_table(fmt)
    x_bits = max(x for x, _ in table).bit_length()
    d_bits = max(d for _, d in table).bit_length()
    m.submodules.rom = rom = Memory(shape=unsigned(x_bits + d_bits), depth=len(table),
                                    init=[x | d << x_bits for x, d in table])
    return rom, x_bits


def _icdf_lane(m, word, advance, rom, x_bits, out, lane):
    """One sample's datapath, three stages (while `advance`): `word` in, `out` registered."""
    d_bits = rom.shape.width - x_bits
    # Stage A: normalise r, address the ROM.
    n, z_bits = word[:31], []
    for level, shift in enumerate((16, 8, 4, 2, 1)):
        empty = n[31 - shift:31] == 0
        shifted = Signal(31, name=f"n{lane}_{level}")
        m.d.comb += shifted.eq(Mux(empty, n << shift, n))
        n = shifted
        z_bits.append(empty)
    z = Cat(*reversed(z_bits))          # 16 is the top bit
    read = rom.read_port()
    m.d.comb += [read.addr.eq(Cat(n[30 - ICDF_SEGMENT_BITS:30], z)), read.en.eq(advance)]
    low = 30 - ICDF_SEGMENT_BITS - ICDF_FRACTION_BITS
    # The multiplier's operand and product registers have no reset (the valid flags
    # have), so yosys can keep them in the DSP block.
    fraction_b = Signal(ICDF_FRACTION_BITS, name=f"f{lane}_b", reset_less=True)
    sign_b, sign_c = Signal(name=f"sign{lane}_b"), Signal(name=f"sign{lane}_c")
    x_hi_c = Signal(x_bits, name=f"x_hi{lane}_c")
    product_c = Signal(d_bits + ICDF_FRACTION_BITS + 1, name=f"product{lane}_c",
                       reset_less=True)
    # Stage B: the ROM word is out; multiply. Stage C: subtract, apply the sign.
    magnitude = Signal(signed(x_bits + 1), name=f"magnitude{lane}")
    m.d.comb += magnitude.eq(x_hi_c - (product_c >> (ICDF_FRACTION_BITS + 1)))
    with m.If(advance):
        m.d.sync += [
            fraction_b.eq(n[low:low + ICDF_FRACTION_BITS]),
            sign_b.eq(word[31]),
            x_hi_c.eq(read.data[:x_bits]),
            product_c.eq(read.data[x_bits:] * Cat(1, fraction_b)),
            sign_c.eq(sign_b),
            out.eq(Mux(sign_c, -magnitude, magnitude)),
        ]


class SerialIcdfShaper(wiring.Component):
    """The ICDF shaper on one datapath: a block's two samples leave one a cycle (out0's,
    then out1's), so it keeps up with a block every second cycle at half the logic of
    `IcdfShaper` (one normaliser, one ROM port, one multiplier; the word in turn is
    registered before the normaliser: four stages). Bit-exact with it.

    Attributes
    ----------
    blocks : In(stream.Signature(THREEFRY_BLOCK))
    samples : Out(stream.Signature(ArrayLayout(signed(fmt.width), 1)))
    """

    name = "icdf"
    samples_per_beat = 1

    def __init__(self, fmt: GaussianFormat = NOISE_FORMAT):
        if not isinstance(fmt, GaussianFormat):
            raise TypeError(f"fmt must be a GaussianFormat, not {fmt!r}")
        self.fmt = fmt
        super().__init__({"blocks": In(stream.Signature(THREEFRY_BLOCK)),
                          "samples": Out(_sample_signature(fmt, 1))})

    def elaborate(self, platform):
        m = Module()
        rom, x_bits = _icdf_rom(m, self.fmt)
        advance, lane = Signal(), Signal()
        m.d.comb += [advance.eq(~self.samples.valid | self.samples.ready),
                     self.blocks.ready.eq(advance & lane)]
        # The word of the lane in turn is registered first (the normaliser behind it is
        # five levels of multiplexers deep).
        valid_a, valid_b, valid_c = Signal(), Signal(), Signal()
        word = Signal(32)
        with m.If(advance):
            m.d.sync += [valid_a.eq(self.blocks.valid), valid_b.eq(valid_a),
                         valid_c.eq(valid_b), self.samples.valid.eq(valid_c),
                         word.eq(Mux(lane, self.blocks.payload[1], self.blocks.payload[0]))]
            with m.If(self.blocks.valid):
                m.d.sync += lane.eq(~lane)
        _icdf_lane(m, word, advance, rom, x_bits, self.samples.payload[0], "s")
        return m


#: Shaper cores by name (as `tritherm.formats.SHAPER_SAMPLES`).
SHAPER_CORES = {"clt": CltShaper, "icdf": IcdfShaper}


def shaper_core(name: str, fmt: GaussianFormat = NOISE_FORMAT) -> _Shaper:
    """A new shaper core by name; ValueError for an unknown name."""
    if name not in SHAPER_CORES:
        raise ValueError(f"shaper must be one of {', '.join(SHAPER_CORES)}, got {name!r}")
    return SHAPER_CORES[name](fmt)
