"""Where a live line breaks: only where the data has a gap, never where frames were skipped.

The runner skips a dashboard's frames when its callback overran the frame budget (a
loaded machine); the pipeline keeps writing snapshots to the store meanwhile. Those
frames are not a gap in the data: the line must join across them (the quick-start's
first chart came out with breaks under load where the stream never stopped).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rtnb.widgets import LiveLine

from .conftest import T0

SEC = pd.Timedelta("1s")


def breaks(line) -> list[np.datetime64]:
    """The times of the drawn points just before each break (a column of NaN inside the
    line; the point at now at the end is not a break)."""
    y = line.lines.y.reshape(-1, len(line.lines.x))
    cols = np.flatnonzero(np.isnan(y).all(axis=0))
    return [line.lines.x[c - 1] for c in cols if 0 < c < len(line.lines.x) - 1]


def put(store, snap, i, t):
    store.put(snap(t=t, values={"FR": 10.0 + i, "DE": 5.0 + i % 3}))


def test_frames_skipped_while_the_store_kept_writing_do_not_break_the_line(store, snap):
    line = LiveLine(store, "orders", column="sum", points=200)
    for i in range(20):  # one snapshot per frame, the view drawing each
        put(store, snap, i, T0 + i * SEC)
        line.refresh(T0 + i * SEC)
    for i in range(20, 40):  # the runner skips the view for 20 frames; the stream goes on
        put(store, snap, i, T0 + i * SEC)
    for i in range(40, 50):
        put(store, snap, i, T0 + i * SEC)
        line.refresh(T0 + i * SEC)
    assert breaks(line) == []
    # Every snapshot is drawn: the skipped ones come from the store's history.
    assert list(line.point_times) == [np.datetime64(T0 + i * SEC, "ns") for i in range(50)]
    fr = line.lines.y.reshape(-1, len(line.lines.x))[line.lines.labels.index("FR")]
    assert np.array_equal(fr[:50], 10.0 + np.arange(50))


def test_a_gap_in_the_data_still_breaks_after_skipped_frames(store, snap):
    # The same skipped frames, then the stream stops for 30 s (a stalled kernel or
    # source: nothing is written) and comes back: one break, at the stall only.
    line = LiveLine(store, "orders", column="sum", points=200)
    times = [T0 + i * SEC for i in range(40)] + [T0 + (70 + i) * SEC for i in range(10)]
    for i, t in enumerate(times):
        put(store, snap, i, t)
        if not 20 <= i < 30:
            line.refresh(t)
    assert breaks(line) == [np.datetime64(T0 + 39 * SEC, "ns")]


def test_skipped_frames_over_a_stall_still_break_at_the_stall(store, snap):
    # The view misses the frames around the stall itself: what it fills from the store
    # ends where the data stopped, and the line breaks there.
    line = LiveLine(store, "orders", column="sum", points=200)
    times = [T0 + i * SEC for i in range(30)] + [T0 + (60 + i) * SEC for i in range(10)]
    for i, t in enumerate(times):
        put(store, snap, i, t)
        if not 25 <= i < 33:
            line.refresh(t)
    assert breaks(line) == [np.datetime64(T0 + 29 * SEC, "ns")]
    assert len(line.point_times) == len(times)
