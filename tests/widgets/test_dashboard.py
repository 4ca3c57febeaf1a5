"""The dashboard: a composite widget refreshing its views once per frame, with controls."""

from __future__ import annotations

import ipywidgets
import numpy as np
import pandas as pd
import pytest

import rtnb
from rtnb.runner import FramePacer
from tests.conftest import FakeSource
from rtnb.widgets import Dashboard, ErrorPanel, FreshnessBadge, KpiTile, LiveBars, LiveLine


def Orders(rate: float) -> FakeSource:
    """``rate`` events per second (settable), keys FR/DE/IT, arrival == event time."""
    return FakeSource(rate, name="orders", keys=("FR", "DE", "IT"), key_col="country", measure="amount")


def wire(runner, store):
    """A minimal aggregation: one snapshot per batch (the real pipeline does more)."""
    totals = {}

    def on_batch(batch):
        for k, v in batch.groupby("country")["amount"].sum().items():
            totals[k] = totals.get(k, 0.0) + v
        t = batch["ts"].max()
        store.put(rtnb.Snapshot(metric="orders", table=pd.DataFrame({"sum": totals}), window=None,
                                watermark=t, newest_event=t, processed_at=runner.clock.now(),
                                counters=rtnb.Counters(received=len(batch), accepted=len(batch))))

    runner.stream.sink(on_batch)


def views(store):
    return [
        FreshnessBadge(store, "orders", limit="2s"),
        LiveLine(store, "orders", column="sum", points=20),
        LiveBars(store, "orders", column="sum"),
        KpiTile(store, "orders", column="sum"),
        ErrorPanel(store, "orders"),
    ]


@pytest.mark.parametrize("rate", [100, 10_000])
def test_messages_follow_the_frame_rate_not_the_event_rate(rate, sent):
    store = rtnb.store.MemoryStore(history=1000)
    runner = rtnb.Runner(Orders(rate), clock=rtnb.SimClock(start="2024-01-01"), tick="10ms", fps=10, frames="sim")
    wire(runner, store)
    dash = Dashboard(views(store), runner=runner)
    line = dash.views[1]
    sent.clear()
    runner.run("5s")  # 500 batches, 500 snapshots
    assert store.version("orders") == 500
    # 10 frames per simulated second: one message per frame for the line's mark.
    assert dash.frames == 50
    assert sent.count(line.lines) == 50
    assert len(line.point_times) == 20 and line.lines.y.shape[0] == 3  # bounded to `points`, whatever the run time


def test_dashboard_owns_its_views_in_a_grid_with_badges_on_top():
    store = rtnb.store.MemoryStore()
    vs = views(store)
    dash = Dashboard(vs, columns=3, title="Orders")
    assert isinstance(dash, ipywidgets.VBox)
    assert dash.children == (dash.header, dash.controls, dash.grid)
    assert vs[0] in dash.header.children and vs[0] not in dash.grid.children
    # Each view in its cell; a line chart with its toolbar (follow now / hold, zoom) above it.
    shown = [c if any(c is v for v in vs) else c.children[-1] for c in dash.grid.children]
    assert shown == vs[1:]
    assert vs[1].toolbar in dash.grid.children[0].children
    assert "repeat(3" in dash.grid.layout.grid_template_columns


def test_frame_gate_caps_frames_per_second_whatever_calls_it():
    store = rtnb.store.MemoryStore()
    t = [0.0]
    dash = Dashboard(views(store), fps=10, monotonic=lambda: t[0])
    for i in range(1000):  # 1000 calls over 2 s
        t[0] = i * 0.002
        dash.refresh(pd.Timestamp("2024-01-01"))
    assert dash.frames == 21  # at 0, 0.1, ..., 2.0 (up to 5% early): never more than 10/s
    assert dash.gate.skipped == 1000 - 21


def test_badge_turns_stale_when_the_source_stalls_and_fresh_when_it_resumes():
    store = rtnb.store.MemoryStore()
    src = Orders(100)
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start="2024-01-01"), tick="100ms", fps=10, frames="sim")
    wire(runner, store)
    dash = Dashboard(views(store), runner=runner, source=src)
    badge = dash.views[0]
    runner.run("3s")
    assert badge.state == "fresh"
    src.rate = 0  # a stall: no events arrive
    runner.run("2s")
    assert badge.state == "late"
    runner.run("4.1s")
    assert badge.state == "stale"
    src.rate = 100
    runner.run("0.2s")
    assert badge.state == "fresh"


def test_controls_pause_speed_up_and_rate_drive_the_runner_and_source():
    store = rtnb.store.MemoryStore()
    src = Orders(100)
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start="2024-01-01"))
    dash = Dashboard(views(store), runner=runner, source=src)
    runner.health.state = "running"  # as during a live run
    dash.pause_button.value = True
    assert runner.state == "paused" and dash.pause_button.description == "Resume"
    dash.pause_button.value = False
    assert runner.state == "running"
    dash.speedup_slider.value = 100.0
    assert runner.speedup == 100.0
    dash.rate_slider.value = 1000.0
    assert src.rate == 1000.0
    assert not dash.rate_slider.disabled and not dash.speedup_slider.disabled


def test_pause_does_nothing_before_a_run_and_a_new_run_starts_on_pause():
    # Pressing Pause on an idle dashboard flipped the button to "Resume" while nothing
    # ran; the next start() then ran under a "Resume" button.
    store = rtnb.store.MemoryStore()
    runner = rtnb.Runner(Orders(10), clock=rtnb.SimClock(start="2024-01-01"))
    dash = Dashboard(views(store), runner=runner)
    dash.pause_button.value = True
    assert dash.pause_button.value is False and dash.pause_button.description == "Pause"
    assert runner.state == "idle"
    runner.health.state = "running"  # as during a live run
    dash.pause_button.value = True
    assert runner.state == "paused" and dash.pause_button.description == "Resume"
    runner.health.state = "stopped"  # the run ended while paused
    runner.start = lambda duration=None, speedup=None: runner.health.__setattr__("state", "running")
    dash.start(10)
    assert runner.state == "running" and dash.pause_button.description == "Pause"


@pytest.mark.parametrize("speedup", [0.5, 28_800.0])
def test_controls_show_a_speed_up_or_rate_outside_the_sliders_range_without_changing_it(speedup):
    # The sliders used to clamp (speed-up 1..10^4, rate 0.1..10^5) and the clamped value
    # flowed back into the runner: dash.start(60, speedup=28_800) ran at 10,000.
    store = rtnb.store.MemoryStore()
    src = Orders(500_000)
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start="2024-01-01"))
    runner.speedup = speedup
    dash = Dashboard(views(store), runner=runner, source=src)
    assert runner.speedup == speedup and dash.speedup_slider.value == speedup
    assert src.rate == 500_000 and dash.rate_slider.value == 500_000
    dash.speedup_slider.value = 100.0
    assert runner.speedup == 100.0


def test_controls_without_a_rate_or_a_simulated_clock_are_disabled():
    store = rtnb.store.MemoryStore()
    runner = rtnb.Runner([], clock=rtnb.WallClock())
    dash = Dashboard(views(store), runner=runner)
    assert dash.rate_slider.disabled and dash.speedup_slider.disabled
    # Nothing runs yet: nothing to pause (a Pause that does nothing misleads), Start offered.
    assert dash.pause_button.disabled and not dash.start_button.disabled
    dash.detach()
    assert dash.runner is None and runner.frame_callbacks == []


@pytest.mark.parametrize(
    "kwargs, param",
    [({"views": []}, "views"), ({"views": ["a chart"]}, "views"), ({"columns": 0}, "columns"), ({"fps": -1}, "fps")],
)
def test_invalid_dashboard_parameters(kwargs, param):
    args = {"views": views(rtnb.store.MemoryStore()), **kwargs}
    with pytest.raises(rtnb.ParameterError) as err:
        Dashboard(args.pop("views"), **args)
    assert err.value.param == param


def test_a_source_fed_from_another_thread_hands_over_and_widgets_change_on_the_loop_thread(monkeypatch):
    import threading

    threads = set()
    monkeypatch.setattr(ipywidgets.Widget, "_send", lambda self, msg, buffers=None: threads.add(threading.get_ident()))
    clock = rtnb.SimClock(start="2024-01-01")
    queue = rtnb.QueueSource(clock=clock, keys=("country",), measures=("amount",))
    store = rtnb.store.MemoryStore()
    runner = rtnb.Runner(queue, clock=clock, tick="100ms", fps=10, frames="sim")
    wire(runner, store)
    dash = Dashboard(views(store), runner=runner)

    def producer():
        for i in range(50):
            t = pd.Timestamp("2024-01-01") + pd.Timedelta(milliseconds=i)
            queue.push(pd.DataFrame({"ts": [t], "arrival": [t], "country": ["FR"], "amount": [1.0]}))

    threads.clear()
    worker = threading.Thread(target=producer)
    worker.start()
    worker.join()
    assert threads == set()  # pushing touched no widget
    runner.run("1s")
    assert threads == {threading.get_ident()}
    assert dash.views[2].bars.y.tolist() == [50.0]


def test_the_frame_at_the_end_of_a_run_always_shows_the_final_state():
    store = rtnb.store.MemoryStore()
    runner = rtnb.Runner(Orders(100), clock=rtnb.SimClock(start="2024-01-01"), tick="1s")
    wire(runner, store)
    t = [0.0]
    # Wall time stands still, for the runner's pacer (which the dashboard follows) too:
    # on the real wall clock a loaded machine let a second frame through in 3 steps.
    runner.pacer = FramePacer(10, monotonic=lambda: t[0])
    dash = Dashboard(views(store), runner=runner, monotonic=lambda: t[0])
    runner.run("3s")  # frames: at most one by the wall clock, then the final one
    assert dash.views[2].frames_applied == 2  # the first frame, and the final one
    assert dash.views[1].point_times[-1] == np.datetime64(store.latest("orders").newest_event, "ns")
    assert "idle" in dash.status.value


def test_a_view_that_fails_is_reported_and_the_others_still_redraw():
    store = rtnb.store.MemoryStore()
    src = Orders(100)
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start="2024-01-01"), tick="100ms", fps=10, frames="sim")
    wire(runner, store)
    vs = views(store)
    broken = vs[1]

    def fail(now):
        raise ValueError("cannot draw")

    broken.refresh = fail
    dash = Dashboard(vs, runner=runner, source=src)
    runner.run("1s")
    assert dash.views[0].state == "fresh"  # the badge, before the broken view, redrew
    assert len(dash.views[2].bars.x) == 3   # the bars, after it, redrew too
    err = runner.health.errors[-1]
    assert (err.where, err.name, err.kind, err.message) == ("frame", "LiveLine.refresh", "ValueError", "cannot draw")
    assert runner.health.error_count == 10  # once per frame, counted, never silent


def test_the_status_line_reads_the_clock_at_a_glance():
    store = rtnb.store.MemoryStore()
    runner = rtnb.Runner(Orders(100), clock=rtnb.SimClock(start="2024-01-01 09:00"), tick="1s")
    wire(runner, store)
    dash = Dashboard(views(store), runner=runner)
    runner.run("3s")
    state = dash.status.get_state()["value"]
    # the time of day and the day, not the whole date to the second; the full time on hover
    assert ">idle · clock 09:00:03, Mon 01 Jan</span>" in state, state
    assert "title='2024-01-01 09:00:03'" in state
    dash.controls.show_status(pd.Timestamp("2024-01-01 09:00:03.123456+00:00"))  # a zoned clock says its zone
    assert "clock 09:00:03 UTC, Mon 01 Jan<" in dash.status.value and ".123456" not in dash.status.value.split(">")[1]
    dash.close()


def test_a_stepped_run_that_is_stopped_says_stopped_not_fresh():
    # A dashboard stepped with runner.run() and then stopped (notebook 06's crashed
    # worker): its badge said "fresh — 0.1 s old" for a run that had ended.
    orders = rtnb.simulate("ecommerce_orders", rate=50, seed=1, start="2024-01-01 12:00")
    dash = rtnb.dashboard(orders, metric="amount", by="country", window="1min", limit="5s",
                          clock=rtnb.SimClock(start="2024-01-01 12:00"))
    try:
        dash.runner.run("10s")
        badge = dash.views[0]
        assert (dash.runner.state, badge.run_state) == ("idle", "idle") and "fresh" in badge.value
        frames = dash.runner.health.frames
        dash.runner.stop()
        assert (dash.runner.state, badge.run_state) == ("stopped", "stopped")
        assert f"stopped — data {badge.age_text} at the stop" in badge.value and "stopped" in dash.status.value
        assert dash.runner.health.frames == frames + 1  # one frame shows the stop
        dash.runner.stop()  # stopped already: no other frame
        assert dash.runner.health.frames == frames + 1
        dash.runner.run("1s")  # stepped again: a run again
        assert dash.runner.state == "idle"
    finally:
        dash.close()


def test_a_runner_never_run_stays_idle_when_stopped():
    r = rtnb.Runner(rtnb.simulate("ecommerce_orders", rate=5, seed=1), clock=rtnb.SimClock(start="2024-01-01"))
    r.stop()
    assert r.state == "idle" and r.health.frames == 0
