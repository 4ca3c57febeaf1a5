"""The event log on a real redis-server: bounded reads, acknowledgement only on demand,
redelivery after a restart, a dead consumer's entries claimed, bad entries reported,
an outage surfaced as SourceUnavailable, and no password in any message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtnb
from rtnb.sources.eventlog import EventLogSource, EventLogWriter, stream_id

T0 = pd.Timestamp("2024-01-01")


def events(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"ts": T0 + pd.to_timedelta(np.arange(start, start + n), unit="s"),
                         "k": np.where(np.arange(n) % 2, "a", "b"), "v": np.arange(n, dtype=float),
                         "id": np.arange(start, start + n)})


def drain(src: EventLogSource) -> list[pd.DataFrame]:
    out = []
    while True:
        b = src.read(T0, T0)
        if not len(b):
            return out
        out.append(b)


def test_a_batch_round_trips_with_its_dtypes(redis_server):
    log = EventLogWriter(redis_server.url, stream="s")
    df = events(5).assign(k=lambda d: d.k.astype("category"))
    [offset] = log.append(df)
    src = EventLogSource(redis_server.url, stream="s", group="g")
    got = src.read(T0, T0 + pd.Timedelta("1s"))
    pd.testing.assert_frame_equal(got.drop(columns="arrival"), df)
    assert (got.arrival == T0 + pd.Timedelta("1s")).all()  # rows written without one
    assert src.position == offset and got.attrs["offset"]["position"] == offset


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 12), min_size=1, max_size=12),
       count=st.integers(1, 5), max_rows=st.integers(1, 30))
def test_reads_are_bounded_and_deliver_every_row_once_in_order(redis_server, sizes, count, max_rows):
    url = redis_server.url
    redis.Redis.from_url(url).flushall()
    log = EventLogWriter(url, stream="s")
    start = 0
    for n in sizes:
        log.append(events(n, start))
        start += n
    src = EventLogSource(url, stream="s", group="g", count=count, max_rows=max_rows)
    batches = drain(src)
    for b in batches:  # whole entries, at most max_rows unless one entry is larger
        assert len(b) <= max(max_rows, max(sizes))
    assert pd.concat(batches).id.tolist() == list(range(start))


def test_entries_stay_pending_until_acknowledged_then_restart_reads_only_the_rest(redis_server):
    url = redis_server.url
    log = EventLogWriter(url, stream="s")
    for i in range(6):
        log.append(events(2, 2 * i))
    first = EventLogSource(url, stream="s", group="g", consumer="one", count=2)
    a = first.read(T0, T0)
    saved = first.checkpoint_state()  # what a checkpoint after batch a holds
    first.read(T0, T0)  # read, processed, then the worker dies before the next checkpoint
    client = redis.Redis.from_url(url)
    assert client.xpending("s", "g")["pending"] == 4
    assert first.acknowledge(saved["position"]) == 2
    assert client.xpending("s", "g")["pending"] == 2

    second = EventLogSource(url, stream="s", group="g", consumer="two", count=2)  # another name
    second.restore_state(saved)
    rest = pd.concat(drain(second))
    assert a.id.tolist() == [0, 1, 2, 3]
    assert rest.id.tolist() == list(range(4, 12))  # the dead consumer's entries, then new ones
    second.acknowledge()
    assert client.xpending("s", "g")["pending"] == 0


def test_a_restart_before_the_ack_of_a_checkpoint_does_not_reread_what_it_holds(redis_server):
    url = redis_server.url
    log = EventLogWriter(url, stream="s")
    for i in range(4):
        log.append(events(1, i))
    src = EventLogSource(url, stream="s", group="g", count=1)
    src.read(T0, T0), src.read(T0, T0)
    saved = src.checkpoint_state()  # written, but the process died before acknowledging
    again = EventLogSource(url, stream="s", group="g", consumer="again", count=1)
    again.restore_state(saved)
    assert pd.concat(drain(again)).id.tolist() == [2, 3]


def test_entries_held_back_by_max_rows_are_read_again_in_the_same_batches(redis_server):
    url = redis_server.url
    log = EventLogWriter(url, stream="s")
    for i in range(6):
        log.append(events(3, 3 * i))
    calm = EventLogSource(url, stream="s", group="calm", count=3, max_rows=4)
    calm_batches = [b.id.tolist() for b in drain(calm)]
    src = EventLogSource(url, stream="s", group="hurt", count=3, max_rows=4)
    first = src.read(T0, T0)  # 3 entries fetched, 1 returned, 2 held
    saved = first.attrs["offset"]
    assert saved["held"] == 2
    src.read(T0, T0)
    again = EventLogSource(url, stream="s", group="hurt", consumer="again", count=3, max_rows=4)
    again.restore_state(saved)
    assert [first.id.tolist()] + [b.id.tolist() for b in drain(again)] == calm_batches


def test_a_bad_entry_is_reported_once_and_skipped(redis_server):
    url = redis_server.url
    log = EventLogWriter(url, stream="s")
    log.append(events(2))
    redis.Redis.from_url(url).xadd("s", {"f": b"not a frame"})
    log.append(events(2, 2))
    src = EventLogSource(url, stream="s", group="g", count=10)
    assert src.read(T0, T0).id.tolist() == [0, 1]
    with pytest.raises(rtnb.SourceError, match="is not an rtnb batch"):
        src.read(T0, T0)
    assert src.read(T0, T0).id.tolist() == [2, 3]
    assert src.bad_entries == 1 and src.unacknowledged == 3


def test_a_runner_shows_a_bad_entry_and_goes_on(redis_server):
    url = redis_server.url
    log = EventLogWriter(url, stream="s")
    log.append(events(2))
    redis.Redis.from_url(url).xadd("s", {"f": b"junk"})
    log.append(events(2, 2))
    src = EventLogSource(url, stream="s", group="g", count=1, name="orders", measures=("v",))
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start=T0), tick="1s")
    rows = runner.stream.map(len).sink_to_list()
    runner.run("5s")
    assert sum(rows) == 4
    assert [e.where for e in runner.health.errors] == ["source"]
    assert "junk" not in runner.health.errors[0].message and "not an rtnb batch" in runner.health.errors[0].message


def test_a_server_that_is_down_is_unavailable_and_nothing_is_lost(redis_server):
    url = redis_server.url
    log = EventLogWriter(url, stream="s")
    log.append(events(3))
    src = EventLogSource(url, stream="s", group="g", timeout=0.2)
    assert len(src.read(T0, T0)) == 3
    log.append(events(3, 3))
    redis_server.stop()  # no persistence: the restarted server is empty, but a
    with pytest.raises(rtnb.SourceUnavailable, match=r"127\.0\.0\.1:\d+"):
        src.read(T0, T0)
    with pytest.raises(rtnb.SourceUnavailable):
        log.append(events(1))
    redis_server.start()  # without persistence the server lost the log: said once
    with pytest.raises(rtnb.SourceError, match="was gone"):
        src.read(T0, T0)
    log.append(events(2, 10))
    assert src.read(T0, T0).id.tolist() == [10, 11] and src.lost_streams == 1


def test_no_password_in_reprs_or_messages(redis_server):
    url = f"redis://:sekrit-pw@127.0.0.1:{redis_server.port}/0"
    with pytest.raises(rtnb.ParameterError) as bad:
        EventLogWriter("http://:sekrit-pw@host/0")
    assert "sekrit" not in str(bad.value)
    src = EventLogSource(url, stream="s", group="g", timeout=0.2)  # the server has no password
    log = EventLogWriter(url, stream="s", timeout=0.2)
    for text in (repr(src), repr(log)):
        assert "sekrit" not in text
    for call in (lambda: src.read(T0, T0), lambda: log.append(events(1))):
        try:
            call()
        except rtnb.RtnbError as exc:
            assert "sekrit" not in str(exc)


def test_offsets_compare_as_stream_ids():
    assert stream_id("5-10") > stream_id("5-9") and stream_id(b"6-0") > stream_id("5-99")
    with pytest.raises(rtnb.ParameterError):
        stream_id("x-1")


def test_a_runners_cap_is_honoured_by_whole_entries(redis_server):
    url = redis_server.url
    log = EventLogWriter(url, stream="s")
    for i in range(4):
        log.append(events(3, 3 * i))
    src = EventLogSource(url, stream="s", group="g", count=4, max_rows=100)
    assert src.pending == 4  # 4 entries not read; rows per entry not known yet: 1 each
    assert len(src.read(T0, T0, max_rows=7)) == 6 and src.pending == 6  # 2 held
    assert len(src.read(T0, T0, max_rows=1)) == 3  # at least one entry
    log.append(events(3, 12))
    assert src.pending == 3 + 3  # one held, one new entry of 3 rows per entry
