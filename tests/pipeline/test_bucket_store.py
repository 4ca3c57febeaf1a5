"""Sparse bucket storage (rtnb/pipeline/engines/_store.py) behind bucketed windows.

The bucketed engine holds, per live bucket, only the keys that bucket has rows of, in
parts compacted lazily; per-key min/max are running values recomputed only for the
keys whose extreme left with a bucket. These tests replay streams where keys appear,
vanish and return, rows arrive out of order within the lateness (so older buckets get
more parts), buckets expire, values are non-negative (sum |x| not stored) or of both
signs — and compare with pandas after every batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtnb
from rtnb.pipeline.engines import make_engine, state_from_bytes, state_to_bytes
from rtnb.pipeline.engines._base import Needs
from rtnb.pipeline.engines._store import BucketStore
from rtnb.pipeline.rolling import RollingConfig
from tests.pipeline._oracle import Oracle, aggregate, assert_table_matches, window_rows

T0 = pd.Timestamp("2024-01-01")
AGGS = ("count", "sum", "mean", "std", "min", "max", "p50", "p99")


def _stream(rng, n_keys: int, plan, signed: bool, disorder_ms: int):
    """Batches: each a random subset of the keys (keys vanish and return), after a gap."""
    names = np.array([f"key{i}" for i in range(n_keys)], dtype=object)
    t = T0.value
    for rows, gap_ms in plan:
        t += gap_ms * 1_000_000
        active = rng.choice(n_keys, size=int(rng.integers(1, n_keys + 1)), replace=False)
        ts = t + np.sort(rng.integers(0, 1_500_000_000, rows))
        t = int(ts[-1])
        ts = ts - rng.integers(0, disorder_ms * 1_000_000 + 1, rows)  # out of order, some late
        v = rng.lognormal(1, 1.5, rows)
        if signed:
            v = v * rng.choice([-1.0, 1.0], rows)
        v[rng.random(rows) < 0.1] = 0.0
        yield pd.DataFrame({"ts": ts.view("datetime64[ns]"), "k": pd.array(names[rng.choice(active, rows)], dtype="str"),
                            "v": v.round(3)})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 60), st.lists(st.tuples(st.integers(1, 300), st.integers(0, 6_000)), min_size=1, max_size=10),
       st.booleans(), st.integers(0, 3_000), st.sampled_from(["1s", "500ms", "2s"]), st.integers(0, 10**6))
def test_sparse_buckets_equal_pandas_and_hold_only_the_groups_with_rows(n_keys, plan, signed, disorder_ms, res, seed):
    rng = np.random.default_rng(seed)
    lateness = pd.Timedelta("1s")
    agg = rtnb.Rolling("6s", by="k", value="v", aggs=AGGS, kind="bucketed", resolution=res, lateness=lateness)
    oracle = Oracle(lateness)
    r = pd.Timedelta(res).value
    for i, batch in enumerate(_stream(rng, n_keys, plan, signed, disorder_ms)):
        agg.update(batch)
        oracle.feed(batch)
        rows = oracle.frame(batch.columns)
        wm = rows["ts"].max()
        live = window_rows(rows, wm, "bucketed", pd.Timedelta("6s"), pd.Timedelta(res))
        table = agg.value
        table.index = table.index.astype(object)
        assert_table_matches(table, aggregate(live, ["k"], ["v"], AGGS), where=f"batch {i}")
        # sparse: the engine holds one group per (bucket, key) with rows, no more
        pairs = set(zip((live["ts"].to_numpy().view(np.int64) // r).tolist(), live["k"].tolist()))
        assert agg._engine.memory_rows() == len(pairs)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 30), st.lists(st.tuples(st.integers(1, 200), st.integers(0, 4_000)), min_size=2, max_size=8),
       st.booleans(), st.integers(0, 10**6), st.data())
def test_a_state_exported_with_parts_not_yet_compacted_answers_the_same_later(n_keys, plan, signed, seed, data):
    """Export in the middle of a bucket (parts pending), load, feed both the rest: the same
    answers, exactly (including min/max recomputed after the load and quantiles)."""
    rng = np.random.default_rng(seed)
    batches = list(_stream(rng, n_keys, plan, signed, 800))
    cut = data.draw(st.integers(1, len(batches) - 1))
    mk = lambda: rtnb.Rolling("5s", by="k", value="v", aggs=AGGS, kind="bucketed", resolution="1s",  # noqa: E731
                              lateness="1s")
    a = mk()
    for b in batches[:cut]:
        a.update(b)
    state = a.export_state()
    state["engine"] = state_from_bytes(state_to_bytes(state["engine"]))
    b_ = rtnb.Rolling.from_state(state)
    for b in batches[cut:]:
        a.update(b)
        b_.update(b)
        pd.testing.assert_frame_equal(a.value, b_.value, check_exact=True)


def test_a_key_whose_maximum_bucket_expires_gets_the_next_maximum():
    """Max and min are running values: when the bucket holding a key's maximum leaves the
    window, that key (only) is recomputed from the buckets still in it."""
    agg = rtnb.Rolling("3s", by="k", value="v", aggs=("max", "min", "count"), kind="bucketed", resolution="1s")
    ts = T0 + pd.to_timedelta([0.1, 0.2, 1.1, 2.1, 3.5, 4.5], unit="s")
    df = pd.DataFrame({"ts": ts.astype("datetime64[ns]"), "k": ["a", "b", "a", "a", "b", "a"],
                       "v": [100.0, -7.0, 5.0, 3.0, 1.0, 4.0]})
    agg.update(df.iloc[:4])
    assert agg.value.loc["a", "max"] == 100.0 and agg.value.loc["b", "min"] == -7.0
    agg.update(df.iloc[4:5])  # W = 3.5 s: window [1 s, 4 s): bucket 0 (a's 100, b's -7) left
    assert agg.value.loc["a", "max"] == 5.0 and agg.value.loc["a", "min"] == 3.0
    assert agg.value.loc["b", "min"] == 1.0
    agg.update(df.iloc[5:])  # W = 4.5 s: window [2 s, 5 s): a's 5 left
    assert agg.value.loc["a", "max"] == 4.0 and agg.value.loc["a", "count"] == 2


def test_a_finished_bucket_holds_each_of_its_keys_once():
    """Rows of many batches into one bucket become parts; once no acceptable row can reach
    the bucket (past W - lateness) it is compacted to one group per key, sums intact."""
    cfg = RollingConfig(window="1h", value="v", kind="bucketed", resolution="1s", lateness="2s")
    eng = make_engine(cfg)
    eng.grow(5000)
    rng = np.random.default_rng(0)
    sec = 1_000_000_000
    total = np.zeros(5000)
    for i in range(30):  # 30 batches of the same second (fewer groups than compaction waits for)
        codes = rng.integers(0, 5000, 200)
        vals = rng.random((200, 1))
        np.add.at(total, codes, vals[:, 0])
        eng.insert(np.full(200, 10 * sec + i), codes, vals, 10 * sec + i)
    assert len(eng.store.parts[10]) > 1  # still open: parts pending
    eng.insert(np.array([13 * sec]), np.array([0]), np.array([[1.0]]), 13 * sec)  # then one 3 s later
    assert len(eng.store.parts[10]) == 1
    p = eng.store.parts[10][0]
    assert p.size == np.count_nonzero(total) == np.unique(p.keys).size
    np.testing.assert_allclose(p.s[:, 0], total[p.keys.astype(np.int64)], rtol=1e-12)
    assert p.ab is None  # no negative row: the sum of |x| is the sum, not stored


def test_store_memory_follows_groups_not_keys_times_buckets():
    """One key active per bucket out of 100,000 known keys: bytes per group, not per key."""
    store = BucketStore(1, Needs(("count", "sum", "mean")))
    for b in range(1000):
        store.add_rows(np.array([b, b]), np.array([b * 97 % 100_000, b * 97 % 100_000]), np.array([[1.0], [2.0]]))
    assert store.groups(distinct=True) == 1000
    assert store.nbytes() <= 1000 * 20  # key (int32) + count (int32) + sum (float64)
