"""A store of pre-aggregates on a Redis server, shared between processes.

:class:`RedisStore` follows the same contract as the in-memory store — ``put``,
``latest``, ``history``, ``metrics``, ``version``, ``close`` — but keeps the data in a
Redis server, so a second notebook, a web server or a Voila page can read what a
pipeline writes. Install the extra: ``pip install 'rtnb[redis]'``.

Layout in Redis (``{p}`` is the ``prefix``, one writer per metric)::

    {p}:metrics               SET     the metric names
    {p}:m:{metric}:latest     STRING  the latest snapshot, one encoded value (rtnb.codec)
    {p}:m:{metric}:version    STRING  the store version, +1 per put (cheap to poll)
    {p}:m:{metric}:history    STREAM  one entry per put with a newest event: its time
                                      and the encoded snapshot, trimmed on write to
                                      ``history`` entries (a put with the same newest
                                      event time replaces the last entry)
    {p}:m:{metric}:gaps       LIST    JSON notes of history entries that were lost

This module does the Redis I/O only; the pieces around it live apart: the encoding
in :mod:`rtnb.codec`, what is kept while Redis is away in ``_outage.OutageBuffer``,
when to try again in ``_breaker.CircuitBreaker``, the history reader's cache in
``_stream_history``, the pivot shared with MemoryStore in ``_history``, and the
throw-away server in :mod:`rtnb.store.local_redis`.

**Never blocking the kernel.** Every call waits for Redis at most ``timeout`` (the
socket deadline; one store call makes one round trip). The first failure opens the
circuit breaker: the store is *down*, and from then on it tries at most once per
``retry_every`` of its clock's time — a hung server costs one deadline per
``retry_every``, not one per call. Reads coalesce: the views of one frame share one
round trip (a server-side script answers every metric's version, and its latest
snapshot only when that changed), and a reader answers from that reply for
``read_every``.

**Losing nothing silently.** While down, ``put`` never raises: the latest snapshot
and up to ``history`` pending entries per metric are kept and written when Redis is
back; entries that fell off are noted in ``gaps``. Each write also reads back how long
the history stream is, so entries Redis lost (a server restarted without persistence,
recognised by its new ``run_id``) are noted with their count; a writer that takes over
a metric already in Redis (a kernel restarted on the same prefix) is noted too.

**Trusting no bytes.** Every value read is checked before anything is allocated; a
value that does not decode is never returned: the reader keeps serving its last good
snapshot, counts it in ``bad_values``, and only when it has nothing to serve raises a
:class:`rtnb.StoreError` naming the key.

**No secrets shown.** The password of the URL appears in no repr and no message.

>>> store = RedisStore(url)                       # doctest: +SKIP
>>> store.put(snapshot)                           # doctest: +SKIP
>>> RedisStore(url).latest("orders").table        # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from .._checks import check_int, check_number, check_str
from .._errors import ParameterError, StoreError
from .._time import DurationLike, to_duration
from ..clock import Clock, WallClock
from ..codec import decode_frame, decode_snapshot, encode_frame, encode_snapshot
from ..health import Snapshot
from ._breaker import CircuitBreaker
from ._outage import HistoryGap, OutageBuffer
from ._redis_reads import RedisReads, Seen
from ._redis_writes import RedisWrites
from ._stream_history import HistoryCache
from .local_redis import LocalRedisServer

__all__ = ["RedisStore", "HistoryGap", "LocalRedisServer", "encode_snapshot",
           "decode_snapshot", "encode_frame", "decode_frame"]

# One round trip per frame: every metric's version, and its latest value only when the
# version differs from the one the reader has (KEYS: version, latest per metric).
_READ_SCRIPT = """
local out = {}
for i = 1, #KEYS, 2 do
  local v = redis.call('GET', KEYS[i])
  out[i] = v
  if v and v ~= ARGV[(i + 1) / 2] then
    out[i + 1] = redis.call('GET', KEYS[i + 1])
  else
    out[i + 1] = false
  end
end
return out
"""

def _redis_module() -> Any:
    try:
        import redis  # the redis-py client, an optional extra
    except ImportError:
        raise StoreError(
            "RedisStore needs the redis client: pip install 'rtnb[redis]'"
        ) from None
    return redis


class RedisStore(RedisReads, RedisWrites):
    """The latest snapshot and a bounded history per metric, kept in a Redis server.

    Parameters
    ----------
    url
        ``redis://[:password@]host:port/db`` of the server (default
        ``redis://127.0.0.1:6379/0``). The password is never shown.
    history
        How many past snapshots to keep per metric (trimmed on every write).
    prefix
        Key prefix, so several stores (or tests) share one server.
    retry_every
        While the server is down, try again at most this often (on ``clock``).
    timeout
        Seconds one call may wait for the server (connect and reply): the deadline
        that bounds how long a hung server can hold the kernel.
    clock
        The time the retry schedule and ``read_every`` are measured on (default the
        wall clock: a real server's outages happen in real time).
    read_every
        How long a reader answers from its last round trip (the views of one frame
        share it); ``0`` reads on every call.

    Connecting raises :class:`rtnb.StoreError` naming the address (never the password):

    >>> RedisStore("redis://:s3cret@127.0.0.1:1/0")   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rtnb._errors.StoreError: cannot reach Redis at 127.0.0.1:1 (redis://:***@127.0.0.1:1/0): ...
    >>> RedisStore("redis://127.0.0.1:6379/0", history=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: history=0 is invalid: must be an integer >= 1
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        history: int = 1000,
        prefix: str = "rtnb",
        retry_every: DurationLike = "1s",
        timeout: float = 0.1,
        clock: Clock | None = None,
        read_every: DurationLike = "20ms",
    ) -> None:
        self.history_length = check_int("history", history, minimum=1)
        self.prefix = check_str("prefix", prefix)
        self.timeout = check_number("timeout", timeout, minimum=0, strict=True)
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in {"redis", "rediss", "unix"}:
            raise ParameterError("url", _redact_url(url) if isinstance(url, str) else url,
                                 "not a Redis URL such as 'redis://127.0.0.1:6379/0'")
        self.retry_every = to_duration(retry_every, "retry_every", allow_zero=True)
        self.read_every = to_duration(read_every, "read_every", allow_zero=True)
        if clock is not None and not callable(getattr(clock, "now", None)):
            raise ParameterError("clock", clock, "must be an rtnb clock (SimClock or WallClock)")
        self.clock = clock if clock is not None else WallClock()
        self._secret = parts.password or ""
        self.url = _redact_url(url)
        self.address = f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"
        redis = _redis_module()
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Any Redis failure (down, timeout, loading, read-only replica, out of memory)
        # marks the serving layer down with the reason; it never reaches the pipeline.
        self._errors = (redis.exceptions.RedisError, OSError)
        self._run_id: bytes | None = None
        self._restarted = False
        # No client-side retries: a down server must show at once, not after backoffs.
        self._client = redis.Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout, health_check_interval=0,
            redis_connect_func=self._on_connect,
        )
        try:
            self._client.ping()
        except self._errors as exc:
            self._client.close()
            raise StoreError(f"cannot reach Redis at {self.address} ({self.url}): "
                             f"{self._say(exc)}") from None
        self._read = self._client.register_script(_READ_SCRIPT)
        self._breaker = CircuitBreaker(self.retry_every, self.clock)
        self._buffer = OutageBuffer(self.history_length)
        self.writes = 0            # write transactions that reached Redis
        self.failed_writes = 0     # puts that could not be written at once
        self.reconnects = 0        # times the store came back after being down
        self.restarts = 0          # times the server was seen to restart (new run_id)
        self.round_trips = 0       # round trips made (one per write, frame read, ...)
        self.bad_values = 0        # values read that did not decode (left out)
        self.last_bad_value: str | None = None
        self.gaps: list[HistoryGap] = []
        self._notice: str | None = None
        self._notes: dict[str, list[HistoryGap]] = {}  # to write with the next write
        self._versions: dict[str, int] = {}    # this writer's store version per metric
        self._written: dict[str, Snapshot] = {}  # this writer's last written snapshot
        self._in_redis: dict[str, int] = {}    # history length after our last write
        self._last_entry: dict[str, tuple[int, bytes]] = {}  # (time, stream id) written
        self._seen: dict[str, Seen] = {}
        self._read_at: pd.Timestamp | None = None
        self._read_metrics: frozenset[str] = frozenset()
        self._caches: dict[str, HistoryCache] = {}
        self._closed = False

    # ---------------------------------------------------------------- status

    @property
    def up(self) -> bool:
        """Whether the last call to Redis worked."""
        return self._breaker.up

    @property
    def status(self) -> str:
        """``"up"`` or ``"down"`` (the serving layer as a dashboard shows it)."""
        return self._breaker.status

    @property
    def last_error(self) -> str | None:
        """Why the store is down, or the last thing it noticed (a server restart)."""
        return self._breaker.last_error if not self.up else self._notice

    @property
    def down_since(self) -> pd.Timestamp | None:
        """When (on ``clock``) the first call of the current outage failed."""
        return self._breaker.down_since

    @property
    def pending(self) -> int:
        """How many metrics have a snapshot waiting for the server to come back."""
        return self._buffer.waiting

    @property
    def client(self) -> Any:
        """The redis-py client (for writing more keys beside the store's; see ``put``'s
        ``extra`` to write them in the same transaction). It has the same deadline."""
        self._check_open()
        return self._client

    def _key(self, metric: str, what: str) -> str:
        return f"{self.prefix}:m:{metric}:{what}"

    def _say(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}"
        return text.replace(self._secret, "***") if self._secret else text

    def _on_connect(self, connection: Any) -> None:
        """Every new connection: the usual handshake, then the server's run_id — a new
        one means the server restarted since this store last talked to it."""
        connection.on_connect()
        connection.send_command("INFO", "server")
        info = connection.read_response()
        info = info if isinstance(info, bytes) else str(info).encode()
        run_id = next((line.split(b":", 1)[1].strip() for line in info.splitlines()
                       if line.startswith(b"run_id:")), None)
        if self._run_id is not None and run_id != self._run_id:
            self._restarted = True
        self._run_id = run_id

    def _call(self, fn: Any, *args: Any, force: bool = False, trips: int = 1
              ) -> tuple[bool, Any]:
        """``fn(*args)`` through the breaker: (False, None) if skipped or failed."""
        if not self._breaker.allow(force=force):
            return False, None
        self.round_trips += trips
        try:
            result = fn(*args)
        except self._errors as exc:
            self._breaker.failed(self._say(exc))
            return False, None
        if self._restarted:
            self._restarted = False
            self.restarts += 1
            self._notice = (f"the Redis server at {self.address} restarted (new run_id); "
                            "what it lost is noted in the gaps")
        if self._breaker.succeeded():
            self.reconnects += 1
            self._flush_now()
        return True, result

    def _bad(self, key: str, exc: Exception) -> StoreError:
        error = StoreError(f"the value at Redis key {key!r} is not valid: {exc}")
        self.bad_values += 1
        self.last_bad_value = str(error)
        return error

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
                             f"{self._say(exc)}") from None
        for state in (self._caches, self._seen, self._written, self._versions,
                      self._last_entry, self._in_redis, self._notes):
            state.clear()
        self._buffer.clear()
        self._read_at = None

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
        return (f"RedisStore({self.url!r}, prefix={self.prefix!r}, status={self.status!r}, "
                f"metrics={len(self._versions)}, failed_writes={self.failed_writes})")


def _redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``.

    >>> _redact_url("redis://:hunter2@10.0.0.5:6380/1")
    'redis://:***@10.0.0.5:6380/1'
    >>> _redact_url("redis://127.0.0.1:6379/0")
    'redis://127.0.0.1:6379/0'
    """
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()
