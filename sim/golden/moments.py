"""Block moments of coupler samples, bit-exact with the SoC's `CouplerMoments`.

For each block of ``block`` consecutive samples (the last block may be shorter) the SoC
accumulates, as exact integers of the raw 16-bit state, ``moment_terms(cells)`` sums in
this order: sum x_i (i = 0..cells-1), sum x_i x_j for i <= j (row by row: (0,0), (0,1), ...,
(0,n-1), (1,1), ...), sum p_i^2. The host turns them into a mean, a covariance and
batch-means standard errors (`tritherm.sim.linalg`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tritherm.formats import moment_terms

__all__ = ["BlockMoments", "block_moments", "pair_index"]


def pair_index(cells: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) of the pair sums, in accumulator order (``np.triu_indices``)."""
    return np.triu_indices(cells)


@dataclass(frozen=True)
class BlockMoments:
    """``counts`` (blocks,) samples per block; ``sums`` (blocks, moment_terms(cells))
    int64; ``flags``: the cells' sticky saturation flags after the last sample (bit i cell
    i)."""

    cells: int
    counts: np.ndarray
    sums: np.ndarray
    flags: int = 0

    @property
    def samples(self) -> int:
        return int(self.counts.sum())

    def sum_x(self) -> np.ndarray:
        """(blocks, cells) sums of x."""
        return self.sums[:, :self.cells]

    def sum_xx(self) -> np.ndarray:
        """(blocks, cells, cells) symmetric sums of x x^T."""
        n = self.cells
        out = np.zeros((len(self.counts), n, n), dtype=np.int64)
        i, j = pair_index(n)
        pairs = self.sums[:, n:n + len(i)]
        out[:, i, j] = pairs
        out[:, j, i] = pairs
        return out

    def sum_pp(self) -> np.ndarray:
        """(blocks, cells) sums of p^2."""
        return self.sums[:, -self.cells:]

    def __eq__(self, other):
        return (isinstance(other, BlockMoments) and self.cells == other.cells
                and self.flags == other.flags
                and np.array_equal(self.counts, other.counts)
                and np.array_equal(self.sums, other.sums))


def block_moments(x, p, block: int, flags: int = 0) -> BlockMoments:
    """The block sums of samples x, p ((k, cells) raw integers) in blocks of `block`."""
    x = np.asarray(x, dtype=np.int64)
    p = np.asarray(p, dtype=np.int64)
    if x.ndim != 2 or x.shape != p.shape:
        raise ValueError(f"x and p must be (samples, cells) arrays of one shape, got "
                         f"{x.shape} and {p.shape}")
    if not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block must be a whole number of at least 1, got {block!r}")
    k, cells = x.shape
    i, j = pair_index(cells)
    terms = np.concatenate([x, x[:, i] * x[:, j], p * p], axis=1)
    starts = np.arange(0, k, int(block))
    sums = (np.add.reduceat(terms, starts, axis=0) if k
            else np.zeros((0, moment_terms(cells)), dtype=np.int64))
    counts = np.minimum(int(block), k - starts).astype(np.int64)
    return BlockMoments(cells, counts, sums.astype(np.int64), int(flags))
