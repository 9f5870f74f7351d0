"""Argument checks shared by the golden models: each raises ``ValueError`` saying what was
expected and what was given."""

import operator

import numpy as np

__all__ = ["integer_array", "int_param", "depth", "per_channel", "real_array"]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"array of dtype {value.dtype} and shape {value.shape}"
    return f"{type(value).__name__} {value!r}"


def integer_array(name, value, *, dtype=None, ndim=None, lo=None, hi=None):
    """Return ``value`` as an integer ndarray (not copied when already one).

    ``dtype`` demands that exact dtype for ndarray input (Python ints and lists are converted);
    ``ndim`` the number of dimensions; ``lo``/``hi`` an inclusive value range.
    """
    if isinstance(value, np.ndarray) and dtype is not None and value.dtype != dtype:
        raise ValueError(f"{name} must have dtype {np.dtype(dtype)}, not {value.dtype}")
    array = np.asarray(value)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array, not {_describe(value)}")
    if dtype is not None and array.dtype != dtype:
        # Python ints / lists: convert only when every value fits the demanded dtype.
        info = np.iinfo(dtype)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise ValueError(f"{name} must fit {np.dtype(dtype)} [{info.min}, {info.max}]")
        array = array.astype(dtype)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, not of shape {array.shape}")
    if array.size and lo is not None and array.min() < lo:
        raise ValueError(f"{name} must be >= {lo}, got a minimum of {array.min()}")
    if array.size and hi is not None and array.max() > hi:
        raise ValueError(f"{name} must be <= {hi}, got a maximum of {array.max()}")
    return array


def int_param(name, value, *, lo=None, hi=None):
    """Return ``value`` as a Python int, checked against the inclusive range [lo, hi]."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, not {_describe(value)}") from None
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        allowed = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise ValueError(f"{name} must be in {allowed}, got {number}")
    return number


def depth(k, *, capacity=None):
    """Check a dot-product depth ``k`` (number of valid elements): an integer >= 1 and, when
    ``capacity`` (bits available in the packed words) is given, at most that."""
    k = int_param("k", k, lo=1)
    if capacity is not None and k > capacity:
        raise ValueError(f"k = {k} is larger than the packed width: {capacity // 64} uint64 "
                         f"word(s) hold at most {capacity} elements")
    return k


def real_array(name, value):
    """Return ``value`` as a float64 array of finite real numbers."""
    array = np.asarray(value)
    if array.dtype == np.bool_ or not (np.issubdtype(array.dtype, np.integer)
                                       or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{name} must be real numbers, not {_describe(value)}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or infinity)")
    return array


def per_channel(name, array, channels, *, axis_name="the last axis"):
    """Check that a per-channel parameter is a scalar or a 1-D array of ``channels`` values."""
    if array.ndim == 0:
        return array
    if array.ndim != 1 or array.shape[0] != channels:
        raise ValueError(f"{name} must be a scalar or have shape ({channels},) to match "
                         f"{axis_name}, not shape {array.shape}")
    return array
