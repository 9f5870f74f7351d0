"""A simulated serial line to a simulated board.

:class:`SimulatedSerial` runs :class:`~bitmac.boards.top.BoardTop` in the Amaranth simulator
and offers the part of pyserial's ``Serial`` API that :class:`~bitmac.boards.host.HostLink`
uses (``write``, ``read``, ``reset_input_buffer``, ``close``), so the same host driver talks
to the simulated gateware bit by bit: host bytes become 8N1 levels on the top's ``rx`` pin and
the ``tx`` pin is sampled in the middle of each bit, as a USB-serial bridge would.

The simulation advances only while the host waits in ``read``: it runs until the requested
bytes have arrived, or until ``timeout_cycles`` simulated cycles pass with nothing on the line
and nothing left to send (the board does not answer), then returns what it has, like a serial
read that timed out.
"""

from collections import deque

from amaranth.sim import Simulator

__all__ = ["SimulatedSerial"]

SIM_PERIOD = 1e-6  # simulated seconds per clock cycle; only the cycle count matters


async def _ticks(ctx, count):
    # Plain awaits rather than ctx.tick().repeat(): a background testbench is left suspended
    # when the session ends, and a suspended repeat() complains when it is collected.
    for _ in range(count):
        await ctx.tick()


class SimulatedSerial:
    """pyserial-like port on a simulated :class:`~bitmac.boards.top.BoardTop`.

    Parameters
    ----------
    top : BoardTop
        The board; use a small UART divisor (e.g. ``clk_freq=1_000_000, baud=250_000``: 4
        cycles per bit) to keep the simulation fast.
    timeout_cycles : int, optional
        Idle cycles after which ``read`` gives up. Default: enough for the longest command
        (the link's stall window plus a frame timeout plus a few characters).
    vcd : str, optional
        Write a waveform of the whole session to this file (closed by :meth:`close`).

    Attributes
    ----------
    cycles : int
        Simulated clock cycles so far.
    name : str
        ``"sim"``, shown in messages.
    """

    name = "sim"

    def __init__(self, top, *, timeout_cycles=None, vcd=None):
        self.top = top
        self.divisor = top.divisor
        if timeout_cycles is None:
            core = top.core
            timeout_cycles = core.stall_cycles + 2 * core.timeout_cycles + 40 * self.divisor
        self.timeout_cycles = timeout_cycles
        self.cycles = 0
        self._to_board = deque()
        self._from_board = bytearray()
        self._sending = False
        self._sim = Simulator(top)
        self._sim.add_clock(SIM_PERIOD)
        self._sim.add_testbench(self._line_to_board, background=True)
        self._sim.add_testbench(self._line_from_board, background=True)
        self._waves = None
        if vcd is not None:
            self._waves = self._sim.write_vcd(vcd)
            self._waves.__enter__()

    async def _line_to_board(self, ctx):
        divisor = self.divisor
        ctx.set(self.top.rx, 1)
        while True:
            if not self._to_board:
                self._sending = False
                await _ticks(ctx, divisor)
                continue
            self._sending = True
            byte = self._to_board.popleft()
            for level in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                ctx.set(self.top.rx, level)
                await _ticks(ctx, divisor)

    async def _line_from_board(self, ctx):
        divisor = self.divisor
        while True:
            await ctx.negedge(self.top.tx)
            # Middle of the start bit, then the middle of every following bit.
            await _ticks(ctx, divisor // 2)
            levels = []
            for index in range(10):
                if index:
                    await _ticks(ctx, divisor)
                levels.append(ctx.get(self.top.tx))
            if levels[0] == 0 and levels[9] == 1:
                self._from_board.append(sum(bit << i for i, bit in enumerate(levels[1:9])))

    def _advance(self, cycles):
        self.cycles += cycles
        self._sim.run_until(self.cycles * SIM_PERIOD)

    # -- the pyserial subset ---------------------------------------------------------------------

    def write(self, data):
        """Queue ``data`` for the line; it is sent while the simulation runs (in ``read``)."""
        self._to_board.extend(bytes(data))
        return len(data)

    def read(self, size=1):
        """Return ``size`` bytes from the board, or fewer when it stays silent for
        ``timeout_cycles``."""
        step = 10 * self.divisor  # one character
        idle = 0
        while len(self._from_board) < size and idle < self.timeout_cycles:
            before = len(self._from_board)
            busy = self._sending or bool(self._to_board)
            self._advance(step)
            idle = 0 if busy or len(self._from_board) != before else idle + step
        data = bytes(self._from_board[:size])
        del self._from_board[:size]
        return data

    @property
    def in_waiting(self):
        return len(self._from_board)

    def reset_input_buffer(self):
        self._from_board.clear()

    def flush(self):
        pass

    def idle(self, cycles):
        """Let the simulated board run ``cycles`` cycles with the host silent."""
        self._advance(cycles)

    def close(self):
        if self._waves is not None:
            self._waves.__exit__(None, None, None)
            self._waves = None
