"""Ternary MAC array (BitNet b1.58): packed ternary weights, int8 activations, no multipliers.

`TernaryArray(shape)` builds the variant ``shape.variant`` names: `TreeTernaryArray`
(base-3 bytes decoded on every read) or `DenseTernaryArray` (two bits a weight in memory,
exact terms, a tree registered at every level).
"""

from .array import TernaryArray, TreeTernaryArray, WeightWriteSignature, adder_tree, ternary_term
from .decoder import TRIT, Base3Decoder
from .dense import DenseTernaryArray

__all__ = ["TernaryArray", "TreeTernaryArray", "DenseTernaryArray", "WeightWriteSignature",
           "Base3Decoder", "TRIT", "adder_tree", "ternary_term"]
