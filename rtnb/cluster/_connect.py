"""Reaching a Dask cluster, and leaving it without noise.

:func:`connect` gives the ``distributed.Client`` a :class:`~rtnb.cluster.DaskRolling`
uses: the one given, one to a scheduler address, or one to a ``LocalCluster`` of its
own. :func:`close_quietly` closes a client and the cluster it started.

Why closing needs care: a ``LocalCluster`` lowers the ``distributed`` log handlers to
WARNING while it runs and, at the very end of its close, puts back the level it found.
With two local clusters closed in the order they were started, the first one's close
puts INFO back while the second still runs; the second's teardown then prints its
INFO lines — and, from the scheduler's batched stream to a retiring worker, a
``CommClosedError`` traceback logged at INFO ("Batched Comm Closed"). That is a
normal close, not an error: :func:`close_quietly` keeps the handlers at WARNING while
the close runs (warnings and errors still show) and then restores what it found.
"""

from __future__ import annotations

import logging
from typing import Any

from .._errors import ParameterError

__all__ = ["QUIET", "connect", "close_quietly", "local_cluster"]

#: Dask settings of the local clusters rtnb starts: the scheduler runs in this process,
#: and with distributed's defaults its periodic work (an event-loop tick every 20 ms,
#: a psutil sample every 0.5 s, work stealing every 0.1 s) cost the driver 62-66 ms of
#: CPU per second while idle; with these, 14-15 ms (measured, 2-core machine). Actors
#: are pinned to their worker: nothing to steal.
QUIET = {
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.scheduler.work-stealing": False,
    "distributed.worker.memory.monitor-interval": "1s",
}


def connect(client: Any, workers: int) -> tuple[Any, Any]:
    """``(client, cluster)``: ``cluster`` is the ``LocalCluster`` started here (else ``None``)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the extra is missing
        raise ParameterError("client", client, "cluster mode needs the 'dask' extra: pip install 'rtnb[dask]'") from None
    if client is None:
        cluster = local_cluster(workers)
        return Client(cluster), cluster
    if isinstance(client, str):
        try:
            return Client(client, timeout=10), None
        except (OSError, TimeoutError) as exc:
            raise ParameterError("client", client, f"no Dask scheduler answered there ({type(exc).__name__}: {exc})") from None
    if isinstance(client, Client):
        return client, None
    raise ParameterError("client", client, "must be a distributed.Client, a scheduler address or None")


def local_cluster(workers: int = 2, **options: Any) -> Any:
    """A ``distributed.LocalCluster`` of ``workers`` processes (one thread each) on
    loopback, with the :data:`QUIET` settings; ``options`` go to ``LocalCluster``
    (default ``dashboard_address="127.0.0.1:0"``: a free port).

    >>> sorted(QUIET)[0]
    'distributed.admin.system-monitor.interval'
    """
    import dask
    from distributed import LocalCluster

    kw = dict(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
              dashboard_address="127.0.0.1:0")
    kw.update(options)
    with dask.config.set(QUIET):
        return LocalCluster(**kw)


def close_quietly(client: Any, cluster: Any = None) -> None:
    """Close ``client`` (if given), then ``cluster`` (if given), with the teardown's
    INFO messages silenced (see the module docstring); warnings and errors still show."""
    handlers = [h for h in logging.getLogger("distributed").handlers if isinstance(h, logging.StreamHandler)]
    saved = [(h, h.level) for h in handlers if h.level < logging.WARNING]
    for h, _ in saved:
        h.setLevel(logging.WARNING)
    try:
        try:
            if client is not None:
                client.close()
        finally:  # the cluster's processes go even when the client's close raised
            if cluster is not None:
                cluster.close()
    finally:
        for h, level in saved:
            if h.level == logging.WARNING:  # the cluster's own restore (to what it found) wins
                h.setLevel(level)
