"""Frames: when views redraw. One pacer, owned by the runner, that the views follow.

A frame is due every ``1/fps`` seconds on fixed deadlines: a frame that comes a little
late is made up on the next one (the rate holds over a run), and after falling more
than a frame behind the pacer starts afresh instead of bursting frames to catch up.
A frame up to 5% early (timer jitter) still counts as due.
"""

from __future__ import annotations

from collections.abc import Callable

from .._checks import check_number

__all__ = ["FramePacer"]


class FramePacer:
    """Lets at most ``fps`` frames per second through, on a monotonic clock.

    ``ready()`` says whether a frame is due now (and counts it); ``wait()`` says how
    long until the next one is due, which is how the live runner sleeps. The time is
    the wall clock's monotonic seconds by default; pass ``t`` to pace on another
    timeline (the runner's ``frames="sim"`` paces on simulated seconds).

    >>> t = [0.0]
    >>> pacer = FramePacer(fps=10, monotonic=lambda: t[0])
    >>> pacer.ready(), pacer.ready(), round(pacer.wait(), 3)
    (True, False, 0.1)
    >>> t[0] = 0.1
    >>> pacer.ready(), pacer.passed, pacer.skipped
    (True, 2, 1)
    >>> FramePacer(fps=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: fps=0 is invalid: must be a number > 0
    """

    def __init__(self, fps: float = 10, *, monotonic: Callable[[], float] | None = None) -> None:
        self.fps = check_number("fps", fps, minimum=0, strict=True)
        if monotonic is None:
            from ..clock import WallClock  # the only module allowed to read the time

            monotonic = WallClock().monotonic
        self._monotonic = monotonic
        self.interval = 1.0 / self.fps
        self._early = 0.05 * self.interval
        self._next: float | None = None
        self.passed = 0
        self.skipped = 0

    def now(self) -> float:
        """The pacer's time in seconds (monotonic)."""
        return self._monotonic()

    def reset(self, t: float | None = None) -> None:
        """Forget the schedule; with ``t``, the first frame is due one interval after it."""
        self._next = None if t is None else t + self.interval

    def due(self, t: float | None = None) -> bool:
        """True when a frame is due at ``t`` (default now), without counting it."""
        if self._next is None:
            return True
        return (self._monotonic() if t is None else t) >= self._next - self._early

    def ready(self, t: float | None = None) -> bool:
        """True (and the frame is counted) when a frame is due at ``t`` (default now)."""
        if t is None:
            t = self._monotonic()
        if not self.due(t):
            self.skipped += 1
            return False
        if self._next is None or t - self._next > self.interval:
            self._next = t + self.interval  # first frame, or more than a frame behind
        else:
            self._next += self.interval  # fixed deadlines: a late frame is made up
        self.passed += 1
        return True

    def wait(self, t: float | None = None) -> float:
        """Seconds from ``t`` (default now) until the next frame is due (0 if it is)."""
        if self._next is None:
            return 0.0
        return max(0.0, self._next - (self._monotonic() if t is None else t))

    def __repr__(self) -> str:
        return f"FramePacer(fps={self.fps:g}, passed={self.passed}, skipped={self.skipped})"
