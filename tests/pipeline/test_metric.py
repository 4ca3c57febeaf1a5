"""Metric: one definition, live = pandas = DuckDB SQL, round-trips as a document."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import rtnb
from rtnb.pipeline.metric import Metric
from tests.conftest import require_module


def _parking(n=4000, seed=0, start="2024-03-01", end="2024-05-01"):
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, end, periods=n).as_unit("ns")
    cap = rng.choice([50.0, 200.0, 800.0], n)
    return pd.DataFrame({"ts": ts, "district": rng.choice(["north", "south", "centre"], n),
                         "occupied": np.floor(cap * rng.uniform(0.2, 1.0, n)), "capacity": cap})


def _feed(agg, df, parts):
    for idx in np.array_split(np.arange(len(df)), parts):
        agg.update(df.iloc[idx])
    return agg


def _sorted(df):
    return df.sort_index()


METRICS = [
    Metric(name="occupancy", value=("occupied", "capacity"), by="district", window="1D", kind="tumbling",
           tz="Europe/Paris", aggs=("sum", "max"), derived={"rate": "occupied_sum / capacity_sum",
                                                           "free": "capacity_sum - occupied_sum",
                                                           "per_s": "occupied_sum / seconds"}),
    Metric(name="occ_h", value="occupied", by=("district",), window="6h", kind="sliding", every="2h",
           aggs=("sum", "mean", "min"), filter="capacity >= 200 and district != 'north'"),
    Metric(name="weekly", value="occupied", window="7D", kind="tumbling", origin="2024-01-01",
           tz="America/New_York", aggs=("sum", "std", "p95")),
    Metric(name="now", value=("occupied", "capacity"), by="district", window="3h", kind="exact",
           aggs=("sum",), derived={"rate": "occupied_sum / capacity_sum"}),
    Metric(name="recent", value="occupied", by="district", window="2h", kind="bucketed", resolution="10min",
           aggs=("sum", "max")),
]


@pytest.mark.parametrize("m", METRICS, ids=lambda m: m.name)
def test_round_trip_dict_json_yaml(m):
    doc = m.to_dict()
    assert Metric.from_dict(doc) == m
    assert Metric.from_dict(json.loads(json.dumps(doc))) == m
    assert Metric.from_json(m.to_json()) == m
    assert Metric.from_yaml(m.to_yaml()) == m
    assert Metric.from_dict(doc).to_sql(table="t") == m.to_sql(table="t")


def _live_all_windows(m, df, parts=9):
    agg = _feed(m.aggregate(keep_closed=10_000), df, parts)
    return agg


@pytest.mark.parametrize("m", [m for m in METRICS if m.kind in ("tumbling", "sliding")], ids=lambda m: m.name)
def test_closed_windows_equal_pandas(m):
    df = _parking()
    agg = _live_all_windows(m, df)
    live = _sorted(agg.closed_windows())
    ref = _sorted(m.frame(df)).loc[live.index]
    assert len(live) > 3
    pd.testing.assert_frame_equal(live[list(ref.columns)], ref, check_dtype=False, rtol=1e-9 if "p95" not in m.aggs else 5e-3,
                                  check_index_type=False)
    assert agg.counters.conserved


def test_daily_windows_follow_local_midnight_across_dst():
    """Finding 4: a daily window on Europe/Paris data runs midnight to midnight local
    time, 23 h on the day clocks go forward and 25 h when they go back."""
    m = Metric(name="d", value="occupied", window="1D", kind="tumbling", tz="Europe/Paris", aggs=("max",))
    df = _parking(n=6000, start="2024-03-29", end="2024-04-02")
    df = pd.concat([df, _parking(n=6000, start="2024-10-25", end="2024-10-30", seed=1)], ignore_index=True)
    agg = _feed(m.aggregate(keep_closed=1000), df, 11)
    closed = agg.closed_windows()
    starts = closed.index
    assert str(starts.tz) == "Europe/Paris"
    assert all(t.hour == 0 and t.minute == 0 for t in starts)
    span = (closed["window_end"] - starts.to_series(index=closed.index)).dt.total_seconds() / 3600
    by_day = dict(zip(starts.strftime("%Y-%m-%d"), span))
    assert by_day["2024-03-31"] == 23 and by_day["2024-10-27"] == 25 and by_day["2024-03-30"] == 24
    # each daily maximum is the maximum of that local calendar day
    local = df["ts"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris")
    truth = df.groupby(local.dt.strftime("%Y-%m-%d"))["occupied"].max()
    for day, v in zip(starts.strftime("%Y-%m-%d"), closed["occupied_max"]):
        assert v == truth[day]


def test_overall_ratio_is_ratio_of_sums_not_mean_of_ratios():
    """Finding 6: the overall occupancy is Σoccupied / Σcapacity, per key and overall."""
    m = Metric(name="occ", value=("occupied", "capacity"), by="district", window="30D", kind="exact",
               aggs=("sum",), derived={"occupancy": "occupied_sum / capacity_sum"})
    df = _parking(start="2024-03-01", end="2024-03-20")
    big = df["district"] == "centre"   # a big car park that is mostly empty
    df.loc[big, "capacity"] = 2000.0
    df.loc[big, "occupied"] = np.floor(df.loc[big, "occupied"] / 4)
    snap = _feed(m.aggregate(), df, 5).snapshot()
    per_key = df.groupby("district")[["occupied", "capacity"]].sum()
    np.testing.assert_allclose(snap.table["occupancy"].sort_index(), (per_key.occupied / per_key.capacity).sort_index(),
                               rtol=1e-12)
    truth = df.occupied.sum() / df.capacity.sum()
    assert snap.overall["occupancy"] == pytest.approx(truth, rel=1e-12)
    assert abs(snap.table["occupancy"].mean() - truth) > 1e-3   # what the KPI tile used to show


def test_division_by_zero_is_missing_not_infinite():
    m = Metric(name="r", value=("a", "b"), window="1h", kind="exact", derived={"r": "a_sum / b_sum"})
    ts = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:01"]).as_unit("ns")
    snap = m.aggregate().update(pd.DataFrame({"ts": ts, "a": [1.0, 2.0], "b": [0.0, 0.0]})).snapshot()
    assert np.isnan(snap.table["r"].iloc[0]) and np.isnan(snap.overall["r"])


duckdb = require_module("duckdb", "duckdb")


def _sql(m, df, **kw):
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.register("events", df)
    out = con.sql(m.to_sql(table="events", **kw)).df()
    con.close()
    return out


def _utc_naive(s):
    s = pd.to_datetime(s)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.dt.as_unit("ns")


@pytest.mark.parametrize("m", [m for m in METRICS if m.kind in ("tumbling", "sliding")], ids=lambda m: m.name)
def test_sql_on_duckdb_equals_streaming_windows(m):
    """The hand-off: metric.to_sql() run by DuckDB on the same rows gives the windows
    the live aggregate closed, with the same aggregates and derived values."""
    df = _parking()
    live = m.aggregate(keep_closed=10_000)
    _feed(live, df, 7)
    closed = live.closed_windows().reset_index()
    sql = _sql(m, df)
    closed["window_start"] = _utc_naive(closed["window_start"])
    sql["window_start"] = _utc_naive(sql["window_start"])
    keys = ["window_start", *m.by]
    merged = closed.merge(sql, on=keys, suffixes=("_live", "_sql"), validate="one_to_one")
    assert len(merged) == len(closed) > 3
    for c in m.columns:
        tol = 5e-3 if c.endswith("p95") else 1e-9
        np.testing.assert_allclose(merged[f"{c}_live"].astype(float), merged[f"{c}_sql"].astype(float), rtol=tol,
                                   err_msg=c)


@pytest.mark.parametrize("m", [m for m in METRICS if m.kind in ("exact", "bucketed")], ids=lambda m: m.name)
def test_sql_current_window_equals_snapshot(m):
    df = _parking()
    snap = _feed(m.aggregate(), df, 6).snapshot()
    sql = _sql(m, df).set_index(list(m.by))
    live = snap.table.sort_index()
    sql = sql.loc[live.index]
    for c in m.columns:
        np.testing.assert_allclose(live[c].astype(float), sql[c].astype(float), rtol=1e-9, err_msg=c)
    total = _sql(m, df, overall=True)
    for c in m.columns:
        assert float(total[c].iloc[0]) == pytest.approx(float(snap.overall[c]), rel=1e-9), c


@settings(max_examples=25, deadline=None)
@given(parts=st.integers(1, 12), seed=st.integers(0, 10_000),
       window=st.sampled_from(["1h", "3h", "1D"]), tz=st.sampled_from([None, "Europe/Paris", "Asia/Kolkata"]))
def test_any_batch_split_gives_the_pandas_answer(parts, seed, window, tz):
    m = Metric(name="p", value=("occupied", "capacity"), by="district", window=window, kind="tumbling", tz=tz,
               aggs=("sum", "mean", "max"), derived={"rate": "occupied_sum / capacity_sum"})
    df = _parking(n=600, seed=seed, start="2024-10-26", end="2024-10-28")
    agg = _feed(m.aggregate(keep_closed=10_000), df, parts)
    live = agg.closed_windows().sort_index()
    ref = m.frame(df).loc[live.index]
    pd.testing.assert_frame_equal(live[list(ref.columns)], ref, check_dtype=False, rtol=1e-9, check_index_type=False)
    # the current window and the overall row
    snap = agg.snapshot()
    cur = m.frame(df)
    last = cur.index.get_level_values(0).max()
    cur = cur.xs(last, level=0)
    np.testing.assert_allclose(snap.table["rate"].sort_index(), cur["rate"].sort_index(), rtol=1e-9)
    assert snap.overall["rate"] == pytest.approx(cur["occupied_sum"].sum() / cur["capacity_sum"].sum(), rel=1e-9)


def test_bad_definitions_name_the_parameter():
    with pytest.raises(rtnb.ParameterError, match="derived"):
        Metric(name="x", value="v", derived={"r": "v_sum.real"})
    with pytest.raises(rtnb.ParameterError, match="filter"):
        Metric(name="x", value="v", filter="open('x')")
    with pytest.raises(rtnb.ParameterError, match="tz"):
        Metric(name="x", value="v", tz="Mars/Olympus")
    with pytest.raises(rtnb.ParameterError, match="by"):
        Metric(name="x", value="v", by="")
    with pytest.raises(rtnb.UnknownNameError, match="dialect"):
        Metric(name="x", value="v").to_sql(table="t", dialect="oracle")
