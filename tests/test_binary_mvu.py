"""BinaryMVU in the Amaranth simulator, bit-exact against bitmac.golden.

Each test runs a *schedule* (weight loads, threshold loads and batches of vectors, in the order
a host would send them) through one source testbench while a sink testbench collects
``o_stream``; the expected beats come from ``golden.binary_gemm`` / ``threshold_activate``.
"""

import numpy as np
import pytest
from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from hypothesis import given, settings, strategies as st

from bitmac import golden
from bitmac.hdl.binary_mvu import BinaryMVU
from bitmac.hdl.mvu import MatrixVectorEngine, lane_signature
from bitmac.sim import mvu_testbench
from bitmac.sim.mvu_testbench import make_sim, run_bounded
from bitmac.sim.streams import StreamDriver, StreamReceiver


# ---- beat encoders (the stream formats of README "BinaryMVU ports") ----

def _chunks(bits, simd, rng):
    """Beats of one bit row: element j at bit j % simd of beat j // simd. Padding bits of the
    last beat are random (when ``rng`` is given) because the hardware must ignore them."""
    n = len(bits)
    folds = -(-n // simd)
    padded = np.zeros(folds * simd, dtype=np.int64)
    padded[:n] = bits
    if rng is not None:
        padded[n:] = rng.integers(0, 2, folds * simd - n)
    weights = 1 << np.arange(simd, dtype=object)
    return [int(np.dot(padded[s * simd:(s + 1) * simd].astype(object), weights))
            for s in range(folds)]


def vector_beats(X, simd, rng=None):
    return [beat for row in X for beat in _chunks(row, simd, rng)]


def weight_beats(W, simd, rng=None):
    return [beat for row in W for beat in _chunks(row, simd, rng)]


def threshold_beats(thresholds, invert):
    return [{"threshold": int(t), "invert": int(i)} for t, i in zip(thresholds, invert)]


def golden_acc(X, W):
    n_in = X.shape[1]
    return golden.binary_gemm(golden.pack_bits(2 * X - 1), golden.pack_bits(2 * W - 1), n_in)


def expected_beats(dut, X, W, thresholds=None, invert=None):
    """o_stream beats for the vectors X: per vector NF beats, neuron f*pe + p in lane p."""
    acc = golden_acc(X, W)
    pe = dut.pe
    beats = []
    if dut.mode == "acc":
        for row in acc:
            beats += [list(row[f * pe:(f + 1) * pe]) for f in range(dut.neuron_folds)]
    else:
        bits = golden.threshold_activate(acc, thresholds, invert)
        for row in bits:
            beats += [int(np.dot(row[f * pe:(f + 1) * pe].astype(object),
                                 1 << np.arange(pe, dtype=object)))
                      for f in range(dut.neuron_folds)]
    return beats


def decode(dut, payload):
    if dut.mode == "acc":
        return [int(payload[p]) for p in range(dut.pe)]
    return int(payload)


def random_thresholds(rng, n_in, n_out):
    thresholds = rng.integers(-n_in, n_in + 1, n_out)
    return thresholds, rng.integers(0, 2, n_out)


# ---- simulation driver ----

def run_schedule(dut, schedule, *, seed=0, stall=0.0, out_stall=None):
    """Send ``schedule`` (a list of ("weights", W) / ("thresholds", (T, invert)) /
    ("vectors", X)) in order and check every output beat against golden. Returns the beats."""
    rng = np.random.default_rng(seed)
    expected, encoded = [], []
    W = thresholds = invert = None
    for kind, value in schedule:
        if kind == "weights":
            W = value
            encoded.append((dut.w_stream, weight_beats(value, dut.simd, rng)))
        elif kind == "thresholds":
            thresholds, invert = value
            encoded.append((dut.t_stream, threshold_beats(*value)))
        else:
            expected += expected_beats(dut, value, W, thresholds, invert)
            encoded.append((dut.i_stream, vector_beats(value, dut.simd, rng)))
    return mvu_testbench.run_schedule(dut, encoded, expected, decode, rng=rng, stall=stall,
                                      out_stall=out_stall)


def random_bits(rng, *shape):
    return rng.integers(0, 2, shape)


# ---- tests ----

CONFIGS = [
    # (n_in, n_out, pe, simd)
    (16, 8, 2, 4),      # multiples everywhere
    (13, 6, 3, 4),      # n_in not a multiple of simd
    (7, 4, 2, 1),       # simd = 1
    (9, 3, 1, 9),       # one synapse fold, one PE
    (40, 8, 8, 16),     # all neurons in one fold, padded last chunk
]


@pytest.mark.parametrize("mode", ["acc", "threshold"])
@pytest.mark.parametrize("n_in,n_out,pe,simd", CONFIGS)
def test_random_with_stalls(n_in, n_out, pe, simd, mode):
    rng = np.random.default_rng(n_in * 1000 + n_out * 10 + pe + simd)
    dut = BinaryMVU(n_in, n_out, pe, simd, mode)
    schedule = [("weights", random_bits(rng, n_out, n_in))]
    if mode == "threshold":
        schedule.append(("thresholds", random_thresholds(rng, n_in, n_out)))
    schedule.append(("vectors", random_bits(rng, 6, n_in)))
    run_schedule(dut, schedule, seed=n_in + simd, stall=0.4)


@pytest.mark.parametrize("mode", ["acc", "threshold"])
def test_extremes(mode):
    """All-ones and all-zeros vectors and weights reach +n_in and -n_in; thresholds at the ends
    of the accumulator range."""
    n_in, n_out, pe, simd = 11, 4, 2, 4
    dut = BinaryMVU(n_in, n_out, pe, simd, mode)
    W = np.array([[1] * n_in, [0] * n_in, [1, 0] * 5 + [1], [0, 1] * 5 + [0]])
    X = np.array([[1] * n_in, [0] * n_in, [1, 0] * 5 + [1]])
    schedule = [("weights", W)]
    if mode == "threshold":
        schedule.append(("thresholds", (np.array([n_in, -n_in, n_in, 0]), np.array([0, 1, 1, 0]))))
    schedule.append(("vectors", X))
    run_schedule(dut, schedule, stall=0.3)
    acc = golden_acc(X, W)
    assert acc.max() == n_in and acc.min() == -n_in


def test_back_to_back_and_reload():
    """Many vectors, a weight and threshold reload between two batches, stalls everywhere."""
    rng = np.random.default_rng(7)
    n_in, n_out, pe, simd = 10, 6, 2, 3
    dut = BinaryMVU(n_in, n_out, pe, simd, "threshold")
    schedule = [
        ("weights", random_bits(rng, n_out, n_in)),
        ("thresholds", random_thresholds(rng, n_in, n_out)),
        ("vectors", random_bits(rng, 12, n_in)),
        ("weights", random_bits(rng, n_out, n_in)),
        ("vectors", random_bits(rng, 5, n_in)),
        ("thresholds", random_thresholds(rng, n_in, n_out)),
        ("vectors", random_bits(rng, 5, n_in)),
    ]
    run_schedule(dut, schedule, seed=3, stall=0.3)


def test_reload_acc_mode_without_stalls():
    rng = np.random.default_rng(8)
    n_in, n_out, pe, simd = 8, 4, 4, 8
    dut = BinaryMVU(n_in, n_out, pe, simd, "acc")
    schedule = [("weights", random_bits(rng, n_out, n_in)), ("vectors", random_bits(rng, 4, n_in)),
                ("weights", random_bits(rng, n_out, n_in)), ("vectors", random_bits(rng, 4, n_in))]
    run_schedule(dut, schedule)


def test_output_backpressure_only():
    """A slow sink (ready low most of the time) with fast sources: nothing lost or duplicated."""
    rng = np.random.default_rng(9)
    n_in, n_out, pe, simd = 12, 8, 2, 4
    dut = BinaryMVU(n_in, n_out, pe, simd, "acc", stage_levels=1)
    schedule = [("weights", random_bits(rng, n_out, n_in)), ("vectors", random_bits(rng, 8, n_in))]
    run_schedule(dut, schedule, stall=0.0, out_stall=0.8)


@settings(max_examples=6, deadline=None)
@given(n_in=st.integers(1, 20), neuron_folds=st.integers(1, 3), pe=st.integers(1, 3),
       simd_fraction=st.floats(0, 1), mode=st.sampled_from(["acc", "threshold"]),
       stage_levels=st.sampled_from([None, 1, 2, 3]), seed=st.integers(0, 2**16))
def test_property(n_in, neuron_folds, pe, simd_fraction, mode, stage_levels, seed):
    simd = 1 + int(simd_fraction * (n_in - 1))
    n_out = neuron_folds * pe
    rng = np.random.default_rng(seed)
    dut = BinaryMVU(n_in, n_out, pe, simd, mode, stage_levels=stage_levels)
    schedule = [("weights", random_bits(rng, n_out, n_in))]
    if mode == "threshold":
        schedule.append(("thresholds", random_thresholds(rng, n_in, n_out)))
    schedule.append(("vectors", random_bits(rng, 3, n_in)))
    run_schedule(dut, schedule, seed=seed, stall=0.3)


def test_reset_in_the_middle_of_a_vector():
    """Reset while one vector's results are stuck behind back-pressure and the next vector is
    half sent: afterwards only the vectors sent after reset come out, and correct (the weight
    memories keep their contents)."""
    rng = np.random.default_rng(11)
    n_in, n_out, pe, simd = 12, 4, 2, 4
    dut = BinaryMVU(n_in, n_out, pe, simd, "acc")
    W = random_bits(rng, n_out, n_in)
    before, after = random_bits(rng, 2, n_in), random_bits(rng, 3, n_in)
    expected = expected_beats(dut, after, W)
    mvu_testbench.run_reset_mid_vector(
        dut, [(dut.w_stream, weight_beats(W, simd))], vector_beats(before, simd),
        vector_beats(after, simd), expected, decode, rng=rng, cycles=2000)


@pytest.mark.parametrize("n_in,n_out,pe,simd", [(16, 8, 2, 4), (8, 4, 4, 8), (5, 2, 1, 1)])
def test_full_rate(n_in, n_out, pe, simd):
    """With no stall the unit sustains pe * simd MACs per cycle: cycles from the first input
    beat to the last output beat stay within latency + a small constant of ideal."""
    rng = np.random.default_rng(5)
    dut = BinaryMVU(n_in, n_out, pe, simd, "acc")
    vectors = 10
    W, X = random_bits(rng, n_out, n_in), random_bits(rng, vectors, n_in)
    expected = expected_beats(dut, X, W)
    sim, _ = make_sim(dut)
    cycle = [0]
    marks = {}

    async def counter(ctx):
        async for _ in ctx.tick():
            cycle[0] += 1

    async def source(ctx):
        await StreamDriver(dut.w_stream).send(ctx, weight_beats(W, simd))
        marks["start"] = cycle[0]
        await StreamDriver(dut.i_stream).send(ctx, vector_beats(X, simd))

    async def sink(ctx):
        beats, arrivals = [], []
        ctx.set(dut.o_stream.ready, 1)
        while len(beats) < len(expected):
            await ctx.tick()
            if ctx.get(dut.o_stream.valid):
                beats.append(decode(dut, ctx.get(dut.o_stream.payload)))
                arrivals.append(cycle[0])
        marks["arrivals"] = arrivals
        assert beats == expected
        finished.append(True)

    finished = []
    sim.add_testbench(counter, background=True)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    run_bounded(sim, 2000, finished)
    arrivals = marks["arrivals"]
    # Steady state: one output beat (pe neurons) every SF cycles, no bubble between vectors,
    # i.e. exactly pe * simd MACs per cycle.
    steady = arrivals[-1] - arrivals[0]
    assert steady == (len(arrivals) - 1) * dut.synapse_folds, arrivals
    # The whole run: ideal cycles plus the pipeline fill (the first vector is buffered, then
    # goes through the lane pipeline).
    ideal = vectors * dut.cycles_per_vector
    elapsed = arrivals[-1] - marks["start"]
    assert ideal <= elapsed <= ideal + dut.latency + 2, (elapsed, ideal, dut.latency)


@pytest.mark.parametrize("args,message", [
    ((0, 4, 1, 1), "n_in must be a positive integer"),
    ((4, 0, 1, 1), "n_out must be a positive integer"),
    ((4, 6, 4, 1), "pe must divide n_out=6"),
    ((4, 4, 1, 5), "simd must be at most n_in=4"),
    ((4, 4, 1.5, 1), "pe must be a positive integer"),
])
def test_bad_parameters(args, message):
    with pytest.raises(ValueError, match=message):
        BinaryMVU(*args)


def test_bad_mode_and_stage_levels():
    with pytest.raises(ValueError, match="mode must be one of"):
        BinaryMVU(4, 4, 1, 1, "sign")
    with pytest.raises(ValueError, match="stage_levels must be"):
        BinaryMVU(4, 4, 1, 1, stage_levels=0)


@pytest.mark.parametrize("n_in", [1, 2, 3, 7, 8, 100, 255, 256, 1000])
def test_acc_width_matches_golden(n_in):
    assert BinaryMVU(n_in, 1, 1, 1).acc_width == golden.acc_bits(n_in, 1, 1)


def test_port_names_in_verilog():
    from amaranth.back import verilog
    text = verilog.convert(BinaryMVU(6, 4, 2, 3, "threshold"), name="binary_mvu")
    for port in ["clk", "rst", "i_stream__payload", "i_stream__valid", "i_stream__ready",
                 "w_stream__payload", "t_stream__payload", "o_stream__payload",
                 "o_stream__valid", "o_stream__ready"]:
        assert f" {port};" in text, port


# ---- the folding engine with another lane datapath (the contract int8 plugs into) ----

class AndCountLane(wiring.Component):
    """A minimal lane written only from the contract in bitmac.hdl.mvu: per neuron, the number
    of lanes where activation AND weight are 1 (padding lanes hold 0/0), latency 1."""

    latency = 1

    def __init__(self, simd, n_in):
        self.n_in = n_in
        self.acc = Signal(n_in.bit_length())
        super().__init__(lane_signature(simd=simd, a_shape=1, w_shape=1,
                                         result_shape=unsigned(n_in.bit_length())))

    def elaborate(self, platform):
        m = Module()
        total = Signal(self.n_in.bit_length())
        fold = sum(self.activations.as_value() & self.weights.as_value())
        m.d.comb += total.eq(Mux(self.first, 0, self.acc) + fold)
        with m.If(self.valid):
            m.d.sync += self.acc.eq(total)
        m.d.sync += [self.result_valid.eq(self.valid & self.last), self.result.eq(total)]
        return m


def and_count_engine(n_in, n_out, pe, simd):
    return MatrixVectorEngine(n_in, n_out, pe, simd, a_shape=1, w_shape=1,
                              lane=lambda: AndCountLane(simd, n_in))


def test_engine_with_another_lane():
    rng = np.random.default_rng(21)
    n_in, n_out, pe, simd = 11, 6, 3, 4
    dut = and_count_engine(n_in, n_out, pe, simd)
    W, X = random_bits(rng, n_out, n_in), random_bits(rng, 5, n_in)
    expected = [list(row[f * pe:(f + 1) * pe]) for row in X @ W.T
                for f in range(dut.neuron_folds)]
    sim, _ = make_sim(dut)
    received = []

    async def source(ctx):
        await StreamDriver(dut.w_stream, rng=rng, stall=0.3).send(ctx, weight_beats(W, simd, rng))
        await StreamDriver(dut.i_stream, rng=rng, stall=0.3).send(ctx, vector_beats(X, simd, rng))

    async def sink(ctx):
        beats = await StreamReceiver(dut.o_stream, rng=rng, stall=0.3).receive(ctx, len(expected))
        received.extend([int(beat[p]) for p in range(pe)] for beat in beats)
        finished.append(True)

    finished = []
    sim.add_testbench(source)
    sim.add_testbench(sink)
    run_bounded(sim, 3000, finished)
    assert received == expected
    assert dut.latency == dut.synapse_folds + 1 + AndCountLane.latency


def test_engine_rejects_a_lane_that_breaks_the_contract():
    class NoLatency(AndCountLane):
        latency = 0

    with pytest.raises(ValueError, match="latency >= 1"):
        MatrixVectorEngine(8, 2, 1, 4, a_shape=1, w_shape=1, lane=lambda: NoLatency(4, 8))
    with pytest.raises(ValueError, match="does not match"):
        MatrixVectorEngine(8, 2, 1, 4, a_shape=1, w_shape=1, lane=lambda: AndCountLane(2, 8))
    with pytest.raises(ValueError, match="weight_ram_style"):
        BinaryMVU(8, 2, 2, 4, weight_ram_style=["block"])
