"""The driver's snapshot reads the partitions' tables without putting them together:
every read equals the same read of the whole sorted table (no cluster needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtnb import Snapshot, UnknownNameError
from rtnb._keytable import top_positions
from rtnb.cluster._merge import Merged
from rtnb.cluster._partial import Part

VALUES = st.sampled_from([0.0, 1.0, 1.0, 2.5, 7.0, float("nan"), -3.0])  # ties and NaN, often


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 4), VALUES, st.integers(0, 3)), max_size=60),
       n=st.integers(0, 8), ascending=st.booleans())
def test_top_key_and_table_of_the_merged_partitions_equal_the_whole_sorted_table(rows, n, ascending):
    rng = np.random.default_rng(len(rows))
    labels = [f"k{i:03d}" for i in rng.permutation(max(len(rows), 1))[:len(rows)]]
    parts = [[] for _ in range(5)]
    for (p, v, c), label in zip(rows, labels):
        parts[p].append((label, v, c))
    tables = [pd.DataFrame({"sum": [r[1] for r in rs], "count": [r[2] for r in rs]},
                           index=pd.Index([r[0] for r in rs], name="k", dtype=object)) for rs in parts]
    empty = tables[0].iloc[:0]
    whole = pd.concat(tables).sort_index(kind="stable") if rows else empty
    for built in (False, True):  # read part by part, and after the whole table was built
        _check(tables, empty, whole, labels, n, ascending, built)


def _check(tables, empty, whole, labels, n, ascending, built):
    snap = Snapshot(metric="m", key_table=Merged([Part.of_frame(t) for t in tables], empty), window=None,
                    watermark=None, newest_event=None, processed_at=pd.Timestamp(0))
    if built:
        snap.key_table.frame()
    assert snap.n_keys == len(whole) and list(snap.columns) == ["sum", "count"]
    for by in ("sum", "count"):
        want = whole.iloc[top_positions(whole[by].to_numpy(), n, ascending)]
        got = snap.top(n, by, ascending=ascending)
        assert got.index.tolist() == want.index.tolist()
        np.testing.assert_array_equal(got[by].to_numpy(float), want[by].to_numpy(float))
    for label in labels[:5] + ["absent"]:
        if label in whole.index:
            assert snap.key(label).tolist() == pytest.approx(whole.loc[label].tolist(), nan_ok=True)
        else:
            with pytest.raises(KeyError):
                snap.key(label)
    assert snap.table.index.tolist() == whole.index.tolist()


def test_an_unknown_column_is_named():
    t = pd.DataFrame({"sum": [1.0]}, index=pd.Index(["a"], name="k"))
    snap = Snapshot(metric="m", key_table=Merged([Part.of_frame(t), Part.of_frame(t.iloc[:0])], t.iloc[:0]), window=None, watermark=None,
                    newest_event=None, processed_at=pd.Timestamp(0))
    with pytest.raises(UnknownNameError, match="by='mean'"):
        snap.top(1, "mean")


@settings(max_examples=40, deadline=None)
@given(perm=st.permutations([float("nan"), 3.0, 1.0, 2.0, 0.5]), cut=st.integers(0, 5),
       values=st.lists(st.sampled_from([5.0, 5.0, 1.0]), min_size=5, max_size=5), n=st.integers(1, 5))
def test_a_nan_key_is_found_and_ties_break_in_key_order_as_in_the_sorted_table(perm, cut, values, n):
    """Float keys with a missing one, in parts as they arrive over the wire (pickled:
    the NaN is a new object): ``key(nan)`` finds it, and ``top`` breaks ties in the
    sorted table's key order (NaN last), not in an order argsort makes up."""
    import pickle

    whole = pd.DataFrame({"sum": values}, index=pd.Index(list(perm), name="k", dtype=object))
    parts = [pickle.loads(pickle.dumps(Part.of_frame(t))) for t in (whole.iloc[:cut], whole.iloc[cut:])]
    merged = Merged(parts, whole.iloc[:0])
    ordered = whole.sort_index(kind="stable")
    want = ordered.iloc[top_positions(ordered["sum"].to_numpy(), n, False)]
    assert [str(v) for v in merged.top(n, "sum").index] == [str(v) for v in want.index]
    assert merged.key(np.nan).tolist() == ordered.loc[[np.nan]].iloc[0].tolist()
    assert merged.key(float("nan")).tolist() == ordered.loc[[np.nan]].iloc[0].tolist()


def test_a_missing_key_reads_as_in_one_process_single_and_multi_column():
    import pickle

    import rtnb
    from rtnb.cluster._partial import Replier

    ts = pd.to_datetime(["2024-01-01 00:00:01"] * 3).as_unit("ns")
    for by, frame, label in (
        ("k", pd.DataFrame({"ts": ts, "k": ["a", None, "b"], "v": [1.0, 2.0, 3.0]}), np.nan),
        ("k", pd.DataFrame({"ts": ts, "k": [1.0, np.nan, 2.0], "v": [1.0, 2.0, 3.0]}), None),
        (["k", "j"], pd.DataFrame({"ts": ts, "k": ["a", None, "b"], "j": [1, 2, 3], "v": [1.0, 2.0, 3.0]}), (np.nan, 2)),
    ):
        agg = rtnb.Rolling("1min", by=by, value="v", aggs=("count", "sum")).update(frame)
        part = pickle.loads(pickle.dumps(Replier().reply(agg, 0, -1)))
        merged, single = Merged([part], agg.value.iloc[:0]), agg.snapshot()
        assert merged.key(label).tolist() == single.key(label).tolist()
        for n in (1, 2, 3):
            assert [str(v) for v in merged.top(n, "sum").index] == [str(v) for v in single.top(n, "sum").index]
