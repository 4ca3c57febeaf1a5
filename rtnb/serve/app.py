"""The ASGI app over a store: short polling, Server-Sent Events, WebSocket, a page.

Endpoints (``{name}`` is a metric):

``GET /metrics``
    ``{"metrics": [{"name", "version", "limit_s", "tier"}, ...]}``.
``GET /metrics/{name}``
    The latest snapshot as JSON (:mod:`rtnb.codec`, its JSON form), ``ETag: "<version>"``; a
    request with ``If-None-Match`` equal to the current version gets ``304`` and no
    body, so a poll that finds nothing new costs almost nothing.
``GET /metrics/{name}/events``
    Server-Sent Events: ``event: snapshot`` with ``id: <version>`` per new version,
    ``event: gap`` (``{"missed": n, "reason": ...}``) when versions are missing,
    ``event: heartbeat`` every ``heartbeat`` seconds. A ``Last-Event-ID`` header (or
    ``?last_event_id=``, for pages that manage their own reconnects) resumes: every
    version after it from the hub's ring, or the latest with a gap marked.
``WS /metrics/{name}/ws``
    The same messages as JSON objects with a ``type`` (``snapshot``, ``gap``,
    ``heartbeat``); ``?last_version=`` resumes as above.
``GET /``
    The live page (``?metric=``, ``?pattern=sse|ws|poll``, ``?interval=`` seconds for
    polling); its script at ``/page.js``. Nothing is loaded from elsewhere.

Snapshot messages carry the server clock's ``now_ms`` so a page ages the data on the
server's time. With a ``token`` every endpoint wants ``Authorization: Bearer <token>``
(or ``?token=``, because browsers' ``EventSource`` cannot send headers) and answers
``401`` otherwise. Push connections past ``max_connections`` get ``503`` with
``Retry-After``. Bad query values get ``422`` naming the parameter; an unknown metric
``404`` naming the choices.

>>> import httpx, asyncio, pandas as pd
>>> from rtnb import MemoryStore, Snapshot
>>> store = MemoryStore()
>>> store.put(Snapshot(metric="orders", table=pd.DataFrame({"count": [3]}), window=None,
...     watermark=None, newest_event=pd.Timestamp("2024-01-01"), processed_at=pd.Timestamp("2024-01-01")))
>>> async def get(path, **kw):
...     async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(store)),
...                                  base_url="http://rtnb") as c:
...         return await c.get(path, **kw)
>>> r = asyncio.run(get("/metrics/orders"))
>>> r.status_code, r.headers["etag"], r.json()["table"]["data"]
(200, '"1"', [[3]])
>>> asyncio.run(get("/metrics/orders", headers={"If-None-Match": '"1"'})).status_code
304
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .._checks import check_choice, check_int, check_number, check_optional, check_str
from .._errors import ParameterError, UnknownNameError
from .._time import DurationLike
from ..clock import Clock, WallClock
from ..store import Store
from ._hub import SnapshotHub, Subscriber
from ..codec import time_ms

__all__ = ["create_app", "PAGE_PATTERNS", "ServeState"]

PAGE_PATTERNS = ("sse", "ws", "poll")


class ServeState:
    """What one app holds: the hub, its watcher task, connection counts, the token."""

    def __init__(self, hub: SnapshotHub, *, token: str | None, max_connections: int,
                 heartbeat: float, clock: Clock) -> None:
        self.hub = hub
        self.token = token
        self.max_connections = max_connections
        self.heartbeat = heartbeat
        self.clock = clock
        self.open_push = 0
        self.requests = 0
        self.not_modified = 0
        self.rejected = 0
        self.bytes_sent = 0
        self._stop: asyncio.Event | None = None
        self._watcher: asyncio.Task | None = None
        self._frames: dict[tuple[str, str], dict[int, Any]] = {}

    def now_ms(self) -> float:
        return time_ms(self.clock.now())

    def frame(self, kind: str, metric: str, version: int, body: bytes, *, live: bool = True) -> Any:
        """The push message of one version (``kind`` "sse": bytes, "ws": str), stamped
        with the server's ``now_ms``. A live version's message is built once, by the
        first stream that sends it, and shared by every other (its ``now_ms`` is when
        the server first sent it); a backlog one (a client's first, a resume) is built
        for that client, so its ``now_ms`` is not stale."""
        cache = self._frames.setdefault((kind, metric), {}) if live else {}
        f = cache.get(version)
        if f is None:
            env = _envelope(self.now_ms(), body)
            f = (b"id: %d\nevent: snapshot\ndata: %s\n\n" % (version, env) if kind == "sse"
                 else (b'{"type":"snapshot",' + env[1:]).decode())
            if live:
                cache[version] = f
                if len(cache) > 8:  # streams a few versions behind still share theirs
                    del cache[min(cache)]
        return f

    def fresh(self) -> None:
        """Make sure the hub is current: the watcher runs (started on first use)."""
        if self._watcher is None or self._watcher.done():
            self.hub.refresh()
            self._stop = asyncio.Event()
            self._watcher = asyncio.get_running_loop().create_task(self.hub.run(self._stop))

    async def stop(self) -> None:
        """End the watcher and every push stream."""
        if self._stop is not None:
            self._stop.set()
        self.hub.close_subscribers()
        if self._watcher is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    def authorized(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        if self.token is None:
            return True
        given = query.get("token")
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _unauthorized() -> JSONResponse:
    r = _error(401, "a bearer token is required (Authorization: Bearer <token>, or ?token=)")
    r.headers["WWW-Authenticate"] = 'Bearer realm="rtnb"'
    return r


def _query_int(query: Mapping[str, str], name: str, *, minimum: int = 0, header: str | None = None,
               headers: Mapping[str, str] | None = None) -> int | None:
    """An integer query parameter (or header), ParameterError naming it when malformed."""
    raw, param = query.get(name), name
    if raw is None and header is not None and headers is not None:
        raw, param = headers.get(header), header
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ParameterError(param, raw, "must be an integer version") from None
    return check_int(param, value, minimum=minimum)


def _param_error(exc: ParameterError) -> JSONResponse:
    if isinstance(exc, UnknownNameError) and exc.param == "metric":
        return _error(404, str(exc), parameter=exc.param, choices=exc.choices)
    return _error(422, str(exc), parameter=exc.param)


def _guard(handler):
    """Token check and the error mapping for HTTP handlers."""

    async def wrapped(request: Request) -> Response:
        state: ServeState = request.app.state.rtnb
        state.requests += 1
        if not state.authorized(request.headers, request.query_params):
            return _unauthorized()
        try:
            state.fresh()
            return await handler(request, state)
        except ParameterError as exc:
            return _param_error(exc)

    return wrapped


@_guard
async def _list_metrics(request: Request, state: ServeState) -> Response:
    hub = state.hub
    return JSONResponse({"metrics": [hub.describe(m) for m in hub.metrics()]})


@_guard
async def _latest(request: Request, state: ServeState) -> Response:
    name = request.path_params["name"]
    version, body = state.hub.latest(name)
    etag = f'"{version}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Rtnb-Now-Ms": f"{state.now_ms():.1f}"}
    inm = request.headers.get("if-none-match")
    if inm is not None and etag in [t.strip().removeprefix("W/") for t in inm.split(",")]:
        state.not_modified += 1
        return Response(status_code=304, headers=headers)
    state.bytes_sent += len(body)
    return Response(body, media_type="application/json", headers=headers)


def _envelope(now_ms: float, body: bytes) -> bytes:
    return b'{"now_ms":%.1f,"snapshot":%s}' % (now_ms, body)


def _backlog(state: ServeState, name: str, last: int | None) -> tuple[list[tuple[int, bytes]], list[dict]]:
    """(items, gap notes) a new push client gets first."""
    hub = state.hub
    if last is None:
        return [hub.latest(name)], []
    r = hub.since(name, last)
    gaps = []
    if r.reset:
        gaps.append({"missed": 0, "reason": "reset", "detail": f"version {last} is ahead of the store's"})
    elif r.missed:
        gaps.append({"missed": r.missed, "reason": "history",
                     "detail": "versions no longer in the server's history; here is the latest"})
    return r.items, gaps


def _admit(state: ServeState) -> bool:
    if state.open_push >= state.max_connections:
        state.rejected += 1
        return False
    return True


def _too_many(state: ServeState) -> JSONResponse:
    r = _error(503, f"too many connections: the server holds at most max_connections="
                    f"{state.max_connections} push clients; retry later", limit=state.max_connections)
    r.headers["Retry-After"] = "5"
    return r


class _EventStream(Response):
    """An SSE stream written straight to the ASGI ``send``: one message per wake-up
    (every queued frame joined), a frame shared by all streams per version, and one
    task per stream that waits for the client to hang up (no task group, no per-frame
    iterator)."""

    media_type = "text/event-stream"

    def __init__(self, state: ServeState, sub: Subscriber, name: str, items: list, gaps: list,
                 last: int | None) -> None:
        # no Response.__init__: it would add "content-length: 0"; a stream has none
        self.status_code, self.background = 200, None
        self.raw_headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
                            (b"x-accel-buffering", b"no")]
        self.state, self.sub, self.name, self.items, self.gaps, self.last = state, sub, name, items, gaps, last

    async def __call__(self, scope, receive, send) -> None:
        state, sub, name = self.state, self.sub, self.name

        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            sub.close()

        state.open_push += 1
        hangup = asyncio.get_running_loop().create_task(until_disconnect())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            first = [b"retry: 1000\n\n"]
            first += [b"event: gap\ndata: %s\n\n" % json.dumps(g).encode() for g in self.gaps]
            first += [state.frame("sse", name, v, body, live=False) for v, body in self.items]
            sent = self.items[-1][0] if self.items else (self.last or 0)
            await send({"type": "http.response.body", "body": b"".join(first), "more_body": True})
            while not sub.closed:
                new, skipped = await sub.take()
                out = [b'event: gap\ndata: {"missed":%d,"reason":"slow client"}\n\n' % skipped] if skipped else []
                for v, body in new:
                    if v > sent:
                        out.append(state.frame("sse", name, v, body))
                        sent = v
                if not out:
                    if sub.closed:
                        break
                    out.append(b'event: heartbeat\ndata: {"now_ms":%.1f}\n\n' % state.now_ms())
                data = b"".join(out)
                state.bytes_sent += len(data)
                await send({"type": "http.response.body", "body": data, "more_body": True})
            if not hangup.done():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away mid-write
            pass
        finally:
            hangup.cancel()
            state.open_push -= 1
            state.hub.unsubscribe(sub)


@_guard
async def _events(request: Request, state: ServeState) -> Response:
    name = request.path_params["name"]
    state.hub.check_metric(name)
    last = _query_int(request.query_params, "last_event_id", header="Last-Event-ID", headers=request.headers)
    if not _admit(state):
        return _too_many(state)
    sub = state.hub.subscribe(name)  # before the backlog, so nothing falls between
    try:
        items, gaps = _backlog(state, name, last)
    except BaseException:
        state.hub.unsubscribe(sub)  # a failed request leaves no subscriber behind
        raise
    return _EventStream(state, sub, name, items, gaps, last)


async def _websocket(ws: WebSocket) -> None:
    state: ServeState = ws.app.state.rtnb
    state.requests += 1
    if not state.authorized(ws.headers, ws.query_params):
        return await _deny(ws, _unauthorized(), 1008)
    name = ws.path_params["name"]
    try:
        state.fresh()
        state.hub.check_metric(name)
        last = _query_int(ws.query_params, "last_version")
    except ParameterError as exc:
        return await _deny(ws, _param_error(exc), 1008)
    if not _admit(state):
        return await _deny(ws, _too_many(state), 1013)
    await ws.accept()
    sub = state.hub.subscribe(name)
    try:
        items, gaps = _backlog(state, name, last)
    except BaseException:
        state.hub.unsubscribe(sub)
        raise
    state.open_push += 1

    async def until_disconnect() -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
        sub.close()

    reader = asyncio.get_running_loop().create_task(until_disconnect())

    async def send_text(text: str) -> None:
        state.bytes_sent += len(text)
        await ws.send({"type": "websocket.send", "text": text})

    async def send(text: bytes) -> None:
        await send_text(text.decode())

    try:
        for g in gaps:
            await send(json.dumps({"type": "gap", **g}).encode())
        sent = items[-1][0] if items else (last or 0)
        for v, body in items:
            await send_text(state.frame("ws", name, v, body, live=False))
        while not sub.closed:
            new, skipped = await sub.take()
            new = [it for it in new if it[0] > sent]
            if skipped:
                await send(b'{"type":"gap","missed":%d,"reason":"slow client"}' % skipped)
            if not new and not sub.closed:
                await send(b'{"type":"heartbeat","now_ms":%.1f}' % state.now_ms())
            for v, body in new:
                await send_text(state.frame("ws", name, v, body))
                sent = v
        if not reader.done():  # the server is stopping: say so ("service restart")
            await ws.close(code=1012)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        reader.cancel()
        state.open_push -= 1
        state.hub.unsubscribe(sub)


async def _deny(ws: WebSocket, response: JSONResponse, code: int) -> None:
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(response)
    else:
        await ws.close(code=code, reason=json.loads(response.body)["error"][:120])


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


@_guard
async def _page(request: Request, state: ServeState) -> Response:
    q = request.query_params
    pattern = check_choice("pattern", q.get("pattern", "sse"), PAGE_PATTERNS)
    interval = q.get("interval", "1")
    try:
        seconds = float(interval)
    except ValueError:
        raise ParameterError("interval", interval, "must be a number of seconds") from None
    check_number("interval", seconds, minimum=0.05)
    metrics = state.hub.metrics()
    metric = q.get("metric", metrics[0] if metrics else "")
    if metric:
        state.hub.check_metric(metric)
    config = json.dumps({"metric": metric, "pattern": pattern, "interval": seconds,
                         "token": q.get("token"), "limit_s": state.hub.limit(metric).total_seconds()
                         if metric else 60.0})
    html = _asset("page.html").replace(b"__RTNB_CONFIG__", config.replace("</", "<\\/").encode())
    return Response(html, media_type="text/html; charset=utf-8")


async def _page_js(request: Request) -> Response:
    return Response(_asset("page.js"), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "max-age=60"})


def create_app(
    store: Store,
    *,
    token: str | None = None,
    max_connections: int = 2000,
    queue_size: int = 16,
    history: int = 256,
    heartbeat: float = 15.0,
    watch_every: float = 0.005,
    limits: Mapping[str, DurationLike] | None = None,
    clock: Clock | None = None,
) -> Starlette:
    """The ASGI app serving ``store`` (see the module docstring for the endpoints).

    ``max_connections`` bounds push clients (SSE + WebSocket), ``queue_size`` each
    one's queue of versions, ``history`` the versions kept for resumes, ``heartbeat``
    the seconds between heartbeats, ``watch_every`` the seconds between two looks at
    the store, ``limits`` each metric's acceptable data age (duration or tier name).

    >>> create_app(MemoryStore(), max_connections=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: max_connections=0 is invalid: must be an integer >= 1
    """
    token = check_optional(check_str, "token", token)
    state = ServeState(
        SnapshotHub(store, history=history, queue_size=queue_size, limits=limits, watch_every=watch_every,
                    heartbeat=heartbeat),
        token=token,
        max_connections=check_int("max_connections", max_connections, minimum=1),
        heartbeat=check_number("heartbeat", heartbeat, minimum=0, strict=True),
        clock=clock if clock is not None else WallClock(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        state.fresh()
        yield
        await state.stop()

    app = Starlette(routes=[
        Route("/", _page),
        Route("/page.js", _page_js),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/metrics", _list_metrics),
        Route("/metrics/{name}", _latest),
        Route("/metrics/{name}/events", _events),
        WebSocketRoute("/metrics/{name}/ws", _websocket),
    ], lifespan=lifespan)
    app.state.rtnb = state
    return app


from ..store import MemoryStore  # noqa: E402,F401  (for the doctest above)
