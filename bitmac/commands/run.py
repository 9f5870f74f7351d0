"""`bitmac run`: drive a unit on a board (or the simulated board) through the host link with
random data, check every result against the golden models and print the throughput; with
``--network binary|int8``, classify the digits test split on the board's network pipeline."""

import time

import numpy as np

from ..errors import BitmacError

HELP = "run random vectors (or, with --network, the digits test split) on a board through the " \
       "host link, check them against golden, print throughput"

#: Images classified by default on the simulated board (the Amaranth simulator is slow).
SIM_IMAGES = 8

SIM_PORTS = ("sim",)


def add_arguments(parser):
    from ..boards.registry import DEFAULT_BOARD, board_names
    parser.add_argument("--board", default=DEFAULT_BOARD, metavar="BOARD",
                        help=f"the board (default {DEFAULT_BOARD}; one of "
                             f"{', '.join(board_names())})")
    parser.add_argument("--port", required=True, metavar="PORT",
                        help="serial port of the board (/dev/ttyUSB1, COM3), or 'sim' for the "
                             "board top level in the Amaranth simulator")
    parser.add_argument("--design", choices=("binary", "int8"), default=None,
                        help="expected design (a board reports its own; default for sim: "
                             "binary)")
    parser.add_argument("--vectors", type=int, default=32, help="random vectors (default 32)")
    parser.add_argument("--network", choices=("binary", "int8"), default=None,
                        help="classify the digits test split on a board built with --design "
                             "binary-net / int8-net (the cached trained network, trained when "
                             "missing) instead of random vectors")
    parser.add_argument("--images", type=int, default=None,
                        help=f"with --network: the first N test images (default: all 360 on "
                             f"a board, {SIM_IMAGES} on --port sim)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--baud", type=int, default=115200,
                        help="serial rate of a real board (default 115200)")
    parser.add_argument("--timeout", type=float, default=2.0,
                        help="seconds to wait for the board's reply (default 2)")
    sim = parser.add_argument_group("simulated board (--port sim)")
    for option, key in (("--n-in", "n_in"), ("--n-out", "n_out"), ("--pe", "pe"),
                        ("--simd", "simd")):
        sim.add_argument(option, dest=key, type=int, default=None,
                         help=f"unit parameter {key} (default: as `bitmac build`)")
    sim.add_argument("--mode", default=None,
                     help="unit output: acc (default), threshold (binary) or requant (int8)")
    sim.add_argument("--packed", action="store_true",
                     help="int8: the packed unit (two products per DSP block, as `bitmac build "
                          "--packed`; simulated with its behavioural DSP model)")
    sim.add_argument("--vcd", default=None, metavar="FILE",
                     help="write the simulated session's waveform to FILE")


def _simulated_link(args):
    from ..boards.host import HostLink
    from ..boards.registry import get_board
    from ..boards.serial_sim import SimulatedSerial
    from ..boards.top import BoardTop, make_unit
    from .build import unit_params
    design = args.design or "binary"
    params = unit_params(args, design)
    clk_freq = int(get_board(args.board).clock.default_hz)
    # The board's clock, a UART at 4 cycles per bit and a frame timeout of 100 bit times:
    # cycle counts are those of the board; only the serial line is faster.
    top = BoardTop(make_unit(design, params), clk_freq, clk_freq // 4, timeout_cycles=400)
    return HostLink(SimulatedSerial(top, vcd=args.vcd))


def _random_problem(info, rng):
    """Random weights, parameters and the golden function of X for the board's design."""
    from .. import golden
    n_in, n_out, kind, mode = info["n_in"], info["n_out"], info["kind"], info["mode"]
    params = {}
    if kind == "binary":
        W = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_out, n_in))
        if mode == "threshold":
            params = {"thresholds": rng.integers(-n_in, n_in + 1, n_out),
                      "invert": rng.integers(0, 2, n_out)}

        def expected(X):
            acc = golden.binary_gemm(golden.pack_bits(X), golden.pack_bits(W), n_in)
            if mode == "threshold":
                return golden.threshold_activate(acc, params["thresholds"], params["invert"])
            return acc

        def make_inputs(count):
            return rng.choice(np.array([-1, 1], dtype=np.int8), size=(count, n_in))
    else:
        W = rng.integers(-128, 128, (n_out, n_in), dtype=np.int8)
        if mode == "requant":
            # Scales that keep typical outputs inside int8, per neuron.
            multiplier, shift = golden.quantize_multiplier(
                rng.uniform(0.5, 2.0, n_out) / (64.0 * np.sqrt(n_in)))
            params = {"bias": rng.integers(-4096, 4096, n_out), "multiplier": multiplier,
                      "shift": shift, "zero_point": rng.integers(-8, 9, n_out),
                      "out_min": -128}

        def expected(X):
            if mode == "requant":
                return golden.int8_dense(X, W, params["bias"], params["multiplier"],
                                         params["shift"], params["zero_point"],
                                         params["out_min"])
            return golden.int8_gemm(X, W)

        def make_inputs(count):
            return rng.integers(-128, 128, (count, n_in), dtype=np.int8)
    return W, params, expected, make_inputs


def _run_network(args):
    """``--network``: load the trained network, classify test images, compare with golden."""
    from ..boards.host import HostLink, network_streams
    from ..boards.registry import get_board
    from ..boards.compare import pipeline_timing
    from ..boards.top import make_network_top, network_units
    from ..golden import network as golden_network
    from ..sim import digits
    from ..sim.progress import Progress
    kind = args.network
    simulated = args.port in SIM_PORTS
    images = args.images if args.images is not None else (SIM_IMAGES if simulated else None)
    if images is not None and images < 1:
        raise ValueError(f"--images must be at least 1, not {images}")
    board = get_board(args.board)
    split = digits.load_split()
    trained = digits.trained_networks(split=split)
    x, y = split.x_test, split.y_test
    if images is not None:
        x, y = x[:images], y[:images]
    if simulated:
        from ..boards.serial_sim import SimulatedSerial
        clk_freq = int(board.clock.default_hz)
        # As for a single unit: the board's clock, a UART at 4 cycles per bit.
        top = make_network_top(kind, board.name, clk_freq=clk_freq, baud=clk_freq // 4,
                               timeout_cycles=400, trained=trained)
        units = top.unit.units
        link = HostLink(SimulatedSerial(top, vcd=args.vcd))
    else:
        units = network_units(kind, board.name, trained)
        link = HostLink(args.port, baud=args.baud, timeout=args.timeout)
    golden = network_streams(kind, trained, units, x)
    net = trained.binary_integer if kind == "binary" else trained.int8_net
    golden_predictions = net.predict(x)
    with link:
        info = link.ident()
        print(f"{'simulated ' if simulated else ''}{board.name} on {args.port}: {kind} network, "
              f"{len(units)} layers (pe, simd: "
              f"{', '.join(f'{unit.pe}x{unit.simd}' for unit in units)}), "
              f"{info['clk_freq'] / 1e6:g} MHz")
        begin = time.perf_counter()
        with Progress("load", total=golden.load_beats) as progress:
            link.load_network(kind, trained, units, progress=progress)
        load_seconds = time.perf_counter() - begin
        predictions, raws, cycles, seconds = [], [], 0, 0.0
        step = info["max_vectors"]
        with Progress("classify", total=len(x)) as progress:
            for start in range(0, len(x), step):
                begin = time.perf_counter()
                predicted, _, raw, frame_cycles = link.classify(x[start:start + step])
                seconds += time.perf_counter() - begin
                predictions.append(predicted)
                raws.append(raw)
                cycles += frame_cycles
                progress.advance(len(predicted))
    predictions, raw = np.concatenate(predictions), b"".join(raws)
    if simulated and args.vcd:
        print(f"waveform: {args.vcd}")
    steady = pipeline_timing(units)["cycles_per_inference"]
    host_note = " (simulator speed, not a board's)" if simulated else " (serial-link bound)"
    print(f"weights and parameters ({golden.load_beats} beats) loaded in {load_seconds:.2f} s")
    print(f"accuracy: {golden_network.accuracy(predictions, y):.4f} on {len(y)} test images "
          f"(golden integer inference: {golden_network.accuracy(golden_predictions, y):.4f})")
    print(f"host:    {len(x)} images in {seconds:.2f} s = {len(x) / seconds:.1f} images/s"
          f"{host_note}")
    print(f"on chip: {cycles} cycles over {-(-len(x) // step)} RUN frame(s) = "
          f"{cycles / len(x):.0f} cycles/image with pipeline fill per frame (steady state "
          f"{steady}: {info['clk_freq'] / steady:.0f} images/s at "
          f"{info['clk_freq'] / 1e6:g} MHz)")
    beat_bytes = len(golden.expected) // len(x)
    differing = [index for index in range(len(x))
                 if raw[index * beat_bytes:(index + 1) * beat_bytes]
                 != golden.expected[index * beat_bytes:(index + 1) * beat_bytes]]
    wrong = np.flatnonzero(predictions != golden_predictions)
    if differing or len(wrong):
        first = differing[0] if differing else int(wrong[0])
        print(f"FAIL: {len(differing)} image(s) with output beats and {len(wrong)} with a "
              f"class differing from the golden inference (first: image {first})")
        return 1
    print(f"PASS: all {len(x)} images bit-exact with the golden inference (output beats and "
          f"classes)")
    return 0


def run(args):
    from ..boards.host import HostLink
    from ..sim.progress import Progress
    if args.network is not None:
        return _run_network(args)
    if args.vectors < 1:
        raise ValueError(f"--vectors must be at least 1, not {args.vectors}")
    simulated = args.port in SIM_PORTS
    if simulated:
        link = _simulated_link(args)
    else:
        link = HostLink(args.port, baud=args.baud, timeout=args.timeout)
    with link:
        info = link.ident()
        if args.design is not None and info["kind"] != args.design:
            raise BitmacError(f"the board on {args.port} runs the {info['kind']} design, not "
                              f"{args.design} (build and flash it with --design {args.design})")
        print(f"{'simulated ' if simulated else ''}{args.board} on {args.port}: "
              f"{info['kind']} {info['mode']}, n_in={info['n_in']} n_out={info['n_out']} "
              f"pe={info['pe']} simd={info['simd']}, {info['clk_freq'] / 1e6:g} MHz")
        rng = np.random.default_rng(args.seed)
        W, params, expected, make_inputs = _random_problem(info, rng)
        X = make_inputs(args.vectors)

        begin = time.perf_counter()
        load_beats = info["n_out"] * info["sf"] + (info["n_out"] if params else 0)
        with Progress("load", total=load_beats) as progress:
            link.load_weights(W, progress=progress)
            if params:
                link.load_params(progress=progress, **params)
        load_seconds = time.perf_counter() - begin

        results, cycles, seconds = [], 0, 0.0
        step = info["max_vectors"]
        with Progress("run", total=len(X)) as progress:
            for start in range(0, len(X), step):
                block = X[start:start + step]
                begin = time.perf_counter()
                results.append(link.run(block))
                seconds += time.perf_counter() - begin
                cycles += link.cycles()
                progress.advance(len(block))
        results = np.concatenate(results)

    if simulated and args.vcd:
        print(f"waveform: {args.vcd}")
    want = expected(X)
    mismatches = np.argwhere(results != want)
    macs = len(X) * info["n_in"] * info["n_out"]
    ideal = info["pe"] * info["simd"]
    print(f"weights{' and parameters' if params else ''} loaded in {load_seconds:.2f} s")
    host_note = " (simulator speed, not a board's)" if simulated else " (serial-link bound)"
    print(f"host:    {len(X)} vectors in {seconds:.2f} s = {len(X) / seconds:.1f} vectors/s"
          f"{host_note}")
    print(f"on chip: {cycles} cycles over {-(-len(X) // step)} RUN frame(s) = "
          f"{macs / cycles:.1f} MACs/cycle (ideal {ideal}; pipeline fill counted per frame), "
          f"{macs / cycles * info['clk_freq'] / 1e6:.1f} M MAC/s at "
          f"{info['clk_freq'] / 1e6:g} MHz")
    if len(mismatches):
        vector, neuron = mismatches[0]
        print(f"FAIL: {len(mismatches)} of {results.size} results differ from golden "
              f"(first: vector {vector}, neuron {neuron}: got {results[vector, neuron]}, "
              f"expected {want[vector, neuron]})")
        return 1
    print(f"PASS: all {results.size} results ({macs} MACs) match the golden model")
    return 0
