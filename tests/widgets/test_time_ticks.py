"""The time axis of a live line: a bounded number of round ticks in 24 h, for every span.

bqplot's own date ticks are d3's ten per axis: a 10-25 s axis got 15-21 one-second
ticks that ran into each other, and d3's labels mix "12:00" with ":01". The axis now
carries at most six round times (whole seconds, 5 s, minutes, hours, days) and a
format that reads each label in full, 24 h, the date only when the axis spans days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rtnb.widgets import LiveLine

from .conftest import T0

SPANS = ["5s", "10s", "18s", "25s", "45s", "2min", "7min", "30min", "1h", "5h", "13h", "1D", "2D", "3D",
         "10D", "40D"]


def labels(axis) -> list[str]:
    """The tick labels as the browser prints them (d3's UTC format = strftime here)."""
    fmt = axis.tick_format.replace("%L", "%f")
    return [pd.Timestamp(t).strftime(fmt) for t in np.asarray(axis.tick_values)]


def drive(line, store, snap, span: pd.Timedelta, n: int = 40) -> None:
    for i in range(n + 1):
        t = T0 + span * i / n
        store.put(snap(t=t, values={"FR": 10.0 + i, "DE": 5.0}))
        line.refresh(t)


@pytest.mark.parametrize("span", SPANS)
def test_every_span_gets_at_most_six_round_readable_ticks_inside_the_axis(store, snap, span):
    span = pd.Timedelta(span)
    line = LiveLine(store, "orders", column="sum", points=100)
    drive(line, store, snap, span)
    axis = line.axes[0]
    ticks = pd.to_datetime(np.asarray(axis.tick_values))
    lo, hi = line.time_domain
    assert 2 <= len(ticks) <= 6, (span, list(ticks))
    assert all(lo <= t <= hi for t in ticks)  # none drawn outside the plot
    steps = set(np.diff(ticks.asi8))
    assert len(steps) == 1 or span >= pd.Timedelta("30D")  # evenly spaced (calendar months aside)
    assert all(t == t.floor("s") for t in ticks)  # round: whole seconds (and coarser)
    text = labels(axis)
    assert len(set(text)) == len(text)  # every label distinct
    assert "%I" not in axis.tick_format and "%p" not in axis.tick_format  # 24 h, no "PM"
    if span < pd.Timedelta("1min"):
        assert axis.tick_format == "%H:%M:%S"  # "12:00:05", never ":05"
    assert ("%d" in axis.tick_format) == (lo.normalize() != hi.normalize())  # the date when it spans days
    assert max(len(s) for s in text) * len(text) <= 60  # fits a 300 px chart at ~6 px a character


def test_ticks_follow_the_live_axis_and_a_zoom_but_not_every_frame(store, snap, sent):
    line = LiveLine(store, "orders", column="sum", points=300)
    for i in range(10):
        store.put(snap(t=T0 + pd.Timedelta(seconds=i)))
        line.refresh(T0 + pd.Timedelta(seconds=i))
    axis = line.axes[0]
    sent.clear()
    for i in range(10, 110):  # 100 frames, 1 s apart: the ticks move every few frames only
        t = T0 + pd.Timedelta(seconds=i)
        store.put(snap(t=t))
        line.refresh(t)
        ticks = pd.to_datetime(np.asarray(axis.tick_values))
        assert len(ticks) <= 6 and ticks[0] >= line.time_domain[0] and ticks[-1] <= line.time_domain[1]
    assert 0 < sent.count(axis) < 50
    line.zoom("20s")  # zoomed: from the next frame, the ticks cover the last 20 s only, 5 s apart
    line.refresh(T0 + pd.Timedelta(seconds=110))
    ticks = pd.to_datetime(np.asarray(axis.tick_values))
    assert list(np.diff(ticks.asi8)) == [5_000_000_000] * (len(ticks) - 1) and 3 <= len(ticks) <= 5
    # A stall: frames with no new data still move the axis on, and its ticks with it.
    for s in range(111, 140):
        line.refresh(T0 + pd.Timedelta(seconds=s))
    assert pd.to_datetime(np.asarray(axis.tick_values))[-1] == T0 + pd.Timedelta(seconds=135)
