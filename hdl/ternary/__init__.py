"""Ternary MAC array (BitNet b1.58): packed base-3 weights, int8 activations, no multipliers."""

from .array import TernaryArray, WeightWriteSignature, adder_tree, ternary_term
from .decoder import TRIT, Base3Decoder

__all__ = ["TernaryArray", "WeightWriteSignature", "Base3Decoder", "TRIT",
           "adder_tree", "ternary_term"]
