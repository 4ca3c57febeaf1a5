"""The Runner: schedules sources, the stream and frames, in simulated or live time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal

import streamz

from .._checks import check_choice, check_int, check_number, check_optional
from .._errors import ParameterError, RtnbError
from .._progress import DEFAULT_MAX_STEPS, Progress, check_steps
from .._time import DurationLike, to_duration
from ..clock import Clock, SimClock
from ..health import ErrorLog, RunnerHealth, RunnerState, SourceHealth
from ..sources._base import Source
from ._frames import FrameCallback, FrameCallbacks, FramePacer
from ._live import LiveRun
from ._sources import Sources, source_names

__all__ = ["Runner"]



class Runner:
    """Schedules sources into a streamz stream, in simulated or live time.

    Parameters
    ----------
    source
        A source (anything with ``read(start, end)``, see :class:`rtnb.Source`) or a
        list of them. Each step, each source is asked for the events that arrived
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
    max_rows
        The most rows handed on from one source per read (default 20,000; ``None``
        for no cap). Live, one read per source per frame: a backlog after an outage
        is caught up over several frames, the loop staying responsive (see
        ``benchmarks/bench_runner.py``); :meth:`run` reads on within the step.
    read_timeout
        Wall seconds after which a live read that has not answered counts as an outage
        (default 2). Live reads run off the loop, so a slow read never delays a frame.
    frame_budget
        Wall seconds a frame callback may take in a live run (default 1): one that
        takes longer is reported and skipped for as many frames as it overran.

    >>> r = Runner([], clock=SimClock(), tick="0s")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: tick='0s' is invalid: must be a positive duration
    >>> Runner([], fps=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: fps=0 is invalid: must be a number > 0
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
        max_rows: int | None = 20_000,
        read_timeout: float | None = 2.0,
        frame_budget: float | None = 1.0,
    ) -> None:
        sources, names = source_names(source)
        if clock is None:
            clock = SimClock()
        elif not callable(getattr(clock, "now", None)):
            raise ParameterError("clock", clock, "has no now() method; use rtnb.SimClock or rtnb.WallClock")
        self.clock: Clock = clock
        self.tick = to_duration(tick, "tick")
        self.pacer = FramePacer(fps)  # the one pacer; views follow it
        self.fps = self.pacer.fps
        self.stall_after = to_duration(stall_after, "stall_after") if stall_after is not None else 10 * self.tick
        self.frames = check_choice("frames", frames, ("wall", "sim"))
        self.max_rows = check_optional(check_int, "max_rows", max_rows, minimum=1)
        self.read_timeout = check_optional(check_number, "read_timeout", read_timeout, minimum=0, strict=True)
        self.frame_budget = check_optional(check_number, "frame_budget", frame_budget, minimum=0, strict=True)
        self.sources: list[Source] = sources
        self._names = names
        self.stream = streamz.Stream(stream_name="batches")
        # Every RunError on this log is counted, whoever emits it (the runner itself, or
        # a pipeline built on it). Not a streamz sink: sinks sit in a module-level set
        # and kept every runner alive.
        self.errors = ErrorLog()
        now = self.clock.now()
        self.health = RunnerHealth(sources={n: SourceHealth(name=n, cursor=now) for n in names}, log=self.errors)
        self._reads = Sources(sources, self.health.sources, self.stream, report=self.report_error,
                              max_rows=self.max_rows, stall_after=self.stall_after, read_timeout=self.read_timeout)
        self._callbacks = FrameCallbacks()
        self._speedup = 1.0
        self._task: asyncio.Task | None = None
        self._stepped = False  # run() has stepped it: a stop() then ends a run too
        self._run: LiveRun | None = None

    # -- configuration ---------------------------------------------------------------

    @property
    def speedup(self) -> float:
        """Simulated seconds per wall second in live mode (a ``SimClock`` only)."""
        return self._speedup

    @speedup.setter
    def speedup(self, value: float) -> None:
        value = check_number("speedup", value, minimum=0, strict=True)
        if value != 1 and not getattr(self.clock, "simulated", False):
            raise ParameterError("speedup", value, "needs a SimClock; a WallClock always runs at 1x")
        self._speedup = value

    @property
    def state(self) -> RunnerState:
        """``idle``, ``running``, ``paused`` or ``stopped``."""
        return self.health.state

    def on_frame(self, callback: FrameCallback) -> FrameCallback:
        """Call ``callback(now)`` on every frame; returns it (usable as a decorator)."""
        return self._callbacks.add(callback)

    @property
    def frame_callbacks(self) -> list[FrameCallback]:
        """The frame callbacks registered, in call order (a copy)."""
        return list(self._callbacks)

    def remove_frame(self, callback: FrameCallback) -> None:
        """Stop calling a frame callback (no error if it was not registered)."""
        self._callbacks.remove(callback)

    # -- one step --------------------------------------------------------------------

    def pull(self) -> int:
        """Read every source up to the clock's current time and emit the batches.

        Returns the number of rows emitted. Used by :meth:`run`; call it yourself to
        drive the runner by hand. Reads run on this thread, one capped read per source
        (a backlog over ``max_rows`` takes several pulls, as it takes several live frames).
        """
        return self._reads.pull(self.clock.now())

    def report_error(self, where: Literal["source", "pipeline", "frame"], name: str, exc: BaseException) -> None:
        """Record a failure caught elsewhere (a view, a stage) with the runner's errors.

        It is counted in ``health`` and emitted on ``errors`` like the runner's own.
        """
        self.errors.report(where, name, exc, at=self.clock.now())

    def frame(self, *, budget: float | None = None) -> None:
        """Call every frame callback now (views redraw from the store).

        With a ``budget`` (wall seconds; live runs use ``frame_budget``), a callback that
        takes longer is reported and skipped for as many frames as it overran, so one
        slow view cannot hold every frame of the kernel's loop.
        """
        self.health.frames += 1
        self._callbacks.call(self.clock.now(), self.report_error, budget=budget, fps=self.fps, monotonic=self.pacer.now)

    # -- simulated mode --------------------------------------------------------------

    def run(self, duration: DurationLike, *, max_steps: int | None = DEFAULT_MAX_STEPS) -> None:
        """Step simulated time forward by ``duration``, one ``tick`` at a time.

        Each step advances the clock by a tick, reads every source for the interval
        that just passed and emits the batches (several of at most ``max_rows`` rows
        when a backlog is bigger: a simulated step never falls behind). Returns when
        the time has passed. A run of more than ``max_steps`` ticks is refused before it
        starts (``run("30D")`` at ``tick="1ms"`` would be 2.6e9 steps); pass
        ``max_steps=None`` to run it anyway. Long runs show a progress bar in notebooks
        (with tqdm installed) and stop at a step boundary when interrupted.
        """
        if not getattr(self.clock, "simulated", False) or not hasattr(self.clock, "advance_to"):
            raise ParameterError("clock", self.clock, "run() steps simulated time; use start() for a WallClock")
        if self._task is not None and not self._task.done():
            raise ParameterError("duration", duration, "the runner is already running live; stop() it first")
        span = to_duration(duration, "duration")
        end = self.clock.now() + span
        steps = -(-span.value // self.tick.value)
        check_optional(check_int, "max_steps", max_steps, minimum=1)
        check_steps(steps, max_steps=max_steps, what=f"{duration} at tick={self.tick}", param="duration")
        sim = self.frames == "sim"
        self.pacer.reset(self.clock.now().value / 1e9 if sim else None)
        self.health.state = "running"
        try:
            with Progress(steps, desc=f"run {duration}") as bar:
                while self.clock.now() < end:
                    self.clock.advance_to(min(self.clock.now() + self.tick, end))
                    self.pull()
                    while self._reads.behind:  # capped: more batches, same step
                        self.pull()
                    if self.pacer.ready(self.clock.now().value / 1e9 if sim else None):
                        self.frame()
                    bar.update()
        finally:
            self.health.state = "idle"
            self._stepped = True
        if not sim:
            self.frame()  # the final frame shows the end state

    # -- live mode -------------------------------------------------------------------

    def start(self, duration: DurationLike | None = None, *, speedup: float | None = None) -> asyncio.Task:
        """Run live as a background task on the current asyncio loop (the kernel's).

        ``duration`` is in wall seconds (``"30s"`` or ``30``); without it the runner
        runs until :meth:`stop`. Returns the task. The cell that calls it returns at
        once; widgets keep updating. Sources are read on worker threads, so neither a
        slow read nor a hung one delays a frame, ``stop()`` or the end of ``duration``.
        """
        previous = None
        if self._task is not None and not self._task.done():
            if self._run is not None and not self._run.stopped:
                raise ParameterError("start", "running", "the runner is already running; stop() it first")
            previous = self._task  # stopping: the new run begins once it has ended its frame
        wall = to_duration(duration, "duration").total_seconds() if duration is not None else None
        if speedup is not None:
            self.speedup = speedup
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RtnbError(
                "Runner.start() needs a running asyncio event loop (a Jupyter kernel has one); "
                "in a script, call it inside a coroutine run by asyncio.run(), or use "
                "runner.run(duration) to step a SimClock synchronously"
            ) from None
        self._run = run = LiveRun(self, loop)
        self.health.state = "running"
        self._task = loop.create_task(run.run(wall, previous))
        return self._task

    def pause(self) -> None:
        """Stop reading sources (and, on a SimClock, stop time); frames keep ticking."""
        if self.health.state == "running":
            self.health.state = "paused"

    def resume(self) -> None:
        """Read again; events that arrived meanwhile come in the next batch."""
        if self.health.state == "paused":
            self.health.state = "running"

    def stop(self) -> None:
        """Stop the live task now (it makes one final frame); a read in flight is kept
        and handed on by the next run. A runner stepped by :meth:`run` is stopped too:
        it says so (``state`` is ``stopped``, and one frame shows it), or its views kept
        saying "fresh" for a run that had ended (a crashed worker's dashboard)."""
        if self._run is not None:
            self._run.stop()
        if self._task is None or self._task.done():
            if self._task is not None:
                self.health.state = "stopped"
            elif self._stepped and self.health.state != "stopped":
                self.health.state = "stopped"
                self.frame()  # (a live run makes its own final frame)

    def close(self) -> None:
        """Stop, and let go of every frame callback (views), so nothing keeps them alive."""
        self.stop()
        self._callbacks.clear()

    async def wait(self) -> None:
        """Wait until the live task has finished (``await runner.wait()``)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    def __repr__(self) -> str:
        names = ", ".join(self._names) or "no sources"
        return f"Runner({names}; clock={self.clock!r}, tick={self.tick}, state={self.state!r})"
