"""Random regression of a matrix-vector unit on the Amaranth simulator, Verilator or Icarus.

The same stimulus (``binary_phase`` / ``int8_phase`` of the cocotb benches: weight loads,
parameter loads, random and corner-case vectors, golden results) is run either

- in Amaranth's own simulator, with the :mod:`bitmac.sim.streams` drivers (random stalls on
  every stream) and the benches' in-order scoreboard, or
- on the generated Verilog with cocotb (Verilator or Icarus) through
  :func:`bitmac.sim.cocotb_runner.run_bench`,

in batches so a progress bar can follow. :func:`regress` returns a :class:`RegressionResult`
whose :meth:`~RegressionResult.summary` is the one-line summary of ``bitmac sim``.
"""

import dataclasses
import time
import types

import numpy as np

from .progress import Progress
from .verilog import make_design, port_map

__all__ = ["RegressionResult", "regress", "SIMULATORS", "DESIGN_BENCHES"]

SIMULATORS = ("amaranth", "verilator", "icarus")
#: Design name -> (bench module, parameter stream, modes).
DESIGN_BENCHES = {"binary": ("binary_mvu", "t_stream", ("acc", "threshold")),
                  "int8": ("int8_mvu", "q_stream", ("acc", "requant"))}


@dataclasses.dataclass
class RegressionResult:
    design: str
    mode: str
    simulator: str
    vectors: int = 0
    macs: int = 0
    cycles: int = 0
    seconds: float = 0.0
    mismatches: int = 0
    details: list = dataclasses.field(default_factory=list)
    waves: str | None = None

    @property
    def cycles_per_second(self):
        return self.cycles / self.seconds if self.seconds else 0.0

    @property
    def macs_per_second(self):
        return self.macs / self.seconds if self.seconds else 0.0

    def summary(self):
        return (f"{self.design} {self.mode} on {self.simulator}: {self.vectors} vectors, "
                f"{self.macs:,} MACs checked, {self.cycles:,} cycles, "
                f"{self.cycles_per_second:,.0f} cycles/s, {self.mismatches} mismatches")


def _phase_maker(design):
    if design == "binary":
        from .cocotb_benches.binary_mvu import binary_phase
        return binary_phase
    from .cocotb_benches.int8_mvu import int8_phase
    return int8_phase


def _param_codecs(design, ports):
    from .cocotb_benches.harness import codec_for
    param_port = DESIGN_BENCHES[design][1]
    config = {"ports": ports}
    try:
        return {param_port: codec_for(config, f"{param_port}__payload")}
    except KeyError:
        return {}


def _raw(stream):
    # The stream helpers set and read the payload as one integer (the encoded beat).
    payload = stream.payload
    return types.SimpleNamespace(valid=stream.valid, ready=stream.ready,
                                 payload=payload.as_value() if hasattr(payload, "as_value")
                                 else payload)


def run_amaranth(component, config, *, waves=None):
    """Run one batch of ``config`` in Amaranth's simulator; returns the bench-style report."""
    from amaranth.hdl import Module, Signal
    from amaranth.sim import Simulator

    from .cocotb_benches.harness import InOrderScoreboard, codec_for
    from .streams import StreamDriver, StreamReceiver

    design = config["design"]
    ports = port_map(component)
    config = dict(config, ports=ports)
    rng = np.random.default_rng(config["seed"])
    phases = [_phase_maker(design)(rng, config, _param_codecs(design, ports))
              for _ in range(config.get("phases", 2))]
    pe, n_in = config["pe"], config["n_in"]
    scoreboard = InOrderScoreboard(codec_for(config, "o_stream__payload"))
    param_port = DESIGN_BENCHES[design][1] if phases[0].param_beats is not None else None
    stall = config.get("stall", 0.25)
    counted = 0
    for phase in phases:
        for number, beats in enumerate(phase.expected):
            for fold, value in enumerate(beats):
                scoreboard.expect(value, f"vector {counted + number}, neurons "
                                         f"{fold * pe}..{(fold + 1) * pe - 1}", macs=pe * n_in)
        counted += len(phase.expected)

    top = Module()
    top.submodules.dut = component
    cycles = Signal(32)
    top.d.sync += cycles.eq(cycles + 1)
    total_beats = len(scoreboard.expected)
    stream_rng = np.random.default_rng(config["seed"] + 1)
    received = []

    async def source(ctx):
        # Timing starts here, after the simulator has compiled the design.
        result["start"] = time.monotonic()
        inputs = StreamDriver(_raw(component.i_stream), rng=stream_rng, stall=stall)
        weights = StreamDriver(_raw(component.w_stream), rng=stream_rng, stall=stall)
        params = (StreamDriver(_raw(getattr(component, param_port)), rng=stream_rng,
                               stall=stall) if param_port else None)
        for phase in phases:
            # Wait until the unit has no vector before a reload (it would hold the load off).
            while len(received) < inputs.sent // len(phase.vector_beats[0]) \
                    * len(phase.expected[0]):
                await ctx.tick()
            await weights.send(ctx, phase.weight_beats)
            if params is not None:
                await params.send(ctx, phase.param_beats)
            await inputs.send(ctx, [beat for vector in phase.vector_beats for beat in vector])

    async def sink(ctx):
        receiver = StreamReceiver(_raw(component.o_stream), rng=stream_rng, stall=stall)
        for _ in range(total_beats):
            word, = await receiver.receive(ctx, 1)
            received.append(word)
            scoreboard.check(word)
        result["cycles"] = ctx.get(cycles)
        result["end"] = time.monotonic()

    result = {}
    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    # A hung unit must not hang the regression: stop at a generous cycle budget.
    budget = 20 * total_beats * (component.cycles_per_vector + 8) + 20_000
    start = time.monotonic()

    def advance():
        # sim.advance() is one time step; a clock cycle takes a few.
        for _ in range(4 * budget):
            if not sim.advance():
                return

    if waves:
        with sim.write_vcd(str(waves)):
            advance()
    else:
        advance()
    seconds = result.get("end", time.monotonic()) - result.get("start", start)
    if scoreboard.expected:
        scoreboard.details.append(f"stopped after {budget} cycles (hang): "
                                  f"{len(scoreboard.expected)} expected beats never arrived")
        result.setdefault("cycles", budget)
    return {"vectors": counted, "macs": scoreboard.macs, "cycles": result.get("cycles", 0),
            "seconds": seconds, "mismatches": scoreboard.mismatches + len(scoreboard.expected),
            "details": scoreboard.details, "finished": not scoreboard.expected}


def regress(design, *, simulator="verilator", n_in=None, n_out=None, pe=None, simd=None,
            mode=None, packed=False, vectors=200, seed=0, stall=0.25, waves=None,
            batches=None, progress=True):
    """Random regression of ``design`` (``"binary"`` or ``"int8"``).

    ``packed`` (int8): two products per DSP block. Verilator and Icarus then run the
    ``SB_MAC16`` instances with Yosys's simulation model; the Amaranth simulator runs
    :class:`~bitmac.hdl.dsp.DualInt8Product`'s behavioural model.

    ``vectors`` are split into batches (each: a weight load, ``vectors/batch/2`` vectors, a
    reload, as many again), one simulator run each, with the progress bar advancing per batch.
    With ``waves`` a single batch is run and its waveform written (FST or VCD with cocotb, VCD
    with the Amaranth simulator).
    """
    if design not in DESIGN_BENCHES:
        raise ValueError(f"design must be one of {', '.join(DESIGN_BENCHES)}, not {design!r}")
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator must be one of {', '.join(SIMULATORS)}, not {simulator!r}")
    bench, _, modes = DESIGN_BENCHES[design]
    mode = mode or modes[0]
    if mode not in modes:
        raise ValueError(f"{design} mode must be one of {', '.join(modes)}, not {mode!r}")
    if not isinstance(vectors, int) or vectors < 2:
        raise ValueError(f"vectors must be an integer >= 2, not {vectors!r}")
    defaults = {"binary": (256, 64, 8, 64), "int8": (64, 32, 4, 8)}[design]
    n_in, n_out, pe, simd = (value if value is not None else default for value, default
                             in zip((n_in, n_out, pe, simd), defaults))
    if simulator != "amaranth":
        from .cocotb_runner import check_simulator, check_waves
        check_simulator(simulator)
        check_waves(simulator, waves)
    if waves is not None and simulator == "amaranth" and not str(waves).endswith(".vcd"):
        raise ValueError("the Amaranth simulator writes VCD waveforms; give a .vcd file")
    if packed and design != "int8":
        raise ValueError(f"packed applies to the int8 design, not {design}")
    unit_options = {}
    extra_verilog = None
    if packed:
        unit_options = {"packed": True,
                        "dsp_implementation": "model" if simulator == "amaranth" else "sb_mac16"}
        if simulator != "amaranth":
            from .primitives import primitive_model
            extra_verilog = primitive_model("ice40", "SB_MAC16")
    component = make_design(design, n_in=n_in, n_out=n_out, pe=pe, simd=simd, mode=mode,
                            **unit_options)
    batches = 1 if waves is not None else (batches or max(1, min(10, vectors // 20)))
    per_batch = [vectors // batches + (1 if index < vectors % batches else 0)
                 for index in range(batches)]
    result = RegressionResult(design, mode + (" packed" if packed else ""), simulator,
                              waves=str(waves) if waves else None)
    with Progress(f"{design} {mode}{' packed' if packed else ''} {simulator}", total=vectors, enabled=progress) as bar:
        for index, count in enumerate(per_batch):
            config = {"design": design, "n_in": n_in, "n_out": n_out, "pe": pe, "simd": simd,
                      "mode": mode, "seed": seed * 1000 + index, "stall": stall,
                      "phases": 2, "vectors": max(1, count // 2)}
            if simulator == "amaranth":
                if index:
                    component = make_design(design, n_in=n_in, n_out=n_out, pe=pe,
                                            simd=simd, mode=mode, **unit_options)
                report = run_amaranth(component, config, waves=waves)
            else:
                from .cocotb_runner import run_bench
                report = run_bench(component, bench, config, simulator=simulator,
                                   waves=waves, extra_verilog=extra_verilog).report
                if not report.get("finished") and not report.get("mismatches"):
                    report["mismatches"] = 1
            result.vectors += report.get("vectors", 0)
            result.macs += report.get("macs", 0)
            result.cycles += report.get("cycles", 0)
            result.seconds += report.get("seconds", 0.0)
            result.mismatches += report.get("mismatches", 0)
            result.details += report.get("details", [])
            bar.advance(count, note=f"{result.mismatches} mismatches")
    return result
