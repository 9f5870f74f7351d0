"""cocotb bench: one layer of a trained network on a BinaryMVU or Int8MVU.

Unlike the unit benches, which draw random weights, this bench plays data prepared by
:mod:`bitmac.sim.network_rtl`: the layer's real weights (and thresholds or requantization
parameters), the layer's input vectors for the images under test, and the golden outputs.
Beats arrive decoded (ints for ``unsigned(n)`` payloads, lists for arrays, dicts for structs)
and are encoded here with the port map, so the Python side needs no knowledge of bit offsets.

Config: ``layer`` (name for the report), ``pe``, ``n_in``, ``neuron_folds``,
``synapse_folds``, ``param_port`` (or null), ``weight_beats``, ``param_beats``,
``vector_beats`` (per vector, its ``SF`` beats), ``expected`` (per vector, its ``NF`` beats),
``stall``, ``seed``.
"""

import cocotb

from .harness import codec_for, load_config
from .mvu import MvuPhase, run_mvu

__all__ = ["network_layer_bench"]


@cocotb.test()
async def network_layer_bench(dut):
    config = load_config()
    param_port = config.get("param_port")
    weights = codec_for(config, "w_stream__payload")
    inputs = codec_for(config, "i_stream__payload")
    params = codec_for(config, f"{param_port}__payload") if param_port else None
    phase = MvuPhase(
        weight_beats=[weights.encode(beat) for beat in config["weight_beats"]],
        param_beats=[params.encode(beat) for beat in config["param_beats"]] if params else None,
        vector_beats=[[inputs.encode(beat) for beat in vector]
                      for vector in config["vector_beats"]],
        expected=config["expected"])
    await run_mvu(dut, config, f"network {config['layer']}", [phase], param_port=param_port,
                  pe=config["pe"], n_in=config["n_in"], neuron_folds=config["neuron_folds"],
                  synapse_folds=config["synapse_folds"], log=dut._log)
