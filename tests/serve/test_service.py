"""Service mode: a pipeline in one process writes a RedisStore, ``rtnb serve`` in
another serves it, and a client reading both sees the same snapshots."""

from __future__ import annotations

import asyncio
import os
import selectors
import subprocess
import sys
import textwrap

import httpx
import numpy as np
import pandas as pd
import pytest

from rtnb.codec import table_from_document
from rtnb.serve.clients import SSEClient
from rtnb.store.redis import LocalRedisServer, RedisStore
from tests.conftest import require

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}

WRITER = textwrap.dedent("""
    import sys, rtnb
    url, prefix = sys.argv[1], sys.argv[2]
    sys.stdin.readline()                      # go: the test's client is listening
    runner = rtnb.Runner(rtnb.simulate("ecommerce_orders", seed=3), clock=rtnb.SimClock(start="2024-01-01"),
                         tick="5s")
    store = rtnb.RedisStore(url, prefix=prefix)
    pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min", store=store,
                               name="orders")
    runner.run("30s")
    print(store.version("orders"), flush=True)
    sys.stdin.readline()                      # on: the client has shown the first snapshot
    runner.run("150s")
    print(store.version("orders"), flush=True)
""")


@pytest.fixture
def redis_url():
    require(LocalRedisServer.available(), "redis-server", "apt-get install redis-server")
    with LocalRedisServer() as server:
        yield server.url


def read_line(proc: subprocess.Popen, timeout: float = 60.0) -> str:
    """The next line the process prints, waiting on its pipe (not on a timer)."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        proc.kill()
        raise AssertionError(f"no output from {proc.args!r} within {timeout} s: {proc.stderr.read()!r}")
    line = proc.stdout.readline()
    assert line, f"{proc.args!r} ended: {proc.stderr.read()!r}"
    return line.strip()


def test_rtnb_serve_serves_what_a_pipeline_in_another_process_writes(redis_url):
    prefix = "svc"
    serve = subprocess.Popen([sys.executable, "-m", "rtnb.cli", "serve", "--redis", redis_url,
                              "--prefix", prefix, "--port", "0", "--limit", "orders=30s"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, redis_url, prefix], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    try:
        line = read_line(serve)
        assert line.startswith("rtnb serve: http://127.0.0.1:")
        url = line.split()[2]

        async def main():
            # it connects before the metric exists (404), and retries until it does
            client = Recording(url, "orders", reconnect_delay=0.05, max_delay=0.2)
            task = asyncio.ensure_future(client.run(120))
            writer.stdin.write("go\n")
            writer.stdin.flush()
            loop = asyncio.get_running_loop()
            first = int(await loop.run_in_executor(None, read_line, writer))
            # the rest only once the client shows the first snapshot: a writer that ran its
            # 3 simulated minutes before the client's retry connected left it one snapshot
            # (the final one) to compare (clean-clone CI, session 7)
            await client.wait_for_version(first)
            writer.stdin.write("on\n")
            writer.stdin.flush()
            final = int(await loop.run_in_executor(None, read_line, writer))
            await client.wait_for_version(final)
            client.stop()
            await task
            async with httpx.AsyncClient() as c:
                latest = (await c.get(f"{url}/metrics/orders")).json()
                listing = (await c.get(f"{url}/metrics")).json()
            return client, final, latest, listing

        client, final, latest, listing = asyncio.run(main())
    finally:
        for p in (writer, serve):
            p.terminate()
            p.wait(timeout=30)
    assert serve.returncode in (0, -15), serve.stderr.read()

    store = RedisStore(redis_url, prefix=prefix)
    snap = store.latest("orders")
    # the server's latest is the store's latest, table, times and counters alike
    assert latest["version"] == final == store.version("orders")
    assert latest["newest_event_ms"] == pytest.approx((snap.newest_event.value) / 1e6)
    assert latest["counters"] == snap.counters.as_dict()
    served = table_from_document(latest["table"])
    assert list(served.index) == list(snap.table.index)
    np.testing.assert_allclose(served[list(snap.table.columns)].to_numpy(float),
                               snap.table.to_numpy(float), equal_nan=True)
    assert listing["metrics"] == [{"name": "orders", "version": final, "limit_s": 30.0, "tier": "real_time"}]
    # every snapshot pushed on the way equals the store's history at its newest event
    hist = store.history("orders", "sum")
    assert client.count >= 2 and client.updates[-1].version == final
    by_time = {}
    for doc in client.documents:  # the last answer for each newest event, as history keeps it
        by_time[doc["newest_event"]] = doc
    checked = 0
    for when, doc in by_time.items():
        row = hist.loc[pd.Timestamp(when)]
        table = table_from_document(doc["table"])
        np.testing.assert_allclose(table["sum"].to_numpy(float), row[table.index].to_numpy(float))
        checked += 1
    assert checked >= 2


class Recording(SSEClient):
    """An SSE client that keeps every snapshot document it displayed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.documents = []

    def _show(self, doc):
        self.documents.append(doc)
        super()._show(doc)
