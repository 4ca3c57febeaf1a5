"""The project's core check: streaming aggregates equal a pandas recomputation.

For random events, random batch splits, random disorder (within and beyond the
lateness) and injected duplicates, after EVERY batch and for every window kind: the
table equals pandas on the accepted rows of the documented window; late rows are
exactly those older than W - lateness when they arrived; counters are conserved; and
closed windows / sessions equal pandas too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtnb
from tests.pipeline._oracle import Oracle, aggregate, assert_table_matches, window_rows

ALL_AGGS = ("count", "sum", "mean", "min", "max", "std", "p50", "p90", "p95", "p99")
T0 = pd.Timestamp("2024-01-01")
SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

values = st.one_of(
    st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False),
    st.integers(-50, 50).map(float),
    st.sampled_from([0.0, 1.0, -1.0, 0.1, 1e-3]),
)


@st.composite
def streams(draw, with_ids: bool = False):
    """Rows in arrival order, split into batches; event time = arrival minus a delay."""
    n = draw(st.integers(1, 60))
    gaps = draw(st.lists(st.integers(0, 4000), min_size=n, max_size=n))  # ms
    arrival = np.cumsum(gaps)
    delays = np.array(draw(st.lists(st.integers(0, 6000), min_size=n, max_size=n)))
    ts = T0 + pd.to_timedelta(arrival - delays + 10_000, unit="ms")
    keys = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    keys2 = draw(st.lists(st.sampled_from([1, 2]), min_size=n, max_size=n))
    v1 = draw(st.lists(values, min_size=n, max_size=n))
    v2 = draw(st.lists(values, min_size=n, max_size=n))
    df = pd.DataFrame({"ts": ts.astype("datetime64[ns]"), "k": keys, "k2": keys2,
                       "v": v1, "w": v2, "rid": np.arange(n)})
    if with_ids:
        df["id"] = np.arange(n)
        dup_of = draw(st.lists(st.integers(0, n - 1), max_size=n // 2 + 1))
        extra = df.iloc[dup_of].copy()
        extra["rid"] = np.arange(n, n + len(extra))
        pos = draw(st.lists(st.integers(0, n + len(extra)), min_size=len(extra), max_size=len(extra)))
        df = pd.concat([df, extra])
        order = np.argsort(np.r_[np.arange(n) * 2.0, np.array(pos) * 2.0 + 1], kind="stable")
        df = df.iloc[order].reset_index(drop=True)
    cuts = sorted(set(draw(st.lists(st.integers(1, max(len(df) - 1, 1)), max_size=6))))
    bounds = [0, *cuts, len(df)]
    batches = [df.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    return batches


configs = st.one_of(
    st.fixed_dictionaries({"kind": st.just("exact"), "window": st.sampled_from(["3s", "10s", "30s"])}),
    st.fixed_dictionaries({"kind": st.just("bucketed"),
                           "window": st.sampled_from(["10s", "30s"]),
                           "resolution": st.sampled_from(["1s", "5s"])}),
    st.fixed_dictionaries({"kind": st.just("tumbling"), "window": st.sampled_from(["5s", "10s"])}),
    st.fixed_dictionaries({"kind": st.just("sliding"), "window": st.sampled_from(["10s", "20s"]),
                           "every": st.sampled_from(["2s", "5s", "4s"])}),
)


def _by(draw_by):
    return {"none": None, "one": "k", "two": ["k", "k2"]}[draw_by]


@SETTINGS
@given(streams(), configs, st.sampled_from(["0s", "2s", "3500ms"]),
       st.sampled_from(["none", "one", "two"]), st.booleans(),
       st.lists(st.sampled_from(ALL_AGGS), min_size=1, max_size=4, unique=True))
def test_every_window_kind_equals_pandas_after_every_batch(batches, cfg, lateness, by, two, aggs):
    measures = ["v", "w"] if two else ["v"]
    keys = [] if _by(by) is None else ([_by(by)] if isinstance(_by(by), str) else _by(by))
    agg = rtnb.Rolling(by=_by(by), value=measures if two else "v", aggs=tuple(aggs),
                       lateness=lateness, keep_late=10_000, **cfg)
    oracle = Oracle(pd.Timedelta(lateness))
    size = pd.Timedelta(cfg["window"])
    res = pd.Timedelta(cfg.get("resolution", cfg["window"] if cfg["kind"] == "tumbling" else "1s"))
    hop = pd.Timedelta(cfg["every"]) if "every" in cfg else None
    for i, batch in enumerate(batches):
        agg.update(batch)
        oracle.feed(batch)
        snap = agg.snapshot()
        c = snap.counters
        assert c.conserved and c.received == oracle.received
        assert c.accepted == len(oracle.accepted) and c.late == len(oracle.late)
        assert snap.newest_event == oracle.wm
        rows = oracle.frame(batch.columns)
        want = aggregate(window_rows(rows, oracle.wm, cfg["kind"], size, res, hop), keys, measures, aggs) \
            if oracle.wm is not None else {}
        assert_table_matches(snap.table, want, where=f"batch {i} {cfg}")
    late = agg.late_rows
    assert sorted(late["rid"].tolist() if len(late) else []) == sorted(r["rid"] for r in oracle.late)


@settings(SETTINGS, max_examples=30)
@given(streams(with_ids=True), st.sampled_from(["0s", "2s"]))
def test_duplicates_dropped_and_counted_like_row_by_row(batches, lateness):
    agg = rtnb.Rolling(window="20s", by="k", value="v", aggs=("count", "sum"), lateness=lateness,
                       id_col="id")
    oracle = Oracle(pd.Timedelta(lateness), id_col="id")
    for batch in batches:
        agg.update(batch)
        oracle.feed(batch)
        c = agg.counters
        assert c.conserved
        assert (c.accepted, c.late, c.duplicates) == (len(oracle.accepted), len(oracle.late), oracle.dups)
        rows = oracle.frame(batch.columns)
        want = aggregate(window_rows(rows, oracle.wm, "exact", pd.Timedelta("20s")), ["k"], ["v"],
                         ("count", "sum")) if oracle.wm is not None else {}
        assert_table_matches(agg.value, want)


def _sessions(rows: pd.DataFrame, gap: pd.Timedelta):
    out = []
    for key, g in rows.sort_values("ts", kind="stable").groupby("k", sort=False):
        sid = (g["ts"].diff() > gap).cumsum()
        for _, s in g.groupby(sid):
            out.append((key, s["ts"].min(), s["ts"].max(), s))
    return out


@settings(SETTINGS, max_examples=25)
@given(streams(), st.sampled_from(["1s", "3s", "10s"]), st.sampled_from(["0s", "2s"]),
       st.lists(st.sampled_from(ALL_AGGS), min_size=1, max_size=4, unique=True))
def test_sessions_equal_pandas_after_every_batch(batches, gap, lateness, aggs):
    g, lat = pd.Timedelta(gap), pd.Timedelta(lateness)
    agg = rtnb.Rolling(kind="session", gap=gap, by="k", value="v", aggs=tuple(aggs),
                       lateness=lateness, keep_closed=10_000)
    oracle = Oracle(lat)
    for batch in batches:
        agg.update(batch)
        oracle.feed(batch)
        rows = oracle.frame(batch.columns)
        sessions = _sessions(rows, g)
        horizon = oracle.wm - lat
        open_latest = {}
        for key, start, end, s in sessions:
            if end + g >= horizon and (key not in open_latest or start > open_latest[key][0]):
                open_latest[key] = (start, end, s)
        table = agg.value
        want = {}
        for key, (start, end, s) in open_latest.items():
            want.update(aggregate(s, ["k"], ["v"], aggs))
            assert table.loc[key, "window_start"] == start and table.loc[key, "window_end"] == end
        assert_table_matches(table.drop(columns=["window_start", "window_end"]), want)
        closed = agg.closed_windows()
        want_closed = sorted((start, key) for key, start, end, s in sessions if end + g < horizon)
        got_closed = sorted((s, k) for s, k in closed.index) if len(closed) else []
        assert got_closed == want_closed
        for key, start, end, s in sessions:
            if end + g < horizon:
                row = closed.loc[(start, key)]
                assert row["window_end"] == end
                assert_table_matches(row.drop("window_end").to_frame().T.set_axis([key]).rename_axis("k"),
                                     aggregate(s, ["k"], ["v"], aggs))


@settings(SETTINGS, max_examples=15)
@given(streams(), st.sampled_from([("tumbling", "5s", None), ("sliding", "10s", "5s"),
                                   ("sliding", "6s", "2s"), ("sliding", "10s", "4s")]),
       st.sampled_from(["0s", "2s"]))
def test_closed_tumbling_and_sliding_windows_equal_pandas(batches, spec, lateness):
    kind, window, every = spec
    size, lat = pd.Timedelta(window), pd.Timedelta(lateness)
    hop = pd.Timedelta(every) if every else size
    opts = {"every": every} if every else {}
    agg = rtnb.Rolling(window=window, kind=kind, by="k", value="v", aggs=("count", "sum", "max", "p50"),
                       lateness=lateness, keep_closed=10_000, **opts)
    oracle = Oracle(lat)
    for batch in batches:
        agg.update(batch)
        oracle.feed(batch)
    rows = oracle.frame(batches[0].columns)
    horizon = oracle.wm - lat
    first = (rows["ts"].min().value - size.value) // hop.value + 1
    want = {}
    k = first
    while k * hop.value + size.value <= horizon.value:
        start = pd.Timestamp(k * hop.value)
        inside = rows[(rows["ts"] >= start) & (rows["ts"] < start + size)]
        for key, cols in aggregate(inside, ["k"], ["v"], ("count", "sum", "max", "p50")).items():
            want[(start, key)] = cols
        k += 1
    closed = agg.closed_windows()
    got = set(closed.index) if len(closed) else set()
    assert got == set(want)
    for (start, key), cols in want.items():
        row = closed.loc[(start, key)]
        assert row["window_end"] == start + size
        assert_table_matches(row.drop("window_end").to_frame().T.set_axis([key]).rename_axis("k"),
                             {key: cols})
