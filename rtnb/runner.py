"""The runner: the one place that schedules work.

It pulls batches from sources, pushes them into a streamz ``Stream`` and advances time.

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

Failures never stop the loop and are never silent: a source that raises
(:class:`~rtnb.SourceUnavailable` for an outage) is marked down and asked again for the
same interval on the next tick, so no event is lost; an exception raised downstream
(a stage or a user's sink) is recorded. Both appear in ``runner.health`` and on the
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

import asyncio
import collections
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import streamz

from ._errors import ParameterError, RtnbError, SourceError, SourceUnavailable
from ._time import DurationLike, to_duration
from .clock import Clock, SimClock, WallClock
from .health import ErrorLog, RunError, RunnerHealth, RunnerState, SourceHealth, SourceStatus
from .sources._base import Source

__all__ = ["Runner", "RunError", "RunnerHealth", "SourceHealth", "QueueSource"]

FrameCallback = Callable[[pd.Timestamp], Any]


class Runner:
    """Schedules sources into a streamz stream, in simulated or live time.

    Parameters
    ----------
    source
        A source (anything with ``read(start, end)``, see :class:`rtnb.Source`) or a
        list of them. Each tick, each source is asked for the events that arrived
        since its last successful read.
    clock
        The clock to run on; default a new :class:`~rtnb.SimClock`.
    tick
        Simulated time per step of :meth:`run` (the batch span). Live mode reads once
        per frame whatever this is.
    fps
        Frames per wall second for frame callbacks (views), default 10.
    stall_after
        A source that answers without rows for longer than this (clock time) is shown
        as ``stalled``; default 10 ticks.
    frames
        ``"wall"`` (default) paces frame callbacks by the wall clock, as a screen would;
        ``"sim"`` calls them every ``1/fps`` of simulated time during :meth:`run`, which
        makes frame counts reproducible in tests.

    >>> r = Runner([], clock=SimClock(), tick="0s")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: tick='0s' is invalid: must be a positive duration
    >>> Runner([], fps=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: fps=0 is invalid: must be a number > 0 (frames per wall second)
    """

    def __init__(
        self,
        source: Source | Sequence[Source],
        *,
        clock: Clock | None = None,
        tick: DurationLike = "1s",
        fps: float = 10.0,
        stall_after: DurationLike | None = None,
        frames: Literal["wall", "sim"] = "wall",
    ) -> None:
        sources = list(source) if isinstance(source, (list, tuple)) else [source]
        for i, s in enumerate(sources):
            if not callable(getattr(s, "read", None)):
                raise ParameterError(
                    "source", s, f"item {i} has no read(start, end) method; see rtnb.Source"
                )
        names = [self._source_name(s, i) for i, s in enumerate(sources)]
        if len(set(names)) != len(names):
            raise ParameterError("source", names, "two sources have the same name")
        if clock is None:
            clock = SimClock()
        elif not callable(getattr(clock, "now", None)):
            raise ParameterError("clock", clock, "has no now() method; use rtnb.SimClock or rtnb.WallClock")
        self.clock: Clock = clock
        self.tick = to_duration(tick, "tick")
        self.fps = self._check_fps(fps)
        self.stall_after = (
            to_duration(stall_after, "stall_after") if stall_after is not None else 10 * self.tick
        )
        if frames not in ("wall", "sim"):
            raise ParameterError("frames", frames, choices=["wall", "sim"])
        self.frames = frames
        self.sources: list[Source] = sources
        self._names = names
        self.stream = streamz.Stream(stream_name="batches")
        # Every RunError on this log is counted, whoever emits it (the runner itself, or
        # a pipeline built on it that caught a failing stage). It is not a streamz sink:
        # those live in a module-level set and kept every runner alive.
        self.errors = ErrorLog()
        now = self.clock.now()
        self.health = RunnerHealth(
            sources={n: SourceHealth(name=n, cursor=now) for n in names}, log=self.errors
        )
        self._wall = WallClock()
        self._frame_callbacks: list[FrameCallback] = []
        self._last_frame_wall: float | None = None
        self._speedup = 1.0
        self._task: asyncio.Task | None = None
        self._stop_flag = [False]  # one flag per live run, so a stopping run and a new one never share it

    # -- configuration ---------------------------------------------------------------

    @staticmethod
    def _source_name(s: Any, i: int) -> str:
        name = getattr(s, "name", None)
        return str(name) if name else f"source{i}"

    @staticmethod
    def _check_fps(fps: Any) -> float:
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0 or fps == float("inf"):
            raise ParameterError("fps", fps, "must be a number > 0 (frames per wall second)")
        return float(fps)

    @property
    def speedup(self) -> float:
        """Simulated seconds per wall second in live mode (a ``SimClock`` only)."""
        return self._speedup

    @speedup.setter
    def speedup(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise ParameterError("speedup", value, "must be a number > 0 (simulated seconds per wall second)")
        if value != 1 and not getattr(self.clock, "simulated", False):
            raise ParameterError(
                "speedup", value, "needs a SimClock; a WallClock always runs at 1x"
            )
        self._speedup = float(value)

    @property
    def state(self) -> RunnerState:
        """``idle``, ``running``, ``paused`` or ``stopped``."""
        return self.health.state

    def on_frame(self, callback: FrameCallback) -> FrameCallback:
        """Call ``callback(now)`` on every frame; returns it (usable as a decorator)."""
        if not callable(callback):
            raise ParameterError("callback", callback, "is not callable")
        self._frame_callbacks.append(callback)
        return callback

    def remove_frame(self, callback: FrameCallback) -> None:
        """Stop calling a frame callback (no error if it was not registered)."""
        try:
            self._frame_callbacks.remove(callback)
        except ValueError:
            pass

    # -- one step --------------------------------------------------------------------

    def pull(self) -> int:
        """Read every source up to the clock's current time and emit the batches.

        Returns the number of rows emitted. Used by :meth:`run` and the live loop; call
        it yourself to drive the runner by hand.
        """
        now = self.clock.now()
        emitted = 0
        for src, name in zip(self.sources, self._names):
            h = self.health.sources[name]
            start = h.cursor if h.cursor is not None else now
            if now <= start:
                continue
            try:
                batch = src.read(start, now)
            except Exception as exc:  # a source failure must not stop the loop
                h.status = "down"
                h.failures += 1
                h.last_error = f"{type(exc).__name__}: {exc}"
                h.last_read_at = now
                self._record("source", name, exc, now)
                continue  # cursor stays: the same interval is asked for again
            h.cursor = now
            h.last_read_at = now
            h.batches += 1
            try:
                n = len(batch) if batch is not None else 0
            except TypeError:  # e.g. a generator: one item, which validation rejects
                n = 1
            if n:
                if isinstance(batch, pd.DataFrame):
                    batch.attrs["source"] = name  # lets a stage tell sources apart
                else:
                    # Emitted for validation to reject with a reason, and recorded here
                    # too: a stage that filters by source cannot tell whose it is.
                    self._record("source", name, SourceError(
                        f"read() answered with a {type(batch).__name__}, not a DataFrame"), now)
                h.rows += n
                h.last_rows_at = now
                h.status = "up"
                emitted += n
                try:
                    self.stream.emit(batch)
                except Exception as exc:  # a broken stage is reported, the loop goes on
                    self._record("pipeline", name, exc, now)
            else:
                ref = h.last_rows_at if h.last_rows_at is not None else h.first_read_at
                h.status = "stalled" if ref is not None and now - ref > self.stall_after else "up"
            if h.first_read_at is None:
                h.first_read_at = start
        return emitted

    def report_error(self, where: Literal["source", "pipeline", "frame"], name: str, exc: BaseException) -> None:
        """Record a failure caught elsewhere (a view, a stage) with the runner's errors.

        It is counted in ``health`` and emitted on ``errors`` like the runner's own.
        """
        self._record(where, name, exc, self.clock.now())

    def _record(self, where: str, name: str, exc: BaseException, now: pd.Timestamp) -> None:
        self.errors.report(where, name, exc, at=now)

    def frame(self) -> None:
        """Call every frame callback now (views redraw from the store)."""
        now = self.clock.now()
        self.health.frames += 1
        for cb in list(self._frame_callbacks):
            try:
                cb(now)
            except Exception as exc:
                self._record("frame", getattr(cb, "__qualname__", repr(cb)), exc, now)

    def _maybe_frame(self) -> None:
        w = self._wall.monotonic()
        if self._last_frame_wall is None or w - self._last_frame_wall >= 1.0 / self.fps:
            self._last_frame_wall = w
            self.frame()

    # -- simulated mode --------------------------------------------------------------

    def run(self, duration: DurationLike) -> None:
        """Step simulated time forward by ``duration``, one ``tick`` at a time.

        Each step advances the clock by a tick, reads every source for the interval
        that just passed and emits the batches. Returns when the time has passed.
        """
        if not getattr(self.clock, "simulated", False) or not hasattr(self.clock, "advance_to"):
            raise ParameterError(
                "clock", self.clock, "run() steps simulated time; use start() for a WallClock"
            )
        if self._task is not None and not self._task.done():
            raise ParameterError("duration", duration, "the runner is already running live; stop() it first")
        span = to_duration(duration, "duration")
        end = self.clock.now() + span
        frame_step = pd.Timedelta(seconds=1.0 / self.fps)
        next_sim_frame = self.clock.now() + frame_step
        self.health.state = "running"
        try:
            while self.clock.now() < end:
                self.clock.advance_to(min(self.clock.now() + self.tick, end))
                self.pull()
                if self.frames == "sim":
                    while next_sim_frame <= self.clock.now():
                        self.frame()
                        next_sim_frame += frame_step
                else:
                    self._maybe_frame()
        finally:
            self.health.state = "idle"
        if self.frames == "wall":
            self.frame()

    # -- live mode -------------------------------------------------------------------

    def start(
        self,
        duration: DurationLike | None = None,
        *,
        speedup: float | None = None,
    ) -> asyncio.Task:
        """Run live as a background task on the current asyncio loop (the kernel's).

        ``duration`` is in wall seconds (``"30s"`` or ``30``); without it the runner
        runs until :meth:`stop`. Returns the task. The cell that calls it returns at
        once; widgets keep updating.
        """
        previous = None
        if self._task is not None and not self._task.done():
            if not self._stop_flag[0]:
                raise ParameterError("start", "running", "the runner is already running; stop() it first")
            previous = self._task  # stopping: the new run begins once it has ended its frame
        wall_duration = to_duration(duration, "duration").total_seconds() if duration is not None else None
        if speedup is not None:
            self.speedup = speedup
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RtnbError(
                "Runner.start() needs a running asyncio event loop (a Jupyter kernel has one); "
                "outside a notebook use `await runner.start(...)` inside asyncio.run(), or "
                "runner.run(duration) to step a SimClock synchronously"
            ) from None
        flag = [False]
        self._stop_flag = flag
        self.health.state = "running"
        self._task = loop.create_task(self._live(wall_duration, flag, previous))
        return self._task

    async def _live(
        self, wall_duration: float | None, stop: list[bool], previous: asyncio.Task | None
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its errors, if any, were its own to report
        interval = 1.0 / self.fps
        w0 = last = deadline = self._wall.monotonic()
        try:
            while not stop[0]:
                w = self._wall.monotonic()
                if wall_duration is not None and w - w0 >= wall_duration:
                    break
                if self.health.state == "running":
                    if getattr(self.clock, "simulated", False):
                        self.clock.advance(pd.Timedelta(seconds=(w - last) * self._speedup))
                    self.pull()
                last = w
                self.frame()
                # Pace against fixed deadlines, so a late wake-up is made up on the next
                # frame; after falling more than a frame behind, start afresh instead of
                # bursting frames to catch up.
                deadline += interval
                after = self._wall.monotonic()
                if after - deadline > interval:
                    deadline = after
                await asyncio.sleep(max(0.0, deadline - after))
        finally:
            if self._task is asyncio.current_task():  # not when a newer run has begun
                self.health.state = "stopped"
            self.frame()

    def pause(self) -> None:
        """Stop reading sources (and, on a SimClock, stop time); frames keep ticking."""
        if self.health.state == "running":
            self.health.state = "paused"

    def resume(self) -> None:
        """Read again; events that arrived meanwhile come in the next batch."""
        if self.health.state == "paused":
            self.health.state = "running"

    def stop(self) -> None:
        """Stop the live task after its current frame."""
        self._stop_flag[0] = True
        if self._task is None or self._task.done():
            self.health.state = "stopped" if self._task is not None else self.health.state

    def close(self) -> None:
        """Stop, and let go of every frame callback (views), so nothing keeps them alive."""
        self.stop()
        self._frame_callbacks.clear()

    async def wait(self) -> None:
        """Wait until the live task has finished (``await runner.wait()``)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    def __repr__(self) -> str:
        names = ", ".join(self._names) or "no sources"
        return f"Runner({names}; clock={self.clock!r}, tick={self.tick}, state={self.state!r})"


class QueueSource:
    """A source fed from any thread: ``push(df)`` hands batches over to the runner.

    Threads never touch the pipeline or widgets; the runner drains the queue on its own
    loop. Rows without an ``arrival`` column get the ``clock``'s time at push.

    >>> import rtnb
    >>> clock = rtnb.SimClock(start="2024-01-01")
    >>> q = QueueSource(clock=clock, measures=("value",))
    >>> q.push(pd.DataFrame({"ts": [clock.now()], "value": [1.0]}))
    >>> q.pending
    1
    >>> len(q.read(clock.now(), clock.now() + pd.Timedelta("1s")))
    1
    """

    def __init__(
        self,
        *,
        clock: Clock,
        name: str = "queue",
        keys: Sequence[str] = (),
        measures: Sequence[str] = (),
        id_col: str | None = None,
    ) -> None:
        self.clock = clock
        self.name = name
        self.keys = tuple(keys)
        self.measures = tuple(measures)
        self.id_col = id_col
        self._lock = threading.Lock()
        self._batches: list[pd.DataFrame] = []

    @property
    def pending(self) -> int:
        """Rows pushed and not yet read."""
        with self._lock:
            return sum(len(b) for b in self._batches)

    def push(self, batch: pd.DataFrame) -> None:
        """Queue a batch (thread-safe); anything but a DataFrame raises ParameterError."""
        if not isinstance(batch, pd.DataFrame):
            raise ParameterError("batch", type(batch).__name__, "QueueSource.push takes a pandas DataFrame")
        if "arrival" not in batch.columns:
            batch = batch.assign(arrival=self.clock.now())
        with self._lock:
            self._batches.append(batch)

    def read(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Everything queued so far, in push order (the interval is the runner's tick)."""
        with self._lock:
            batches, self._batches = self._batches, []
        if not batches:
            return pd.DataFrame()
        return pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0]
