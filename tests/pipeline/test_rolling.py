"""rtnb.Rolling: configuration errors, snapshots, naming rules, series, merging, memory."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtnb
from tests.pipeline._oracle import aggregate, assert_table_matches

T0 = pd.Timestamp("2024-01-01")
ALL = ("count", "sum", "mean", "min", "max", "std", "p50", "p90", "p95", "p99")


def events(n: int, seed: int = 0, span_s: float = 120.0, keys=("a", "b", "c")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, span_s, n))
    return pd.DataFrame({
        "ts": (T0 + pd.to_timedelta(t, unit="s")).astype("datetime64[ns]"),
        "key": rng.choice(list(keys), n),
        "region": rng.choice(["eu", "us"], n),
        "amount": rng.lognormal(2, 1, n),
        "items": rng.integers(0, 5, n).astype(float),
        "id": np.arange(n),
    })


def feed(agg: rtnb.Rolling, df: pd.DataFrame, size: int = 100) -> rtnb.Rolling:
    for i in range(0, len(df), size):
        agg.update(df.iloc[i : i + size])
    return agg


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize("kwargs, match", [
    ({"window": "60s", "aggs": ("count", "median")}, "aggs='median' is unknown; choose one of: 'count'"),
    ({"window": "5 parsecs"}, "window='5 parsecs' is invalid"),
    ({"window": "60s", "lateness": "-1s"}, "lateness='-1s' is invalid"),
    ({"window": "60s", "kind": "hopping"}, "kind='hopping' is unknown"),
    ({"window": "60s", "kind": "bucketed", "resolution": "7s"}, "resolution='7s' is invalid: must divide"),
    ({"window": "60s", "kind": "sliding"}, "every=None is invalid"),
    ({"window": "60s", "kind": "sliding", "every": "2min"}, "every='2min' is invalid: must not exceed"),
    ({"kind": "session"}, "gap=None is invalid"),
    ({"kind": "session", "gap": "30s", "window": "60s"}, "window='60s' is invalid: is not used"),
    ({"window": "60s", "gap": "30s"}, "gap='30s' is invalid"),
    ({"window": "60s", "resolution": "1s"}, "resolution='1s' is invalid: is not used by kind='exact'"),
    ({"window": None}, "window=None is invalid"),
    ({"window": "60s", "value": []}, "value=[] is invalid"),
    ({"window": "60s", "series": "count"}, "series='count' is invalid"),
    ({"window": "60s", "lateneses": "2s"}, "option='lateneses' is unknown; choose one of: 'window', 'value'"),
])
def test_invalid_configuration_names_the_parameter(kwargs, match):
    window = kwargs.pop("window", None)
    with pytest.raises(rtnb.ParameterError, match=re.escape(match)):
        rtnb.Rolling(window, **{"value": "amount", **kwargs})


def test_batches_no_row_of_which_can_be_read_raise_before_changing_state():
    agg = rtnb.Rolling("60s", by="key", value="amount")
    df = events(10)
    with pytest.raises(rtnb.ParameterError, match=r"by='key' is invalid: missing column 'key'; present: \['ts', 'amount'\]"):
        agg.update(df[["ts", "amount"]])
    with pytest.raises(rtnb.ParameterError, match=r"time_col='time' is invalid: missing column 'time'"):
        rtnb.Rolling("60s", by="key", value="amount", time_col="time").update(df)
    with pytest.raises(rtnb.ParameterError, match=r"id_col='order' is invalid: missing column 'order'"):
        rtnb.Rolling("60s", by="key", value="amount", id_col="order").update(df)
    with pytest.raises(rtnb.ParameterError, match="must be a pandas DataFrame"):
        agg.update([1, 2, 3])
    with pytest.raises(rtnb.ParameterError, match="must hold datetimes"):
        agg.update(df.assign(ts=1.0))
    assert agg.counters == rtnb.Counters() and agg.value.empty
    agg.update(df.iloc[:0])  # an empty batch is fine
    assert agg.counters.received == 0


def test_a_bad_row_is_rejected_on_its_own_counted_with_its_reason():
    """Issue 14's leftover: a standalone Rolling raised on one bad row and dropped the
    whole batch; the pipeline and Metric rejected row by row. Now every aggregate does:
    the answer is pandas' over the good rows, the bad ones counted with a reason."""
    df = events(10)
    bad = df.assign(amount=np.where(np.arange(10) == 3, np.nan, df["amount"]).astype(object))
    bad.loc[5, "amount"] = "12.5"
    bad.loc[7, "ts"] = pd.NaT
    agg = rtnb.Rolling("1h", by="key", value="amount", aggs=("count", "sum"))
    agg.update(bad)
    good = df.drop(index=[3, 5, 7])
    expected = good.groupby("key")["amount"].agg(["count", "sum"])
    pd.testing.assert_frame_equal(agg.value.sort_index(), expected, check_dtype=False, check_names=False, check_column_type=False,
                                  rtol=1e-12)
    assert agg.counters == rtnb.Counters(received=10, accepted=7, rejected=3) and agg.counters.conserved
    rows = agg.rejected_rows
    assert rows.index.tolist() == [3, 5, 7]
    assert rows["reason"].tolist() == ["amount is missing or NaN, not a finite number",
                                       "amount is text, not a number: '12.5'", "ts is missing (NaT)"]
    assert len(agg.take_rejected()) == 3 and agg.take_rejected() is None  # handed on once
    again = rtnb.Rolling.from_state(agg.export_state())  # the count is part of the state
    assert again.counters == agg.counters
    assert (agg + again).counters.rejected == 6


# --------------------------------------------------------------------------- reading


def test_snapshot_is_an_immutable_value_with_time_from_the_clock():
    clock = rtnb.SimClock(start="2024-01-01 00:05")
    agg = rtnb.Rolling("60s", by="key", value="amount", aggs=("count", "sum"), lateness="2s", clock=clock)
    df = events(300)
    feed(agg, df)
    snap = agg.snapshot()
    assert snap.processed_at == clock.now()
    assert snap.newest_event == df["ts"].max() and snap.watermark == df["ts"].max() - pd.Timedelta("2s")
    assert snap.window == pd.Timedelta("60s") and snap.metric == "amount" and snap.version == 1
    before = snap.table.copy()
    snap.table.iloc[0, 0] = -1  # a user scribbling on the table does not reach the aggregator
    assert agg.snapshot().table.equals(before) and agg.snapshot().version == 3
    more = events(50, seed=9, span_s=10).assign(ts=lambda d: d["ts"] + pd.Timedelta("200s"))
    agg.update(more)
    assert snap.counters.received == 300  # the old snapshot did not change
    assert agg.snapshot(processed_at="2024-01-02").processed_at == pd.Timestamp("2024-01-02")
    no_clock = rtnb.Rolling("60s", value="amount")
    assert no_clock.snapshot().processed_at == pd.Timestamp(0)  # epoch before any event
    assert feed(no_clock, df).snapshot().processed_at == df["ts"].max()


def test_several_measures_several_keys_and_no_key_naming_rules():
    df = events(400)
    multi = feed(rtnb.Rolling("30s", by=["key", "region"], value=["amount", "items"],
                              aggs=("count", "sum")), df)
    table = multi.value
    assert list(table.columns) == ["amount_count", "amount_sum", "items_count", "items_sum"]
    assert isinstance(table.index, pd.MultiIndex) and table.index.names == ["key", "region"]
    rows = df[df["ts"] > df["ts"].max() - pd.Timedelta("30s")]
    assert_table_matches(table, aggregate(rows, ["key", "region"], ["amount", "items"], ("count", "sum")))
    single = feed(rtnb.Rolling("30s", value="amount", aggs=ALL), df)
    assert list(single.value.columns) == list(ALL) and len(single.value) == 1
    assert_table_matches(single.value, aggregate(rows, [], ["amount"], ALL))


def test_missing_keys_form_their_own_group():
    df = events(50).astype({"key": object})
    df.loc[::5, "key"] = None
    agg = feed(rtnb.Rolling("1h", by="key", value="amount", aggs=("count",)), df)
    table = agg.value
    assert table["count"].sum() == 50
    assert table["count"][table.index.isna()].iloc[0] == 10


def test_late_rows_are_kept_bounded_and_counted():
    df = events(200)
    late = df.iloc[:30].assign(id=lambda d: d["id"] + 1000)
    agg = rtnb.Rolling("60s", by="key", value="amount", lateness="1s", keep_late=20)
    feed(agg, df)
    agg.update(late)
    assert agg.counters.late == 30 and agg.counters.conserved
    assert len(agg.late_rows) == 20 and agg.late_rows["id"].tolist() == list(range(1010, 1030))


def test_duplicate_ids_are_forgotten_once_they_could_not_be_accepted():
    agg = rtnb.Rolling("10s", value="amount", id_col="id", lateness="2s", aggs=("count",))
    df = events(5000, span_s=500)
    feed(agg, df)
    assert len(agg._arrivals.seen) < 2 * 2 * 10 * 2 + 1024  # ~ ids of the 2 s horizon, not 5,000
    again = df.iloc[-5:]
    agg.update(again)
    assert agg.counters.duplicates == 5 and agg.counters.conserved


def test_repr_shows_the_state():
    agg = feed(rtnb.Rolling("60s", by="key", value="amount"), events(10))
    assert repr(agg).startswith("Rolling(kind='exact', window='60s', keys=3, watermark='2024-01-01T00:")
    assert "received=10, accepted=10, late=0, duplicates=0" in repr(agg)


# --------------------------------------------------------------------------- windows


def test_bucketed_bounds_and_series_for_a_chart():
    df = events(1000, span_s=95)
    agg = feed(rtnb.Rolling("60s", by="key", value="amount", aggs=("count", "sum"), kind="bucketed",
                            resolution="10s", series="sum"), df)
    w = df["ts"].max()
    lo, hi = agg.bounds
    assert hi == w.floor("10s") + pd.Timedelta("10s") and hi - lo == pd.Timedelta("60s")
    snap = agg.snapshot()
    series = snap.series
    assert list(series.index) == list(pd.date_range(lo, periods=6, freq="10s"))
    rows = df[(df["ts"] >= lo) & (df["ts"] < hi)]
    want = rows.groupby([rows["ts"].dt.floor("10s"), "key"])["amount"].sum().unstack()
    pd.testing.assert_frame_equal(series[want.columns].rename_axis(None), want.rename_axis(None).rename_axis(None, axis=1),
                                  check_names=False, check_freq=False, rtol=1e-12)
    counts = agg.series("count")
    assert counts.to_numpy().sum() == snap.table["count"].sum() and counts.dtypes.iloc[0] == np.int64


def test_exact_bounds_are_left_open_right_closed():
    df = pd.DataFrame({"ts": (T0 + pd.to_timedelta([0, 10, 60], unit="s")).astype("datetime64[ns]"),
                       "amount": [1.0, 2.0, 4.0]})
    agg = rtnb.Rolling("60s", value="amount", aggs=("count", "sum")).update(df)
    assert agg.bounds == (T0, T0 + pd.Timedelta("60s"))
    assert agg.value["sum"].iloc[0] == 6.0  # the row at exactly W - 60s is out


def test_closed_windows_and_sessions_are_listed():
    df = events(300, span_s=100)
    tumbling = feed(rtnb.Rolling("20s", by="key", value="amount", kind="tumbling", aggs=("count",)), df)
    closed = tumbling.closed_windows()
    assert set(closed.index.get_level_values("window_start")) == set(pd.date_range(T0, periods=4, freq="20s"))
    assert (closed["window_end"] - closed.index.get_level_values("window_start") == pd.Timedelta("20s")).all()
    assert closed["count"].sum() + tumbling.value["count"].sum() == 300
    sessions = feed(rtnb.Rolling(kind="session", gap="1s", by="key", value="amount", aggs=("count",)), df)
    assert sessions.closed_windows()["count"].sum() + sessions.value["count"].sum() == 300
    with pytest.raises(rtnb.ParameterError, match="closed windows exist"):
        rtnb.Rolling("20s", value="amount").closed_windows()
    with pytest.raises(rtnb.ParameterError, match="per-bucket series"):
        rtnb.Rolling("20s", value="amount").series()


# --------------------------------------------------------------------------- merging


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 300), st.integers(0, 1000), st.sampled_from(["exact", "bucketed"]),
       st.lists(st.sampled_from(ALL), min_size=1, max_size=4, unique=True))
def test_merged_workers_equal_one_aggregator_on_all_rows(n, seed, kind, aggs):
    df = events(n, seed, span_s=90)
    worker = np.random.default_rng(seed).integers(0, 2, n)
    opts = dict(by="key", value=["amount", "items"], aggs=tuple(aggs), kind=kind)
    if kind == "bucketed":
        opts["resolution"] = "5s"
    a = feed(rtnb.Rolling("30s", **opts), df[worker == 0], size=37)
    b = feed(rtnb.Rolling("30s", **opts), df[worker == 1], size=23)
    merged = a + b
    single = feed(rtnb.Rolling("30s", **opts), df)
    assert merged.counters == single.counters and merged.newest_event == single.newest_event
    lo, hi = single.bounds
    rows = df[(df["ts"] > lo) & (df["ts"] <= hi)] if kind == "exact" else df[(df["ts"] >= lo) & (df["ts"] < hi)]
    assert_table_matches(merged.value, aggregate(rows, ["key"], ["amount", "items"], aggs))
    # the merged aggregator keeps working
    more = events(50, seed + 1, span_s=20).assign(ts=lambda d: d["ts"] + pd.Timedelta("100s"))
    merged.update(more)
    single.update(more)
    pd.testing.assert_frame_equal(merged.value.sort_index(), single.value.sort_index(), rtol=1e-9)


def test_tumbling_partials_merge_directly_and_through_buckets():
    df = events(500, span_s=100)
    opts = dict(by="key", value="amount", kind="tumbling", aggs=("count", "sum"))
    a = feed(rtnb.Rolling("20s", **opts), df.iloc[::2])
    b = feed(rtnb.Rolling("20s", **opts), df.iloc[1::2])
    whole = feed(rtnb.Rolling("20s", **opts), df)
    pd.testing.assert_frame_equal((a + b).value.sort_index(), whole.value.sort_index(), rtol=1e-12)
    pd.testing.assert_frame_equal((a + b).closed_windows().sort_index(),
                                  whole.closed_windows().sort_index(), rtol=1e-12)
    live = (a.buckets() + b.buckets()).total(("count", "sum"))
    single = feed(rtnb.Rolling("20s", **opts), df).buckets().total(("count", "sum"))
    pd.testing.assert_frame_equal(live.sort_index(), single.sort_index(), rtol=1e-12)


# --------------------------------------------------------------------------- memory


def test_bucketed_memory_does_not_grow_with_event_rate_or_run_time():
    def state(rate: int, seconds: int) -> int:
        agg = rtnb.Rolling("60s", by="key", value="amount", kind="bucketed", resolution="1s")
        df = events(rate * seconds, span_s=seconds)
        feed(agg, df, size=1000)
        return agg._engine.memory_rows(), agg._engine.slots

    slow, fast, long = state(50, 120), state(500, 120), state(50, 600)
    assert slow == fast == long


def test_time_column_name_units_and_time_zones_are_accepted():
    df = events(100)
    renamed = df.rename(columns={"ts": "event_time"})
    renamed["event_time"] = renamed["event_time"].astype("datetime64[us]")  # pandas 3 often infers [us]
    a = feed(rtnb.Rolling("30s", by="key", value="amount", time_col="event_time"), renamed)
    aware = df.assign(ts=df["ts"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris"))
    b = feed(rtnb.Rolling("30s", by="key", value="amount"), aware)
    c = feed(rtnb.Rolling("30s", by="key", value="amount"), df)
    pd.testing.assert_frame_equal(a.value, c.value)
    pd.testing.assert_frame_equal(b.value, c.value)
    assert b.newest_event == df["ts"].max()


def test_session_and_global_windows_without_keys():
    df = pd.DataFrame({"ts": (T0 + pd.to_timedelta([0, 1, 2, 10, 11], unit="s")).astype("datetime64[ns]"),
                       "amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    agg = rtnb.Rolling(kind="session", gap="3s", value="amount", aggs=("count", "sum")).update(df)
    assert agg.value[["count", "sum"]].to_dict("records") == [{"count": 2, "sum": 9.0}]
    closed = agg.closed_windows()
    assert list(closed.index) == [T0] and closed["sum"].tolist() == [6.0]
    assert closed["window_end"].tolist() == [T0 + pd.Timedelta("2s")]


def test_closed_windows_are_bounded_even_if_never_read():
    agg = rtnb.Rolling("1s", value="amount", kind="tumbling", keep_closed=5, aggs=("count",))
    feed(agg, events(2000, span_s=200))
    assert len(agg._engine.closed) == 5
    closed = agg.closed_windows()
    assert len(closed) == 5 and closed.index.is_monotonic_increasing


def test_sliding_windows_stay_aligned_across_gaps_in_the_data():
    at = lambda *s: pd.DataFrame({"ts": (T0 + pd.to_timedelta(list(s), unit="s")).astype("datetime64[ns]"),
                                  "amount": [1.0] * len(s)})
    agg = rtnb.Rolling("10s", value="amount", kind="sliding", every="4s", aggs=("count",), keep_closed=100)
    for batch in (at(1), at(100), at(300)):
        agg.update(batch)
    starts = [(t - T0).total_seconds() for t in agg.closed_windows().index]
    assert starts == [-8, -4, 0, 92, 96, 100]
    assert all(s % 4 == 0 for s in starts)


@pytest.mark.parametrize("unit", ["1w", "1H", "1S", "2d", "1.5H"])
def test_single_letter_units_pandas_deprecates_give_no_warning(unit):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agg = rtnb.Rolling(window=unit, value="amount")
    assert agg.config.size == pd.Timedelta(unit.replace("w", "W").replace("H", "h").replace("S", "s")
                                           .replace("d", "D"))
