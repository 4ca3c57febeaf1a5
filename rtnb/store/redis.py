"""A store of pre-aggregates on a Redis server, shared between processes.

:class:`RedisStore` follows the same contract as the in-memory store — ``put``,
``latest``, ``history``, ``metrics``, ``version``, ``close`` — but keeps the data in a
Redis server, so a second notebook, a web server or a Voila page can read what a
pipeline writes. Install the extra: ``pip install 'rtnb[redis]'``.

Layout in Redis (``{p}`` is the ``prefix``, one writer per metric)::

    {p}:metrics               SET     the metric names
    {p}:m:{metric}:latest     STRING  the latest snapshot, one encoded value
    {p}:m:{metric}:version    STRING  the store version, +1 per put (cheap to poll)
    {p}:m:{metric}:history    STREAM  one entry per put with a newest event: its time
                                      and the encoded snapshot, trimmed on write to
                                      ``history`` entries (a put with the same newest
                                      event time replaces the last entry)
    {p}:m:{metric}:gaps       LIST    JSON notes of history entries that were lost

Each ``put`` is one MULTI/EXEC round trip (the first put of a metric also reads where
its version stands): the snapshot is one value, so a reader sees the whole new
snapshot or the previous one, never a mix. A reader decodes a snapshot once and then
only compares bytes; its history is fetched incrementally (new stream entries only). Snapshots are encoded
compactly without pickle (safe to read from a shared server): a JSON header with the
metadata, dtypes and index, followed by the raw bytes of each numeric column.

When Redis goes away during a run, ``put`` never raises: the store marks itself down
(``up``, ``status``, ``last_error``, ``failed_writes``), keeps the latest snapshot and
the pending history entries of each metric in memory (bounded by ``history``), and
tries again at most every ``retry_every`` of snapshot processing time. Once Redis is
back, the latest snapshot and the buffered history are written and any history that
could not be kept is noted in ``gaps``. Reads during an outage answer from what this
process last wrote or read, so a dashboard keeps showing its last data while the
freshness badge ages to stale; the first read that works again also writes what is
pending. Only connecting in the constructor raises :class:`rtnb.StoreError` (naming
host and port).

>>> store = RedisStore(url)                       # doctest: +SKIP
>>> store.put(snapshot)                           # doctest: +SKIP
>>> RedisStore(url).latest("orders").table        # doctest: +SKIP

The encoding round-trips tables with their dtypes and index:

>>> import pandas as pd
>>> table = pd.DataFrame({"count": [3, 1], "mean": [2.5, None]},
...                      index=pd.Index(["FR", "DE"], name="country"))
>>> decode_frame(encode_frame(table)).equals(table)
True
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import subprocess
import tempfile
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from .._errors import ParameterError, StoreError, UnknownNameError
from .._time import DurationLike, to_duration
from ..codec import (
    _decode_column,
    _frame_from_spec,
    _label_from_json,
    _ns,
    _unpack,
    _value_from_json,
    decode_frame,
    decode_snapshot,
    encode_frame,
    encode_snapshot,
)
from ..health import Snapshot
from .memory import _history_frame

__all__ = ["RedisStore", "HistoryGap", "LocalRedisServer", "encode_snapshot",
           "decode_snapshot", "encode_frame", "decode_frame"]

# --------------------------------------------------------------------------- the store


@dataclasses.dataclass(frozen=True, kw_only=True)
class HistoryGap:
    """History entries of a metric that did not reach Redis (or that Redis lost).

    ``start`` and ``end`` are the newest-event times of the first and last missing
    entry (``None`` when unknown, e.g. entries lost when the server restarted empty),
    ``missed`` how many entries, ``reason`` why.

    >>> HistoryGap(metric="orders", start=None, end=None, missed=3, reason="server restarted")
    HistoryGap(metric='orders', start=None, end=None, missed=3, reason='server restarted')
    """

    metric: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    missed: int
    reason: str

    def as_json(self) -> str:
        """The note as JSON (what is kept in Redis under ``{p}:m:{metric}:gaps``)."""
        return json.dumps({"metric": self.metric, "start": _ns(self.start),
                           "end": _ns(self.end), "missed": self.missed,
                           "reason": self.reason})

    @classmethod
    def from_json(cls, text: str | bytes) -> HistoryGap:
        """The note back from :meth:`as_json`.

        >>> g = HistoryGap(metric="m", start=pd.Timestamp("2024-01-01"), end=None,
        ...                missed=1, reason="outage")
        >>> HistoryGap.from_json(g.as_json()) == g
        True
        """
        d = json.loads(text)
        return cls(metric=d["metric"],
                   start=None if d["start"] is None else pd.Timestamp(d["start"], unit="ns"),
                   end=None if d["end"] is None else pd.Timestamp(d["end"], unit="ns"),
                   missed=d["missed"], reason=d["reason"])


@dataclasses.dataclass
class _Pending:
    """What one metric still has to write: the latest snapshot and history entries."""

    latest: Snapshot | None
    history: deque  # (newest_event ns, encoded snapshot) not yet in Redis
    latest_blob: bytes = b""
    overflow: int = 0
    overflow_start: pd.Timestamp | None = None
    overflow_end: pd.Timestamp | None = None


@dataclasses.dataclass
class _HistoryCache:
    """A reader's decoded copy of one metric's history stream (ids kept to trim)."""

    last_id: bytes = b"0-0"
    ids: list = dataclasses.field(default_factory=list)
    times: list = dataclasses.field(default_factory=list)
    tables: list = dataclasses.field(default_factory=list)  # _Entry per history entry
    frames: dict = dataclasses.field(default_factory=dict)  # column -> DataFrame


class _Entry:
    """One history entry as read: the table's spec and bytes, decoded only on demand.

    Building a DataFrame per entry would cost more than the whole pivot, so
    :func:`_pivot` reads the key levels and the one column it needs straight from here.
    """

    __slots__ = ("spec", "body", "labels")

    def __init__(self, blob: bytes) -> None:
        header, self.body = _unpack(blob)
        self.spec = header["table"] if "table" in header else header["frame"]
        self.labels = [_label_from_json(c) for c in self.spec["labels"]]

    @property
    def plain(self) -> bool:
        """Whether the keys and columns need no pandas to read (the common case)."""
        return all(c["kind"] in ("np", "json") for c in self.spec["index"]) and \
            all(c["kind"] == "np" for c in self.spec["columns"])

    def frame(self) -> pd.DataFrame:
        return _frame_from_spec(self.spec, self.body)

    def level(self, i: int) -> np.ndarray:
        spec = self.spec["index"][i]
        if spec["kind"] == "np":
            return _decode_column(spec, self.body)
        out = np.empty(len(spec["values"]), dtype=object)
        out[:] = [_value_from_json(v) for v in spec["values"]]
        return out

    def values(self, column: Any) -> np.ndarray:
        return _decode_column(self.spec["columns"][self.labels.index(column)], self.body)


def _redis_module() -> Any:
    try:
        import redis  # the redis-py client, an optional extra
    except ImportError:
        raise StoreError(
            "RedisStore needs the redis client: pip install 'rtnb[redis]'"
        ) from None
    return redis


class RedisStore:
    """The latest snapshot and a bounded history per metric, kept in a Redis server.

    Parameters
    ----------
    url
        ``redis://host:port/db`` of the server (default ``redis://127.0.0.1:6379/0``).
    history
        How many past snapshots to keep per metric (trimmed on every write).
    prefix
        Key prefix, so several stores (or tests) share one server.
    retry_every
        While the server is down, try again at most this often, measured on the
        ``processed_at`` of the snapshots put (time passed in, never read).
    timeout
        Seconds to wait for the server on connect and on each command, so an
        unreachable server cannot stall the pipeline for long.

    Connecting raises :class:`rtnb.StoreError` naming the address:

    >>> RedisStore("redis://127.0.0.1:1/0")   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rtnb._errors.StoreError: cannot reach Redis at 127.0.0.1:1 (redis://127.0.0.1:1/0): ...
    >>> RedisStore("redis://127.0.0.1:6379/0", history=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: history=0 is invalid: must be a positive integer
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        history: int = 1000,
        prefix: str = "rtnb",
        retry_every: DurationLike = "1s",
        timeout: float = 0.5,
    ) -> None:
        if isinstance(history, bool) or not isinstance(history, int) or history < 1:
            raise ParameterError("history", history, "must be a positive integer")
        if not isinstance(prefix, str) or not prefix:
            raise ParameterError("prefix", prefix, "must be a non-empty string")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ParameterError("timeout", timeout, "must be a positive number of seconds")
        if not isinstance(url, str) or urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
            raise ParameterError("url", url, "not a Redis URL such as 'redis://127.0.0.1:6379/0'")
        self.url = url
        self.history_length = history
        self.prefix = prefix
        self.retry_every = to_duration(retry_every, "retry_every", allow_zero=True)
        parts = urlsplit(url)
        self.address = f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"
        redis = _redis_module()
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Any Redis failure (down, timeout, loading, read-only replica, out of memory)
        # marks the serving layer down with the reason; it never reaches the pipeline.
        self._errors = (redis.exceptions.RedisError,)
        # No client-side retries: a down server must show at once, not after backoffs.
        self._client = redis.Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), socket_timeout=timeout,
            socket_connect_timeout=timeout, health_check_interval=0,
        )
        try:
            self._client.ping()
        except redis.exceptions.RedisError as exc:
            self._client.close()
            raise StoreError(f"cannot reach Redis at {self.address} ({url}): {exc}") from None
        self.up = True
        self.last_error: str | None = None
        self.writes = 0
        self.failed_writes = 0
        self.reconnects = 0
        self.gaps: list[HistoryGap] = []
        self._down_since: pd.Timestamp | None = None
        self._last_attempt: pd.Timestamp | None = None
        self._pending: dict[str, _Pending] = {}
        self._written: dict[str, Snapshot] = {}   # the last snapshot written per metric
        self._versions: dict[str, int] = {}       # the store version per metric
        self._caches: dict[str, _HistoryCache] = {}
        self._last_entry: dict[str, tuple[int, bytes]] = {}  # (time, stream id) written
        self._decoded: dict[str, tuple[bytes, Snapshot]] = {}  # metric -> last read
        self._seen_versions: dict[str, int] = {}  # metric -> last version read
        self._closed = False

    # ---------------------------------------------------------------- status

    @property
    def status(self) -> str:
        """``"up"`` or ``"down"`` (the serving layer as a dashboard shows it)."""
        return "up" if self.up else "down"

    @property
    def down_since(self) -> pd.Timestamp | None:
        """The ``processed_at`` of the first snapshot that could not be written."""
        return self._down_since

    @property
    def pending(self) -> int:
        """How many metrics have a snapshot waiting for the server to come back."""
        return sum(1 for p in self._pending.values() if p.latest is not None)

    def _key(self, metric: str, what: str) -> str:
        return f"{self.prefix}:m:{metric}:{what}"

    def _mark_down(self, exc: Exception, at: pd.Timestamp | None) -> None:
        if self.up:
            self._down_since = at
        self.up = False
        self.last_error = f"{type(exc).__name__}: {exc}"

    # ---------------------------------------------------------------- writing

    def put(self, snapshot: Snapshot) -> None:
        """Store ``snapshot`` as the latest of its metric and append it to the history.

        One round trip when the server is up. When it is down, the snapshot is kept
        (latest per metric, history up to ``history`` entries) and written later;
        ``put`` itself never raises for a down server.
        """
        self._check_open()
        if not isinstance(snapshot, Snapshot):
            raise ParameterError("snapshot", type(snapshot).__name__, "must be an rtnb.Snapshot")
        metric = snapshot.metric
        pending = self._pending.get(metric)
        if pending is None:
            pending = self._pending[metric] = _Pending(
                latest=None, history=deque(maxlen=self.history_length))
        if len(pending.history) == self.history_length and \
                _ns(snapshot.newest_event) not in (None, pending.history[-1][0]):
            # the oldest buffered entry falls off
            t_old = pd.Timestamp(pending.history[0][0], unit="ns")
            pending.overflow += 1
            pending.overflow_start = pending.overflow_start or t_old
            pending.overflow_end = t_old
        if metric not in self._versions:
            self._versions[metric] = self._server_version(metric)
        self._versions[metric] += 1
        # encoded once: the same bytes are the latest value and the history entry
        blob = encode_snapshot(snapshot, store_version=self._versions[metric])
        pending.latest = snapshot
        pending.latest_blob = blob
        t = _ns(snapshot.newest_event)
        if t is not None:  # same contract as MemoryStore: no event, no history entry
            if pending.history and pending.history[-1][0] == t:
                pending.history[-1] = (t, blob)  # same event time: the newer answer wins
            else:
                pending.history.append((t, blob))
        now = snapshot.processed_at
        if not self.up and self._last_attempt is not None and \
                now - self._last_attempt < self.retry_every:
            self.failed_writes += 1
            return
        self._flush(now)

    def _server_version(self, metric: str) -> int:
        """Where a metric's versions continue from (a writer restarted on old data)."""
        if not self.up:
            return 0
        try:
            v = self._client.get(self._key(metric, "version"))
        except self._errors:
            return 0  # the write that follows notices the outage
        return 0 if v is None else int(v)

    def retry(self, now: pd.Timestamp | None = None) -> bool:
        """Try to write what is pending now (e.g. on a frame while no data arrives).

        Returns whether the store is up afterwards.
        """
        self._flush(now)
        return self.up

    def _flush(self, now: pd.Timestamp | None) -> None:
        self._last_attempt = now
        was_down = not self.up
        try:
            if was_down:
                self._client.ping()
                self._note_server_losses()
            for metric in list(self._pending):
                self._write(metric)
        except self._errors as exc:
            self.failed_writes += 1
            self._mark_down(exc, now)
            return
        if was_down:
            self.reconnects += 1
        self.up = True
        self._down_since = None

    def _note_server_losses(self) -> None:
        """After an outage: if the server came back without our data, note the gap."""
        metrics = [m for m in self._written]
        if not metrics:
            return
        pipe = self._client.pipeline(transaction=False)
        for m in metrics:
            pipe.get(self._key(m, "version"))
        for m, v in zip(metrics, pipe.execute()):
            if v is None:
                gap = HistoryGap(metric=m, start=None,
                                 end=self._written[m].newest_event,
                                 missed=self.history_length,
                                 reason="the Redis server came back without this metric's "
                                        "data (restarted without persistence); history "
                                        "before the outage is lost there")
                self._record_gap(gap, pipe=None)

    def _record_gap(self, gap: HistoryGap, pipe: Any) -> None:
        self.gaps.append(gap)
        target = pipe if pipe is not None else self._client
        target.rpush(self._key(gap.metric, "gaps"), gap.as_json())
        target.ltrim(self._key(gap.metric, "gaps"), -100, -1)

    def _write(self, metric: str) -> None:
        pending = self._pending[metric]
        if pending.latest is None and not pending.history:
            return
        version = self._versions[metric]
        pipe = self._client.pipeline(transaction=True)  # MULTI ... EXEC: one round trip
        if pending.overflow:
            gap = HistoryGap(metric=metric, start=pending.overflow_start,
                             end=pending.overflow_end, missed=pending.overflow,
                             reason="Redis was down longer than the history buffer")
            self.gaps.append(gap)
            pipe.rpush(self._key(metric, "gaps"), gap.as_json())
            pipe.ltrim(self._key(metric, "gaps"), -100, -1)
        hist_key = self._key(metric, "history")
        last = self._last_entry.get(metric)
        if pending.history and last is not None and last[0] == pending.history[0][0]:
            pipe.xdel(hist_key, last[1])  # same event time as the entry in Redis: replace it
        for t, blob in pending.history:
            pipe.xadd(hist_key, {"t": str(t), "d": blob},
                      maxlen=self.history_length, approximate=False)
        if pending.latest is not None:
            pipe.set(self._key(metric, "latest"), pending.latest_blob)
        pipe.set(self._key(metric, "version"), version)
        pipe.sadd(f"{self.prefix}:metrics", metric)
        try:
            replies = pipe.execute()
        except self._errors:
            if pending.overflow:
                self.gaps.pop()  # not written; noted again on the next attempt
            raise
        self.writes += 1
        if pending.history:
            added = [r for r in replies if isinstance(r, bytes) and b"-" in r]
            self._last_entry[metric] = (pending.history[-1][0], added[-1])
        if pending.latest is not None:
            self._written[metric] = pending.latest
        pending.latest = None
        pending.history.clear()
        pending.overflow = 0
        pending.overflow_start = pending.overflow_end = None

    # ---------------------------------------------------------------- reading

    def _back_up(self) -> None:
        """A read just worked: if the store was down, write what is pending now."""
        if not self.up:
            self._flush(self._last_attempt)

    def _local_latest(self, metric: str) -> Snapshot | None:
        """What this process knows: its own newest put, else the last snapshot it read."""
        p = self._pending.get(metric)
        if p is not None and p.latest is not None:
            return p.latest
        if metric in self._written:
            return self._written[metric]
        seen = self._decoded.get(metric)
        return None if seen is None else seen[1]

    def latest(self, metric: str) -> Snapshot | None:
        """The latest snapshot of ``metric`` (``None`` if there is none).

        One GET. A snapshot already decoded is not decoded again while the stored value
        is unchanged, so a server answering many viewers decodes once per update.
        During an outage: the latest snapshot this process put.
        """
        self._check_open()
        try:
            blob = self._client.get(self._key(metric, "latest"))
        except self._errors as exc:
            self._mark_down(exc, None)
            return self._local_latest(metric)
        self._back_up()
        if blob is None:
            return self._local_latest(metric)
        cached = self._decoded.get(metric)
        if cached is not None and cached[0] == blob:
            return cached[1]  # unchanged since the last read: snapshots are values
        snapshot = decode_snapshot(blob)
        self._decoded[metric] = (blob, snapshot)
        return snapshot

    def version(self, metric: str) -> int:
        """How many snapshots of ``metric`` were put (0 if none); cheap to poll."""
        self._check_open()
        try:
            v = self._client.get(self._key(metric, "version"))
        except self._errors as exc:
            self._mark_down(exc, None)
            return max(self._versions.get(metric, 0), self._seen_versions.get(metric, 0))
        self._back_up()
        if v is None:
            return self._versions.get(metric, 0)
        self._seen_versions[metric] = int(v)
        return max(int(v), self._versions.get(metric, 0))

    def metrics(self) -> list[str]:
        """The names of the metrics in the store, sorted."""
        self._check_open()
        try:
            names = {m.decode() for m in self._client.smembers(f"{self.prefix}:metrics")}
        except self._errors as exc:
            self._mark_down(exc, None)
            names = set()
        else:
            self._back_up()
        return sorted(names | set(self._pending))

    def history_gaps(self, metric: str) -> list[HistoryGap]:
        """The gaps noted in Redis for ``metric`` (by any writer), oldest first."""
        self._check_open()
        try:
            raw = self._client.lrange(self._key(metric, "gaps"), 0, -1)
        except self._errors as exc:
            self._mark_down(exc, None)
            return [g for g in self.gaps if g.metric == metric]
        return [HistoryGap.from_json(r) for r in raw]

    def history(self, metric: str, column: str) -> pd.DataFrame:
        """Past values of ``column``: index newest event time, one column per key.

        Bounded to ``history`` rows. A reader keeps a decoded copy and fetches only
        the entries written since its last call (one round trip).
        """
        self._check_open()
        cache = self._caches.setdefault(metric, _HistoryCache())
        key = self._key(metric, "history")
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.xrange(key, min=b"(" + cache.last_id, max="+")
            pipe.xrange(key, min="-", max="+", count=1)
            new, first = pipe.execute()
        except self._errors as exc:
            self._mark_down(exc, None)
            return self._history_frame(metric, cache, column)
        self._back_up()
        changed = bool(new)
        if not first:
            changed = changed or bool(cache.ids)
            cache.ids.clear(), cache.times.clear(), cache.tables.clear()
            cache.last_id = b"0-0"
        else:
            first_id = _stream_id(first[0][0])
            drop = 0
            while drop < len(cache.ids) and cache.ids[drop] < first_id:
                drop += 1
            if drop:
                changed = True
                del cache.ids[:drop], cache.times[:drop], cache.tables[:drop]
        for entry_id, fields in new:
            t = int(fields[b"t"])
            if cache.times and cache.times[-1] == t:  # a replaced entry: the newer wins
                del cache.ids[-1], cache.times[-1], cache.tables[-1]
            cache.ids.append(_stream_id(entry_id))
            cache.times.append(t)
            cache.tables.append(_Entry(fields[b"d"]))
            cache.last_id = entry_id
        excess = len(cache.ids) - self.history_length
        if excess > 0:
            del cache.ids[:excess], cache.times[:excess], cache.tables[:excess]
        if changed:
            cache.frames.clear()
        return self._history_frame(metric, cache, column)

    def _history_frame(self, metric: str, cache: _HistoryCache, column: str) -> pd.DataFrame:
        """The same pivot as MemoryStore's, cached until new entries arrive."""
        frame = cache.frames.get(column)
        if frame is not None:
            return frame
        if not cache.tables:
            return pd.DataFrame(
                index=pd.DatetimeIndex([], name="newest_event", dtype="datetime64[ns]"))
        if not any(column in e.labels for e in cache.tables):
            raise UnknownNameError("column", column, list(cache.tables[-1].labels),
                                   reason=f"not an aggregate of metric {metric!r}")
        if all(e.plain for e in cache.tables):
            frame = _pivot(cache.times, cache.tables, column)
        else:  # categorical keys or extension-dtype columns: the general (slower) way
            entries = [(pd.Timestamp(t, unit="ns"), e.frame())
                       for t, e in zip(cache.times, cache.tables)]
            frame = _history_frame(entries, column, None)
        cache.frames[column] = frame
        return frame

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
                ms, seq = _stream_id(page[-1][0])
                top = f"({ms}-{seq}"
            for lo in range(0, len(drop), 1000):
                self._client.xdel(key, *drop[lo: lo + 1000])
        except self._errors as exc:
            raise StoreError(f"cannot rewind the history of {metric!r} on Redis at "
                             f"{self.address}: {exc}") from None
        if keep is not None:
            self._last_entry[metric] = keep
        else:
            self._last_entry.pop(metric, None)
        self._caches.pop(metric, None)
        return len(drop)

    # ---------------------------------------------------------------- housekeeping

    def clear(self) -> None:
        """Delete every key under this store's prefix (tests, notebooks)."""
        self._check_open()
        try:
            keys = list(self._client.scan_iter(match=f"{self.prefix}:*", count=1000))
            if keys:
                self._client.delete(*keys)
        except self._errors as exc:
            raise StoreError(f"cannot clear {self.prefix}:* on Redis at {self.address}: "
                             f"{exc}") from None
        self._caches.clear()
        self._decoded.clear()
        self._seen_versions.clear()
        self._written.clear()
        self._pending.clear()
        self._versions.clear()
        self._last_entry.clear()

    def close(self) -> None:
        """Close the connections; later reads and writes raise :class:`rtnb.StoreError`.

        Snapshots still pending (Redis down) are dropped; the pipeline's in-memory
        state is not affected.
        """
        self._client.close()
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the RedisStore for {self.address} is closed")

    def __repr__(self) -> str:
        return (f"RedisStore({self.url!r}, status={self.status!r}, "
                f"metrics={len(self._versions)}, failed_writes={self.failed_writes})")


def _stream_id(raw: bytes | str) -> tuple[int, int]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, seq = text.split("-")
    return int(ms), int(seq)


class LocalRedisServer:
    """A throw-away ``redis-server`` on a free loopback port (tests, notebooks, benchmarks).

    No persistence (``--save '' --appendonly no``), its files in a temporary
    directory. ``start()`` returns once the server accepts connections (it reads the
    server's log, no polling); ``stop()`` kills it, as a crash would, so an outage can be
    played and the server started again on the same port. Use it as a context manager.
    Needs the ``redis-server`` program (Debian package ``redis-server``).

    >>> with LocalRedisServer() as server:                  # doctest: +SKIP
    ...     store = RedisStore(server.url)
    >>> LocalRedisServer(port=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: port=0 is invalid: must be a TCP port (1-65535) or None for a free one
    """

    def __init__(self, port: int | None = None, *, executable: str = "redis-server") -> None:
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                                 or not 0 < port < 65536):
            raise ParameterError("port", port, "must be a TCP port (1-65535) or None for a free one")
        self.executable = executable
        self.port = port if port is not None else _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None

    @staticmethod
    def available(executable: str = "redis-server") -> bool:
        """Whether the ``redis-server`` program is installed.

        >>> isinstance(LocalRedisServer.available(), bool)
        True
        """
        return shutil.which(executable) is not None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return None if self.process is None else self.process.pid

    def start(self) -> LocalRedisServer:
        """Start the server; returns once it accepts connections."""
        if self.process is not None:
            return self
        if not self.available(self.executable):
            raise StoreError(f"{self.executable!r} is not installed (Debian package "
                             "redis-server); cannot start a local Redis")
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="rtnb-redis-")
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--dir", self._dir.name, "--loglevel", "notice"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        log = []
        for line in self.process.stdout:  # the server says when it is ready
            log.append(line)
            if "Ready to accept connections" in line:
                self.process.stdout.close()  # the log is not read further
                return self
        self.process.wait()
        self.process = None
        raise StoreError(f"redis-server did not start on port {self.port}:\n" + "".join(log[-10:]))

    def stop(self) -> None:
        """Kill the server and wait until it has exited."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.process = None

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> LocalRedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.process is not None else "stopped"
        return f"LocalRedisServer({self.url!r}, {state})"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pivot(times: list[int], entries: list[_Entry], column: Any) -> pd.DataFrame:
    """MemoryStore's history pivot (one row per entry, one column per key), computed
    from the entries' raw arrays: one Index for all keys instead of one per entry."""
    index = pd.DatetimeIndex(np.asarray(times, dtype="datetime64[ns]"), name="newest_event")
    with_col = [(i, e) for i, e in enumerate(entries) if column in e.labels]
    first = with_col[0][1].spec
    nlevels = len(first["index"])
    levels = []
    for j in range(nlevels):
        parts = [e.level(j) for _, e in with_col]
        spec = first["index"][j]
        arr = np.concatenate(parts) if len(parts) > 1 else parts[0]
        dtype = spec["dtype"] if spec["kind"] == "json" else None
        levels.append(pd.Index(arr, dtype=dtype if dtype != "object" else object))
    names = [_label_from_json(n) for n in first["index_names"]]
    if first["multi"]:
        keys = pd.MultiIndex.from_arrays(levels, names=names)
    else:
        keys = levels[0].rename(names[0])
    codes, uniques = keys.factorize(use_na_sentinel=False)  # a NaN key is a key (Rolling keeps it)
    rows = np.repeat([i for i, _ in with_col], [e.spec["nrows"] for _, e in with_col])
    parts = [e.values(column) for _, e in with_col]
    values = np.concatenate(parts) if len(parts) > 1 else parts[0]
    numeric = values.dtype.kind in "biuf"
    out = np.full((len(entries), len(uniques)), np.nan if numeric else None,
                  dtype=np.float64 if numeric else object)
    out[rows, codes] = values
    frame = pd.DataFrame(out, index=index, columns=uniques)
    frame.columns.name = names[0] if not isinstance(uniques, pd.MultiIndex) else None
    try:
        frame = frame[uniques.sort_values()]
    except TypeError:  # keys of mixed types: keep the order of first appearance
        pass
    return frame
