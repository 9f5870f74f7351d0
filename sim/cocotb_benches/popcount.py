"""cocotb bench: Popcount against ``golden.xnor_popcount_dot``.

Every cycle a new word enters ``data`` (random words mixed with all-zeros, all-ones, single
bits and single holes); ``count`` is checked every cycle ``latency`` cycles later against the
golden XNOR-popcount of the word with an all-ones weight (``(dot + width) / 2`` = number of 1
bits). Reported MACs: bits counted (one binary product each in an XNOR-popcount dot product).

Config: ``width``, ``latency``, ``beats``, ``seed``.
"""

import cocotb
import numpy as np

from bitmac import golden

from .harness import BenchReport, ClockedLoop, InOrderScoreboard, PayloadCodec, load_config

__all__ = ["popcount_words", "popcount_bench"]


def popcount_words(rng, width, count):
    """``count`` test words of ``width`` bits as Python ints: corners first, then random
    words of random density (so counts near 0 and near ``width`` are reached too)."""
    full = (1 << width) - 1
    corners = [0, full] + [1 << bit for bit in range(width)] + [full ^ (1 << bit)
                                                                   for bit in range(width)]
    words = corners[:count]
    while len(words) < count:
        density = rng.random()
        bits = rng.random(width) < density
        words.append(int(sum(1 << int(index) for index in np.flatnonzero(bits))))
    return words


def _golden_counts(words, width):
    # Bits of each word as ±1 against an all-(+1) weight row: popcount = (dot + width) / 2.
    bits = np.array([[(word >> index) & 1 for index in range(width)] for word in words],
                    dtype=np.uint8)
    a_bits = golden.pack_bits(np.where(bits == 1, 1, -1))
    w_bits = golden.pack_bits(np.ones((1, width), dtype=np.int8))
    dots = golden.binary_gemm(a_bits, w_bits, width)[:, 0]
    return ((dots + width) // 2).tolist()


class _PipelineAgent:
    """Drives one word per cycle and compares ``count`` with the word ``latency`` cycles back."""

    def __init__(self, dut, words, latency, scoreboard, width):
        self.dut, self.words, self.latency = dut, words, latency
        self.scoreboard, self.width = scoreboard, width
        self.cycle = 0
        self.received = 0

    def drive(self):
        if self.cycle < len(self.words):
            self.dut.data.value = self.words[self.cycle]

    def sample(self):
        index = self.cycle - self.latency
        if 0 <= index < len(self.words):
            self.scoreboard.check(self.dut.count.value.to_unsigned())
            self.received += 1
        self.cycle += 1


@cocotb.test()
async def popcount_bench(dut):
    config = load_config()
    width, latency = config["width"], config["latency"]
    rng = np.random.default_rng(config.get("seed", 0))
    words = popcount_words(rng, width, config["beats"])
    scoreboard = InOrderScoreboard(PayloadCodec([{"name": "payload", "offset": 0,
                                                  "width": width.bit_length(),
                                                  "signed": False}]))
    for index, count in enumerate(_golden_counts(words, width)):
        scoreboard.expect(count, f"word {index} ({words[index]:#x})", macs=width)
    agent = _PipelineAgent(dut, words, latency, scoreboard, width)
    loop = ClockedLoop(dut, [agent])
    await loop.start()
    report = BenchReport("popcount", config)
    stopped = await loop.run(lambda: scoreboard.done, max_cycles=len(words) + latency + 8,
                             wall_timeout=config.get("timeout"))
    report.vectors, report.cycles = len(words), loop.cycles
    report.write([scoreboard], stopped=stopped, log=dut._log)
