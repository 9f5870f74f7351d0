"""cocotb bench: BinaryMVU (acc and threshold modes) against ``golden.binary_gemm`` and
``golden.threshold_activate``.

Two phases, each a full weight load (and threshold load) then random ±1 vectors, the second
with new weights; vectors include all -1, all +1 and the weights' own rows and their
negations (the accumulator extremes ±n_in). Thresholds come from ``golden.fold_batchnorm``
with random batchnorm statistics (negative gammas give inverted comparisons), except for
neurons set to the exact accumulator value of a vector (ties). Every output beat is checked in
order; reported MACs are ``pe * n_in`` per output beat (``n_in * n_out`` per vector).

Config: ``n_in``, ``n_out``, ``pe``, ``simd``, ``mode``, ``vectors`` (per phase), ``seed``,
``stall``, ``reset_at_vector`` (optional).
"""

import cocotb
import numpy as np

from bitmac import golden

from .harness import codec_for, load_config
from .mvu import MvuPhase, bits_to_words, fold_beats, run_mvu

__all__ = ["binary_mvu_bench", "binary_phase"]


def _random_pm1(rng, rows, n):
    return np.where(rng.random((rows, n)) < rng.random((rows, 1)), 1, -1).astype(np.int8)


def binary_phase(rng, config, codecs):
    """Weights, thresholds, vectors and golden results of one phase."""
    n_in, n_out, pe, simd = (config[key] for key in ("n_in", "n_out", "pe", "simd"))
    count = config["vectors"]
    weights = _random_pm1(rng, n_out, n_in)
    vectors = _random_pm1(rng, count, n_in)
    # Padding lanes are sent as 1 in both streams (XNOR 1: counted unless the unit ignores
    # them, as it must).
    # Corners: all -1, all +1, a weight row and its negation (acc = +n_in and -n_in).
    corners = [np.full(n_in, -1), np.full(n_in, 1), weights[0], -weights[0]]
    for row, corner in enumerate(corners[:count]):
        vectors[row] = corner
    acc = golden.binary_gemm(golden.pack_bits(vectors), golden.pack_bits(weights), n_in)

    weight_beats = [word for row in bits_to_words(fold_beats(weights > 0, simd, 1))
                    for word in row]
    vector_beats = bits_to_words(fold_beats(vectors > 0, simd, 1))
    param_beats = None
    if config["mode"] == "acc":
        results = acc
        expected = [[results[m, f * pe:(f + 1) * pe].tolist() for f in range(n_out // pe)]
                    for m in range(count)]
    else:
        mean = rng.normal(0, np.sqrt(n_in), n_out)
        var = rng.uniform(0.5, 4.0, n_out) * n_in
        gamma = rng.normal(0, 1, n_out)
        beta = rng.normal(0, 1, n_out)
        thresholds, invert = golden.fold_batchnorm(mean, var, gamma, beta, k=n_in)
        # Ties: some neurons compare against exactly the value a vector produces.
        tie_neurons = rng.random(n_out) < 0.25
        thresholds = np.where(tie_neurons, acc[rng.integers(count), :], thresholds)
        bits = golden.threshold_activate(acc, thresholds, invert)
        results = bits
        expected = [[int(bits_to_words(bits[m, f * pe:(f + 1) * pe]))
                     for f in range(n_out // pe)] for m in range(count)]
        param_beats = [codecs["t_stream"].encode({"threshold": int(thresholds[n]),
                                                  "invert": int(invert[n])})
                       for n in range(n_out)]
    return MvuPhase(weight_beats=weight_beats, param_beats=param_beats,
                    vector_beats=vector_beats, expected=expected)


@cocotb.test()
async def binary_mvu_bench(dut):
    config = load_config()
    rng = np.random.default_rng(config.get("seed", 0))
    threshold = config["mode"] == "threshold"
    codecs = {"t_stream": codec_for(config, "t_stream__payload")} if threshold else {}
    phases = [binary_phase(rng, config, codecs) for _ in range(config.get("phases", 2))]
    n_in, n_out, pe, simd = (config[key] for key in ("n_in", "n_out", "pe", "simd"))
    await run_mvu(dut, config, f"binary_mvu[{config['mode']}]", phases,
                  param_port="t_stream" if threshold else None, pe=pe, n_in=n_in,
                  neuron_folds=n_out // pe, synapse_folds=-(-n_in // simd),
                  reset_at_vector=config.get("reset_at_vector"), log=dut._log)
