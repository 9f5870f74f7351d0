"""The comparison network (bitmac.golden.network): accuracy, the integer inferences against
their float references, determinism, the cache.

Accuracy floors are the measured test-split accuracies (seed 0: float 97.8 %, int8 97.8 %,
binary 96.1 %) minus a margin of about 2 points, so a regression in training or quantization
fails while a harmless change in BLAS summation order does not.
"""

import numpy as np
import pytest

from bitmac.golden import network
from bitmac.golden.int8 import int8_gemm
from bitmac.sim.digits import load_split, trained_networks


@pytest.fixture(scope="module")
def split():
    return load_split()


@pytest.fixture(scope="module")
def nets(split, tmp_path_factory):
    return trained_networks(split=split, cache_dir=tmp_path_factory.mktemp("cache"))


SMALL = network.TrainingConfig(float_epochs=2, binary_epochs=2)


def test_split_is_fixed_and_stratified(split):
    assert split.x_train.shape == (1437, 64) and split.x_test.shape == (360, 64)
    assert split.x_train.dtype == np.uint8 and split.x_test.max() <= 16
    assert np.array_equal(load_split().y_test, split.y_test)
    # Stratified: every class holds 20 % of its images in the test split, +-1.
    for digit in range(10):
        total = np.sum(split.y_train == digit) + np.sum(split.y_test == digit)
        assert abs(np.sum(split.y_test == digit) - 0.2 * total) <= 1


def test_accuracies(nets, split):
    x, y = split.x_test, split.y_test
    float_acc = network.accuracy(nets.float_net.predict(x), y)
    int8_acc = network.accuracy(nets.int8_net.predict(x), y)
    binary_acc = network.accuracy(nets.binary_integer.predict(x), y)
    assert float_acc > 0.95
    assert int8_acc > 0.95 and abs(int8_acc - float_acc) <= 0.01
    assert binary_acc > 0.93
    # The networks are far from chance on the training set too (no broken labels or shuffle).
    assert network.accuracy(nets.binary_integer.predict(split.x_train), split.y_train) > 0.97


def test_int8_parameters_are_in_hardware_ranges(nets):
    layers = nets.int8_net.layers
    assert [layer.weight.shape for layer in layers] == [(64, 64), (64, 64), (10, 64)]
    for index, layer in enumerate(layers):
        assert layer.weight.dtype == np.int8 and layer.weight.min() >= -127
        # Per-channel symmetric scales: the largest weight of every neuron maps to +-127,
        # except for neurons whose weights weight decay drove to about 0 (they quantize to 0).
        peaks = np.abs(layer.weight.astype(int)).max(axis=1)
        assert set(np.unique(peaks)) <= {0, 127} and np.mean(peaks == 127) > 0.9
        assert np.all((layer.multiplier >= 1 << 30) & (layer.multiplier < 1 << 31))
        assert np.all((layer.shift >= 0) & (layer.shift <= 31))
        assert layer.zero_point == 0
        assert layer.out_min == (-128 if index == len(layers) - 1 else 0)
        assert np.allclose(layer.multiplier * 2.0 ** (-31 - layer.shift.astype(float)),
                           layer.real_multiplier, rtol=2 ** -30)


def test_int8_input_is_lossless(split):
    x = network.Int8MLP.quantize_input(split.x_test)
    assert np.array_equal(x.astype(float) * network.Int8MLP.input_scale, split.x_test / 16)


def test_int8_hidden_layers_are_relu_outputs(nets, split):
    values = nets.int8_net.activations(split.x_test)
    for hidden in values[1:-1]:
        assert hidden.min() == 0 and hidden.max() > 64     # ReLU folded, range well used


def test_int8_integer_inference_matches_float_requantization(nets, split):
    """The Q31 fixed-point requantization (two roundings, gemmlowp) against the same layer
    with the exact real multiplier in float64 (one rounding): given the same int8 inputs,
    outputs differ by at most 1, in under 1 % of the values (measured: 0.5 %, 0.04 %, 0.15 %
    on the training set's 1437 images); the predictions agree on at least 99.5 % of the images."""
    net = nets.int8_net
    values = net.activations(split.x_train)
    for index, layer in enumerate(net.layers):
        fixed = layer.forward(values[index]).astype(int)
        real = layer.forward_float(values[index]).astype(int)
        assert np.abs(fixed - real).max() <= 1, index
        assert np.mean(fixed != real) < 0.01, index
    reference = np.argmax(net.activations_float(split.x_test)[-1], axis=1)
    assert np.mean(reference == net.predict(split.x_test)) >= 0.995


def test_int8_network_follows_the_float_network(nets, split):
    float_values = nets.float_net.activations(split.x_test)
    int8_values = nets.int8_net.activations(split.x_test)
    for index, layer in enumerate(nets.int8_net.layers):
        # Dequantized activations stay within a few output steps of the float ones.
        error = np.abs(int8_values[index + 1] * layer.output_scale - float_values[index + 1])
        assert np.percentile(error, 99) < 4 * layer.output_scale, index
    agree = np.mean(nets.float_net.predict(split.x_test) == nets.int8_net.predict(split.x_test))
    assert agree >= 0.98


def test_int8_layer_is_int8_gemm_plus_bias_then_requantize(nets, split):
    layer = nets.int8_net.layers[0]
    a = network.Int8MLP.quantize_input(split.x_test[:50])
    acc = int8_gemm(a, layer.weight).astype(np.int64) + layer.bias
    # Recompute one output by hand in Python integers, gemmlowp's definition.
    m, s = int(layer.multiplier[3]), int(layer.shift[3])
    value = int(acc[7, 3])
    product = value * m
    nudge = (1 << 30) if product >= 0 else 1 - (1 << 30)
    total = product + nudge
    high = abs(total) // (1 << 31) * (1 if total >= 0 else -1)   # C division: toward zero
    mask = (1 << s) - 1
    scaled = (high >> s) + ((high & mask) > ((mask >> 1) + (high < 0)))
    assert layer.forward(a)[7, 3] == max(0, min(127, scaled))


def test_binary_integer_inference_equals_float_ste_forward(nets, split):
    """Folded thresholds + XNOR-popcount reproduce the float +-1 forward exactly, every layer,
    on every image of both splits."""
    for x in (split.x_train, split.x_test):
        reference = nets.binary_net.activations(x)
        integer = nets.binary_integer.activations(x)
        assert len(reference) == len(integer) == 4
        for index, (ref, got) in enumerate(zip(reference, integer)):
            assert np.array_equal(ref, got.astype(np.float64)), index
        assert np.array_equal(nets.binary_net.predict(x), nets.binary_integer.predict(x))


def test_binary_layers_are_binary(nets):
    layers = nets.binary_integer.layers
    assert [layer.weight.shape for layer in layers] == [(64, 192), (64, 64), (10, 64)]
    for layer in layers:
        assert set(np.unique(layer.weight)) <= {-1, 1}
    for layer in layers[:-1]:
        assert np.all(np.abs(layer.thresholds) <= layer.k)
        assert set(np.unique(layer.invert)) <= {0, 1}
    assert layers[-1].thresholds is None
    values = nets.binary_integer.activations(np.zeros((1, 64), np.uint8))
    assert np.all(np.abs(values[-1]) <= 64) and values[-1].dtype == np.int32


def test_thermometer_code():
    pixels = np.zeros((1, 64), np.uint8)
    pixels[0, :5] = [0, 3, 7, 11, 16]
    code = network.thermometer_encode(pixels, (3, 7, 11))
    assert code.shape == (1, 192)
    # Pixel i against thresholds 3, 7, 11 sits at elements 3i, 3i+1, 3i+2.
    assert code[0, :15].tolist() == [-1, -1, -1, 1, -1, -1, 1, 1, -1, 1, 1, 1, 1, 1, 1]
    assert np.all(code[0, 15:] == -1)


def test_weight_memory(nets):
    assert nets.int8_net.weight_bits == 8 * (64 * 64 + 64 * 64 + 64 * 10)
    assert nets.binary_integer.weight_bits == 192 * 64 + 64 * 64 + 64 * 10


def test_training_is_deterministic(split):
    first = network.train_all(split.x_train, split.y_train, SMALL)
    second = network.train_all(split.x_train, split.y_train, SMALL)
    other = network.train_all(split.x_train, split.y_train,
                              network.TrainingConfig(float_epochs=2, binary_epochs=2, seed=1))
    for a, b, c in zip(first.float_net.weights, second.float_net.weights, other.float_net.weights):
        assert np.array_equal(a, b) and not np.array_equal(a, c)
    for a, b in zip(first.binary_net.latent, second.binary_net.latent):
        assert np.array_equal(a, b)
    for a, b in zip(first.int8_net.layers, second.int8_net.layers):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.multiplier, b.multiplier)


def test_cache_round_trip(split, tmp_path):
    trained = trained_networks(SMALL, split=split, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    messages = []
    loaded = trained_networks(SMALL, split=split, cache_dir=tmp_path, log=messages.append)
    assert "loading" in messages[0]
    for a, b in zip(trained.int8_net.layers, loaded.int8_net.layers):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
        assert np.array_equal(a.shift, b.shift) and a.out_min == b.out_min
    for a, b in zip(trained.binary_integer.layers, loaded.binary_integer.layers):
        assert np.array_equal(a.weight, b.weight)
        assert (a.thresholds is None and b.thresholds is None) or \
            np.array_equal(a.thresholds, b.thresholds)
    assert np.array_equal(trained.float_net.predict(split.x_test),
                          loaded.float_net.predict(split.x_test))
    # A different setting is a different cache entry.
    trained_networks(network.TrainingConfig(float_epochs=2, binary_epochs=2, seed=3),
                     split=split, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(sizes=(63, 10)), "64 pixels"),
    (dict(sizes=(64,)), "at least"),
    (dict(binary_epochs=0), "binary_epochs"),
])
def test_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        network.TrainingConfig(**kwargs)


@pytest.mark.parametrize("pixels", [np.full((2, 64), 17), np.full((2, 63), 1), np.full((2, 64), -1),
                                    np.full((2, 64), 0.5)])
def test_bad_pixels(nets, pixels):
    with pytest.raises(ValueError, match="pixels"):
        nets.int8_net.predict(pixels)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["binary", "int8"])
def test_network_rtl_bit_exact_with_stalls(nets, split, kind):
    """A documented subset (the first 24 test images) through the generated Verilog of every
    layer under Verilator, with random valid/ready stalls on every stream; `bitmac compare`
    runs the whole split at full rate."""
    from bitmac.sim.network_rtl import run_network

    run = run_network(kind, nets, split.x_test[:24], stall=0.2, seed=5, progress=False)
    assert run.bit_exact and run.mismatches == 0
    assert [layer.vectors for layer in run.layers] == [24, 24, 24]
    assert np.array_equal(run.predictions, run.golden_predictions)
    for layer in run.layers:
        assert layer.macs == 24 * layer.n_in * layer.n_out
        # Stalls only add cycles: at least the load plus one vector per cycles_per_vector.
        assert layer.cycles >= layer.n_out * layer.synapse_folds + 24 * layer.cycles_per_vector
