"""The same answers on a Dask cluster as in one process, on a real LocalCluster.

Workers are real processes on loopback (``LocalCluster(processes=True)``); nothing of
Dask is mocked. The cluster is started once per module: starting one costs seconds.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtnb
from rtnb._keytable import top_positions
from tests.conftest import require

try:
    import distributed
except ImportError:  # the 'dask' extra is missing: skipped here, a failure under CI=true
    distributed = None

from rtnb.cluster import DaskRolling, WorkerLost  # noqa: E402


from tests.cluster.conftest import _local_cluster  # noqa: E402  (also the module-scoped client fixture)

T0 = pd.Timestamp("2024-01-01").value


def _events(n: int, keys: int, seed: int, span_s: float = 120.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = T0 + np.sort(rng.integers(0, int(span_s * 1e9), n))
    ts = ts + rng.integers(-2_000_000_000, 2_000_000_000, n)  # disorder, some of it late
    # Keys appear, vanish and return: each key lives in a few stretches of the stream.
    k = rng.integers(0, keys, n)
    k = np.where((np.arange(n) // max(n // 6, 1)) % 2 == 0, k, k % max(keys // 3, 1))
    return pd.DataFrame({"ts": pd.to_datetime(ts, unit="ns"), "key": [f"k{v}" for v in k],
                         "v": rng.gamma(2.0, 10.0, n), "id": rng.integers(0, n, n)})


def _chunks(frame: pd.DataFrame, k: int) -> list[pd.DataFrame]:
    bounds = np.linspace(0, len(frame), k + 1).astype(int)
    return [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _single(options: dict, frames: list[pd.DataFrame]) -> rtnb.Rolling:
    agg = rtnb.Rolling(**options)
    for f in frames:
        agg.update(f)
    return agg


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = a.sort_index(), b.sort_index()
    assert list(a.index) == list(b.index)
    for col in a.columns:
        if col == "count":
            assert a[col].tolist() == b[col].tolist()
        else:
            np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-9, equal_nan=True)


KINDS = {
    "exact": dict(window="30s"),
    "bucketed": dict(window="30s", kind="bucketed", resolution="5s"),
    "tumbling": dict(window="20s", kind="tumbling"),
    "sliding": dict(window="20s", kind="sliding", every="10s"),
    "session": dict(kind="session", gap="3s"),
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 400), keys=st.integers(1, 40),
       cuts=st.lists(st.floats(0, 1), max_size=12), partitions=st.integers(1, 5),
       seed=st.integers(0, 10_000), ids=st.booleans())
def test_partitioned_answers_equal_one_process(client, kind, n, keys, cuts, partitions, seed, ids):
    """Any number of keys (appearing, vanishing, returning), any split into batches,
    any number of partitions: the same table, counters and watermark as one process."""
    events = _events(n, keys, seed)
    options = dict(by="key", value="v", aggs=("count", "sum", "mean", "max", "std"), lateness="1s",
                   **KINDS[kind], id_col="id" if ids else None)
    bounds = sorted({0, n, *(int(c * n) for c in cuts)})
    frames = [events.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    single = _single(options, frames)
    with DaskRolling(client=client, partitions=partitions, checkpoint_every=3, **options) as dr:
        for f in frames:
            dr.update(f)
        _same(dr.value, single.value)
        assert dr.counters == single.counters
        assert dr.watermark == single.watermark
        # the snapshot's reads of a few keys (what the views read) = those of the whole table
        snap, whole = dr.snapshot(), single.value.sort_index(kind="stable")
        assert snap.n_keys == len(whole)
        want = whole.iloc[top_positions(whole["sum"].to_numpy(), 3)]
        assert snap.top(3, "sum").index.tolist() == want.index.tolist()
        if len(whole):
            assert snap.key(whole.index[-1])["count"] == whole["count"].iloc[-1]
        if kind in ("tumbling", "sliding", "session"):
            closed_d = dr.closed_windows()
            closed_s = single.closed_windows()
            assert len(closed_d) == len(closed_s)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["exact", "bucketed", "session"]), n=st.integers(1, 300), keys=st.integers(1, 30),
       cuts=st.lists(st.floats(0, 1), max_size=10), partitions=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_a_snapshot_after_every_batch_equals_one_process(client, kind, n, keys, cuts, partitions, seed):
    """The partitions answer each snapshot with the keys changed since the last one (a
    delta the driver applies to its copy): after every batch, with keys appearing,
    vanishing and returning, the snapshot's table equals the single process's."""
    events = _events(n, keys, seed)
    options = dict(by="key", value="v", aggs=("count", "sum", "mean", "p50"), lateness="1s", **KINDS[kind])
    bounds = sorted({0, n, *(int(c * n) for c in cuts)})
    single = rtnb.Rolling(**options)
    with DaskRolling(client=client, partitions=partitions, **options) as dr:
        for a, b in zip(bounds[:-1], bounds[1:]):
            single.update(events.iloc[a:b])
            dr.update(events.iloc[a:b])
            snap = dr.snapshot()
            _same(snap.table, single.value)
            assert snap.n_keys == len(single.value)
        # nothing new since the last snapshot (no key added, none evicted): every partition
        # answers with a delta, and the driver's copy stays the table
        before = dr.deltas
        _same(dr.snapshot().table, single.value)
        assert dr.deltas - before == partitions


def test_quantiles_equal_one_process(client):
    events = _events(2_000, 30, 7)
    options = dict(window="60s", by="key", value="v", aggs=("count", "p50", "p99"), lateness="1s")
    frames = _chunks(events, 10)
    single = _single(options, frames)
    with DaskRolling(client=client, partitions=3, **options) as dr:
        for f in frames:
            dr.update(f)
        _same(dr.value, single.value)  # the same sketches: identical, not only within the bound


def test_a_snapshot_from_the_cluster_goes_through_a_pipeline(client):
    events = _events(500, 10, 3)
    clock = rtnb.SimClock(start="2024-01-01 00:03")
    import streamz

    batches = streamz.Stream()
    with DaskRolling(client=client, window="60s", by="key", value="v", lateness="1s", clock=clock) as dr:
        pipe = rtnb.Pipeline(batches, aggregate=dr, clock=clock, metric="v")
        for f in _chunks(events, 5):
            batches.emit(f)
        snap = pipe.latest()
        single = _single(dict(window="60s", by="key", value="v", lateness="1s"), _chunks(events, 5))
        _same(snap.table, single.value)
        assert snap.counters.received == 500
        pipe.close()


def _kill_one_worker(client) -> str:
    client.wait_for_workers(2, timeout=120)  # a loaded machine: connected, both workers up
    victim = sorted(client.scheduler_info()["workers"])[0]
    try:
        client.run(os._exit, 1, workers=[victim])
    except Exception:
        pass  # the worker died before answering: that is the point
    return victim


def test_a_killed_worker_is_reported_and_replaced_without_loss():
    cluster = _local_cluster()
    client = distributed.Client(cluster)
    try:
        events = _events(3_000, 25, 11)
        options = dict(window="60s", by="key", value="v", aggs=("count", "sum"), lateness="1s")
        frames = _chunks(events, 30)
        single = _single(options, frames)
        dr = DaskRolling(client=client, partitions=4, checkpoint_every=4, timeout=120, **options)
        for j, f in enumerate(frames):
            if j == 17:
                _kill_one_worker(client)
            dr.update(f)
        _same(dr.value, single.value)
        assert dr.counters == single.counters
        assert dr.recovered >= 1
        assert any("lost" in e for e in dr.errors)
        dr.close()
    finally:
        client.close()
        cluster.close()


def test_a_killed_worker_without_recovery_raises_worker_lost():
    cluster = _local_cluster()
    client = distributed.Client(cluster)
    try:
        events = _events(600, 8, 5)
        dr = DaskRolling(client=client, window="60s", by="key", value="v", recover=False, timeout=120)
        dr.update(events.iloc[:300])
        _kill_one_worker(client)
        with pytest.raises(WorkerLost, match="lost"):
            dr.update(events.iloc[300:])
            dr.value
    finally:
        client.close()
        cluster.close()


def test_bad_parameters_name_themselves(client):
    with pytest.raises(rtnb.ParameterError, match="by"):
        DaskRolling(client=client, window="60s", value="v")
    with pytest.raises(rtnb.ParameterError, match="partitions"):
        DaskRolling(client=client, window="60s", by="k", value="v", partitions=0)
    with pytest.raises(rtnb.ParameterError, match="client"):
        DaskRolling(client=42, window="60s", by="k", value="v")
    with DaskRolling(client=client, window="60s", by="k", value="v") as dr:
        # a batch without the key column: the error names by= and the columns present
        with pytest.raises(rtnb.ParameterError, match=r"by='k'.*missing column 'k'.*present"):
            dr.update(pd.DataFrame({"ts": [1], "v": [1.0]}))
        assert dr.counters.received == 0
