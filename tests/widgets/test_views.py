"""Views follow snapshots, coalesce to frames, stay bounded, send binary arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import streamz

import rtnb
from rtnb.widgets import Dashboard, ErrorPanel, FreshnessBadge, KpiTile, LiveBars, LiveLine


T0 = pd.Timestamp("2024-01-01 09:00")
SEC = pd.Timedelta("1s")


def put_many(store, n, *, start=T0, step=SEC, keys=("FR", "DE", "IT")):
    for i in range(n):
        t = start + i * step
        table = pd.DataFrame({"sum": [float(i + j) for j in range(len(keys))]}, index=list(keys))
        store.put(rtnb.Snapshot(metric="orders", table=table, window=pd.Timedelta("5min"),
                                watermark=t, newest_event=t, processed_at=t))
    return start + (n - 1) * step


# -- LiveLine ---------------------------------------------------------------------------


def test_line_follows_snapshots_top_k_keys_and_sends_binary_arrays(store):
    line = LiveLine(store, "orders", column="sum", top_k=2, points=100)
    last = put_many(store, 5)
    assert line.refresh(last)
    # IT has the largest value, then DE: the top-2 keys, largest first.
    assert line.lines.labels == ["IT", "DE"]
    assert line.lines.y.shape == (2, 5)
    np.testing.assert_array_equal(line.lines.y[0], [2.0, 3.0, 4.0, 5.0, 6.0])
    state = line.lines.get_state()
    assert state["y"]["dtype"] == "float32" and tuple(state["y"]["shape"]) == (2, 5)
    assert isinstance(state["y"]["value"], memoryview)  # binary buffer, not a JSON list
    assert state["x"]["type"] == "date" and isinstance(state["x"]["value"], memoryview)
    assert line.lines.x[-1] == np.datetime64(last, "ns") and line.now_mark.x[0] == np.datetime64(last, "ns")


def test_a_key_keeps_its_colour_when_the_ranking_changes(store, snap):
    line = LiveLine(store, "orders", column="sum", top_k=2)
    store.put(snap(t=T0, values={"FR": 2.0, "DE": 1.0}))
    line.refresh(T0)
    fr, de = line.lines.colors
    store.put(snap(t=T0 + SEC, values={"FR": 2.0, "DE": 3.0}))
    line.refresh(T0)
    assert line.lines.labels == ["DE", "FR"] and line.lines.colors == [de, fr]
    store.put(snap(t=T0 + 2 * SEC, values={"FR": 2.0, "DE": 3.0, "IT": 9.0}))
    line.refresh(T0)
    assert line.lines.labels == ["IT", "DE"]
    assert line.lines.colors[1] == de and line.lines.colors[0] not in (de,)


def test_line_draws_chosen_keys_and_shows_missing_keys_as_gaps(store):
    line = LiveLine(store, "orders", column="sum", keys=["FR", "XX"])
    put_many(store, 3, keys=("FR", "DE"))
    line.refresh(T0)
    assert line.lines.labels == ["FR", "XX"]
    assert np.isnan(line.lines.y[1]).all() and not np.isnan(line.lines.y[0]).any()


def test_line_coalesces_many_snapshots_into_one_message_per_frame(store, sent):
    line = LiveLine(store, "orders", column="sum", points=50)
    sent.clear()
    for frame in range(1, 4):
        put_many(store, 1000, start=T0 + frame * pd.Timedelta("1h"))  # 1000 updates between frames
        line.refresh(T0)
        assert sent.count(line.lines) == frame  # x, y and labels in one hold_sync message
    assert sent.keys_sent(line.lines)[0] >= {"x", "y"}
    assert line.frames_applied == 3
    # Nothing new in the store: a frame sends nothing.
    line.refresh(T0)
    assert sent.count(line.lines) == 3


def test_line_history_is_bounded_and_payload_does_not_grow_with_run_time(store, sent):
    line = LiveLine(store, "orders", column="sum", points=60)
    put_many(store, 100)
    sent.clear()
    line.refresh(T0)
    first = sent.buffer_bytes(line.lines)
    put_many(store, 900, start=T0 + pd.Timedelta("1h"))
    sent.clear()
    line.refresh(T0)
    assert len(line.point_times) == 60 and line.lines.y.shape[0] == 3
    # Same keys × points, same bytes: the 900 snapshots the view missed are in the
    # store, so its 60 points are the newest 60 of them (no gap, no break).
    assert sent.buffer_bytes(line.lines) == first
    assert line.point_times[0] == np.datetime64(T0 + pd.Timedelta("1h") + 840 * pd.Timedelta("1s"), "ns")


def test_views_read_the_store_history_once_then_only_the_latest_snapshot(store, monkeypatch, snap):
    line = LiveLine(store, "orders", column="sum", points=50)
    kpi = KpiTile(store, "orders", column="sum", reference="10s")

    def put(second):  # FR's sum is the second, DE's is 1
        store.put(snap(t=T0 + pd.Timedelta(seconds=second), values={"FR": float(second), "DE": 1.0},
                       window=pd.Timedelta("10s")))

    for second in range(30):
        put(second)
    reads = []
    real = store.history
    monkeypatch.setattr(store, "history", lambda m, c: reads.append(c) or real(m, c))
    for second in range(30, 70):  # one new snapshot per frame
        put(second)
        line.refresh(T0)
        kpi.refresh(T0)
    assert reads == ["sum", "sum"]  # one fill per view, then O(keys) per frame
    assert line.lines.y.shape == (2, 50)  # 30 from the history + 40 frames, bounded to 50
    np.testing.assert_array_equal(line.lines.y[0], np.arange(20.0, 70.0))
    assert kpi.value == 69.0 + 1.0
    assert kpi.change == pytest.approx(70.0 / 60.0 - 1)


def test_line_band_shades_quantile_range_of_first_key(store, snap):
    line = LiveLine(store, "orders", column="sum", keys=["FR"], band=("p05", "p95"))
    for i in range(4):
        t = T0 + i * SEC
        store.put(snap(t=t, values={"FR": 10.0 + i}, p05=[8.0 + i], p95=[12.0 + i]))
    line.refresh(T0)
    assert line.band_mark.fill == "between"
    np.testing.assert_array_equal(line.band_mark.y, [[8, 9, 10, 11], [12, 13, 14, 15]])


def test_a_band_moves_the_y_axis_as_the_lines_do_not_in_its_own_message(store, snap, sent):
    """One rewrite of each line's path per frame with a band: the band mark keeps out of
    the y domain, which the kernel sets (in steps) to cover the lines and the band; the
    lines also carry the band's extent in a row drawn with opacity 0."""
    line = LiveLine(store, "orders", column="sum", keys=["FR"], band=("p05", "p95"))
    for i in range(3):
        store.put(snap(t=T0 + i * SEC, values={"FR": 10.0 + i}, p05=[8.0 + i], p95=[12.0 + i]))
        line.refresh(T0 + i * SEC)
    sent.clear()
    store.put(snap(t=T0 + 3 * SEC, values={"FR": 13.0}, p05=[0.0], p95=[40.0]))  # the band grows past the line
    line.refresh(T0 + 3 * SEC)
    assert line.band_mark.preserve_domain == {"x": True, "y": True}  # its own message moves no axis
    assert sent.count(line.lines) == 1 and sent.count(line.y_scale) == 1  # the domain grew with the band
    assert line.y_scale.min <= 0.0 and line.y_scale.max >= 40.0
    assert sent.count(line.band_mark) == 1
    y = line.lines.y
    assert y.shape[0] == 2 and list(line.lines.opacities) == [1.0, 0.0]  # FR, then the hidden extent row
    assert np.nanmin(y) == 0.0 and np.nanmax(y) == 40.0  # the y domain the lines give covers the band
    np.testing.assert_array_equal(y[0][:4], [10, 11, 12, 13])
    assert line.lines.labels == ["FR"]  # the extent row has no key (legend, tooltips)


# -- LiveBars ----------------------------------------------------------------------------


def test_bars_show_current_values_sorted_top_k(store, sent, snap):
    bars = LiveBars(store, "orders", column="sum", top_k=3)
    store.put(snap(values={"FR": 1.0, "DE": 7.0, "IT": 3.0, "ES": 5.0, "PT": None}))
    sent.clear()
    assert bars.refresh(T0)
    assert list(bars.bars.x) == ["DE", "ES", "IT"]
    assert bars.x_scale.domain == ["DE", "ES", "IT"]  # the axis shows them in that order
    np.testing.assert_array_equal(bars.bars.y, [7.0, 5.0, 3.0])
    assert sent.count(bars.bars) == 1
    assert bars.bars.get_state()["y"]["dtype"] == "float32"


def test_bars_axis_extends_below_zero_for_negative_values(store, sent, snap):
    # The y scale started at 0 whatever the data: negative bars were drawn off the axis.
    bars = LiveBars(store, "orders", column="sum")
    store.put(snap(values={"FR": 4.0, "DE": -3.0}))
    bars.refresh(T0)
    assert -4.0 <= bars.bars.scales["y"].min < -3.0 and bars.bars.scales["y"].max > 4.0
    store.put(snap(t=T0 + pd.Timedelta("1s"), values={"FR": 4.0, "DE": 1.0}))
    sent.clear()
    bars.refresh(T0 + pd.Timedelta("1s"))
    assert bars.bars.scales["y"].min == 0.0 and sent.count(bars.y_scale) == 1  # bars start at zero
    store.put(snap(t=T0 + pd.Timedelta("2s"), values={"FR": 4.05, "DE": 1.0}))
    sent.clear()
    bars.refresh(T0 + pd.Timedelta("2s"))
    assert sent.count(bars.y_scale) == 0  # the same step of the domain: nothing sent


@pytest.mark.parametrize("values", [{"FR": 1.0}, {"FR": 1.0, "DE": 2.0}])
def test_line_first_frame_with_one_point_neither_fails_nor_draws_a_squeezed_array(store, snap, values):
    # bqplot squeezes y: one key x one point became 0-D (TraitError in the first frame of
    # every one-key dashboard), two keys x one point a 1-D line of the two keys' values.
    line = LiveLine(store, "orders", column="sum", band=("sum", "sum"))
    store.put(snap(values=values))
    assert line.refresh(T0)
    assert line.lines.labels == sorted(values, key=values.get, reverse=True)
    assert len(line.lines.x) == 0 and line.lines.y.size == 0
    store.put(snap(t=T0 + pd.Timedelta("1s"), values=values))
    line.refresh(T0 + pd.Timedelta("1s"))
    assert len(line.lines.x) == 2 and line.lines.y.size == 2 * (len(values) + 1)  # + the band's extent row
    assert line.band_mark.y.shape == (2, 2)

def test_line_does_not_list_keys_whose_value_is_nan(store, snap):
    line = LiveLine(store, "orders", column="sum", top_k=3)
    store.put(snap(values={"FR": 2.0, "DE": None, "IT": 1.0}))
    line.refresh(T0)
    assert line.lines.labels == ["FR", "IT"]
    store.put(snap(t=T0 + pd.Timedelta("1s"), values={"FR": None}))
    line.refresh(T0 + pd.Timedelta("1s"))
    # No key has a value now: the keys drawn before keep their lines (their history),
    # DE, never a value, has none.
    assert line.lines.labels == ["FR", "IT"]


def test_a_line_keeps_the_keys_it_drew_while_fewer_than_top_k_have_a_value_now(store, snap):
    # A tumbling day just begun holds one airport's flights: the chart kept only that
    # key, and the other two lines vanished with their history (notebook 07).
    line = LiveLine(store, "orders", column="sum", top_k=3)
    store.put(snap(t=T0, values={"JFK": 30.0, "LGA": 20.0, "EWR": 10.0}))
    line.refresh(T0)
    colours = dict(zip(line.lines.labels, line.lines.colors))
    store.put(snap(t=T0 + SEC, values={"EWR": 1.0}))
    line.refresh(T0 + SEC)
    assert line.lines.labels == ["EWR", "JFK", "LGA"]  # the one with a value, then by last value
    assert dict(zip(line.lines.labels, line.lines.colors)) == colours
    np.testing.assert_array_equal(line.lines.y[1], [30.0, np.nan])  # JFK: its past, no point now
    store.put(snap(t=T0 + 2 * SEC, values={"EWR": 2.0, "JFK": 3.0, "LGA": 1.0, "XX": 9.0}))
    line.refresh(T0 + 2 * SEC)
    assert line.lines.labels == ["XX", "JFK", "EWR"]  # enough keys now: the top 3 by value


# -- KpiTile -----------------------------------------------------------------------------


def test_kpi_value_change_against_reference_and_bounded_sparkline(store, snap):
    kpi = KpiTile(store, "orders", column="sum", unit="EUR", reference="10s", points=30)
    for i in range(100):
        store.put(snap(t=T0 + i * SEC, values={"FR": 100.0 + i, "DE": 100.0}, window=pd.Timedelta("10s")))
    kpi.refresh(T0)
    assert kpi.value == 299.0  # 199 + 100, summed over keys
    assert kpi.change == pytest.approx(299.0 / 289.0 - 1)
    assert "299" in kpi.label.value and "EUR" in kpi.label.value and "▲" in kpi.label.value
    assert len(kpi.spark_values) == 30 and kpi.spark_values[-1] == 299.0
    assert kpi.label.value.count("<polyline") == 1  # drawn in the tile's one HTML


def test_kpi_of_one_key_and_without_reference_value(store, snap):
    kpi = KpiTile(store, "orders", column="sum", key="DE", reference="1h")
    store.put(snap(values={"FR": 1.0, "DE": 4.0}, window=pd.Timedelta("1s")))
    kpi.refresh(T0)
    assert kpi.value == 4.0 and kpi.change is None
    assert "window filling" in kpi.label.value  # its first second: the window is not full yet
    store.put(snap(t=T0 + 2 * SEC, values={"FR": 1.0, "DE": 4.0}, window=pd.Timedelta("1s")))
    kpi.refresh(T0 + 2 * SEC)
    assert kpi.value == 4.0 and kpi.change is None
    assert "no value 1 h before" in kpi.label.value  # full, and nothing an hour before


# -- FreshnessBadge ----------------------------------------------------------------------


def test_badge_ticks_on_its_own_and_turns_stale_within_one_frame_of_a_stall(store, sent, snap):
    badge = FreshnessBadge(store, "orders", limit="5s")
    store.put(snap(t=T0))
    states = []
    for dt in ["1s", "4s", "6s", "14s", "16s"]:  # no new data: a stall
        badge.refresh(T0 + pd.Timedelta(dt))
        states.append(badge.state)
    assert states == ["fresh", "fresh", "late", "late", "stale"]
    assert 'data-state="stale"' in badge.value and "16 s old" in badge.value
    assert f'data-newest="{T0.value // 1_000_000}"' in badge.value
    store.put(snap(t=T0 + pd.Timedelta("17s")))  # data again
    badge.refresh(T0 + pd.Timedelta("17.5s"))
    assert badge.state == "fresh" and "0.5 s old" in badge.value


def test_badge_without_data_is_stale_and_checks_its_limits(store):
    assert FreshnessBadge(store, "orders", limit="1min").state == "stale"
    with pytest.raises(rtnb.ParameterError, match="stale_after"):
        FreshnessBadge(store, "orders", limit="1min", stale_after="10s")
    with pytest.raises(rtnb.ParameterError, match="limit"):
        FreshnessBadge(store, "orders", limit="soon")


# -- ErrorPanel --------------------------------------------------------------------------


def test_error_panel_shows_counters_and_last_reasons_from_streams(store, snap):
    dead, errors = streamz.Stream(), streamz.Stream()
    panel = ErrorPanel(store, "orders", dead_letter=dead, errors=errors, last=3)
    c = rtnb.Counters(received=10, accepted=5, rejected=3, late=1, duplicates=1)
    store.put(snap(counters=c))
    dead.emit(pd.DataFrame({"reason": ["amount is NaN", "amount is NaN", "country is empty"]}))
    errors.emit(rtnb.SourceUnavailable("outage"))
    assert panel.refresh(T0)
    assert panel.counters == c
    assert panel.reasons == ["2 rows: amount is NaN", "1 row: country is empty", "SourceUnavailable: outage"]
    assert 'data-rejected="3"' in panel.value and "country is empty" in panel.value
    assert panel.rejects_seen == 3
    for i in range(10):  # reasons stay bounded
        dead.emit(pd.DataFrame({"reason": [f"reason {i}"]}))
    panel.refresh(T0)
    assert panel.reasons == ["1 row: reason 7", "1 row: reason 8", "1 row: reason 9"]


def test_error_panel_renders_new_reasons_at_the_next_frame_only(store, sent):
    dead = streamz.Stream()
    panel = ErrorPanel(store, "orders", dead_letter=dead)
    sent.clear()
    for _ in range(50):
        dead.emit(pd.DataFrame({"reason": ["bad"]}))
    assert sent.count(panel) == 0  # streams never touch the widget
    panel.refresh(T0)
    panel.refresh(T0)
    assert sent.count(panel) == 1


# -- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, param",
    [
        (lambda s: LiveLine(s, "orders", column="sum", top_k=0), "top_k"),
        (lambda s: LiveLine(s, "orders", column="sum", points=1), "points"),
        (lambda s: LiveLine(s, "orders", column="sum", keys="FR"), "keys"),
        (lambda s: LiveLine(s, "orders", column="sum", band=("p05",)), "band"),
        (lambda s: LiveLine(s, "", column="sum"), "metric"),
        (lambda s: LiveLine(object(), "orders", column="sum"), "store"),
        (lambda s: LiveBars(s, "orders", column=""), "column"),
        (lambda s: KpiTile(s, "orders", column="sum", reference="-1s"), "reference"),
        (lambda s: KpiTile(s, "orders", column="sum", combine="median"), "combine"),
        (lambda s: ErrorPanel(s, "orders", last=0), "last"),
        (lambda s: FreshnessBadge(s, "orders", limit="5s", stale_after="1s"), "stale_after"),
        (lambda s: Dashboard([LiveBars(s, "orders", column="sum")], title=5), "title"),  # was AttributeError
    ],
)
def test_invalid_parameters_name_the_parameter(store, make, param):
    with pytest.raises(rtnb.ParameterError) as err:
        make(store)
    assert err.value.param == param
