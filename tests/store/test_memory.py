"""MemoryStore: latest, version, bounded history pivoted per key, the Store protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rtnb
from rtnb.store import MemoryStore, Store

T0 = pd.Timestamp("2024-01-01 09:00")


def snap(i: int, values: dict, metric: str = "orders", newest: pd.Timestamp | None = T0, index_name="country"):
    table = pd.DataFrame(
        {"count": list(values.values()), "mean": [v / 2 for v in values.values()]},
        index=pd.Index(list(values.keys()), name=index_name),
    )
    t = None if newest is None else newest + pd.Timedelta(seconds=i)
    return rtnb.Snapshot(
        metric=metric, table=table, window=pd.Timedelta("60s"), watermark=t, newest_event=t,
        processed_at=T0 + pd.Timedelta(seconds=i + 1), counters=rtnb.Counters(), version=i,
    )


def test_follows_the_store_protocol():
    assert isinstance(MemoryStore(), Store)


def test_latest_version_and_metrics():
    store = MemoryStore()
    assert store.latest("orders") is None and store.version("orders") == 0 and store.metrics() == []
    s1, s2 = snap(0, {"FR": 1}), snap(1, {"FR": 2})
    store.put(s1)
    store.put(s2)
    store.put(snap(0, {"x": 1}, metric="alerts"))
    assert store.latest("orders") is s2
    assert store.version("orders") == 2 and store.version("alerts") == 1
    assert store.metrics() == ["alerts", "orders"]


def test_history_is_bounded_and_keys_that_come_and_go_are_nan():
    store = MemoryStore(history=3)
    store.put(snap(0, {"FR": 1}))
    store.put(snap(1, {"FR": 2, "DE": 4}))
    store.put(snap(2, {"DE": 6}))
    store.put(snap(3, {"FR": 8, "IT": 10}))
    h = store.history("orders", "count")
    assert list(h.index) == [T0 + pd.Timedelta(seconds=s) for s in (1, 2, 3)]
    assert h.index.name == "newest_event" and h.index.dtype == "datetime64[ns]"
    assert list(h.columns) == ["DE", "FR", "IT"] and h.columns.name == "country"
    expected = pd.DataFrame(
        {"DE": [4.0, 6.0, np.nan], "FR": [2.0, np.nan, 8.0], "IT": [np.nan, np.nan, 10.0]}, index=h.index
    )
    pd.testing.assert_frame_equal(h, expected, check_names=False)
    assert store.history("orders", "mean").loc[T0 + pd.Timedelta(seconds=3), "IT"] == 5.0


def test_history_keeps_a_missing_key_as_its_own_column():
    # Rolling keeps rows whose key is NaN under a NaN key (like groupby(dropna=False));
    # the history must show that key, not write its values into another key's column.
    store = MemoryStore()
    store.put(snap(0, {"FR": 1}))
    store.put(snap(1, {"FR": 1, np.nan: 5}))
    store.put(snap(2, {"FR": 1, np.nan: 12, "DE": 2}))
    h = store.history("orders", "count")
    assert list(h["DE"].isna()) == [True, True, False]
    assert h.columns.isna().sum() == 1
    assert list(h.loc[:, h.columns.isna()].iloc[:, 0].fillna(-1)) == [-1, 5.0, 12.0]


def test_history_stays_bounded_over_a_long_run():
    store = MemoryStore(history=50)
    for i in range(2000):
        store.put(snap(i, {"FR": i, "DE": -i}))
    assert len(store.history("orders", "count")) == 50
    assert store.history("orders", "count")["FR"].iloc[-1] == 1999
    assert len(store._metrics["orders"].entries) == 50  # memory, not only the answer


def test_same_newest_event_replaces_the_history_entry_and_none_is_not_history():
    store = MemoryStore()
    store.put(snap(0, {"FR": 1}, newest=None))
    assert store.version("orders") == 1 and len(store.history("orders", "count")) == 0
    store.put(snap(0, {"FR": 1}))
    store.put(snap(0, {"FR": 5}))  # e.g. a batch whose rows were all rejected
    h = store.history("orders", "count")
    assert len(h) == 1 and h["FR"].iloc[0] == 5 and store.version("orders") == 3


def test_history_is_cached_until_the_next_put():
    store = MemoryStore()
    store.put(snap(0, {"FR": 1}))
    h = store.history("orders", "count")
    assert store.history("orders", "count") is h
    store.put(snap(1, {"FR": 2}))
    assert len(store.history("orders", "count")) == 2


def test_history_of_several_key_columns_and_of_a_global_row():
    store = MemoryStore()
    idx = pd.MultiIndex.from_tuples([("FR", "web"), ("FR", "app")], names=["country", "channel"])
    table = pd.DataFrame({"count": [1, 2]}, index=idx)
    store.put(rtnb.Snapshot(metric="m", table=table, window=None, watermark=T0, newest_event=T0, processed_at=T0))
    h = store.history("m", "count")
    assert set(h.columns) == {("FR", "web"), ("FR", "app")} and h.loc[T0, ("FR", "app")] == 2
    glob = pd.DataFrame({"sum": [3.5]}, index=pd.Index(["all"]))
    store.put(rtnb.Snapshot(metric="g", table=glob, window=None, watermark=T0, newest_event=T0, processed_at=T0))
    assert store.history("g", "sum").loc[T0, "all"] == 3.5


def test_unknown_metric_and_unknown_column():
    store = MemoryStore()
    empty = store.history("nothing", "count")
    assert empty.empty and empty.index.name == "newest_event"
    store.put(snap(0, {"FR": 1}))
    with pytest.raises(rtnb.UnknownNameError, match="column='p99'.*'count', 'mean'"):
        store.history("orders", "p99")


def test_put_refuses_what_is_not_a_snapshot_and_close_ends_the_store():
    store = MemoryStore()
    with pytest.raises(rtnb.ParameterError, match="snapshot"):
        store.put({"metric": "orders"})
    store.put(snap(0, {"FR": 1}))
    store.close()
    for call in (lambda: store.latest("orders"), lambda: store.put(snap(1, {"FR": 1})), store.metrics):
        with pytest.raises(rtnb.StoreError):
            call()


@pytest.mark.parametrize("history", [0, -1, 1.5, True, "10"])
def test_invalid_history_names_the_parameter(history):
    with pytest.raises(rtnb.ParameterError, match="history="):
        MemoryStore(history=history)
