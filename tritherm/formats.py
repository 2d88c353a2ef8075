"""Number formats and memory layouts, written down once.

The cores in ``tritherm.hdl`` and the golden models in ``tritherm.sim`` both import this
module (and nothing of each other), so a width or a layout cannot drift between them.
Pure Python, no Amaranth and no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "INT8_MIN", "INT8_MAX", "TRITS_PER_BYTE", "BASE3_CODES", "trit_code",
    "accumulator_width", "TernaryArrayShape",
]

INT8_MIN, INT8_MAX = -128, 127

#: Five ternary digits fit in a byte: 3**5 = 243 <= 256 (1.6 bits per weight).
TRITS_PER_BYTE = 5
#: Byte values 0..242 are valid base-3 codes; 243..255 are invalid.
BASE3_CODES = 3 ** TRITS_PER_BYTE


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

    The weight memory holds ``rows`` words, one per beat of activations. A word holds
    ``groups = ceil(inputs / 5)`` bytes per lane; byte ``g`` of lane ``l`` sits at byte
    column ``l * groups + g`` and its base-3 digit ``i`` (least significant first) is the
    code ``w + 1`` of the weight for input ``5 g + i`` of that row.
    """

    lanes: int
    inputs: int
    max_k: int

    def __post_init__(self):
        _check_range("lanes", self.lanes, 1, 1024)
        _check_range("inputs", self.inputs, 1, 256)
        _check_range("max_k", self.max_k, 1, 65536)

    @property
    def groups(self) -> int:
        """Packed bytes per lane per row."""
        return -(-self.inputs // TRITS_PER_BYTE)

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
