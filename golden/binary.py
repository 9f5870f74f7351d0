"""Golden models of the binary (XNOR-popcount) arithmetic.

Values are ±1. Packed, a bit 1 means +1 and a bit 0 means -1; element ``j`` of a row sits in bit
``j % 64`` of the uint64 word ``j // 64`` and the unused bits of the last word are 0. The ±1 dot
product of two K-element vectors is ``2 * popcount(XNOR(a, w) over the K valid bits) - K``;
bits past K never count, whatever their value.

A binarized layer ends in a batchnorm followed by the sign function; :func:`fold_batchnorm`
turns both into one integer threshold per output neuron and :func:`threshold_activate`
applies it (FINN-style), so the hardware needs only a comparator after the accumulator.
"""

import numpy as np

from ._checks import depth, int_param, integer_array, per_channel, real_array

__all__ = [
    "binarize", "pack_bits", "unpack_bits", "words_for", "xnor_popcount_dot", "binary_gemm",
    "threshold_activate", "fold_batchnorm",
]

WORD_BITS = 64

# binary_gemm works on blocks of (rows of A) x (rows of W) x words whose XOR temporary stays
# below this many uint64 elements (512 KiB: bounded memory for any shape, and cache-sized,
# which measured fastest of 2**12 .. 2**22 on both bench/golden.py shapes).
_BLOCK_ELEMENTS = 1 << 16


def words_for(k):
    """Number of uint64 words that hold ``k`` packed elements: ``ceil(k / 64)``.

    Raises
    ------
    ValueError
        If ``k`` is not an integer >= 1.
    """
    return (depth(k) + WORD_BITS - 1) // WORD_BITS


def binarize(x, threshold=0):
    """Map real values to ±1: +1 where ``x >= threshold`` (a tie goes to +1), else -1.

    Parameters
    ----------
    x : array_like of real numbers
        Values to binarize (NaN is refused).
    threshold : real or array_like broadcastable to ``x``

    Returns
    -------
    numpy.ndarray of int8
        +1 / -1, same shape as ``x``.
    """
    x = real_array("x", x)
    threshold = real_array("threshold", threshold)
    try:
        positive = x >= threshold
    except ValueError:
        raise ValueError(f"threshold of shape {threshold.shape} does not broadcast to x of "
                         f"shape {x.shape}") from None
    return np.where(positive, 1, -1).astype(np.int8)


def _pm1_to_bool(x_pm1):
    x = np.asarray(x_pm1)
    if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.integer)
                                   or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"x_pm1 must hold the numbers -1 and +1, not dtype {x.dtype}")
    positive = x == 1
    if not np.all(positive | (x == -1)):
        bad = x[~(positive | (x == -1))].ravel()[0]
        raise ValueError(f"x_pm1 must hold only -1 and +1, found {bad}")
    return positive


def _axis(axis, ndim, name="axis"):
    axis = int_param(name, axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} {axis} is out of range for an array with {ndim} dimension(s)")
    return axis % ndim


def pack_bits(x_pm1, axis=-1):
    """Pack ±1 values into uint64 words along ``axis``.

    Element ``j`` along ``axis`` goes to bit ``j % 64`` of word ``j // 64`` (bit 1 = +1,
    bit 0 = -1); the unused high bits of the last word are 0.

    Parameters
    ----------
    x_pm1 : array_like of -1 / +1 (any integer or float dtype)
    axis : int
        Axis to pack; its length K must be >= 1.

    Returns
    -------
    numpy.ndarray of uint64
        Same shape as ``x_pm1`` except ``axis``, which has ``words_for(K)`` entries.

    Raises
    ------
    ValueError
        For a value other than ±1, a boolean or non-numeric dtype, an empty or 0-D input.
    """
    positive = _pm1_to_bool(x_pm1)
    if positive.ndim == 0:
        raise ValueError("x_pm1 must have at least one dimension")
    axis = _axis(axis, positive.ndim)
    positive = np.moveaxis(positive, axis, -1)
    k = positive.shape[-1]
    if k == 0:
        raise ValueError("x_pm1 must have at least one element along the packed axis")
    words = words_for(k)
    padded = np.zeros(positive.shape[:-1] + (words * WORD_BITS,), dtype=np.uint8)
    padded[..., :k] = positive
    # Little bit order within bytes and little-endian bytes within words gives bit j % 64.
    packed = np.packbits(padded, axis=-1, bitorder="little")
    packed = np.ascontiguousarray(packed).view("<u8").astype(np.uint64)
    return np.moveaxis(packed, -1, axis)


def unpack_bits(words, k, axis=-1):
    """Unpack the first ``k`` elements along ``axis`` of uint64 words into ±1 values.

    The inverse of :func:`pack_bits`; bits past ``k`` are ignored.

    Parameters
    ----------
    words : numpy.ndarray of uint64
    k : int
        Number of elements, 1 <= k <= 64 * words.shape[axis].
    axis : int

    Returns
    -------
    numpy.ndarray of int8
        ±1, same shape as ``words`` except ``axis``, which has ``k`` entries.
    """
    words = integer_array("words", words, dtype=np.uint64)
    if words.ndim == 0:
        raise ValueError("words must have at least one dimension")
    axis = _axis(axis, words.ndim)
    words = np.moveaxis(words, axis, -1)
    k = depth(k, capacity=words.shape[-1] * WORD_BITS)
    as_bytes = np.ascontiguousarray(words.astype("<u8")).view(np.uint8)
    bits = np.unpackbits(as_bytes, axis=-1, bitorder="little")[..., :k]
    values = (bits.astype(np.int8) * 2 - 1).astype(np.int8)
    return np.moveaxis(values, -1, axis)


def _valid_mask(words, k):
    # One uint64 mask per word position: ones on the k valid bits, zeros on every bit past k
    # (the top of the last used word and any whole word beyond it).
    mask = np.zeros(words, dtype=np.uint64)
    full, tail = divmod(k, WORD_BITS)
    mask[:full] = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
    if tail:
        mask[full] = np.uint64((1 << tail) - 1)
    return mask


def _packed_operand(name, value, ndim):
    array = integer_array(name, value, dtype=np.uint64, ndim=ndim)
    if array.shape[-1] == 0:
        raise ValueError(f"{name} must hold at least one word")
    return array


def xnor_popcount_dot(a_bits, w_bits, k):
    """±1 dot product of two packed vectors: ``2 * popcount(XNOR over the k valid bits) - k``.

    Parameters
    ----------
    a_bits, w_bits : 1-D numpy.ndarray of uint64, same length
    k : int
        Number of valid elements, 1 <= k <= 64 * len(a_bits).

    Returns
    -------
    int
        The dot product, in [-k, k] with the parity of k.
    """
    a_bits = _packed_operand("a_bits", a_bits, 1)
    w_bits = _packed_operand("w_bits", w_bits, 1)
    if a_bits.shape != w_bits.shape:
        raise ValueError(f"a_bits and w_bits must have the same number of words, not "
                         f"{a_bits.shape[0]} and {w_bits.shape[0]}")
    k = depth(k, capacity=a_bits.shape[0] * WORD_BITS)
    agree = ~(a_bits ^ w_bits) & _valid_mask(a_bits.shape[0], k)
    return int(2 * int(np.bitwise_count(agree).sum(dtype=np.int64)) - k)


def binary_gemm(A_bits, W_bits, k):
    """Binary GEMM on packed operands: ``unpack(A) @ unpack(W).T`` with ±1 values.

    Each output is ``k - 2 * popcount(XOR)`` over the valid bits, the same number as
    ``2 * popcount(XNOR) - k``. The computation is blocked so that the temporaries stay within
    512 KiB (or one pair of rows, for rows longer than that) whatever M and N.

    Parameters
    ----------
    A_bits : numpy.ndarray of uint64, shape (M, words)
        Activations, one packed row per vector.
    W_bits : numpy.ndarray of uint64, shape (N, words)
        Weights, neuron-major (one packed row per output neuron).
    k : int
        Number of valid elements per row, 1 <= k <= 64 * words.

    Returns
    -------
    numpy.ndarray of int32, shape (M, N)
    """
    A_bits = _packed_operand("A_bits", A_bits, 2)
    W_bits = _packed_operand("W_bits", W_bits, 2)
    if A_bits.shape[1] != W_bits.shape[1]:
        raise ValueError(f"A_bits and W_bits must have the same number of words per row, not "
                         f"{A_bits.shape[1]} and {W_bits.shape[1]}")
    words = A_bits.shape[1]
    k = depth(k, capacity=words * WORD_BITS)
    # Clearing the padding once makes the padding XOR to 0, so it never counts.
    mask = _valid_mask(words, k)
    A_bits = A_bits & mask
    W_bits = W_bits & mask
    m, n = A_bits.shape[0], W_bits.shape[0]
    out = np.empty((m, n), dtype=np.int32)
    n_block = max(1, min(n, _BLOCK_ELEMENTS // words))
    m_block = max(1, _BLOCK_ELEMENTS // (n_block * words))
    for n0 in range(0, n, n_block):
        w_block = W_bits[None, n0:n0 + n_block, :]
        for m0 in range(0, m, m_block):
            differ = np.bitwise_count(A_bits[m0:m0 + m_block, None, :] ^ w_block)
            out[m0:m0 + m_block, n0:n0 + n_block] = k - 2 * differ.sum(axis=-1, dtype=np.int32)
    return out


def threshold_activate(acc, thresholds, invert=None):
    """Batchnorm + sign folded into one integer comparison per output neuron.

    ``bit = (acc >= thresholds) XOR invert``; bit 1 means +1.

    Parameters
    ----------
    acc : array_like of int, shape (..., N)
        Accumulator values (e.g. the output of :func:`binary_gemm`).
    thresholds : int or array_like of int, shape (N,)
        One threshold per output neuron (last axis of ``acc``), or one for all.
    invert : None, 0/1 or array_like of 0/1, shape (N,)
        1 where the comparison is inverted (a negative batchnorm gamma); None means all 0.

    Returns
    -------
    numpy.ndarray of uint8
        Bits (1 = +1, 0 = -1), same shape as ``acc``.
    """
    acc = integer_array("acc", acc)
    channels = acc.shape[-1] if acc.ndim else 1
    thresholds = per_channel("thresholds", integer_array("thresholds", thresholds), channels)
    invert = np.asarray(0 if invert is None else invert)
    if invert.dtype == np.bool_:
        invert = invert.astype(np.uint8)
    invert = per_channel("invert", integer_array("invert", invert, lo=0, hi=1), channels)
    return ((acc >= thresholds) ^ (invert != 0)).astype(np.uint8)


def _batchnorm_sign(acc, mean, var, gamma, beta, eps):
    # The reference the folding must reproduce exactly: float64, in this order of operations.
    return gamma * (acc - mean) / np.sqrt(var + eps) + beta >= 0


def fold_batchnorm(mean, var, gamma, beta, eps=1e-5, k=None):
    """Fold a batchnorm followed by the sign function into integer thresholds.

    The float layer computes, per output neuron, ``+1`` where
    ``gamma * (acc - mean) / sqrt(var + eps) + beta >= 0`` (in float64, in that order) and -1
    elsewhere. With ``s = sqrt(var + eps) > 0`` and ``t = mean - beta * s / gamma``:

    - ``gamma > 0``: the condition is ``acc >= t``; for an integer ``acc`` that is
      ``acc >= ceil(t)``, so ``T = ceil(t)``, ``invert = 0``.
    - ``gamma < 0``: dividing by ``gamma`` flips the comparison: ``acc <= t``, i.e.
      ``acc <= floor(t)``, which is ``NOT(acc >= floor(t) + 1)``: ``T = floor(t) + 1``,
      ``invert = 1``.
    - ``gamma == 0``: the output is the constant ``beta >= 0``; it is encoded with
      ``T = -k`` (always reached), ``invert = 0`` for +1 and ``invert = 1`` for -1. This needs
      ``k``.

    ``t`` is rounded in floating point, so each threshold is then moved by whole steps until it
    is the exact boundary of the float64 expression above on the integers (that expression is
    monotonic in ``acc``, float rounding included). Thus, for every integer ``acc`` in
    ``[-k, k]``, ``threshold_activate(acc, T, invert)`` equals the float batchnorm + sign,
    ties included.

    With ``k`` given, thresholds are clamped into ``[-k, k]`` so they fit the accumulator
    (``acc_bits(k, 1, 1)`` bits): a threshold above ``k`` (never reached) becomes ``-k`` with
    ``invert`` flipped. Without ``k`` they are limited to ``[-2**53, 2**53 + 1]``.

    Parameters
    ----------
    mean, var, gamma, beta : real or array_like of shape (N,)
        Batchnorm statistics and affine parameters per output neuron; ``var + eps > 0``.
    eps : float
    k : int, optional
        Depth of the dot product (accumulator range [-k, k]); required when a gamma is 0.

    Returns
    -------
    thresholds : numpy.ndarray of int64
    invert : numpy.ndarray of uint8
        Both of the broadcast shape of the parameters.
    """
    mean, var, gamma, beta = (real_array(name, value) for name, value in
                              (("mean", mean), ("var", var), ("gamma", gamma), ("beta", beta)))
    eps = real_array("eps", eps)
    if eps.ndim != 0:
        raise ValueError(f"eps must be a scalar, not an array of shape {eps.shape}")
    eps = float(eps)
    try:
        mean, var, gamma, beta = np.broadcast_arrays(mean, var, gamma, beta)
    except ValueError:
        raise ValueError(f"mean, var, gamma and beta must have the same shape (or be scalars), "
                         f"not {mean.shape}, {var.shape}, {gamma.shape}, {beta.shape}") from None
    if mean.ndim > 1:
        raise ValueError(f"batchnorm parameters must be scalars or 1-D, not shape {mean.shape}")
    if np.any(var + eps <= 0):
        raise ValueError("var + eps must be > 0")
    if k is None:
        if np.any(gamma == 0):
            raise ValueError("a gamma of 0 gives a constant output, which needs k (the "
                             "accumulator range [-k, k]) to be encoded")
        lo, hi = -(1 << 53), (1 << 53)
    else:
        k = depth(k)
        lo, hi = -k, k

    negative = gamma < 0

    def reached(acc):
        # Non-decreasing in acc: the bn + sign output, inverted where gamma < 0.
        return _batchnorm_sign(acc.astype(np.float64), mean, var, gamma, beta, eps) ^ negative

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = mean - beta * np.sqrt(var + eps) / gamma
        start = np.where(negative, np.floor(t) + 1, np.ceil(t))
    start = np.where(gamma == 0, lo, np.nan_to_num(start, nan=lo))
    # T is the smallest integer in [lo, hi + 1] where `reached` holds (hi + 1: never reached).
    thresholds = np.clip(start, lo, hi + 1).astype(np.int64)
    while True:
        lower = (thresholds > lo) & reached(thresholds - 1) & (gamma != 0)
        if not lower.any():
            break
        thresholds = np.where(lower, thresholds - 1, thresholds)
    while True:
        higher = (thresholds <= hi) & ~reached(thresholds) & (gamma != 0)
        if not higher.any():
            break
        thresholds = np.where(higher, thresholds + 1, thresholds)
    invert = negative.astype(np.uint8)
    invert = np.where(gamma == 0, (beta < 0).astype(np.uint8), invert)
    if k is not None:
        # Never reached: the output is the constant `invert`; encode it with T = -k.
        never = thresholds > hi
        invert = np.where(never, 1 - invert, invert).astype(np.uint8)
        thresholds = np.where(never, lo, thresholds)
    return thresholds.astype(np.int64), invert.astype(np.uint8)
