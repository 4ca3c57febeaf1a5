"""The runner: simulated stepping, live mode, failures surfaced and nothing lost."""

from __future__ import annotations

import asyncio
import threading

import pandas as pd
import pytest

import rtnb
from rtnb import ParameterError, QueueSource, Runner, SimClock, SourceUnavailable, WallClock
from tests.conftest import WALL, run_async


def collect(runner):
    return runner.stream.sink_to_list()


def test_run_steps_simulated_time_tick_by_tick(fake_source):
    src = fake_source()
    r = Runner(src, clock=SimClock(start="2024-01-01"), tick="5s")
    batches = collect(r)
    r.run("1min")
    assert r.clock.now() == pd.Timestamp("2024-01-01 00:01:00")
    assert len(src.reads) == 12
    assert [len(b) for b in batches] == [5] * 12
    # contiguous intervals: nothing read twice, nothing skipped
    assert all(a[1] == b[0] for a, b in zip(src.reads, src.reads[1:]))
    assert sum(len(b) for b in batches) == 60


def test_run_last_step_is_cut_at_duration(fake_source):
    r = Runner(fake_source(), clock=SimClock(start="2024-01-01"), tick="7s")
    batches = collect(r)
    r.run("20s")
    assert r.clock.now() == pd.Timestamp("2024-01-01 00:00:20")
    assert [len(b) for b in batches] == [7, 7, 6]


def test_outage_is_surfaced_and_no_event_is_lost(fake_source):
    src = fake_source(down=("2024-01-01 00:00:10", "2024-01-01 00:00:30"))
    r = Runner(src, clock=SimClock(start="2024-01-01"), tick="1s")
    batches = collect(r)
    errors = r.errors.sink_to_list()
    r.run("15s")
    h = r.health.sources["ticks"]
    assert h.status == "down"
    assert h.failures == 6  # reads ending at 10..15 s failed
    assert errors and errors[-1].kind == "SourceUnavailable" and errors[-1].where == "source"
    assert not r.health.ok
    r.run("45s")
    assert h.status == "up"
    seen = pd.concat(batches).ts
    assert len(seen) == 60 and seen.is_unique  # backlog delivered once, nothing lost
    # the first read after the outage covers the whole missed interval
    assert any(len(b) > 1 for b in batches)


def test_stalled_source_is_shown_as_stalled_then_up(fake_source):
    src = fake_source(gap=("2024-01-01 00:00:10", "2024-01-01 00:00:40"))
    r = Runner(src, clock=SimClock(start="2024-01-01"), tick="1s", stall_after="5s")
    r.run("20s")
    assert r.health.sources["ticks"].status == "stalled"
    r.run("25s")
    assert r.health.sources["ticks"].status == "up"


def test_pipeline_error_is_recorded_and_the_loop_goes_on(fake_source):
    r = Runner(fake_source(), clock=SimClock(start="2024-01-01"), tick="1s")
    calls = []

    def boom(batch):
        calls.append(len(batch))
        if len(calls) == 3:
            raise ValueError("bad stage")

    r.stream.sink(boom)
    r.run("10s")
    assert len(calls) == 10
    assert r.health.error_count == 1
    err = r.health.errors[-1]
    assert (err.where, err.kind, err.message) == ("pipeline", "ValueError", "bad stage")


def test_a_source_answering_with_a_generator_goes_to_the_dead_letter_not_out_of_run():
    class Rows:
        name = "rows"

        def read(self, start, end):  # a generator has no len()
            yield {"ts": start, "value": 1.0}

    r = Runner(Rows(), clock=SimClock(start="2024-01-01"), tick="1s")
    pipe = rtnb.build_pipeline(r, metric="value", schema=rtnb.Schema.infer(measures="value"))
    r.run("3s")
    assert r.health.sources["rows"].rows == 3
    assert pipe.counters == rtnb.Counters(received=3, rejected=3)
    assert pipe.dead_letter.last_reasons(1) == ["batch is a generator, not a DataFrame"]
    # surfaced by the runner too, for pipelines that filter batches by source
    err = r.health.errors[-1]
    assert (err.where, err.name, err.kind) == ("source", "rows", "SourceError")
    assert err.message == "read() answered with a generator, not a DataFrame"


def test_sim_frames_are_reproducible_and_capped_by_fps(fake_source):
    r = Runner(fake_source(), clock=SimClock(start="2024-01-01"), tick="50ms", fps=10, frames="sim")
    frames = []
    r.on_frame(frames.append)
    r.run("3s")
    assert len(frames) == 30
    assert frames[-1] == pd.Timestamp("2024-01-01 00:00:03")


def test_wall_frames_never_exceed_fps(fake_source):
    # 2,000 ticks run in far less than a wall second per 10 frames: frames are coalesced
    r = Runner(fake_source(), clock=SimClock(start="2024-01-01"), tick="1ms", fps=10)
    frames = []
    r.on_frame(frames.append)
    w = WallClock()
    t0 = w.monotonic()
    r.run("2s")
    elapsed = w.monotonic() - t0
    assert frames, "no frame at all"
    # at most fps per wall second (a frame may come up to 5% early: timer jitter), + first and final
    assert len(frames) <= elapsed * 10 * 1.05 + 2
    assert frames[-1] == r.clock.now()  # a final frame shows the end state


def test_frame_callback_error_is_recorded(fake_source):
    r = Runner(fake_source(), clock=SimClock(), frames="sim", fps=1)
    r.on_frame(lambda now: 1 / 0)
    r.run("2s")
    assert r.health.errors[-1].where == "frame"
    assert r.health.errors[-1].kind == "ZeroDivisionError"


def test_live_mode_with_speedup_pause_and_duration(fake_source):
    """Live, simulated time runs at the speed-up times the wall time that passes while
    running (each step at most MAX_STEP_SECONDS of it), stops while paused although
    frames keep coming, and the run ends after its wall duration with every event read
    counted. Every wait is for a state (a frame, the clock past a time), never for a
    fixed time, and no bound depends on how fast this machine is: on a loaded one the
    test only takes longer. (It once waited 0.15 s and asserted 15-40 simulated seconds
    in a 0.4 s run: a loaded machine made it miss either way.)"""
    from rtnb.runner._live import MAX_STEP_SECONDS

    start, speedup, duration = pd.Timestamp("2024-01-01"), 100, 2.0
    src = fake_source()

    async def main():
        clock = SimClock(start=start)
        r = Runner(src, clock=clock, fps=50)
        batches = collect(r)
        frames = []
        framed = asyncio.Event()

        def on_frame(now):
            frames.append(now)
            framed.set()

        async def until(done):  # wakes at each frame (frames come also while paused)
            while not done() and not task.done():
                framed.clear()
                await asyncio.wait([asyncio.ensure_future(framed.wait()), task],
                                   return_when=asyncio.FIRST_COMPLETED)

        r.on_frame(on_frame)
        t0 = WALL.monotonic()
        task = r.start(duration=duration, speedup=speedup)
        assert r.state == "running"
        # 5 simulated seconds: more than a 1x clock can run in the whole run
        await until(lambda: clock.now() >= start + pd.Timedelta("5s"))
        assert not task.done(), "the run ended before its clock reached 5 s"
        r.pause()
        paused_at, n_batches, n_frames = clock.now(), len(batches), len(frames)
        await until(lambda: len(frames) >= n_frames + 3)
        assert len(frames) >= n_frames + 3, "no frames while paused"
        assert clock.now() == paused_at and len(batches) == n_batches  # time stops on pause
        r.resume()
        await task
        return r, clock, batches, frames, WALL.monotonic() - t0

    r, clock, batches, frames, wall = run_async(main())
    assert r.state == "stopped" and wall >= duration
    simulated = (clock.now() - start).total_seconds()
    # the steps add up to at most the wall time the run lasted (+ one capped step at its end)
    assert 5 <= simulated <= speedup * (wall + MAX_STEP_SECONDS)
    # the reads asked for the simulated time, back to back, from the start to the end
    assert src.reads[0][0] == start and src.reads[-1][1] == clock.now()
    assert all(a[1] == b[0] for a, b in zip(src.reads, src.reads[1:]))
    # one event per simulated second, every one handed on (but a read still in flight
    # at the stop, which the next run hands on)
    probe = fake_source()
    every, last = len(probe.read(start, clock.now())), len(probe.read(*src.reads[-1]))
    assert abs(every - simulated) <= 1
    got = sum(len(b) for b in batches)
    assert got in (every, every - last), (got, every, last)
    assert len(frames) >= 5


def test_stop_ends_live_task(fake_source):
    async def main():
        r = Runner(fake_source(), clock=SimClock(), fps=100)
        task = r.start()
        await asyncio.sleep(0.05)
        r.stop()
        await asyncio.wait_for(task, 2)
        return r

    assert run_async(main()).state == "stopped"


def test_queue_source_hands_over_from_threads():
    clock = SimClock(start="2024-01-01")
    q = QueueSource(clock=clock, measures=("value",))
    r = Runner(q, clock=clock, tick="1s")
    batches = collect(r)

    def producer(k):
        for i in range(100):
            q.push(pd.DataFrame({"ts": [clock.now()], "value": [float(k)]}))

    threads = [threading.Thread(target=producer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r.run("1s")
    assert sum(len(b) for b in batches) == 400
    assert q.pending == 0
    with pytest.raises(ParameterError, match="batch='list'"):
        q.push([1, 2])


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"tick": -1}, "tick"),
        ({"fps": float("nan")}, "fps"),
        ({"frames": "gpu"}, "frames"),
        ({"clock": "now"}, "clock"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param, fake_source):
    with pytest.raises(ParameterError) as e:
        Runner(fake_source(), **kwargs)
    assert e.value.param == param


def test_run_needs_a_simulated_clock_and_speedup_needs_simclock(fake_source):
    r = Runner(fake_source(), clock=WallClock())
    with pytest.raises(ParameterError, match="use start"):
        r.run("1s")
    with pytest.raises(ParameterError, match="speedup=60"):
        r.speedup = 60
    with pytest.raises(ParameterError):
        Runner(fake_source()).speedup = 0


def test_source_without_read_is_rejected(fake_source):
    with pytest.raises(ParameterError, match="no read"):
        Runner(object())
    assert isinstance(rtnb.Runner(fake_source()).health, rtnb.runner.RunnerHealth)


def test_errors_emitted_by_stages_are_counted_and_batches_name_their_source(fake_source):
    r = Runner(fake_source(), clock=SimClock(start="2024-01-01"), tick="1s")
    seen = []
    r.stream.sink(lambda b: seen.append(b.attrs.get("source")))
    r.run("2s")
    assert seen == ["ticks", "ticks"]
    err = rtnb.RunError(at=r.clock.now(), where="pipeline", name="orders: aggregate",
                        kind="ValueError", message="boom")
    r.errors.emit(err)  # what a pipeline built on the runner does when a stage fails
    assert r.health.error_count == 1 and r.health.errors[-1] is err and not r.health.ok


def test_stop_then_start_in_the_same_cell_runs_again(fake_source):
    async def main():
        clock = SimClock(start="2024-01-01")
        r = Runner(fake_source(), clock=clock, fps=100)
        first = r.start(speedup=10)
        await asyncio.sleep(0.05)
        r.stop()
        second = r.start(duration=0.1, speedup=10)  # no "already running": the first is stopping
        assert r.state == "running"
        await first
        assert r.state == "running"  # the first run ending does not mark the second stopped
        at = clock.now()
        await second
        return r, at, clock.now()

    r, at, end = run_async(main())
    assert r.state == "stopped" and end > at  # the second run moved time on
    with pytest.raises(ParameterError, match="already running"):
        async def twice():
            r2 = Runner(fake_source(), clock=SimClock(), fps=100)
            t = r2.start(duration=0.05)
            try:
                r2.start()
            finally:
                await t
        run_async(twice())


def test_a_closed_runner_is_freed_not_kept_by_streamz_sinks(fake_source):
    import gc
    import weakref

    refs = []
    for _ in range(5):
        r = Runner(fake_source(), clock=SimClock(start="2024-01-01"), tick="1s")
        errors = r.errors.sink_to_list()  # a user's sink on the log must not pin the runner
        r.run("3s")
        r.report_error("frame", "view", ValueError("x"))
        assert len(errors) == 1
        r.close()
        refs.append(weakref.ref(r))
        del r
    gc.collect()
    assert [ref() for ref in refs] == [None] * 5


def test_start_without_a_running_loop_says_why(fake_source):
    r = Runner(fake_source(), clock=SimClock())
    with pytest.raises(rtnb.RtnbError, match="running asyncio event loop"):
        r.start(duration=1)
    assert r.state == "idle"  # not "running" with a task that never runs
