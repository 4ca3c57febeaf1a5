"""The reading half of :class:`rtnb.RedisStore`: versions, latest, history, gap notes.

A mixin beside ``_redis_writes.RedisWrites``; ``RedisStore`` (``redis.py``) holds the
connection, the breaker and the state. The views of one frame share one round trip:
a server-side script answers every followed metric's version, and its latest value
only when that version changed, at most once per ``read_every``. Nothing read is
trusted: a value that does not decode is counted and left out, and the last good
snapshot is served.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from .._errors import StoreError
from ..codec import decode_snapshot
from ..health import Snapshot
from ._outage import HistoryGap
from ._stream_history import HistoryCache

__all__ = ["RedisReads", "Seen"]


@dataclasses.dataclass
class Seen:
    """What a reader last read of one metric."""

    version: int | None = None        # the version read from Redis
    snapshot: Snapshot | None = None  # the last snapshot that decoded
    error: StoreError | None = None   # the last value that did not (nothing good yet)


class RedisReads:
    """Reads of a RedisStore (state and I/O helpers come from ``RedisStore``)."""

    _client: Any
    _seen: dict
    _versions: dict
    _caches: dict

    def _refresh(self, metric: str) -> Seen:
        """One round trip for every metric this reader follows, at most once per
        ``read_every`` (the views of a frame share it) and never while down."""
        self._check_open()
        seen = self._seen.setdefault(metric, Seen())
        now = self.clock.now()
        if metric in self._read_metrics and self._read_at is not None \
                and now - self._read_at < self.read_every:
            return seen
        metrics = list(self._seen)
        keys = [k for m in metrics for k in (self._key(m, "version"), self._key(m, "latest"))]
        args = ["" if self._seen[m].version is None else str(self._seen[m].version)
                for m in metrics]
        ok, flat = self._call(self._read, keys, args)
        if not ok:
            return seen
        self._read_at, self._read_metrics = now, frozenset(metrics)
        for i, m in enumerate(metrics):
            self._apply_read(m, flat[2 * i], flat[2 * i + 1])
        return seen

    def _apply_read(self, metric: str, raw_version: Any, blob: Any) -> None:
        seen = self._seen[metric]
        if raw_version is None:
            return  # nothing in Redis (yet, or any more): keep what was read
        try:
            version = int(raw_version)
        except (TypeError, ValueError) as exc:
            self._bad(self._key(metric, "version"), exc)
            return
        if blob is not None:
            try:
                seen.snapshot, seen.error = decode_snapshot(blob), None
            except StoreError as exc:
                error = self._bad(self._key(metric, "latest"), exc)
                if seen.snapshot is None:
                    seen.error = error
        seen.version = version  # a bad value is not fetched again until it changes

    def latest(self, metric: str) -> Snapshot | None:
        """The latest snapshot of ``metric`` (``None`` if there is none).

        Decoded once per new version. During an outage: the newest snapshot this
        process put or read. A value in Redis that does not decode is never returned:
        the last good one is, or a :class:`rtnb.StoreError` naming the key when there is
        none.
        """
        seen = self._refresh(metric)
        own = self._buffer.latest(metric) or self._written.get(metric)
        if own is not None and self._versions.get(metric, 0) >= (seen.version or 0):
            return own
        if seen.snapshot is None and seen.error is not None:
            raise seen.error
        return seen.snapshot if seen.snapshot is not None else own

    def version(self, metric: str) -> int:
        """How many snapshots of ``metric`` were put (0 if none); cheap to poll."""
        seen = self._refresh(metric)
        return max(self._versions.get(metric, 0), seen.version or 0)

    def metrics(self) -> list[str]:
        """The names of the metrics in the store, sorted."""
        self._check_open()
        ok, raw = self._call(self._client.smembers, f"{self.prefix}:metrics")
        names = set(self._buffer.metrics())
        for m in raw if ok else ():
            try:
                names.add(m.decode())
            except UnicodeDecodeError as exc:
                self._bad(f"{self.prefix}:metrics", exc)
        return sorted(names)

    def history_gaps(self, metric: str) -> list[HistoryGap]:
        """The gaps noted in Redis for ``metric`` (by any writer), oldest first."""
        self._check_open()
        ok, raw = self._call(self._client.lrange, self._key(metric, "gaps"), 0, -1)
        if not ok:
            return [g for g in self.gaps if g.metric == metric]
        notes = []
        for text in raw:
            try:
                notes.append(HistoryGap.from_json(text))
            except (ValueError, TypeError, OverflowError) as exc:
                self._bad(self._key(metric, "gaps"), exc)
        return notes

    def history(self, metric: str, column: str) -> pd.DataFrame:
        """Past values of ``column``: index newest event time, one column per key.

        Bounded to ``history`` rows. A reader keeps a decoded copy and fetches only
        the entries written since its last call (one round trip); entries that do not
        decode are left out (counted in ``bad_values``).
        """
        self._check_open()
        cache = self._caches.get(metric)
        if cache is None:
            cache = self._caches[metric] = HistoryCache(self.history_length)
        key = self._key(metric, "history")
        pipe = self._client.pipeline(transaction=True)
        pipe.xrange(key, min=b"(" + cache.last_id, max="+")
        pipe.xrange(key, min="-", max="+", count=1)
        ok, replies = self._call(pipe.execute)
        if ok:
            for problem in cache.update(*replies):
                self._bad(key, ValueError(problem))
        try:
            return cache.frame(metric, column)
        except StoreError as exc:
            raise self._bad(key, exc) from None
