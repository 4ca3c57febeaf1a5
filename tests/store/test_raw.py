"""Raw-event baselines: the GROUP BY answer equals pandas on the same rows, and the
measurements (query time, CPU, rows scanned) are what they say."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from rtnb import ParameterError, StoreError, UnknownNameError
from rtnb.store.raw import DuckDBBaseline, RawQuery, SQLiteBaseline
from tests.conftest import require_module

require_module("duckdb", "duckdb")

ENGINES = [SQLiteBaseline, DuckDBBaseline]
T0 = pd.Timestamp("2024-01-01 09:00")


def events(n: int, seed: int = 0, span: str = "10min") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, pd.Timedelta(span).value, n)
    return pd.DataFrame({
        "ts": (T0 + pd.to_timedelta(np.sort(offsets), unit="ns")).as_unit("ns"),
        "arrival": (T0 + pd.to_timedelta(np.sort(offsets), unit="ns")).as_unit("ns"),
        "country": rng.choice(["FR", "DE", "IT", "ES"], n),
        "channel": rng.choice(["web", "app"], n),
        "amount": rng.lognormal(3, 1, n),
        "items": rng.integers(1, 5, n).astype("float64"),
    })


def pandas_answer(df, end, window, keys, measures, aggs):
    """The reference: pandas groupby over the rows in [end - window, end)."""
    rows = df[(df.ts >= end - pd.Timedelta(window)) & (df.ts < end)]
    single = len(measures) == 1
    cols = {}
    for m in measures:
        g = rows.groupby(list(keys))[m]
        for a in aggs:
            name = a if single else f"{m}_{a}"
            cols[name] = getattr(g, a)()
    out = pd.DataFrame(cols)
    for name in out.columns:
        if name == "count" or name.endswith("_count"):
            out[name] = out[name].astype("int64")
    return out


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("keys, measures, aggs", [
    (("country",), ("amount",), ("count", "sum", "mean")),
    (("country", "channel"), ("amount", "items"), ("count", "sum", "mean", "min", "max")),
])
def test_group_by_equals_pandas_for_any_split_into_batches(engine, keys, measures, aggs):
    df = events(3000)
    raw = engine(keys=keys, measures=measures, aggs=aggs)
    for part in np.array_split(np.arange(len(df)), 7):
        raw.insert(df.iloc[part])
    for end, window in [(T0 + pd.Timedelta("10min"), "5min"),
                        (T0 + pd.Timedelta("3min"), "60s"),
                        (T0 + pd.Timedelta("20min"), "1h")]:
        got = raw.query(end=end, window=window)
        want = pandas_answer(df, end, window, keys, measures, aggs)
        want.index = want.index.set_levels([lvl.astype("str") for lvl in want.index.levels]) \
            if isinstance(want.index, pd.MultiIndex) else want.index.astype("str")
        pd.testing.assert_frame_equal(got.table, want, check_exact=False, rtol=1e-9,
                                      check_column_type=False)
        assert got.table.columns.dtype == object    # like rtnb.Rolling's tables
        in_window = ((df.ts >= end - pd.Timedelta(window)) & (df.ts < end)).sum()
        assert got.rows_scanned == in_window
        assert got.rows_stored == len(df)
        assert got.engine == raw.engine


@pytest.mark.parametrize("engine", ENGINES)
def test_window_is_half_open_and_no_keys_gives_one_row(engine):
    raw = engine(measures="amount", aggs=("count", "sum"))
    raw.insert(pd.DataFrame({"ts": [T0, T0 + pd.Timedelta("1min")], "amount": [1.0, 2.0]}))
    got = raw.query(end=T0 + pd.Timedelta("1min"), window="1min")
    assert got.table["count"].tolist() == [1] and got.table["sum"].tolist() == [1.0]
    assert got.rows_scanned == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_measures_are_not_counted_and_empty_windows_are_empty(engine):
    raw = engine(keys="country", measures="amount", aggs=("count", "mean"))
    raw.insert(pd.DataFrame({"ts": [T0, T0], "country": ["FR", "FR"], "amount": [np.nan, 4.0]}))
    got = raw.query(end=T0 + pd.Timedelta("1s"), window="1min")
    assert got.table.loc["FR"].tolist() == [1, 4.0]   # like pandas: count skips NaN
    assert got.rows_scanned == 2                        # but both rows were read
    empty = raw.query(end=T0 - pd.Timedelta("1h"), window="1min")
    assert empty.table.empty and empty.rows_scanned == 0
    assert list(empty.table.columns) == ["count", "mean"]


@pytest.mark.parametrize("engine", ENGINES)
def test_retention_bounds_the_table(engine):
    raw = engine(keys="country", measures="amount", retention="2min")
    df = events(500, span="10min")
    for part in np.array_split(np.arange(len(df)), 5):
        raw.insert(df.iloc[part])
    newest = df.ts.max()
    assert raw.rows_stored == (df.ts >= newest - pd.Timedelta("2min")).sum()


@pytest.mark.parametrize("engine", ENGINES)
def test_query_time_and_cpu_come_from_the_injected_timers(engine):
    ticks = itertools.count(step=0.25)
    cpu = itertools.count(step=0.1)
    raw = engine(keys="country", measures="amount",
                 timer=lambda: next(ticks), cpu_timer=lambda: next(cpu))
    raw.insert(events(100))
    got = raw.query(end=T0 + pd.Timedelta("10min"), window="10min")
    assert got.seconds == 0.25 and got.cpu_seconds == pytest.approx(0.1)
    assert got.rows_per_second == 400.0


@pytest.mark.parametrize("engine", ENGINES)
def test_the_real_timers_measure_a_positive_cost_that_grows_with_rows(engine):
    raw = engine(keys="country", measures="amount")
    # enough rows that the scan, not the fixed per-query overhead, dominates
    raw.insert(events(20_000 if engine is SQLiteBaseline else 400_000))
    small = min(raw.query(end=T0 + pd.Timedelta("10s"), window="10s").seconds for _ in range(5))
    large = min(raw.query(end=T0 + pd.Timedelta("10min"), window="10min").seconds
                for _ in range(5))
    assert 0 < small < large


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_batches_and_parameters_are_named(engine):
    raw = engine(keys="country", measures="amount")
    with pytest.raises(ParameterError, match="lacks the columns \\['amount'\\]"):
        raw.insert(pd.DataFrame({"ts": [T0], "country": ["FR"]}))
    with pytest.raises(ParameterError, match="'ts' column must be datetime64"):
        raw.insert(pd.DataFrame({"ts": ["noon"], "country": ["FR"], "amount": [1.0]}))
    with pytest.raises(ParameterError, match="window"):
        raw.query(end=T0, window="-1min")
    with pytest.raises(ParameterError, match="keys"):
        engine(keys="country; DROP TABLE events")
    with pytest.raises(UnknownNameError, match="p99"):
        engine(measures="amount", aggs=("p99",))
    with pytest.raises(ParameterError, match="only 'count'"):
        engine(aggs=("sum",))
    raw.close()
    with pytest.raises(StoreError, match="closed"):
        raw.query(end=T0, window="1min")


def test_sqlite_range_scans_the_window_through_the_ts_index():
    raw = SQLiteBaseline(keys="country", measures="amount")
    plan = raw._db.execute("EXPLAIN QUERY PLAN " + raw.sql(), (0, 1)).fetchall()
    assert any("USING INDEX events_ts" in row[-1] for row in plan)


def test_raw_query_is_a_frozen_value():
    q = RawQuery(engine="sqlite", table=pd.DataFrame(), seconds=0.0, cpu_seconds=0.0,
                 rows_scanned=0, rows_stored=0)
    assert q.rows_per_second is None
    with pytest.raises(AttributeError):
        q.seconds = 1.0


def test_without_duckdb_the_error_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if not installed
    with pytest.raises(StoreError, match=r"pip install 'rtnb\[duckdb\]'"):
        DuckDBBaseline(keys="country", measures="amount")
