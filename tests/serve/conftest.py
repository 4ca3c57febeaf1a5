"""Helpers for the server tests: snapshots in simulated time, an ASGI driver."""

from __future__ import annotations

import asyncio
import json

import pandas as pd
import pytest

from rtnb import Counters, MemoryStore, SimClock, Snapshot
from tests.conftest import require_module

require_module("starlette", "serve")
require_module("uvicorn", "serve")


def make_snapshot(metric: str, i: int, clock: SimClock | None = None) -> Snapshot:
    """Snapshot number ``i`` of ``metric``: its count is i, its newest event is t0 + i s."""
    t = pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=i)
    return Snapshot(metric=metric, table=pd.DataFrame({"count": [i, 2 * i], "mean": [i / 2, None]},
                                                       index=pd.Index(["FR", "DE"], name="country")),
                    window=pd.Timedelta("60s"), watermark=t, newest_event=t,
                    processed_at=clock.now() if clock is not None else t + pd.Timedelta("1s"),
                    counters=Counters(received=i, accepted=i), version=i)


@pytest.fixture
def store() -> MemoryStore:
    s = MemoryStore()
    for i in range(1, 4):
        s.put(make_snapshot("orders", i))
    s.put(make_snapshot("refunds", 1))
    return s


def parse_sse(raw: bytes) -> list[dict]:
    """Events of an SSE byte stream: dicts with event, id and data (JSON-decoded)."""
    out = []
    for block in raw.decode().split("\n\n"):
        ev = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            k, _, v = line.partition(":")
            ev[k] = v[1:] if v.startswith(" ") else v
        if "data" in ev:
            ev["data"] = json.loads(ev["data"])
            out.append(ev)
    return out


async def sse_until(app, path: str, count: int, headers: dict | None = None, *,
                    streaming: asyncio.Event | None = None,
                    hangup: asyncio.Event | None = None) -> tuple[int, dict, list[dict]]:
    """Drive ``app`` directly for one SSE request; hang up once ``count`` events
    (other than heartbeats) arrived, or when ``hangup`` is set. ``streaming`` is set
    at the first body chunk. Returns (status, headers, events)."""
    chunks: list[bytes] = []
    start: dict = {}
    got_enough = hangup if hangup is not None else asyncio.Event()

    async def receive():
        await got_enough.wait()
        return {"type": "http.disconnect"}

    async def send(msg):
        if msg["type"] == "http.response.start":
            start.update(msg)
            if msg["status"] != 200:
                got_enough.set()
        elif msg["type"] == "http.response.body":
            chunks.append(msg.get("body", b""))
            if streaming is not None:
                streaming.set()
            evs = [e for e in parse_sse(b"".join(chunks)) if e.get("event") != "heartbeat"]
            if len(evs) >= count or not msg.get("more_body", False):
                got_enough.set()

    path, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": query.encode(), "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
             "client": ("127.0.0.1", 1), "server": ("rtnb", 80), "state": {}}
    await app(scope, receive, send)
    hdrs = {k.decode(): v.decode() for k, v in start.get("headers", [])}
    return start.get("status"), hdrs, parse_sse(b"".join(chunks))
