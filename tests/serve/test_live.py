"""Real uvicorn on a free loopback port, real clients (httpx, websockets, raw sockets).

The server runs on the test's own asyncio loop, as it does on a kernel's, so a put
followed by ``hub.refresh()`` is seen at once; every wait is on a client's event.
"""

from __future__ import annotations

import asyncio

import pandas as pd

from rtnb import Counters, MemoryStore, Snapshot
from rtnb.serve import Server
from rtnb.serve.clients import Poller, SSEClient, WebSocketClient

from rtnb.codec import time_ms

from .conftest import make_snapshot


def put(srv: Server, store: MemoryStore, i: int, metric: str = "orders") -> None:
    store.put(make_snapshot(metric, i))
    srv.state.hub.refresh()


def started(client, seconds: float = 30.0) -> asyncio.Task:
    return asyncio.ensure_future(client.run(seconds))


async def finish(client, task) -> None:
    client.stop()
    await task


def test_sse_reconnect_with_last_event_id_gets_exactly_the_missed_versions():
    async def main():
        store = MemoryStore()
        async with Server(store, port=0, heartbeat=0.5) as srv:
            put(srv, store, 1)
            client = SSEClient(srv.url, "orders", reconnect_delay=0.05)
            task = started(client)
            await client.wait_for_version(1)
            await client.connected.wait()
            client.drop()                       # the client's side hangs up
            await client.wait_until(lambda c: not c.connected.is_set())
            for i in (2, 3, 4):
                put(srv, store, i)
            await client.wait_for_version(4)
            await finish(client, task)
            return client

    client = asyncio.run(main())
    assert [u.version for u in client.updates] == [1, 2, 3, 4]
    assert client.missed == 0 and client.reconnects >= 1 and not client.gaps
    assert client.requests == client.reconnects + 1


def test_websocket_dropped_by_the_server_reconnects_with_backoff_and_resumes():
    async def main():
        store = MemoryStore()
        srv = Server(store, port=0)
        async with srv:
            put(srv, store, 1)
            client = WebSocketClient(srv.url, "orders", reconnect_delay=0.02, backoff=2.0, jitter=0.5)
            task = started(client)
            await client.wait_for_version(1)
        # the server is gone: the client retries, each wait longer than the one before
        await client.wait_until(lambda c: len(c.retry_delays) >= 3)
        store.put(make_snapshot("orders", 2))
        async with srv:                        # the same server object, the same port
            srv.state.hub.refresh()
            put(srv, store, 3)
            await client.wait_for_version(3)
        await finish(client, task)
        return client

    client = asyncio.run(main())
    d = client.retry_delays
    assert client.close_codes[0] == 1012  # "service restart", said by the server
    assert all(b > a for a, b in zip(d[:3], d[1:3]))  # exponential: x2 beats +50% jitter
    assert d[0] >= 0.02 and all(x <= 0.02 * 2 ** i * 1.5 + 1e-9 for i, x in enumerate(d[:3]))
    # version 2 was put while the server was down and seen at its restart: not lost
    assert [u.version for u in client.updates] == [1, 2, 3] and client.missed == 0


def test_a_slow_client_does_not_delay_a_fast_one():
    def snap(i):  # ~0.4 MB of JSON per version, cheap to encode
        t = pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=i)
        big = pd.DataFrame({"x": [f"{i:08d}" * 500] * 100})
        return Snapshot(metric="big", table=big, window=None, watermark=t, newest_event=t,
                        processed_at=t, counters=Counters())

    async def main():
        store = MemoryStore()
        store.put(snap(1))
        async with Server(store, port=0, queue_size=4) as srv:
            srv.state.hub.refresh()
            # the slow one asks for the stream and never reads it
            reader, writer = await asyncio.open_connection(srv.host, srv.port)
            writer.write(b"GET /metrics/big/events HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")  # its response began: it is subscribed
            (slow,) = srv.state.hub._metrics["big"].subscribers
            fast = SSEClient(srv.url, "big")
            task = started(fast)
            await fast.wait_for_version(1)
            n = 2
            while slow.skipped_total == 0:      # until the slow one's queue overflowed
                store.put(snap(n))
                srv.state.hub.refresh()
                await fast.wait_for_version(n)  # the fast one got it meanwhile
                n += 1
            await finish(fast, task)
            writer.close()
            return fast, n - 1, slow

    fast, last, slow = asyncio.run(main())
    assert [u.version for u in fast.updates] == list(range(1, last + 1)) and fast.missed == 0
    assert slow.skipped_total > 0 and len(slow.pending) <= 4  # bounded: the latest few only


def test_poller_gets_new_versions_and_304_when_nothing_changed():
    async def main():
        store = MemoryStore()
        async with Server(store, port=0) as srv:
            put(srv, store, 1)
            poller = Poller(srv.url, "orders", interval=0.01, phase=0)
            task = started(poller)
            await poller.wait_for_version(1)
            await poller.wait_until(lambda p: p.not_modified >= 2)
            put(srv, store, 2)
            await poller.wait_for_version(2)
            await finish(poller, task)
            return poller

    poller = asyncio.run(main())
    assert [u.version for u in poller.updates] == [1, 2]
    assert poller.requests >= 4 and poller.not_modified >= 2 and not poller.errors


def test_kernel_mode_start_returns_at_once_and_url_is_usable():
    async def main():
        import httpx

        store = MemoryStore()
        store.put(make_snapshot("orders", 1))
        srv = Server(store, port=0).start()   # a task on this loop; the port is bound already
        assert srv.running and srv.port > 0
        async with httpx.AsyncClient() as c:
            r = await c.get(srv.url + "/metrics/orders")
        srv.stop()
        await srv.wait_stopped()
        return r, srv

    r, srv = asyncio.run(main())
    assert r.status_code == 200 and r.json()["version"] == 1 and not srv.running


async def across_a_restart(store, puts, until: int):
    """A client sees version 1; the server stops (the client's stream ends with it);
    the versions ``puts`` are put meanwhile, with nobody watching the store; the same
    server starts again on the same port. Returns the client once it has version ``until``."""
    srv = Server(store, port=0)
    async with srv:
        put(srv, store, 1)
        client = SSEClient(srv.url, "orders", reconnect_delay=0.02)
        task = started(client)
        await client.wait_for_version(1)
    await client.wait_until(lambda c: not c.connected.is_set())  # the stream ended with the server
    for i in puts:
        store.put(make_snapshot("orders", i))  # nobody watches the store now
    async with srv:                            # the same server, the same port
        srv.state.hub.refresh()
        await client.wait_for_version(until)
    await finish(client, task)
    return client


def test_versions_put_while_the_server_is_stopped_are_delivered_after_its_restart():
    """The hub never saw versions 2-4 (put while uvicorn was stopped); a client that
    resumes with Last-Event-ID 1 gets them from the store's recent snapshots, none lost."""
    client = asyncio.run(across_a_restart(MemoryStore(), (2, 3, 4), until=4))
    assert [u.version for u in client.updates] == [1, 2, 3, 4]
    assert [u.newest_ms for u in client.updates] == [
        time_ms(make_snapshot("orders", i).newest_event) for i in (1, 2, 3, 4)]  # each one's own snapshot
    assert client.missed == 0 and not client.gaps and client.reconnects >= 1


def test_a_restart_beyond_the_stores_history_marks_the_gap():
    """A store that kept only the last 2 snapshots cannot give versions 2-3 back: the
    client gets the latest and a gap counting exactly what it will never see."""
    client = asyncio.run(across_a_restart(MemoryStore(history=2), (2, 3, 4, 5), until=5))
    assert [u.version for u in client.updates] == [1, 5]
    assert client.gaps == [{"missed": 3, "reason": "history",
                            "detail": "versions no longer in the server's history; here is the latest"}]
