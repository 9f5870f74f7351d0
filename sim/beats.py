"""Matrices and vectors cut into the stream beats of the matrix-vector units (NumPy only)."""

import numpy as np

__all__ = ["fold_beats", "bits_to_words"]


def fold_beats(matrix, simd, pad):
    """Split rows of ``matrix`` (R, n) into ``SF = ceil(n / simd)`` chunks of ``simd`` lanes,
    the last padded with ``pad``: shape (R, SF, simd)."""
    rows, n = matrix.shape
    folds = -(-n // simd)
    padded = np.full((rows, folds * simd), pad, dtype=matrix.dtype)
    padded[:, :n] = matrix
    return padded.reshape(rows, folds, simd)


def bits_to_words(bits):
    """(..., simd) array of 0/1 -> nested lists of ints with lane j at bit j."""
    shape = bits.shape
    packed = np.packbits(bits.reshape(-1, shape[-1]).astype(np.uint8), axis=-1,
                         bitorder="little")
    words = [int.from_bytes(row.tobytes(), "little") for row in packed]
    return np.array(words, dtype=object).reshape(shape[:-1]).tolist()
