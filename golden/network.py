"""The comparison network: one small MLP for the 8x8 digits in float, int8 and binary.

Everything here is NumPy (the data set is loaded in :mod:`bitmac.sim.digits`), seeded and
deterministic. Inputs are the digits' raw pixels, integers 0..16, shape ``(n, 64)``.

Topology: 64-64-64-10 for all three networks, so accuracy and cost are compared on the same
shape. It is sized for the iCEBreaker (UP5K: 30 EBRs of 4 kbit = 120 kbit, 8 DSPs, 5280 LCs):
the int8 weights (64*64 + 64*64 + 64*10 = 8832 bytes = 70.7 kbit) and the binary weights
(64*3*64 + 64*64 + 64*10 = 17.0 kbit with the 3-level thermometer input) both fit in block RAM,
so neither design needs external memory. Measured on the fixed test split (seed 0), 128 hidden
neurons give no better accuracy (float 96.7 %, binary 96.4 %, against 97.8 % and 96.1 % for
64) while their int8 weights (207 kbit) would no longer fit the EBRs.

Float network
    ``x = pixels / 16``; two hidden layers with ReLU, a linear output; trained with Adam on
    cross-entropy.

int8 network (post-training quantization, TFLite conventions)
    Input: the pixels themselves, int8 with scale 1/16 and zero point 0 (lossless: the pixels are
    integers 0..16). Weights: symmetric per output channel, ``[-127, 127]``, scale
    ``max|W[c]| / 127``. Bias: int32 at scale ``s_in * s_w[c]``. Activations: symmetric int8,
    zero point 0, scale from the largest value seen on the training set; the ReLU is folded into
    the requantization as ``out_min = 0``. Each layer is :func:`~bitmac.golden.int8_dense`
    (int32 GEMM + bias, gemmlowp requantization with a Q31 multiplier per channel). The output
    layer is requantized to int8 logits too (``out_min = -128``): the per-channel weight scales
    make raw accumulators of different classes incomparable. Prediction: first argmax.

Binary network (BinaryNet / FINN style, trained with the straight-through estimator)
    *Input layer*: FINN and Larq keep the first layer's input at higher precision; here the
    pixels are thermometer coded into ±1 bits (``pixel >= t`` for t in ``THERMOMETER``), so the
    input layer is an ordinary binary layer and every layer runs on the XNOR-popcount array
    (this is how FINN feeds its all-binary MNIST MLPs, with a single threshold). Element
    ``i * T + j`` of the code is pixel ``i`` against threshold ``j``.
    *Hidden layers*: ±1 weights (sign of latent float weights clipped to [-1, 1]), ±1
    activations: ``sign(batchnorm(acc))``; batchnorm + sign fold into one integer threshold per
    neuron (:func:`~bitmac.golden.fold_batchnorm`), so inference is
    :func:`~bitmac.golden.binary_gemm` then :func:`~bitmac.golden.threshold_activate`.
    *Output layer*: ±1 weights, no batchnorm; the prediction is the first argmax of the integer
    accumulators (as FINN's last layer; training scales them by one learned positive scalar
    for the softmax, which does not change the argmax).
"""

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from .binary import binary_gemm, fold_batchnorm, pack_bits, threshold_activate
from .int8 import int8_dense, quantize_multiplier

__all__ = [
    "FORMAT_VERSION", "INPUT_LEVELS", "THERMOMETER", "TrainingConfig", "FloatMLP", "Int8Layer",
    "Int8MLP", "BinaryMLP", "BinaryLayer", "BinaryIntegerMLP", "TrainedNetworks",
    "thermometer_encode", "train_float", "quantize_int8", "train_binary", "train_all",
    "accuracy",
]

#: Bumped when the training or the cache format changes, so stale caches are not reused.
FORMAT_VERSION = "digits-mlp-1"
#: The digits' pixels are integers 0..INPUT_LEVELS.
INPUT_LEVELS = 16
#: Thermometer thresholds of the binary network's input code.
THERMOMETER = (3, 7, 11)
#: Batchnorm epsilon (the folding reproduces the float layer with this exact value).
BN_EPS = 1e-5


@dataclass(frozen=True)
class TrainingConfig:
    """Every setting that determines the trained networks (it keys the cache)."""
    sizes: tuple = (64, 64, 64, 10)
    seed: int = 0
    float_epochs: int = 60
    float_lr: float = 3e-3
    binary_epochs: int = 100
    binary_lr: float = 1e-2
    batch_size: int = 32
    weight_decay: float = 1e-4
    thermometer: tuple = THERMOMETER

    def __post_init__(self):
        sizes = tuple(int(s) for s in self.sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must be at least (n_in, n_out) with every size >= 1, "
                             f"not {self.sizes}")
        if sizes[0] != 64:
            raise ValueError(f"the digits have 64 pixels: sizes must start with 64, "
                             f"not {sizes[0]}")
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "thermometer", tuple(int(t) for t in self.thermometer))
        for name in ("float_epochs", "binary_epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, not {getattr(self, name)}")

    def as_dict(self):
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()}


def accuracy(predictions, labels):
    """Share of ``predictions`` equal to ``labels``."""
    return float(np.mean(np.asarray(predictions) == np.asarray(labels)))


def _pixels(x):
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 64:
        raise ValueError(f"inputs must be pixels of shape (n, 64), not {x.shape}")
    if x.size and (x.min() < 0 or x.max() > INPUT_LEVELS or not np.all(x == np.round(x))):
        raise ValueError(f"pixels must be integers 0..{INPUT_LEVELS}")
    return x.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Training helpers


class _Adam:
    """Adam over a list of arrays, updated in place."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads, lr_scale=1.0):
        self.t += 1
        b1, b2 = self.betas
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1 ** self.t)
            v_hat = v / (1 - b2 ** self.t)
            p -= self.lr * lr_scale * m_hat / (np.sqrt(v_hat) + self.eps)


def _softmax_cross_entropy_grad(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(len(labels)), labels] -= 1
    return probs / len(labels)


def _batches(rng, n, batch_size):
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def _cosine(epoch, epochs):
    return 0.5 * (1 + np.cos(np.pi * epoch / epochs))


# ---------------------------------------------------------------------------------------------
# Float network


@dataclass
class FloatMLP:
    """ReLU MLP on ``pixels / 16``. ``weights[l]`` has shape ``(n_out, n_in)``."""
    weights: list
    biases: list

    def activations(self, pixels):
        """Inputs of every layer and the logits: ``[x, h1, ..., logits]`` (float64)."""
        x = _pixels(pixels) / INPUT_LEVELS
        values = [x]
        for index, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = x @ w.T + b
            if index < len(self.weights) - 1:
                x = np.maximum(x, 0)
            values.append(x)
        return values

    def logits(self, pixels):
        return self.activations(pixels)[-1]

    def predict(self, pixels):
        return np.argmax(self.logits(pixels), axis=1)


def train_float(pixels, labels, config=TrainingConfig()):
    """Train the float MLP with Adam (cosine learning-rate decay), seeded."""
    rng = np.random.default_rng([config.seed, 1])
    x = _pixels(pixels) / INPUT_LEVELS
    labels = np.asarray(labels)
    weights = [rng.normal(0, np.sqrt(2 / n_in), (n_out, n_in))
               for n_in, n_out in zip(config.sizes[:-1], config.sizes[1:])]
    biases = [np.zeros(n_out) for n_out in config.sizes[1:]]
    adam = _Adam(weights + biases, config.float_lr)
    layers = len(weights)
    for epoch in range(config.float_epochs):
        for batch in _batches(rng, len(x), config.batch_size):
            inputs = [x[batch]]
            for index in range(layers):
                out = inputs[-1] @ weights[index].T + biases[index]
                inputs.append(np.maximum(out, 0) if index < layers - 1 else out)
            grad = _softmax_cross_entropy_grad(inputs[-1], labels[batch])
            w_grads, b_grads = [None] * layers, [None] * layers
            for index in reversed(range(layers)):
                if index < layers - 1:
                    grad = grad * (inputs[index + 1] > 0)
                w_grads[index] = grad.T @ inputs[index] + config.weight_decay * weights[index]
                b_grads[index] = grad.sum(axis=0)
                grad = grad @ weights[index]
            adam.step(w_grads + b_grads, _cosine(epoch, config.float_epochs))
    return FloatMLP(weights, biases)


# ---------------------------------------------------------------------------------------------
# int8 network


@dataclass
class Int8Layer:
    """One requantized dense layer, the parameters of ``Int8MVU(mode="requant")``.

    ``weight`` int8 ``(n_out, n_in)``; ``bias``, ``multiplier`` int32, ``shift`` in [0, 31],
    per output neuron; ``zero_point`` (0: symmetric activations); ``out_min`` (0 folds a ReLU).
    The real scales are kept to document and cross-check the quantization.
    """
    weight: np.ndarray
    bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    zero_point: int
    out_min: int
    input_scale: float
    weight_scale: np.ndarray
    output_scale: float

    @property
    def real_multiplier(self):
        """``s_in * s_w[c] / s_out``, the scale the Q31 multiplier approximates."""
        return self.input_scale * self.weight_scale / self.output_scale

    def forward(self, a):
        """Pure-integer layer: :func:`~bitmac.golden.int8_dense`."""
        return int8_dense(a, self.weight, self.bias, self.multiplier, self.shift,
                          self.zero_point, self.out_min, 127)

    def forward_float(self, a):
        """Float simulation of the same quantized layer: the accumulator scaled by the exact
        real multiplier in float64 (round half away from zero), clamped."""
        acc = a.astype(np.float64) @ self.weight.T.astype(np.float64) + self.bias
        scaled = acc * self.real_multiplier
        rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
        return np.clip(rounded + self.zero_point, self.out_min, 127).astype(np.int8)


@dataclass
class Int8MLP:
    """The post-training-quantized network. Input: pixels as int8 (scale 1/16, zero point 0)."""
    layers: list

    input_scale = 1.0 / INPUT_LEVELS

    @staticmethod
    def quantize_input(pixels):
        return _pixels(pixels).astype(np.int8)

    def activations(self, pixels):
        """int8 input of every layer and the int8 logits, pure integer arithmetic."""
        values = [self.quantize_input(pixels)]
        for layer in self.layers:
            values.append(layer.forward(values[-1]))
        return values

    def activations_float(self, pixels):
        """The same network with each requantization done in float64 (the reference the
        fixed-point Q31 arithmetic approximates), layer after layer."""
        values = [self.quantize_input(pixels)]
        for layer in self.layers:
            values.append(layer.forward_float(values[-1]))
        return values

    def predict(self, pixels):
        return np.argmax(self.activations(pixels)[-1], axis=1)

    @property
    def weight_bits(self):
        return sum(8 * layer.weight.size for layer in self.layers)

    @property
    def parameter_bits(self):
        """Weights plus the per-neuron bias (32), multiplier (32) and shift (5)."""
        return sum(8 * layer.weight.size + (32 + 32 + 5) * layer.weight.shape[0]
                   for layer in self.layers)


def quantize_int8(model, calibration_pixels):
    """Post-training quantization of a :class:`FloatMLP` (see the module docstring).

    Activation scales come from the largest activation of the float network on
    ``calibration_pixels`` (the training set).
    """
    float_values = model.activations(calibration_pixels)
    layers = []
    input_scale = Int8MLP.input_scale
    count = len(model.weights)
    for index, (w, b) in enumerate(zip(model.weights, model.biases)):
        last = index == count - 1
        # A neuron whose weights decayed to about zero gets the scale of a 1000x larger one:
        # its weights quantize to 0 and its multiplier stays in the Q31 range.
        peak = np.maximum(np.abs(w).max(axis=1), 1e-3 * np.abs(w).max())
        weight_scale = peak / 127
        weight = np.clip(np.round(w / weight_scale[:, None]), -127, 127).astype(np.int8)
        bias = np.round(b / (input_scale * weight_scale)).astype(np.int64)
        if np.abs(bias).max() >= 1 << 31:
            raise ValueError(f"layer {index}: a bias does not fit int32 at its scale")
        out_peak = np.abs(float_values[index + 1]).max()
        output_scale = float(out_peak / 127) if out_peak > 0 else 1.0
        real = input_scale * weight_scale / output_scale
        multiplier, shift = quantize_multiplier(real)
        layers.append(Int8Layer(weight, bias.astype(np.int32), multiplier, shift, 0,
                                -128 if last else 0, input_scale, weight_scale, output_scale))
        input_scale = output_scale
    return Int8MLP(layers)


# ---------------------------------------------------------------------------------------------
# Binary network


def thermometer_encode(pixels, thresholds=THERMOMETER):
    """±1 thermometer code of the pixels: element ``i * T + j`` is +1 where
    ``pixel[i] >= thresholds[j]``. Returns int8 of shape ``(n, 64 * T)``."""
    pixels = _pixels(pixels)
    thresholds = np.asarray(thresholds, dtype=np.int64)
    bits = pixels[:, :, None] >= thresholds[None, None, :]
    return np.where(bits, 1, -1).astype(np.int8).reshape(len(pixels), -1)


def _sign(x):
    # The binarize convention: a tie goes to +1.
    return np.where(x >= 0, 1.0, -1.0)


def _batchnorm_sign(acc, mean, var, gamma, beta):
    # Exactly the float64 expression that fold_batchnorm reproduces on the integers.
    return gamma * (acc - mean) / np.sqrt(var + BN_EPS) + beta >= 0


@dataclass
class BinaryMLP:
    """The trained binarized network in float form (the straight-through-estimator model).

    ``latent[l]`` are the latent float weights, ``(n_out, n_in)``; the network uses their
    signs. ``bn[l]`` = (mean, var, gamma, beta) of hidden layer ``l``. ``thermometer``: input
    code thresholds.
    """
    latent: list
    bn: list
    output_scale: float
    thermometer: tuple

    @property
    def binary_weights(self):
        return [_sign(w).astype(np.int8) for w in self.latent]

    def activations(self, pixels):
        """Float ±1 forward (inference mode, batchnorm with population statistics):
        ``[input code, h1, ..., output accumulators]`` as float64."""
        x = thermometer_encode(pixels, self.thermometer).astype(np.float64)
        values = [x]
        weights = self.binary_weights
        for index, w in enumerate(weights):
            acc = x @ w.T.astype(np.float64)
            if index < len(weights) - 1:
                x = np.where(_batchnorm_sign(acc, *self.bn[index]), 1.0, -1.0)
            else:
                x = acc
            values.append(x)
        return values

    def predict(self, pixels):
        return np.argmax(self.activations(pixels)[-1], axis=1)

    def to_integer(self):
        """Fold batchnorms into thresholds: the network as the hardware runs it."""
        layers = []
        weights = self.binary_weights
        for index, w in enumerate(weights):
            k = w.shape[1]
            if index < len(weights) - 1:
                thresholds, invert = fold_batchnorm(*self.bn[index], eps=BN_EPS, k=k)
            else:
                thresholds = invert = None
            layers.append(BinaryLayer(w, thresholds, invert))
        return BinaryIntegerMLP(layers, self.thermometer)


@dataclass
class BinaryLayer:
    """One binary layer as ``BinaryMVU`` runs it: ±1 weights ``(n_out, n_in)``; thresholds
    (int64) and invert (uint8) per neuron, or ``None`` for the accumulator output layer."""
    weight: np.ndarray
    thresholds: np.ndarray = None
    invert: np.ndarray = None

    @property
    def k(self):
        return self.weight.shape[1]

    @property
    def packed_weight(self):
        return pack_bits(self.weight)

    def forward(self, x_pm1):
        """±1 inputs -> ±1 outputs (int8) or, for the last layer, int32 accumulators."""
        acc = binary_gemm(pack_bits(x_pm1), self.packed_weight, self.k)
        if self.thresholds is None:
            return acc
        bits = threshold_activate(acc, self.thresholds, self.invert)
        return (bits.astype(np.int8) * 2 - 1).astype(np.int8)


@dataclass
class BinaryIntegerMLP:
    """Pure-integer binary inference: only ``binary_gemm`` and ``threshold_activate``."""
    layers: list
    thermometer: tuple

    def encode(self, pixels):
        return thermometer_encode(pixels, self.thermometer)

    def activations(self, pixels):
        """±1 input code, ±1 hidden activations, int32 output accumulators."""
        values = [self.encode(pixels)]
        for layer in self.layers:
            values.append(layer.forward(values[-1]))
        return values

    def predict(self, pixels):
        return np.argmax(self.activations(pixels)[-1], axis=1)

    @property
    def weight_bits(self):
        return sum(layer.weight.size for layer in self.layers)

    @property
    def parameter_bits(self):
        """Weights plus one threshold (accumulator width) and invert bit per hidden neuron."""
        total = self.weight_bits
        for layer in self.layers:
            if layer.thresholds is not None:
                total += layer.weight.shape[0] * (int(layer.k).bit_length() + 1 + 1)
        return total


def train_binary(pixels, labels, config=TrainingConfig()):
    """Train the binarized MLP (BinaryConnect latent weights, straight-through estimator).

    Forward: ±1 weights (sign of the latent weights), batchnorm with batch statistics, sign
    activations. Backward: the sign's gradient is passed where ``|batchnorm output| <= 1``
    (hardtanh STE) and to the latent weights unchanged; latent weights are clipped to [-1, 1].
    After training the batchnorm statistics are recomputed on the whole training set with the
    final binary weights (population mean and variance), which inference and folding use.
    """
    rng = np.random.default_rng([config.seed, 2])
    x_all = thermometer_encode(pixels, config.thermometer).astype(np.float64)
    labels = np.asarray(labels)
    sizes = (x_all.shape[1],) + config.sizes[1:]
    latent = [rng.uniform(-1, 1, (n_out, n_in)) * np.sqrt(6 / (n_in + n_out))
              for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    hidden = len(latent) - 1
    gammas = [np.ones(n) for n in sizes[1:-1]]
    betas = [np.zeros(n) for n in sizes[1:-1]]
    log_scale = np.array([np.log(1.0 / np.sqrt(sizes[-2]))])
    adam = _Adam(latent + gammas + betas + [log_scale], config.binary_lr)
    for epoch in range(config.binary_epochs):
        for batch in _batches(rng, len(x_all), config.batch_size):
            x = x_all[batch]
            weights = [_sign(w) for w in latent]
            layer_inputs, pre_signs, normals, stds = [x], [], [], []
            for index in range(hidden):
                acc = layer_inputs[-1] @ weights[index].T
                std = np.sqrt(acc.var(axis=0) + BN_EPS)
                normal = (acc - acc.mean(axis=0)) / std
                out = gammas[index] * normal + betas[index]
                normals.append(normal)
                stds.append(std)
                pre_signs.append(out)                   # kept for the STE mask
                layer_inputs.append(_sign(out))
            acc = layer_inputs[-1] @ weights[-1].T
            scale = np.exp(log_scale[0])
            grad_logits = _softmax_cross_entropy_grad(acc * scale, labels[batch])
            grad_log_scale = np.array([np.sum(grad_logits * acc) * scale])
            grad = grad_logits * scale
            w_grads = [None] * len(latent)
            g_grads, b_grads = [None] * hidden, [None] * hidden
            w_grads[-1] = grad.T @ layer_inputs[-1]
            grad = grad @ weights[-1]
            for index in reversed(range(hidden)):
                grad = grad * (np.abs(pre_signs[index]) <= 1)       # hardtanh STE
                normal, std = normals[index], stds[index]
                g_grads[index] = np.sum(grad * normal, axis=0)
                b_grads[index] = grad.sum(axis=0)
                grad_normal = grad * gammas[index]
                # Batchnorm backward with batch statistics.
                grad_acc = (grad_normal - grad_normal.mean(axis=0)
                            - normal * np.mean(grad_normal * normal, axis=0)) / std
                w_grads[index] = grad_acc.T @ layer_inputs[index]
                grad = grad_acc @ weights[index]
            adam.step(w_grads + g_grads + b_grads + [grad_log_scale],
                      _cosine(epoch, config.binary_epochs))
            for w in latent:
                np.clip(w, -1, 1, out=w)
    # Population statistics with the final binary weights, layer after layer.
    bn = []
    x = x_all
    for index in range(hidden):
        acc = x @ _sign(latent[index]).T
        mean, var = acc.mean(axis=0), acc.var(axis=0)
        bn.append((mean, var, gammas[index].copy(), betas[index].copy()))
        x = np.where(_batchnorm_sign(acc, *bn[-1]), 1.0, -1.0)
    return BinaryMLP(latent, bn, float(np.exp(log_scale[0])), tuple(config.thermometer))


# ---------------------------------------------------------------------------------------------
# All three, with save / load


@dataclass
class TrainedNetworks:
    """The float, int8 and binary networks of one training run."""
    config: TrainingConfig
    float_net: FloatMLP
    int8_net: Int8MLP
    binary_net: BinaryMLP
    binary_integer: BinaryIntegerMLP = field(init=False)

    def __post_init__(self):
        self.binary_integer = self.binary_net.to_integer()

    def save(self, path):
        """Write every parameter to one ``.npz`` (no pickles)."""
        arrays = {"config": np.array(json.dumps(self.config.as_dict())),
                  "format": np.array(FORMAT_VERSION)}
        for index, (w, b) in enumerate(zip(self.float_net.weights, self.float_net.biases)):
            arrays[f"float_w{index}"], arrays[f"float_b{index}"] = w, b
        for index, layer in enumerate(self.int8_net.layers):
            for name in ("weight", "bias", "multiplier", "shift", "zero_point", "out_min",
                         "input_scale", "weight_scale", "output_scale"):
                arrays[f"int8_{index}_{name}"] = np.asarray(getattr(layer, name))
        for index, w in enumerate(self.binary_net.latent):
            arrays[f"binary_w{index}"] = w
        for index, stats in enumerate(self.binary_net.bn):
            arrays[f"binary_bn{index}"] = np.stack(stats)
        arrays["binary_output_scale"] = np.array(self.binary_net.output_scale)
        arrays["binary_thermometer"] = np.array(self.binary_net.thermometer)
        with open(path, "wb") as file:
            np.savez(file, **arrays)

    @classmethod
    def load(cls, path):
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: network format {data['format']}, expected "
                                 f"{FORMAT_VERSION}")
            config = TrainingConfig(**json.loads(str(data["config"])))
            layers = len(config.sizes) - 1
            float_net = FloatMLP([data[f"float_w{i}"] for i in range(layers)],
                                 [data[f"float_b{i}"] for i in range(layers)])
            int8_layers = []
            for i in range(layers):
                get = lambda name: data[f"int8_{i}_{name}"]  # noqa: E731
                int8_layers.append(Int8Layer(
                    get("weight"), get("bias"), get("multiplier"), get("shift"),
                    int(get("zero_point")), int(get("out_min")), float(get("input_scale")),
                    get("weight_scale"), float(get("output_scale"))))
            binary_net = BinaryMLP([data[f"binary_w{i}"] for i in range(layers)],
                                   [tuple(data[f"binary_bn{i}"]) for i in range(layers - 1)],
                                   float(data["binary_output_scale"]),
                                   tuple(int(t) for t in data["binary_thermometer"]))
        return cls(config, float_net, Int8MLP(int8_layers), binary_net)


def train_all(pixels, labels, config=TrainingConfig()):
    """Train the float network, quantize it to int8, train the binary network."""
    float_net = train_float(pixels, labels, config)
    int8_net = quantize_int8(float_net, pixels)
    binary_net = train_binary(pixels, labels, config)
    return TrainedNetworks(config, float_net, int8_net, binary_net)
