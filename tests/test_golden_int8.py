"""Tests of the int8 golden models (bitmac.golden.int8): exact GEMM, accumulator width, and
requantization checked bit-exactly on cases worked out by hand from gemmlowp's fixedpoint.h."""

import numpy as np
import onnx
import onnxruntime
import pytest
from hypothesis import given, settings, strategies as st
from onnx import TensorProto, helper

from bitmac.golden import (acc_bits, dequantize, int8_dense, int8_gemm, quantize,
                           quantize_multiplier, requantize, rounding_divide_by_pot,
                           saturating_rounding_doubling_high_mul)

PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=60)

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1


def random_int8(rng, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


# --- quantize / dequantize ------------------------------------------------------------------

def test_quantize_rounds_half_to_even_and_saturates():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, 126.5, 127.5, 1000.0, -128.5, -1e9])
    expected = [0, 2, 2, 0, -2, -2, 0, 126, 127, 127, -128, -128]
    q = quantize(x, 1.0)
    assert q.dtype == np.int8 and q.tolist() == expected
    # Scale and zero point: round(x / 0.5) + 10.
    assert quantize(np.array([0.25, 0.75, -0.25, 100.0]), 0.5, 10).tolist() == [10, 12, 10, 127]


def test_quantize_per_channel():
    x = np.array([[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]], dtype=np.float32)
    scale = np.array([0.5, 1.0, 2.0])
    zero_point = np.array([0, 1, -1])
    # Channel c along axis 1: round(x / scale[c]) + zero_point[c], written out column by column.
    assert quantize(x, scale, zero_point, axis=1).tolist() == [[2, 3, 1], [-2, -1, -3]]
    assert quantize(x, np.array([1.0, 0.5]), axis=0).tolist() == [[1, 2, 3], [-2, -4, -6]]
    assert quantize(x, np.array([1.0, 0.5]), axis=-2).tolist() == [[1, 2, 3], [-2, -4, -6]]


def test_quantize_divides_in_float32_for_float32_input():
    # float32(0.7) / float32(0.2) = 0.69999999 / 0.20000000 = 3.4999999 in float64, but the
    # nearest float32 is 3.5, which rounds (half to even) to 4: ONNX QuantizeLinear divides in
    # the input's float32 precision, so 4 is the expected value; float64 input gives 3.
    assert quantize(np.float32([0.7, -0.7]), np.float32(0.2)).tolist() == [4, -4]
    assert quantize(np.float64([0.7, -0.7]), 0.2).tolist() == [3, -3]


def quantize_linear_session(scale, zero_point, axis):
    """onnxruntime session of a single ONNX QuantizeLinear node (opset 13)."""
    scale, zero_point = np.asarray(scale, np.float32), np.asarray(zero_point, np.int8)
    node = helper.make_node("QuantizeLinear", ["x", "scale", "zero_point"], ["y"],
                            **({} if axis is None else {"axis": axis}))
    graph = helper.make_graph(
        [node], "quantize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("y", TensorProto.INT8, None)],
        initializer=[onnx.numpy_helper.from_array(scale, "scale"),
                     onnx.numpy_helper.from_array(zero_point, "zero_point")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return onnxruntime.InferenceSession(model.SerializeToString(),
                                        providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("scale, zero_point, axis", [
    (0.2, 0, None), (0.037, -5, None), (np.array([0.2, 0.05, 1.3]), np.array([0, 3, -7]), 1)])
def test_quantize_matches_onnxruntime(scale, zero_point, axis):
    rng = np.random.default_rng(17)
    # Multiples of 0.1 land on and next to the .5 ties; the uniform values cover saturation.
    x = np.concatenate([rng.integers(-400, 400, size=(300, 3)) * 0.1,
                        rng.uniform(-300, 300, size=(300, 3))]).astype(np.float32)
    expected = quantize_linear_session(scale, zero_point, axis).run(None, {"x": x})[0]
    np.testing.assert_array_equal(
        quantize(x, np.asarray(scale, np.float32), zero_point, axis=axis), expected)


def test_dequantize_inverts_quantize_within_half_a_step():
    rng = np.random.default_rng(5)
    scale = np.array([0.02, 0.1, 0.5])
    x = rng.uniform(-2.5, 2.5, size=(50, 3)).astype(np.float32) * (scale / 0.1)
    q = quantize(x, scale, axis=1)
    back = dequantize(q, scale, axis=1)
    assert back.dtype == np.float32
    assert np.all(np.abs(back - x) <= scale / 2 * (1 + 1e-6))
    assert dequantize(np.array([-128, 0, 127], dtype=np.int8), 0.5, 2).tolist() == [-65, -1, 62.5]


# --- int8_gemm and acc_bits -----------------------------------------------------------------

@PROPERTY
@given(m=st.integers(1, 8), n=st.integers(1, 8), k=st.sampled_from([1, 7, 63, 64, 65, 1000]),
       seed=st.integers(0, 2**32 - 1))
def test_int8_gemm_equals_int64_matmul(m, n, k, seed):
    rng = np.random.default_rng(seed)
    a, w = random_int8(rng, (m, k)), random_int8(rng, (n, k))
    result = int8_gemm(a, w)
    assert result.dtype == np.int32 and result.shape == (m, n)
    np.testing.assert_array_equal(result, a.astype(np.int64) @ w.astype(np.int64).T)


def test_int8_gemm_extremes_at_full_depth():
    # -128 x -128 = 2**14 per product; 131071 of them is the deepest sum that fits int32.
    k = 131071
    a = np.full((2, k), -128, dtype=np.int8)
    w = np.stack([np.full(k, -128, dtype=np.int8), np.full(k, 127, dtype=np.int8)])
    assert int8_gemm(a, w).tolist() == [[k * 16384, -k * 16256]] * 2
    assert k * 16384 == INT32_MAX - 16383
    deeper = np.full((1, k + 1), -128, dtype=np.int8)
    with pytest.raises(ValueError, match="overflows int32"):
        int8_gemm(deeper, deeper)


def test_acc_bits_hand_values():
    # int8 x int8: products in [-128 * 127, 128 * 128] = [-16256, 16384].
    assert acc_bits(1) == 16          # 16384 > 2**14 - 1 needs 16 signed bits
    assert acc_bits(131071) == 32     # 2**31 - 16384 fits int32
    assert acc_bits(131072) == 33     # 2**31 does not
    # ±1 operands: range [-k, k].
    assert [acc_bits(k, 1, 1) for k in (1, 2, 3, 4, 127, 128, 1023, 1024)] == \
        [2, 3, 3, 4, 8, 9, 11, 12]
    # ±1 activations x int8 weights: products in [-128, 128].
    assert acc_bits(1, 1, 8) == 9


@PROPERTY
@given(k=st.integers(1, 10**7), a_bits=st.integers(1, 16), w_bits=st.integers(1, 16))
def test_acc_bits_is_minimal(k, a_bits, w_bits):
    def values(bits):
        return (-1, 1) if bits == 1 else (-2**(bits - 1), 2**(bits - 1) - 1)
    products = [a * w for a in values(a_bits) for w in values(w_bits)]
    low, high = k * min(products), k * max(products)
    width = acc_bits(k, a_bits, w_bits)
    assert -2**(width - 1) <= low and high <= 2**(width - 1) - 1
    assert not (-2**(width - 2) <= low and high <= 2**(width - 2) - 1)


# --- quantize_multiplier --------------------------------------------------------------------

def test_quantize_multiplier_hand_values():
    assert quantize_multiplier(0.5) == (2**30, 0)
    assert quantize_multiplier(0.25) == (2**30, 1)
    assert quantize_multiplier(0.75) == (3 * 2**29, 0)
    # 0.3 = 0.6 * 2**-1; 0.6 * 2**31 = 1288490188.8 -> 1288490189.
    assert quantize_multiplier(0.3) == (1288490189, 1)
    # 2**-32 = 0.5 * 2**-31: the smallest scale, shift 31.
    assert quantize_multiplier(2.0**-32) == (2**30, 31)
    # 0.5 - 2**-40 = (1 - 2**-39) * 2**-1; (1 - 2**-39) * 2**31 = 2**31 - 2**-8 rounds up to
    # 2**31, which becomes 2**30 with the shift reduced from 1 to 0.
    assert quantize_multiplier(0.5 - 2.0**-40) == (2**30, 0)


@PROPERTY
@given(st.lists(st.floats(2.0**-32, 0.999999, allow_subnormal=False), min_size=1, max_size=8))
def test_quantize_multiplier_represents_the_scale(scales):
    multiplier, shift = quantize_multiplier(np.array(scales))
    assert multiplier.dtype == np.int32 and shift.dtype == np.int32
    assert np.all((multiplier >= 2**30) & (multiplier <= INT32_MAX))
    assert np.all((shift >= 0) & (shift <= 31))
    represented = multiplier * 2.0**-31 * 2.0**-shift.astype(np.float64)
    assert np.all(np.abs(represented - scales) <= np.array(scales) * 2.0**-30)


@pytest.mark.parametrize("scale", [0.0, -0.1, 1.0, 1.5, 2.0**-33, 1 - 2.0**-40, np.nan])
def test_quantize_multiplier_refuses_unrepresentable_scales(scale):
    with pytest.raises(ValueError, match="real_scale must|finite"):
        quantize_multiplier(scale)


# --- gemmlowp primitives, worked by hand from fixedpoint.h ----------------------------------
#
# SaturatingRoundingDoublingHighMul(a, b):
#   ab = a * b (int64); nudge = 2**30 if ab >= 0 else 1 - 2**30;
#   result = (ab + nudge) / 2**31 with C division (toward zero); a == b == INT32_MIN -> INT32_MAX.
# RoundingDivideByPOT(x, e):
#   mask = 2**e - 1; remainder = x & mask; threshold = (mask >> 1) + (x < 0);
#   result = (x >> e) + (remainder > threshold), arithmetic shift.

SRDHM_CASES = [
    # a, b, result, arithmetic
    (INT32_MIN, INT32_MIN, INT32_MAX),   # the one saturating case
    (2**30, 2**30, 2**29),               # (2**60 + 2**30) / 2**31 = 2**29 + 0.5 -> 2**29
    (3, 2**30, 2),                       # (3 * 2**30 + 2**30) / 2**31 = 2
    (-3, 2**30, -1),                     # (-3 * 2**30 + 1 - 2**30) / 2**31 = -1.99.. -> -1
    (5, 2**30, 3),                       # 6 * 2**30 / 2**31 = 3
    (-5, 2**30, -2),                     # (-6 * 2**30 + 1) / 2**31 = -2.99.. -> -2
    (INT32_MIN, INT32_MAX, -2**31 + 1),  # -2**31 + 1 - 0.5 + 2**-31 = -2147483647.49.. -> toward 0
    (INT32_MAX, INT32_MAX, 2**31 - 2),   # 2**31 - 2 + 0.5 + 2**-31 -> 2147483646
    (INT32_MIN, 2**30, -2**30),          # (-2**61 + 1 - 2**30) / 2**31 = -2**30 - 0.49.. -> -2**30
    (100, INT32_MAX, 100),               # 100 - 100 / 2**31 + 0.5 -> 100
    (0, INT32_MIN, 0),                   # nudge 2**30 / 2**31 = 0.5 -> 0
]


def test_srdhm_hand_worked_cases():
    a, b, expected = (np.array(column, dtype=np.int64) for column in zip(*SRDHM_CASES))
    result = saturating_rounding_doubling_high_mul(a.astype(np.int32), b.astype(np.int32))
    assert result.dtype == np.int32
    assert result.tolist() == expected.tolist()


RDBPOT_CASES = [
    # x, exponent, result: x / 2**exponent rounded half away from zero
    (5, 1, 3),                  # 2 + (1 > 0)
    (-5, 1, -3),                # -3 + (1 > 1) ; -2.5 -> -3
    (6, 2, 2),                  # 1 + (2 > 1) ; 1.5 -> 2
    (-6, 2, -2),                # -2 + (2 > 2) ; -1.5 -> -2
    (7, 2, 2),                  # 1 + (3 > 1)
    (-7, 2, -2),                # -2 + (1 > 2)
    (-5, 2, -1),                # -2 + (3 > 2) ; -1.25 -> -1
    (12345, 0, 12345),          # e = 0 is the identity
    (-12345, 0, -12345),
    (INT32_MAX, 31, 1),         # 0 + (2**31 - 1 > 2**30 - 1)
    (INT32_MIN, 31, -1),        # -1 + (0 > 2**30)
    (2**30, 31, 1),             # 0.5 -> 1: 0 + (2**30 > 2**30 - 1)
    (-2**30, 31, -1),           # -0.5 -> -1: -1 + (2**30 > 2**30)
    (2**30 - 1, 31, 0),         # just under 0.5
]


def test_rdbpot_hand_worked_cases():
    x, exponent, expected = zip(*RDBPOT_CASES)
    result = rounding_divide_by_pot(np.array(x, dtype=np.int32), np.array(exponent))
    assert result.dtype == np.int32
    assert result.tolist() == list(expected)


def srdhm_scalar(a, b):
    """fixedpoint.h SaturatingRoundingDoublingHighMul transcribed on Python ints, one value."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    total = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    quotient = abs(total) // (1 << 31)  # C division truncates toward zero
    return quotient if total >= 0 else -quotient


def rdbpot_scalar(x, exponent):
    """fixedpoint.h RoundingDivideByPOT on Python ints (two's-complement & and >>)."""
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if (x & mask) > threshold else 0)


INT32 = st.one_of(st.integers(INT32_MIN, INT32_MAX),
                  st.sampled_from([INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX, 2**30, -2**30]))


@PROPERTY
@given(pairs=st.lists(st.tuples(INT32, INT32, st.integers(0, 31)), min_size=1, max_size=50))
def test_primitives_match_scalar_transcription(pairs):
    a, b, exponent = (np.array(column, dtype=np.int64) for column in zip(*pairs))
    assert saturating_rounding_doubling_high_mul(a, b).tolist() == \
        [srdhm_scalar(x, y) for x, y, _ in pairs]
    assert rounding_divide_by_pot(a, exponent).tolist() == \
        [rdbpot_scalar(x, e) for x, _, e in pairs]


# --- requantize and int8_dense --------------------------------------------------------------

def test_requantize_hand_worked_cases():
    # multiplier 2**30 (0.5), shift 3: scale 1/16.
    # 1000:  SRDHM = (1001 * 2**30) / 2**31 = 500.5 -> 500;  RDBPOT(500, 3): 62 + (4 > 3) = 63
    # -1000: SRDHM = (-1001 * 2**30 + 1) / 2**31 -> -500;   RDBPOT(-500, 3): -63 + (4 > 4) = -63
    # 8:     SRDHM = 9 * 2**30 / 2**31 = 4.5 -> 4;           RDBPOT(4, 3): 0 + (4 > 3) = 1
    # 7:     SRDHM = 8 * 2**30 / 2**31 = 4;                  RDBPOT -> 1 (0.4375 rounds twice)
    # 6:     SRDHM = 7 * 2**30 / 2**31 = 3.5 -> 3;           RDBPOT(3, 3): 0 + (3 > 3) = 0
    acc = np.array([1000, -1000, 8, 7, 6], dtype=np.int32)
    assert requantize(acc, 2**30, 3).tolist() == [63, -63, 1, 1, 0]
    # Zero point 10: the same values shifted, then clamped.
    assert requantize(acc, 2**30, 3, zero_point=10).tolist() == [73, -53, 11, 11, 10]
    # Fused ReLU: out_min = zero_point.
    assert requantize(acc, 2**30, 3, zero_point=10, out_min=10).tolist() == [73, 10, 11, 11, 10]


def test_requantize_saturates_both_sides():
    acc = np.array([INT32_MAX, 10**6, 256, -10**6, INT32_MIN], dtype=np.int32)
    # shift 0, multiplier 2**30: x / 2, then clamp to [-128, 127].
    assert requantize(acc, 2**30, 0).tolist() == [127, 127, 127, -128, -128]
    assert requantize(acc, 2**30, 0, out_min=-5, out_max=5).tolist() == [5, 5, 5, -5, -5]


def test_requantize_shift_zero_and_large_shifts():
    # shift 0 with the largest multiplier is (almost) the identity: SRDHM(100, 2**31 - 1) = 100.
    assert requantize(np.array([100, -100]), INT32_MAX, 0).tolist() == [100, -100]
    # shift 31: SRDHM(INT32_MAX, INT32_MAX) = 2**31 - 2, RDBPOT(2**31 - 2, 31) = 1;
    # SRDHM(INT32_MIN, INT32_MAX) = -2**31 + 1, RDBPOT(.., 31) = -1 + (1 > 2**30) = -1.
    assert requantize(np.array([INT32_MAX, INT32_MIN, 0]), INT32_MAX, 31).tolist() == [1, -1, 0]


def test_requantize_per_channel():
    acc = np.array([[1000, 1000, 1000], [-1000, -1000, -1000]], dtype=np.int32)
    multiplier = np.array([2**30, 2**30, 3 * 2**29])
    shift = np.array([3, 0, 4])
    # Column 2: SRDHM(1000, 3 * 2**29) = (3000 * 2**29 + 2**30) / 2**31 = 750.5 -> 750;
    # RDBPOT(750, 4) = 46 + (14 > 7) = 47; for -1000: (-3000 * 2**29 + 1 - 2**30) / 2**31 ->
    # -750; RDBPOT(-750, 4) = -47 + (2 > 8) = -47.
    assert requantize(acc, multiplier, shift).tolist() == [[63, 127, 47], [-63, -128, -47]]
    assert requantize(acc, multiplier, shift, zero_point=np.array([0, 0, 5])).tolist() == \
        [[63, 127, 52], [-63, -128, -42]]


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-7, 0.999, allow_subnormal=False),
       zero_point=st.integers(-128, 127))
def test_requantize_within_one_lsb_of_float(seed, scale, zero_point):
    rng = np.random.default_rng(seed)
    acc = rng.integers(INT32_MIN, INT32_MAX, size=200, endpoint=True).astype(np.int32)
    # Include accumulators whose scaled value lands inside the int8 range.
    acc[:100] = np.round(rng.uniform(-140, 140, size=100) / scale).clip(INT32_MIN, INT32_MAX)
    multiplier, shift = quantize_multiplier(scale)
    result = requantize(acc, multiplier, shift, zero_point).astype(np.int64)
    exact = np.clip(np.round(acc.astype(np.float64) * scale) + zero_point, -128, 127)
    assert np.all(np.abs(result - exact) <= 1)


def test_int8_dense_is_gemm_plus_bias_then_requantize():
    rng = np.random.default_rng(9)
    a, w = random_int8(rng, (5, 77)), random_int8(rng, (6, 77))
    bias = rng.integers(-5000, 5000, size=6).astype(np.int32)
    multiplier, shift = quantize_multiplier(np.full(6, 0.002))
    acc = (a.astype(np.int64) @ w.astype(np.int64).T + bias).astype(np.int32)
    np.testing.assert_array_equal(int8_dense(a, w, bias, multiplier, shift, -3),
                                  requantize(acc, multiplier, shift, -3))


def test_int8_dense_bias_wraps_like_a_32_bit_adder():
    a = np.array([[127]], dtype=np.int8)
    w = np.array([[127]], dtype=np.int8)
    # 16129 + (2**31 - 1) wraps to -2**31 + 16128: negative, so the output saturates low.
    bias = np.array([INT32_MAX], dtype=np.int32)
    assert int8_dense(a, w, bias, 2**30, 0).tolist() == [[-128]]
    assert int8_dense(a, w, np.array([-16129 + 40]), 2**30, 0).tolist() == [[20]]


# --- bad arguments --------------------------------------------------------------------------

A8 = np.zeros((2, 3), dtype=np.int8)


@pytest.mark.parametrize("call, message", [
    (lambda: int8_gemm(A8.astype(np.int16), A8), "dtype int8"),
    (lambda: int8_gemm(A8.astype(np.float32), A8), "dtype int8"),
    (lambda: int8_gemm(A8, np.zeros((2, 4), np.int8)), "same K"),
    (lambda: int8_gemm(A8[0], A8), "2-D"),
    (lambda: quantize([1.0], 0.0), "scale must be > 0"),
    (lambda: quantize([1.0], -1.0), "scale must be > 0"),
    (lambda: quantize([np.nan], 1.0), "finite"),
    (lambda: quantize([1.0], 1.0, zero_point=200), "zero_point must be <= 127"),
    (lambda: quantize(np.ones((2, 3)), np.ones(2), axis=1), "shape \\(3,\\)"),
    (lambda: quantize(np.ones((2, 3)), np.ones(3)), "per-tensor"),
    (lambda: quantize(np.ones((2, 3)), 1.0, axis=2), "out of range"),
    (lambda: dequantize(np.ones(3), 1.0), "integer array"),
    (lambda: acc_bits(0), "k must be in \\[1"),
    (lambda: acc_bits(10, 0, 8), "a_bits must be in \\[1"),
    (lambda: requantize(np.zeros(3, np.int32), 2**30, 32), "shift must be <= 31"),
    (lambda: requantize(np.zeros(3, np.int32), 2**30, -1), "shift must be >= 0"),
    (lambda: requantize(np.zeros(3, np.int32), -1, 0), "multiplier must be >= 0"),
    (lambda: requantize(np.zeros(3, np.int32), 2**31, 0), "multiplier must be <= "),
    (lambda: requantize(np.zeros(3, np.int32), np.full(4, 2**30), 0), "shape \\(3,\\)"),
    (lambda: requantize(np.zeros(3, np.int32), 2**30, 0, out_min=10, out_max=5),
     "out_max must be in \\[10, 127\\]"),
    (lambda: requantize(np.array([2**31]), 2**30, 0), "acc must be <= 2147483647"),
    (lambda: requantize(np.zeros(3), 2**30, 0), "integer array"),
    (lambda: rounding_divide_by_pot(np.zeros(3, np.int32), 32), "exponent must be <= 31"),
    (lambda: saturating_rounding_doubling_high_mul(1.5, 2), "integer array"),
    (lambda: int8_dense(A8, A8, np.zeros(3, np.int32), 2**30, 0), "bias must be"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
