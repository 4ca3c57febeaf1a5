"""A value axis keeps its domain while the data hovers around one of its ticks: it grows
at once when a value leaves it, shrinks only after the values have fitted a smaller
domain for SHRINK_FRAMES frames in a row (a max alternating 99/101 relabelled the axis
0-100, 0-125, 0-100... on every frame: a redraw of the axis and its grid each time)."""

from __future__ import annotations

import bqplot as bq
import numpy as np

from rtnb.widgets import LiveBars
from rtnb.widgets._style import SHRINK_FRAMES, show_value_range, value_axis

from .conftest import T0


def test_a_max_alternating_around_a_tick_changes_the_domain_at_most_once():
    axis = value_axis(bq.LinearScale(), "sum")
    domains = []
    for i in range(60):
        show_value_range(axis, np.array([3.0, 99.0 if i % 2 else 101.0]))
        domains.append((axis.scale.min, axis.scale.max))
        assert axis.scale.min <= 3.0 and axis.scale.max > 101.0 * (i % 2 == 0)  # the values always fit
    assert len(set(domains)) == 1 and domains[0] == (0.0, 125.0)
    assert axis.tick_values.tolist() == [0.0, 25.0, 50.0, 75.0, 100.0, 125.0]  # the ticks stay with it


def test_the_domain_grows_at_once_and_shrinks_after_the_values_stayed_inside():
    axis = value_axis(bq.LinearScale(), "sum")
    show_value_range(axis, np.array([0.0, 99.0]))
    assert (axis.scale.min, axis.scale.max) == (0.0, 100.0)
    show_value_range(axis, np.array([0.0, 101.0]))  # past the top: grows on this frame
    assert (axis.scale.min, axis.scale.max) == (0.0, 125.0)
    for i in range(SHRINK_FRAMES - 1):
        show_value_range(axis, np.array([0.0, 99.0 if i == 3 else 90.0]))
        assert (axis.scale.min, axis.scale.max) == (0.0, 125.0)
    show_value_range(axis, np.array([0.0, 90.0]))  # the SHRINK_FRAMES-th frame in a row within 0-100
    assert (axis.scale.min, axis.scale.max) == (0.0, 100.0)
    show_value_range(axis, np.array([0.0, 101.0]))
    show_value_range(axis, np.array([0.0, 40.0]))  # well inside (0-50: half the span or less): at once
    assert (axis.scale.min, axis.scale.max) == (0.0, 50.0)
    assert axis.tick_values.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    show_value_range(axis, np.array([-1.0, 40.0]))  # below the bottom: at once too
    assert axis.scale.min < -1.0


def test_bars_whose_top_hovers_at_a_tick_send_their_value_scale_once(store, snap, sent):
    bars = LiveBars(store, "orders", column="sum")
    sec = np.timedelta64(1, "s")
    for i in range(30):
        store.put(snap(t=T0 + i * sec, values={"FR": 99.0 if i % 2 else 101.0, "DE": 3.0}))
        bars.refresh(T0 + i * sec)
    assert sent.count(bars.y_scale) == 1  # set on the first frame, kept since
    assert (bars.y_scale.min, bars.y_scale.max) == (0.0, 125.0)
