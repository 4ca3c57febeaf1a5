"""A circuit breaker: once a dependency fails, stop calling it on every request.

While it is *up* every call goes through. The first failure opens it (*down*): from then
on :meth:`CircuitBreaker.allow` says yes at most once per ``retry_every`` of the clock's
time — one probe — and no otherwise, so a hung server costs one deadline per
``retry_every``, not one per call. A probe that works closes it again.

>>> import pandas as pd
>>> from rtnb import SimClock
>>> clock = SimClock(start="2024-01-01")
>>> breaker = CircuitBreaker(pd.Timedelta("2s"), clock)
>>> breaker.allow(), breaker.up
(True, True)
>>> breaker.failed("TimeoutError: Timeout reading from socket")
>>> breaker.allow(), breaker.status             # down: no call until the next probe
(False, 'down')
>>> _ = clock.advance("2s")
>>> breaker.allow(), breaker.allow()            # one probe per retry_every
(True, False)
>>> breaker.succeeded()                         # True: it was down and is up again
True
>>> breaker
CircuitBreaker(up, failures=1, probes=1)
"""

from __future__ import annotations

import pandas as pd

from ..clock import Clock

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    """Up or down, with one probe per ``retry_every`` while down (see the module doc)."""

    def __init__(self, retry_every: pd.Timedelta, clock: Clock) -> None:
        self.retry_every = retry_every
        self.clock = clock
        self.up = True
        self.last_error: str | None = None
        self.down_since: pd.Timestamp | None = None
        self.failures = 0    # calls that failed
        self.probes = 0      # calls let through while down
        self._last_attempt: pd.Timestamp | None = None

    @property
    def status(self) -> str:
        """``"up"`` or ``"down"``."""
        return "up" if self.up else "down"

    def allow(self, *, force: bool = False) -> bool:
        """Whether to call the dependency now (``force``: probe whatever the schedule)."""
        if self.up:
            return True
        now = self.clock.now()
        if not force and self._last_attempt is not None and \
                now - self._last_attempt < self.retry_every:
            return False
        self._last_attempt = now
        self.probes += 1
        return True

    def failed(self, error: str) -> None:
        """A call failed with ``error`` (a message without secrets): the breaker opens."""
        now = self.clock.now()
        if self.up:
            self.down_since = now
        self.up = False
        self.last_error = error
        self.failures += 1
        self._last_attempt = now

    def succeeded(self) -> bool:
        """A call worked; returns True when that closed an open breaker."""
        was_down = not self.up
        self.up = True
        self.down_since = None
        return was_down

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.status}, failures={self.failures}, probes={self.probes})"
