"""One live run of a runner on the kernel's asyncio loop.

Per frame: advance a ``SimClock`` by the wall time that passed (times the speed-up; at
most ``MAX_STEP_SECONDS`` of it, so a blocked loop does not run simulated time ahead),
start a read of every idle source off the loop, give the reads until half a frame to
answer, hand on the answers, make the frame, and nap until the next frame is due. A
nap ends early on ``stop()``, so ``stop()`` and ``duration`` take effect on time: the
loop never waits on a source.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from ._runner import Runner

__all__ = ["LiveRun"]

#: The most wall time one step of a live run turns into simulated time. A loop held
#: longer (the next cells of a Run All, a debugger) does not run the simulated clock
#: ahead: the first read after it would cover all that time in one batch, and a
#: dashboard's first point would start far from the start of its run.
MAX_STEP_SECONDS = 1.0


class LiveRun:
    """One live run: its stop flag, its wake-ups and its loop (a stopping run and a new
    one never share them). Made by :meth:`rtnb.Runner.start`."""

    def __init__(self, runner: Runner, loop: asyncio.AbstractEventLoop) -> None:
        self.runner = runner
        self.loop = loop
        self.stopped = False
        self.wake = asyncio.Event()

    def stop(self) -> None:
        self.stopped = True
        self.wake_soon()

    def wake_soon(self) -> None:
        """Wake the run's naps; safe from any thread, and after the loop has closed."""
        try:
            self.loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # the loop is closed: nobody is napping
            pass

    async def nap(self, seconds: float) -> None:
        if seconds > 0 and not self.stopped:
            try:
                await asyncio.wait_for(self.wake.wait(), seconds)
            except asyncio.TimeoutError:
                pass
        self.wake.clear()

    async def nap_until(self, t: float, now: Callable[[], float]) -> None:
        """Nap until ``t`` (monotonic seconds) or until stopped, whatever wakes it."""
        while not self.stopped and (left := t - now()) > 0:
            await self.nap(left)

    async def run(self, wall_duration: float | None, previous: asyncio.Task | None) -> None:
        """The live task: frames until stopped or ``wall_duration`` seconds have passed."""
        r = self.runner
        if previous is not None:
            await asyncio.wait([previous])  # its errors, if any, were its own to report
        mono = r.pacer.now
        w0 = last = mono()
        end = math.inf if wall_duration is None else w0 + wall_duration
        r.pacer.reset()
        try:
            while not self.stopped and (w := mono()) < end:
                if r.health.state == "running":
                    if getattr(r.clock, "simulated", False):
                        step = min(w - last, MAX_STEP_SECONDS)
                        r.clock.advance(pd.Timedelta(seconds=step * r.speedup))
                    now = r.clock.now()
                    r._reads.begin(now, w, self.wake_soon)
                    # Reads get until half a frame to answer; later answers wait a frame.
                    limit = min(w + 0.5 * r.pacer.interval, end)
                    while r._reads.busy and not self.stopped and mono() < limit:
                        await self.nap(limit - mono())
                    if r.health.state == "running":  # paused meanwhile: answers wait for resume
                        self.collect(mono())
                last = w
                if r.pacer.ready():
                    r.frame(budget=r.frame_budget)
                await self.nap_until(min(mono() + r.pacer.wait(), end), mono)
        finally:
            if r._task is asyncio.current_task():  # not when a newer run has begun
                r.health.state = "stopped"
            self.collect(mono())  # answers that came are handed on, never dropped
            r.frame()

    def collect(self, mono: float) -> None:
        """Hand on every answer that has come; record reads that are over their time."""
        r = self.runner
        r._reads.collect(mono, r.clock.now())
