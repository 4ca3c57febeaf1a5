"""The runner: the one place that schedules work.

It pulls batches from sources, pushes them into a streamz ``Stream`` and advances time,
and paces the frames the views redraw on. Nothing else in rtnb touches an event loop or
a thread. Its parts, one concept each:

- :class:`Runner` (``_runner.py``) — simulated stepping, the live task, start/stop/pause/resume;
- :class:`Sources` (``_sources.py``) — the sources as one schedule: their readers, and
  every batch a read answered handed to the stream (a stage that raises reported);
- :class:`SourceReader` (``_reads.py``) — one source's cursor, its ``max_rows`` cap and
  the rate it was read at, and live reads on a worker thread with a timeout;
- :class:`LiveRun` (``_live.py``) — one live run on the kernel's loop: the frame loop,
  its naps, and ``stop()`` that takes effect at once;
- :class:`FramePacer` (``_frames.py``) — when a frame is due; the views follow it;
  :class:`FrameAcks` — frames a screen has not shown yet (a slow page gets fewer
  frames, not a backlog); :class:`FrameCallbacks` — the views' callbacks, a slow one skipped, not waited on.

Health types (:class:`~rtnb.health.SourceHealth`, :class:`~rtnb.health.RunnerHealth`,
:class:`~rtnb.RunError`, the :class:`~rtnb.health.ErrorLog`) live in :mod:`rtnb.health`
and are re-exported here; :class:`~rtnb.QueueSource` lives in :mod:`rtnb.sources.queue`.

- **Simulated mode** — ``run(duration)`` steps a :class:`~rtnb.SimClock` tick by tick,
  synchronously, as fast as the CPU allows; it returns when the simulated time has
  passed. Same seed, same answers.
- **Live mode** — ``start(duration=None, speedup=1.0)`` runs as a background task on the
  kernel's own asyncio loop (so widgets update on the kernel's thread), with
  ``pause()``, ``resume()`` and ``stop()``. With a ``SimClock`` the simulated time moves
  ``speedup`` times faster than the wall clock (60 plays an hour in a minute); with a
  ``WallClock`` it is real time. A ``duration`` (wall seconds) stops it by itself, which
  is what lets a live notebook terminate under nbval.

Frame callbacks (``on_frame``) are how views redraw: at most ``fps`` times per wall
second whatever the event rate, also while paused, and once at the end of ``run()``.

Live reads run on worker threads: a read that blocks never blocks the kernel, and
``stop()`` and ``duration`` take effect on time whatever a source does. Reads are capped
at ``max_rows``, so a backlog is caught up over several steps (``catching up`` in health).

Failures never stop the loop and are never silent: a source that raises
(:class:`~rtnb.SourceUnavailable` for an outage) or does not answer within
``read_timeout`` is marked down and its interval is asked for again, so no event is
lost; an exception raised downstream (a stage, a user's sink, a view) is recorded. Both appear in ``runner.health`` and on the
``runner.errors`` stream.

>>> import pandas as pd, rtnb
>>> class Ticks:
...     '''One event per second of arrival time.'''
...     name, keys, measures, id_col = "ticks", (), ("value",), None
...     def read(self, start, end):
...         ts = pd.date_range(start.ceil("s"), end, freq="s", inclusive="left")
...         return pd.DataFrame({"ts": ts, "arrival": ts, "value": 1.0})
>>> runner = rtnb.Runner(Ticks(), clock=rtnb.SimClock(start="2024-01-01"), tick="10s")
>>> total = runner.stream.accumulate(lambda acc, b: acc + len(b), start=0).sink_to_list()
>>> runner.run("1min")
>>> total[-1], runner.clock.now()
(60, Timestamp('2024-01-01 00:01:00'))
>>> runner.health.sources["ticks"].status
'up'
"""

from __future__ import annotations

from ..health import ErrorLog, RunError, RunnerHealth, RunnerState, SourceHealth, SourceStatus
from ..sources.queue import QueueSource
from ._frames import FrameAcks, FrameCallbacks, FramePacer
from ._live import LiveRun
from ._reads import SourceReader, SourceTimeout
from ._frames import FrameCallback
from ._runner import Runner

__all__ = [
    "Runner", "RunError", "RunnerHealth", "SourceHealth", "QueueSource", "FramePacer",
    "SourceReader", "SourceTimeout", "ErrorLog", "RunnerState", "SourceStatus", "FrameCallback",
    "FrameCallbacks", "FrameAcks", "LiveRun",
]
