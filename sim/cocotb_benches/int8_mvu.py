"""cocotb bench: Int8MVU (acc and requant modes) against ``golden.int8_gemm`` and
``golden.int8_dense``.

Two phases, each a full weight load (and requantization-parameter load) then random int8
vectors, the second with new weights; the first vectors are the extremes (all -128 against
the weights, all 127, all 0) and the weights come with rows of all -128 so that -128 x -128
products reach the accumulator's largest sums. Requantization parameters per neuron: random
bias, Q31 multiplier from ``golden.quantize_multiplier`` of a random scale, shift, zero point
and ``out_min`` (some neurons with a fused ReLU, ``out_min = zero_point``). Every output beat
is checked in order; reported MACs are ``pe * n_in`` per output beat.

Config: ``n_in``, ``n_out``, ``pe``, ``simd``, ``mode``, ``vectors`` (per phase), ``seed``,
``stall``, ``reset_at_vector`` (optional).
"""

import cocotb
import numpy as np

from bitmac import golden

from .harness import codec_for, load_config
from .mvu import MvuPhase, fold_beats, run_mvu

__all__ = ["int8_mvu_bench", "int8_phase"]


def _array_beats(chunks, codec):
    # (rows, SF, simd) int8 -> per row, SF encoded array payloads.
    return [[codec.encode(chunk.tolist()) for chunk in row] for row in chunks]


def int8_phase(rng, config, codecs, *, array_codec=None):
    """Weights, parameters, vectors and golden results of one phase."""
    from .harness import PayloadCodec
    n_in, n_out, pe, simd = (config[key] for key in ("n_in", "n_out", "pe", "simd"))
    count = config["vectors"]
    codec = array_codec or PayloadCodec([{"name": f"[{lane}]", "offset": 8 * lane, "width": 8,
                                          "signed": True} for lane in range(simd)])
    weights = rng.integers(-128, 128, (n_out, n_in), dtype=np.int8)
    weights[rng.random(n_out) < 0.2] = -128
    vectors = rng.integers(-128, 128, (count, n_in), dtype=np.int8)
    for row, value in enumerate((-128, 127, 0)[:count]):
        vectors[row] = value
    nf = n_out // pe
    weight_beats = [beat for row in _array_beats(fold_beats(weights, simd, 0), codec)
                    for beat in row]
    vector_beats = _array_beats(fold_beats(vectors, simd, 0), codec)
    param_beats = None
    if config["mode"] == "acc":
        results = golden.int8_gemm(vectors, weights)
    else:
        bias = rng.integers(-(1 << 16), 1 << 16, n_out)
        scales = rng.uniform(1e-5, 0.05, n_out)
        multiplier, shift = golden.quantize_multiplier(scales)
        zero_point = rng.integers(-128, 128, n_out)
        relu = rng.random(n_out) < 0.3
        out_min = np.where(relu, zero_point, -128)
        # int8_dense takes one out_min; per-neuron out_min is the clamp applied per column.
        results = np.stack([golden.int8_dense(vectors, weights[n:n + 1], bias[n:n + 1],
                                              multiplier[n:n + 1], shift[n:n + 1],
                                              zero_point[n:n + 1], int(out_min[n]))[:, 0]
                            for n in range(n_out)], axis=1)
        param_beats = [codecs["q_stream"].encode({
            "bias": int(bias[n]), "multiplier": int(multiplier[n]), "shift": int(shift[n]),
            "zero_point": int(zero_point[n]), "out_min": int(out_min[n])})
            for n in range(n_out)]
    expected = [[results[m, f * pe:(f + 1) * pe].tolist() for f in range(nf)]
                for m in range(count)]
    return MvuPhase(weight_beats=weight_beats, param_beats=param_beats,
                    vector_beats=vector_beats, expected=expected)


@cocotb.test()
async def int8_mvu_bench(dut):
    config = load_config()
    rng = np.random.default_rng(config.get("seed", 0))
    requant = config["mode"] == "requant"
    codecs = {"q_stream": codec_for(config, "q_stream__payload")} if requant else {}
    array_codec = codec_for(config, "i_stream__payload")
    phases = [int8_phase(rng, config, codecs, array_codec=array_codec)
              for _ in range(config.get("phases", 2))]
    n_in, n_out, pe, simd = (config[key] for key in ("n_in", "n_out", "pe", "simd"))
    await run_mvu(dut, config, f"int8_mvu[{config['mode']}]", phases,
                  param_port="q_stream" if requant else None, pe=pe, n_in=n_in,
                  neuron_folds=n_out // pe, synapse_folds=-(-n_in // simd),
                  reset_at_vector=config.get("reset_at_vector"), log=dut._log)
