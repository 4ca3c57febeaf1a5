"""Clocks: the only place rtnb reads the time.

Library code never calls ``time.time()`` or ``pd.Timestamp.now()``; it asks a
:class:`Clock` passed to it. :class:`SimClock` is moved by hand (or by the runner), so
simulations run as fast as the CPU allows and are reproducible; :class:`WallClock`
reads the system time, for live demos.

>>> clock = SimClock(start="2024-01-01 09:00")
>>> clock.now()
Timestamp('2024-01-01 09:00:00')
>>> clock.advance("90s")
Timestamp('2024-01-01 09:01:30')
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import pandas as pd

from ._errors import ParameterError
from ._time import DurationLike, TimeLike, to_duration, to_timestamp

__all__ = ["Clock", "SimClock", "WallClock"]


@runtime_checkable
class Clock(Protocol):
    """What rtnb needs of a clock: the current time.

    ``now()`` returns a tz-naive UTC ``pandas.Timestamp``. ``simulated`` says whether
    the clock is moved by the program (True) or follows the system time (False).

    >>> isinstance(SimClock(), Clock), isinstance(WallClock(), Clock)
    (True, True)
    """

    simulated: bool

    def now(self) -> pd.Timestamp: ...


class SimClock:
    """A simulated clock that moves only when told to.

    Parameters
    ----------
    start
        The initial time (default ``2024-01-01 00:00``, a Monday).

    >>> c = SimClock(start="2024-01-01")
    >>> c.advance(3600).hour
    1
    >>> c.advance_to("2024-01-01 03:00")
    Timestamp('2024-01-01 03:00:00')
    >>> c.advance_to("2023-12-31")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: t=Timestamp('2023-12-31 00:00:00') is invalid: is before the clock's current time 2024-01-01 03:00:00; a clock never goes back
    """

    simulated = True

    def __init__(self, start: TimeLike = "2024-01-01") -> None:
        self._now = to_timestamp(start, "start")

    def now(self) -> pd.Timestamp:
        """The current simulated time."""
        return self._now

    def advance(self, dt: DurationLike) -> pd.Timestamp:
        """Move forward by ``dt`` (a duration or seconds); returns the new time."""
        self._now = self._now + to_duration(dt, "dt", allow_zero=True)
        return self._now

    def advance_to(self, t: TimeLike) -> pd.Timestamp:
        """Move forward to ``t``; moving backwards raises :class:`ParameterError`."""
        ts = to_timestamp(t, "t")
        if ts < self._now:
            raise ParameterError(
                "t", ts, f"is before the clock's current time {self._now}; a clock never goes back"
            )
        self._now = ts
        return self._now

    def __repr__(self) -> str:
        return f"SimClock(now={self._now.isoformat()!r})"


class WallClock:
    """The system clock (UTC), for live runs.

    >>> WallClock().now() > pd.Timestamp("2020-01-01")
    True
    """

    simulated = False

    def now(self) -> pd.Timestamp:
        """The current system time as a tz-naive UTC timestamp."""
        return pd.Timestamp(time.time_ns())

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never go back (for pacing loops)."""
        return time.monotonic()

    def perf(self) -> float:
        """The highest-resolution elapsed-time counter, in seconds (for measuring work)."""
        return time.perf_counter()

    def cpu(self) -> float:
        """CPU seconds used by this process so far (for measuring work)."""
        return time.process_time()

    def __repr__(self) -> str:
        return "WallClock()"
