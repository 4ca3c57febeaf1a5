"""What a reader sees: colours per key, axes, the filling window, tooltips, zoom that
follows now, the live table. Checked on widget state, without a browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtnb
from rtnb.widgets import KeyColours, LiveBars, LiveLine, LiveTable
from rtnb.widgets._style import PALETTE

from .conftest import T0

SEC = pd.Timedelta("1s")


# -- colours ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("ABCDEFGHIJKLMNOPQRST"), min_size=1, max_size=14, unique=True),
                min_size=1, max_size=25))
def test_shown_keys_never_share_a_colour_and_a_key_keeps_its_colour_while_shown(frames):
    colours = KeyColours(shared=False)
    before: dict[str, str] = {}
    for keys in frames:
        got = dict(zip(keys, colours.assign(keys)))
        assert len(set(got.values())) == len(keys)  # never two shown keys with one colour
        for k in keys:
            if k in before:  # shown in the frame before: same colour now
                assert got[k] == before[k]
        before = got


def test_a_key_that_comes_back_gets_a_free_colour_if_its_old_one_was_taken(store, snap):
    line = LiveLine(store, "orders", column="sum", top_k=2, colours=KeyColours(shared=False))
    for i, values in enumerate([{"FR": 3.0, "DE": 2.0}, {"IT": 9.0, "DE": 2.0, "FR": 1.0}, {"FR": 10.0, "IT": 9.0}]):
        store.put(snap(t=T0 + i * SEC, values=values))
        line.refresh(T0 + i * SEC)
        assert len(set(line.lines.colors)) == len(line.lines.labels)
    # FR's first colour went to IT while FR was out of the top 2; IT keeps it.
    assert line.lines.labels == ["FR", "IT"]
    assert line.lines.colors[1] == PALETTE[0] and line.lines.colors[0] != PALETTE[0]


def test_bars_are_coloured_like_the_lines_of_the_same_dashboard(store, snap):
    shared = KeyColours(shared=False)
    line = LiveLine(store, "orders", column="sum", top_k=3, colours=shared)
    bars = LiveBars(store, "orders", column="sum", top_k=5, colours=shared)
    store.put(snap(values={"FR": 5.0, "DE": 9.0, "IT": 7.0, "ES": 1.0, "PT": 2.0}))
    line.refresh(T0), bars.refresh(T0)
    line_colour = dict(zip(line.lines.labels, line.lines.colors))
    bar_colour = dict(zip(bars.bars.x, bars.bars.colors))
    assert all(bar_colour[k] == c for k, c in line_colour.items())
    assert len(set(bars.bars.colors)) == 5


def test_the_same_key_has_the_same_colour_in_two_dashboards_of_a_notebook(store, snap):
    a, b = KeyColours(), KeyColours()
    a.assign(["zz-FR", "zz-DE", "zz-IT"])
    assert b.assign(["zz-IT", "zz-FR"]) == [a.colour_of("zz-IT"), a.colour_of("zz-FR")]


def test_more_keys_than_the_palette_still_get_distinct_colours():
    keys = [f"k{i}" for i in range(40)]
    assert len(set(KeyColours(shared=False).assign(keys))) == 40


# -- axes -------------------------------------------------------------------------------


def test_value_axes_have_si_ticks_units_a_bounded_tick_count_and_labels_clear_of_ticks(store, snap):
    line = LiveLine(store, "orders", column="sum", unit="EUR")
    bars = LiveBars(store, "orders", column="sum", unit="EUR")
    for i in range(3):
        store.put(snap(t=T0 + i * SEC, values={"FR": 3_870.0 + 13_000 * i, "DE": 120_000.0}))
        line.refresh(T0 + i * SEC), bars.refresh(T0 + i * SEC)
    # Round values, never bqplot's even split of the domain (3.87k, 27.1k, ...).
    assert line.axes[1].tick_values.tolist() == [0.0, 25_000.0, 50_000.0, 75_000.0, 100_000.0, 125_000.0]
    assert (line.y_scale.min, line.y_scale.max) == (0.0, 125_000.0)  # the domain: just past the data, in steps
    assert bars.axes[1].tick_values.tolist()[0] == 0.0
    for fig in (line, bars):
        y_axis = fig.axes[1]
        assert y_axis.label == "sum (EUR)"
        assert y_axis.tick_format == "~s"  # d3: 12000 -> 12k, 1200000 -> 1.2M
        assert y_axis.tick_values is not None and len(y_axis.tick_values) <= 6
        # The label sits further out than the widest SI tick text ("-999k", ~35 px).
        assert int(y_axis.label_offset.rstrip("px")) >= 45
        assert fig.fig_margin["left"] > int(y_axis.label_offset.rstrip("px"))
    assert line.axes[0].tick_format == "%H:%M:%S" and 2 <= len(line.axes[0].tick_values) <= 6  # whole seconds, 24 h


def _shift(axis) -> tuple[float, float]:
    """How far an axis's tick labels are moved (px), from its tick style's translate()."""
    import re

    shift = axis.tick_style.get("transform", "translate(0px, 0px)")
    m = re.fullmatch(r"translate\((-?[\d.]+)px, (-?[\d.]+)px\)", shift)
    assert m, axis.tick_style
    return float(m[1]), float(m[2])


def test_tick_labels_at_the_ends_of_an_axis_clear_its_end_ticks(store, snap):
    # bqplot draws a 6 px tick at each end of an axis line; d3 puts the labels 3 px from
    # the line, so the end ticks ran through the labels at the ends (the stall chart's
    # "12:00:00" under the first point, the top value's "k"). Moved out past them.
    from rtnb.widgets._style import END_TICK_PX

    line = LiveLine(store, "orders", column="sum", unit="EUR")
    bars = LiveBars(store, "orders", column="sum", unit="EUR")
    store.put(snap(t=T0, values={"FR": 3.0}))
    line.refresh(T0), bars.refresh(T0)
    padding = 3  # d3's tickPadding
    time_axis = line.axes[0]
    dx, dy = _shift(time_axis)
    assert dx == 0 and padding + dy > END_TICK_PX  # below the end ticks
    # The axis label stays under the moved labels (an 11 px line below them) and inside the figure.
    assert int(time_axis.label_offset.rstrip("px")) >= padding + dy + 11 + 12
    assert line.fig_margin["bottom"] > int(time_axis.label_offset.rstrip("px"))
    for fig in (line, bars):
        dx, dy = _shift(fig.axes[1])
        assert dy == 0 and padding - dx > END_TICK_PX  # left of the end ticks
        # still clear of the axis label: the widest SI tick text ("-999k", ~35 px) fits between
        assert padding - dx + 35 < int(fig.axes[1].label_offset.rstrip("px"))


def test_the_time_axis_runs_to_now_so_a_stall_shows_as_a_gap(store, snap):
    line = LiveLine(store, "orders", column="sum")
    for i in range(5):
        store.put(snap(t=T0 + i * SEC))
        line.refresh(T0 + i * SEC)
    assert line.time_domain == (T0, T0 + 4 * SEC)  # (1 s ticks: 250 ms steps)
    # A stall: no new snapshot for 30 s; the axis still moves on to now (in steps of a
    # quarter tick: 10 s ticks here) and the "now" rule marks it.
    line.refresh(T0 + 34 * SEC)
    lo, hi = line.time_domain
    assert lo == T0 and T0 + 34 * SEC <= hi <= T0 + 34 * SEC + 2.5 * SEC
    assert list(line.now_mark.x) == [np.datetime64(T0 + 34 * SEC, "ns")] * 2
    assert line.point_times[-1] == np.datetime64(T0 + 4 * SEC, "ns")  # the last point stays where it was
    assert line.lines.x[-1] == np.datetime64(T0 + 4 * SEC, "ns")  # the line ends there: the gap


def test_a_window_that_has_not_filled_yet_is_drawn_as_partial(store, snap):
    line = LiveLine(store, "orders", column="sum")
    step = pd.Timedelta("1min")  # the snapshots have a 5 min window
    for i in range(8):
        store.put(snap(t=T0 + i * step, values={"FR": float(i + 1)}))
        line.refresh(T0 + i * step)
        if 1 <= i < 5:  # (one point draws no line) up to T0+4min the window is not full
            assert line.partial_points == i + 1
    assert line.partial_points == 5  # T0 .. T0+4min; T0+5min is the first full window
    vx = line.partial_mark.x
    assert vx[0] == np.datetime64(T0, "ns") and vx[-1] == np.datetime64(T0 + 5 * step, "ns")
    # The veil spans the whole value range, so the lines under it read lighter.
    assert line.partial_mark.y.min() < 1.0 and line.partial_mark.y.max() > 8.0
    # The data itself is all drawn: nothing is left out.
    assert not np.isnan(line.lines.y).any()


def test_the_veil_goes_once_the_filling_window_has_rolled_out_of_the_history(store, snap, sent):
    line = LiveLine(store, "orders", column="sum", points=5)
    step = pd.Timedelta("1min")
    for i in range(12):
        store.put(snap(t=T0 + i * step))
        line.refresh(T0 + i * step)
    assert line.partial_points == 0 and len(line.partial_mark.x) == 0
    sent.clear()
    store.put(snap(t=T0 + 12 * step))
    line.refresh(T0 + 12 * step)
    assert sent.count(line.partial_mark) == 0  # nothing to cover: nothing sent


def test_the_legend_is_a_row_above_the_chart_in_the_lines_colours(store, snap, sent):
    # bqplot draws its legend inside the plot, over the first points: the legend is an
    # HTML row in the toolbar instead, a swatch per line in that line's colour.
    line = LiveLine(store, "orders", column="sum", points=50)
    for i in range(3):
        store.put(snap(t=T0 + i * SEC, values={"FR": 10.0 + i, "DE": 5.0}))
        line.refresh(T0 + i * SEC)
    assert line.lines.display_legend is False and line.legend in line.toolbar.children
    for key, colour in zip(line.lines.labels, line.lines.colors):
        assert f"data-colour='{colour}'" in line.legend.value and f"</span>{key}</span>" in line.legend.value
    assert line.legend.value.index(">FR<") < line.legend.value.index(">DE<")  # the lines' order
    sent.clear()
    store.put(snap(t=T0 + 3 * SEC, values={"FR": 13.0, "DE": 5.0}))
    line.refresh(T0 + 3 * SEC)
    assert sent.count(line.legend) == 0  # same keys, same colours: nothing sent


# -- tooltips and zoom ------------------------------------------------------------------


def test_hovering_a_point_or_a_bar_shows_key_time_and_value(store, snap):
    line = LiveLine(store, "orders", column="sum")
    bars = LiveBars(store, "orders", column="sum")
    for i in range(3):
        store.put(snap(t=T0 + i * SEC, values={"FR": 10.0 + i, "DE": 5.0}))
        line.refresh(T0 + i * SEC)
    bars.refresh(T0)
    dots = line.hover_mark
    assert dots.tooltip.fields == ["name", "x", "y"] and dots.tooltip.labels == ["key", "time", "sum"]
    assert sorted(zip(dots.names.tolist(), dots.y.tolist())) == sorted(
        [("FR", 10.0), ("FR", 11.0), ("FR", 12.0), ("DE", 5.0), ("DE", 5.0), ("DE", 5.0)])
    assert list(dots.opacities) == [0.0]  # invisible until hovered: the tooltip is the point
    # Every dot of a line shares its key's name: bqplot must join dots to data by index,
    # not by name (by name, most dots enter unstyled and draw as black trails).
    assert dots.names_unique is False
    assert bars.bars.tooltip.fields == ["x", "y"] and bars.bars.tooltip.labels == ["key", "sum"]


def test_hover_dots_are_bounded_per_line_near_the_newest_point_and_sent_only_when_they_change(store, snap, sent):
    from rtnb.widgets._line import HOVER_DOTS

    line = LiveLine(store, "orders", column="sum", points=300)
    for i in range(300):
        store.put(snap(t=T0 + i * SEC, values={"FR": 10.0 + i, "DE": 5.0}))
        line.refresh(T0 + i * SEC)
    dots = line.hover_mark
    assert len(line.lines.x) == 300 and len(dots.x) <= 2 * HOVER_DOTS
    fr = dots.y[dots.names == "FR"]
    assert fr.max() >= 10.0 + 299 - 4  # a point at most a stride (5) from the newest can be hovered
    assert set(np.diff(np.sort(fr)).round(3)) == {5.0}  # evenly spaced: every 5th point
    # With a full history the dots stay on the same numbered points as new ones come:
    # sent on one frame in five (when a numbered point arrives), not on every frame.
    sent.clear()
    for i in range(300, 400):
        store.put(snap(t=T0 + i * SEC, values={"FR": 10.0 + i, "DE": 5.0}))
        line.refresh(T0 + i * SEC)
    assert sent.count(line.lines) == 100 and sent.count(dots) == 100 // 5
    fr = dots.y[dots.names == "FR"]
    assert fr.max() >= 10.0 + 399 - 4 and set(np.diff(np.sort(fr)).round(3)) == {5.0}
    assert (dots.x >= line.point_times[0]).all()  # no dot left of the time axis


def test_a_zoomed_chart_follows_now_or_holds(store, snap):
    line = LiveLine(store, "orders", column="sum")
    for i in range(60):
        store.put(snap(t=T0 + i * SEC))
        line.refresh(T0 + i * SEC)
    # The user zooms in the browser to the last 10 s (bqplot's PanZoom sets the scale).
    view = lambda: line.view_label.value.split("data-view='")[1].split("'")[0]  # noqa: E731
    assert view() == "all" and "whole history" in line.view_label.value
    line.x_scale.min, line.x_scale.max = (T0 + 49 * SEC).to_pydatetime(), (T0 + 59 * SEC).to_pydatetime()
    assert view() == "following" and "last 10 s" in line.view_label.value  # the toolbar says what is shown
    store.put(snap(t=T0 + 60 * SEC))
    line.refresh(T0 + 61 * SEC)
    assert (line.x_scale.min, line.x_scale.max) == ((T0 + 51 * SEC).to_pydatetime(), (T0 + 61 * SEC).to_pydatetime())
    line.follow = "hold"
    assert view() == "held"
    line.refresh(T0 + 70 * SEC)
    assert line.x_scale.max == (T0 + 61 * SEC).to_pydatetime()  # held where it was
    line.follow_buttons.value = "now"
    assert view() == "following"
    line.refresh(T0 + 71 * SEC)
    assert line.x_scale.max == (T0 + 71 * SEC).to_pydatetime()
    line.reset_button.click()  # back to the whole history: the axis follows the data again
    assert view() == "all"
    line.refresh(T0 + 72 * SEC)
    lo, hi = line.time_domain  # (in steps of a quarter tick: 15 s ticks on 72 s, 3.75 s steps)
    assert lo == T0 and T0 + 72 * SEC <= hi <= T0 + 75 * SEC
    line.zoom_button.value = True
    assert line.interaction is line.panzoom and line.panzoom.scales == {"x": [line.x_scale]}
    with pytest.raises(rtnb.UnknownNameError, match="follow"):
        line.follow = "later"


# -- the table --------------------------------------------------------------------------


def test_the_live_table_shows_the_top_rows_sorted_and_resorts_on_request(store, snap):
    table = LiveTable(store, "orders", sort_by="sum", rows=3)
    values = {k: float(v) for k, v in zip("ABCDE", [5, 50_000, 7, 1_200_000, 3])}
    store.put(snap(values=values, count=[1, 2, 3, 4, 5]))
    assert table.refresh(T0)
    assert table.shown_keys == ["D", "B", "C"]
    assert "1.2M" in table.html.value and "50k" in table.html.value and "2 more rows" in table.html.value
    assert list(table.sort_control.options) == ["key", "sum", "count"]
    table.ascending = True
    assert table.shown_keys == ["E", "A", "C"]
    table.sort_control.value = "count"  # as the user picks it
    assert table.shown_keys == ["A", "B", "C"]
    with pytest.raises(rtnb.UnknownNameError, match="sort_by"):
        table.sort_by = "nope"


def test_the_live_table_sends_one_bounded_message_per_new_snapshot(store, snap, sent):
    table = LiveTable(store, "orders", sort_by="sum", rows=5)
    sizes = []
    for i in range(3):
        store.put(snap(t=T0 + i * SEC, values={f"k{j}": float(j * i) for j in range(200)}))
        sent.clear()
        table.refresh(T0 + i * SEC)
        assert sent.count(table.html) == 1
        sizes.append(len(table.html.value))
    table.refresh(T0 + 3 * SEC)  # nothing new: nothing sent
    assert sent.count(table.html) == 1
    assert max(sizes) < 3000  # 5 rows of 200, not the whole table
