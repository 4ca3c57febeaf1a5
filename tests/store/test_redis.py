"""RedisStore against a real redis-server: contract, atomicity, a second reader, outages."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rtnb import Counters, ParameterError, SimClock, Snapshot, StoreError, UnknownNameError
from rtnb.store import MemoryStore, Store
from rtnb.codec import decode_snapshot
from rtnb.store.redis import HistoryGap, RedisStore
from tests.conftest import assert_same

T0 = pd.Timestamp("2024-01-01 09:00")


def snap(i: int, metric: str = "orders", keys=("FR", "DE"), **kw) -> Snapshot:
    """The i-th snapshot of a metric: counts grow by one per snapshot and key."""
    table = pd.DataFrame(
        {"count": np.arange(len(keys), dtype="int64") + i,
         "mean": np.linspace(1.0, 2.0, len(keys)) * i},
        index=pd.Index(list(keys), name="country"),
    )
    return Snapshot(
        metric=metric, table=table, window=pd.Timedelta("60s"),
        watermark=T0 + pd.Timedelta(seconds=i - 1),
        newest_event=T0 + pd.Timedelta(seconds=i),
        processed_at=T0 + pd.Timedelta(seconds=i, milliseconds=500),
        counters=Counters(received=i, accepted=i), version=i, **kw,
    )


# ------------------------------------------------------------------ configuration


def test_unreachable_server_is_a_clear_error_naming_host_and_port(redis_server):
    port = redis_server.port
    redis_server.stop()
    with pytest.raises(StoreError, match=f"cannot reach Redis at 127.0.0.1:{port}"):
        RedisStore(redis_server.url)


@pytest.mark.parametrize("kw, param", [
    ({"history": 0}, "history"), ({"history": 2.5}, "history"),
    ({"prefix": ""}, "prefix"), ({"timeout": 0}, "timeout"),
    ({"retry_every": "soon"}, "retry_every"),
])
def test_invalid_parameters_name_the_parameter(kw, param):
    with pytest.raises(ParameterError) as err:
        RedisStore("redis://127.0.0.1:1/0", **kw)
    assert err.value.param == param


def test_a_non_redis_url_is_a_parameter_error():
    with pytest.raises(ParameterError, match="url='http://x'"):
        RedisStore("http://x")


# ------------------------------------------------------------------ the store contract


def test_put_latest_version_metrics(redis_server):
    store = RedisStore(redis_server.url, prefix="t")
    assert store.latest("orders") is None and store.version("orders") == 0
    assert store.metrics() == []
    for i in range(1, 4):
        store.put(snap(i))
    store.put(snap(1, metric="signups"))
    assert_same(store.latest("orders"), snap(3))
    assert store.version("orders") == 3 and store.version("signups") == 1
    assert store.metrics() == ["orders", "signups"]
    assert store.writes == 4 and store.up and store.status == "up"


def test_history_is_bounded_and_indexed_by_newest_event(redis_server):
    store = RedisStore(redis_server.url, prefix="t", history=5)
    for i in range(1, 9):
        store.put(snap(i))
    h = store.history("orders", "count")
    assert list(h.index) == [T0 + pd.Timedelta(seconds=i) for i in range(4, 9)]
    assert h.index.dtype == "datetime64[ns]"
    assert list(h.columns) == ["DE", "FR"] and h.columns.name == "country"
    assert h["FR"].tolist() == [4, 5, 6, 7, 8] and h["DE"].tolist() == [5, 6, 7, 8, 9]
    # trimmed on write: the server itself holds only `history` entries
    assert store._client.xlen("t:m:orders:history") == 5


def test_history_reader_fetches_new_entries_and_follows_trimming(redis_server):
    writer = RedisStore(redis_server.url, prefix="t", history=4)
    reader = RedisStore(redis_server.url, prefix="t", history=4)
    writer.put(snap(1))
    writer.put(snap(2, keys=("FR",)))
    h = reader.history("orders", "mean")
    assert h.shape == (2, 2) and np.isnan(h.loc[T0 + pd.Timedelta(seconds=2), "DE"])
    for i in range(3, 8):
        writer.put(snap(i))
    h = reader.history("orders", "count")
    assert h["FR"].tolist() == [4, 5, 6, 7]
    with pytest.raises(UnknownNameError, match="'no_such_column' is unknown"):
        reader.history("orders", "no_such_column")
    assert reader.history("no_such_metric", "count").empty


def test_follows_the_store_contract_exactly_like_memory_store(redis_server):
    """The same puts give the same answers from Redis and from memory."""
    redis_store = RedisStore(redis_server.url, prefix="t", history=4)
    memory = MemoryStore(history=4)
    assert isinstance(redis_store, Store)
    same_time = dataclasses.replace(snap(3), table=snap(30).table, version=4)
    no_event = dataclasses.replace(snap(1), newest_event=None, metric="signups")
    for s in [snap(1), snap(2, keys=("FR", "IT")), snap(3), same_time, no_event,
              snap(4, keys=("DE",)), snap(5), snap(6)]:
        redis_store.put(s)
        memory.put(s)
        for column in ("count", "mean"):
            pd.testing.assert_frame_equal(redis_store.history("orders", column),
                                          memory.history("orders", column))
        assert redis_store.metrics() == memory.metrics()
        for m in memory.metrics():
            assert redis_store.version(m) == memory.version(m)
            assert_same(redis_store.latest(m), memory.latest(m))
    pd.testing.assert_frame_equal(redis_store.history("signups", "count"),
                                  memory.history("signups", "count"))
    # a fresh reader (no cache) agrees too, and a replaced entry was replaced on the server
    fresh = RedisStore(redis_server.url, prefix="t", history=4)
    pd.testing.assert_frame_equal(fresh.history("orders", "count"),
                                  memory.history("orders", "count"))
    assert redis_store._client.xlen("t:m:orders:history") == 4


def test_reads_and_writes_after_close_raise(redis_server):
    store = RedisStore(redis_server.url, prefix="t")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.latest("orders")
    with pytest.raises(StoreError, match="closed"):
        store.put(snap(1))


def test_another_process_reads_what_a_pipeline_wrote(redis_server):
    store = RedisStore(redis_server.url, prefix="shared")
    store.put(snap(5))
    code = (
        "from rtnb.store.redis import RedisStore\n"
        f"s = RedisStore({redis_server.url!r}, prefix='shared')\n"
        "snap = s.latest('orders')\n"
        "print(s.version('orders'), snap.version, snap.table.loc['DE', 'count'],"
        " s.history('orders', 'count')['FR'].tolist())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.split() == ["1", "5", "6", "[5.0]"]


def test_one_put_is_one_round_trip_and_readers_never_see_a_mix(redis_server):
    store = RedisStore(redis_server.url, prefix="t")
    store.put(snap(1))
    store._client.execute_command("CLIENT", "SETNAME", "writer")
    before = _calls(store)
    store.put(snap(2))
    calls = _calls(store) - before
    # MULTI, SET latest, SET version, XADD, SADD, EXEC: one pipelined transaction
    assert calls["multi"] == 1 and calls["exec"] == 1
    assert_same(decode_snapshot(store._client.get("t:m:orders:latest")), snap(2))


def _calls(store: RedisStore) -> pd.Series:
    stats = store._client.info("commandstats")
    return pd.Series({k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()},
                     dtype="int64").reindex(["multi", "exec"], fill_value=0)


def test_a_writer_restarting_continues_the_version(redis_server):
    RedisStore(redis_server.url, prefix="t").put(snap(1))
    again = RedisStore(redis_server.url, prefix="t")
    again.put(snap(2))
    assert again.version("orders") == 2


def test_put_refuses_what_is_not_a_snapshot(redis_server):
    store = RedisStore(redis_server.url, prefix="t")
    with pytest.raises(ParameterError, match="snapshot"):
        store.put({"count": 3})


def test_clear_removes_only_this_prefix(redis_server):
    a = RedisStore(redis_server.url, prefix="a")
    b = RedisStore(redis_server.url, prefix="b")
    a.put(snap(1))
    b.put(snap(1))
    a.clear()
    assert a.metrics() == [] and b.metrics() == ["orders"]
    redis_server.stop()
    with pytest.raises(StoreError, match="cannot clear a:"):
        a.clear()


# ------------------------------------------------------------------ outages


def timed_store(url: str, **kw) -> tuple[RedisStore, Any]:
    """A store on a simulated clock and a ``put`` that moves the clock to each
    snapshot's processing time first (as a pipeline on the same clock does)."""
    clock = SimClock(start=T0)
    store = RedisStore(url, clock=clock, **kw)

    def put(s: Snapshot) -> None:
        clock.advance_to(s.processed_at)
        store.put(s)

    return store, put


def test_redis_dropping_mid_run_loses_nothing_and_resumes(redis_server):
    store, put = timed_store(redis_server.url, prefix="t", history=50, retry_every="2.5s")
    for i in range(1, 4):
        put(snap(i))
    redis_server.stop()

    put(snap(4))                            # no crash: marked down, snapshot kept
    assert not store.up and store.status == "down"
    assert "ConnectionError" in store.last_error
    assert store.down_since == snap(4).processed_at
    assert store.failed_writes == 1 and store.pending == 1
    trips = store.round_trips
    put(snap(5))                            # within retry_every: not even tried
    assert store.failed_writes == 2
    # a dashboard in this process still reads the latest pipeline state, without
    # asking the down server (reads honour retry_every too)
    assert_same(store.latest("orders"), snap(5))
    assert store.version("orders") == 5
    assert store.round_trips == trips

    redis_server.start()                    # back, empty (no persistence)
    put(snap(6))                            # 2 s after the failed attempt: not yet
    assert not store.up
    put(snap(7))                            # 3 s after: retried, everything written
    assert store.up and store.status == "up" and store.reconnects == 1
    assert store.pending == 0 and store.restarts == 1

    reader = RedisStore(redis_server.url, prefix="t")
    assert_same(reader.latest("orders"), snap(7))
    assert reader.version("orders") == 7
    # the snapshots put during the outage were buffered and written on resume
    assert reader.history("orders", "count")["FR"].tolist() == [4, 5, 6, 7]
    # what the server lost when it restarted empty is noted, here and for readers
    gaps = reader.history_gaps("orders")
    assert len(gaps) == 1 and "restarted" in gaps[0].reason
    # the 3 entries written before the outage are the ones the restart lost
    assert gaps[0].missed == 3 and gaps[0].end == snap(3).newest_event
    assert store.gaps == gaps


def test_outage_longer_than_the_history_buffer_notes_the_gap(redis_server):
    store, put = timed_store(redis_server.url, prefix="t", history=3, retry_every=0)
    put(snap(1))
    redis_server.stop()
    for i in range(2, 8):
        put(snap(i))
    assert store.failed_writes == 6
    redis_server.start()
    put(snap(8))
    assert store.up
    h = store.history("orders", "count")
    assert h["FR"].tolist() == [6, 7, 8]
    overflow = [g for g in store.history_gaps("orders") if "buffer" in g.reason]
    assert overflow == [HistoryGap(metric="orders", start=snap(2).newest_event,
                                   end=snap(5).newest_event, missed=4,
                                   reason="Redis was down longer than the history buffer")]


def test_retry_writes_pending_snapshots_without_a_new_put(redis_server):
    store = RedisStore(redis_server.url, prefix="t")
    store.put(snap(1))
    redis_server.stop()
    store.put(snap(2))
    assert store.retry(snap(2).processed_at) is False
    redis_server.start()
    assert store.retry(snap(3).processed_at) is True
    assert_same(RedisStore(redis_server.url, prefix="t").latest("orders"), snap(2))


def test_reads_during_an_outage_answer_from_what_this_process_knows(redis_server):
    reader = RedisStore(redis_server.url, prefix="t", read_every=0)
    writer = RedisStore(redis_server.url, prefix="t")
    writer.put(snap(1))
    writer.put(snap(2))
    assert reader.version("orders") == 2 and reader.latest("orders").version == 2
    assert reader.history("orders", "count")["FR"].tolist() == [1, 2]
    redis_server.stop()
    # a reader keeps its last answers (a view keeps drawing them; its badge ages)
    assert_same(reader.latest("orders"), snap(2))
    assert not reader.up and reader.status == "down"
    assert reader.version("orders") == 2
    assert reader.history("orders", "count")["FR"].tolist() == [1, 2]
    assert reader.latest("never_read") is None and reader.metrics() == []


def test_local_server_stops_and_starts_again_on_the_same_port(redis_server):
    port, pid = redis_server.port, redis_server.pid
    redis_server.stop()
    assert redis_server.pid is None and "stopped" in repr(redis_server)
    redis_server.start()
    assert redis_server.port == port and redis_server.pid != pid
    RedisStore(redis_server.url).put(snap(1))


def test_a_successful_read_brings_the_store_back_and_writes_what_is_pending(redis_server):
    store, put = timed_store(redis_server.url, prefix="t", retry_every="1h")
    put(snap(1))
    redis_server.stop()
    put(snap(2))
    assert store.latest("orders").version == 2 and not store.up
    redis_server.start()
    store.clock.advance("1h")
    assert store.version("orders") == 2      # the read works: pending writes go out
    assert store.up and store.pending == 0
    assert_same(RedisStore(redis_server.url, prefix="t").latest("orders"), snap(2))


@pytest.mark.parametrize("make_index", [
    lambda keys: pd.Index(list(keys), name="country"),                       # str keys
    lambda keys: pd.Index([np.nan if k == "IT" else k for k in keys], name="country"),  # a NaN key
    lambda keys: pd.Index([len(k) * 10 + ord(k[0]) for k in keys], name="id"),  # int keys
    lambda keys: pd.MultiIndex.from_arrays([list(keys), [k.lower() for k in keys]],
                                           names=["country", "lang"]),
    lambda keys: pd.CategoricalIndex(list(keys), categories=["DE", "FR", "IT"],
                                     name="country"),                        # general path
])
def test_history_pivot_matches_memory_store_for_every_kind_of_key(redis_server, make_index):
    redis_store = RedisStore(redis_server.url, prefix="t", history=3)
    memory = MemoryStore(history=3)
    for i, keys in enumerate([("FR", "DE"), ("IT",), ("DE", "FR", "IT"), ("FR",)], start=1):
        s = snap(i, keys=keys)
        s = dataclasses.replace(s, table=s.table.set_axis(make_index(keys)))
        redis_store.put(s)
        memory.put(s)
        for column in ("count", "mean"):
            pd.testing.assert_frame_equal(redis_store.history("orders", column),
                                          memory.history("orders", column))
    assert redis_store.history("orders", "count").shape[1] == 3  # FR, DE and IT (or NaN)


READER = """
import sys
from rtnb.store.redis import RedisStore
store = RedisStore(sys.argv[1], prefix="atomic", read_every=0, timeout=30)
print("ready", flush=True)
seen, reads = set(), 0
while True:
    snap = store.latest("orders")
    reads += 1
    if snap is None:
        continue
    store._seen.clear()  # decode every read: check every value, not a cached one
    v = snap.version
    # every part of one snapshot carries its version: a mix would show two numbers
    assert set(snap.table["count"]) == {v} and snap.counters.received == v, v
    assert snap.newest_event.second == v % 60, v
    seen.add(v)
    if v == int(sys.argv[2]):
        break
print(len(seen), reads, flush=True)
"""


def test_a_reader_in_another_process_never_sees_a_mix_of_two_snapshots(redis_server):
    n = 150
    reader = subprocess.Popen([sys.executable, "-c", READER, redis_server.url, str(n)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "ready"   # blocks until it runs
        # Deadlines far beyond any scheduling delay (this test is about whole snapshots,
        # not about deadlines): with the default 0.1 s, a put that timed out on a loaded
        # machine left the store down with the last versions pending, never written, and
        # the reader waited for version n until its own timeout.
        store = RedisStore(redis_server.url, prefix="atomic", timeout=30)
        for i in range(1, n + 1):
            table = pd.DataFrame({"count": np.full(40, i, dtype="int64")},
                                 index=pd.Index([f"k{j}" for j in range(40)], name="key"))
            store.put(Snapshot(metric="orders", table=table, window=None,
                               watermark=None, newest_event=T0 + pd.Timedelta(seconds=i),
                               processed_at=T0 + pd.Timedelta(seconds=i),
                               counters=Counters(received=i, accepted=i), version=i))
        assert store.up and store.pending == 0 and store.version("orders") == n
        out, err = reader.communicate(timeout=600)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert reader.returncode == 0, err
    distinct, reads = map(int, out.split())
    # the reader checked every value it read whole (its asserts above) and reached the
    # last version; how many versions it caught depends on scheduling
    assert 0 < distinct <= n and reads >= distinct


def test_a_pipeline_writing_to_redis_survives_an_outage_without_losing_state(redis_server):
    from rtnb import Runner, SimClock, build_pipeline
    from rtnb.sources.simulate import simulate

    start = pd.Timestamp("2024-01-01 12:00")
    clock = SimClock(start=start)
    store = RedisStore(redis_server.url, prefix="pipe", history=500, retry_every="5s",
                       clock=clock)
    runner = Runner(simulate("ecommerce_orders", rate=20, seed=3, start=start),
                    clock=clock, tick="1s")
    pipe = build_pipeline(runner, metric="amount", by="country", window="1min", store=store)
    errors = []
    pipe.errors.sink(errors.append)
    runner.errors.sink(errors.append)
    runner.run("30s")
    assert store.up and store.version("amount") == 30
    redis_server.stop()
    runner.run("20s")                       # the pipeline keeps aggregating
    assert not store.up and store.failed_writes >= 1
    assert errors == [] and pipe.counters.conserved      # nothing raised, no row lost
    redis_server.start()
    runner.run("10s")                       # writes resume within retry_every
    assert store.up and store.reconnects == 1
    reader = RedisStore(redis_server.url, prefix="pipe")
    assert reader.version("amount") == 60
    latest = reader.latest("amount")
    pd.testing.assert_frame_equal(latest.table, pipe.latest().table)
    assert latest.counters == pipe.counters
    # the history buffered while Redis was down is there, up to the restart's loss
    hist = reader.history("amount", "count")
    assert len(hist) >= 30 and hist.index.is_monotonic_increasing



def test_the_dashboard_badge_shows_the_serving_layer_down_and_back(redis_server):
    from rtnb import FreshnessBadge, Runner, SimClock, build_pipeline
    from rtnb.sources.simulate import simulate

    start = pd.Timestamp("2024-01-01 12:00")
    clock = SimClock(start=start)
    store = RedisStore(redis_server.url, prefix="badge", retry_every="2s", clock=clock)
    runner = Runner(simulate("ecommerce_orders", rate=20, seed=1, start=start),
                    clock=clock, tick="1s", frames="sim", fps=1)
    build_pipeline(runner, metric="amount", by="country", window="1min", store=store)
    badge = FreshnessBadge(store, "amount", limit="5s")
    runner.on_frame(badge.refresh)
    runner.run("10s")
    assert (badge.state, badge.store_status) == ("fresh", "up")
    assert "serving layer down" not in badge.value
    redis_server.stop()
    runner.run("3s")
    assert badge.store_status == "down"
    assert "serving layer down: ConnectionError" in badge.value
    redis_server.start()
    runner.run("3s")
    assert (badge.state, badge.store_status) == ("fresh", "up")
    assert 'data-store="up"' in badge.value

def test_rolling_snapshots_round_trip_exactly(redis_server):
    from rtnb import Rolling

    batch = pd.DataFrame({
        "ts": pd.to_datetime(["2024-01-01 09:00:00", "2024-01-01 09:00:30"]).as_unit("ns"),
        "country": ["FR", "DE"], "amount": [1.0, 2.0]})
    agg = Rolling(window="60s", by="country", value="amount",
                  aggs=("count", "sum", "mean", "p90"))
    s = agg.update(batch).snapshot(processed_at=T0)
    store = RedisStore(redis_server.url, prefix="t")
    store.put(s)
    assert_same(RedisStore(redis_server.url, prefix="t").latest(s.metric), s)


def test_a_server_refusing_writes_marks_the_store_down_with_the_reason(redis_server):
    store, put = timed_store(redis_server.url, prefix="t", retry_every=0)
    put(snap(1))
    admin = store._client
    admin.config_set("maxmemory", 1)            # every write is now refused (OOM)
    admin.config_set("maxmemory-policy", "noeviction")
    put(snap(2))                                  # no exception reaches the pipeline
    assert not store.up and "OutOfMemoryError" in store.last_error
    admin.config_set("maxmemory", 0)
    put(snap(3))
    assert store.up
    assert_same(RedisStore(redis_server.url, prefix="t").latest("orders"), snap(3))


def test_without_the_redis_client_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)   # as if not installed
    with pytest.raises(StoreError, match=r"pip install 'rtnb\[redis\]'"):
        RedisStore("redis://127.0.0.1:6379/0")
