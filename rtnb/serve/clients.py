"""Real clients of the server, one per delivery pattern, that measure what they see.

- :class:`Poller` — short polling with ``If-None-Match`` (httpx);
- :class:`SSEClient` — an event stream read with httpx, resumed with ``Last-Event-ID``;
- :class:`WebSocketClient` — the ``websockets`` client, resumed with ``last_version``.

Each records every update it displays (:class:`Update`: when it arrived, its
version, its newest event, so its data age on arrival), the bytes and requests it
used, its reconnects and the versions it never got (``missed``). The push clients
reconnect with exponential backoff and jitter (``retry_delays`` keeps each wait).
:meth:`~_Client.data_age` gives the time-weighted displayed age — the sawtooth a
viewer sees, sampled at random instants, as :func:`rtnb.tiers.simulate` computes it —
so measured and simulated figures compare one to one.

>>> import asyncio, pandas as pd
>>> from rtnb import MemoryStore, Snapshot
>>> from rtnb.serve import Server
>>> store = MemoryStore()
>>> store.put(Snapshot(metric="orders", table=pd.DataFrame({"count": [3]}), window=None,
...     watermark=None, newest_event=pd.Timestamp("2024-01-01"), processed_at=pd.Timestamp("2024-01-01")))
>>> async def main():
...     async with Server(store) as srv:          # on this loop, beside the client
...         client = SSEClient(srv.url, "orders")
...         task = asyncio.ensure_future(client.run())
...         await client.wait_for_version(1)
...         client.stop(); await task
...         return [u.version for u in client.updates], client.requests
>>> asyncio.run(main())
([1], 1)
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_number, check_optional, check_str
from ..clock import Clock, WallClock
from ..codec import time_ms

__all__ = ["Update", "Poller", "SSEClient", "WebSocketClient"]


@dataclass(frozen=True)
class Update:
    """One update a client displayed: arrival, newest-event and processing times in ms
    since the epoch, the store version, and the data age on arrival in seconds."""

    arrived_ms: float
    version: int
    newest_ms: float | None
    processed_ms: float | None = None

    @property
    def age_s(self) -> float | None:
        return None if self.newest_ms is None else (self.arrived_ms - self.newest_ms) / 1000.0


class _Client:
    """What every client records; subclasses implement ``_session``."""

    pattern = ""

    def __init__(self, url: str, metric: str, *, token: str | None = None, clock: Clock | None = None,
                 reconnect_delay: float = 1.0, backoff: float = 2.0, jitter: float = 0.5,
                 max_delay: float = 30.0, keep_updates: bool = True, seed: int | None = None) -> None:
        self.url = check_str("url", url).rstrip("/")
        self.metric = check_str("metric", metric)
        self.token = check_optional(check_str, "token", token)
        self.clock = clock if clock is not None else WallClock()
        self.reconnect_delay = check_number("reconnect_delay", reconnect_delay, minimum=0, strict=True)
        self.backoff = check_number("backoff", backoff, minimum=1)
        self.jitter = check_number("jitter", jitter, minimum=0)
        self.max_delay = check_number("max_delay", max_delay, minimum=0, strict=True)
        self.keep_updates = keep_updates
        self._rng = random.Random(seed)
        self.updates: list[Update] = []
        self.count = 0
        self.version: int | None = None
        self.newest_ms: float | None = None
        self.bytes = 0
        self.requests = 0
        self.reconnects = 0
        self.missed = 0
        self.errors: list[str] = []
        self.retry_delays: list[float] = []
        self.started_ms: float | None = None
        self.connected = asyncio.Event()
        self._stop = asyncio.Event()
        self._changed = asyncio.Event()

    # ---------------------------------------------------------------- recording
    def _now_ms(self) -> float:
        return time_ms(self.clock.now())

    def _show(self, doc: dict) -> None:
        v = int(doc["version"])
        if self.version is not None and v <= self.version:
            if v == self.version:
                return  # a repeat (a resume that overlapped)
        elif self.version is not None and v > self.version + 1:
            self.missed += v - self.version - 1
        self.version = v
        self.newest_ms = doc.get("newest_event_ms")
        self.count += 1
        if self.keep_updates:
            self.updates.append(Update(self._now_ms(), v, self.newest_ms, doc.get("processed_at_ms")))
        self._changed.set()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def wait_until(self, condition: Any) -> None:
        """Until ``condition(self)`` holds, re-checked at every change of this client
        (an update, a connect or disconnect, a retry, a poll)."""
        while not condition(self):
            self._changed.clear()
            await self._changed.wait()

    async def wait_for_version(self, version: int) -> None:
        """Until an update with at least ``version`` has been displayed."""
        await self.wait_until(lambda c: c.version is not None and c.version >= version)

    def _note(self) -> None:
        self._changed.set()

    # ---------------------------------------------------------------- running
    def stop(self) -> None:
        """Ask :meth:`run` to end (it returns at its next wake-up)."""
        self._stop.set()

    async def run(self, seconds: float | None = None) -> None:
        """Receive until :meth:`stop` (or ``seconds``), reconnecting with backoff."""
        self.started_ms = self._now_ms()
        runner = asyncio.ensure_future(self._loop())
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait([runner, stopper], timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            runner.cancel()
            stopper.cancel()
            await asyncio.gather(runner, stopper, return_exceptions=True)

    async def _loop(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            before = self.count
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a refused connection, a reset, a bad status
                self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            self.connected.clear()
            self._note()
            if self._stop.is_set():
                break
            # the first retry after a session that delivered waits the base delay; each
            # retry that follows a failed one waits `backoff` times longer
            attempt = 0 if self.count > before or not self.retry_delays else attempt + 1
            delay = min(self.max_delay, self.reconnect_delay * self.backoff ** attempt)
            delay *= 1 + self.jitter * self._rng.random()
            self.retry_delays.append(delay)
            self._note()
            await asyncio.sleep(delay)
            self.reconnects += 1

    async def _session(self) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    # ---------------------------------------------------------------- summaries
    def data_age(self, end_ms: float | None = None, *, start_ms: float | None = None,
                 samples: int = 2000, seed: int = 0) -> np.ndarray:
        """Displayed data age (seconds) at ``samples`` random instants (stratified) from
        the first update, or ``start_ms`` if later, to ``end_ms`` (default now): the
        time-weighted sawtooth a viewer sees."""
        ups = [u for u in self.updates if u.newest_ms is not None]
        if not ups:
            return np.array([])
        end = self._now_ms() if end_ms is None else end_ms
        arrived = np.array([u.arrived_ms for u in ups])
        newest = np.maximum.accumulate(np.array([u.newest_ms for u in ups]))
        begin = arrived[0] if start_ms is None else max(arrived[0], start_ms)
        if end <= begin:
            return np.array([])
        rng = np.random.default_rng(seed)
        t = begin + (np.arange(samples) + rng.random(samples)) * (end - begin) / samples
        shown = newest[np.searchsorted(arrived, t, side="right") - 1]
        return (t - shown) / 1000.0

    def summary(self, end_ms: float | None = None) -> dict[str, Any]:
        """Counts and the displayed-age p50/p95/max (seconds) of this client."""
        ages = self.data_age(end_ms)
        return {
            "pattern": self.pattern, "updates": self.count, "missed": self.missed,
            "requests": self.requests, "bytes": self.bytes, "reconnects": self.reconnects,
            "age_p50_s": float(np.percentile(ages, 50)) if ages.size else float("nan"),
            "age_p95_s": float(np.percentile(ages, 95)) if ages.size else float("nan"),
            "age_max_s": float(ages.max()) if ages.size else float("nan"),
        }

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.metric!r}, version={self.version}, updates={self.count}, "
                f"missed={self.missed}, reconnects={self.reconnects})")


class Poller(_Client):
    """Short polling every ``interval`` seconds with ``If-None-Match`` (``304`` is free).

    Pass one shared ``httpx.AsyncClient`` as ``client`` to run many pollers cheaply.
    A failed poll counts as an error and the poller keeps its cadence (it retries at
    the next tick: polling has no connection to lose).
    """

    pattern = "polling"

    def __init__(self, url: str, metric: str, *, interval: float = 1.0, client: Any = None,
                 phase: float | None = None, **options: Any) -> None:
        super().__init__(url, metric, **options)
        self.interval = check_number("interval", interval, minimum=0, strict=True)
        self.phase = self._rng.random() * self.interval if phase is None else phase
        self._client = client
        self.not_modified = 0
        self._etag: str | None = None

    async def _session(self) -> None:
        import httpx

        own = self._client is None
        client = httpx.AsyncClient(timeout=10) if own else self._client
        try:
            loop = asyncio.get_running_loop()
            t0 = loop.time() + self.phase
            k = 0
            while not self._stop.is_set():
                delay = t0 + k * self.interval - loop.time()
                k += 1
                if delay > 0:
                    try:
                        await asyncio.wait_for(self._stop.wait(), delay)
                        return
                    except asyncio.TimeoutError:
                        pass
                await self._poll(client)
        finally:
            if own:
                await client.aclose()

    async def _poll(self, client: Any) -> None:
        headers = self._headers()
        if self._etag:
            headers["If-None-Match"] = self._etag
        self.requests += 1
        try:
            r = await client.get(f"{self.url}/metrics/{self.metric}", headers=headers)
        except Exception as exc:  # the server is down: keep polling
            self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            self.connected.clear()
            self._note()
            return
        self.bytes += len(r.content) + sum(len(k) + len(v) + 4 for k, v in r.headers.raw)
        self.connected.set()
        if r.status_code == 304:
            self.not_modified += 1
        elif r.status_code == 200:
            self._etag = r.headers.get("etag")
            self._show(r.json())
        else:
            self.errors.append(f"HTTP {r.status_code}")
        self._note()


class SSEClient(_Client):
    """Server-Sent Events read with httpx; reconnects resume with ``Last-Event-ID``.

    Pass one shared ``httpx.AsyncClient`` (with no connection limit) as ``client`` to
    hold many streams in one process.
    """

    pattern = "sse"

    def __init__(self, url: str, metric: str, *, client: Any = None, **options: Any) -> None:
        super().__init__(url, metric, **options)
        self._client = client
        self.gaps: list[dict] = []
        self._response: Any = None

    def drop(self) -> None:
        """Hang up the current stream (the client then reconnects after its delay)."""
        if self._response is not None:
            asyncio.ensure_future(self._response.aclose())

    async def _session(self) -> None:
        import httpx

        own = self._client is None
        client = httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) if own else self._client
        headers = {**self._headers(), "Accept": "text/event-stream"}
        if self.version is not None:
            headers["Last-Event-ID"] = str(self.version)
        try:
            self.requests += 1
            async with client.stream("GET", f"{self.url}/metrics/{self.metric}/events", headers=headers) as r:
                if r.status_code != 200:
                    raise ConnectionError(f"HTTP {r.status_code}")
                self._response = r
                self.connected.set()
                self._note()
                buf = b""
                async for chunk in r.aiter_raw():  # split events ourselves: cheaper than per line
                    self.bytes += len(chunk)
                    buf += chunk
                    *events, buf = buf.replace(b"\r\n", b"\n").split(b"\n\n")
                    for raw in events:
                        self._block(raw)
        except (httpx.StreamClosed, httpx.ReadError, httpx.RemoteProtocolError) as exc:
            if not isinstance(exc, httpx.StreamClosed):
                raise
        finally:
            self._response = None
            if own:
                await client.aclose()

    def _block(self, raw: bytes) -> None:
        event, data = "message", []
        for line in raw.decode().split("\n"):
            if line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif line.startswith("event:"):
                event = line[6:].strip()
        if data:
            self._event(event, "\n".join(data))

    def _event(self, event: str, data: str) -> None:
        if event == "snapshot":
            self._show(json.loads(data)["snapshot"])
        elif event == "gap":
            self.gaps.append(json.loads(data))


class WebSocketClient(_Client):
    """The ``websockets`` client; reconnects resume with ``?last_version=``."""

    pattern = "websocket"

    def __init__(self, url: str, metric: str, **options: Any) -> None:
        super().__init__(url, metric, **options)
        self.gaps: list[dict] = []
        self.close_codes: list[int | None] = []
        self._ws: Any = None

    def drop(self) -> None:
        """Close the current socket from this side."""
        if self._ws is not None:
            asyncio.ensure_future(self._ws.close())

    async def _session(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        q = [] if self.version is None else [f"last_version={self.version}"]
        if self.token:
            q.append(f"token={self.token}")
        url = "ws" + self.url[4:] + f"/metrics/{self.metric}/ws" + ("?" + "&".join(q) if q else "")
        self.requests += 1
        async with connect(url, open_timeout=10, max_size=None) as ws:
            self._ws = ws
            self.connected.set()
            self._note()
            try:
                async for message in ws:
                    self.bytes += len(message)
                    m = json.loads(message)
                    if m["type"] == "snapshot":
                        self._show(m["snapshot"])
                    elif m["type"] == "gap":
                        self.gaps.append(m)
            except ConnectionClosed:
                pass
            finally:
                self._ws = None
                self.close_codes.append(ws.close_code)
