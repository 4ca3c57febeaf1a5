"""Frames: when views redraw. One pacer, owned by the runner, that the views follow,
and the runner's frame callbacks, none of which may hold every frame.

A frame is due every ``1/fps`` seconds on fixed deadlines: a frame that comes a little
late is made up on the next one (the rate holds over a run), and after falling more
than a frame behind the pacer starts afresh instead of bursting frames to catch up.
A frame up to 5% early (timer jitter) still counts as due.

A screen slower than the pacer is not sent a backlog: :class:`FrameAcks` counts the
frames a screen has acknowledged, and a view holds a frame back while too many are in
flight (sent, not yet shown), so the screen never runs more than a frame or two
behind its kernel — a slow page gets fewer frames, each of them current. While the
screen says nobody sees it (every view hidden, frozen or closed) no frame goes at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from .._checks import check_int, check_number
from .._errors import ParameterError, RtnbError

__all__ = ["FramePacer", "FrameAcks", "FrameCallbacks", "FrameCallback"]

FrameCallback = Callable[[pd.Timestamp], Any]


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


class FrameAcks:
    """Frames sent to a screen and not yet acknowledged by it: the pacer's backpressure.

    The sender numbers its frames (:meth:`sent`); the screen acknowledges the newest
    frame it has drawn (:meth:`acked`; the freshness badge's front-end does, after the
    next paint). ``ready()`` is False while ``limit`` frames or more are in flight, so
    a page that draws slower than the kernel makes frames gets fewer frames instead of
    a backlog (the quick-start page ran 21 s behind its kernel). Nothing is held back
    before the first acknowledgement (no screen shows the frames: a test, nbconvert,
    a front-end that does not acknowledge), and a frame goes at least every
    ``patience`` seconds (a lost acknowledgement never freezes a view).

    While ``hidden`` is True (the screen said that none of its views is shown: a hidden
    tab, a frozen page, a closed one) no frame goes, with no patience: a long-hidden tab
    acknowledges only at its browser's throttled timer rate (once a minute in Chrome),
    and the kernel kept drawing frames nobody saw, paced to that rate. The frames held
    so are counted in ``held_hidden``; once a view is shown again, frames flow at once.

    >>> t = [0.0]
    >>> acks = FrameAcks(limit=2, patience=1.0, monotonic=lambda: t[0])
    >>> acks.sent(1); acks.sent(2); acks.ready()        # no screen has acknowledged yet
    True
    >>> acks.acked(1); acks.in_flight, acks.ready()     # frame 2 in flight: one more may go
    (1, True)
    >>> acks.sent(3); acks.in_flight, acks.ready()      # two in flight: held back
    (2, False)
    >>> t[0] = 1.0; acks.ready()                         # ... for at most `patience`
    True
    >>> acks.acked(3); acks.in_flight, acks.held
    (0, 1)
    >>> acks.hidden = True; t[0] = 60.0; acks.ready(), acks.held_hidden   # nobody sees it
    (False, 1)
    >>> acks.hidden = False; acks.ready()
    True
    """

    def __init__(self, limit: int = 2, *, patience: float = 1.0,
                 monotonic: Callable[[], float] | None = None) -> None:
        self.limit = check_int("limit", limit, minimum=1)
        self.patience = check_number("patience", patience, minimum=0, strict=True)
        if monotonic is None:
            from ..clock import WallClock  # the only module allowed to read the time

            monotonic = WallClock().monotonic
        self._monotonic = monotonic
        self.last_sent = 0
        self.last_acked: int | None = None  # None: no screen has acknowledged a frame
        self._sent_at = -math.inf
        self.held = 0  # frames held back
        self.forced = 0  # frames sent after `patience` with too many in flight
        #: True while the screen says none of its views is shown: no frame is sent.
        self.hidden = False
        self.held_hidden = 0  # frames held back because no view was shown

    def now(self) -> float:
        """Its clock's monotonic seconds."""
        return self._monotonic()

    @property
    def in_flight(self) -> int:
        """Frames sent and not acknowledged (0 while no screen has acknowledged one)."""
        if self.last_acked is None:
            return 0
        return max(0, self.last_sent - self.last_acked)

    def sent(self, frame: int) -> None:
        """Frame number ``frame`` (increasing) was sent."""
        self.last_sent = max(self.last_sent, int(frame))
        self._sent_at = self._monotonic()

    def acked(self, frame: int | None) -> None:
        """The screen has drawn frame ``frame`` (and every one before it)."""
        if frame is not None:
            self.last_acked = int(frame) if self.last_acked is None else max(self.last_acked, int(frame))

    def ready(self) -> bool:
        """True when a frame may be sent now; a frame held back is counted."""
        if self.hidden:
            self.held_hidden += 1
            return False
        if self.in_flight < self.limit:
            return True
        if self._monotonic() - self._sent_at >= self.patience:
            self.forced += 1
            return True
        self.held += 1
        return False

    def __repr__(self) -> str:
        hidden = ", hidden" if self.hidden else ""
        return f"FrameAcks(limit={self.limit}, in_flight={self.in_flight}, held={self.held}{hidden})"


class FrameCallbacks:
    """The callbacks a runner calls on each frame (views' ``refresh``), in order.

    A failing callback is reported and the others still run. With a ``budget`` (wall
    seconds), a callback that takes longer is reported and skipped for as many frames
    as it overran, so one slow view cannot hold every frame of the kernel's loop (a
    running callback cannot be interrupted; it can be kept from running again at once).
    A frame without a budget (a run's final frame) calls every callback.

    >>> t, seen, errors = [0.0], [], []
    >>> def slow(now):
    ...     t[0] += 0.5   # takes half a second
    >>> calls = FrameCallbacks()
    >>> _ = calls.add(slow), calls.add(seen.append)
    >>> report = lambda where, name, exc: errors.append(str(exc))
    >>> for i in range(3):
    ...     calls.call(i, report, budget=0.2, fps=4, monotonic=lambda: t[0])
    >>> seen, errors   # slow ran on frame 0 only: skipped on 1 and 2, the others ran
    ([0, 1, 2], ['frame callback took 0.50 s (budget 0.2 s); skipped for 2 frames'])
    """

    def __init__(self) -> None:
        self._callbacks: list[FrameCallback] = []
        self._benched: dict[FrameCallback, int] = {}  # slow callbacks: frames left to skip

    def __len__(self) -> int:
        return len(self._callbacks)

    def __iter__(self):
        return iter(list(self._callbacks))

    def add(self, callback: FrameCallback) -> FrameCallback:
        if not callable(callback):
            raise ParameterError("callback", callback, "is not callable")
        self._callbacks.append(callback)
        return callback

    def remove(self, callback: FrameCallback) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)
        self._benched.pop(callback, None)

    def clear(self) -> None:
        self._callbacks.clear()
        self._benched.clear()

    def call(self, now: Any, report: Callable[[str, str, BaseException], None], *,
             budget: float | None, fps: float, monotonic: Callable[[], float]) -> None:
        """Call each callback with ``now``; ``report(where, name, exc)`` records failures."""
        for cb in list(self._callbacks):
            # Without a budget (the final frame of a run, a frame by hand) every callback
            # runs: a view benched by a slow frame must still see the run stop (its
            # Start button and "stopped" badge come from that frame).
            if budget is not None and self._benched.get(cb, 0) > 0:
                self._benched[cb] -= 1
                continue
            name = getattr(cb, "__qualname__", repr(cb))
            t0 = monotonic()
            try:
                cb(now)
            except Exception as exc:
                report("frame", name, exc)
            took = monotonic() - t0
            if budget is not None and took > budget:
                skip = math.ceil(took * fps)
                self._benched[cb] = skip
                report("frame", name, RtnbError(
                    f"frame callback took {took:.2f} s (budget {budget:g} s); skipped for {skip} frames"))
