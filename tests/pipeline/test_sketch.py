"""QuantileSketch: relative error against the exact "lower" quantile, merging, edge values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtnb
from rtnb.pipeline.sketch import _SparseSketches

QS = (0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0)


def _check(sk: rtnb.QuantileSketch, values) -> None:
    s = pd.Series(values, dtype=float)
    for q in QS:
        want = s.quantile(q, interpolation="lower")
        got = sk.quantile(q)
        assert abs(got - want) <= sk.relative_accuracy * (1 + 1e-9) * abs(want), (q, got, want)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e9, 1e9, allow_nan=False, allow_subnormal=False),
                          st.just(0.0), st.integers(-5, 5).map(float)), min_size=1, max_size=300))
def test_quantiles_within_relative_accuracy_of_pandas_lower(values):
    _check(rtnb.QuantileSketch().update(values), values)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=200),
       st.integers(0, 200))
def test_merged_partials_equal_one_sketch_on_all_values(values, cut):
    cut = min(cut, len(values))
    whole = rtnb.QuantileSketch().update(values)
    merged = rtnb.QuantileSketch().update(values[:cut]) + rtnb.QuantileSketch().update(values[cut:])
    assert merged.count == whole.count == len(values)
    for q in QS:
        assert merged.quantile(q) == whole.quantile(q)


def test_extreme_magnitudes_zero_and_negatives():
    values = [-1e300, -3.5, -1e-300, 0.0, 0.0, 1e-300, 2.0, 1e300, 5e-324, -5e-324]
    _check(rtnb.QuantileSketch().update(values), values)
    assert rtnb.QuantileSketch().update([0.0] * 5).quantile(0.5) == 0.0


def test_memory_is_bins_not_values():
    rng = np.random.default_rng(0)
    sk = rtnb.QuantileSketch().update(rng.lognormal(3, 1, 200_000))
    # values span ~e^10: about 10 / (2 * 0.005) = 1,000 bins, whatever the count
    assert sk.count == 200_000 and sk._keys.size < 1_500


def test_invalid_inputs_name_the_parameter():
    with pytest.raises(rtnb.ParameterError, match="relative_accuracy"):
        rtnb.QuantileSketch(relative_accuracy=0.7)
    with pytest.raises(rtnb.ParameterError, match="q=1.5"):
        rtnb.QuantileSketch().update([1.0]).quantile(1.5)
    with pytest.raises(rtnb.ParameterError, match="finite"):
        rtnb.QuantileSketch().update([1.0, float("nan")])
    with pytest.raises(rtnb.ParameterError, match="relative_accuracy differs"):
        rtnb.QuantileSketch(0.01).merge(rtnb.QuantileSketch(0.005))
    assert rtnb.QuantileSketch().quantile(0.5) is None
    assert rtnb.QuantileSketch().value == {"p50": None, "p90": None, "p95": None, "p99": None}


def test_sparse_sketches_add_and_remove_exactly():
    """Rolling windows count values in and out; a row's answer equals a fresh sketch."""
    rng = np.random.default_rng(1)
    dense = _SparseSketches()
    vals = rng.normal(0, 100, 1000)
    rows = rng.integers(0, 3, 1000)
    keys = dense.map.keys(vals)
    dense.add(rows, keys, 3, +1)
    dense.add(rows[:400], keys[:400], 3, -1)
    got = dense.quantiles((0.5, 0.99), np.arange(3))
    for r in range(3):
        live = vals[400:][rows[400:] == r]
        ref = rtnb.QuantileSketch().update(live)
        assert got[r, 0] == pytest.approx(ref.quantile(0.5), rel=1e-12)
        assert got[r, 1] == pytest.approx(ref.quantile(0.99), rel=1e-12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.lists(st.integers(0, 5), min_size=1, max_size=30),
                          st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=30,
                                   max_size=30),
                          st.booleans(), st.booleans()), min_size=1, max_size=12),
       st.lists(st.integers(-1, 7), min_size=6, max_size=6))
def test_sparse_sketches_hold_only_counted_pairs_and_answer_as_one_sketch_per_row(steps, renumber):
    """Batches in and out (the rows of earlier batches leave again), weighted entries,
    reads between batches, renumbering, export -> load: every row answers what a fresh
    QuantileSketch of its live values answers, and only the pairs with counts are held."""
    sk = _SparseSketches()
    live: list[tuple[int, float]] = []
    for rows, vals, remove, weighted in steps:
        vals = np.array(vals[: len(rows)])
        rows = np.array(rows)
        if remove and live:
            gone, live = live[: len(live) // 2], live[len(live) // 2:]
            r = np.array([g[0] for g in gone])
            sk.add(r, sk.map.keys(np.array([g[1] for g in gone])), 0, -1)
        if weighted:  # entries (row, bin, count), as buckets hand them over
            bins = sk.map.keys(vals)
            sk.add(rows, bins, 0, +1, weights=np.full(rows.size, 2))
            live += [(int(r), float(v)) for r, v in zip(rows, vals)] * 2
        else:
            sk.add(rows, sk.map.keys(vals), 0, +1)
            live += [(int(r), float(v)) for r, v in zip(rows, vals)]
        _check_rows(sk, live, range(6))
    # renumber: row r -> renumber[r] (-1: dropped)
    row_map = np.array(renumber)
    mapped = [(int(row_map[r]), v) for r, v in live if row_map[r] >= 0]
    sk.keep(row_map)
    _check_rows(sk, mapped, range(8))
    back = _SparseSketches()
    back.load_entries(*sk.entries())
    _check_rows(back, mapped, range(8))
    rows, bins, counts = back.entries()
    distinct = {(r, int(b)) for r, b in zip([m[0] for m in mapped], sk.map.keys(np.array([m[1] for m in mapped])))}
    assert back.pairs == len(distinct) == rows.size and (counts > 0).all()


def _check_rows(sk, live, rows):
    qs = (0.0, 0.5, 0.9, 0.99, 1.0)
    got = sk.quantiles(qs, np.array(list(rows)))
    for i, r in enumerate(rows):
        vals = [v for rr, v in live if rr == r]
        ref = rtnb.QuantileSketch().update(vals)
        want = [np.nan if not vals else ref.quantile(q) for q in qs]
        np.testing.assert_array_equal(got[i], want)


def test_a_dense_sketch_matrix_from_an_older_state_loads():
    dense = np.zeros((3, 5), dtype=np.int64)
    dense[0, 1], dense[2, 4], dense[2, 0] = 3, 1, 2
    sk = _SparseSketches()
    sk.load_dense(dense, 1000)
    rows, bins, counts = sk.entries()
    assert rows.tolist() == [0, 2, 2] and bins.tolist() == [1001, 1000, 1004] and counts.tolist() == [3, 2, 1]


def test_window_quantiles_are_computed_for_the_changed_keys_a_reader_reads_at_their_time():
    """A snapshot computes a key's quantiles when a read needs them (top by count: none;
    one key: one), only if its sketch changed (the others are cached), and from the
    sketches as they were at the snapshot, however many batches came in since."""
    rng = np.random.default_rng(5)
    t0 = pd.Timestamp("2024-01-01")

    def batch(keys, at):
        n = 200
        return pd.DataFrame({"ts": (t0 + pd.to_timedelta(at + rng.uniform(0, 1, n), unit="s")).astype("datetime64[ns]"),
                             "k": rng.choice(keys, n), "v": rng.lognormal(0, 2, n)}).sort_values("ts")

    for kind in ("bucketed", "exact"):
        agg = rtnb.Rolling("1h", by="k", value="v", aggs=("count", "p50", "p99"), kind=kind)
        sketches = agg._engine.sketch.dense
        computed = []
        real = sketches.quantiles
        sketches.quantiles = lambda qs, rows, runs=None: (computed.append(len(rows)), real(qs, rows, runs))[1]
        everyone = [f"k{i}" for i in range(40)]
        first = batch(everyone, 0)
        snap = agg.update(first).snapshot()
        top = snap.top(3, "count")
        assert top["count"].tolist() == sorted(first["k"].value_counts(), reverse=True)[:3]
        assert top["count"].tolist() == first["k"].value_counts()[top.index].tolist()
        assert computed == [3]  # the 3 rows top built, not the 40 keys
        present = first["k"].unique()
        other = next(k for k in present if k not in top.index)
        one = snap.key(other)
        assert computed == [3, 1]
        assert one["p50"] == pytest.approx(first.loc[first["k"] == other, "v"].quantile(0.5, interpolation="lower"),
                                           rel=0.005)
        second = batch(["k1", "k2"], 10)
        later = agg.update(second).snapshot()
        assert computed == [3, 1]  # the first snapshot has not been read whole yet
        table = snap.table  # read after the second batch: the answer of its own time
        want = first.groupby("k")["v"].quantile(0.99, interpolation="lower")
        np.testing.assert_allclose(table["p99"].to_numpy(), want[table.index].to_numpy(), rtol=0.005)
        assert computed == [3, 1, len(present) - 4]  # every other key, once
        both = pd.concat([first, second])
        table = later.table
        assert computed == [3, 1, len(present) - 4, second["k"].nunique()]  # only k1 and k2 changed since
        want = both.groupby("k")["v"].quantile(0.99, interpolation="lower")
        np.testing.assert_allclose(table["p99"].to_numpy(), want[table.index].to_numpy(), rtol=0.005)


def test_a_snapshot_taken_before_an_eviction_reads_its_own_quantiles_after_it():
    """Keys evicted (renumbered) after a snapshot was taken: its lazy quantiles still come
    from the sketches as they were, as pandas computes them (a reviewer found table, top,
    key and values raising numpy's ValueError here once the cache had been reset)."""
    agg = rtnb.Rolling(window="2s", by="k", value="v", aggs=("count", "p50"), kind="exact")  # (exact evicts)
    agg._evict_min = agg._evict_at = 2  # evict at any size (4,096 keys by default)
    t0 = pd.Timestamp("2024-01-01")
    first = pd.DataFrame({"ts": [t0] * 6, "k": list("abcdef"), "v": np.arange(6.0)})
    agg.update(first)
    snap = agg.snapshot()  # nothing computed yet
    agg._evict_at = 2
    agg.update(pd.DataFrame({"ts": [t0 + pd.Timedelta("10s")] * 2, "k": list("gh"), "v": [1.0, 2.0]}))
    assert len(agg._keys) == 2  # a..f were evicted (no snapshot taken since: it would regrow the cache)
    want = first.groupby("k")["v"].quantile(0.5, interpolation="lower")
    assert snap.key("c")["p50"] == pytest.approx(want["c"], rel=0.01)
    got = snap.table["p50"]
    assert list(got.index) == list("abcdef")
    np.testing.assert_allclose(got.to_numpy(), want.reindex(got.index).to_numpy(), rtol=0.01)
    assert list(snap.top(2, by="p50").index) == ["f", "e"]
    assert set(agg.snapshot().table.index) == {"g", "h"}
