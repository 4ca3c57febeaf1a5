"""The frame budget, on widget state: what one frame sends to the browser.

Each frame sends only what changed, values as float32, and each line's path is
rewritten once: a frame with new data sends the line's x and y in one message and
nothing to its scales (bqplot redraws a line on its data message *and* on every
domain change of its scales, so a separate scale message is a second rewrite of
every path).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import rtnb
from rtnb.widgets import Dashboard, FreshnessBadge, KpiTile, LiveBars, LiveLine
from tests.conftest import FakeSource

from .conftest import T0

SEC = pd.Timedelta("1s")


def frames_of(line, store, snap, sent, n, *, start=0):
    """``n`` frames, one new snapshot each; the messages each frame sent to the lines
    and the time scale."""
    out = []
    for i in range(start, start + n):
        sent.clear()
        store.put(snap(t=T0 + i * SEC, values={"FR": 10.0 + i, "DE": 5.0 + i % 3, "IT": 1.0}))
        line.refresh(T0 + i * SEC + 0.5 * SEC)  # now: half a second after the newest event
        y = np.asarray(line.lines.y, dtype=np.float64)
        y = y[np.isfinite(y)] if y.size else y
        domain = (line.y_scale.min, line.y_scale.max, y.min() if y.size else None, y.max() if y.size else None)
        out.append((sent.keys_sent(line.lines), sent.count(line.x_scale), sent.count(line.y_scale), domain))
    return out


def test_a_frame_with_new_data_sends_x_and_y_once_and_nothing_to_the_time_scale(store, snap, sent):
    line = LiveLine(store, "orders", column="sum", points=50)
    frames = frames_of(line, store, snap, sent, 30)
    domains = [f[3][:2] for f in frames]
    for i, (lines_msgs, x_scale_msgs, y_scale_msgs, domain) in enumerate(frames[1:], 1):  # (the first frame has one point: nothing drawn)
        assert len(lines_msgs) == 1 and {"x", "y"} <= lines_msgs[0]  # one rewrite of each path
        assert x_scale_msgs == 0  # no second rewrite from a time-domain change
        # The y domain moves in steps: its scale is sent only on a frame whose step changed.
        assert y_scale_msgs == (domain[:2] != domains[i - 1])
        assert domain[0] <= domain[2] and domain[3] < domain[1]  # it covers the frame's values
    assert frames[0][2] == 0  # (one point: nothing drawn, no domain)
    # Only what changed: the keys, their labels and colours stay, so they are not sent again.
    assert all(msgs[0] == {"x", "y"} for msgs, _, _, _ in frames[2:])
    # The axis still ends at now: the data's last point is at now (NaN: not drawn).
    assert line.time_domain[1] == T0 + 29.5 * SEC
    assert np.isnan(line.lines.y[:, -1]).all() and line.lines.y.dtype == np.float32
    # The marks that copy or cover the lines never move the domain (they would redraw them).
    assert line.hover_mark.preserve_domain == {"x": True, "y": True}
    assert line.partial_mark.preserve_domain == {"x": True, "y": True}


def test_a_frame_without_new_data_moves_now_with_x_alone(store, snap, sent):
    line = LiveLine(store, "orders", column="sum", points=50)
    frames_of(line, store, snap, sent, 5)
    y_before = line.lines.y.copy()
    for k in range(1, 4):  # a stall: frames, no new snapshot
        sent.clear()
        line.refresh(T0 + (4 + k) * SEC)
        assert sent.keys_sent(line.lines) == [{"x"}] and sent.count(line.x_scale) == 0
        assert line.time_domain[1] == T0 + (4 + k) * SEC
    np.testing.assert_array_equal(line.lines.y, y_before)
    sent.clear()
    line.refresh(T0 + 7 * SEC)  # the same now again: nothing moves, nothing is sent
    assert sent.count(line.lines) == 0


def test_a_zoomed_view_sends_its_span_as_one_scale_message_and_reset_frees_it(store, snap, sent):
    line = LiveLine(store, "orders", column="sum", points=50)
    frames_of(line, store, snap, sent, 20)
    line.zoom("10s")
    for lines_msgs, x_scale_msgs, _, _ in frames_of(line, store, snap, sent, 3, start=20):
        assert len(lines_msgs) == 1 and x_scale_msgs == 1  # min and max together
        assert sent.keys_sent(line.x_scale) == [{"min", "max"}]
    assert line.time_domain == (T0 + 12.5 * SEC, T0 + 22.5 * SEC)
    line.reset_button.click()
    assert (line.x_scale.min, line.x_scale.max) == (None, None)
    frames = frames_of(line, store, snap, sent, 2, start=23)
    assert [x for _, x, _, _ in frames] == [0, 0] and line.time_domain == (T0, T0 + 24.5 * SEC)


def test_holding_keeps_the_view_where_it_was_and_following_again_lets_it_go(store, snap, sent):
    line = LiveLine(store, "orders", column="sum", points=50)
    frames_of(line, store, snap, sent, 10)
    line.follow = "hold"
    held = line.time_domain
    frames_of(line, store, snap, sent, 5, start=10)
    assert line.time_domain == held == (T0, T0 + 9.5 * SEC)
    line.follow = "now"
    frames_of(line, store, snap, sent, 1, start=15)
    assert line.time_domain == (T0, T0 + 15.5 * SEC)


def test_a_dashboard_frame_sends_each_view_once_in_float32(sent):
    """Through a runner in simulated frames: per frame with new data, one message per
    mark (a KPI tile's number and sparkline in one); the line and the sparklines in float32; the scales of the time axis silent."""
    store = rtnb.store.MemoryStore(history=600)
    source = FakeSource(200, name="orders", keys=("FR", "DE", "IT"), key_col="country", measure="amount")
    runner = rtnb.Runner(source, clock=rtnb.SimClock(start="2024-01-01"), tick="100ms", fps=10, frames="sim")
    pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min", store=store)
    line = LiveLine(store, pipe.name, column="sum", points=100)
    kpi = KpiTile(store, pipe.name, column="sum")
    dash = Dashboard([FreshnessBadge(store, pipe.name, limit="5s"), line, LiveBars(store, pipe.name, column="sum"),
                      kpi], runner=runner)
    runner.run("5s")
    sent.clear()
    frames0 = dash.frames
    runner.run("10s")
    frames = dash.frames - frames0
    assert frames == 100
    assert sent.count(line.lines) == frames  # one message per frame: one path rewrite
    # The time scale is silent; the value scale moves in steps, sent on some frames, not
    # on each (here the 1 min window is filling: the sums grow on every frame).
    assert sent.count(line.x_scale) == 0 and sent.count(line.y_scale) < frames / 2
    assert sent.count(kpi.label) == frames  # the number and its sparkline: one message
    assert line.lines.y.dtype == np.float32 and kpi.spark_values.dtype == np.float32
    n = len(line.lines.x)  # the last frame's message: times as float64 ms, values float32
    assert sent.messages[line.lines.model_id][-1][1] == n * 8 + 3 * n * 4


def test_a_stall_breaks_the_line_instead_of_joining_it(store, snap):
    line = LiveLine(store, "orders", column="sum", points=50)
    rng = np.random.default_rng(0)
    times = [T0 + (i + 0.3 * rng.random()) * SEC for i in range(10)]  # about 1 s apart, jittered
    times += [T0 + (30 + i) * SEC for i in range(5)]                  # a 20 s stall, then on again
    for i, t in enumerate(times):
        store.put(snap(t=t, values={"FR": float(i), "DE": 1.0}))
        line.refresh(t)
    y = line.lines.y
    nan_cols = np.flatnonzero(np.isnan(y).all(axis=0))
    assert len(nan_cols) == 1  # one break: the stall; the jitter does not break the line
    gap = nan_cols[0]
    assert line.lines.x[gap - 1] == np.datetime64(times[9], "ns") and line.lines.x[gap + 1] == np.datetime64(times[10], "ns")
    # Every point is still drawn (none dropped) and the hover dots are only the points.
    assert np.isfinite(y).sum() == 2 * len(times)
    assert len(line.hover_mark.x) == 2 * len(times)


def test_frames_that_slip_on_a_busy_kernel_do_not_break_the_line():
    # A loaded kernel spreads frames unevenly (a third of them 3-4x late) while the data
    # keeps coming: no break. A 60 s stall among them still breaks, once.
    from rtnb.widgets._line import break_gaps

    rng = np.random.default_rng(7)
    steps = np.where(rng.random(200) < 0.3, rng.uniform(3.0, 4.0, 200), rng.uniform(0.8, 1.2, 200))
    x = (np.datetime64("2024-01-01T12:00:00", "ns") + (np.cumsum(steps) * 1e9).astype("timedelta64[ns]"))
    y = np.arange(200.0)[None, :]
    bx, by = break_gaps(x, y)
    assert len(bx) == 200 and not np.isnan(by).any()
    x2 = x.copy()
    x2[120:] += np.timedelta64(60, "s")
    bx2, by2 = break_gaps(x2, y)
    assert np.isnan(by2).sum() == 1 and bx2[np.flatnonzero(np.isnan(by2[0]))[0] - 1] == x2[119]
