"""RestartWatch: what a freshness badge says after its run restarted.

A run restarts three ways, and a badge must not read plain "fresh" on half a window:

- restored from a checkpoint (:class:`rtnb.Checkpointer`): the window is whole again
  (its contents were saved), so the data is as fresh as it says; the badge notes the
  restart for one window;
- started without a checkpoint over earlier data of the metric (a kernel restarted on
  the same store): the window holds only the events read since — the badge says
  **restarted** (not fresh) until one window of data has come in;
- started again with Start after a stop: noted for one window.

A kernel restart itself is seen by the browser (the badge's kernel is gone: ``_badge.js``).
The checkpointer reports a restore on the runner's error log as a ``Restored`` entry;
this reads the entries it has not seen yet (the log counts them), nothing else.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["RestartWatch"]

_PARTIAL = "started without a checkpoint"


class RestartWatch:
    """The newest restart of a run and whether its window has filled since.

    >>> from rtnb.health import ErrorLog
    >>> class Run:                       # what the watch reads of a runner
    ...     errors = ErrorLog()
    >>> run, t = Run(), pd.Timestamp("2024-01-01 12:00")
    >>> watch = RestartWatch()
    >>> watch.update(run, "running", t, newest=t, window=pd.Timedelta("1min"))
    ('', False)
    >>> _ = run.errors.report("pipeline", "orders: checkpoint", type("Restored", (Exception,), {})(
    ...     "started without a checkpoint over earlier data of this metric in the store"), at=t)
    >>> watch.update(run, "running", t, newest=t + pd.Timedelta("10s"), window=pd.Timedelta("1min"))
    ('restarted at 12:00:00 without a checkpoint: the window holds only what came since', True)
    >>> watch.update(run, "running", t, newest=t + pd.Timedelta("61s"), window=pd.Timedelta("1min"))
    ('', False)
    """

    def __init__(self) -> None:
        self._seen = 0  # entries of the runner's error log already read
        self._at: pd.Timestamp | None = None
        self._note = ""
        self._partial = False
        self._last_run = ""

    def update(self, runner: Any, run_state: str, now: pd.Timestamp | None, *, newest: pd.Timestamp | None,
               window: pd.Timedelta | None) -> tuple[str, bool]:
        """``(note, partial)`` now: the words for the newest restart while its window has
        not passed ("" when there is none), and whether the window is still partial."""
        log = getattr(runner, "errors", None)
        count = getattr(log, "count", 0) if log is not None else 0
        if count > self._seen:
            for err in list(getattr(log, "recent", ()))[-(count - self._seen):]:
                if getattr(err, "kind", "") == "Restored":
                    at = pd.Timestamp(err.at)
                    partial = str(err.message).startswith(_PARTIAL)
                    self._restart(at, "restarted at {t} without a checkpoint: the window holds only what came since"
                                  if partial else "restarted from its checkpoint at {t}", partial)
            self._seen = count
        if run_state == "running" and self._last_run == "stopped" and now is not None:
            self._restart(pd.Timestamp(now), "run restarted at {t}", False)
        self._last_run = run_state or self._last_run
        if self._at is None:
            return "", False
        span = window if window is not None and pd.notna(window) else pd.Timedelta(0)
        if newest is not None and pd.notna(newest) and newest >= self._at + span:
            self._at, self._note, self._partial = None, "", False  # a whole window since: nothing to say
            return "", False
        return self._note, self._partial

    def _restart(self, at: pd.Timestamp, words: str, partial: bool) -> None:
        self._at, self._partial = at, partial
        self._note = words.format(t=at.strftime("%H:%M:%S"))
