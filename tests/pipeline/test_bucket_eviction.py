"""Bucket windows (bucketed, tumbling, sliding) forget, in bulk, the keys whose window
emptied, as exact windows do: every key-indexed part of the engine is renumbered at
once (the window's totals and sketches, the running min/max, every bucket's parts and
sketch entries, the cached block extremes, the closed windows' keys).

Through evictions, with keys that appear, vanish for longer than the window and
return: the table, closed windows and series equal pandas on the window's rows and the
same Rolling without eviction; export -> load and a merge of evicting partials answer
the same.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import rtnb
from tests.pipeline._oracle import Oracle, aggregate, assert_table_matches, closed_expected, window_rows
from tests.pipeline.test_merge_properties import _cuts, _equals_pandas, _sorted, phase_frame, values

ALL_AGGS = ("count", "sum", "mean", "min", "max", "std", "p50", "p90", "p95", "p99")
NAMES = [f"key{i}" for i in range(40)]
T0 = pd.Timestamp("2024-01-01")
TOL = dict(rtol=1e-9, atol=1e-6, check_dtype=False)

KINDS = st.one_of(
    st.fixed_dictionaries({"kind": st.just("bucketed"), "window": st.sampled_from(["10s", "30s"]),
                           "resolution": st.sampled_from(["1s", "5s"])}),
    st.fixed_dictionaries({"kind": st.just("tumbling"), "window": st.sampled_from(["5s", "10s"])}),
    st.fixed_dictionaries({"kind": st.just("sliding"), "window": st.sampled_from(["6s", "10s"]),
                           "every": st.sampled_from(["2s", "5s"])}).filter(
        lambda c: pd.Timedelta(c["every"]) <= pd.Timedelta(c["window"])),
)


@st.composite
def configs(draw):
    cfg = dict(draw(KINDS))
    # quantiles, min/max and std in most examples: each keeps key-indexed state of its own
    extra = draw(st.lists(st.sampled_from(ALL_AGGS), max_size=3, unique=True))
    base = draw(st.sampled_from([("min", "p50"), ("max", "std", "p99"), ("count",), ("std", "p90", "min")]))
    cfg["aggs"] = tuple(dict.fromkeys((*base, *extra)))
    cfg["value"] = draw(st.sampled_from(["v", ("v", "w")]))
    cfg["by"] = draw(st.sampled_from(["k", ("k", "k2")]))
    cfg["lateness"] = draw(st.sampled_from(["0s", "2s"]))
    cfg["keep_closed"] = draw(st.sampled_from([0, 3, 10_000]))
    return cfg


@st.composite
def churning_rows(draw):
    """Rows in event-time order, in phases; each phase has its own few active keys out of
    40, and the pause before it is sometimes longer than every window: keys vanish (their
    window empties) and some return."""
    frames, t = [], 10_000
    for _ in range(draw(st.integers(2, 6))):
        active = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
        n = draw(st.integers(1, 25))
        t += draw(st.sampled_from([0, 700, 6_000, 35_000, 35_000]))
        frame, t = phase_frame(draw, t, active, n)
        frames.append(frame)
    df = pd.concat(frames, ignore_index=True)
    df["rid"] = np.arange(len(df))
    return df


def _evicting(agg: rtnb.Rolling) -> rtnb.Rolling:
    agg._evict_min = agg._evict_at = 2  # look for emptied keys at any size (4,096 keys by default)
    return agg


def _same_as(agg: rtnb.Rolling, ref: rtnb.Rolling, where: str) -> None:
    """``agg`` answers what ``ref`` (the same rows, no eviction) answers."""
    pd.testing.assert_frame_equal(_sorted(agg.value), _sorted(ref.value), obj=where, **TOL)
    if ref._engine.closes:
        pd.testing.assert_frame_equal(_sorted(agg.closed_windows()), _sorted(ref.closed_windows()),
                                      obj=f"{where} closed", **TOL)
    got, want = agg.series().sort_index(axis=1), ref.series().sort_index(axis=1)
    # one column per key held: the evicted keys' columns are the ones with no row
    gone = want.columns.difference(got.columns)
    assert got.columns.isin(want.columns).all(), where
    assert (want[gone].fillna(0) == 0).all().all(), where
    pd.testing.assert_frame_equal(got, want[got.columns], obj=f"{where} series", **TOL)


def _equals_pandas_kept(agg: rtnb.Rolling, oracle: Oracle, cfg: dict, where: str) -> None:
    """The table and the closed windows kept (the newest ``keep_closed``) equal pandas."""
    if cfg["kind"] == "bucketed" or cfg["keep_closed"] == 10_000:
        _equals_pandas(agg, oracle, cfg, where)
        return
    keep = cfg["keep_closed"]
    size, hop = pd.Timedelta(cfg["window"]), pd.Timedelta(cfg.get("every", cfg["window"]))
    res = size if cfg["kind"] == "tumbling" else pd.Timedelta("1s")
    by, measures = _by(cfg), _meas(cfg)
    rows = oracle.frame(["ts", "k", "k2", "v", "w", "rid"])
    if oracle.wm is None:
        return
    want = aggregate(window_rows(rows, oracle.wm, cfg["kind"], size, res, hop), by, measures, cfg["aggs"])
    assert_table_matches(agg.value, want, where=where)
    closed = closed_expected(rows, oracle.wm - pd.Timedelta(cfg["lateness"]), size, hop, by, measures, cfg["aggs"])
    starts = sorted({start for start, _ in closed})[-keep:] if keep else []
    want = {(start, *key) if isinstance(key, tuple) else (start, key): cols
            for (start, key), cols in closed.items() if start in starts}
    got = agg.closed_windows().drop(columns=["window_end"])
    assert_table_matches(got, want, where=f"{where} closed")


def _by(cfg) -> list[str]:
    return [cfg["by"]] if isinstance(cfg["by"], str) else list(cfg["by"])


def _meas(cfg) -> list[str]:
    return [cfg["value"]] if isinstance(cfg["value"], str) else list(cfg["value"])


SETTINGS = settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(configs(), st.data())
def test_bucket_windows_that_evict_keys_equal_pandas_and_the_run_that_keeps_them(cfg, data):
    df = data.draw(churning_rows())
    batches = _cuts(data.draw, len(df))
    agg = _evicting(rtnb.Rolling(**cfg))
    ref = rtnb.Rolling(**cfg)
    ref._evict_min = ref._evict_at = 1 << 62
    oracle = Oracle(pd.Timedelta(cfg["lateness"]))
    for a, b in batches:
        batch = df.iloc[a:b]
        agg.update(batch)
        ref.update(batch)
        oracle.feed(batch)
        where = f"rows {a}:{b}"
        _equals_pandas_kept(agg, oracle, cfg, where)
        _same_as(agg, ref, where)
        assert len(agg._keys) <= len(ref._keys), where
    event("keys evicted" if len(agg._keys) < len(ref._keys) else "no key evicted at the end")
    # export -> load answers the same, and goes on as the original
    again = _evicting(rtnb.Rolling.from_state(agg.export_state()))
    _same_as(again, ref, "loaded")
    more = df.iloc[-3:].assign(ts=df["ts"].iloc[-1] + pd.Timedelta("40s"))
    for x in (again, agg, ref):
        x.update(more)
    _same_as(again, ref, "loaded, then fed")
    _same_as(agg, ref, "fed")


@SETTINGS
@given(configs(), st.data())
def test_evicting_partials_exported_loaded_and_merged_equal_the_single_run_and_pandas(cfg, data):
    df = data.draw(churning_rows())
    n_parts = data.draw(st.integers(2, 3))
    side = np.array(data.draw(st.lists(st.integers(0, n_parts - 1), min_size=len(df), max_size=len(df))))
    batches = _cuts(data.draw, len(df))
    cut = data.draw(st.integers(1, len(batches)))
    whole = rtnb.Rolling(**cfg)
    oracle = Oracle(pd.Timedelta(cfg["lateness"]))
    partials = [_evicting(rtnb.Rolling(**cfg)) for _ in range(n_parts)]
    for a, b in batches[:cut]:  # rows in event-time order: no partial accepts a row late for the whole
        batch = df.iloc[a:b]
        whole.update(batch)
        oracle.feed(batch)
        for p, agg in enumerate(partials):
            if (side[a:b] == p).any():
                agg.update(batch[side[a:b] == p])
    loaded = [rtnb.Rolling.from_state(p.export_state()) for p in partials]
    merged = _evicting(functools.reduce(lambda x, y: x + y, loaded))
    _equals_pandas_kept(merged, oracle, cfg, "merged")
    _same_as(merged, whole, "merged")
    for a, b in batches[cut:]:
        batch = df.iloc[a:b]
        whole.update(batch)
        merged.update(batch)
        oracle.feed(batch)
        _same_as(merged, whole, f"merged, then rows {a}:{b}")
    _equals_pandas_kept(merged, oracle, cfg, "merged, at the end")


def _keys_that_never_return(seconds: int, per_second: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = seconds * per_second
    ts = T0.value + (np.arange(n) * (1e9 / per_second)).astype(np.int64)
    return pd.DataFrame({"ts": ts.view("datetime64[ns]"),
                         "k": pd.array([f"s{i // 3}" for i in range(n)], dtype="str"),  # 3 rows a key
                         "v": rng.lognormal(2, 1, n)})


def test_bucketed_keys_that_never_return_are_evicted_and_the_answers_stay_exact():
    aggs = ("count", "sum", "mean", "min", "max", "std", "p50", "p99")
    df = _keys_that_never_return(120, 300)  # 12,000 keys, ~1,000 live in a 10 s window
    agg = rtnb.Rolling("10s", by="k", value="v", aggs=aggs, kind="bucketed", resolution="1s")
    held = []
    for i in range(0, len(df), 1000):
        agg.update(df.iloc[i : i + 1000])
        held.append(len(agg._keys))
    assert max(held) < 2 * 4096 + 1000 < 12_000  # emptied keys went, in bulk, from 4,096 keys on
    assert agg._engine.totals.keys < 12_000 and agg._engine.run_mn.shape[0] < 12_000
    wm = df["ts"].max()
    want = aggregate(window_rows(df.assign(k=df["k"].astype(object)), wm, "bucketed", pd.Timedelta("10s"),
                                 pd.Timedelta("1s")), ["k"], ["v"], aggs)
    table = agg.value
    table.index = table.index.astype(object)
    assert_table_matches(table, want)
    assert len(table) == len(want)
    again = rtnb.Rolling.from_state(agg.export_state())
    pd.testing.assert_frame_equal(again.value, agg.value)


def test_sliding_windows_evict_keys_once_no_window_kept_reads_them():
    df = _keys_that_never_return(200, 60)  # 4,000 keys in all
    agg = _evicting(rtnb.Rolling("6s", by="k", value="v", aggs=("count", "max", "p50"), kind="sliding",
                                 every="2s", keep_closed=4))
    for i in range(0, len(df), 500):
        agg.update(df.iloc[i : i + 500])
    closed = agg.closed_windows()
    assert len(closed.index.get_level_values("window_start").unique()) == 4
    # keys held: the open window's, the buckets kept for windows to close, the 4 closed
    # windows' (~250 keys), within 4x of them as the bulk eviction goes; 4,000 without
    assert len(agg._keys) < 2000
    horizon = agg.watermark
    rows = df.assign(k=df["k"].astype(object))
    want = aggregate(window_rows(rows, rows["ts"].max(), "sliding", pd.Timedelta("6s"), hop=pd.Timedelta("2s")),
                     ["k"], ["v"], ("count", "max", "p50"))
    table = agg.value
    table.index = table.index.astype(object)
    assert_table_matches(table, want)
    for (start, key), row in closed.iterrows():
        inside = rows[(rows["ts"] >= start) & (rows["ts"] < start + pd.Timedelta("6s")) & (rows["k"] == key)]
        assert row["count"] == len(inside) and row["max"] == inside["v"].max(), (start, key)
        assert row["window_end"] <= horizon
