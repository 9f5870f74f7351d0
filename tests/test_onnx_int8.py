"""The int8 golden inference against ONNX Runtime, an independent implementation.

Where the conventions agree the results must be bit-exact; where they differ, the differing
outputs are counted and bounded:

- int32 part (``MatMulInteger`` + ``Add`` of the int32 bias): identical arithmetic, bit-exact.
- Requantization. bitmac follows gemmlowp / TFLite: a Q31 fixed-point multiplier
  (``SaturatingRoundingDoublingHighMul``, one rounding) then a rounding right shift
  (``RoundingDivideByPOT``, a second rounding, half away from zero). ONNX Runtime
  (``QuantizeLinear`` on the float accumulator, ``QLinearMatMul``) scales in float32 and
  rounds once, half to even. The two therefore differ (by exactly 1) where the scaled value is
  an exact tie (the ``test_tie_rounding_*`` tests list exactly which ties differ: the rounding
  shift rounds ties away from zero, the Q31 multiply rounds them half up) or lies so close to
  x.5 that the float32 scale error or gemmlowp's double rounding crosses it.
  Measured on the digits test split (360 images, seed 0), given the same int8 inputs: 112 of
  23 040, 8 of 23 040 and 5 of 3 600 outputs differ in layers 1, 2, 3 (the same outputs as
  against an exact float64 requantization, so gemmlowp's double rounding is the cause, not
  float32). Bounds checked: at most 1 % per layer, never by more than 1; the predictions of the
  chained networks agree on at least 99 % of the images.
"""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from bitmac.golden import int8_gemm, quantize_multiplier, requantize
from bitmac.sim.digits import load_split, trained_networks

OPSET = 19


def _session(nodes, inputs, outputs, initializers):
    graph = helper.make_graph(nodes, "bitmac", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _int8_input(name, k):
    return helper.make_tensor_value_info(name, TensorProto.INT8, [None, k])


def _layer_nodes(index, layer, source):
    """MatMulInteger + Add(bias) -> int32 accumulators; Cast, (Relu), QuantizeLinear -> int8.

    QuantizeLinear divides by ``y_scale = 1 / real_multiplier`` per output channel (axis 1),
    rounds half to even and saturates to int8; a ReLU before it is the ``out_min = 0`` clamp.
    """
    p = f"l{index}_"
    n_out = layer.weight.shape[0]
    initializers = [
        numpy_helper.from_array(np.ascontiguousarray(layer.weight.T), p + "w"),
        numpy_helper.from_array(layer.bias.astype(np.int32), p + "bias"),
        numpy_helper.from_array((1.0 / layer.real_multiplier).astype(np.float32), p + "scale"),
        numpy_helper.from_array(np.zeros(n_out, np.int8), p + "zero"),
    ]
    nodes = [
        helper.make_node("MatMulInteger", [source, p + "w"], [p + "product"]),
        helper.make_node("Add", [p + "product", p + "bias"], [p + "acc"]),
        helper.make_node("Cast", [p + "acc"], [p + "acc_float"], to=TensorProto.FLOAT),
    ]
    scaled = p + "acc_float"
    if layer.out_min == 0:
        nodes.append(helper.make_node("Relu", [scaled], [p + "relu"]))
        scaled = p + "relu"
    else:
        assert layer.out_min == -128
    nodes.append(helper.make_node("QuantizeLinear", [scaled, p + "scale", p + "zero"],
                                  [p + "out"], axis=1))
    return nodes, initializers, p + "acc", p + "out"


@pytest.fixture(scope="module")
def split():
    return load_split()


@pytest.fixture(scope="module")
def net(split, tmp_path_factory):
    return trained_networks(split=split, cache_dir=tmp_path_factory.mktemp("cache")).int8_net


@pytest.fixture(scope="module")
def golden_values(net, split):
    return net.activations(split.x_test)


def _run_layer(layer, index, a):
    nodes, initializers, acc, out = _layer_nodes(index, layer, "a")
    n_out = layer.weight.shape[0]
    session = _session(nodes, [_int8_input("a", a.shape[1])],
                       [helper.make_tensor_value_info(acc, TensorProto.INT32, [None, n_out]),
                        helper.make_tensor_value_info(out, TensorProto.INT8, [None, n_out])],
                       initializers)
    return session.run(None, {"a": a})


@pytest.mark.parametrize("index", [0, 1, 2])
def test_layer_against_onnx_runtime(net, golden_values, index):
    layer = net.layers[index]
    a = golden_values[index]
    onnx_acc, onnx_out = _run_layer(layer, index, a)
    # The int32 part is the same arithmetic: bit-exact.
    golden_acc = int8_gemm(a, layer.weight).astype(np.int64) + layer.bias
    assert onnx_acc.dtype == np.int32
    assert np.array_equal(onnx_acc, golden_acc)
    # Requantization: float32 + half-to-even against Q31 fixed point + half away from zero.
    golden_out = golden_values[index + 1].astype(int)
    difference = onnx_out.astype(int) - golden_out
    assert np.abs(difference).max() <= 1
    assert np.count_nonzero(difference) <= 0.01 * difference.size, np.count_nonzero(difference)
    # The ReLU convention is the same: clamped at 0 for hidden layers.
    assert onnx_out.min() >= layer.out_min


def test_whole_network_against_onnx_runtime(net, golden_values, split):
    nodes, initializers, source = [], [], "x"
    for index, layer in enumerate(net.layers):
        layer_nodes, layer_inits, _, source = _layer_nodes(index, layer, source)
        nodes += layer_nodes
        initializers += layer_inits
    session = _session(nodes, [_int8_input("x", 64)],
                       [helper.make_tensor_value_info(source, TensorProto.INT8, [None, 10])],
                       initializers)
    logits, = session.run(None, {"x": golden_values[0]})
    golden_logits = golden_values[-1].astype(int)
    # Differences in early layers can grow, but stay small in the logits.
    assert np.abs(logits.astype(int) - golden_logits).max() <= 3
    agree = np.mean(np.argmax(logits, axis=1) == np.argmax(golden_logits, axis=1))
    assert agree >= 0.99
    accuracy = np.mean(np.argmax(logits, axis=1) == split.y_test)
    assert abs(accuracy - np.mean(net.predict(split.x_test) == split.y_test)) <= 0.01


@pytest.mark.parametrize("index", [0, 1, 2])
def test_qlinearmatmul_requantization(net, golden_values, index):
    """QLinearMatMul (no bias input, no ReLU) against golden requantize of the same int32
    product with the multiplier of the same real scale ``s_a * s_w[c] / s_y``."""
    layer = net.layers[index]
    a = golden_values[index]
    n_out, k = layer.weight.shape
    initializers = [
        numpy_helper.from_array(np.float32(layer.input_scale), "a_scale"),
        numpy_helper.from_array(np.int8(0), "a_zero"),
        numpy_helper.from_array(np.ascontiguousarray(layer.weight.T), "w"),
        numpy_helper.from_array(layer.weight_scale.astype(np.float32), "w_scale"),
        numpy_helper.from_array(np.zeros(n_out, np.int8), "w_zero"),
        numpy_helper.from_array(np.float32(layer.output_scale), "y_scale"),
        numpy_helper.from_array(np.int8(0), "y_zero"),
    ]
    node = helper.make_node("QLinearMatMul", ["a", "a_scale", "a_zero", "w", "w_scale",
                                              "w_zero", "y_scale", "y_zero"], ["y"])
    session = _session([node], [_int8_input("a", k)],
                       [helper.make_tensor_value_info("y", TensorProto.INT8, [None, n_out])],
                       initializers)
    onnx_out, = session.run(None, {"a": a})
    golden = requantize(int8_gemm(a, layer.weight), layer.multiplier, layer.shift)
    difference = onnx_out.astype(int) - golden.astype(int)
    assert np.abs(difference).max() <= 1
    assert np.count_nonzero(difference) <= 0.01 * difference.size, np.count_nonzero(difference)


def _quantize_linear_by(accumulators, divisor):
    session = _session(
        [helper.make_node("Cast", ["acc"], ["acc_float"], to=TensorProto.FLOAT),
         helper.make_node("QuantizeLinear", ["acc_float", "scale", "zero"], ["y"])],
        [helper.make_tensor_value_info("acc", TensorProto.INT32, [None, 1])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, [None, 1])],
        [numpy_helper.from_array(np.float32(divisor), "scale"),
         numpy_helper.from_array(np.int8(0), "zero")])
    return session.run(None, {"acc": accumulators[:, None]})[0].astype(int)[:, 0]


def test_tie_rounding_in_the_shift_differs_exactly_where_expected():
    """Scale 1/4 (Q31 multiplier 2**30, shift 1) on even accumulators: the multiply is exact
    and the tie x.5 (acc = 2 mod 4) is rounded by RoundingDivideByPOT, away from zero; ONNX
    QuantizeLinear rounds it to the even neighbour. They differ exactly where the
    away-from-zero result is odd: |acc| = 2 mod 8 (10 / 4 = 2.5 -> 3 against 2)."""
    acc = np.arange(-400, 401, 2, dtype=np.int32)
    multiplier, shift = quantize_multiplier(0.25)
    assert (multiplier, shift) == (1 << 30, 1)
    golden = requantize(acc[:, None], multiplier, shift).astype(int)[:, 0]
    onnx_out = _quantize_linear_by(acc, 4.0)
    assert np.array_equal(onnx_out != golden, np.abs(acc) % 8 == 2)
    assert np.all(np.abs(golden - onnx_out) <= 1)
    assert np.array_equal(golden, -golden[::-1])        # away from zero: symmetric
    assert golden[acc == 10][0] == 3 and onnx_out[acc == 10][0] == 2
    assert golden[acc == -10][0] == -3 and onnx_out[acc == -10][0] == -2


def test_tie_rounding_in_the_multiply_differs_exactly_where_expected():
    """Scale 1/2 (multiplier 2**30, shift 0): the tie of an odd accumulator is rounded by
    SaturatingRoundingDoublingHighMul, whose nudge ``1 - 2**30`` for negative products rounds
    negative ties toward zero (half up: -2.5 -> -2), positive ones away (2.5 -> 3). Against
    half to even they differ where acc = 1 mod 4 for acc > 0 and |acc| = 3 mod 4 for acc < 0."""
    acc = np.arange(-201, 202, dtype=np.int32)
    multiplier, shift = quantize_multiplier(0.5)
    assert (multiplier, shift) == (1 << 30, 0)
    golden = requantize(acc[:, None], multiplier, shift).astype(int)[:, 0]
    onnx_out = _quantize_linear_by(acc, 2.0)
    expected = np.where(acc > 0, acc % 4 == 1, np.abs(acc) % 4 == 3)
    assert np.array_equal(onnx_out != golden, expected)
    assert golden[acc == 5][0] == 3 and golden[acc == -5][0] == -2
    assert onnx_out[acc == 5][0] == 2 and onnx_out[acc == -5][0] == -2
    assert golden[acc == -3][0] == -1 and onnx_out[acc == -3][0] == -2
