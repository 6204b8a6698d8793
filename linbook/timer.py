"""Wall-clock timing of repeated runs (``Timer``), as in d2l."""

from __future__ import annotations

import time

__all__ = ["Timer"]


class Timer:
    """Record the duration of several runs.

    The timer starts as soon as it is created. Each :meth:`stop` records the
    time since the last :meth:`start` and returns it.

    Examples
    --------
    >>> timer = Timer()
    >>> _ = sum(range(1000))
    >>> elapsed = timer.stop()
    >>> elapsed >= 0 and len(timer.times) == 1
    True
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = time.perf_counter()

    def start(self) -> None:
        """Start (or restart) the clock."""
        self._start = time.perf_counter()

    def stop(self) -> float:
        """Stop the clock, record the interval and return it in seconds."""
        self.times.append(time.perf_counter() - self._start)
        return self.times[-1]

    def avg(self) -> float:
        """Return the mean of the recorded intervals (seconds)."""
        if not self.times:
            raise ValueError("no interval recorded yet; call start() and stop() first")
        return sum(self.times) / len(self.times)

    def sum(self) -> float:
        """Return the total of the recorded intervals (seconds)."""
        return sum(self.times)

    def cumsum(self) -> list[float]:
        """Return the running totals of the recorded intervals (seconds)."""
        totals: list[float] = []
        running = 0.0
        for interval in self.times:
            running += interval
            totals.append(running)
        return totals
