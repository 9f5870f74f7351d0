"""Golden models of the int8 arithmetic: quantization, exact int8 GEMM with int32 results, and
gemmlowp / TFLite-Micro requantization.

Requantization follows gemmlowp's ``fixedpoint.h`` bit for bit: the int32 accumulator is
multiplied by a Q31 ``multiplier`` with ``SaturatingRoundingDoublingHighMul`` and divided by
``2**shift`` with ``RoundingDivideByPOT``, then the output zero point is added and the result
is clamped to ``[out_min, out_max]``. Together this scales by
``multiplier * 2**-31 * 2**-shift``, which :func:`quantize_multiplier` derives from a real
scale (``scale_a * scale_w / scale_out`` for a layer).
"""

import numpy as np

from ._checks import (INT32_MAX, INT32_MIN, int_param, integer_array, per_channel,
                      real_array)

__all__ = [
    "quantize", "dequantize", "int8_gemm", "acc_bits", "quantize_multiplier",
    "saturating_rounding_doubling_high_mul", "rounding_divide_by_pot", "requantize",
    "int8_dense",
]

INT8_MIN, INT8_MAX = -128, 127


def _channel_params(x, scale, zero_point, axis):
    """Check scale / zero point (per tensor or per channel along ``axis``) and shape them to
    broadcast against ``x``."""
    scale = real_array("scale", scale)
    if np.any(scale <= 0):
        raise ValueError(f"scale must be > 0, got a minimum of {scale.min()}")
    zero_point = integer_array("zero_point", zero_point, lo=INT8_MIN, hi=INT8_MAX)
    if axis is None:
        for name, value in (("scale", scale), ("zero_point", zero_point)):
            if value.ndim != 0:
                raise ValueError(f"{name} must be a scalar for per-tensor quantization "
                                 f"(axis=None); pass axis= for per-channel values")
        return scale, zero_point.astype(np.int64)
    axis = int_param("axis", axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for an array with {x.ndim} dimension(s)")
    axis %= x.ndim
    channels = x.shape[axis]
    where = f"axis {axis} (length {channels})"
    scale = per_channel("scale", scale, channels, axis_name=where)
    zero_point = per_channel("zero_point", zero_point, channels, axis_name=where)
    shape = [1] * x.ndim
    shape[axis] = -1
    return (np.broadcast_to(scale, (channels,)).reshape(shape),
            np.broadcast_to(zero_point, (channels,)).reshape(shape).astype(np.int64))


def quantize(x, scale, zero_point=0, axis=None):
    """Quantize real values to int8: ``clamp(round(x / scale) + zero_point, -128, 127)``.

    Rounding is half to even, as ONNX QuantizeLinear. ``x / scale`` is computed in float32 for
    float32 (and narrower or integer) input and in float64 for float64 input, as ONNX does in
    the input's precision.

    Parameters
    ----------
    x : array_like of real numbers (NaN and infinities are refused)
    scale : float > 0, or 1-D array with one value per channel along ``axis``
    zero_point : int in [-128, 127], or 1-D array per channel
    axis : int or None
        None for per-tensor parameters; else the channel axis of ``x``.

    Returns
    -------
    numpy.ndarray of int8, same shape as ``x``.
    """
    x_in = np.asarray(x)
    precision = np.float64 if x_in.dtype == np.float64 else np.float32
    x = real_array("x", x_in)
    scale, zero_point = _channel_params(x, scale, zero_point, axis)
    ratio = x.astype(precision) / scale.astype(precision)
    q = np.rint(ratio.astype(np.float64)) + zero_point
    return np.clip(q, INT8_MIN, INT8_MAX).astype(np.int8)


def dequantize(q, scale, zero_point=0, axis=None):
    """Map integers back to reals: ``(q - zero_point) * scale`` in float32.

    Parameters
    ----------
    q : array_like of int (int8 values, or int32 accumulators with their combined scale)
    scale, zero_point, axis
        As for :func:`quantize`.

    Returns
    -------
    numpy.ndarray of float32, same shape as ``q``.
    """
    q = integer_array("q", q)
    scale, zero_point = _channel_params(q, scale, zero_point, axis)
    return ((q.astype(np.int64) - zero_point).astype(np.float32)
            * scale.astype(np.float32)).astype(np.float32)


def int8_gemm(A, W):
    """Exact int8 GEMM: ``A @ W.T`` with int32 results.

    The product runs in float64 (BLAS): every partial sum is an integer of magnitude at most
    ``K * 2**14``, exactly representable while ``K <= 2**38``, so the result is exact whatever
    the summation order; it is then checked against the int32 range (it always fits for
    ``K <= 131071``; ``K = 131072`` rows of -128 x -128 would reach 2**31).

    Parameters
    ----------
    A : numpy.ndarray of int8, shape (M, K)
    W : numpy.ndarray of int8, shape (N, K)
        Neuron-major weights, as stored in hardware.

    Returns
    -------
    numpy.ndarray of int32, shape (M, N)

    Raises
    ------
    ValueError
        For a dtype other than int8, non-2-D operands, differing K, or a result outside int32.
    """
    A = integer_array("A", A, dtype=np.int8, ndim=2)
    W = integer_array("W", W, dtype=np.int8, ndim=2)
    if A.shape[1] != W.shape[1]:
        raise ValueError(f"A (M, K) and W (N, K) must have the same K, not A {A.shape} and "
                         f"W {W.shape}")
    if A.shape[1] > (1 << 38):
        raise ValueError(f"K = {A.shape[1]} exceeds 2**38, the depth computed exactly")
    product = A.astype(np.float64) @ W.astype(np.float64).T
    result = product.astype(np.int64)
    if result.size and (result.min() < INT32_MIN or result.max() > INT32_MAX):
        raise ValueError(f"int8_gemm result overflows int32 at depth K = {A.shape[1]}; "
                         f"int32 is only safe for K <= 131071")
    return result.astype(np.int32)


def _operand_range(bits, name):
    bits = int_param(name, bits, lo=1)
    if bits == 1:
        return -1, 1  # a 1-bit operand is a binary ±1 value, not a signed bit
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def acc_bits(k, a_bits=8, w_bits=8):
    """Minimal signed accumulator width that never overflows for a dot product of depth ``k``.

    A ``b``-bit operand is a signed integer in ``[-2**(b-1), 2**(b-1) - 1]``, except ``b = 1``,
    which means a binary ±1 operand: ``acc_bits(k, 1, 1)`` covers ``[-k, k]``. The width is the
    smallest ``B`` with ``-2**(B-1) <= k * min(a*w)`` and ``k * max(a*w) <= 2**(B-1) - 1``.
    For int8 x int8, ``max(a*w) = (-128) * (-128) = 2**14``, so ``k = 131071`` needs 32 bits and
    ``k = 131072`` needs 33.

    Parameters
    ----------
    k : int >= 1
    a_bits, w_bits : int >= 1

    Returns
    -------
    int
    """
    k = int_param("k", k, lo=1)
    a_lo, a_hi = _operand_range(a_bits, "a_bits")
    w_lo, w_hi = _operand_range(w_bits, "w_bits")
    corners = (a_lo * w_lo, a_lo * w_hi, a_hi * w_lo, a_hi * w_hi)
    low, high = k * min(corners), k * max(corners)
    width = 1
    while not (-(1 << (width - 1)) <= low and high <= (1 << (width - 1)) - 1):
        width += 1
    return width


_MIN_REAL_SCALE = 2.0 ** -32


def quantize_multiplier(real_scale):
    """Q31 multiplier and right shift for a real scale in (0, 1), as gemmlowp's
    ``QuantizeMultiplierSmallerThanOne``.

    ``real_scale = m * 2**-shift`` with ``m`` in [0.5, 1); ``multiplier = round(m * 2**31)``
    (half away from zero, as ``std::round``); a multiplier that rounds up to 2**31 becomes
    2**30 with the shift one smaller. Then
    ``real_scale ~= multiplier * 2**-31 * 2**-shift`` with a relative error below 2**-31.

    Parameters
    ----------
    real_scale : float or array_like of float
        In about ``[2**-32, 1 - 2**-32]``: the range where ``shift`` stays in [0, 31].

    Returns
    -------
    (multiplier, shift)
        Python ints for a scalar input; int32 arrays (multiplier in [2**30, 2**31 - 1], shift
        in [0, 31]) for an array input.
    """
    scalar = np.ndim(real_scale) == 0
    real = real_array("real_scale", real_scale)
    if np.any((real <= 0) | (real >= 1)):
        raise ValueError("real_scale must be in (0, 1) (about [2**-32, 1 - 2**-32], where the "
                         f"right shift stays in [0, 31]); got {real.min()} .. {real.max()}")
    mantissa, exponent = np.frexp(real)
    shift = -exponent.astype(np.int64)
    multiplier = np.floor(mantissa * 2.0 ** 31 + 0.5).astype(np.int64)
    carry = multiplier == (1 << 31)
    multiplier = np.where(carry, 1 << 30, multiplier)
    shift = np.where(carry, shift - 1, shift)
    if np.any((shift < 0) | (shift > 31)):
        raise ValueError("real_scale must be in about [2**-32, 1 - 2**-32] (so the right shift "
                         f"stays in [0, 31]); got {real.min()} .. {real.max()}")
    if scalar:
        return int(multiplier), int(shift)
    return multiplier.astype(np.int32), shift.astype(np.int32)


def _int32_values(name, value):
    return integer_array(name, value, lo=INT32_MIN, hi=INT32_MAX).astype(np.int64)


def _truncating_divide(x, divisor):
    # C integer division (rounds toward zero), which gemmlowp relies on.
    return np.sign(x) * (np.abs(x) // divisor)


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` on int32 values, vectorised.

    ``(a * b + nudge) / 2**31`` with C truncating division, where ``nudge = 2**30`` if
    ``a * b >= 0`` else ``1 - 2**30``; the only overflow, ``INT32_MIN * INT32_MIN``,
    saturates to ``INT32_MAX``.

    Parameters
    ----------
    a, b : int or array_like of int with values in the int32 range (broadcast together)

    Returns
    -------
    numpy.ndarray of int32
    """
    a = _int32_values("a", a)
    b = _int32_values("b", b)
    product = a * b
    nudge = np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    high = _truncating_divide(product + nudge, 1 << 31)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return np.where(overflow, INT32_MAX, high).astype(np.int32)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp ``RoundingDivideByPOT``: ``x / 2**exponent`` rounded half away from zero.

    ``mask = 2**exponent - 1``, ``remainder = x & mask``,
    ``threshold = (mask >> 1) + (x < 0)``; result ``(x >> exponent) + (remainder > threshold)``
    with an arithmetic shift.

    Parameters
    ----------
    x : int or array_like of int in the int32 range
    exponent : int or array_like of int in [0, 31] (broadcast with ``x``)

    Returns
    -------
    numpy.ndarray of int32
    """
    x = _int32_values("x", x)
    exponent = integer_array("exponent", exponent, lo=0, hi=31).astype(np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return ((x >> exponent) + (remainder > threshold)).astype(np.int32)


def requantize(acc, multiplier, shift, zero_point=0, out_min=INT8_MIN, out_max=INT8_MAX):
    """Requantize int32 accumulators to int8, gemmlowp / TFLite-Micro style.

    ``clamp(RDBPOT(SRDHM(acc, multiplier), shift) + zero_point, out_min, out_max)``. A fused
    ReLU sets ``out_min = zero_point``.

    Parameters
    ----------
    acc : array_like of int in the int32 range, shape (..., N)
    multiplier : int in [0, 2**31 - 1] (Q31), or array of shape (N,) per output neuron
    shift : int in [0, 31] (right shift), or array of shape (N,)
    zero_point : int in [-128, 127], or array of shape (N,)
    out_min, out_max : int, -128 <= out_min <= out_max <= 127

    Returns
    -------
    numpy.ndarray of int8, same shape as ``acc``.
    """
    acc = _int32_values("acc", acc)
    channels = acc.shape[-1] if acc.ndim else 1
    multiplier = per_channel("multiplier", integer_array("multiplier", multiplier, lo=0,
                                                         hi=INT32_MAX), channels)
    shift = per_channel("shift", integer_array("shift", shift, lo=0, hi=31), channels)
    zero_point = per_channel("zero_point", integer_array("zero_point", zero_point,
                                                         lo=INT8_MIN, hi=INT8_MAX), channels)
    out_min = int_param("out_min", out_min, lo=INT8_MIN, hi=INT8_MAX)
    out_max = int_param("out_max", out_max, lo=out_min, hi=INT8_MAX)
    scaled = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(acc, multiplier), shift)
    return np.clip(scaled.astype(np.int64) + zero_point, out_min, out_max).astype(np.int8)


def int8_dense(A, W, bias, multiplier, shift, zero_point=0, out_min=INT8_MIN,
               out_max=INT8_MAX):
    """A quantized dense layer: ``requantize(int8_gemm(A, W) + bias, ...)``.

    The bias is added with int32 two's-complement wrap-around, as the 32-bit adder of the
    hardware does (with an ``acc_bits``-sized GEMM and a realistic bias it never wraps).

    Parameters
    ----------
    A : numpy.ndarray of int8, shape (M, K)
    W : numpy.ndarray of int8, shape (N, K)
    bias : array_like of int in the int32 range, shape (N,) (or a scalar)
    multiplier, shift, zero_point, out_min, out_max
        As for :func:`requantize`.

    Returns
    -------
    numpy.ndarray of int8, shape (M, N)
    """
    acc = int8_gemm(A, W)
    bias = per_channel("bias", _int32_values("bias", bias), W.shape[0])
    wrapped = (acc.astype(np.int64) + bias).astype(np.int32)  # int64 -> int32 keeps the low 32 bits
    return requantize(wrapped, multiplier, shift, zero_point, out_min, out_max)
