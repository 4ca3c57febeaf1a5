"""Reading a few keys of a snapshot: ``top(n, by)`` and ``key(label)`` give the rows pandas
gives on the same table (``nlargest``/``nsmallest``, ``loc``), the table built lazily
equals the answer pandas recomputes from the rows, and a snapshot read late (after more
batches, after keys were evicted) still answers as it did when it was taken."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import streamz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtnb
from tests.pipeline._oracle import aggregate, assert_table_matches, window_rows

T0 = pd.Timestamp("2024-01-01")
AGGS = ("count", "sum", "mean", "std", "max")


def _batches(rng, n_keys, plan, dtype, names):
    t = T0.value
    for rows, gap_ms in plan:
        t += gap_ms * 1_000_000
        active = rng.choice(n_keys, size=max(1, int(rng.integers(1, n_keys + 1))), replace=False)
        ts = t + np.sort(rng.integers(0, 2_000_000_000, rows))
        t = int(ts[-1])
        keys = names[rng.choice(active, rows)]
        col = (pd.Categorical(keys, categories=pd.Index(names.tolist(), dtype=object)) if dtype == "category"
               else pd.array(keys, dtype="str") if dtype == "str" else keys.astype(np.int64))
        # values with ties (rounded) so that top-k must break ties as pandas does
        yield pd.DataFrame({"ts": ts.view("datetime64[ns]"), "k": col, "v": rng.integers(0, 6, rows) * 1.0})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 60), st.lists(st.tuples(st.integers(1, 80), st.integers(0, 15_000)), min_size=1, max_size=6),
       st.sampled_from(["str", "category", "int"]), st.integers(0, 10**6),
       st.integers(0, 70), st.sampled_from(list(AGGS)), st.booleans())
def test_top_and_key_equal_pandas_on_the_same_rows(n_keys, plan, dtype, seed, n, by, ascending):
    rng = np.random.default_rng(seed)
    names = (np.array([f"key{i}" for i in range(n_keys)], dtype=object) if dtype != "int"
             else np.arange(n_keys, dtype=np.int64) * 7)
    agg = rtnb.Rolling("10s", by="k", value="v", aggs=AGGS)
    seen, taken = [], []
    for batch in _batches(rng, n_keys, plan, dtype, names):
        agg.update(batch)
        seen.append(batch.assign(k=np.asarray(batch["k"], dtype=object)))
        snap = agg.snapshot()
        # read a few keys first, the table last: it must be the same answer
        top = snap.top(n, by=by, ascending=ascending)
        some = names[rng.integers(0, n_keys, 3)]
        rows = {k: snap.key(k) for k in some if k in set(agg.value.index)}
        table = snap.table
        ok = table[table[by].notna()]
        want = ok.nsmallest(n, by, keep="first") if ascending else ok.nlargest(n, by, keep="first")
        pd.testing.assert_frame_equal(top, want)
        for k, row in rows.items():
            pd.testing.assert_series_equal(row, table.loc[k])
        for k in set(some.tolist()) - set(table.index.tolist()):
            with pytest.raises(KeyError):
                snap.key(k)
        assert snap.n_keys == len(table) and list(snap.columns) == list(table.columns)
        # the lazy table is the answer pandas recomputes from the window's rows
        rows_all = pd.concat(seen)
        want_table = aggregate(window_rows(rows_all, rows_all["ts"].max(), "exact", pd.Timedelta("10s")),
                               ["k"], ["v"], AGGS)
        got = table.copy()
        got.index = got.index.astype(object)
        assert_table_matches(got, want_table)
        taken.append((agg.snapshot(), table.copy()))
    # a snapshot read only later (after more batches) still answers as it did then
    for snap, then in taken:
        pd.testing.assert_frame_equal(snap.table, then)


def test_top_key_and_the_table_read_in_any_order_are_one_answer():
    agg = rtnb.Rolling("60s", by="k", value="v", aggs=("count", "sum"))
    ts = (T0 + pd.to_timedelta(np.arange(6), unit="s")).as_unit("ns")
    agg.update(pd.DataFrame({"ts": ts, "k": list("abcabd"), "v": [5.0, 1, 7, 5, 3, 2]}))
    snap = agg.snapshot()
    assert snap.top(2, by="sum").index.tolist() == ["a", "c"]
    assert snap.top(1, by="count").index.tolist() == ["a"]  # a and b tie on count: table order
    assert snap.top(3, by="sum", ascending=True).index.tolist() == ["d", "b", "c"]
    assert snap.key("b").tolist() == [2, 4.0] and snap.n_keys == 4
    assert snap.key_table._frame is None  # nothing above built the whole table
    assert snap.top(2).index.tolist() == snap.table.nlargest(2, "count").index.tolist()
    with pytest.raises(rtnb.UnknownNameError):
        snap.top(2, by="nope")
    with pytest.raises(rtnb.ParameterError):
        snap.top(-1)


def test_a_pipeline_snapshot_keeps_its_table_unbuilt_until_read():
    source = streamz.Stream()
    pipe = rtnb.build_pipeline(source, metric="v", name="orders", window="60s", by="k", aggs=("count",),
                               id_col=None)
    ts = (T0 + pd.to_timedelta(np.arange(3), unit="s")).as_unit("ns")
    source.emit(pd.DataFrame({"ts": ts, "k": list("aab"), "v": [1.0, 2.0, 3.0]}))
    snap = pipe.store.latest("orders")
    assert snap.metric == "orders" and snap.counters.accepted == 3
    assert snap.key_table._frame is None
    assert snap.top(1).index.tolist() == ["a"] and snap.table["count"].tolist() == [2, 1]


def test_several_key_columns_and_no_key():
    agg = rtnb.Rolling("60s", by=["k", "j"], value="v", aggs=("count",))
    ts = (T0 + pd.to_timedelta(np.arange(3), unit="s")).as_unit("ns")
    agg.update(pd.DataFrame({"ts": ts, "k": ["a", "a", "b"], "j": [1, 1, 2], "v": [1.0, 2.0, 3.0]}))
    snap = agg.snapshot()
    pd.testing.assert_series_equal(snap.key(("a", 1)), snap.table.loc[("a", 1)])
    with pytest.raises(KeyError):
        snap.key(("a", 2))
    glob = rtnb.Rolling("60s", value="v", aggs=("count",)).update(
        pd.DataFrame({"ts": ts, "v": [1.0, 2.0, 3.0]})).snapshot()
    pd.testing.assert_frame_equal(glob.top(5), glob.table)
    assert glob.key(0)["count"] == 3


# -- eviction: keys whose window emptied are forgotten in bulk ---------------------------

EVICT_AGGS = ("count", "sum", "mean", "std", "max", "p50")


def _evicting(**kw) -> rtnb.Rolling:
    agg = rtnb.Rolling("10s", by="k", value="v", aggs=EVICT_AGGS, **kw)
    agg._evict_min = agg._evict_at = 2  # evict at any size (4,096 keys by default)
    return agg


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 60), st.lists(st.tuples(st.integers(1, 40), st.integers(0, 25_000)), min_size=2, max_size=8),
       st.sampled_from(["str", "category", "int"]), st.integers(0, 10**6))
def test_evicted_keys_vanish_and_return_with_the_right_values(n_keys, plan, dtype, seed):
    rng = np.random.default_rng(seed)
    names = (np.array([f"key{i}" for i in range(n_keys)], dtype=object) if dtype != "int"
             else np.arange(n_keys, dtype=np.int64) * 7)
    agg = _evicting()
    seen, taken, peak = [], [], 0
    for batch in _batches(rng, n_keys, plan, dtype, names):
        agg.update(batch)
        seen.append(batch.assign(k=np.asarray(batch["k"], dtype=object)))
        rows_all = pd.concat(seen)
        want = aggregate(window_rows(rows_all, rows_all["ts"].max(), "exact", pd.Timedelta("10s")),
                         ["k"], ["v"], EVICT_AGGS)
        snap = agg.snapshot()
        got = snap.table.copy()
        got.index = got.index.astype(object)
        assert_table_matches(got, want)
        # the index is looked at whenever it doubled: it holds at most 4x the most keys live
        peak = max(peak, snap.n_keys, batch["k"].nunique())
        assert len(agg._keys) < agg._evict_at <= 4 * max(peak, 2)
        taken.append((agg.snapshot(), got, snap.top(3, by="sum")))
        again = rtnb.Rolling.from_state(agg.export_state())
        pd.testing.assert_frame_equal(again.value, agg.value)
    for snap, then, top in taken:  # snapshots taken before later evictions answer as they did
        now = snap.table.copy()
        now.index = now.index.astype(object)
        pd.testing.assert_frame_equal(now, then)
        pd.testing.assert_frame_equal(snap.top(3, by="sum"), top)
        for k in then.index[:3]:
            pd.testing.assert_series_equal(snap.key(k), snap.table.loc[k])


def test_a_key_evicted_then_back_counts_only_its_new_rows():
    agg = _evicting()
    t = T0
    for i in range(4):  # four keys, one per batch, each alone in the window
        agg.update(pd.DataFrame({"ts": [t + pd.Timedelta(seconds=30 * i)], "k": [f"k{i}"], "v": [float(i)]}))
    old = agg.snapshot()
    assert len(agg._keys) < 4 and old.table.index.tolist() == ["k3"]  # the emptied keys went
    agg.update(pd.DataFrame({"ts": [t + pd.Timedelta(seconds=95)] * 2, "k": ["k0", "k3"], "v": [7.0, 1.0]}))
    snap = agg.snapshot()
    assert snap.key("k0")["count"] == 1 and snap.key("k0")["sum"] == 7.0
    assert snap.key("k3")["count"] == 2 and snap.table["count"].sum() == 3
    with pytest.raises(KeyError):
        snap.key("k1")
    assert old.key("k3")["count"] == 1 and old.n_keys == 1  # the old snapshot did not move


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(-3, 3).map(float), st.just(float("nan")), st.just(-0.0)), max_size=40),
       st.integers(0, 45), st.booleans())
def test_top_positions_are_the_rows_of_nlargest_and_nsmallest(values, n, ascending):
    from rtnb._keytable import top_positions

    s = pd.Series(values, dtype=np.float64).dropna()
    want = s.nsmallest(n, keep="first") if ascending else s.nlargest(n, keep="first")
    got = top_positions(np.array(values, dtype=np.float64), n, ascending)
    assert got.tolist() == want.index.tolist()


def test_several_key_columns_whose_packed_code_would_overflow_keep_their_labels():
    """A reviewer's find: five key columns of 10,000 distinct values each packed into one
    int64 overflowed silently and put 9,077 of 10,000 sums under another key's label."""
    rng = np.random.default_rng(3)
    n = 10_000
    cols = {c: rng.permutation(n) for c in "abcde"}
    batch = pd.DataFrame({"ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), "ms"),
                          **cols, "v": rng.random(n)})
    agg = rtnb.Rolling("1h", by=list("abcde"), value="v", aggs=("count", "sum"))
    agg.update(batch)
    got = agg.snapshot().table.sort_index()
    want = batch.groupby(list("abcde"))["v"].agg(["count", "sum"]).sort_index()
    assert got.index.equals(want.index)
    np.testing.assert_array_equal(got["count"].to_numpy(), want["count"].to_numpy())
    np.testing.assert_allclose(got["sum"].to_numpy(), want["sum"].to_numpy(), rtol=1e-12)


def test_renaming_one_snapshots_index_never_renames_another():
    agg = rtnb.Rolling("10s", by="k", value="v", aggs=("sum",))
    agg.update(pd.DataFrame({"ts": [T0, T0], "k": ["a", "b"], "v": [1.0, 2.0]}))
    s1, s2 = agg.snapshot(), agg.snapshot()
    s2.table.index.name = "country"
    assert s1.table.index.name == "k" and agg.snapshot().table.index.name == "k"


def test_unhashable_key_values_are_a_parameter_error_naming_by():
    agg = rtnb.Rolling("10s", by="k", value="v", aggs=("sum",))
    with pytest.raises(rtnb.ParameterError, match="by"):
        agg.update(pd.DataFrame({"ts": [T0, T0], "k": [["a"], ["b"]], "v": [1.0, 2.0]}))


def test_top_and_key_with_odd_arguments_answer_the_same_built_or_not():
    """A reviewer's find: an unhashable by= escaped as a pandas error, and key() of a list
    or a partial tuple answered differently once the table was built."""
    agg = rtnb.Rolling("10s", by="k", value="v", aggs=("sum",))
    agg.update(pd.DataFrame({"ts": [T0, T0], "k": ["a", "b"], "v": [1.0, 2.0]}))
    for built in (False, True):
        snap = agg.snapshot()
        if built:
            snap.table
        with pytest.raises(rtnb.UnknownNameError, match="by"):
            snap.top(1, by=["sum"])
        for label in (["a"], {"a": 1}, ("a",), "zz"):
            with pytest.raises(KeyError):
                snap.key(label)
        assert snap.key("a")["sum"] == 1.0
    two = rtnb.Rolling("10s", by=["k", "j"], value="v", aggs=("sum",))
    two.update(pd.DataFrame({"ts": [T0], "k": ["a"], "j": ["x"], "v": [1.0]}))
    snap = two.snapshot()
    snap.table
    with pytest.raises(KeyError):
        snap.key("a")  # one of two key columns is not a key
    assert snap.key(("a", "x"))["sum"] == 1.0
