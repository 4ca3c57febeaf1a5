"""Serve a store for real: short polling, Server-Sent Events, WebSocket and a page.

Install the extra: ``pip install 'rtnb[serve]'`` (Starlette, uvicorn, websockets,
httpx). Why these: Starlette is the ASGI toolkit FastAPI is built on, with HTTP
streaming and WebSockets; we take it without FastAPI because our few query
parameters are checked by rtnb's own checks (one message style, ``422`` naming the
parameter) and FastAPI's generated docs page loads its scripts from a CDN, which this
package must not. SSE framing is a dozen lines, so no SSE library either
(``sse-starlette`` patches uvicorn process-wide at import). uvicorn runs on an asyncio
loop we hand it, which is how the server lives on the kernel's loop.

- :func:`serve` — ``srv = rtnb.serve(store, port=0)``: a running :class:`Server`;
- :mod:`rtnb.serve.app` — :func:`create_app`, the ASGI app and its endpoints;
- :mod:`rtnb.serve._hub` — :class:`SnapshotHub`: versions seen once, encoded once,
  fanned out through bounded per-client queues, kept for resumes;
- :mod:`rtnb.serve.clients` — real clients (poller, SSE, WebSocket) that record the
  data age of every update, bytes, requests and reconnects.

>>> import rtnb
>>> callable(rtnb.serve)
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["serve", "Server", "create_app", "SnapshotHub"]


def serve(store: Any, *, host: str = "127.0.0.1", port: int = 0, **options: Any) -> Any:
    """Serve ``store`` over HTTP and return the running :class:`Server` at once.

    In a notebook the server runs on the kernel's own loop beside the widgets; use
    ``srv.url``, ``srv.stop()``, or ``with rtnb.serve(store) as srv: ...``. Binds
    loopback unless ``host`` says otherwise; options as for :func:`create_app`
    (``token``, ``max_connections``, ``queue_size``, ``history``, ``heartbeat``,
    ``watch_every``, ``limits``, ``clock``).

    >>> import httpx, pandas as pd
    >>> from rtnb import MemoryStore, Snapshot
    >>> store = MemoryStore()
    >>> store.put(Snapshot(metric="orders", table=pd.DataFrame({"count": [3]}), window=None,
    ...     watermark=None, newest_event=pd.Timestamp("2024-01-01"), processed_at=pd.Timestamp("2024-01-01")))
    >>> with serve(store, port=0) as srv:
    ...     [m["name"] for m in httpx.get(srv.url + "/metrics").json()["metrics"]]
    ['orders']
    """
    from .server import Server

    return Server(store, host=host, port=port, **options).start()


def __getattr__(name: str) -> Any:
    # Starlette and uvicorn load on first use, so `import rtnb` stays light.
    if name == "Server":
        from .server import Server

        return Server
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "SnapshotHub":
        from ._hub import SnapshotHub

        return SnapshotHub
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
