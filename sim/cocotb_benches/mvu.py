"""The part of the matrix-vector unit benches shared by the binary and int8 units.

A bench describes its run as a list of :class:`MvuPhase`: a full weight load (and parameter
load), then vectors. :func:`run_mvu` plays the phases in order on the streams of a
``MatrixVectorEngine``-based unit: loads first (the unit accepts them only while it holds no
vector), then the phase's vectors, while the output sink takes results with random
back-pressure and the in-order scoreboard checks every output beat. The second phase's
vectors must use the reloaded weights.

With ``reset_at_vector`` set, ``rst`` is raised in the last phase halfway through that
vector's input beats while results are still in flight: the unit must drop every vector in
flight and keep its weights, so the bench drops what it still expected, sends the vectors
again from the first one whose results had not all arrived, and checks them all again.
"""

import dataclasses

import numpy as np

from ..beats import bits_to_words, fold_beats
from .harness import BenchReport, ClockedLoop, InOrderScoreboard, StreamSink, StreamSource, \
    codec_for

__all__ = ["MvuPhase", "run_mvu", "fold_beats", "bits_to_words"]


@dataclasses.dataclass
class MvuPhase:
    """One load and the vectors computed with it.

    ``weight_beats``/``param_beats``: encoded load beats (``param_beats`` None without a
    parameter stream); ``vector_beats``: per vector, its ``SF`` encoded input beats;
    ``expected``: per vector, its ``NF`` expected decoded output beats.
    """
    weight_beats: list
    param_beats: list | None
    vector_beats: list
    expected: list


async def run_mvu(dut, config, bench, phases, *, param_port=None, pe, n_in,
                  neuron_folds, synapse_folds, reset_at_vector=None, log=None):
    """Run ``phases`` on the unit and write the bench report (see the module docstring)."""
    rng = np.random.default_rng(config.get("seed", 0))
    stall = config.get("stall", 0.25)
    sink_stall = config.get("sink_stall", stall)
    scoreboard = InOrderScoreboard(codec_for(config, "o_stream__payload"))
    weights = StreamSource(dut, "w_stream", rng=rng, stall=stall)
    params = StreamSource(dut, param_port, rng=rng, stall=stall) if param_port else None
    inputs = StreamSource(dut, "i_stream", rng=rng, stall=stall)
    sink = StreamSink(dut, "o_stream", scoreboard.check, rng=rng, stall=sink_stall)
    agents = [agent for agent in (weights, params, inputs, sink) if agent is not None]
    loop = ClockedLoop(dut, agents)
    await loop.start()
    report = BenchReport(bench, config)
    budget = dict(max_cycles=20 * sum(len(phase.vector_beats) for phase in phases)
                  * (neuron_folds * synapse_folds + 4) + 50_000,
                  wall_timeout=config.get("timeout"))

    def loads_done():
        return weights.idle and (params is None or params.idle)

    def queue(phase, first):
        for number in range(first, len(phase.vector_beats)):
            inputs.extend(phase.vector_beats[number])
            for fold, value in enumerate(phase.expected[number]):
                scoreboard.expect(value, f"{bench} vector {report.vectors + number}, neurons "
                                         f"{fold * pe}..{(fold + 1) * pe - 1}",
                                  macs=pe * n_in)

    stopped = None
    for index, phase in enumerate(phases):
        # Results of earlier vectors must have left before new weights go in, or the
        # source would start the load while the unit still holds those vectors.
        stopped = await loop.run(lambda: inputs.idle, **budget)
        weights.extend(phase.weight_beats)
        if params is not None:
            params.extend(phase.param_beats)
        stopped = stopped or await loop.run(loads_done, **budget)
        base_checked, base_sent = scoreboard.checked_beats, inputs.sent
        queue(phase, 0)
        last = index == len(phases) - 1
        if last and reset_at_vector is not None and not stopped \
                and reset_at_vector < len(phase.vector_beats):
            target = inputs.sent + reset_at_vector * synapse_folds + synapse_folds // 2 + 1
            stopped = await loop.run(lambda: inputs.sent >= target, **budget)
            await loop.reset()
            complete = (scoreboard.checked_beats - base_checked) // neuron_folds
            dropped = scoreboard.flush()
            inputs.beats.clear()
            report.extra["reset"] = {
                "at_input_beat": target, "vectors_completed": complete,
                "input_beats_in_flight": inputs.sent - base_sent - complete * synapse_folds,
                "expected_beats_dropped": dropped}
            queue(phase, complete)
        stopped = stopped or await loop.run(lambda: inputs.idle, **budget)
        report.vectors += len(phase.vector_beats)
        if stopped:
            break
    if not stopped:
        stopped = await loop.run(lambda: scoreboard.done, **budget)
    report.cycles = loop.cycles
    report.extra.update(neuron_folds=neuron_folds, synapse_folds=synapse_folds,
                        weight_loads=len(phases))
    return report.write([scoreboard], stopped=stopped, log=log)

