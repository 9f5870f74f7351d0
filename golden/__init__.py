"""NumPy golden models: the specification every hardware block is checked against.

Imports only NumPy. ``bitmac.golden.binary`` holds the binary (XNOR-popcount) arithmetic,
``bitmac.golden.int8`` the int8 arithmetic with gemmlowp requantization; every public name of
both is re-exported here. The conventions (bit order, matrix orientation, rounding, overflow)
are those of the README's "Conventions" section.
"""

from .binary import (binarize, binary_gemm, fold_batchnorm, pack_bits, threshold_activate,
                     unpack_bits, words_for, xnor_popcount_dot)
from .int8 import (acc_bits, dequantize, int8_dense, int8_gemm, quantize, quantize_multiplier,
                   requantize, rounding_divide_by_pot, saturating_rounding_doubling_high_mul)

__all__ = [
    # binary
    "binarize", "pack_bits", "unpack_bits", "words_for", "xnor_popcount_dot", "binary_gemm",
    "threshold_activate", "fold_batchnorm",
    # int8
    "quantize", "dequantize", "int8_gemm", "acc_bits", "quantize_multiplier",
    "saturating_rounding_doubling_high_mul", "rounding_divide_by_pot", "requantize",
    "int8_dense",
]
