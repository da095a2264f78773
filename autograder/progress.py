"""A progress bar on the terminal: done, rate, time left. Silent when stderr is not a terminal."""

import sys
import time


class Progress:
    def __init__(self, total, what, stream=sys.stderr, width=30):
        self.total, self.what, self.stream, self.width = total, what, stream, width
        self.done = 0
        self.started = time.monotonic()
        self.live = stream.isatty()
        self._draw()

    def advance(self, count=1):
        self.done += count
        self._draw()

    def _draw(self):
        if not self.live:
            return
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        filled = self.width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        eta = f"{left:4.0f} s left" if left == left else "   ? s left"
        self.stream.write(f"\r{self.what} [{bar}] {self.done}/{self.total}  {rate:4.1f}/s  {eta}")
        self.stream.flush()

    def close(self):
        if self.live:
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r{self.what}: {self.total} in {elapsed:.1f} s".ljust(80) + "\n")
