"""cocotb bench: Int8Mac against ``golden.int8_gemm``.

Sums of random length (1..``max_depth`` products) are fed ``simd`` products per cycle (the
last chunk of a sum zero-padded) with random bubbles on ``valid``; the first chunk of each sum
has ``clear`` high. Operands are random int8 with
runs of the extremes (-128 x -128, -128 x 127, 127 x 127, zeros) mixed in. Every cycle with
``acc_valid`` the running sum is compared, in order, with the golden value: the sum after
each chunk, computed by ``golden.int8_gemm`` on the prefix-masked operands (so int8_gemm's
exact arithmetic is the reference, and the accumulator width must hold the sum).

With ``reset_at`` (a fraction of the run), ``rst`` is raised in the middle of a sum while
products are in flight: the lane must drop them, so the bench drops what it still expected
and starts again from the first chunk (with ``clear``) of the sum that was cut.

``enable`` (the MAC's clock enable, DSP blocks included) is low in a random share ``freeze``
of the cycles, with garbage operands and ``valid`` high: nothing may move, so the chunk is
presented again in the next enabled cycle, and ``acc_valid`` counts only after enabled edges.

Config: ``simd``, ``sums``, ``max_depth``, ``seed``, ``stall``, ``freeze`` (default 0),
``reset_at`` (optional).
"""

import cocotb
import numpy as np

from bitmac import golden

from .harness import BenchReport, ClockedLoop, InOrderScoreboard, codec_for, load_config, \
    stall_pattern

__all__ = ["int8_mac_bench", "mac_operands", "chunk_sums"]

_EXTREMES = np.array([[-128, -128], [-128, 127], [127, -128], [127, 127], [0, 0], [-1, -1]],
                     dtype=np.int8)


def mac_operands(rng, sums, max_depth):
    """``sums`` pairs of int8 vectors (a, b) of random lengths; every fourth sum is built
    from one extreme pair repeated, so the accumulator reaches its largest magnitudes."""
    pairs = []
    for index in range(sums):
        depth = int(rng.integers(1, max_depth + 1))
        if index % 4 == 3:
            extreme = _EXTREMES[rng.integers(len(_EXTREMES))]
            a = np.full(depth, extreme[0], dtype=np.int8)
            b = np.full(depth, extreme[1], dtype=np.int8)
        else:
            a = rng.integers(-128, 128, depth, dtype=np.int8)
            b = rng.integers(-128, 128, depth, dtype=np.int8)
        pairs.append((a, b))
    return pairs


def chunk_sums(a, b, simd):
    """Running sums of a·b after each chunk of ``simd`` products, from the golden GEMM on
    prefix-masked rows."""
    ends = np.minimum(np.arange(1, -(-len(a) // simd) + 1) * simd, len(a))
    rows = np.where(np.arange(len(a))[None, :] < ends[:, None], a[None, :], 0).astype(np.int8)
    return golden.int8_gemm(rows, b[None, :])[:, 0]


class _MacAgent:
    def __init__(self, dut, products, scoreboard, stalls, freezes, garbage):
        self.dut, self.products, self.scoreboard = dut, products, scoreboard
        self.stalls, self.freezes, self.garbage = stalls, freezes, garbage
        self.enabled = True     # the enable of the edge the next sample follows
        self.index = 0
        self.tick = 0
        self.sent = 0
        self.received = 0
        self.codec = scoreboard.codec

    def drive(self):
        self.tick += 1
        dut = self.dut
        self.enabled = not self.freezes[self.tick % len(self.freezes)]
        dut.enable.value = int(self.enabled)
        if not self.enabled:
            # A frozen cycle: garbage that must not be taken.
            a, b = self.garbage[self.tick % len(self.garbage)]
            dut.a.value, dut.b.value, dut.clear.value, dut.valid.value = a, b, 1, 1
            return
        if self.index < len(self.products) and not self.stalls[self.tick % len(self.stalls)]:
            a, b, clear = self.products[self.index]
            dut.a.value, dut.b.value, dut.clear.value = a, b, clear
            dut.valid.value = 1
            self.index += 1
            self.sent += 1
        else:
            dut.valid.value = 0

    def reset(self):
        self.dut.valid.value = 0
        self.dut.enable.value = 1
        self.enabled = True

    def sample(self):
        if self.enabled and self.dut.acc_valid.value:
            self.received += 1
            self.scoreboard.check(self.dut.acc.value.to_unsigned())


@cocotb.test()
async def int8_mac_bench(dut):
    config = load_config()
    rng = np.random.default_rng(config.get("seed", 0))
    simd = config.get("simd", 1)
    scoreboard = InOrderScoreboard(codec_for(config, "acc"))
    operand = codec_for(config, "a")
    products, expectations, sum_start = [], [], []
    pairs = mac_operands(rng, config["sums"], config["max_depth"])
    for number, (a, b) in enumerate(pairs):
        for step, value in enumerate(chunk_sums(a, b, simd)):
            chunk = slice(step * simd, (step + 1) * simd)
            lanes_a = np.zeros(simd, dtype=np.int64)
            lanes_b = np.zeros(simd, dtype=np.int64)
            lanes_a[:len(a[chunk])], lanes_b[:len(b[chunk])] = a[chunk], b[chunk]
            sum_start.append(len(products) - step)
            products.append((operand.encode(lanes_a.tolist()), operand.encode(lanes_b.tolist()),
                             1 if step == 0 else 0))
            expectations.append((int(value), f"sum {number} chunk {step} (a {a[chunk].tolist()}, "
                                          f"b {b[chunk].tolist()})", len(a[chunk])))
    for expectation in expectations:
        scoreboard.expect(*expectation)
    garbage = [(operand.encode(rng.integers(-128, 128, simd).tolist()),
                operand.encode(rng.integers(-128, 128, simd).tolist())) for _ in range(61)]
    agent = _MacAgent(dut, products, scoreboard, stall_pattern(rng, config.get("stall", 0.2)),
                      stall_pattern(rng, config.get("freeze", 0.0)), garbage)
    loop = ClockedLoop(dut, [agent])
    await loop.start()
    report = BenchReport("int8_mac", config)
    budget = dict(max_cycles=16 * len(products) + 64, wall_timeout=config.get("timeout"))
    stopped = None
    if config.get("reset_at") is not None:
        # Cut a sum that has more than one chunk, so the reset lands inside it.
        target = int(config["reset_at"] * len(products))
        while target < len(products) - 1 and products[target + 1][2]:
            target += 1
        target += 1
        stopped = await loop.run(lambda: agent.index >= target, **budget)
        in_flight = agent.sent - agent.received
        await loop.reset()
        restart = sum_start[min(agent.index, len(products) - 1)]
        if agent.index < len(products) and products[agent.index][2]:
            restart = agent.index
        dropped = scoreboard.flush()
        for expectation in expectations[restart:]:
            scoreboard.expect(*expectation)
        agent.index = restart
        report.extra["reset"] = {"at_chunk": target, "restart_chunk": restart,
                                 "chunks_in_flight": in_flight,
                                 "expected_beats_dropped": dropped}
    stopped = stopped or await loop.run(lambda: scoreboard.done, **budget)
    report.vectors, report.cycles = len(pairs), loop.cycles
    report.write([scoreboard], stopped=stopped, log=dut._log)
