"""The worker of the kill -9 test: event log → pipeline → Redis store, checkpointed.

``fill_log`` writes a simulated workload (with late, duplicate and malformed rows) into
the log, one entry per second of arrival time. ``work`` reads it through its own
consumer group, resumes from its checkpoint if there is one, runs to ``END`` of
simulated time, saves a last checkpoint and says ``-1``; after every tick it sends the
simulated second it reached, so the test can kill it at a chosen moment.
"""

from __future__ import annotations

import os

import pandas as pd

import rtnb
from rtnb.checkpoint import Checkpointer
from rtnb.sources.eventlog import EventLogSource, EventLogWriter

STREAM = "orders"
START = pd.Timestamp("2024-01-01")
SECONDS = 40  # of events in the log
END = SECONDS // 2 + 5  # of simulated time: two entries a tick drain the log by SECONDS // 2
METRIC = "amount"


def fill_log(url: str) -> int:
    """Write the workload; returns the number of rows written."""
    src = rtnb.simulate("ecommerce_orders", seed=7, rate=15,
                        faults=rtnb.Faults(late=0.05, duplicates=0.05, malformed=0.03,
                                           max_delay="20s"))
    with EventLogWriter(url, stream=STREAM) as log:
        return log.append_from(src, START, START + pd.Timedelta(seconds=SECONDS), every="1s")


def build(url: str, prefix: str, path: str, kind: str):
    src = EventLogSource(url, stream=STREAM, group=prefix, consumer=f"worker-{os.getpid()}",
                         name="orders", keys=("country",), measures=("amount",),
                         id_col="event_id", count=2, max_rows=25)
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start=START), tick="1s")
    store = rtnb.RedisStore(url, prefix=prefix)
    options = {"bucketed": {"resolution": "2s"}, "session": {"gap": "2s"}}.get(kind, {})
    window = None if kind == "session" else "20s"
    pipe = rtnb.build_pipeline(runner, metric=METRIC, by="country", window=window, kind=kind,
                               lateness="3s", aggs=("count", "sum", "max"), store=store,
                               **options)
    ckpt = Checkpointer(pipe, path, runner=runner, every="3s")
    return runner, pipe, ckpt, store


def work(url: str, prefix: str, path: str, kind: str, conn=None) -> None:
    runner, pipe, ckpt, store = build(url, prefix, path, kind)
    ckpt.restore()
    end = START + pd.Timedelta(seconds=END)
    while runner.clock.now() < end:
        runner.run("1s")
        if conn is not None:
            conn.send(int((runner.clock.now() - START).total_seconds()))
    ckpt.save()
    store.close()
    if conn is not None:
        conn.send(-1)
