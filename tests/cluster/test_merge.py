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
