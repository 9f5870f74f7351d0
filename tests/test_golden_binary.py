"""Tests of the binary golden models (bitmac.golden.binary) against plain ±1 integer arithmetic."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bitmac.golden import (binarize, binary_gemm, fold_batchnorm, pack_bits, threshold_activate,
                           unpack_bits, words_for, xnor_popcount_dot)
from bitmac.golden import binary as binary_module

# Reproducible: the same examples on every run, no example database on disk.
PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=60)

# Depths around the word boundaries and a long one.
DEPTHS = st.one_of(st.sampled_from([1, 2, 63, 64, 65, 127, 128, 129, 1000]),
                   st.integers(1, 300))


def random_pm1(rng, shape):
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)


def pm1_matmul(a, w):
    return a.astype(np.int64) @ w.astype(np.int64).T


# --- binarize -------------------------------------------------------------------------------

def test_binarize_tie_goes_to_plus_one():
    x = np.array([-2.5, -1e-9, 0.0, 1e-9, 3.0])
    assert binarize(x).tolist() == [-1, -1, 1, 1, 1]
    assert binarize(x).dtype == np.int8
    assert binarize(x, threshold=3.0).tolist() == [-1, -1, -1, -1, 1]


def test_binarize_per_element_threshold():
    x = np.array([[0, 1, 2], [0, 1, 2]])
    assert binarize(x, threshold=np.array([0, 2, 3])).tolist() == [[1, -1, -1], [1, -1, -1]]


# --- packing --------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 63, 64, 65, 130])
def test_pack_bits_layout(k):
    # One +1 at position j must land in bit j % 64 of word j // 64, nothing else set.
    for j in sorted({0, k // 2, k - 1}):
        x = -np.ones(k, dtype=np.int8)
        x[j] = 1
        words = pack_bits(x)
        expected = np.zeros(words_for(k), dtype=np.uint64)
        expected[j // 64] = np.uint64(1 << (j % 64))
        assert words.dtype == np.uint64
        assert words.tolist() == expected.tolist()


def test_pack_bits_padding_is_zero():
    words = pack_bits(np.ones(65, dtype=np.int8))
    assert words.tolist() == [2**64 - 1, 1]
    assert pack_bits(-np.ones(65)).tolist() == [0, 0]


def test_words_for():
    assert [words_for(k) for k in (1, 63, 64, 65, 128, 129)] == [1, 1, 1, 2, 2, 3]


@PROPERTY
@given(k=DEPTHS, lead=st.lists(st.integers(1, 3), max_size=2), data=st.data(),
       seed=st.integers(0, 2**32 - 1))
def test_pack_unpack_round_trip(k, lead, data, seed):
    shape = list(lead)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    shape.insert(axis % (len(shape) + 1), k)
    x = random_pm1(np.random.default_rng(seed), tuple(shape))
    words = pack_bits(x, axis=axis)
    assert words.shape[axis] == words_for(k)
    back = unpack_bits(words, k, axis=axis)
    assert back.dtype == np.int8
    np.testing.assert_array_equal(back, x)


def test_unpack_bits_ignores_bits_past_k():
    words = np.array([2**64 - 1, 2**64 - 1], dtype=np.uint64)
    assert unpack_bits(words, 66).tolist() == [1] * 66


# --- dot products and GEMM ------------------------------------------------------------------

@PROPERTY
@given(k=DEPTHS, seed=st.integers(0, 2**32 - 1))
def test_xnor_popcount_dot_equals_pm1_dot(k, seed):
    rng = np.random.default_rng(seed)
    a, w = random_pm1(rng, k), random_pm1(rng, k)
    assert xnor_popcount_dot(pack_bits(a), pack_bits(w), k) == int(a.astype(np.int64) @ w)


@PROPERTY
@given(m=st.integers(1, 9), n=st.integers(1, 9), k=DEPTHS, seed=st.integers(0, 2**32 - 1))
def test_binary_gemm_equals_pm1_matmul(m, n, k, seed):
    rng = np.random.default_rng(seed)
    a, w = random_pm1(rng, (m, k)), random_pm1(rng, (n, k))
    result = binary_gemm(pack_bits(a), pack_bits(w), k)
    assert result.dtype == np.int32 and result.shape == (m, n)
    np.testing.assert_array_equal(result, pm1_matmul(a, w))


@pytest.mark.parametrize("k", [1, 63, 64, 65, 1000])
def test_padding_bits_never_count(k):
    # Garbage in the unused bits of the last word must not change any result.
    rng = np.random.default_rng(k)
    a, w = random_pm1(rng, (4, k)), random_pm1(rng, (3, k))
    a_bits, w_bits = pack_bits(a), pack_bits(w)
    garbage = rng.integers(0, 2**63, size=(2,), dtype=np.uint64) | np.uint64(1 << 63)
    if k % 64:
        # The valid bits of the last word are the low k % 64; set every bit above them.
        high = np.uint64(((1 << 64) - 1) ^ ((1 << (k % 64)) - 1))
        a_bits[:, -1] |= high & garbage[0]
        w_bits[:, -1] |= high & ~garbage[1]
    # A whole extra word of garbage past the packed width.
    a_wide = np.concatenate([a_bits, np.full((4, 1), garbage[0])], axis=1)
    w_wide = np.concatenate([w_bits, np.full((3, 1), garbage[1])], axis=1)
    expected = pm1_matmul(a, w)
    np.testing.assert_array_equal(binary_gemm(a_bits, w_bits, k), expected)
    np.testing.assert_array_equal(binary_gemm(a_wide, w_wide, k), expected)
    assert xnor_popcount_dot(a_wide[0], w_wide[0], k) == expected[0, 0]


@pytest.mark.parametrize("k", [1, 64, 65, 1000])
def test_all_plus_and_all_minus(k):
    plus, minus = np.ones((2, k), dtype=np.int8), -np.ones((3, k), dtype=np.int8)
    assert (binary_gemm(pack_bits(plus), pack_bits(plus), k) == k).all()
    assert (binary_gemm(pack_bits(minus), pack_bits(minus), k) == k).all()
    assert (binary_gemm(pack_bits(plus), pack_bits(minus), k) == -k).all()


def test_binary_gemm_blocks_cover_every_output(monkeypatch):
    # Tiny blocks force many partial blocks in both directions; every output must be right.
    monkeypatch.setattr(binary_module, "_BLOCK_ELEMENTS", 37)
    rng = np.random.default_rng(7)
    a, w = random_pm1(rng, (23, 200)), random_pm1(rng, (19, 200))
    np.testing.assert_array_equal(binary_gemm(pack_bits(a), pack_bits(w), 200), pm1_matmul(a, w))


def test_binary_gemm_large_shape():
    rng = np.random.default_rng(11)
    a, w = random_pm1(rng, (300, 777)), random_pm1(rng, (130, 777))
    np.testing.assert_array_equal(binary_gemm(pack_bits(a), pack_bits(w), 777), pm1_matmul(a, w))


# --- thresholds and batchnorm folding -------------------------------------------------------

def test_threshold_activate_matches_comparison():
    rng = np.random.default_rng(3)
    acc = rng.integers(-50, 51, size=(6, 5))
    thresholds = np.array([-3, 0, 4, 50, -51])
    invert = np.array([0, 1, 0, 1, 1], dtype=np.uint8)
    bits = threshold_activate(acc, thresholds, invert)
    assert bits.dtype == np.uint8
    expected = np.where(invert == 1, acc < thresholds, acc >= thresholds)
    np.testing.assert_array_equal(bits, expected.astype(np.uint8))
    np.testing.assert_array_equal(threshold_activate(acc, thresholds),
                                  (acc >= thresholds).astype(np.uint8))
    np.testing.assert_array_equal(threshold_activate(acc, 0), (acc >= 0).astype(np.uint8))
    np.testing.assert_array_equal(threshold_activate(acc, thresholds, invert.astype(bool)), bits)


def reference_bn_sign(acc, mean, var, gamma, beta, eps):
    """The float layer written out here, independently: 1 where the batchnorm output >= 0."""
    acc = acc.astype(np.float64)
    normalized = gamma * (acc - mean) / np.sqrt(var + eps) + beta
    return (normalized >= 0).astype(np.uint8)


def every_acc(k, neurons):
    return np.repeat(np.arange(-k, k + 1)[:, None], neurons, axis=1)


def check_fold(mean, var, gamma, beta, eps, k):
    thresholds, invert = fold_batchnorm(mean, var, gamma, beta, eps=eps, k=k)
    assert thresholds.dtype == np.int64 and invert.dtype == np.uint8
    assert thresholds.min() >= -k and thresholds.max() <= k  # fits acc_bits(k, 1, 1)
    # Every reachable accumulator value, one row each, for every neuron.
    acc = every_acc(k, thresholds.size)
    expected = reference_bn_sign(acc, np.asarray(mean), np.asarray(var), np.asarray(gamma),
                                 np.asarray(beta), eps)
    np.testing.assert_array_equal(threshold_activate(acc, thresholds, invert), expected)


REALS = st.floats(-60, 60, allow_nan=False, allow_subnormal=False)


@PROPERTY
@given(k=st.integers(1, 70), n=st.integers(1, 6), data=st.data())
def test_fold_batchnorm_exhaustive(k, n, data):
    mean = data.draw(st.lists(REALS, min_size=n, max_size=n))
    var = data.draw(st.lists(st.floats(0, 100, allow_subnormal=False), min_size=n, max_size=n))
    gamma = data.draw(st.lists(st.one_of(st.just(0.0), st.floats(-4, 4, allow_subnormal=False)),
                               min_size=n, max_size=n))
    beta = data.draw(st.lists(REALS, min_size=n, max_size=n))
    check_fold(np.array(mean), np.array(var), np.array(gamma), np.array(beta), 1e-5, k)


def test_fold_batchnorm_ties_and_negative_gamma():
    # The batchnorm output is exactly 0 at acc == mean (beta = 0): the tie gives +1 for
    # either sign of gamma; with gamma < 0 the output is +1 for acc <= mean.
    k = 20
    means = np.arange(-k, k + 1, dtype=np.float64)
    for gamma in (1.0, -1.0, 0.25, -3.0):
        check_fold(means, np.ones_like(means), np.full_like(means, gamma), np.zeros_like(means),
                   0.0, k)
    thresholds, invert = fold_batchnorm(3.0, 1.0, -1.0, 0.0, eps=0.0, k=k)
    assert (int(thresholds), int(invert)) == (4, 1)  # acc <= 3  ==  NOT(acc >= 4)
    thresholds, invert = fold_batchnorm(3.0, 1.0, 1.0, 0.0, eps=0.0, k=k)
    assert (int(thresholds), int(invert)) == (3, 0)


def test_fold_batchnorm_rounded_boundaries():
    # Put the real-valued boundary t = mean - beta * s / gamma on an integer, so float rounding
    # decides on which side that integer falls; a plain ceil(t) / floor(t) + 1 gets some of
    # these wrong, the folded thresholds must follow the float expression exactly.
    k, neurons = 40, 400
    rng = np.random.default_rng(2024)
    boundary = rng.integers(-30, 31, size=neurons)
    gamma = rng.choice([-1.0, 1.0], size=neurons) * rng.uniform(0.01, 5, size=neurons)
    var = rng.choice([0.49, 0.01, 2.0, 3.3], size=neurons)
    beta = rng.uniform(-5, 5, size=neurons)
    eps = 1e-5
    mean = boundary + beta * np.sqrt(var + eps) / gamma
    check_fold(mean, var, gamma, beta, eps, k)


def test_fold_batchnorm_constant_outputs():
    k = 8
    # gamma == 0: constant beta >= 0; a huge |t|: the threshold is out of reach either way.
    mean = np.array([0.0, 0.0, 0.0, 100.0, -100.0, 100.0, -100.0])
    gamma = np.array([0.0, 0.0, 0.0, 1.0, 1.0, -1.0, -1.0])
    beta = np.array([0.0, 2.0, -1.0, 0.0, 0.0, 0.0, 0.0])
    check_fold(mean, np.ones(7), gamma, beta, 1e-5, k)
    thresholds, invert = fold_batchnorm(mean, np.ones(7), gamma, beta, k=k)
    bits = threshold_activate(every_acc(k, 7), thresholds, invert)
    assert bits.min(axis=0).tolist() == [1, 1, 0, 0, 1, 1, 0]
    assert bits.max(axis=0).tolist() == [1, 1, 0, 0, 1, 1, 0]


def test_fold_batchnorm_without_k():
    thresholds, invert = fold_batchnorm([0.5, 2.5], [1.0, 1.0], [2.0, -2.0], [0.0, 0.0], eps=0.0)
    assert thresholds.tolist() == [1, 3] and invert.tolist() == [0, 1]


# --- bad arguments --------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: pack_bits(np.array([1, 0, -1])), "only -1 and \\+1"),
    (lambda: pack_bits(np.array([True, False])), "numbers -1 and \\+1"),
    (lambda: pack_bits(np.ones((2, 0))), "at least one element"),
    (lambda: pack_bits(np.ones(3), axis=1), "out of range"),
    (lambda: unpack_bits(np.zeros(2, dtype=np.int64), 10), "dtype uint64"),
    (lambda: unpack_bits(np.zeros(2, dtype=np.uint64), 129), "larger than the packed width"),
    (lambda: unpack_bits(np.zeros(2, dtype=np.uint64), 0), "k must be in \\[1"),
    (lambda: words_for(0), "k must be in \\[1"),
    (lambda: words_for(2.5), "k must be an integer"),
    (lambda: xnor_popcount_dot(np.zeros(2, np.uint64), np.zeros(3, np.uint64), 10),
     "same number of words"),
    (lambda: xnor_popcount_dot(np.zeros(1, np.uint64), np.zeros(1, np.uint64), 65),
     "larger than the packed width"),
    (lambda: binary_gemm(np.zeros((2, 2), np.uint64), np.zeros((3, 1), np.uint64), 10),
     "same number of words"),
    (lambda: binary_gemm(np.zeros(2, np.uint64), np.zeros((3, 2), np.uint64), 10), "2-D"),
    (lambda: binary_gemm(np.zeros((2, 2), np.int32), np.zeros((3, 2), np.uint64), 10),
     "dtype uint64"),
    (lambda: binary_gemm(np.zeros((2, 2), np.uint64), np.zeros((3, 2), np.uint64), -1),
     "k must be in \\[1"),
    (lambda: threshold_activate(np.zeros((2, 3), np.int32), np.zeros(4, np.int64)),
     "shape \\(3,\\)"),
    (lambda: threshold_activate(np.zeros((2, 3), np.int32), 0, np.array([0, 2, 1])), "<= 1"),
    (lambda: threshold_activate(np.zeros((2, 3)), 0), "integer array"),
    (lambda: fold_batchnorm(0.0, 1.0, 0.0, 1.0), "needs k"),
    (lambda: fold_batchnorm(0.0, -1.0, 1.0, 1.0), "var \\+ eps must be > 0"),
    (lambda: fold_batchnorm([0.0, 1.0], [1.0, 1.0, 1.0], 1.0, 1.0), "same shape"),
    (lambda: fold_batchnorm(np.nan, 1.0, 1.0, 1.0), "finite"),
    (lambda: fold_batchnorm(0.0, 1.0, 1.0, 1.0, eps=[1e-5, 1e-5]), "eps must be a scalar"),
    (lambda: fold_batchnorm(np.zeros((2, 2)), 1.0, 1.0, 1.0), "scalars or 1-D"),
    (lambda: binarize(["a"]), "real numbers"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
