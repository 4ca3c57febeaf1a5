"""``rtnb serve``: the server as a service over a RedisStore, with no kernel in the path.

A notebook's pipeline writes snapshots to Redis (:class:`rtnb.RedisStore`); this
process reads the same store and serves it ("low-latency data serving from
pre-computed aggregates"). It runs uvicorn in the foreground with its usual signal
handling: Ctrl-C or SIGTERM end it after the push streams are closed.

>>> from rtnb.cli import build_parser
>>> args = build_parser().parse_args(["serve", "--redis", "redis://127.0.0.1:6390/0", "--port", "0"])
>>> args.redis, args.port, args.host
('redis://127.0.0.1:6390/0', 0, '127.0.0.1')
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TextIO

__all__ = ["run_service"]


def run_service(redis: str, *, host: str = "127.0.0.1", port: int = 8000, prefix: str = "rtnb",
                out: TextIO | None = None, **options: Any) -> int:
    """Serve the RedisStore at ``redis`` until interrupted; returns the exit status.

    Prints one line ``rtnb serve: <url> (redis ...)`` once it accepts requests.
    """
    import uvicorn

    from ..store.redis import RedisStore
    from .server import Server

    out = out if out is not None else sys.stdout
    store = RedisStore(redis, prefix=prefix)
    srv = Server(store, host=host, port=port, **options)
    sock = srv._bind()
    config = uvicorn.Config(srv.app, log_level="warning", lifespan="on", ws="auto",
                            timeout_graceful_shutdown=2, access_log=False)
    server = uvicorn.Server(config)  # with signal handlers: a service stops on SIGTERM

    exit_ = server.handle_exit

    def handle_exit(sig: int, frame: Any) -> None:  # close push streams first, then exit
        srv.state.hub.close_subscribers()
        exit_(sig, frame)

    server.handle_exit = handle_exit

    async def main() -> None:
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)  # uvicorn has no startup event
        if server.started:
            print(f"rtnb serve: {srv.url} (redis {store.address}, prefix {prefix!r})", file=out, flush=True)
        await task

    try:
        asyncio.run(main())
    finally:
        sock.close()
        store.close()
    return 0
