"""Running the app: on the kernel's own asyncio loop, or on a thread of its own.

:class:`Server` binds its socket at once (``port=0`` picks a free one, so ``url`` is
known before the first request) and runs uvicorn:

- when called with an asyncio loop running in this thread (a Jupyter kernel), as a
  task on that loop, so the server and the dashboard widgets share the kernel's main
  thread and ``start()`` returns at once;
- otherwise (a script, a test, a doctest) on a thread with its own loop; ``start()``
  returns once it accepts requests and ``stop()`` once it has ended.

uvicorn's signal handlers are not installed: the kernel keeps its own Ctrl-C
(interrupt). ``stop()`` first ends every push stream (so shutdown does not wait on
clients that never hang up), then tells uvicorn to exit. The same object can be
started again on the same port; its hub (and so its resume history) carries over.

>>> import httpx
>>> from rtnb import MemoryStore
>>> with Server(MemoryStore(), port=0) as srv:       # no loop running here: a thread
...     httpx.get(srv.url + "/metrics").json()
{'metrics': []}
>>> srv.running
False
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
import warnings
from typing import Any

import uvicorn

from .._checks import check_choice, check_int, check_str
from .._errors import RtnbError, UnknownNameError
from ..store import Store
from .app import create_app

__all__ = ["Server"]


def _loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to any interface


class _QuietServer(uvicorn.Server):
    """uvicorn without signal handlers: a kernel's Ctrl-C stays the kernel's."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


class Server:
    """An HTTP server of ``store`` (see :func:`rtnb.serve` and :mod:`rtnb.serve.app`).

    ``host`` defaults to loopback; ``port=0`` picks a free port. ``run_on`` is
    ``"auto"`` (the running loop of this thread if there is one, else a thread),
    ``"loop"`` or ``"thread"`` (say so where another library runs a loop of its own in
    this thread, as Playwright's sync API does). ``http`` is uvicorn's HTTP parser:
    ``"auto"`` (httptools when installed, as the ``serve`` extra does, else h11),
    ``"httptools"`` or ``"h11"``. Other keyword
    arguments go to :func:`~rtnb.serve.app.create_app` (``token``,
    ``max_connections``, ``queue_size``, ``history``, ``heartbeat``,
    ``watch_every``, ``limits``, ``clock``).
    """

    def __init__(self, store: Store, *, host: str = "127.0.0.1", port: int = 0, run_on: str = "auto",
                 http: str = "auto", **options: Any) -> None:
        self.host = check_str("host", host)
        self.http = check_choice("http", http, ("auto", "httptools", "h11"))
        self.run_on = check_choice("run_on", run_on, ("auto", "loop", "thread"))
        self.port = check_int("port", port, minimum=0, maximum=65535)
        import inspect

        known = [p for p in inspect.signature(create_app).parameters if p != "store"]
        for name in options:
            if name not in known:  # a typo would otherwise be a bare TypeError
                raise UnknownNameError("option", name, [*known, "host", "port", "run_on", "http"])
        if options.get("token") is None and not _loopback(self.host):
            warnings.warn(f"serving on host {self.host!r} without a token: anyone on the network can read "
                          "the metrics (pass token=... or bind 127.0.0.1)", UserWarning, stacklevel=2)
        self.app = create_app(store, **options)
        self._uvicorn: _QuietServer | None = None
        self._task: asyncio.Task | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    # ------------------------------------------------------------------ state
    @property
    def url(self) -> str:
        """``http://host:port`` (the port actually bound)."""
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> Any:
        """The app's :class:`~rtnb.serve.app.ServeState` (hub, counts)."""
        return self.app.state.rtnb

    @property
    def running(self) -> bool:
        if self._task is not None:
            return not self._task.done()
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ start/stop
    def _bind(self) -> socket.socket:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only
        # for sockets that say so; without it each response (headers, then body) waits
        # out the client's delayed ACK: 40 ms per poll.
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM,
                             socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise RtnbError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        sock.listen(2048)  # connections wait in the backlog until uvicorn accepts them
        self.port = sock.getsockname()[1]
        return sock

    def _make(self) -> _QuietServer:
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", ws="auto", http=self.http,
                                timeout_graceful_shutdown=2, access_log=False)
        return _QuietServer(config)

    def start(self) -> Server:
        """Start serving (again); returns ``self``."""
        if self.running:
            return self
        loop = None
        if self.run_on != "thread":
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                if self.run_on == "loop":
                    raise RtnbError("run_on='loop' needs a running asyncio loop in this thread") from None
        sock = self._bind()
        self._uvicorn = server = self._make()
        if loop is not None:
            self._loop = loop
            self._task = loop.create_task(self._serve(server, sock))
            return self
        self._started.clear()
        self._error = None
        self._task = None
        self._thread = threading.Thread(target=self._run_thread, args=(server, sock),
                                        name=f"rtnb-serve-{self.port}", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise RtnbError(f"the server did not start: {self._error!r}")
        return self

    async def _serve(self, server: _QuietServer, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            sock.close()

    def _run_thread(self, server: _QuietServer, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def main() -> None:
            task = loop.create_task(self._serve(server, sock))
            while not server.started and not task.done():
                await asyncio.sleep(0.005)  # uvicorn exposes no startup event; bounded by startup
            self._started.set()
            await task

        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # reported to start(), not lost on the thread
            self._error = exc
        finally:
            self._started.set()
            loop.close()

    def stop(self) -> None:
        """Stop serving: end push streams, close the socket. In a thread: waits."""
        server, loop = self._uvicorn, self._loop
        if server is None or loop is None or not self.running:
            return

        def shut() -> None:
            self.state.hub.close_subscribers()
            server.should_exit = True

        if self._task is not None:
            shut()
            return
        loop.call_soon_threadsafe(shut)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    async def wait_started(self) -> None:
        """(kernel mode) Until uvicorn accepts requests."""
        while self.running and not (self._uvicorn and self._uvicorn.started):
            await asyncio.sleep(0.005)

    async def wait_stopped(self) -> None:
        """(kernel mode) Until the server task has ended."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # ------------------------------------------------------------------ context managers
    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Server:
        self.start()
        await self.wait_started()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()
        await self.wait_stopped()

    def __repr__(self) -> str:
        return f"Server(url={self.url!r}, running={self.running})"
