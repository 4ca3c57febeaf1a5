"""The driver: one Rolling's worth of answers from engines spread over Dask workers.

:class:`DaskRolling` is used exactly like :class:`rtnb.Rolling` (``update(batch)``,
``snapshot()``, ``value``, ``counters``), so it drops into :class:`rtnb.Pipeline` and
``build_pipeline(cluster=...)``. What happens to a batch:

1. the driver reads it (the same checks as Rolling) and classifies every row against
   the **global** watermark: late rows and duplicates are counted here, once;
2. accepted rows are cut by a stable hash of their key into ``partitions`` parts and
   each part goes, with the new watermark, to the actor holding that partition on a
   worker (so every partition's window ends where the single-process one does), as
   the decoded arrays (:class:`rtnb.cluster._partition.Rows`), not a DataFrame;
3. a snapshot asks every partition for its table (after its pending batches); keys
   never span partitions, so no per-key merge is needed and the answer equals the
   single-process run on the same events. A partition answers with the rows of the
   keys that changed since its last answer (:mod:`rtnb.cluster._partial`); the driver
   keeps each partition's table as arrays and applies the delta. The tables are put
   together only as far as the snapshot is read (:class:`rtnb.cluster._merge.Merged`:
   a top-k or one-key read builds its rows, ``table`` concatenates and sorts on first
   read).

Backpressure: at most ``max_pending`` batches are in flight per partition; the next
``update`` waits for the oldest. A partition whose worker is lost is reported
(``errors``; in a pipeline, a :class:`rtnb.RunError` on its and the runner's errors
through :meth:`DaskRolling.take_errors`) and, when ``recover=True`` (default), rebuilt
on a surviving worker from its last exported state — the one the last checkpoint
wrote (:meth:`DaskRolling.export_state`, what :class:`rtnb.checkpoint.Checkpointer`
saves), or every ``checkpoint_every`` batches — plus the batches the driver sent since,
so nothing is lost or counted twice. Those batches are replayed from the driver, not
re-read from the source: the driver has already judged their rows against the global
watermark and moved the other partitions on. When the driver itself dies, a new one
restores the checkpoint (new actors) and the source's entries after it are read again.

Cluster mode pays a round trip per batch (about a millisecond on loopback): send
coarse batches. ``benchmarks/bench_cluster.py`` measures where it pays.

Starting, calling and waiting for the partitions' actors, and replacing a lost one, is
:class:`~rtnb.cluster._actors.PartitionActors` (a mixin of :class:`DaskRolling`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_int, check_number
from .._errors import ParameterError
from ..clock import Clock
from ..health import Counters, Snapshot
from ..pipeline._input import check_zone, decode, read_batch
from ..pipeline._late import LateRows
from ..pipeline.rolling import Rolling, RollingConfig
from ..pipeline.watermark import Watermark
from . import _state
from ._actors import PartitionActors, WorkerLost
from ._connect import close_quietly, connect
from ._merge import Merged
from ._partition import Partitioner, split_rows

__all__ = ["DaskRolling", "WorkerLost"]

INT64_MIN = np.iinfo(np.int64).min


class DaskRolling(PartitionActors):
    """Per-key rolling aggregates computed on a Dask cluster (see the module docstring).

    Parameters
    ----------
    window, **options
        As for :class:`rtnb.Rolling` (``by`` is required: partitions are key ranges).
    client
        A ``distributed.Client``, a scheduler address (``"tcp://..."``), or ``None``
        to start a ``LocalCluster`` of ``workers`` processes (closed by ``close()``).
    workers
        Worker processes of the local cluster (when ``client`` is ``None``).
    partitions
        How many partitions (default: one per worker); several per worker simulate a
        larger cluster.
    max_pending
        Batches in flight per partition before ``update`` waits (backpressure).
    checkpoint_every
        Batches between exports of each partition's state (the recovery point).
    timeout
        Seconds a worker may take to answer before it is declared lost.
    """

    def __init__(
        self,
        window: Any = None,
        *,
        client: Any = None,
        workers: int = 2,
        partitions: int | None = None,
        max_pending: int = 4,
        checkpoint_every: int = 50,
        recover: bool = True,
        timeout: float = 30.0,
        clock: Clock | None = None,
        **options: Any,
    ) -> None:
        self.config = RollingConfig(window=window, **options)
        cfg = self.config
        if not cfg.keys:
            raise ParameterError("by", cfg.by, "cluster mode partitions by key: name the key column(s)")
        if cfg.series is not None:
            raise ParameterError("series", cfg.series, "per-bucket series are not available in cluster mode")
        self.clock = clock
        self.metric = cfg.metric or "+".join(cfg.measures)
        self.max_pending = check_int("max_pending", max_pending, minimum=1)
        self.checkpoint_every = check_int("checkpoint_every", checkpoint_every, minimum=1)
        self.timeout = check_number("timeout", timeout, minimum=0, strict=True)
        self.recover = bool(recover)
        self._own_client = client is None or isinstance(client, str)
        workers = check_int("workers", workers, minimum=1)  # every check before a cluster is started
        if partitions is not None:
            partitions = check_int("partitions", partitions, minimum=1)
        # The driver classifies; the workers only insert accepted rows.
        self._options = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.init}
        self._options.update(id_col=None, keep_late=0, lateness=cfg.lateness)
        self._wm = Watermark(cfg.late.value, dedup=cfg.id_col is not None)
        self._late = LateRows(cfg.keep_late)
        self._empty = Rolling(**self._options).value  # the shape of an empty answer
        self._client, self._cluster = connect(client, workers)
        try:
            addrs = self._workers()
            if not addrs:
                raise WorkerLost("the Dask cluster has no workers")
            n = len(addrs) if partitions is None else partitions
            self.n = n
            self._partitioner = Partitioner(n)
            self._parts = [self._spawn(i, addrs[i % len(addrs)], None) for i in range(n)]
        except BaseException:  # nothing started here outlives the failed constructor
            close_quietly(self._client if self._own_client else None, self._cluster)
            raise
        self._seq = -1
        self._version = 0
        self._zone: str | None | bool = False  # time zone of the batches so far (False: none yet)
        self.errors: list[str] = []
        self._unreported: list[WorkerLost] = []
        self.recovered = 0
        self.deltas = 0  # table replies that came as a delta (the keys changed since the last one)

    # ---------------------------------------------------------------- feeding
    def update(self, batch: pd.DataFrame) -> DaskRolling:
        """Feed a batch (as :meth:`rtnb.Rolling.update`); returns ``self``.

        The partitions' rows wait in the driver until a read or until ``max_pending``
        batches are waiting, then go in one call per partition: small batches do not
        each pay a round trip.
        """
        ts, vals, keycols, ids, zone = self._read(batch)  # the same checks as Rolling, before any change
        if ts.size == 0:
            return self
        try:  # before the watermark counts anything: a key that cannot be hashed changes nothing
            parts = self._partitioner(batch, self.config.keys)
        except TypeError as exc:
            raise ParameterError("by", self.config.by, f"key values must be hashable to be partitioned "
                                 f"({type(exc).__name__}: {exc})") from None
        self._zone = zone
        verdict = self._wm.admit(ts, ids)
        late = verdict.late
        if late.any() and self.config.keep_late:
            self._late.add(batch.iloc[np.flatnonzero(late)])
        acc = verdict.accepted
        if not acc.all():
            at = np.flatnonzero(acc)
            ts, vals, keycols, parts = ts[at], vals[at], [k[at] for k in keycols], parts[at]
        self._seq += 1
        seq, wm = self._seq, self._wm.newest
        # decoded arrays go out, each Categorical key with only the categories its rows use
        for i, rows in enumerate(split_rows(ts, vals, keycols, parts, self.n)):
            part = self._parts[i]
            part.since.append((seq, rows, wm))
            part.outbox.append((seq, rows, wm))
            if len(part.outbox) >= self.max_pending:
                self._send(i)
                while len(self._parts[i].pending) > 1:  # backpressure: one call in flight
                    if self._wait(i, self._parts[i].pending.popleft()) is None:
                        break
            if len(self._parts[i].since) >= self.checkpoint_every:
                self._export(i)
        return self

    def _read(self, batch: pd.DataFrame) -> tuple:
        """``(ts, vals, keycols, ids, zone)``: :func:`~rtnb.pipeline._input.read_batch`'s
        checks plus Rolling's time-zone check. The workers get naive UTC nanoseconds,
        so only the driver can refuse naive times after aware ones (or the reverse)."""
        d = decode(batch, self.config)
        if len(d.rejected):
            read_batch(batch, self.config)  # raises the strict form's ParameterError
        if d.ts.size:
            check_zone(self._zone, d.zone, self.config.time_col)
            return d.ts, d.vals, d.keycols, d.ids, d.zone
        return d.ts, d.vals, d.keycols, d.ids, self._zone

    # ---------------------------------------------------------------- reading
    @property
    def counters(self) -> Counters:
        """Rows received, accepted, late and duplicated (judged once, on the driver)."""
        return self._wm.counters

    @property
    def late_rows(self) -> pd.DataFrame:
        """The most recent late rows (at most ``keep_late``), as they came in."""
        return self._late.rows

    @property
    def newest_event(self) -> pd.Timestamp | None:
        v = self._wm.newest
        return None if v == INT64_MIN else pd.Timestamp(v, unit="ns")

    @property
    def watermark(self) -> pd.Timestamp | None:
        v = self._wm.newest
        return None if v == INT64_MIN else pd.Timestamp(v - self.config.late.value, unit="ns")

    @property
    def value(self) -> pd.DataFrame:
        """The current table: every partition's rows, sorted by key."""
        return Merged(self._gather("table"), self._empty).frame()

    def closed_windows(self) -> pd.DataFrame:
        """Closed tumbling/sliding windows and sessions of every partition."""
        frames = [f for f in self._ask("closed_windows") if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else Rolling(**self._options).closed_windows()

    def snapshot(self, processed_at: pd.Timestamp | None = None) -> Snapshot:
        """An immutable :class:`rtnb.Snapshot`, as :meth:`rtnb.Rolling.snapshot`."""
        if processed_at is not None:
            when = pd.Timestamp(processed_at).as_unit("ns")
        elif self.clock is not None:
            when = self.clock.now()
        else:
            when = self.newest_event if self.newest_event is not None else pd.Timestamp(0, unit="ns")
        self._version += 1
        # put together only as far as it is read: top-k and one-key reads build their rows
        merged = Merged(self._gather("table"), self._empty)
        return Snapshot(metric=self.metric, key_table=merged, window=self.config.size,
                        watermark=self.watermark, newest_event=self.newest_event,
                        processed_at=when, counters=self.counters, version=self._version)

    # ---------------------------------------------------------------- state
    def export_state(self) -> dict:
        """The whole aggregate as plain data, for :mod:`rtnb.checkpoint` (see
        :mod:`rtnb.cluster._state`); it also becomes every partition's recovery point."""
        return _state.export_state(self)

    def load_state(self, state: dict) -> DaskRolling:
        """Load :meth:`export_state` into this fresh aggregator (same configuration and
        partitions: each partition's actor is started anew from its saved state)."""
        _state.load_state(self, state)
        return self

    @property
    def dashboard_link(self) -> str | None:
        """The Dask dashboard's address (to watch the workers), if it has one."""
        return getattr(self._client, "dashboard_link", None)

    def close(self) -> None:
        """Release the actors, and the local cluster if this object started it."""
        parts, self._parts = self._parts, []
        del parts
        client = self._client if self._own_client else None
        close_quietly(client, self._cluster)  # teardown's INFO lines (a CommClosedError trace) silenced
        self._client = self._cluster = None

    def __enter__(self) -> DaskRolling:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"DaskRolling(kind={self.config.kind!r}, partitions={self.n}, "
                f"received={self.counters.received}, accepted={self.counters.accepted}, recovered={self.recovered})")
