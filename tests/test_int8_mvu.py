# amaranth: UnusedElaboratable=no
"""Int8MVU in the Amaranth simulator, bit-exact against golden.int8_gemm (acc mode) and
golden.int8_dense (requant mode).

Each test runs a *schedule* (weight loads, parameter loads and batches of vectors, in the
order a host would send them) through one source testbench while a sink testbench collects
``o_stream``, with random stalls on every stream; expected beats come from the golden models.
"""

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from bitmac import golden
from bitmac.hdl.int8_mvu import Int8Lane, Int8MVU, StreamDeserializer, StreamSerializer
from bitmac.sim import mvu_testbench
from bitmac.sim.mvu_testbench import CLOCK_PERIOD, make_sim, run_bounded
from bitmac.sim.streams import StreamDriver, StreamReceiver

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1

# Units built only to check their parameters or attributes are never elaborated.
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


# ---- beat encoders (README "Int8MVU ports") ----

def row_beats(row, simd, rng=None):
    """Beats of one int8 row: element j in lane j % simd of beat j // simd. The padding lanes
    of the last beat are random when ``rng`` is given: the hardware must ignore them."""
    folds = -(-len(row) // simd)
    padded = np.zeros(folds * simd, np.int64)
    padded[:len(row)] = row
    if rng is not None:
        padded[len(row):] = rng.integers(-128, 128, folds * simd - len(row))
    return [padded[s * simd:(s + 1) * simd].tolist() for s in range(folds)]


def matrix_beats(M, simd, rng=None):
    return [beat for row in M for beat in row_beats(row, simd, rng)]


def quant_beats(q):
    return [{"bias": int(b), "multiplier": int(m), "shift": int(s), "zero_point": int(z),
             "out_min": int(o)}
            for b, m, s, z, o in zip(q["bias"], q["multiplier"], q["shift"], q["zero_point"],
                                     q["out_min"])]


def golden_outputs(X, W, q):
    """(M, n_out) golden results: int8_gemm, or int8_dense per neuron (out_min is per neuron
    in hardware, a scalar in int8_dense)."""
    if q is None:
        return golden.int8_gemm(X, W)
    columns = [golden.int8_dense(X, W[n:n + 1], q["bias"][n:n + 1], q["multiplier"][n:n + 1],
                                 q["shift"][n:n + 1], q["zero_point"][n:n + 1],
                                 int(q["out_min"][n]), 127)
               for n in range(W.shape[0])]
    return np.concatenate(columns, axis=1)


def expected_beats(dut, X, W, q):
    results = golden_outputs(X, W, q)
    pe = dut.pe
    return [results[row, f * pe:(f + 1) * pe].tolist()
            for row in range(len(X)) for f in range(dut.neuron_folds)]


def decode(dut, payload):
    return [int(payload[p]) for p in range(dut.pe)]


def random_int8(rng, *shape):
    return rng.integers(-128, 128, shape, dtype=np.int8)


def random_quant(rng, n_out, *, per_tensor=False):
    """Per-neuron parameters as a converter would make them: a Q31 multiplier and shift from
    golden.quantize_multiplier, a bias, a zero point, and a fused ReLU on some neurons."""
    count = 1 if per_tensor else n_out
    multiplier, shift = golden.quantize_multiplier(rng.uniform(1e-5, 0.05, count))
    q = {
        "bias": rng.integers(-(1 << 16), 1 << 16, count),
        "multiplier": np.asarray(multiplier), "shift": np.asarray(shift),
        "zero_point": rng.integers(-128, 128, count),
    }
    q["out_min"] = np.where(rng.random(count) < 0.3, q["zero_point"], -128)
    if per_tensor:
        q = {key: np.repeat(value, n_out) for key, value in q.items()}
    return q


# ---- simulation driver ----

def run_schedule(dut, schedule, *, seed=0, stall=0.0, out_stall=None):
    """Send ``schedule`` (("weights", W) / ("quant", q) / ("vectors", X)) in order and check
    every output beat against golden; no extra beat may follow. Returns the beats."""
    rng = np.random.default_rng(seed)
    expected, encoded = [], []
    W = q = None
    for kind, value in schedule:
        if kind == "weights":
            W = value
            encoded.append((dut.w_stream, matrix_beats(value, dut.simd, rng)))
        elif kind == "quant":
            q = value
            encoded.append((dut.q_stream, quant_beats(value)))
        else:
            expected += expected_beats(dut, value, W, q)
            encoded.append((dut.i_stream, matrix_beats(value, dut.simd, rng)))
    # The shared requantizer may take up to 32 cycles per neuron.
    return mvu_testbench.run_schedule(dut, encoded, expected, decode, rng=rng, stall=stall,
                                      out_stall=out_stall,
                                      cycles_per_output=dut.synapse_folds + dut.pe * 32)


def schedule_for(rng, n_in, n_out, mode, vectors, *, per_tensor=False):
    schedule = [("weights", random_int8(rng, n_out, n_in))]
    if mode == "requant":
        schedule.append(("quant", random_quant(rng, n_out, per_tensor=per_tensor)))
    schedule.append(("vectors", random_int8(rng, vectors, n_in)))
    return schedule


# ---- tests ----

CONFIGS = [
    # (n_in, n_out, pe, simd)
    (16, 8, 2, 4),      # multiples everywhere
    (13, 6, 3, 4),      # n_in not a multiple of simd
    (7, 4, 2, 1),       # simd = 1: one DSP per lane
    (9, 3, 1, 9),       # one synapse fold, one PE
    pytest.param(20, 4, 4, 16, marks=pytest.mark.slow),  # all neurons in one fold, padded
]


@pytest.mark.parametrize("mode", ["acc", "requant"])
@pytest.mark.parametrize("n_in,n_out,pe,simd", CONFIGS)
def test_random_with_stalls(n_in, n_out, pe, simd, mode):
    rng = np.random.default_rng(n_in * 1000 + n_out * 10 + pe + simd)
    dut = Int8MVU(n_in, n_out, pe, simd, mode)
    run_schedule(dut, schedule_for(rng, n_in, n_out, mode, 4), seed=n_in + simd, stall=0.4)


# Packed (two products per DSP block): the lanes take the engine's enable instead of being
# wrapped in EnableInserter, so stalls on every stream test that the DSP blocks freeze too.
PACKED_CONFIGS = [
    (16, 8, 2, 4),      # 2 DSP blocks per lane
    (13, 6, 3, 3),      # odd simd: half of the second block idle; n_in not a multiple
    (9, 3, 1, 9),       # one synapse fold, 5 blocks
    (6, 4, 4, 2),       # one block per lane, as on the UP5K (pe x 2)
]


@pytest.mark.parametrize("mode", ["acc", "requant"])
@pytest.mark.parametrize("n_in,n_out,pe,simd", PACKED_CONFIGS)
def test_packed_random_with_stalls(n_in, n_out, pe, simd, mode):
    rng = np.random.default_rng(n_in * 1000 + n_out * 10 + pe + simd + 1)
    dut = Int8MVU(n_in, n_out, pe, simd, mode, packed=True)
    assert dut.dsp_blocks == pe * -(-simd // 2)
    run_schedule(dut, schedule_for(rng, n_in, n_out, mode, 4), seed=n_in + simd, stall=0.4)


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("mode", ["acc", "requant"])
def test_extremes(mode, packed):
    """All -128, all 127, zeros and alternating signs, against weights of the same kinds."""
    n_in, n_out, pe, simd = 11, 6, 3, 4
    dut = Int8MVU(n_in, n_out, pe, simd, mode, packed=packed)
    alternating = np.where(np.arange(n_in) % 2 == 0, -128, 127).astype(np.int8)
    W = np.stack([np.full(n_in, -128), np.full(n_in, 127), alternating, -alternating - 1,
                  np.zeros(n_in), np.full(n_in, -1)]).astype(np.int8)
    X = np.stack([np.full(n_in, -128), np.full(n_in, 127), alternating,
                  np.zeros(n_in)]).astype(np.int8)
    schedule = [("weights", W)]
    if mode == "requant":
        rng = np.random.default_rng(5)
        q = random_quant(rng, n_out)
        q["bias"][0], q["bias"][1] = INT32_MAX, INT32_MIN     # wraps in the 32-bit adder
        q["multiplier"][2], q["shift"][2] = INT32_MAX, 0      # saturates
        q["shift"][3] = 31
        schedule.append(("quant", q))
    schedule.append(("vectors", X))
    run_schedule(dut, schedule, stall=0.3)


@pytest.mark.parametrize("mode", ["acc", "requant"])
def test_accumulator_at_its_narrowest(mode):
    """acc_width = acc_bits(n_in) exactly, with -128 x -128 everywhere: the largest sum fills
    the accumulator without overflow; one bit less is refused."""
    n_in, n_out, pe, simd = 127, 2, 2, 16
    width = golden.acc_bits(n_in)
    assert width == 22
    dut = Int8MVU(n_in, n_out, pe, simd, mode, acc_width=width)
    W = np.stack([np.full(n_in, -128), np.full(n_in, 127)]).astype(np.int8)
    X = np.stack([np.full(n_in, -128), np.full(n_in, 127)]).astype(np.int8)
    schedule = [("weights", W)]
    if mode == "requant":
        schedule.append(("quant", {"bias": np.zeros(2, int), "multiplier": np.full(2, 2**30),
                                   "shift": np.array([15, 31]), "zero_point": np.zeros(2, int),
                                   "out_min": np.full(2, -128)}))
    schedule.append(("vectors", X))
    run_schedule(dut, schedule, stall=0.2)
    assert golden.int8_gemm(X, W).max() == n_in * 128 * 128 == 2**(width - 1) - 2**14
    with pytest.raises(ValueError, match="at least 22 bits"):
        Int8MVU(n_in, n_out, pe, simd, mode, acc_width=width - 1)


def test_default_accumulator_depth_limit():
    # 32 bits hold any sum of 131071 int8 products; one more is refused.
    Int8MVU(131071, 1, 1, 1024)
    with pytest.raises(ValueError, match="at least 33 bits"):
        Int8MVU(131072, 1, 1, 1024)


@pytest.mark.slow
def test_back_to_back_and_reload():
    """Many vectors, weight and parameter reloads between batches, stalls everywhere."""
    rng = np.random.default_rng(7)
    n_in, n_out, pe, simd = 10, 6, 2, 3
    dut = Int8MVU(n_in, n_out, pe, simd, "requant")
    schedule = [
        ("weights", random_int8(rng, n_out, n_in)),
        ("quant", random_quant(rng, n_out)),
        ("vectors", random_int8(rng, 6, n_in)),
        ("weights", random_int8(rng, n_out, n_in)),
        ("vectors", random_int8(rng, 3, n_in)),
        ("quant", random_quant(rng, n_out, per_tensor=True)),
        ("vectors", random_int8(rng, 3, n_in)),
    ]
    run_schedule(dut, schedule, seed=3, stall=0.3)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["acc", "requant"])
def test_back_to_back_without_stalls(mode):
    rng = np.random.default_rng(8)
    dut = Int8MVU(8, 4, 4, 8, mode)
    run_schedule(dut, schedule_for(rng, 8, 4, mode, 8))


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("mode", ["acc", pytest.param("requant", marks=pytest.mark.slow)])
def test_output_backpressure_only(mode, packed):
    rng = np.random.default_rng(9)
    dut = Int8MVU(12, 8, 2, 4, mode, packed=packed)
    run_schedule(dut, schedule_for(rng, 12, 8, mode, 6), out_stall=0.8)


@pytest.mark.parametrize("mul_cycles", [pytest.param(1, marks=pytest.mark.slow),
                                        pytest.param(4, marks=pytest.mark.slow), 32])
def test_shared_requantizer_slower_than_the_lanes(mul_cycles):
    """pe * requant_mul_cycles > SF: the requantizer back-pressures the engine; results stay
    exact and in order."""
    rng = np.random.default_rng(mul_cycles)
    dut = Int8MVU(6, 4, 2, 3, "requant", requant_mul_cycles=mul_cycles)
    run_schedule(dut, schedule_for(rng, 6, 4, "requant", 3), seed=mul_cycles, stall=0.2)


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(n_in=st.integers(1, 24), neuron_folds=st.integers(1, 3), pe=st.integers(1, 4),
       simd_fraction=st.floats(0, 1), mode=st.sampled_from(["acc", "requant"]),
       mul_cycles=st.sampled_from([1, 2, 8]), seed=st.integers(0, 2**16))
def test_property(n_in, neuron_folds, pe, simd_fraction, mode, mul_cycles, seed):
    simd = 1 + int(simd_fraction * (n_in - 1))
    n_out = neuron_folds * pe
    rng = np.random.default_rng(seed)
    dut = Int8MVU(n_in, n_out, pe, simd, mode,
                  requant_mul_cycles=mul_cycles if mode == "requant" else 1)
    run_schedule(dut, schedule_for(rng, n_in, n_out, mode, 3), seed=seed, stall=0.3)


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("mode", ["acc", "requant"])
def test_reset_in_the_middle_of_a_vector(mode, packed):
    """Reset while results wait behind back-pressure and the next vector is half sent: only
    the vectors sent after the reset come out, correct (the memories keep their contents)."""
    rng = np.random.default_rng(11)
    n_in, n_out, pe, simd = 12, 4, 2, 4
    dut = Int8MVU(n_in, n_out, pe, simd, mode, packed=packed)
    W = random_int8(rng, n_out, n_in)
    q = random_quant(rng, n_out) if mode == "requant" else None
    before, after = random_int8(rng, 2, n_in), random_int8(rng, 3, n_in)
    expected = expected_beats(dut, after, W, q)
    loads = [(dut.w_stream, matrix_beats(W, simd))]
    if q is not None:
        loads.append((dut.q_stream, quant_beats(q)))
    mvu_testbench.run_reset_mid_vector(dut, loads, matrix_beats(before, simd),
                                       matrix_beats(after, simd), expected, decode, rng=rng,
                                       cycles=3000)


@pytest.mark.parametrize("mode", ["acc", "requant"])
@pytest.mark.parametrize("n_in,n_out,pe,simd,mul_cycles,packed", [
    (16, 8, 2, 4, 1, False), (8, 2, 2, 1, 1, False), (32, 4, 4, 8, 1, False),
    (32, 4, 2, 4, 4, False), (16, 8, 2, 4, 1, True), (32, 4, 2, 4, 4, True),
    (16, 16, 8, 2, 1, True)])
def test_full_rate_and_latency(n_in, n_out, pe, simd, mul_cycles, packed, mode):
    """No stall: the first result comes ``latency`` cycles after the last beat of the first
    vector, and vectors follow each other every NF * SF cycles (pe * simd MACs per cycle)
    while the shared requantizer keeps up (pe * mul_cycles <= SF here)."""
    rng = np.random.default_rng(n_in + pe)
    dut = Int8MVU(n_in, n_out, pe, simd, mode, packed=packed,
                  requant_mul_cycles=mul_cycles if mode == "requant" else 1)
    if mode == "requant":
        assert dut.pe * dut.requant_mul_cycles <= dut.synapse_folds
    W = random_int8(rng, n_out, n_in)
    q = random_quant(rng, n_out) if mode == "requant" else None
    X = random_int8(rng, 6, n_in)
    expected = expected_beats(dut, X, W, q)
    sim, _ = make_sim(dut)
    outputs, last_input, finished = [], [], []

    async def bench(ctx):
        # One testbench drives and watches, so both sides count the same cycles.
        await StreamDriver(dut.w_stream).send(ctx, matrix_beats(W, simd))
        if q is not None:
            await StreamDriver(dut.q_stream).send(ctx, quant_beats(q))
        beats = matrix_beats(X, simd)
        ctx.set(dut.o_stream.ready, 1)
        sent = cycle = 0
        while len(outputs) < len(expected):
            ctx.set(dut.i_stream.valid, sent < len(beats))
            if sent < len(beats):
                ctx.set(dut.i_stream.payload, beats[sent])
            transferred = sent < len(beats) and ctx.get(dut.i_stream.ready)
            if ctx.get(dut.o_stream.valid):
                outputs.append((cycle, decode(dut, ctx.get(dut.o_stream.payload))))
            await ctx.tick()
            if transferred:
                if sent == dut.synapse_folds - 1:
                    last_input.append(cycle)
                sent += 1
            cycle += 1
        finished.append(True)

    sim.add_testbench(bench)
    run_bounded(sim, 5000, finished)
    assert [beat for _, beat in outputs] == expected
    firsts = [outputs[v * dut.neuron_folds][0] for v in range(len(X))]
    assert firsts[0] - last_input[0] == dut.latency
    assert np.diff(firsts).tolist() == [dut.cycles_per_vector] * (len(X) - 1)


@pytest.mark.parametrize("n_in, simd", [(4, 4), (12, 4)], ids=["SF1", "SF3"])
@pytest.mark.parametrize("offered_after", ["first", "last"])
def test_load_offered_while_a_vector_is_buffered_waits_for_it(n_in, simd, offered_after):
    """Vector X0, then a weight load W2 offered from the cycle after X0's first (or last) beat
    was taken, then X1 once W2 is in: the load may not start while X0 is in the input buffer,
    so X0 is computed with the old weights W1 and X1 with W2 (README "When loads are
    accepted")."""
    rng = np.random.default_rng(n_in + simd + len(offered_after))
    n_out, pe = 4, 2
    dut = Int8MVU(n_in, n_out, pe, simd)
    W1, W2 = random_int8(rng, n_out, n_in), random_int8(rng, n_out, n_in)
    X0, X1 = random_int8(rng, 1, n_in), random_int8(rng, 1, n_in)
    expected = expected_beats(dut, X0, W1, None) + expected_beats(dut, X1, W2, None)
    sf = dut.synapse_folds
    vector_beats = matrix_beats(X0, simd) + matrix_beats(X1, simd)
    load_beats = matrix_beats(W2, simd)
    trigger = 0 if offered_after == "first" else sf - 1
    sim, _ = make_sim(dut)
    received, finished = [], []

    async def bench(ctx):
        await StreamDriver(dut.w_stream).send(ctx, matrix_beats(W1, simd))
        ctx.set(dut.o_stream.ready, 1)
        sent_vector = sent_load = 0
        load_offered = False
        while len(received) < len(expected):
            # X1 only once the whole load is in.
            vector_valid = sent_vector < sf or (sent_vector < 2 * sf
                                                and sent_load == len(load_beats))
            load_valid = load_offered and sent_load < len(load_beats)
            ctx.set(dut.i_stream.valid, vector_valid)
            ctx.set(dut.w_stream.valid, load_valid)
            if vector_valid:
                ctx.set(dut.i_stream.payload, vector_beats[sent_vector])
            if load_valid:
                ctx.set(dut.w_stream.payload, load_beats[sent_load])
            vector_taken = vector_valid and ctx.get(dut.i_stream.ready)
            load_taken = load_valid and ctx.get(dut.w_stream.ready)
            if ctx.get(dut.o_stream.valid):
                received.append(decode(dut, ctx.get(dut.o_stream.payload)))
            await ctx.tick()
            if vector_taken:
                load_offered |= sent_vector == trigger
                sent_vector += 1
            sent_load += load_taken
        finished.append(True)

    sim.add_testbench(bench)
    run_bounded(sim, 2000, finished)
    assert received == expected


@pytest.mark.parametrize("args, message", [
    ((8, 6, 4, 2), "pe must divide n_out"),
    ((8, 6, 2, 9), "simd must be at most n_in"),
    ((0, 6, 2, 1), "n_in must be a positive integer"),
    ((8, 6, 2, 2, "float"), "mode must be one of"),
])
def test_bad_parameters(args, message):
    with pytest.raises(ValueError, match=message):
        Int8MVU(*args)


@pytest.mark.parametrize("kwargs, message", [
    (dict(mode="requant", acc_width=40), "at most 32 in requant mode"),
    (dict(mode="requant", requant_mul_cycles=3), "mul_cycles must be one of"),
    (dict(mode="acc", requant_mul_cycles=4), "applies to mode=\"requant\" only"),
    (dict(acc_width=1), "acc_width must be an integer from 2 to 64"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Int8MVU(8, 4, 2, 2, **kwargs)


@pytest.mark.parametrize("mul_cycles, words, width", [(1, 1, 85), (2, 2, 43), (4, 4, 22),
                                                      (8, 6, 15), (32, 6, 15)])
def test_parameter_memory_is_one_narrow_memory(mul_cycles, words, width):
    # One memory for all PEs: as many words per neuron as the requantizer's slot lets it read.
    dut = Int8MVU(64, 64, 4, 1, "requant", requant_mul_cycles=mul_cycles)
    assert (dut.params.words, dut.params.word_width, dut.params.depth) == (words, width,
                                                                           64 * words)
    # The engine (and its PEs) carry no parameters any more.
    assert set(dut.engine.signature.members) == {"i_stream", "w_stream", "o_stream"}
    assert "param" not in Int8Lane(64, 1, 32).signature.members


@pytest.mark.parametrize("mode, ports", [
    ("acc", ["i_stream__payload", "w_stream__payload", "o_stream__payload", "o_stream__ready"]),
    ("requant", ["q_stream__payload", "q_stream__valid", "q_stream__ready",
                 "o_stream__payload"]),
])
def test_port_names_in_verilog(mode, ports):
    text = verilog.convert(Int8MVU(8, 4, 2, 4, mode), name="int8_mvu")
    header = text[text.index("module int8_mvu("):text.index(");")]
    for port in ports + ["clk", "rst"]:
        assert port in header


@pytest.mark.parametrize("count", [1, 3, 4])
def test_serializer_and_deserializer_round_trip(count):
    """The two stream helpers of the requant path, chained: beats come back unchanged."""
    from amaranth.hdl import signed
    rng = np.random.default_rng(count)
    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.ser = ser = StreamSerializer(signed(8), count)
    top.submodules.des = des = StreamDeserializer(signed(8), count)
    from amaranth.lib import wiring
    wiring.connect(top, ser.o_stream, des.i_stream)
    sim = Simulator(top)
    sim.add_clock(CLOCK_PERIOD)
    beats = rng.integers(-128, 128, (30, count)).tolist()
    received = []

    async def source(ctx):
        await StreamDriver(ser.i_stream, rng=rng, stall=0.3).send(ctx, beats)

    async def sink(ctx):
        for payload in await StreamReceiver(des.o_stream, rng=rng, stall=0.3).receive(ctx, 30):
            received.append([int(payload[i]) for i in range(count)])

    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run_until(2000 * CLOCK_PERIOD)
    assert received == beats


def _bench_module():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).parent.parent / "bench" / "int8_mvu.py"
    spec = importlib.util.spec_from_file_location("bench_int8_mvu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_points_and_headline():
    """bench/int8_mvu.py without a build: point syntax, and the ratio takes the best int8
    point of the board (not the last one measured)."""
    bench = _bench_module()
    Point = bench.Point
    assert bench.parse_point("16x8") == Point(16, 8, "acc", 1, False)
    assert bench.parse_point("4x1r32") == Point(4, 1, "requant", 32, False)
    assert bench.parse_point("8x2P") == Point(8, 2, "acc", 1, True)
    assert bench.parse_point("8x2pr4") == Point(8, 2, "requant", 4, True)
    for text in ("16x8", "4x1r32", "8x2p", "8x2pr4"):
        assert bench.parse_point(text).name == text
    for bad in ("16by8", "8x2q", "8x2r", "x8"):
        with pytest.raises(ValueError, match="PExSIMD"):
            bench.parse_point(bad)
    entries = [
        {"board": "b", "point": "8x1", "status": "ok", "gmacs": 0.5},
        {"board": "b", "point": "4x1r1", "status": "ok", "gmacs": 0.1},
        {"board": "b", "point": "9x9", "status": "failed"},
        {"board": "other", "point": "64x2", "status": "ok", "gmacs": 9.0},
    ]
    binary = {"status": "ok", "gmacs": 20.0, "pe": 14, "simd": 32, "source": "test"}
    ratio = bench.headline("b", entries, binary)
    assert ratio["int8_point"] == "8x1" and ratio["binary_over_int8"] == 40.0
    assert bench.headline("b", entries, {"status": "failed"}) is None
