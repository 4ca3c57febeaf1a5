"""The server's view of a store: new versions seen once, encoded once, fanned out.

:class:`SnapshotHub` watches a :class:`rtnb.Store` (``version`` per metric, cheap) and,
for every new version, reads the latest snapshot once, encodes it to JSON once, keeps
it in a bounded per-metric ring (``history`` versions, for resuming push clients) and
hands it to every subscriber. Each subscriber has a bounded queue: a slow client
loses the oldest queued versions, counted as ``skipped``, never holding the others
back, and always gets the latest.

Version numbers are the store's. Resumes deliver every version after the client's
last one — from the ring, or, for versions the hub never saw (put while the server
was stopped, or the store moved by more than one between two looks), from the
store's own recent snapshots when it keeps them (``snapshots_since``, as
:class:`rtnb.MemoryStore` does) — or else the latest with the gap marked and counted.

>>> import pandas as pd
>>> from rtnb import Counters, MemoryStore, Snapshot
>>> store = MemoryStore(history=3)   # the store keeps 3 snapshots, the hub's ring 3 versions
>>> def put(i):
...     store.put(Snapshot(metric="orders", table=pd.DataFrame({"count": [i]}), window=None,
...         watermark=None, newest_event=pd.Timestamp(i, unit="s"), processed_at=pd.Timestamp(i, unit="s")))
>>> hub = SnapshotHub(store, history=3)
>>> for i in range(5):
...     put(i); _ = hub.refresh()
>>> [v for v, _ in hub.since("orders", 2).items], hub.since("orders", 2).missed
([3, 4, 5], 0)
>>> r = hub.since("orders", 0)      # versions 1 and 2 rolled out of the ring and the store
>>> [v for v, _ in r.items], r.missed
([5], 4)
>>> for i in range(5, 7):
...     put(i)                          # put while no hub looks (the server is stopped)
>>> _ = hub.refresh()
>>> [v for v, _ in hub.since("orders", 5).items]   # 6 read back from the store at the look
[6, 7]
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._checks import check_int, check_number
from .._errors import UnknownNameError
from .._time import DurationLike, to_duration
from ..store import Store
from ..tiers import classify, get_tier
from ..codec import snapshot_json

__all__ = ["SnapshotHub", "Resume", "Subscriber"]

_DEFAULT_LIMIT = pd.Timedelta("1min")  # the real-time tier's slowest age


@dataclass
class Resume:
    """What a reconnecting client gets: ``items`` (version, JSON bytes) oldest first,
    ``missed`` versions it will never get (0 when ``items`` is every version it lacked),
    and ``reset`` when its last version is ahead of the store's (a new store)."""

    items: list[tuple[int, bytes]]
    missed: int = 0
    reset: bool = False


class Subscriber:
    """One push client's bounded queue of new versions of one metric.

    Its stream waits in :meth:`take` on one future that :meth:`offer`, :meth:`beat` or
    :meth:`close` resolves: no timer per client (the hub beats every subscriber from
    one timer), no task per wait."""

    def __init__(self, metric: str, size: int) -> None:
        self.metric = metric
        self.pending: deque[tuple[int, bytes]] = deque()
        self.size = size
        self.skipped = 0  # versions dropped from this queue since the last take()
        self.skipped_total = 0
        self.closed = False
        self.beat_due = False
        self._waiter: asyncio.Future | None = None

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def offer(self, item: tuple[int, bytes]) -> None:
        if len(self.pending) >= self.size:
            self.pending.popleft()
            self.skipped += 1
            self.skipped_total += 1
        self.pending.append(item)
        self._wake()

    def beat(self) -> None:
        """A heartbeat is due: wake the stream if it has nothing else to send."""
        self.beat_due = True
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    async def take(self, timeout: float | None = None) -> tuple[list[tuple[int, bytes]], int]:
        """Wait for queued versions, a heartbeat or the close (or ``timeout`` s);
        returns (items, skipped): ``([], 0)`` for a heartbeat, a close or a timeout."""
        if not self.pending and not self.closed and not self.beat_due:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                if timeout is None:
                    await self._waiter
                else:
                    await asyncio.wait([self._waiter], timeout=timeout)
            finally:
                self._waiter = None
        self.beat_due = False
        items, skipped = list(self.pending), self.skipped
        self.pending.clear()
        self.skipped = 0
        return items, skipped


@dataclass
class _Metric:
    ring: deque  # (version, bytes), oldest first
    version: int = 0
    subscribers: set = field(default_factory=set)


class SnapshotHub:
    """Watch ``store`` and fan each new snapshot version out, encoded once.

    Parameters
    ----------
    store
        Any :class:`rtnb.Store`.
    history
        Versions kept per metric for resuming push clients.
    queue_size
        Versions queued per push client before the oldest are skipped.
    limits
        Per metric, the maximum acceptable data age (a duration or a tier name); the
        others get one minute (the real-time tier's bound).
    watch_every
        Seconds between two looks at the store's versions (:meth:`run`).
    heartbeat
        Seconds between two heartbeats to every subscriber (:meth:`run`).
    """

    def __init__(self, store: Store, *, history: int = 256, queue_size: int = 16,
                 limits: Mapping[str, DurationLike] | None = None, watch_every: float = 0.005,
                 heartbeat: float = 15.0) -> None:
        if not isinstance(store, Store):
            from .._errors import ParameterError

            raise ParameterError("store", type(store).__name__, "must follow the rtnb.Store protocol")
        self.store = store
        self.history = check_int("history", history, minimum=1)
        self.queue_size = check_int("queue_size", queue_size, minimum=1)
        self.watch_every = check_number("watch_every", watch_every, minimum=0, strict=True)
        self.heartbeat = check_number("heartbeat", heartbeat, minimum=0, strict=True)
        self.limits = {str(k): _limit(v, k) for k, v in (limits or {}).items()}
        self._tiers = {str(k): get_tier(v).name for k, v in (limits or {}).items() if _is_tier(v)}
        self._metrics: dict[str, _Metric] = {}
        self.version_reads = 0  # store.version calls
        self.snapshot_reads = 0  # store.latest calls
        self.watch_errors = 0  # looks at the store that raised (the watcher goes on)
        self.last_error: str | None = None

    # ---------------------------------------------------------------- watching
    def refresh(self) -> list[str]:
        """Look at the store once; record and fan out new versions. Returns the
        metrics that changed."""
        changed = []
        for name in self.store.metrics():
            m = self._metrics.get(name)
            self.version_reads += 1
            v = self.store.version(name)
            if m is not None and v == m.version:
                continue
            snap = self.store.latest(name)
            self.snapshot_reads += 1
            if snap is None:
                continue
            if m is None:
                m = self._metrics[name] = _Metric(ring=deque(maxlen=self.history))
            if v < m.version:  # the store was replaced or cleared: start again
                m.ring.clear()
            elif v > m.version + 1 and m.version:  # puts between two looks (a catch-up, a stop)
                self._fill(name, m, v)
            item = (v, snapshot_json(snap, version=v))
            m.ring.append(item)
            m.version = v
            for sub in list(m.subscribers):
                sub.offer(item)
            changed.append(name)
        return changed

    def _fill(self, name: str, m: _Metric, v: int) -> None:
        """Ring and fan out the versions put since the last look and before ``v``, from
        the store's recent snapshots when it keeps them (at most a ring's worth)."""
        recent = getattr(self.store, "snapshots_since", None)
        if recent is None:
            return
        between = [(pv, snap) for pv, snap in recent(name, max(m.version, v - self.history)) if pv < v]
        for pv, snap in between:
            self.snapshot_reads += 1
            item = (pv, snapshot_json(snap, version=pv))
            m.ring.append(item)
            for sub in list(m.subscribers):
                sub.offer(item)

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh every ``watch_every`` seconds and beat every subscriber every
        ``heartbeat`` seconds, until ``stop`` is set."""
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.heartbeat
        while not stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # a store hiccup must not end the watching for good
                self.watch_errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
            if loop.time() >= next_beat:
                self.beat()
                next_beat = loop.time() + self.heartbeat
            await asyncio.sleep(self.watch_every)  # a plain timer: cheaper than a wait_for per look

    def beat(self) -> None:
        """A heartbeat to every subscriber (one timer for all of them)."""
        for m in self._metrics.values():
            for sub in list(m.subscribers):
                sub.beat()

    # ---------------------------------------------------------------- reading
    def metrics(self) -> list[str]:
        """The metrics the hub has seen, sorted."""
        return sorted(self._metrics)

    def check_metric(self, name: str) -> None:
        """:class:`rtnb.UnknownNameError` naming the choices for a metric not served."""
        if name not in self._metrics:
            raise UnknownNameError("metric", name, self.metrics())

    def limit(self, name: str) -> pd.Timedelta:
        """The maximum acceptable data age of ``name``."""
        return self.limits.get(name, _DEFAULT_LIMIT)

    def describe(self, name: str) -> dict[str, Any]:
        """``name``, its version, its limit in seconds and the tier that limit is in."""
        lim = self.limit(name)
        return {"name": name, "version": self._metrics[name].version,
                "limit_s": lim.total_seconds(), "tier": self._tiers.get(name) or classify(lim).name}

    def latest(self, name: str) -> tuple[int, bytes]:
        """The latest (version, JSON bytes) of a served metric."""
        self.check_metric(name)
        return self._metrics[name].ring[-1]

    def version(self, name: str) -> int:
        self.check_metric(name)
        return self._metrics[name].version

    def since(self, name: str, last: int) -> Resume:
        """What a client that last saw version ``last`` lacks (see the module docs)."""
        self.check_metric(name)
        m = self._metrics[name]
        if last > m.version:
            return Resume([m.ring[-1]], missed=0, reset=True)
        if last == m.version:
            return Resume([])
        lacking = m.version - last
        items = [it for it in m.ring if it[0] > last]
        if len(items) == lacking:
            return Resume(items)
        items = self._from_store(name, last, m)
        if len(items) == lacking:
            return Resume(items)
        return Resume([m.ring[-1]], missed=lacking - 1)

    def _from_store(self, name: str, last: int, m: _Metric) -> list[tuple[int, bytes]]:
        """Versions last+1 .. m.version: the ring's bytes, the others encoded from the
        store's recent snapshots (if the store keeps them)."""
        recent = getattr(self.store, "snapshots_since", None)
        if recent is None:
            return []
        have = {v: body for v, body in m.ring}
        for v, snap in recent(name, last):
            if last < v <= m.version and v not in have:
                self.snapshot_reads += 1
                have[v] = snapshot_json(snap, version=v)
        return [(v, have[v]) for v in range(last + 1, m.version + 1) if v in have]

    # ---------------------------------------------------------------- push clients
    def subscribe(self, name: str) -> Subscriber:
        self.check_metric(name)
        sub = Subscriber(name, self.queue_size)
        self._metrics[name].subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        m = self._metrics.get(sub.metric)
        if m is not None:
            m.subscribers.discard(sub)

    def close_subscribers(self) -> None:
        """End every push stream (the server is stopping)."""
        for m in self._metrics.values():
            for sub in list(m.subscribers):
                sub.close()

    @property
    def subscribers(self) -> int:
        return sum(len(m.subscribers) for m in self._metrics.values())

    def __repr__(self) -> str:
        return f"SnapshotHub(metrics={self.metrics()}, subscribers={self.subscribers})"


def _is_tier(value: Any) -> bool:
    try:
        get_tier(value)
    except (UnknownNameError, TypeError):
        return False
    return isinstance(value, str)


def _limit(value: Any, metric: Any) -> pd.Timedelta:
    if _is_tier(value):  # a tier name: its slowest acceptable age
        return get_tier(value).slowest_age
    return to_duration(value, f"limits[{metric!r}]")
