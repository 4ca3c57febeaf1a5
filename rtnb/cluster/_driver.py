"""The driver: one Rolling's worth of answers from engines spread over Dask workers.

:class:`DaskRolling` is used exactly like :class:`rtnb.Rolling` (``update(batch)``,
``snapshot()``, ``value``, ``counters``), so it drops into :class:`rtnb.Pipeline` and
``build_pipeline(cluster=...)``. What happens to a batch:

1. the driver reads it (the same checks as Rolling) and classifies every row against
   the **global** watermark: late rows and duplicates are counted here, once;
2. accepted rows are cut by a stable hash of their key into ``partitions`` parts and
   each part goes, with the new watermark, to the actor holding that partition on a
   worker (so every partition's window ends where the single-process one does);
3. a snapshot asks every partition for its table (after its pending batches) and
   concatenates them: keys never span partitions, so no per-key merge is needed and
   the answer equals the single-process run on the same events.

Backpressure: at most ``max_pending`` batches are in flight per partition; the next
``update`` waits for the oldest. A partition whose worker is lost is reported
(``errors``, :class:`rtnb.cluster.WorkerLost`) and, when ``recover=True`` (default),
rebuilt on a surviving worker from its last exported state plus the batches sent
since (``checkpoint_every`` batches apart), so nothing is lost or counted twice.

Cluster mode pays a round trip per batch (about a millisecond on loopback): send
coarse batches. ``benchmarks/bench_cluster.py`` measures where it pays.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_int, check_number
from .._errors import ParameterError, RtnbError
from ..clock import Clock
from ..health import Counters, Snapshot
from ..pipeline.rolling import Rolling, RollingConfig
from ..pipeline.watermark import Watermark
from ._partition import partition_of, split
from ._worker import PartitionWorker

__all__ = ["DaskRolling", "WorkerLost"]

INT64_MIN = np.iinfo(np.int64).min


class WorkerLost(RtnbError):
    """A Dask worker holding partitions stopped answering (killed, crashed, lost)."""


@dataclasses.dataclass
class _Partition:
    actor: Any
    worker: str
    pending: deque  # ActorFutures of ingest calls not yet confirmed
    since: list  # (seq, frame, watermark) sent after the last exported state
    state: dict | None = None  # the last exported state (recovery point)


class DaskRolling:
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
        self._client, self._cluster = _connect(client, check_int("workers", workers, minimum=1))
        addrs = sorted(self._client.scheduler_info()["workers"])
        if not addrs:
            raise WorkerLost("the Dask cluster has no workers")
        n = len(addrs) if partitions is None else check_int("partitions", partitions, minimum=1)
        self.n = n
        # The driver classifies; the workers only insert accepted rows.
        self._options = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.init}
        self._options.update(id_col=None, keep_late=0, lateness=cfg.lateness)
        self._wm = Watermark(lateness=cfg.late, id_col=cfg.id_col, keep_late=cfg.keep_late)
        self._probe = Rolling(**{**self._options, "id_col": cfg.id_col})  # reads/validates batches
        self._parts = [self._spawn(i, addrs[i % len(addrs)], None) for i in range(n)]
        self._seq = -1
        self._received = self._accepted = 0
        self._version = 0
        self.errors: list[str] = []
        self.recovered = 0

    # ---------------------------------------------------------------- plumbing
    def _spawn(self, i: int, worker: str, state: dict | None) -> _Partition:
        fut = self._client.submit(PartitionWorker, self._options, state, actor=True,
                                  workers=[worker], allow_other_workers=False, pure=False,
                                  key=f"rtnb-partition-{i}-{id(self)}-{np.random.randint(1 << 30)}")
        actor = fut.result(timeout=self.timeout)
        return _Partition(actor=actor, worker=worker, pending=deque(), since=[], state=state)

    def _wait(self, i: int, fut: Any) -> Any:
        try:
            return fut.result(timeout=self.timeout)
        except Exception as exc:  # a lost worker surfaces as comm/timeout errors
            self._lost(i, exc)
            return None

    def _lost(self, i: int, exc: BaseException) -> None:
        part = self._parts[i]
        msg = f"partition {i} on {part.worker} lost: {type(exc).__name__}: {exc}"
        self.errors.append(msg)
        if not self.recover:
            raise WorkerLost(msg) from exc
        alive = sorted(self._client.scheduler_info()["workers"])
        alive = [w for w in alive if w != part.worker] or alive
        if not alive:
            raise WorkerLost(msg + "; no worker left to take it over") from exc
        fresh = self._spawn(i, alive[i % len(alive)], part.state)
        fresh.since = list(part.since)
        self._parts[i] = fresh
        for seq, frame, wm in part.since:  # replay what the lost state had not exported
            fresh.pending.append(fresh.actor.ingest(seq, frame, wm))
        self.recovered += 1

    def _drain(self, i: int, keep: int) -> None:
        part = self._parts[i]
        while len(part.pending) > keep:
            fut = part.pending.popleft()
            if self._wait(i, fut) is None:
                return self._drain(i, keep)

    def _export(self, i: int) -> None:
        self._drain(i, 0)
        part = self._parts[i]
        state = self._wait(i, part.actor.export())
        if state is not None:
            part.state, part.since = state, []

    # ---------------------------------------------------------------- feeding
    def update(self, batch: pd.DataFrame) -> DaskRolling:
        """Feed a batch (as :meth:`rtnb.Rolling.update`); returns ``self``."""
        probe = self._probe
        ts, ids = probe.read_times(batch)
        n = ts.size
        if n == 0:
            return self
        verdict = self._wm.classify(batch, ts, ids)
        accepted = batch if verdict.all_accepted else batch.iloc[verdict.accepted_index]
        self._received += n
        self._accepted += len(accepted)
        self._seq += 1
        seq, wm = self._seq, self._wm.value
        parts = partition_of(accepted, self.config.keys, self.n)
        for i, rows in enumerate(split(accepted, parts, self.n)):
            part = self._parts[i]
            part.since.append((seq, rows, wm))
            part.pending.append(part.actor.ingest(seq, rows, wm))
            self._drain(i, self.max_pending)
            if len(part.since) >= self.checkpoint_every:
                self._export(i)
        return self

    # ---------------------------------------------------------------- reading
    @property
    def counters(self) -> Counters:
        late, dups = self._wm.late_count, self._wm.duplicate_count
        return Counters(received=self._received, accepted=self._accepted, late=late, duplicates=dups)

    @property
    def late_rows(self) -> pd.DataFrame:
        return self._wm.late_rows

    @property
    def newest_event(self) -> pd.Timestamp | None:
        return None if self._wm.value == INT64_MIN else pd.Timestamp(self._wm.value, unit="ns")

    @property
    def watermark(self) -> pd.Timestamp | None:
        v = self._wm.value
        return None if v == INT64_MIN else pd.Timestamp(v - self.config.late.value, unit="ns")

    def _gather(self, method: str) -> list[pd.DataFrame]:
        for i in range(self.n):
            self._drain(i, 0)
        out = []
        for i in range(self.n):
            res = None
            while res is None:
                res = self._wait(i, getattr(self._parts[i].actor, method)(self._seq) if method == "table"
                                 else getattr(self._parts[i].actor, method)())
                if res is None:
                    self._drain(i, 0)
            out.append(res[1] if method == "table" else res)
        return out

    @property
    def value(self) -> pd.DataFrame:
        """The current table: every partition's rows, sorted by key."""
        tables = [t for t in self._gather("table") if len(t)]
        if not tables:
            return self._probe.value
        return pd.concat(tables).sort_index(kind="stable")

    def closed_windows(self) -> pd.DataFrame:
        """Closed tumbling/sliding windows and sessions of every partition."""
        frames = [f for f in self._gather("closed_windows") if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else self._probe.closed_windows()

    def snapshot(self, processed_at: pd.Timestamp | None = None) -> Snapshot:
        """An immutable :class:`rtnb.Snapshot`, as :meth:`rtnb.Rolling.snapshot`."""
        if processed_at is not None:
            when = pd.Timestamp(processed_at).as_unit("ns")
        elif self.clock is not None:
            when = self.clock.now()
        else:
            when = self.newest_event if self.newest_event is not None else pd.Timestamp(0, unit="ns")
        self._version += 1
        return Snapshot(metric=self.metric, table=self.value, window=self.config.size,
                        watermark=self.watermark, newest_event=self.newest_event,
                        processed_at=when, counters=self.counters, version=self._version)

    @property
    def dashboard_link(self) -> str | None:
        """The Dask dashboard's address (to watch the workers), if it has one."""
        return getattr(self._client, "dashboard_link", None)

    def close(self) -> None:
        """Release the actors, and the local cluster if this object started it."""
        parts, self._parts = self._parts, []
        del parts
        if self._cluster is not None:
            self._client.close()
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskRolling:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"DaskRolling(kind={self.config.kind!r}, partitions={self.n}, "
                f"received={self._received}, accepted={self._accepted}, recovered={self.recovered})")


def _connect(client: Any, workers: int) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the extra is missing
        raise ParameterError("client", client, "cluster mode needs the 'dask' extra: pip install 'rtnb[dask]'") from None
    if client is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0")
        return Client(cluster), cluster
    if isinstance(client, str):
        return Client(client), None
    if isinstance(client, Client):
        return client, None
    raise ParameterError("client", client, "must be a distributed.Client, a scheduler address or None")
