"""The cheap paths of a batch give the answers of the general ones: key columns coded
from several sources (Categorical batches sharing categories — whose new keys are not
hashed until something looks a label up —, other categories, plain strings) keep one
code per label through keys that appear, vanish, are evicted and return; the table
index built through Arrow is the one pandas infers; late rows kept by per-column takes
are ``batch.iloc[rows]``; values with negative numbers and without, few keys and many
(grouped by bincount or by a sort), all equal pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtnb
from rtnb.pipeline._late import LateRows
from tests.pipeline._oracle import aggregate, assert_table_matches, window_rows

T0 = pd.Timestamp("2024-01-01")
AGGS = ("count", "sum", "mean", "std", "max")
NAMES = np.array([f"key{i}" for i in range(80)], dtype=object)
CATS_A = pd.Index(NAMES.tolist(), dtype="str")  # one categories object, shared by batches
CATS_B = pd.Index(NAMES[::-1][:50].tolist(), dtype="str")  # other categories, other order


def _column(kind: str, keys: np.ndarray):
    if kind == "cat_a":
        return pd.Categorical(keys, categories=CATS_A)
    if kind == "cat_b":
        return pd.Categorical(np.where(np.isin(keys, CATS_B.to_numpy()), keys, CATS_B[0]), categories=CATS_B)
    if kind == "str":
        return pd.array(keys, dtype="str")
    return keys.astype(object)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 60), st.integers(1, 80), st.integers(0, 25_000),
                          st.sampled_from(["cat_a", "cat_a", "cat_b", "str", "object"])),
                min_size=1, max_size=8),
       st.booleans(), st.booleans(), st.integers(0, 10**6))
def test_keys_from_any_mix_of_sources_keep_one_code_per_label(plan, evict, negative, seed):
    rng = np.random.default_rng(seed)
    agg = rtnb.Rolling("10s", by="k", value="v", aggs=AGGS, lateness="1s")
    if evict:
        agg._evict_min = agg._evict_at = 2  # evict at any size (4,096 keys by default)
    t, seen = T0.value, []
    for rows, n_keys, gap_ms, kind in plan:
        t += gap_ms * 1_000_000
        ts = t + np.sort(rng.integers(0, 2_000_000_000, rows))
        t = int(ts[-1])
        keys = NAMES[rng.integers(0, n_keys, rows)]
        col = _column(kind, keys)
        low = -5 if negative else 0
        batch = pd.DataFrame({"ts": ts.view("datetime64[ns]"), "k": col, "v": rng.integers(low, 6, rows) * 1.5})
        agg.update(batch)
        seen.append(batch.assign(k=np.asarray(batch["k"], dtype=object)))
        rows_all = pd.concat(seen)
        want = aggregate(window_rows(rows_all, rows_all["ts"].max(), "exact", pd.Timedelta("10s")), ["k"], ["v"], AGGS)
        snap = agg.snapshot()
        # one label, one code: the index never holds a label twice
        labels = agg._keys.labels.tolist()
        assert len(set(labels)) == len(labels)
        probe = NAMES[rng.integers(0, 80, 4)]
        got_rows = {}
        for k in probe:  # key() before the table: the label dict is completed on demand
            try:
                got_rows[k] = snap.key(k)
            except KeyError:
                got_rows[k] = None
        table = snap.table
        for k, row in got_rows.items():
            if k in table.index:
                pd.testing.assert_series_equal(row, table.loc[k])
            else:
                assert row is None
        if len(table):  # the index made through Arrow is the one pandas infers from the labels
            pd.testing.assert_index_equal(table.index, pd.Index(table.index.tolist(), name="k"), exact=True)
            top = snap.top(3, by="sum")
            pd.testing.assert_index_equal(top.index, pd.Index(top.index.tolist(), name="k"), exact=True)
        got = table.copy()
        got.index = got.index.astype(object)
        assert_table_matches(got, want)
    again = rtnb.Rolling.from_state(agg.export_state())
    pd.testing.assert_frame_equal(again.value, agg.value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 29), max_size=12), st.sampled_from(["range", "labels", "times"]), st.integers(1, 4))
def test_late_rows_kept_by_column_takes_are_the_rows_iloc_gives(picks, index_kind, keep_batches):
    n = 30
    index = {"range": pd.RangeIndex(100, 100 + 3 * n, 3, name="r"),
             "labels": pd.Index([f"row{i}" for i in range(n)]),
             "times": pd.date_range("2024-01-01", periods=n, freq="s", tz="Europe/Paris")}[index_kind]
    batch = pd.DataFrame({
        "ts": pd.date_range("2024-01-01", periods=n, freq="ms"),
        "k": pd.array([f"k{i % 4}" if i % 7 else None for i in range(n)], dtype="str"),
        "cat": pd.Categorical([f"c{i % 3}" for i in range(n)]),
        "obj": [{"a": i} if i % 2 else [i] for i in range(n)],
        "nullable": pd.array([i if i % 5 else None for i in range(n)], dtype="Int64"),
        "aware": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
        0: np.arange(n, dtype=np.float64),
    }, index=index)
    batch.attrs["source"] = "test"
    rows = np.array(sorted(set(picks)), dtype=np.int64)
    late, want = LateRows(keep=len(rows) * keep_batches + 1), []
    for _ in range(keep_batches):
        late.add_rows(batch, rows)
        want.append(batch.iloc[rows])
    got = late.rows
    if not rows.size:
        assert got.empty
        return
    pd.testing.assert_frame_equal(got, pd.concat(want))
    assert got.attrs == {"source": "test"}
    batch.iloc[0, 6] = -1.0  # the kept rows are copies: changing the batch changes nothing kept
    pd.testing.assert_frame_equal(late.rows, pd.concat(want))


def test_rolling_keeps_the_late_rows_as_they_came():
    agg = rtnb.Rolling("10s", by="k", value="v", lateness="1s", keep_late=3)
    ts = pd.to_datetime(["2024-01-01 00:00:10", "2024-01-01 00:00:02", "2024-01-01 00:00:11",
                         "2024-01-01 00:00:01"]).as_unit("ns")
    batch = pd.DataFrame({"ts": ts, "k": pd.array(["a", "b", "c", "d"], dtype="str"), "v": [1.0, 2, 3, 4]},
                         index=[10, 20, 30, 40])
    agg.update(batch)
    agg.update(batch.iloc[[1]])
    pd.testing.assert_frame_equal(agg.late_rows, pd.concat([batch.iloc[[1, 3]], batch.iloc[[1]]]))
    pd.testing.assert_frame_equal(agg.last_late, batch.iloc[[1]])


@pytest.mark.parametrize("n_keys", [3, 5_000])
def test_a_batch_held_by_the_caller_and_changed_after_update_changes_nothing(n_keys):
    """The window keeps arrays of its own: rows later leaving it take away what they added."""
    agg = rtnb.Rolling("10s", by="k", value="v")
    ts = (T0 + pd.to_timedelta(np.arange(100) * 50, unit="ms")).as_unit("ns")
    batch = pd.DataFrame({"ts": ts, "k": np.arange(100) % n_keys, "v": np.ones(100)})
    agg.update(batch)
    batch.loc[:, "v"] = 1000.0  # in place, after the update
    batch.loc[:, "ts"] = ts[0]
    agg.update(pd.DataFrame({"ts": [ts[-1] + pd.Timedelta("20s")], "k": [0], "v": [2.0]}))
    assert agg.value["sum"].tolist() == [2.0]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(1, 80), st.integers(0, 25_000)), min_size=2, max_size=7),
       st.sampled_from([("exact", None), ("bucketed", "1s")]),
       st.sampled_from([("count", "sum", "mean"), ("sum", "std", "min"), ("count", "mean", "p50", "max")]),
       st.booleans(), st.integers(0, 10**6))
def test_a_snapshot_read_only_after_later_batches_answers_for_its_own_time(plan, kind, aggs, evict, seed):
    """A snapshot holds the window's per-key counts and sums as the engine's own arrays
    (gathered only at the rows read); the engine copies them before changing them while
    the snapshot lives, so any read of it, in any order, after later batches, rebuilds
    and evictions, is the answer of its own time."""
    rng = np.random.default_rng(seed)
    agg = rtnb.Rolling("10s", by="k", value="v", aggs=aggs, kind=kind[0], resolution=kind[1])
    if evict:
        agg._evict_min = agg._evict_at = 2
    t, seen, held = T0.value, [], []
    for rows, n_keys, gap_ms in plan:
        t += gap_ms * 1_000_000
        ts = t + np.sort(rng.integers(0, 2_000_000_000, rows))
        t = int(ts[-1])
        keys = NAMES[rng.integers(0, n_keys, rows)]
        batch = pd.DataFrame({"ts": ts.view("datetime64[ns]"), "k": pd.array(keys, dtype="str"),
                              "v": rng.integers(-5, 6, rows) * 1.5})
        agg.update(batch)
        seen.append(batch.assign(k=keys))
        rows_all = pd.concat(seen)
        res = pd.Timedelta(kind[1]) if kind[1] else None
        want = aggregate(window_rows(rows_all, rows_all["ts"].max(), kind[0], pd.Timedelta("10s"), res),
                         ["k"], ["v"], aggs)
        held.append((agg.snapshot(), want, NAMES[rng.integers(0, 80, 3)], int(rng.integers(0, 4))))
    for snap, want, probe, order in held:  # read only now, in any order
        reads = [lambda: snap.top(3, by=aggs[0]), lambda: [snap.values(c) for c in snap.columns],
                 lambda: {k: snap.key(k) for k in probe if k in want}]
        got = [reads[(order + i) % 3]() for i in range(3)]
        table = snap.table.copy()
        table.index = table.index.astype(object)
        assert_table_matches(table, want)
        top = next(g for g in got if isinstance(g, pd.DataFrame))
        pd.testing.assert_frame_equal(top, snap.table.nlargest(3, aggs[0], keep="first"))
        cols = next(g for g in got if isinstance(g, list))
        for c, col in zip(snap.columns, cols):
            np.testing.assert_array_equal(col, snap.table[c].to_numpy())
        for k, row in next(g for g in got if isinstance(g, dict)).items():
            pd.testing.assert_series_equal(row, snap.table.loc[k])


def test_the_window_counts_are_copied_before_a_change_only_while_a_snapshot_holds_them():
    agg = rtnb.Rolling("10s", by="k", value="v")
    ts = (T0 + pd.to_timedelta(np.arange(40) * 100, unit="ms")).as_unit("ns")

    def batch(i):
        return pd.DataFrame({"ts": ts[10 * i : 10 * i + 10], "k": np.arange(10) % 4, "v": np.ones(10)})

    agg.update(batch(0))
    totals = agg._engine.totals
    n = totals.n
    agg.update(batch(1))
    assert totals.n is n  # nobody holds the arrays: changed in place
    snap = agg.snapshot()
    agg.update(batch(2))
    assert totals.n is not n and snap.values("count").tolist() == [6, 6, 4, 4]  # copied first
    assert agg.value["count"].tolist() == [9, 9, 6, 6]
    del snap
    n = totals.n
    agg.update(batch(3))
    assert totals.n is n


def test_every_snapshot_of_one_moment_keeps_its_answer_whichever_is_dropped():
    """Snapshots (and ``value`` reads) taken between two batches share the engine's arrays:
    the arrays are copied before the next change while any of them lives."""
    agg = rtnb.Rolling("10s", by="k", value="v")
    batch = pd.DataFrame({"ts": [T0, T0], "k": ["a", "b"], "v": [1.0, 2.0]})
    agg.update(batch)
    kept = agg.snapshot()
    dropped = agg.snapshot()
    assert agg.value["count"].tolist() == [1, 1]  # a read made and dropped at once
    del dropped
    agg.update(batch.assign(ts=T0 + pd.Timedelta("1s")))
    assert kept.values("count").tolist() == [1, 1] and kept.top(1, by="sum")["sum"].tolist() == [2.0]
    assert agg.snapshot().values("count").tolist() == [2, 2]
