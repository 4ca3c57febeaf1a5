"""The ASGI app without a socket: every endpoint, its errors and the token."""

from __future__ import annotations

import asyncio
import re
import warnings

import httpx
import pandas as pd
import pytest
from starlette.websockets import WebSocketDisconnect

from rtnb import MemoryStore
from rtnb.codec import table_from_document
from rtnb.serve import create_app

from .conftest import make_snapshot, sse_until

with warnings.catch_warnings():  # Starlette's TestClient (WebSockets without a socket) warns about httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def get(app, path: str, **kw) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://rtnb") as c:
            return await c.get(path, **kw)

    return asyncio.run(go())


def test_metrics_lists_every_metric_with_its_limit_and_tier(store):
    app = create_app(store, limits={"orders": "5s", "refunds": "near_real_time"})
    r = get(app, "/metrics")
    assert r.status_code == 200
    assert r.json()["metrics"] == [
        {"name": "orders", "version": 3, "limit_s": 5.0, "tier": "real_time"},
        {"name": "refunds", "version": 1, "limit_s": 3600.0, "tier": "near_real_time"},
    ]


def test_latest_snapshot_is_the_store_latest_with_etag_version(store):
    r = get(create_app(store), "/metrics/orders")
    assert r.status_code == 200 and r.headers["etag"] == '"3"'
    doc = r.json()
    snap = store.latest("orders")
    assert doc["version"] == 3 and doc["snapshot_version"] == snap.version
    assert doc["newest_event"] == "2024-01-01T00:00:03" and doc["data_age_s"] == 1.0
    assert doc["counters"]["received"] == 3
    back = table_from_document(doc["table"])
    pd.testing.assert_frame_equal(back, snap.table, check_dtype=False)


def test_unchanged_poll_gets_304_without_a_body_and_a_new_version_gets_200(store):
    app = create_app(store)
    r = get(app, "/metrics/orders", headers={"If-None-Match": '"3"'})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == '"3"'
    store.put(make_snapshot("orders", 4))
    app.state.rtnb.hub.refresh()
    r = get(app, "/metrics/orders", headers={"If-None-Match": '"3"'})
    assert r.status_code == 200 and r.headers["etag"] == '"4"' and r.json()["table"]["data"][0][0] == 4
    assert app.state.rtnb.not_modified == 1


@pytest.mark.parametrize("path", ["/metrics/ordres", "/metrics/ordres/events", "/?metric=ordres"])
def test_unknown_metric_is_404_naming_the_choices(store, path):
    r = get(create_app(store), path)
    assert r.status_code == 404
    body = r.json()
    assert body["parameter"] == "metric" and body["choices"] == ["orders", "refunds"]
    assert "'ordres'" in body["error"] and "'orders', 'refunds'" in body["error"]


@pytest.mark.parametrize("path, headers, param", [
    ("/?pattern=pigeon", {}, "pattern"),
    ("/?interval=soon", {}, "interval"),
    ("/?interval=0", {}, "interval"),
    ("/metrics/orders/events?last_event_id=x", {}, "last_event_id"),
    ("/metrics/orders/events?last_event_id=-1", {}, "last_event_id"),
    ("/metrics/orders/events", {"Last-Event-ID": "three"}, "Last-Event-ID"),
])
def test_bad_parameter_is_422_naming_it(store, path, headers, param):
    r = get(create_app(store), path, headers=headers)
    assert r.status_code == 422
    assert r.json()["parameter"] == param and r.json()["error"].startswith(f"{param}=")


def test_token_is_required_by_header_or_query(store):
    app = create_app(store, token="s3cret")
    r = get(app, "/metrics")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert get(app, "/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert get(app, "/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert get(app, "/metrics/orders?token=s3cret").status_code == 200
    assert get(app, "/?token=s3cret").status_code == 200
    assert get(app, "/metrics/orders/events").status_code == 401
    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect) as denied:
            with client.websocket_connect("/metrics/orders/ws"):
                pass
        assert denied.value.status_code == 401  # an HTTP answer before the upgrade
        with client.websocket_connect("/metrics/orders/ws?token=s3cret") as ws:
            assert ws.receive_json()["snapshot"]["version"] == 3


def test_sse_first_event_is_the_latest_with_its_version_as_id(store):
    status, headers, events = asyncio.run(sse_until(create_app(store), "/metrics/orders/events", 1))
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert events[0]["event"] == "snapshot" and events[0]["id"] == "3"
    assert events[0]["data"]["snapshot"]["table"]["data"][0][0] == 3
    assert isinstance(events[0]["data"]["now_ms"], float)


def watched(n: int) -> tuple[MemoryStore, object]:
    """An app whose hub saw each of versions 1..n being put (as its watcher does)."""
    store = MemoryStore()
    app = create_app(store)
    for i in range(1, n + 1):
        store.put(make_snapshot("orders", i))
        app.state.rtnb.hub.refresh()
    return store, app


def test_sse_last_event_id_resumes_with_exactly_the_missed_versions():
    store, app = watched(3)
    _, _, events = asyncio.run(sse_until(app, "/metrics/orders/events", 2, {"Last-Event-ID": "1"}))
    assert [e["id"] for e in events] == ["2", "3"]
    _, _, events = asyncio.run(sse_until(app, "/metrics/orders/events?last_event_id=2", 1))
    assert [e["id"] for e in events] == ["3"]


def test_sse_resume_beyond_history_sends_the_latest_with_the_gap_marked():
    store = MemoryStore(history=2)  # neither the server's ring nor the store holds 2-3
    app = create_app(store, history=2)
    for i in range(1, 6):
        store.put(make_snapshot("orders", i))
        app.state.rtnb.hub.refresh()
    _, _, events = asyncio.run(sse_until(app, "/metrics/orders/events", 2, {"Last-Event-ID": "1"}))
    assert events[0]["event"] == "gap" and events[0]["data"]["missed"] == 3
    assert events[1]["id"] == "5"
    _, _, events = asyncio.run(sse_until(app, "/metrics/orders/events", 2, {"Last-Event-ID": "40"}))
    assert events[0]["data"]["reason"] == "reset" and events[1]["id"] == "5"


def test_sse_resume_past_the_ring_takes_the_versions_from_the_store():
    """The server's ring kept 2 versions; the store still holds all 5: a client that
    last saw version 1 gets 2..5, each its own snapshot, no gap."""
    store = MemoryStore()
    app = create_app(store, history=2)
    for i in range(1, 6):
        store.put(make_snapshot("orders", i))
        app.state.rtnb.hub.refresh()
    _, _, events = asyncio.run(sse_until(app, "/metrics/orders/events", 4, {"Last-Event-ID": "1"}))
    assert [e["event"] for e in events] == ["snapshot"] * 4
    assert [e["id"] for e in events] == ["2", "3", "4", "5"]
    assert [e["data"]["snapshot"]["counters"]["received"] for e in events] == [2, 3, 4, 5]


def test_a_live_version_is_one_shared_frame_and_one_timer_beats_every_stream(store):
    """Two streams get the same bytes for a pushed version (encoded and stamped once),
    and one hub beat gives each a heartbeat."""
    app = create_app(store)
    hub = app.state.rtnb.hub

    async def go():
        ready = [asyncio.Event(), asyncio.Event()]
        tasks = [asyncio.create_task(sse_until(app, "/metrics/orders/events", 3, streaming=r)) for r in ready]
        for r in ready:
            await r.wait()
        store.put(make_snapshot("orders", 4))
        hub.refresh()
        while any(len(sub.pending) for m in hub._metrics.values() for sub in m.subscribers):
            await asyncio.sleep(0)  # let both streams take version 4
        hub.beat()
        while any(sub.beat_due for m in hub._metrics.values() for sub in m.subscribers):
            await asyncio.sleep(0)
        store.put(make_snapshot("orders", 5))
        hub.refresh()
        return await asyncio.gather(*tasks)

    (_, _, a), (_, _, b) = asyncio.run(go())
    assert [e["id"] for e in a if e["event"] == "snapshot"] == ["3", "4", "5"] == \
        [e["id"] for e in b if e["event"] == "snapshot"]
    four = [[e for e in x if e.get("id") == "4"][0] for x in (a, b)]
    assert four[0]["data"] == four[1]["data"]  # now_ms included: one frame for both
    assert [e["event"] for e in a].count("heartbeat") == 1 == [e["event"] for e in b].count("heartbeat")


def test_sse_pushes_each_new_version_as_it_is_put(store):
    app = create_app(store)

    async def go():
        streaming = asyncio.Event()
        task = asyncio.create_task(sse_until(app, "/metrics/orders/events", 3, streaming=streaming))
        await streaming.wait()
        for i in (4, 5):
            store.put(make_snapshot("orders", i))
            app.state.rtnb.hub.refresh()
        return await task

    _, _, events = asyncio.run(go())
    assert [e["id"] for e in events] == ["3", "4", "5"]


def test_push_connections_past_the_limit_get_a_clear_503(store):
    app = create_app(store, max_connections=1)

    async def go():
        streaming, hangup = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(sse_until(app, "/metrics/orders/events", 99, streaming=streaming, hangup=hangup))
        await streaming.wait()
        second = await sse_until(app, "/metrics/orders/events", 1)
        hangup.set()
        await first
        return second

    status, headers, _ = asyncio.run(go())
    assert status == 503 and headers["retry-after"] == "5"
    assert app.state.rtnb.rejected == 1 and app.state.rtnb.open_push == 0


class LatestOnly:
    """A Store with the protocol only (no snapshots_since): it cannot give back old versions."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner

    def put(self, snapshot): self.inner.put(snapshot)
    def latest(self, metric): return self.inner.latest(metric)
    def history(self, metric, column): return self.inner.history(metric, column)
    def metrics(self): return self.inner.metrics()
    def version(self, metric): return self.inner.version(metric)
    def close(self): self.inner.close()


def test_versions_put_before_the_server_watched_come_from_the_store_or_are_marked_missed(store):
    _, _, events = asyncio.run(sse_until(create_app(store), "/metrics/orders/events", 2, {"Last-Event-ID": "1"}))
    assert [(e["event"], e["id"]) for e in events] == [("snapshot", "2"), ("snapshot", "3")]
    _, _, events = asyncio.run(sse_until(create_app(LatestOnly(store)), "/metrics/orders/events", 2,
                                         {"Last-Event-ID": "1"}))
    assert events[0]["event"] == "gap" and events[0]["data"]["missed"] == 1 and events[1]["id"] == "3"


def test_websocket_sends_the_latest_then_resumes_from_last_version():
    store, app = watched(3)
    with TestClient(app) as client:
        with client.websocket_connect("/metrics/orders/ws") as ws:
            m = ws.receive_json()
            assert m["type"] == "snapshot" and m["snapshot"]["version"] == 3
        with client.websocket_connect("/metrics/orders/ws?last_version=1") as ws:
            assert [ws.receive_json()["snapshot"]["version"] for _ in range(2)] == [2, 3]
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect("/metrics/nope/ws") as ws:
                ws.receive_json()


def test_page_and_script_are_served_by_the_app_and_load_nothing_from_elsewhere(store):
    app = create_app(store, limits={"orders": "2s"})
    r = get(app, "/?metric=orders&pattern=ws&interval=0.5")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '"pattern": "ws"' in r.text and '"limit_s": 2.0' in r.text and '"interval": 0.5' in r.text
    js = get(app, "/page.js")
    assert js.status_code == 200 and "EventSource" in js.text and "WebSocket" in js.text
    for text in (r.text, js.text):
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
        assert "cdn" not in text.lower()


def test_slow_subscriber_gets_the_latest_and_a_skipped_count():
    from rtnb.serve._hub import SnapshotHub

    store = MemoryStore()
    store.put(make_snapshot("orders", 1))
    hub = SnapshotHub(store, queue_size=2)
    hub.refresh()
    slow, fast = hub.subscribe("orders"), hub.subscribe("orders")
    taken = []
    for i in range(2, 7):
        store.put(make_snapshot("orders", i))
        hub.refresh()
        items, skipped = asyncio.run(fast.take(0))
        taken += [v for v, _ in items]
    assert taken == [2, 3, 4, 5, 6]  # the fast one got every version
    items, skipped = asyncio.run(slow.take(0))
    assert [v for v, _ in items] == [5, 6] and skipped == 3


def test_serve_refuses_an_unknown_option_naming_it():
    """Found by a new user: rtnb.serve(store, bogus=1) was a bare TypeError."""
    import rtnb

    with pytest.raises(rtnb.UnknownNameError, match="bogus"):
        rtnb.serve(rtnb.MemoryStore(), bogus=1)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "myhost.example"])
def test_a_server_open_to_the_network_without_a_token_warns_naming_the_host(host):
    """A reviewer's item: binding beyond loopback with no token lets anyone read the metrics."""
    from rtnb.serve import Server

    with pytest.warns(UserWarning, match=rf"host '{re.escape(host)}'.*anyone on the network"):
        Server(MemoryStore(), host=host)  # constructed, not started: no socket is bound


@pytest.mark.parametrize("host, token", [("127.0.0.1", None), ("localhost", None), ("::1", None),
                                         ("0.0.0.0", "s3cret")])
def test_loopback_or_a_token_serves_without_a_warning(host, token):
    from rtnb.serve import Server

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Server(MemoryStore(), host=host, token=token)


def test_puts_between_two_looks_are_all_pushed_in_order(store):
    """A pipeline catching up puts several snapshots before the hub looks again: a
    live stream still gets every version, in order, none counted as skipped."""
    app = create_app(store)

    async def go():
        streaming = asyncio.Event()
        task = asyncio.create_task(sse_until(app, "/metrics/orders/events", 4, streaming=streaming))
        await streaming.wait()
        for i in (4, 5, 6):
            store.put(make_snapshot("orders", i))  # three puts, one look
        app.state.rtnb.hub.refresh()
        return await task

    _, _, events = asyncio.run(go())
    assert [(e["event"], e["id"]) for e in events] == [("snapshot", str(i)) for i in (3, 4, 5, 6)]
    assert [e["data"]["snapshot"]["counters"]["received"] for e in events] == [3, 4, 5, 6]


def test_a_resume_that_fails_leaves_no_subscriber_behind():
    """A reviewer's find: the subscriber was registered before the backlog was read, and a
    backlog that failed (here: the store closed under the server) left it subscribed."""
    from rtnb import StoreError

    class Failing(MemoryStore):
        def snapshots_since(self, metric, version):
            raise StoreError("the store went away")

    store = Failing()
    app = create_app(store, history=2)
    for i in range(1, 6):
        store.put(make_snapshot("orders", i))
        app.state.rtnb.hub.refresh()
    try:
        r = get(app, "/metrics/orders/events", headers={"Last-Event-ID": "1"})
        assert r.status_code >= 400
    except StoreError:
        pass  # the app may let the store's error through; what matters is below
    assert not app.state.rtnb.hub._metrics["orders"].subscribers
