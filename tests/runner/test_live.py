"""Live mode never freezes the kernel: reads run off the loop, stop and duration are on
time whatever a source does, and a read that times out loses no rows.

These tests are about behaviour in real time, so they use the real event loop (and a
source that really blocks); durations are kept short so the suite stays fast.
"""

from __future__ import annotations

import asyncio
import math
import re

import pandas as pd

from rtnb import Runner, SimClock
from tests.conftest import WALL, Heartbeat, run_async

T0 = pd.Timestamp("2024-01-01")


def test_a_source_blocking_5s_freezes_neither_the_loop_nor_the_duration(fake_source):
    src = fake_source(block=5.0)  # every read hangs 5 s, longer than the whole run

    async def main():
        r = Runner(src, clock=SimClock(start=T0), fps=10, read_timeout=0.5)
        beat = Heartbeat()
        t0 = WALL.monotonic()
        await r.start(duration=2)
        took = WALL.monotonic() - t0
        beat.stop()
        return r, beat, took

    r, beat, took = run_async(main())
    assert beat.largest < 0.25, f"the loop was blocked {beat.largest:.3f} s"
    assert 2.0 <= took <= 2.0 + 1 / r.fps, f"start(duration=2) ended after {took:.3f} s"
    h = r.health.sources["ticks"]
    assert h.status == "down" and h.timeouts == 1  # one read in flight, recorded once
    assert "did not answer within 0.5 s" in h.last_error
    assert r.health.errors[-1].kind == "SourceTimeout" and r.health.errors[-1].where == "source"
    assert len(src.reads) == 1  # never a second read of the same source beside a hung one


def test_stop_takes_effect_at_once_while_a_read_is_stuck(fake_source):
    src = fake_source(block={1}, block_for=5.0)  # the second read hangs

    async def main():
        r = Runner(src, clock=SimClock(start=T0), fps=10, read_timeout=0.2)
        task = r.start()
        while len(src.reads) < 2:
            await asyncio.sleep(0.01)
        beat = Heartbeat()
        await asyncio.sleep(0.3)  # the read is stuck for this long (this test is about time)
        t0 = WALL.monotonic()
        r.stop()
        await task
        took = WALL.monotonic() - t0
        beat.stop()
        return r, beat, took

    r, beat, took = run_async(main())
    assert took < 1 / r.fps, f"stop() took {took:.3f} s"
    assert beat.largest < 0.25
    assert r.state == "stopped" and r.health.sources["ticks"].status == "down"


def test_a_read_that_times_out_is_used_when_it_answers_and_no_row_is_lost(fake_source):
    src = fake_source(rate=10, block={2}, block_for=0.6)  # the third read answers late

    async def main():
        clock = SimClock(start=T0)
        r = Runner(src, clock=clock, fps=20, read_timeout=0.2)
        batches = r.stream.sink_to_list()
        statuses = []
        r.on_frame(lambda now: statuses.append(r.health.sources["ticks"].status))
        await r.start(duration=1.5)
        return r, batches, statuses

    r, batches, statuses = run_async(main())
    h = r.health.sources["ticks"]
    assert h.timeouts == 1 and "down" in statuses and statuses[-1] == "up"
    seen = pd.concat(batches).arrival
    assert seen.is_unique and seen.is_monotonic_increasing
    # every event that arrived up to the cursor, once: nothing lost, nothing doubled
    expected = pd.date_range(T0, h.cursor, freq="100ms", inclusive="left")
    assert list(seen) == list(expected)
    # reads are contiguous: the late answer covered the interval a retry would have asked
    assert all(a[1] == b[0] for a, b in zip(src.reads, src.reads[1:]))


def test_a_slow_view_is_reported_and_skipped_instead_of_holding_every_frame(fake_source):
    import time

    calls = []

    def slow_view(now):
        calls.append(now)
        if len(calls) == 2:
            time.sleep(0.3)  # a view stuck once (this test is about time)

    async def main():
        r = Runner(fake_source(), clock=SimClock(start=T0), fps=20, frame_budget=0.1)
        r.on_frame(slow_view)
        await r.start(duration=1.0)
        return r

    r = run_async(main())
    err = [e for e in r.health.errors if e.where == "frame"]
    # (the sleep takes at least 0.3 s, longer on a loaded machine: the skip follows it)
    found = re.search(r"took (\d+\.\d\d) s \(budget 0\.1 s\); skipped for (\d+) frames", err[0].message) if err else None
    assert len(err) == 1 and found, [e.message for e in err]
    took, skipped = float(found.group(1)), int(found.group(2))
    assert took >= 0.3 and abs(skipped - took * 20) <= 1.1  # ceil(took x fps), took shown rounded
    assert r.health.frames - len(calls) >= min(skipped, 6)  # frames went on without it
    assert len(calls) > 2 or r.health.frames <= 2 + skipped  # then it came back


def test_the_final_frame_reaches_a_view_benched_by_a_slow_frame():
    # A view benched for a slow frame must still get the run's final frame: that frame
    # turns its badge to "stopped" and enables Start (in a loaded JupyterLab the last
    # budgeted frames were often slow, and Start stayed disabled after dash.stop()).
    from rtnb.runner._frames import FrameCallbacks

    t, seen, errors = [0.0], [], []

    def slow(now):
        seen.append(now)
        t[0] += 0.5

    calls = FrameCallbacks()
    calls.add(slow)
    report = lambda where, name, exc: errors.append(str(exc))  # noqa: E731
    calls.call("frame", report, budget=0.1, fps=10, monotonic=lambda: t[0])
    calls.call("benched", report, budget=0.1, fps=10, monotonic=lambda: t[0])
    calls.call("final", report, budget=None, fps=10, monotonic=lambda: t[0])
    assert seen == ["frame", "final"] and len(errors) == 1


def test_an_async_source_that_hangs_is_cancelled_and_asked_again_for_the_same_interval(fake_source):
    inner = fake_source(rate=10)

    class AsyncTicks:
        """A source with its own async API (as a network client would have)."""

        name, keys, measures, id_col = "ticks", (), ("value",), None

        def __init__(self):
            self.calls = []

        def read(self, start, end):  # simulated stepping uses this one
            return inner.read(start, end)

        async def aread(self, start, end):
            self.calls.append((start, end))
            if len(self.calls) == 3:
                await asyncio.sleep(5)  # hangs; cancelled by the runner (this test is about time)
            return inner.read(start, end)

    src = AsyncTicks()

    async def main():
        r = Runner(src, clock=SimClock(start=T0), fps=20, read_timeout=0.2)
        batches = r.stream.sink_to_list()
        beat = Heartbeat()
        await r.start(duration=1.0)
        beat.stop()
        return r, batches, beat

    r, batches, beat = run_async(main())
    h = r.health.sources["ticks"]
    assert h.timeouts == 1 and "cancelled, asked again" in r.health.errors[-1].message
    assert src.calls[3][0] == src.calls[2][0]  # the same interval, asked again
    assert beat.largest < 0.25
    seen = pd.concat(batches).arrival
    assert list(seen) == list(pd.date_range(T0, h.cursor, freq="100ms", inclusive="left"))
