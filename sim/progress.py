"""A dependency-free progress line for long work (builds, long simulations).

Writes ``label [#####.....] 42/100 3.1 s`` to stderr, updated in place on a terminal and every
10 % otherwise (so CI logs stay short).
"""

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Progress of ``total`` steps, used as a context manager::

        with Progress("simulate", total=len(vectors)) as progress:
            for vector in vectors:
                ...
                progress.advance()
    """

    def __init__(self, label, total, *, stream=None, enabled=True, width=30):
        self.label = label
        self.total = max(int(total), 1)
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self._interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_decile = -1
        self._start = time.monotonic()

    def __enter__(self):
        self._start = time.monotonic()
        self._draw()
        return self

    def __exit__(self, *exc):
        if self.enabled and self._interactive:
            self.stream.write("\n")
            self.stream.flush()
        return False

    @property
    def elapsed(self):
        return time.monotonic() - self._start

    def advance(self, steps=1, note=""):
        self.done = min(self.done + steps, self.total)
        self._draw(note)

    def _draw(self, note=""):
        if not self.enabled:
            return
        filled = self.width * self.done // self.total
        line = (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{self.done}/{self.total} {self.elapsed:.1f} s {note}").rstrip()
        if self._interactive:
            self.stream.write("\r" + line)
            self.stream.flush()
        else:
            decile = 10 * self.done // self.total
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(line + "\n")
                self.stream.flush()
