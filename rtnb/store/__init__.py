"""Stores of pre-aggregates: the latest snapshot and a bounded history per metric.

Views and servers read a store, never raw events. Every backend follows the
:class:`Store` protocol; :class:`MemoryStore` is the default, ``RedisStore`` (extra
``redis``) shares a store between processes.

The contract, stable for every backend:

``put(snapshot)``
    Record a :class:`rtnb.Snapshot` as its metric's latest, append it to the metric's
    history (when it has a ``newest_event``; a snapshot with the same ``newest_event``
    as the previous one replaces that history entry) and increment its version.
``latest(metric) -> Snapshot | None``
    The last snapshot put for ``metric``; ``None`` when there is none.
``history(metric, column) -> DataFrame``
    The time series of one aggregate column: index the snapshots' ``newest_event``
    times (named ``newest_event``, oldest first), one column per key, at most
    ``history`` rows. Empty for a metric never put; :class:`rtnb.UnknownNameError` for
    a column no snapshot of the metric has.
``metrics() -> list[str]``
    The metric names, sorted.
``version(metric) -> int``
    How many snapshots were put for ``metric`` (0 if none). Views poll it at frame time
    and redraw only when it changed, so it must be cheap.
``close()``
    Release resources; reads and writes after ``close`` raise :class:`rtnb.StoreError`.

The package, one concept per module: ``memory`` (MemoryStore), ``redis`` (RedisStore:
connection, status, breaker; its reads in ``_redis_reads``, its writes in
``_redis_writes``), ``_outage`` (what waits while Redis is away, HistoryGap),
``_breaker`` (when to try again), ``_stream_history`` (a reader's copy of a history
stream), ``_history`` (the history pivot both stores answer with), ``local_redis``
(a throw-away redis-server), ``raw`` (SQLite/DuckDB baselines). The bytes themselves
are :mod:`rtnb.codec`'s.

>>> from rtnb.store import MemoryStore, Store
>>> isinstance(MemoryStore(), Store)
True
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pandas as pd

from ..health import Snapshot

__all__ = ["Store", "MemoryStore"]


@runtime_checkable
class Store(Protocol):
    """What views, servers and the pipeline need of a store (see the module docstring).

    >>> class Nothing: ...
    >>> isinstance(Nothing(), Store)
    False
    """

    def put(self, snapshot: Snapshot) -> None: ...

    def latest(self, metric: str) -> Snapshot | None: ...

    def history(self, metric: str, column: str) -> pd.DataFrame: ...

    def metrics(self) -> list[str]: ...

    def version(self, metric: str) -> int: ...

    def close(self) -> None: ...


from .memory import MemoryStore  # noqa: E402  (after Store: memory's docs refer to it)


def __getattr__(name: str) -> Any:
    # The Redis backend is imported on first use, so `import rtnb` stays light.
    if name == "RedisStore":
        from .redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
