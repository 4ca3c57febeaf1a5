"""A partition's replies: a delta applied to the driver's copy gives exactly the whole table,
whatever keys appear, vanish and return, and whatever replies get lost on the way
(no cluster needed: the worker's Replier and the driver's absorb, on a real Rolling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import rtnb
from rtnb.cluster._partial import Delta, Part, Replier, absorb

T0 = pd.Timestamp("2024-01-01").value

KINDS = {
    "exact": dict(window="20s", aggs=("count", "sum", "mean", "std", "max", "p50")),
    "bucketed": dict(window="20s", kind="bucketed", resolution="5s", aggs=("count", "sum", "min", "p95")),
    "tumbling": dict(window="20s", kind="tumbling", aggs=("count", "sum")),
    "session": dict(kind="session", gap="3s", aggs=("count", "mean")),
}


def _batches(n: int, keys: int, seed: int, cuts: list[float]) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ts = T0 + np.sort(rng.integers(0, 90_000_000_000, n))
    k = rng.integers(0, keys, n)
    # keys appear, vanish (the window moves past them) and return: stretches of the stream use few keys
    k = np.where((np.arange(n) // max(n // 5, 1)) % 2 == 0, k, k % max(keys // 4, 1))
    v = np.round(rng.gamma(2.0, 10.0, n), 1)  # repeated values: rows that change a key's row only a little
    frame = pd.DataFrame({"ts": pd.to_datetime(ts, unit="ns"), "key": [f"k{x}" for x in k], "v": v})
    bounds = sorted({0, n, *(int(c * n) for c in cuts)})
    return [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _equal(held: Part, agg: rtnb.Rolling) -> None:
    pd.testing.assert_frame_equal(held.frame(), agg.value, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 300), keys=st.integers(1, 30),
       cuts=st.lists(st.floats(0, 1), max_size=15), seed=st.integers(0, 10_000),
       fate=st.lists(st.sampled_from(["kept", "kept", "kept", "lost", "stale"]), min_size=16, max_size=16))
def test_deltas_rebuild_the_whole_table_through_lost_and_stale_replies(kind, n, keys, cuts, seed, fate):
    """After every batch the driver's copy, kept up by deltas, equals the partition's table
    bit for bit: keys that appear, vanish and return; a reply lost on the way (never
    applied) or a request naming an older reply makes the next one whole, never wrong."""
    agg = rtnb.Rolling(by="key", value="v", lateness="1s", **KINDS[kind])
    replier, held = Replier(), None
    for j, batch in enumerate(_batches(n, keys, seed, cuts)):
        agg.update(batch)
        have = -1 if held is None else held.number
        if fate[j % len(fate)] == "stale" and held is not None:
            have -= 1  # the driver names an older reply than the one the worker sent last
        reply = replier.reply(agg, seq=j, have=have)
        if isinstance(reply, Delta):
            assert reply.base == have == replier.number - 1
        if fate[j % len(fate)] == "lost":
            continue  # never reached the driver
        held = absorb(held, reply)
        if held.number == reply.number:
            _equal(held, agg)
    if held is not None:  # one more request: whatever was lost, the copy is whole again
        held = absorb(held, replier.reply(agg, seq=-1, have=held.number))
        _equal(held, agg)


def test_a_delta_carries_only_the_keys_that_changed_and_those_that_left():
    ts = pd.to_datetime(["2024-01-01 00:00:01", "2024-01-01 00:00:02", "2024-01-01 00:00:40"]).as_unit("ns")
    agg = rtnb.Rolling("30s", by="key", value="v", aggs=("count", "sum"), lateness="1s")
    agg.update(pd.DataFrame({"ts": ts[:2], "key": ["a", "b"], "v": [1.0, 2.0]}))
    replier = Replier()
    first = replier.reply(agg, seq=0, have=-1)
    assert isinstance(first, Part) and first.labels.tolist() == ["a", "b"]
    same = replier.reply(agg, seq=0, have=first.number)  # nothing changed: an empty delta
    assert isinstance(same, Delta) and len(same) == 0 and same.gone.size == 0
    held = absorb(absorb(first, same), same)  # a delta applies once: the second is against another reply
    assert held.number == same.number
    agg.update(pd.DataFrame({"ts": ts[2:], "key": ["c"], "v": [5.0]}))  # a and b leave the window
    delta = replier.reply(agg, seq=1, have=held.number)
    assert isinstance(delta, Delta) and delta.labels.tolist() == ["c"] and delta.gone.size == 2
    held = absorb(held, delta)
    _equal(held, agg)
    agg.update(pd.DataFrame({"ts": ts[2:], "key": ["a"], "v": [1.0]}))  # a returns
    held = absorb(held, replier.reply(agg, seq=2, have=held.number))
    assert held.labels.tolist() == ["a", "c"]
    _equal(held, agg)


def test_an_eviction_renumbers_the_keys_and_the_next_reply_is_whole():
    n = 5_000  # over Rolling's eviction threshold (4,096 keys)
    ts = pd.Series(pd.to_datetime(T0 + np.arange(n) * 1_000_000, unit="ns"))
    agg = rtnb.Rolling("1s", by="key", value="v", aggs=("count", "sum"), lateness="0s")
    agg.update(pd.DataFrame({"ts": ts, "key": [f"old{i}" for i in range(n)], "v": 1.0}))
    replier = Replier()
    held = replier.reply(agg, seq=0, have=-1)
    later = ts + pd.Timedelta("1h")  # every old key leaves the window; as many new ones come
    agg.update(pd.DataFrame({"ts": later, "key": [f"new{i}" for i in range(n)], "v": 2.0}))
    reply = replier.reply(agg, seq=1, have=held.number)
    assert isinstance(reply, Part)  # codes were renumbered: a delta would name other keys
    held = absorb(held, reply)
    _equal(held, agg)
