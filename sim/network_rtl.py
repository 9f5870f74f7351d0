"""Run the trained int8 and binary digit networks layer by layer through the RTL units.

Each layer of :mod:`bitmac.golden.network` maps onto one matrix-vector unit:

=========  ==================================  =========================================
network    hidden layers                       output layer
=========  ==================================  =========================================
binary     ``BinaryMVU(mode="threshold")``     ``BinaryMVU(mode="acc")``, argmax on host
int8       ``Int8MVU(mode="requant")``         ``Int8MVU(mode="requant")`` (int8 logits)
=========  ==================================  =========================================

The unit's generated Verilog runs under Verilator through the cocotb runner
(:func:`bitmac.sim.cocotb_runner.run_bench`, bench ``network_layer``): the layer's weights
(and thresholds / requantization parameters) are loaded through its streams, then the input
vectors of every image, while the scoreboard checks every output beat against the golden
inference. Layers are chained: the input of layer ``l + 1`` is the output of layer ``l`` as the
RTL produced it, which the scoreboard has just found equal to the golden output; a layer with
a mismatch stops the run. The predictions are then taken from the last layer's RTL outputs.

The folding of each layer (``pe``, ``simd``) is that of the board design
(:data:`DEFAULT_FOLDING`, see :mod:`bitmac.boards.compare`): ``pe`` of a layer equals ``simd``
of the next, so the output beats of one unit are the input beats of the next, and every layer
of a network takes about the same number of cycles per image.
"""

import dataclasses
import time

import numpy as np

from ..errors import BitmacError
from ..golden import network as golden_network
from .beats import bits_to_words, fold_beats
from .progress import Progress

__all__ = ["DEFAULT_FOLDING", "LayerRun", "NetworkRun", "RtlMismatch", "build_units",
           "unit_class_for", "requant_mul_cycles", "layer_streams", "run_network", "NETWORKS", "check_folding"]

NETWORKS = ("binary", "int8")

#: ``(pe, simd)`` per layer. Both networks take 1024 cycles per image in their two big layers
#: (int8: 64 x 64 / (2 x 2); binary: 192 x 64 / (2 x 6)), so they are compared at equal
#: throughput in cycles and differ only in what their arithmetic costs. The int8 network has
#: 4 + 4 + 2 = 10 int8 multipliers (the iCEBreaker's UP5K has 8 DSPs); its requantizers are
#: sequential (:func:`requant_mul_cycles`), which the folding leaves time for.
DEFAULT_FOLDING = {
    "binary": ((2, 6), (2, 2), (1, 2)),
    "int8": ((2, 2), (2, 2), (1, 2)),
}


class RtlMismatch(BitmacError):
    """The RTL output of a layer differs from the golden inference."""


def check_folding(kind, folding, sizes):
    """Check a folding against the layer sizes: ``pe`` divides ``n_out``, ``simd <= n_in``,
    and ``pe`` of each layer equals ``simd`` of the next (units connect beat for beat)."""
    if kind not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, not {kind!r}")
    if len(folding) != len(sizes) - 1:
        raise ValueError(f"{kind}: folding has {len(folding)} layers, the network "
                         f"{len(sizes) - 1}")
    for index, ((pe, simd), n_in, n_out) in enumerate(zip(folding, sizes[:-1], sizes[1:])):
        if n_out % pe or not 1 <= simd <= n_in:
            raise ValueError(f"{kind} layer {index}: pe={pe} must divide n_out={n_out} and "
                             f"simd={simd} must be in 1..{n_in}")
        if index and folding[index - 1][0] != simd:
            raise ValueError(f"{kind} layer {index}: simd={simd} must equal pe="
                             f"{folding[index - 1][0]} of the layer before, so the units "
                             f"connect beat for beat")
    return tuple(tuple(map(int, layer)) for layer in folding)


def _sizes(kind, trained):
    layers = (trained.binary_integer.layers if kind == "binary" else trained.int8_net.layers)
    return [layers[0].weight.shape[1]] + [layer.weight.shape[0] for layer in layers]


def build_units(kind, trained, folding=None):
    """The RTL units of a network, one per layer, as the board design instantiates them."""
    folding = check_folding(kind, folding or DEFAULT_FOLDING[kind], _sizes(kind, trained))
    sizes = _sizes(kind, trained)
    unit_class = unit_class_for(kind)
    units = []
    for index, (pe, simd) in enumerate(folding):
        n_in, n_out = sizes[index], sizes[index + 1]
        if kind == "binary":
            last = index == len(folding) - 1
            units.append(unit_class(n_in, n_out, pe, simd, mode="acc" if last else "threshold"))
        else:
            units.append(unit_class(n_in, n_out, pe, simd, mode="requant",
                                    requant_mul_cycles=requant_mul_cycles(pe, simd, n_in)))
    return units


def requant_mul_cycles(pe, simd, n_in):
    """The slowest (smallest) shared requantizer of an Int8MVU that still keeps it at full
    rate: the largest ``mul_cycles`` in 1, 2, 4 .. 32 with ``pe * mul_cycles <= SF``. A
    single-cycle requantizer costs 4 DSPs per unit; a 16- or 32-cycle one is built from LUTs,
    so the DSPs stay with the MAC lanes."""
    folds = -(-n_in // simd)
    allowed = [cycles for cycles in (1, 2, 4, 8, 16, 32) if pe * cycles <= folds]
    return max(allowed) if allowed else 1


def unit_class_for(kind):
    """``BinaryMVU`` or ``Int8MVU``; ``ImportError`` when this version lacks the unit."""
    if kind == "binary":
        from ..hdl.binary_mvu import BinaryMVU
        return BinaryMVU
    from ..hdl.int8_mvu import Int8MVU
    return Int8MVU


def _outputs_to_beats(values, pe, bits):
    # (R, n_out) -> per row NF beats of pe lanes; 1-bit lanes become one int per beat.
    count, n_out = values.shape
    lanes = values.reshape(count, n_out // pe, pe)
    if bits:
        return bits_to_words(lanes)
    return lanes.tolist()


def layer_streams(kind, layer, index, pe, simd, inputs):
    """Decoded stream beats of one layer: loads, the vectors of ``inputs`` and the golden
    outputs, plus the outputs themselves as an array.

    ``inputs`` are ±1 (binary) or int8 (int8) of shape ``(images, n_in)``.
    """
    if kind == "binary":
        outputs = layer.forward(inputs)
        weight_bits = fold_beats((layer.weight > 0).astype(np.int64), simd, 0)
        streams = {
            "weight_beats": [word for row in bits_to_words(weight_bits) for word in row],
            "vector_beats": bits_to_words(fold_beats((inputs > 0).astype(np.int64), simd, 0)),
        }
        if layer.thresholds is None:
            streams.update(param_port=None, param_beats=None,
                           expected=_outputs_to_beats(outputs, pe, bits=False))
        else:
            streams.update(
                param_port="t_stream",
                param_beats=[{"threshold": int(t), "invert": int(i)}
                             for t, i in zip(layer.thresholds, layer.invert)],
                expected=_outputs_to_beats((outputs > 0).astype(np.int64), pe, bits=True))
    else:
        outputs = layer.forward(inputs)
        streams = {
            "weight_beats": fold_beats(layer.weight.astype(np.int64), simd, 0)
            .reshape(-1, simd).tolist(),
            "vector_beats": fold_beats(inputs.astype(np.int64), simd, 0).tolist(),
            "param_port": "q_stream",
            "param_beats": [{"bias": int(b), "multiplier": int(m), "shift": int(s),
                             "zero_point": int(layer.zero_point), "out_min": int(layer.out_min)}
                            for b, m, s in zip(layer.bias, layer.multiplier, layer.shift)],
            "expected": _outputs_to_beats(outputs.astype(np.int64), pe, bits=False),
        }
    n_out, n_in = layer.weight.shape
    streams.update(layer=f"{kind} layer {index}", pe=pe, n_in=n_in,
                   neuron_folds=n_out // pe, synapse_folds=-(-n_in // simd))
    return streams, outputs


@dataclasses.dataclass
class LayerRun:
    """What the RTL run of one layer reported."""
    name: str
    n_in: int
    n_out: int
    pe: int
    simd: int
    neuron_folds: int
    synapse_folds: int
    vectors: int
    macs: int
    cycles: int
    cycles_per_vector: int
    latency: int
    mismatches: int
    seconds: float

    def as_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class NetworkRun:
    """The RTL run of a whole network on some images."""
    kind: str
    layers: list
    predictions: np.ndarray
    golden_predictions: np.ndarray

    @property
    def mismatches(self):
        return sum(layer.mismatches for layer in self.layers)

    @property
    def bit_exact(self):
        return self.mismatches == 0 and np.array_equal(self.predictions, self.golden_predictions)

    @property
    def images(self):
        return len(self.predictions)

    def as_dict(self):
        return {"network": self.kind, "images": self.images, "bit_exact": self.bit_exact,
                "mismatches": self.mismatches, "layers": [l.as_dict() for l in self.layers]}


def _network_layers(kind, trained):
    if kind == "binary":
        net = trained.binary_integer
        return net.layers, net.encode
    net = trained.int8_net
    return net.layers, golden_network.Int8MLP.quantize_input


def run_network(kind, trained, pixels, *, folding=None, simulator="verilator", stall=0.0,
                seed=0, timeout=None, progress=True):
    """Run ``pixels`` through the network's RTL units, layer after layer.

    Parameters
    ----------
    kind : "binary" or "int8"
    trained : bitmac.golden.network.TrainedNetworks
    pixels : array of shape (images, 64), integers 0..16
    folding : sequence of (pe, simd), optional
        :data:`DEFAULT_FOLDING` by default.
    simulator : "verilator" or "icarus"
    stall : float
        Probability of random valid/ready stalls on every stream (0 for full-rate timing).
    timeout : float, optional
        Wall-time limit per layer, in seconds.
    progress : bool
        Show a progress line (one step per layer).

    Returns
    -------
    NetworkRun

    Raises
    ------
    RtlMismatch
        When a layer's RTL output differs from the golden inference (the message shows the
        first differences).
    """
    from .cocotb_runner import run_bench

    units = build_units(kind, trained, folding)
    folding = [(unit.pe, unit.simd) for unit in units]
    layers, encode = _network_layers(kind, trained)
    values = encode(pixels)
    runs = []
    with Progress(f"rtl {kind}", total=len(units), enabled=progress) as bar:
        for index, (unit, layer, (pe, simd)) in enumerate(zip(units, layers, folding)):
            streams, outputs = layer_streams(kind, layer, index, pe, simd, values)
            config = dict(streams, stall=stall, seed=seed + index)
            if timeout:
                config["timeout"] = timeout
            start = time.monotonic()
            result = run_bench(unit, "network_layer", config, simulator=simulator,
                               name=f"{kind}_layer{index}", timeout=timeout)
            report = result.report
            if not result.passed:
                raise RtlMismatch(f"{kind} layer {index} differs from the golden inference:\n"
                                  + result.describe())
            n_out, n_in = layer.weight.shape
            runs.append(LayerRun(
                name=f"{kind} layer {index}", n_in=n_in, n_out=n_out, pe=pe, simd=simd,
                neuron_folds=unit.neuron_folds, synapse_folds=unit.synapse_folds,
                vectors=report["vectors"], macs=report["macs"], cycles=report["cycles"],
                cycles_per_vector=unit.cycles_per_vector, latency=unit.latency,
                mismatches=report["mismatches"], seconds=time.monotonic() - start))
            values = outputs
            bar.advance(note=f"layer {index}: {report['vectors']} vectors, "
                             f"{report['cycles']} cycles, 0 mismatches")
    predictions = np.argmax(values, axis=1)
    net = trained.binary_integer if kind == "binary" else trained.int8_net
    return NetworkRun(kind, runs, predictions, net.predict(pixels))
