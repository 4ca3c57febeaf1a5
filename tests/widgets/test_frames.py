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


def frames_of(line, store, snap, sent, n, *, start=0, spans=None):
    """``n`` frames, one new snapshot each; the messages each frame sent to the lines
    and the time scale (and each frame's time scale min and max, into ``spans``)."""
    out = []
    for i in range(start, start + n):
        sent.clear()
        store.put(snap(t=T0 + i * SEC, values={"FR": 10.0 + i, "DE": 5.0 + i % 3, "IT": 1.0}))
        line.refresh(T0 + i * SEC + 0.5 * SEC)  # now: half a second after the newest event
        y = np.asarray(line.lines.y, dtype=np.float64)
        y = y[np.isfinite(y)] if y.size else y
        domain = (line.y_scale.min, line.y_scale.max, y.min() if y.size else None, y.max() if y.size else None)
        out.append((sent.keys_sent(line.lines), sent.count(line.x_scale), sent.count(line.y_scale), domain))
        if spans is not None:
            spans.append((line.x_scale.min, line.x_scale.max, sent.count(line.x_scale)))
    return out


def test_a_frame_with_new_data_sends_x_and_y_once_and_the_time_scale_only_when_a_step_is_crossed(store, snap, sent):
    line = LiveLine(store, "orders", column="sum", points=50)
    spans = []
    frames = frames_of(line, store, snap, sent, 30, spans=spans)
    domains = [f[3][:2] for f in frames]
    spans = spans[1:]
    for i, (lines_msgs, x_scale_msgs, y_scale_msgs, domain) in enumerate(frames[1:], 1):  # (the first frame has one point: nothing drawn)
        assert len(lines_msgs) == 1 and {"x", "y"} <= lines_msgs[0]  # one rewrite of each path
        # The y domain moves in steps: its scale is sent only on a frame whose step changed.
        assert y_scale_msgs == (domain[:2] != domains[i - 1])
        assert domain[0] <= domain[2] and domain[3] < domain[1]  # it covers the frame's values
    assert frames[0][2] == 0  # (one point: nothing drawn, no domain)
    # The time domain moves in steps too (min and max in one message, on the frames that
    # cross a step): bqplot renders the axis three times per domain change.
    for (lo0, hi0, _), (lo, hi, msgs) in zip(spans, spans[1:]):
        assert msgs == ((lo, hi) != (lo0, hi0))
    # 1 s apart on a 2-30 s axis (1-5 s ticks: 0.25-1.25 s steps): a step is crossed on
    # most frames here; on a filled axis it is one frame in several (the test below).
    assert 0 < sum(m for _, _, m in spans) <= len(spans)
    # Only what changed: the keys, their labels and colours stay, so they are not sent again.
    assert all(msgs[0] == {"x", "y"} for msgs, _, _, _ in frames[2:])
    # The axis runs to now (at most one step, a quarter tick, past it) and covers every point.
    lo, hi = line.time_domain
    now = T0 + 29.5 * SEC
    assert lo <= T0 and now <= hi < now + 2 * SEC  # 10 s ticks on a 30 s axis: 2.5 s steps
    assert line.now_mark.x[0] == np.datetime64(now, "ns")  # the "now" rule
    assert line.lines.x[-1] == np.datetime64(T0 + 29 * SEC, "ns")  # the data: no point at now
    assert np.isfinite(line.lines.y).all() and line.lines.y.dtype == np.float32
    # The marks that copy or cover the lines never move the domain (they would redraw them).
    assert line.hover_mark.preserve_domain == {"x": True, "y": True}
    assert line.partial_mark.preserve_domain == {"x": True, "y": True}
    assert line.now_mark.preserve_domain == {"x": True} and line.now_mark.scales["y"] is not line.y_scale


def test_a_frame_without_new_data_moves_the_now_rule_alone(store, snap, sent):
    line = LiveLine(store, "orders", column="sum", points=50)
    frames_of(line, store, snap, sent, 5)
    x_before, y_before = line.lines.x.copy(), line.lines.y.copy()
    for k in range(1, 12):  # a stall: frames, no new snapshot
        sent.clear()
        now = T0 + (4 + k) * SEC
        domain = line.time_domain
        line.refresh(now)
        assert sent.count(line.lines) == 0  # the lines stay where they were: not sent
        assert sent.keys_sent(line.now_mark) == [{"x"}] and line.now_mark.x[0] == np.datetime64(now, "ns")
        lo, hi = line.time_domain
        assert now <= hi and lo <= T0  # the axis still runs to now: the stall is a gap before the rule
        assert sent.count(line.x_scale) == (line.time_domain != domain)
    np.testing.assert_array_equal(line.lines.x, x_before)
    np.testing.assert_array_equal(line.lines.y, y_before)
    sent.clear()
    line.refresh(T0 + 15 * SEC)  # the same now again: nothing moves, nothing is sent
    assert sent.count(line.lines) == 0 and sent.count(line.now_mark) == 0 and sent.count(line.x_scale) == 0


def test_a_zoomed_view_sends_its_span_as_one_scale_message_and_reset_frees_it(store, snap, sent):
    line = LiveLine(store, "orders", column="sum", points=50)
    frames_of(line, store, snap, sent, 20)
    line.zoom("10s")
    for lines_msgs, x_scale_msgs, _, _ in frames_of(line, store, snap, sent, 3, start=20):
        assert len(lines_msgs) == 1 and x_scale_msgs == 1  # min and max together
        assert sent.keys_sent(line.x_scale) == [{"min", "max"}]
    assert line.time_domain == (T0 + 12.5 * SEC, T0 + 22.5 * SEC)
    line.reset_button.click()  # the whole history again, in steps
    lo, hi = line.time_domain
    assert lo <= T0 and T0 + 22.5 * SEC <= hi
    frames = frames_of(line, store, snap, sent, 2, start=23)
    lo, hi = line.time_domain
    assert all(x <= 1 for _, x, _, _ in frames) and lo <= T0 and T0 + 24.5 * SEC <= hi < T0 + 27 * SEC


def test_holding_keeps_the_view_where_it_was_and_following_again_lets_it_go(store, snap, sent):
    line = LiveLine(store, "orders", column="sum", points=50)
    frames_of(line, store, snap, sent, 10)
    line.follow = "hold"
    held = line.time_domain
    frames_of(line, store, snap, sent, 5, start=10)
    assert line.time_domain == held and held[0] <= T0 and T0 + 9.5 * SEC <= held[1] < T0 + 12 * SEC
    line.follow = "now"
    frames_of(line, store, snap, sent, 1, start=15)
    lo, hi = line.time_domain
    assert lo <= T0 and T0 + 15.5 * SEC <= hi < T0 + 18 * SEC


def test_a_dashboard_frame_sends_each_view_once_in_float32(sent):
    """Through a runner in simulated frames: per frame with new data, one message per
    mark (a KPI tile's number and sparkline in one); the line and the sparklines in float32; the scales in steps."""
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
    # The scales move in steps, sent on some frames, not on each (here the 1 min window
    # is filling: the sums grow on every frame).
    assert sent.count(line.x_scale) < frames / 4 and sent.count(line.y_scale) < frames / 2
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
    from rtnb.widgets._line_points import break_gaps

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


def test_the_live_time_span_covers_every_point_ends_past_now_and_moves_once_per_step():
    """time_domain_steps over a long run of jittered frames (a rolling history of 300
    points, ~8 frames/s): the span always holds the first point and now, ends less than
    two steps after now, and changes on about one frame in a step's worth, not on each."""
    from rtnb.widgets._style import _time_quantum_ns, time_domain_steps

    rng = np.random.default_rng(7)
    t = T0 + np.cumsum(rng.uniform(0.08, 0.17, 3000)) * SEC
    span, changes = None, 0
    for i in range(len(t)):
        first, now = t[max(0, i - 299)], t[i] + 0.05 * SEC
        new = time_domain_steps(first, now, span)
        changes += new != span
        span = new
        lo, hi = span
        q = _time_quantum_ns(lo.value, hi.value)
        assert lo <= first and now <= hi
        assert (hi - now).value < 2 * q and (first - lo).value < 2 * q
    steps = (t[-1] - t[0]) / pd.Timedelta(q, "ns")  # the steps crossed (q: the last span's, ~2.5 s on ~37 s)
    assert changes <= 1.5 * steps + 10 and changes < len(t) / 10


def test_a_line_stepped_axis_is_set_when_following_again_and_sent_with_the_lines_on_a_step(store, snap, sent):
    """Reset after a zoom sets the stepped span at once (no frame needed); a frame that
    crosses a step sends the scale's min and max in one message."""
    line = LiveLine(store, "orders", column="sum", points=50)
    frames_of(line, store, snap, sent, 12)
    line.zoom("5s")
    frames_of(line, store, snap, sent, 1, start=12)
    assert line.time_domain == (T0 + 7.5 * SEC, T0 + 12.5 * SEC)
    sent.clear()
    line.reset_button.click()
    assert len(sent.keys_sent(line.x_scale)) == 1  # one message (here min alone: max is on a step already)
    lo, hi = line.time_domain
    assert lo <= T0 and T0 + 12.5 * SEC <= hi
