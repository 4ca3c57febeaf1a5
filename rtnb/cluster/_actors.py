"""The driver's side of a :class:`~rtnb.cluster.DaskRolling`'s partitions: their actors
started, called and waited for, and a partition whose worker was lost replaced.

A mixin (like :class:`~rtnb.sources._eventlog_offsets.LogOffsets`): what the driver
does with a batch and a snapshot lives in :mod:`rtnb.cluster._driver`; these methods
read the attributes its constructor sets: ``n``, ``timeout``, ``recover``, ``errors``,
``recovered``, ``deltas``, ``_client``, ``_options``, ``_parts``, ``_seq`` and
``_unreported``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import deque
from typing import Any

from .._errors import RtnbError
from ._partial import Delta, Part, absorb
from ._worker import PartitionWorker

__all__ = ["PartitionActors", "WorkerLost"]

_SLICE = 1.0  # seconds between checks that a worker is still there (each asks the scheduler: ~5 ms CPU, 0.2 s wall on a loaded machine)


class WorkerLost(RtnbError):
    """A Dask worker holding partitions stopped answering (killed, crashed, lost)."""


@dataclasses.dataclass
class _Partition:
    actor: Any
    worker: str
    pending: deque  # ActorFutures of calls not yet answered
    since: list  # (seq, frame, watermark) after the last exported state, sent or not
    outbox: list = dataclasses.field(default_factory=list)  # batches not yet sent
    state: dict | None = None  # the last exported state (recovery point)
    future: Any = None  # the actor's task: the worker keeps the actor while it is referenced
    table: Part | None = None  # the partition's table as of its last reply (deltas apply to it)


class PartitionActors:
    """Starting, calling and waiting for the partitions' actors, and replacing a lost one."""

    def _spawn(self, i: int, worker: str, state: dict | None) -> _Partition:
        # A key of its own (uuid4: os.urandom, not the seeded global RNG): a key the
        # scheduler still holds would hand back that older actor.
        fut = self._client.submit(PartitionWorker, self._options, state, actor=True,
                                  workers=[worker], allow_other_workers=False, pure=False,
                                  key=f"rtnb-partition-{i}-{uuid.uuid4().hex}")
        try:
            actor = fut.result(timeout=self.timeout)
        except TimeoutError:
            raise WorkerLost(f"partition {i}: no actor started on {worker} within "
                             f"timeout={self.timeout:g} s") from None
        return _Partition(actor=actor, worker=worker, pending=deque(), since=[], state=state, future=fut)

    def _workers(self) -> list[str]:
        """The workers the scheduler has now, asked of the scheduler itself.

        Not ``client.scheduler_info()``: it returns the client's cached identity, which
        the client's own periodic refresh (every 2 s) replaces with one that lists no
        worker at all — read at that moment, every partition looked lost (a false loss
        at the first tick made the kill tests flaky).
        """
        client = self._client
        info = client.sync(client.scheduler.identity, n_workers=-1)
        return sorted(info.get("workers", {}))

    def _call(self, i: int, method: str, *args: Any) -> Any:
        """Call ``method`` on partition ``i``'s actor; a lost actor is replaced first."""
        try:
            return getattr(self._parts[i].actor, method)(*args)
        except RuntimeError as exc:  # distributed: "Worker holding Actor was lost"
            self._lost(i, exc)
            return getattr(self._parts[i].actor, method)(*args)

    def _wait(self, i: int, fut: Any) -> Any:
        """The call's result, or ``None`` once partition ``i`` was declared lost.

        A call to a killed worker's actor does not fail: it waits forever. So the
        driver waits in short slices and asks the scheduler between them whether the
        worker is still there; ``timeout`` bounds a worker that is there but hung.
        """
        waited = 0.0
        while True:
            try:
                return fut.result(timeout=_SLICE)
            except TimeoutError as exc:
                waited += _SLICE
                gone = self._gone(i)
                if gone or waited >= self.timeout:
                    self._lost(i, exc if not gone else WorkerLost("its worker left the cluster"))
                    return None
            except OSError as exc:  # the worker died mid-call (distributed's CommClosedError)
                self._lost(i, exc)
                return None
            except Exception as exc:
                if _is_loss(exc) or self._gone(i):
                    self._lost(i, exc)  # distributed's own failure (cancelled, killed worker)
                    return None
                # the partition's code raised: a bug, not a lost worker
                raise RtnbError(f"partition {i} on {self._parts[i].worker} failed: "
                                f"{type(exc).__name__}: {exc}") from exc

    def _gone(self, i: int) -> bool:
        """Whether the scheduler says partition ``i``'s worker left (``False`` while the
        client is not connected to the scheduler: not knowing is not a loss)."""
        if getattr(self._client, "status", "running") != "running":
            return False
        try:
            return self._parts[i].worker not in self._workers()
        except (OSError, TimeoutError):
            return False

    def _lost(self, i: int, exc: BaseException) -> None:
        part = self._parts[i]
        msg = f"partition {i} on {part.worker} lost: {type(exc).__name__}: {exc}"
        self.errors.append(msg)
        if not self.recover:
            raise WorkerLost(msg) from exc
        self._unreported.append(WorkerLost(msg + f"; replaced from its state at batch "
                                           f"{-1 if part.state is None else part.state['cluster_seq']} "
                                           f"and the {len(part.since)} batches since"))
        try:  # a client reconnecting to the scheduler sees no workers for a moment
            self._client.wait_for_workers(1, timeout=self.timeout)
        except (OSError, TimeoutError):
            pass
        alive = self._workers()
        alive = [w for w in alive if w != part.worker] or alive
        if not alive:
            raise WorkerLost(msg + "; no worker left to take it over") from exc
        fresh = self._spawn(i, alive[i % len(alive)], part.state)
        fresh.since = list(part.since)  # everything after the state, sent or not: replayed now
        self._parts[i] = fresh
        if fresh.since:
            fresh.pending.append(fresh.actor.apply(list(fresh.since), None))
        self.recovered += 1

    def _send(self, i: int, want: str | None = None) -> None:
        """Send partition ``i``'s waiting batches in one call (and ask for its
        ``"table"`` or ``"state"`` after them)."""
        part = self._parts[i]
        items, part.outbox = part.outbox, []
        if items or want:
            fut = self._call(i, "apply", items, want)
            self._parts[i].pending.append(fut)

    def _settle(self, i: int) -> Any:
        """Wait for every call in flight to partition ``i``; the last one's result.

        ``None`` when the partition was lost on the way (it has been replaced and its
        batches replayed; the caller asks again).
        """
        result = None
        while self._parts[i].pending:
            fut = self._parts[i].pending.popleft()
            result = self._wait(i, fut)
            if result is None:
                return None
            if isinstance(result[1], (Part, Delta)):  # every table reply is applied, in order
                self.deltas += isinstance(result[1], Delta)
                part = self._parts[i]
                part.table = absorb(part.table, result[1])
        return result

    def _export(self, i: int) -> None:
        self._send(i)
        while self._settle(i) is None and self._parts[i].pending:
            pass
        state = self._wait(i, self._call(i, "export"))
        if state is not None:
            part = self._parts[i]  # after the wait: it may have been replaced
            part.state, part.since = state, []


    def _want(self, i: int, want: str) -> Any:
        if want != "table":
            return want
        held = self._parts[i].table  # a delta against what the driver holds, if the worker sent it
        return ("table", -1 if held is None else held.number)

    def _gather(self, want: str) -> list[Any]:
        """Every partition's table (a :class:`~._partial.Part`) or ``"state"`` once all
        batches so far are applied (asked of all partitions at once, then collected)."""
        for i in range(self.n):
            self._send(i, self._want(i, want))
        out = []
        for i in range(self.n):
            while True:
                result = self._settle(i)
                if want == "table":
                    held = self._parts[i].table
                    if result is not None and held is not None and held.seq == self._seq:
                        out.append(held)
                        break
                elif result is not None and result[0] == self._seq and result[1] is not None:
                    out.append(result[1])
                    break
                # lost and replaced, or the call overtook a batch: ask again
                self._send(i, self._want(i, want))
        return out

    def _ask(self, method: str) -> list[Any]:
        out = []
        for i in range(self.n):
            self._send(i)
            while True:
                if self._settle(i) is None and self._parts[i].pending:
                    continue
                res = self._wait(i, self._call(i, method))
                if res is not None:
                    out.append(res)
                    break
        return out

    def _replace_all(self, states: list[dict]) -> None:
        addrs = self._workers()
        if not addrs:
            raise WorkerLost("the Dask cluster has no workers")
        self._parts = [self._spawn(i, addrs[i % len(addrs)], st) for i, st in enumerate(states)]

    def take_errors(self) -> list[WorkerLost]:
        """The worker losses since the last call (each recovered), for the pipeline to
        report on its errors (and the runner's): a loss is never silent."""
        out, self._unreported = self._unreported, []
        return out


def _is_loss(exc: BaseException) -> bool:
    """Whether an actor call failed because its worker or task went away (distributed's
    errors), not because the partition's code raised."""
    name = type(exc).__name__
    return (name in ("KilledWorker", "CancelledError", "FutureCancelledError", "CommClosedError")
            or (isinstance(exc, RuntimeError) and "Worker holding Actor was lost" in str(exc)))
