"""The comparison data set: scikit-learn's 8x8 handwritten digits (bundled, no download).

1797 images of 8x8 pixels, each pixel an integer 0..16, ten classes. :func:`load_split` gives a
fixed, seeded, stratified train/test split (80 % / 20 %: 1437 / 360 images) with the pixels as
``uint8`` integers 0..16, the form both the int8 network (input scale 1/16, lossless) and the
binary network (thermometer code) start from.

:func:`trained_networks` trains the float, int8 and binary networks of
:mod:`bitmac.golden.network` on that split, or loads them from an ``.npz`` cache keyed by every
training setting, so repeated ``bitmac compare`` runs skip the training.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..golden import network

__all__ = ["DigitsSplit", "load_split", "default_cache_dir", "trained_networks", "TEST_FRACTION",
           "SPLIT_SEED"]

#: Share of the 1797 images held out for testing (stratified by class).
TEST_FRACTION = 0.2
#: Seed of the train/test split; fixed so every accuracy in the reports refers to the same images.
SPLIT_SEED = 0


@dataclass(frozen=True)
class DigitsSplit:
    """Train and test images as ``uint8`` pixels 0..16, shape ``(n, 64)`` (row-major 8x8), and
    their labels 0..9 as ``int64``."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_split(*, seed=SPLIT_SEED, test_fraction=TEST_FRACTION):
    """Load the digits and split them, stratified by class, with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    pixels = digits.data.astype(np.uint8)      # the data set's pixels are integers 0..16
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        pixels, labels, test_size=test_fraction, random_state=seed, stratify=labels)
    return DigitsSplit(x_train, y_train, x_test, y_test)


def default_cache_dir():
    """``$BITMAC_CACHE`` when set, else ``~/.cache/bitmac``."""
    env = os.environ.get("BITMAC_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "bitmac"


def _cache_key(config, split):
    # Every training setting and the data itself go into the key: a change retrains.
    digest = hashlib.sha256(json.dumps(config.as_dict(), sort_keys=True).encode())
    for array in (split.x_train, split.y_train):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(network.FORMAT_VERSION.encode())
    return digest.hexdigest()[:16]


def trained_networks(config=None, *, split=None, cache_dir=None, use_cache=True, log=None):
    """Train (or load from the cache) the three networks of the comparison.

    Parameters
    ----------
    config : bitmac.golden.network.TrainingConfig, optional
        Sizes, seeds, epochs; the default is the comparison's configuration.
    split : DigitsSplit, optional
        Data to train on; :func:`load_split` by default.
    cache_dir : path, optional
        Where the ``.npz`` files live; :func:`default_cache_dir` by default.
    use_cache : bool
        ``False`` always retrains (and refreshes the cache).
    log : callable, optional
        Called with one-line progress messages.

    Returns
    -------
    bitmac.golden.network.TrainedNetworks
    """
    config = config or network.TrainingConfig()
    split = split or load_split()
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_dir / f"digits-networks-{_cache_key(config, split)}.npz"
    if use_cache and path.exists():
        if log:
            log(f"loading the trained networks from {path}")
        return network.TrainedNetworks.load(path)
    if log:
        log("training the float, int8 and binary networks "
            f"({'-'.join(map(str, config.sizes))}, seed {config.seed})")
    trained = network.train_all(split.x_train, split.y_train, config)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npz")
    trained.save(temporary)
    os.replace(temporary, path)                # atomic: parallel runs never read half a file
    return trained
