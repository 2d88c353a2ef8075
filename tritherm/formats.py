"""Number formats and memory layouts, written down once.

The cores in ``tritherm.hdl`` and the golden models in ``tritherm.sim`` both import this
module (and nothing of each other), so a width or a layout cannot drift between them.
Pure Python, no Amaranth and no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "INT8_MIN", "INT8_MAX", "TRITS_PER_BYTE", "BASE3_CODES", "trit_code",
    "TERNARY_PACKINGS", "TERNARY_VARIANTS", "TERNARY_VARIANT_PACKING",
    "accumulator_width", "TernaryArrayShape",
    "THREEFRY_ROTATIONS", "THREEFRY_PARITY", "THREEFRY_INJECT_EVERY", "THREEFRY_ROUNDS",
    "THREEFRY_MAX_ROUNDS", "NOISE_SEED_BITS", "NOISE_COUNTER_BITS", "check_rounds", "stream_key",
    "GaussianFormat", "NOISE_FORMAT", "SHAPER_SAMPLES", "CLT_FIELDS", "CLT_FIELD_BITS",
    "CLT_SHIFT", "clt_scale", "ICDF_SEGMENT_BITS", "ICDF_FRACTION_BITS", "ICDF_OCTAVES",
    "icdf_node", "icdf_table",
]

INT8_MIN, INT8_MAX = -128, 127

#: Five ternary digits fit in a byte: 3**5 = 243 <= 256 (1.6 bits per weight).
TRITS_PER_BYTE = 5
#: Byte values 0..242 are valid base-3 codes; 243..255 are invalid.
BASE3_CODES = 3 ** TRITS_PER_BYTE
#: Weight packings of the array's weight bytes, and the weights in one byte of each:
#: base 3 (1.6 bits a weight) and two bits a weight (bitnet.cpp's I2_S codes w + 1).
TERNARY_PACKINGS = {"base3": TRITS_PER_BYTE, "2bit": 4}
#: Implementations of the ternary array (`TernaryArrayShape.variant`) and the packing each
#: is written in: "tree" decodes base-3 bytes as it reads them and adds in a borrow tree;
#: the "dense" datapath keeps two bits a weight in its memory, decoded from base-3 bytes
#: as they are written ("dense"), written so by the host ("dense-2bit"), or reads base-3
#: bytes and decodes them on every read ("dense-base3"). See tritherm.hdl.ternary.
TERNARY_VARIANT_PACKING = {"tree": "base3", "dense": "base3", "dense-base3": "base3",
                           "dense-2bit": "2bit"}
TERNARY_VARIANTS = tuple(TERNARY_VARIANT_PACKING)


def trit_code(weight: int) -> int:
    """The digit that stores `weight` in {-1, 0, +1}: weight + 1 (as bitnet.cpp's I2_S)."""
    return weight + 1


def accumulator_width(k: int) -> int:
    """Signed bits that hold any sum of `k` products int8 x {-1, 0, +1} without overflow.

    The extreme sums are -128*k (all activations -128, all weights +1) and +128*k (all
    weights -1), so the width is ``bit_length(128*k) + 1``: 15 bits for K = 64, 17 for
    K = 256, 21 for K = 4096.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return (128 * k).bit_length() + 1


class SignedRange:
    """``min`` and ``max`` of a two's complement format with a ``width`` attribute."""

    @property
    def min(self) -> int:
        return -(1 << (self.width - 1))

    @property
    def max(self) -> int:
        return (1 << (self.width - 1)) - 1


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class TernaryArrayShape:
    """Geometry of a ternary MAC array and of its packed weight memory.

    Parameters
    ----------
    lanes : int
        Output neurons computed in parallel (1..1024).
    inputs : int
        Activations consumed per cycle by every lane (1..256).
    max_k : int
        Longest dot product the array accepts (1..65536); rounded up to whole rows.
    variant : str
        Which implementation of the array, one of `TERNARY_VARIANTS` (default ``"dense"``);
        it also fixes how the weights are packed (`packing`).

    The weight memory holds ``rows`` words, one per beat of activations. A word holds
    ``groups = ceil(inputs / weights_per_byte)`` bytes per lane; byte ``g`` of lane ``l``
    sits at byte column ``l * groups + g``. Its digit ``i`` (least significant first) is
    the code ``w + 1`` of the weight for input ``weights_per_byte * g + i`` of that row:
    a base-3 digit, five to a byte, in the ``"base3"`` packing; two bits (``2i+1:2i``),
    four to a byte, in the ``"2bit"`` packing (bitnet.cpp's I2_S codes, code 3 invalid).
    """

    lanes: int
    inputs: int
    max_k: int
    variant: str = "dense"

    def __post_init__(self):
        _check_range("lanes", self.lanes, 1, 1024)
        _check_range("inputs", self.inputs, 1, 256)
        _check_range("max_k", self.max_k, 1, 65536)
        if self.variant not in TERNARY_VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(TERNARY_VARIANTS)}, "
                             f"got {self.variant!r}")

    @property
    def packing(self) -> str:
        """How the weights are packed in the bytes written to the array: ``"base3"`` or
        ``"2bit"`` (`TERNARY_PACKINGS`)."""
        return TERNARY_VARIANT_PACKING[self.variant]

    @property
    def weights_per_byte(self) -> int:
        """Weights in one packed byte: 5 (base 3) or 4 (two bits each)."""
        return TERNARY_PACKINGS[self.packing]

    @property
    def groups(self) -> int:
        """Packed bytes per lane per row."""
        return -(-self.inputs // self.weights_per_byte)

    @property
    def rows(self) -> int:
        """Words in the weight memory (beats in the longest dot product)."""
        return -(-self.max_k // self.inputs)

    @property
    def capacity(self) -> int:
        """Longest K the memory holds: ``rows * inputs`` (>= max_k)."""
        return self.rows * self.inputs

    @property
    def row_bytes(self) -> int:
        """Bytes in one weight-memory word (all lanes)."""
        return self.lanes * self.groups

    @property
    def acc_width(self) -> int:
        """Accumulator and result width: `accumulator_width` of the capacity."""
        return accumulator_width(self.capacity)

    @property
    def k_width(self) -> int:
        """Width of the run-time K register."""
        return self.capacity.bit_length()

    @property
    def macs_per_cycle(self) -> int:
        return self.lanes * self.inputs


# --- Counter-based noise (Threefry-2x32) and Gaussian sample formats ----------------------

#: Threefry-2x32 rotation constants (Random123 ``R_32x2_*``), round ``r`` uses ``[r % 8]``.
THREEFRY_ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)
#: Key-schedule parity constant (Skein's ``SKEIN_KS_PARITY32``): ``ks2 = k0 ^ k1 ^ parity``.
THREEFRY_PARITY = 0x1BD11BDA
#: A key is injected after every ``THREEFRY_INJECT_EVERY`` rounds.
THREEFRY_INJECT_EVERY = 4
#: Random123's default round count for Threefry-2x32 (13 is its "Crush-resistant" minimum).
THREEFRY_ROUNDS = 20
#: Rounds accepted by the golden model and the core (Random123 defines 2x32 up to 32).
THREEFRY_MAX_ROUNDS = 32

#: Bits of the user seed. Stream ``index`` of seed ``s`` uses the Threefry key
#: ``(key0, key1) = (index, s)`` (`stream_key`); its counter is the block number.
NOISE_SEED_BITS = 32
#: Bits of the block counter (counter0 = low word, counter1 = high word).
NOISE_COUNTER_BITS = 64


def check_rounds(rounds) -> int:
    """Return `rounds`, or raise ValueError unless it is an integer in [1, 32]."""
    _check_range("rounds", rounds, 1, THREEFRY_MAX_ROUNDS)
    return rounds


def stream_key(seed: int, index: int) -> tuple[int, int]:
    """The Threefry key ``(key0, key1)`` of stream `index` under user `seed`: ``(index, seed)``.

    Random123's idiom (a key made of an application id and a user seed): distinct keys give
    independent streams, so no key needs to be hashed or stored; the core builds the key from
    its cell counter and the seed register.
    """
    _check_range("seed", seed, 0, (1 << NOISE_SEED_BITS) - 1)
    _check_range("index", index, 0, (1 << 32) - 1)
    return index, seed


@dataclass(frozen=True)
class GaussianFormat(SignedRange):
    """A signed fixed-point Gaussian sample: ``value = raw / 2**frac_bits`` (in sigmas).

    Parameters
    ----------
    width : int
        Total bits, two's complement (8..32).
    frac_bits : int
        Fraction bits (1..width-2); with the default 16/12 the LSB is sigma/4096 and the
        range is +-8 sigma.

    A shaper targets variance 1 in these units (``2**(2*frac_bits)`` in raw LSB squared) but
    its *exact* variance is whatever its discrete distribution gives; the golden model's
    ``shaper_stats`` says exactly how much, and a consumer scales by it. Shapers are built so
    that no value leaves the range (no saturation is ever needed; the golden model checks).
    """

    width: int = 16
    frac_bits: int = 12

    def __post_init__(self):
        _check_range("width", self.width, 8, 32)
        _check_range("frac_bits", self.frac_bits, 1, self.width - 2)

    @property
    def one(self) -> int:
        """The raw value of 1.0 (one sigma for a unit-variance target)."""
        return 1 << self.frac_bits


#: The format every tritherm noise source emits.
NOISE_FORMAT = GaussianFormat(16, 12)

#: Shapers, by name, with the number of samples each draws from one 64-bit block.
SHAPER_SAMPLES = {"clt": 1, "icdf": 2}

# Central-limit shaper: four 16-bit fields of the block, summed and centred,
# ``S = f0 + f1 + f2 + f3 - 2 * (2**16 - 1)`` (exactly symmetric about 0), then scaled by a
# constant ``(S * clt_scale(fmt)) >> CLT_SHIFT`` (floor), done with shifts and adds.
CLT_FIELDS = 4
CLT_FIELD_BITS = 16
CLT_SHIFT = 13


def clt_scale(fmt: GaussianFormat = NOISE_FORMAT) -> int:
    """The CLT shaper's constant multiplier K: ``round(2**(frac_bits + CLT_SHIFT) / sd(S))``
    with ``var(S) = CLT_FIELDS * (2**(2*CLT_FIELD_BITS) - 1) / 12`` (887 for 12 fraction bits)."""
    from math import sqrt
    var_s = CLT_FIELDS * ((1 << (2 * CLT_FIELD_BITS)) - 1) / 12
    return round((1 << (fmt.frac_bits + CLT_SHIFT)) / sqrt(var_s))


# Inverse-CDF shaper: each 32-bit word is one sample; bit 31 is the sign, the other 31 bits
# ``r`` give the two-sided tail probability ``q ~ r / 2**31`` of the magnitude. ``z``, the
# count of leading zeros of ``r`` (31 for r = 0), picks an octave ``q in [2**-(z+1), 2**-z)``;
# ``n = r << z`` puts the leading one at bit 30, whose next ICDF_SEGMENT_BITS bits pick one
# of 8 equal sub-segments and whose next ICDF_FRACTION_BITS bits interpolate linearly in it.
ICDF_SEGMENT_BITS = 3
ICDF_FRACTION_BITS = 12
ICDF_OCTAVES = 32


def icdf_node(z: int, j: int, fmt: GaussianFormat = NOISE_FORMAT) -> int:
    """The table's node ``j`` (0..8) of octave `z`: ``round(x * 2**frac_bits)`` where
    ``P(|X| > x) = q = 2**-(z+1) * (1 + j / 8)`` for a standard normal X (round half up)."""
    from math import floor
    from statistics import NormalDist
    q = 2.0 ** -(z + 1) * (1 + j / (1 << ICDF_SEGMENT_BITS))
    x = 0.0 if q >= 1.0 else -NormalDist().inv_cdf(q / 2)
    return floor(x * (1 << fmt.frac_bits) + 0.5)


_ICDF_TABLES: dict = {}


def icdf_table(fmt: GaussianFormat = NOISE_FORMAT) -> tuple[tuple[int, int], ...]:
    """The inverse-CDF ROM: entry ``z * 8 + j`` is ``(x_hi, d)`` with ``x_hi`` node j of
    octave z and ``d = x_hi - x_lo >= 0`` the drop to node j + 1 (256 entries).

    A sample's magnitude is ``x_hi - ((d * (2 f + 1)) >> (ICDF_FRACTION_BITS + 1))``: linear
    interpolation at the middle of the f-th of 4096 cells of the sub-segment (floor).
    """
    if fmt not in _ICDF_TABLES:
        entries = []
        for z in range(ICDF_OCTAVES):
            nodes = [icdf_node(z, j, fmt) for j in range((1 << ICDF_SEGMENT_BITS) + 1)]
            entries += [(nodes[j], nodes[j] - nodes[j + 1])
                        for j in range(1 << ICDF_SEGMENT_BITS)]
        if max(x for x, _ in entries) > fmt.max:
            raise ValueError(f"format {fmt} cannot hold the inverse-CDF tail")
        _ICDF_TABLES[fmt] = tuple(entries)
    return _ICDF_TABLES[fmt]


# --- The thermodynamic coupler (tritherm.hdl.thermo) --------------------------------------

#: Integration modes of the coupler (the MODE register).
COUPLER_OVERDAMPED = 0
COUPLER_UNDERDAMPED = 1
COUPLER_MODES = {"overdamped": COUPLER_OVERDAMPED, "underdamped": COUPLER_UNDERDAMPED}

#: Configuration address map: ``addr = region << COUPLER_INDEX_BITS | index``.
COUPLER_INDEX_BITS = 12
COUPLER_ADDR_BITS = 16
COUPLER_DATA_BITS = 32
#: Regions: A (index ``i << COUPLER_CELL_BITS | j``, rows and columns below 64), b, k4 =
#: 4 J4 (quartic force coefficient), initial x, initial p (index = cell), scalar registers
#: (index = COUPLER_REG_*), and A by row (index = row i, the column j in the data's high
#: half: any size, `coupler_a_write`). Data: the low 16 bits, two's complement (SEED: all
#: 32).
COUPLER_REGION_A, COUPLER_REGION_B, COUPLER_REGION_K4 = 0, 1, 2
COUPLER_REGION_X, COUPLER_REGION_P, COUPLER_REGION_SCALAR = 3, 4, 5
COUPLER_REGION_A_ROW = 6
#: Scalar registers. MODE: 0 overdamped, 1 underdamped. QUARTIC: 1 enables the k4 x^3
#: force. HSHIFT: h = 2**-HSHIFT. DAMP: c1 = exp(-gamma h) (underdamped). NOISE: the noise
#: multiplier (sigma overdamped, c2 underdamped). THIN: a sample every THIN steps (>= 1;
#: writing it restarts the count). SEED: the noise seed; writing it restarts the noise
#: streams and the step counter at 0. FLAGS: any write clears the sticky saturation flags.
COUPLER_REG_MODE, COUPLER_REG_QUARTIC, COUPLER_REG_HSHIFT = 0, 1, 2
COUPLER_REG_DAMP, COUPLER_REG_NOISE, COUPLER_REG_THIN = 3, 4, 5
COUPLER_REG_SEED, COUPLER_REG_FLAGS = 6, 7
COUPLER_SEQ_BITS = 32
#: Largest coupler (the generative model's 64 visible + 128 hidden cells, and more).
COUPLER_MAX_CELLS = 256
#: Bits of the column j in a compact A address (region A: rows and columns below 64).
COUPLER_CELL_BITS = 6


def coupler_address(region: int, index: int = 0, column: int | None = None) -> int:
    """The configuration address of `index` in `region` (a COUPLER_REGION_*); for A, give
    the row as `index` and the column as `column` (both below ``2**COUPLER_CELL_BITS``;
    `coupler_a_write` writes any entry)."""
    if column is not None:
        _check_range("row", index, 0, (1 << COUPLER_CELL_BITS) - 1)
        _check_range("column", column, 0, (1 << COUPLER_CELL_BITS) - 1)
        index = index << COUPLER_CELL_BITS | column
    _check_range("region", region, 0, COUPLER_REGION_A_ROW)
    _check_range("index", index, 0, (1 << COUPLER_INDEX_BITS) - 1)
    return region << COUPLER_INDEX_BITS | index


def coupler_a_write(row: int, column: int, value: int) -> tuple[int, int]:
    """The configuration write ``(address, data)`` that sets ``A[row, column]`` to the raw
    `value` (16 bits, two's complement): region A for rows and columns below 64 (the
    address every core of up to 64 cells has always taken), region A_ROW beyond (address
    = row, data = ``column << 16 | value``)."""
    _check_range("row", row, 0, COUPLER_MAX_CELLS - 1)
    _check_range("column", column, 0, COUPLER_MAX_CELLS - 1)
    limit = 1 << COUPLER_CELL_BITS
    if row < limit and column < limit:
        return coupler_address(COUPLER_REGION_A, row, column), value & 0xFFFF
    return (coupler_address(COUPLER_REGION_A_ROW, row),
            column << 16 | (value & 0xFFFF))


@dataclass(frozen=True)
class FixedFormat(SignedRange):
    """A signed two's complement fixed-point number: ``value = raw / 2**frac``."""

    width: int
    frac: int

    @property
    def one(self) -> int:
        return 1 << self.frac

    def quantise(self, value: float, name: str = "value") -> int:
        """``round(value * 2**frac)`` (half away from zero), or ValueError out of range."""
        from math import floor, isfinite
        if not isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        scaled = value * self.one
        raw = int(floor(abs(scaled) + 0.5)) * (1 if scaled >= 0 else -1)
        if not self.min <= raw <= self.max:
            raise ValueError(f"{name} = {value!r} is outside the fixed-point range "
                             f"[{self.min / self.one}, {self.max / self.one}]")
        return raw


@dataclass(frozen=True)
class CouplerFormat:
    """Every number format of the coupler (`tritherm.hdl.thermo.Coupler`).

    - ``state`` (16 bits, 10 fraction bits, range [-32, 32), LSB 2**-10): positions x,
      momenta p and the bias b.
    - ``coef`` (16 bits, 12 fraction bits, range [-8, 8)): the coupling matrix A (its
      diagonal also holds the quadratic self-term: A_ii + 2 J2_i) and the quartic force
      coefficient k4 = 4 J4.
    - ``mult`` (16 bits, 14 fraction bits, range [-2, 2)): the run-time multipliers DAMP
      (c1) and NOISE (sigma or c2) applied to the noise source's Gaussian samples
      (`NOISE_FORMAT`, in units of sigma) and to p.
    - the step h is a power of two, ``h = 2**-hshift`` with ``hshift`` in [0, hshift_max].

    Every multiplier operand is 16 bits signed (one iCE40 SB_MAC16 or ECP5 MULT18X18D);
    products are exact (A x and k4 x^3: 32 bits with 22 fraction bits, summed exactly in
    the accumulator). Each update rounds once per quantity, to nearest with ties upwards
    (``(v + 2**(s-1)) >> s``, arithmetic shift), then saturates to the state range; a
    saturation (also of the intermediates x^2 and x^3 when the quartic term is on) raises
    that cell's sticky flag. Nothing wraps.
    """

    state: FixedFormat = FixedFormat(16, 10)
    coef: FixedFormat = FixedFormat(16, 12)
    mult: FixedFormat = FixedFormat(16, 14)
    hshift_max: int = 15

    @property
    def product_frac(self) -> int:
        """Fraction bits of A_ij x_j and of the accumulated gradient (22)."""
        return self.state.frac + self.coef.frac

    @property
    def hshift_bits(self) -> int:
        return self.hshift_max.bit_length()


COUPLER_FORMAT = CouplerFormat()


def coupler_acc_width(cells: int, fmt: CouplerFormat = COUPLER_FORMAT) -> int:
    """Signed bits of the gradient accumulator: ``cells + 1`` products of two 16-bit
    operands plus the bias, with a bit to spare."""
    product = fmt.state.width + fmt.coef.width
    return product + (cells + 2).bit_length() + 1


def coupler_cycles_per_step(cells: int, multipliers: int, quartic: bool = False,
                            sample: bool = True) -> int:
    """Clock cycles of one coupler step with the noise beat ready and samples taken at once.

    The A x products stream one word of `multipliers` entries a cycle over every (cell,
    block): ``cells * cells / multipliers`` cycles; then 8 to drain the last cell (product,
    the word's sum, accumulate, shift, kick, DAMP p1, p2, write and commit). With
    `quartic`, a pre-pass computes k4 x^3 for every cell first, two cycles a cell plus 6.
    An emitted sample (`sample`) costs no cycle: the next step runs while it is read. The
    noise source may set a slower pace (``Coupler.noise_cycles_per_step``)."""
    del sample                                   # emission is free (kept for callers)
    return cells * (cells // multipliers) + 8 + (2 * cells + 6 if quartic else 0)


__all__ += [
    "COUPLER_OVERDAMPED", "COUPLER_UNDERDAMPED", "COUPLER_MODES", "COUPLER_INDEX_BITS",
    "COUPLER_ADDR_BITS", "COUPLER_DATA_BITS", "COUPLER_REGION_A", "COUPLER_REGION_B",
    "COUPLER_REGION_K4", "COUPLER_REGION_X", "COUPLER_REGION_P", "COUPLER_REGION_SCALAR",
    "COUPLER_REG_MODE", "COUPLER_REG_QUARTIC", "COUPLER_REG_HSHIFT", "COUPLER_REG_DAMP",
    "COUPLER_REG_NOISE", "COUPLER_REG_THIN", "COUPLER_REG_SEED", "COUPLER_REG_FLAGS",
    "COUPLER_SEQ_BITS", "COUPLER_MAX_CELLS", "COUPLER_CELL_BITS", "coupler_address",
    "COUPLER_REGION_A_ROW", "coupler_a_write",
    "FixedFormat",
    "CouplerFormat", "COUPLER_FORMAT", "coupler_acc_width", "coupler_cycles_per_step",
]


# --- Block moments of coupler samples (tritherm.hdl.thermo.CouplerMoments) ------------------

#: Most samples one block of moments may hold (the protocol's block size is a u16).
MOMENTS_MAX_BLOCK = 2 ** 16 - 1


def moment_terms(cells: int) -> int:
    """Accumulators of one block: sum x_i (cells), sum x_i x_j for i <= j (row by row,
    cells (cells + 1) / 2), sum p_i^2 (cells), in that order."""
    return cells + cells * (cells + 1) // 2 + cells


def moments_acc_width(max_block: int = MOMENTS_MAX_BLOCK,
                      fmt: CouplerFormat = COUPLER_FORMAT) -> int:
    """Signed bits that hold any block sum of up to `max_block` samples exactly: a product
    of two state words lies in [-2**30 + 2**15, 2**30] (16-bit state), so ``|sum| <=
    max_block * 2**30`` (47 bits for a u16 block size)."""
    largest = max_block << (2 * (fmt.state.width - 1))
    return largest.bit_length() + 1


__all__ += ["MOMENTS_MAX_BLOCK", "moment_terms", "moments_acc_width"]


# --- The SoC's serial protocol (tritherm.firmware.protocol, tritherm.hdl.io) ---------------

#: CRC-16/CCITT-FALSE: polynomial x^16 + x^12 + x^5 + 1, initial value 0xFFFF, bits not
#: reflected, no final xor (check value 0x29B1 for b"123456789").
CRC16_POLY = 0x1021
CRC16_INIT = 0xFFFF

__all__ += ["CRC16_POLY", "CRC16_INIT"]
