"""The event log: events/s written and read through Redis Streams, batch entries vs one
entry per event, and the time a restarted worker takes to catch up.

``python -m benchmarks.bench_eventlog`` (needs redis-server) prints three tables:

- *write*: ``EventLogWriter.append`` of a simulated workload, one entry per batch of
  ``ROWS_PER_ENTRY`` rows vs one entry per event (``rows_per_entry=1``; all the entries
  of one call still go in one pipelined round trip);
- *read*: an ``EventLogSource`` draining the log through a consumer group
  (``XREADGROUP``, decode, concat) and acknowledging what it read;
- *recovery*: a worker (event log → pipeline → store, checkpointed) restarted from a
  checkpoint taken half-way through the log: wall time from building it (fresh
  objects, imports done) to caught up (the log drained), and its catch-up rate.

Times are wall-clock medians over repeats on a loaded machine; ratios are same-run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import rtnb
from rtnb.checkpoint import Checkpointer
from rtnb.sources.eventlog import EventLogSource, EventLogWriter
from rtnb.store.redis import LocalRedisServer

T0 = pd.Timestamp("2024-01-01")
ROWS_PER_ENTRY = 1000
REPEATS = 3


def workload(events: int) -> pd.DataFrame:
    src = rtnb.simulate("ecommerce_orders", seed=1, rate=1000)
    span = pd.Timedelta(seconds=max(1, events // 200))
    while True:
        df = src.read(T0, T0 + span)
        if len(df) >= events:
            return df.iloc[:events].reset_index(drop=True)
        span *= 2


def _median(fn) -> float:
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_write_read(url: str, events: int, per_entry: int) -> tuple[float, float]:
    df = workload(events)
    client = __import__("redis").Redis.from_url(url)
    state = {"k": 0}

    def write():
        client.flushall()
        with EventLogWriter(url, stream="bench") as log:
            for lo in range(0, len(df), ROWS_PER_ENTRY):  # the producer's batches
                log.append(df.iloc[lo: lo + ROWS_PER_ENTRY], rows_per_entry=per_entry)

    def read():
        state["k"] += 1
        src = EventLogSource(url, stream="bench", group=f"g{state['k']}",
                             count=max(1, 100_000 // per_entry // 10) if per_entry > 1 else 1000,
                             max_rows=100_000)
        n = 0
        while True:
            b = src.read(T0, T0)
            if not len(b):
                break
            n += len(b)
            src.acknowledge()
        assert n == len(df), (n, len(df))
        src.close()

    w = _median(write)
    r = _median(read)
    return events / w, events / r


def bench_plain_per_event(url: str, events: int) -> tuple[float, float]:
    """What a producer without batch entries does: one entry per event, one field per
    column (text), pipelined 1,000 at a time; the reader parses entries into a frame."""
    import redis

    df = workload(events)
    client = redis.Redis.from_url(url)
    cols = ["ts", "event_id", "country", "channel", "amount", "items"]
    records = df[cols].astype({"ts": "int64"}).astype(str).to_dict("records")
    state = {"k": 0}

    def write():
        client.flushall()
        for lo in range(0, len(records), ROWS_PER_ENTRY):
            pipe = client.pipeline(transaction=False)
            for r in records[lo: lo + ROWS_PER_ENTRY]:
                pipe.xadd("plain", r)
            pipe.execute()

    def read():
        state["k"] += 1
        group = f"p{state['k']}"
        client.xgroup_create("plain", group, id="0")
        n = 0
        while True:
            reply = client.xreadgroup(group, "c", {"plain": ">"}, count=1000)
            if not reply:
                break
            entries = reply[0][1]
            frame = pd.DataFrame.from_records([{k.decode(): v.decode() for k, v in f.items()}
                                               for _, f in entries])
            frame = frame.astype({"event_id": "int64", "amount": "float64", "items": "int64"})
            frame["ts"] = pd.to_datetime(frame["ts"].astype("int64"))
            client.xack("plain", group, *[i for i, _ in entries])
            n += len(frame)
        assert n == len(df)

    w = _median(write)
    r = _median(read)
    return events / w, events / r


def bench_recovery(url: str, events: int) -> tuple[float, int, float]:
    df = workload(events)
    client = __import__("redis").Redis.from_url(url)
    client.flushall()
    with EventLogWriter(url, stream="orders") as log:
        for lo in range(0, len(df), ROWS_PER_ENTRY):
            log.append(df.iloc[lo: lo + ROWS_PER_ENTRY])
    path = Path(tempfile.mkdtemp()) / "worker.ckpt"

    def build():
        src = EventLogSource(url, stream="orders", group="worker", name="orders", id_col="event_id",
                             keys=("country",), measures=("amount",), count=2, max_rows=2_000)
        runner = rtnb.Runner(src, clock=rtnb.SimClock(start=T0), tick="1s")
        store = rtnb.RedisStore(url, prefix="bench")
        pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1h",
                                   kind="bucketed", resolution="1min", store=store, schema=None)
        return src, runner, pipe, Checkpointer(pipe, path, runner=runner)

    src, runner, pipe, ckpt = build()
    ckpt.restore()
    while pipe.counters.received < events // 2:
        runner.run("1s")
    ckpt.save()
    runner.run("3s")  # read after the checkpoint, then "killed": these are read again
    t = time.perf_counter()
    src, runner, pipe, ckpt = build()
    ckpt.restore()
    behind = events - pipe.counters.received
    while src.lag() > 0 or src._held:
        runner.run("1s")
    wall = time.perf_counter() - t
    assert pipe.counters.received == events
    return wall, behind, behind / wall


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    events = 20_000 if quick else 100_000
    with LocalRedisServer() as server:
        print(f"write/read of {events:,} events (medians of {REPEATS}, wall clock)")
        print("| entries | write events/s | read events/s |")
        print("|---|---|---|")
        batch = bench_write_read(server.url, events, ROWS_PER_ENTRY)
        print(f"| rtnb frame, one entry per {ROWS_PER_ENTRY} rows | {batch[0]:,.0f} | {batch[1]:,.0f} |")
        single_n = events // 20
        single = bench_write_read(server.url, single_n, 1)
        print(f"| rtnb frame, one entry per event ({single_n:,} events) | {single[0]:,.0f} | {single[1]:,.0f} |")
        plain = bench_plain_per_event(server.url, events // 5)
        print(f"| plain fields, one entry per event ({events // 5:,} events) | {plain[0]:,.0f} | {plain[1]:,.0f} |")
        print(f"| batch entries / plain per event | {batch[0] / plain[0]:.0f}x | {batch[1] / plain[1]:.0f}x |")
        wall, behind, rate = bench_recovery(server.url, events)
        print(f"\nrecovery: restart from a checkpoint {behind:,} events behind the end of the log: "
              f"{wall * 1000:,.0f} ms to caught up ({rate:,.0f} events/s, wall; "
              "build + restore + read + pipeline + store)")


if __name__ == "__main__":
    main()
