"""The writing half of :class:`rtnb.RedisStore`: puts, the outage flush, loss notes.

A mixin, so the store stays one object for its users while each half stays small:
``RedisStore`` (``redis.py``) holds the connection, the breaker, the reads and the
state both halves share; this class holds what a writer does — one MULTI/EXEC per
put, the buffered entries written back after an outage, and the notes of what Redis
lost (its history shorter than this writer left it) or of a writer taking over a
metric another one (a previous kernel) wrote.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._errors import ParameterError, StoreError
from ..codec import _ns, decode_snapshot, encode_snapshot
from ..health import Snapshot
from ._outage import HistoryGap, Pending
from ._stream_history import stream_id

__all__ = ["RedisWrites", "GAP_NOTES_KEPT"]

GAP_NOTES_KEPT = 100  # gap notes kept per metric in Redis (the newest)


class RedisWrites:
    """Writes of a RedisStore (state and I/O helpers come from ``RedisStore``)."""

    _client: Any
    _errors: tuple
    _versions: dict
    _notes: dict

    def put(self, snapshot: Snapshot, *, extra: dict[str, bytes] | None = None) -> None:
        """Store ``snapshot`` as the latest of its metric and append it to the history.

        One MULTI/EXEC round trip when the server is up (the first put of a metric
        also reads where the metric stands). ``extra`` — ``{key: bytes}`` — is written
        in the same transaction (a checkpoint beside the snapshot it matches); while
        Redis is down it waits with the snapshot, the newest value per key. ``put``
        itself never raises for a down server.
        """
        self._check_open()
        if not isinstance(snapshot, Snapshot):
            raise ParameterError("snapshot", type(snapshot).__name__, "must be an rtnb.Snapshot")
        if extra is not None and not (isinstance(extra, dict) and all(
                isinstance(k, str) and isinstance(v, bytes) for k, v in extra.items())):
            raise ParameterError("extra", type(extra).__name__, "must be a dict of str keys to bytes")
        metric = snapshot.metric
        if metric not in self._versions:
            self._versions[metric] = self._take_over(snapshot)
        self._versions[metric] += 1
        # encoded once: the same bytes are the latest value and the history entry
        blob = encode_snapshot(snapshot, store_version=self._versions[metric])
        self._buffer.add(snapshot, blob, extra)
        if not self._flush():
            self.failed_writes += 1

    def _take_over(self, snapshot: Snapshot) -> int:
        """Where a metric stands in Redis before this writer's first put: its version
        to continue from, its history length, and a note if another writer (a previous
        kernel) left data there."""
        metric = snapshot.metric
        pipe = self._client.pipeline(transaction=False)
        pipe.get(self._key(metric, "version"))
        pipe.xlen(self._key(metric, "history"))
        pipe.get(self._key(metric, "latest"))
        ok, replies = self._call(pipe.execute)
        if not ok:
            return 0  # unknown: the write that follows is buffered
        raw_version, length, raw_latest = replies
        try:
            version = 0 if raw_version is None else int(raw_version)
        except ValueError as exc:
            self._bad(self._key(metric, "version"), exc)
            version = 0  # a bad version is overwritten, never fatal to a writer
        self._in_redis[metric] = int(length)
        if version > 0:
            before = None
            if raw_latest is not None:
                try:
                    before = decode_snapshot(raw_latest)
                except StoreError as exc:
                    self._bad(self._key(metric, "latest"), exc)
            said = "" if before is None else (
                f"; the previous writer's counters were received={before.counters.received:,}, "
                f"this writer's start at received={snapshot.counters.received:,}")
            self._notes.setdefault(metric, []).append(HistoryGap(
                metric=metric, start=None if before is None else before.newest_event,
                end=snapshot.newest_event, missed=0,
                reason=f"a new writer (a restarted kernel?) took over at version {version}"
                       + said))
        return version

    def retry(self, now: pd.Timestamp | None = None) -> bool:
        """Try to write what is pending now, whatever the retry schedule (e.g. on a
        frame while no data arrives). ``now`` is accepted for older callers and not
        used. Returns whether the store is up afterwards."""
        self._check_open()
        if self._buffer.waiting or any(self._notes.values()) or not self.up:
            self._flush(force=True)
        return self.up

    def _flush(self, *, force: bool = False) -> bool:
        ok, _ = self._call(self._buffer.flush, self._write, force=force, trips=0)
        return ok

    def _flush_now(self) -> None:
        """The store just came back: write what waited (no second breaker pass)."""
        try:
            self._buffer.flush(self._write)
        except self._errors as exc:
            self._breaker.failed(self._say(exc))

    def _write(self, metric: str, pending: Pending, gap: HistoryGap | None) -> None:
        notes = self._notes.get(metric, []) + ([gap] if gap is not None else [])
        hist_key = self._key(metric, "history")
        pipe = self._client.pipeline(transaction=True)  # MULTI ... EXEC: one round trip
        for note in notes:
            pipe.rpush(self._key(metric, "gaps"), note.as_json())
            pipe.ltrim(self._key(metric, "gaps"), -GAP_NOTES_KEPT, -1)
        last = self._last_entry.get(metric)
        replace = bool(pending.history) and last is not None and last[0] == pending.history[0][0]
        if replace:
            pipe.xdel(hist_key, last[1])  # same event time as the entry in Redis: replace it
        first_add = 2 * len(notes) + replace
        for t, blob in pending.history:
            pipe.xadd(hist_key, {"t": str(t), "d": blob},
                      maxlen=self.history_length, approximate=False)
        if pending.latest is not None:
            pipe.set(self._key(metric, "latest"), pending.latest_blob)
        for key, value in pending.extra.items():
            pipe.set(key, value)
        pipe.set(self._key(metric, "version"), self._versions[metric])
        pipe.sadd(f"{self.prefix}:metrics", metric)
        pipe.xlen(hist_key)
        self.round_trips += 1
        replies = pipe.execute()
        self.writes += 1
        self._notes.pop(metric, None)
        self.gaps.extend(notes)
        if pending.history:
            added = replies[first_add: first_add + len(pending.history)]
            self._last_entry[metric] = (pending.history[-1][0], added[-1])
        if pending.latest is not None:
            self._written[metric] = pending.latest
        self._check_length(metric, replace, len(pending.history), int(replies[-1]), last)

    def _check_length(self, metric: str, replaced: bool, added: int, length: int,
                      last: tuple[int, bytes] | None) -> None:
        """Compare the history's length with what this writer put there: fewer entries
        means Redis lost some (a restart without persistence); note how many."""
        known = self._in_redis.get(metric)
        self._in_redis[metric] = length
        if known is None:
            return
        expected = min(self.history_length, known - replaced + added)
        if length >= expected:
            return
        why = ("the Redis server restarted (new run_id) without them"
               if self._restarted or self.restarts else
               "they are missing from Redis (deleted, or the server restarted)")
        gap = HistoryGap(metric=metric, start=None,
                         end=None if last is None else pd.Timestamp(last[0], unit="ns"),
                         missed=expected - length,
                         reason=f"{expected - length} history entries were lost: {why}")
        pipe = self._client.pipeline(transaction=True)
        pipe.rpush(self._key(metric, "gaps"), gap.as_json())
        pipe.ltrim(self._key(metric, "gaps"), -GAP_NOTES_KEPT, -1)
        self.gaps.append(gap)
        self.round_trips += 1
        try:
            pipe.execute()
        except self._errors:
            self.gaps.pop()
            self._notes.setdefault(metric, []).append(gap)  # written with the next write
            raise

    def rewind(self, metric: str, newest_event: pd.Timestamp | None) -> int:
        """Drop the history entries newer than ``newest_event`` (all for ``None``).

        A pipeline restored from a checkpoint calls it before it writes those entries
        again (it re-reads the events that came after the checkpoint), so the history
        is what an uninterrupted run writes. Returns how many entries were dropped;
        raises :class:`rtnb.StoreError` when Redis cannot be reached.
        """
        self._check_open()
        key = self._key(metric, "history")
        limit = _ns(newest_event)
        drop: list[bytes] = []
        keep: tuple[int, bytes] | None = None
        try:
            top = "+"
            while keep is None:
                page = self._client.xrevrange(key, max=top, min="-", count=100)
                for entry_id, fields in page:
                    t = int(fields[b"t"])
                    if limit is not None and t <= limit:
                        keep = (t, entry_id)
                        break
                    drop.append(entry_id)
                if len(page) < 100 or keep is not None:
                    break
                ms, seq = stream_id(page[-1][0])
                top = f"({ms}-{seq}"
            for lo in range(0, len(drop), 1000):
                self._client.xdel(key, *drop[lo: lo + 1000])
        except self._errors as exc:
            raise StoreError(f"cannot rewind the history of {metric!r} on Redis at "
                             f"{self.address}: {self._say(exc)}") from None
        if keep is not None:
            self._last_entry[metric] = keep
        else:
            self._last_entry.pop(metric, None)
        self._caches.pop(metric, None)
        if metric in self._in_redis:  # dropped on purpose: not a loss to note later
            self._in_redis[metric] = max(0, self._in_redis[metric] - len(drop))
        return len(drop)
