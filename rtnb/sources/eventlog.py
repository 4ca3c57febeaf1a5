"""An event log with offsets: Redis Streams, read through a consumer group.

The "event ingestion layer" of a dashboard: an application (or a simulator in another
process) appends events with :class:`EventLogWriter`; a pipeline reads them with
:class:`EventLogSource`. Install the extra: ``pip install 'rtnb[redis]'``.

- **One stream entry per batch of rows**, not per event: the entry's ``f`` field is the
  batch encoded by :func:`rtnb.codec.encode_frame` (a JSON header and the raw bytes of
  each numeric column, no pickle), ``n`` its row count. An entry is the unit the log
  numbers (its stream id ``<ms>-<seq>`` is the *offset*).
- **Reads are bounded**: one ``XREADGROUP COUNT count`` round trip per ``read`` at
  most (plus one when a restart's redelivery ends), never more than ``max_rows`` rows
  (whole entries; an entry read beyond the cap is held for the next read), and a read
  waits at most ``block`` for new entries (default: not at all) and ``timeout`` for
  the server.
- **At-least-once, then once**: an entry stays *pending* in the consumer group until
  :meth:`EventLogSource.acknowledge` is called with an offset at or after it — the
  checkpointer (:mod:`rtnb.checkpoint`) does that once a checkpoint that includes the
  entry is written. After a crash the pending entries are delivered again: those the
  restored checkpoint already holds are acknowledged without being read, the others
  are read again, in log order. The id-based de-duplication of :class:`rtnb.Rolling`
  (``id_col``) is the second line: each event is counted once.
- **A dead consumer's entries are claimed** (``XAUTOCLAIM``) when a source starts, so
  a worker restarted under another consumer name still reads them. One pipeline reads
  one consumer group; two pipelines reading the same log use two groups.

A server that is down or hangs makes ``read`` raise :class:`rtnb.SourceUnavailable`
within ``timeout`` (the runner shows the source as down and asks again; nothing is
lost, the entries wait in the log). An entry that cannot be decoded is skipped,
acknowledged with the others, counted in ``bad_entries`` and reported: the read that
meets it (after returning the rows before it) raises :class:`rtnb.SourceError` naming
the entry, and the next read goes on after it. Messages name ``host:port``, never a password.

>>> import pandas as pd
>>> with LocalRedisServer() as server:                          # doctest: +SKIP
...     log = EventLogWriter(server.url, stream="orders")
...     log.append(pd.DataFrame({"ts": pd.to_datetime(["2024-01-01"]), "amount": [9.5]}))
...     src = EventLogSource(server.url, stream="orders", group="dashboard",
...                          measures=("amount",))
...     len(src.read(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:00:01")))
1
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import pandas as pd

from .._checks import check_int, check_optional, check_str
from .._errors import SourceError, SourceUnavailable
from .._time import DurationLike, to_duration
from ..codec import decode_frame
# the Redis side and the writer live in their own modules; their names stay importable here
from ._eventlog_offsets import LogOffsets
from ._eventlog_redis import _FIELD_FRAME, _Connection, _text, stream_id
from ._eventlog_writer import EventLogWriter

__all__ = ["EventLogWriter", "EventLogSource", "stream_id"]


class EventLogSource(LogOffsets):
    """A source reading an event log through a Redis consumer group (module docstring).

    Parameters
    ----------
    url, stream
        The server and the stream's key (as given to :class:`EventLogWriter`).
    group, consumer
        The consumer group (created at the start of the log if missing) and this
        reader's name in it.
    name, keys, measures, id_col, columns
        The :class:`rtnb.Source` attributes (``name`` defaults to the stream).
    count
        Entries asked for per round trip (``XREADGROUP COUNT``).
    max_rows
        Most rows one ``read`` returns (whole entries; at least one entry).
    block
        How long a read waits for new entries when there are none (``XREADGROUP
        BLOCK``); ``None`` (default) does not wait. Keep it short: a read runs within
        one frame.
    timeout
        Seconds to wait for the server per round trip (added to ``block``).
    claim_idle
        Pending entries of other consumers idle at least this long are claimed at the
        start (``XAUTOCLAIM``); the default ``0s`` takes them all (one reader per group).

    ``read(start, end)`` returns the next entries' rows whatever the interval (the
    interval's ``end`` is the ``arrival`` of rows written without one). ``position`` is
    the offset of the last entry returned; :meth:`checkpoint_state` and
    :meth:`restore_state` carry it through a checkpoint.

    >>> EventLogSource("redis://127.0.0.1:6379/0", stream="orders", group="g", max_rows=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: max_rows=0 is invalid: must be an integer >= 1
    """

    def __init__(
        self,
        url: str,
        *,
        stream: str = "events",
        group: str = "rtnb",
        consumer: str = "worker",
        name: str | None = None,
        keys: Sequence[str] = (),
        measures: Sequence[str] = (),
        id_col: str | None = None,
        columns: Sequence[str] | None = None,
        count: int = 100,
        max_rows: int = 100_000,
        block: DurationLike | None = None,
        timeout: float = 0.5,
        claim_idle: DurationLike = "0s",
    ) -> None:
        self.stream = check_str("stream", stream)
        self.group = check_str("group", group)
        self.consumer = check_str("consumer", consumer)
        self.name = check_str("name", name) if name is not None else self.stream
        self.keys = tuple(keys)
        self.measures = tuple(measures)
        self.id_col = check_optional(check_str, "id_col", id_col)
        if columns is not None:
            self.columns = tuple(columns)
        self.count = check_int("count", count, minimum=1)
        self.max_rows = check_int("max_rows", max_rows, minimum=1)
        self.block = None if block is None else to_duration(block, "block")
        self._block_ms = None if self.block is None else max(1, int(self.block.total_seconds() * 1000))
        self._claim_ms = int(to_duration(claim_idle, "claim_idle", allow_zero=True).total_seconds() * 1000)
        extra = 0.0 if self.block is None else self.block.total_seconds()
        self._conn = _Connection(url, timeout, extra_wait=extra)
        self.position: str | None = None  # the last entry returned by read()
        self.bad_entries = 0
        self.lost_entries = 0
        self.lost_streams = 0
        self.entries_read = 0
        self.rows_read = 0
        self.last_error: str | None = None
        self._held: deque[tuple[str, pd.DataFrame]] = deque()
        self._unacked: deque[str] = deque()  # returned by read(), not yet acknowledged
        self._redeliver_from: str | None = "0"  # own pending entries come first
        self._acked_upto: str | None = None  # restored: pending entries up to here are done
        self._refetch = 0  # restored: entries to read alone first (held at the checkpoint)
        self._claimed = False
        self._ready = False
        self._bad: dict[str, str] = {}  # entry id -> why it was skipped
        try:
            self._ensure_group()
        except SourceUnavailable:
            pass  # the first read tries again (and reports the outage)

    # ------------------------------------------------------------------ setup

    @property
    def address(self) -> str:
        """``host:port`` of the server."""
        return self._conn.address

    def _ensure_group(self) -> None:
        if self._ready:
            return
        client = self._conn.client
        try:
            client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except self._conn.errors as exc:
            if "BUSYGROUP" not in str(exc):
                raise self._conn.unavailable("XGROUP CREATE", exc) from None
        self._ready = True

    def _claim(self) -> None:
        """Take over the pending entries of dead consumers of the group (once)."""
        if self._claimed:
            return
        client = self._conn.client
        start = "0-0"
        try:
            while True:
                # without JUSTID: redis-py drops the reply's cursor with justid=True
                reply = client.xautoclaim(self.stream, self.group, self.consumer,
                                          min_idle_time=self._claim_ms, start_id=start,
                                          count=1000)
                start = _text(reply[0])
                if start == "0-0":
                    break
        except self._conn.errors as exc:
            raise self._conn.unavailable("XAUTOCLAIM", exc) from None
        self._claimed = True

    # ------------------------------------------------------------------ reading

    def read(self, start: pd.Timestamp, end: pd.Timestamp, max_rows: int | None = None) -> pd.DataFrame:
        """The rows of the next entries, in log order: at most ``max_rows`` (the smaller
        of the argument — a runner's cap — and the source's own), whole entries, at
        least one. The source caps itself, so a runner never splits its batches (each
        batch's ``attrs["offset"]`` is the offset a checkpoint after it resumes from)."""
        cap = self.max_rows if max_rows is None else min(self.max_rows, check_int("max_rows", max_rows, minimum=1))
        self._ensure_group()
        self._claim()
        self._settle_restored()
        if not self._held:
            self._fetch()
        parts: list[pd.DataFrame] = []
        rows = 0
        while self._held:
            entry_id, frame = self._held[0]
            if frame is None:  # a bad or lost entry: reported alone, after the rows before it
                if parts:
                    break
                self._held.popleft()
                self._take(entry_id)
                raise SourceError(self._bad.pop(entry_id))
            if parts and rows + len(frame) > cap:
                break
            self._held.popleft()
            self._take(entry_id)
            parts.append(frame)
            rows += len(frame)
        if not parts:
            return pd.DataFrame()
        batch = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if "arrival" not in batch.columns:
            batch["arrival"] = pd.Timestamp(end).as_unit("ns")
        self.rows_read += len(batch)
        batch.attrs["offset"] = self.checkpoint_state()  # what a checkpoint after it resumes from
        return batch

    def _take(self, entry_id: str) -> None:
        self.position = entry_id
        self._unacked.append(entry_id)
        self.entries_read += 1

    def _fetch(self) -> None:
        """One XREADGROUP: redelivered pending entries first, then new ones."""
        client = self._conn.client
        while True:
            redeliver = self._redeliver_from is not None
            ident = self._redeliver_from if redeliver else ">"
            count = self.count
            if redeliver and self._refetch:  # the entries held at the checkpoint, alone
                count, self._refetch = self._refetch, 0
            try:
                reply = client.xreadgroup(self.group, self.consumer, {self.stream: ident},
                                          count=count,
                                          block=None if redeliver else self._block_ms)
            except self._conn.errors as exc:
                if "NOGROUP" in str(exc):  # the server lost the stream (restarted empty)
                    self._ready = False
                    self._redeliver_from = None
                    self.lost_streams += 1
                    self._ensure_group()
                    raise SourceError(
                        f"event log at {self.address}: stream {self.stream!r} or its group "
                        f"{self.group!r} was gone (a Redis restart without persistence?); "
                        "created again, entries the server lost cannot be read") from None
                raise self._conn.unavailable("XREADGROUP", exc) from None
            entries = reply[0][1] if reply else []
            if redeliver and not entries:
                self._redeliver_from = None  # own history done: read new entries
                continue
            break
        for raw_id, fields in entries:
            entry_id = _text(raw_id)
            if redeliver:
                self._redeliver_from = entry_id
            self._held.append((entry_id, self._decode(entry_id, fields)))

    def _decode(self, entry_id: str, fields: dict | None) -> pd.DataFrame | None:
        if not fields:  # trimmed from the stream before it was acknowledged
            self.lost_entries += 1
            self._bad[entry_id] = (f"entry {entry_id} of stream {self.stream!r} was trimmed "
                                "before it was read (lost)")
            return None
        blob = fields.get(_FIELD_FRAME)
        try:
            if blob is None:
                raise ValueError("no 'f' field")
            frame = decode_frame(blob)
            if not isinstance(frame, pd.DataFrame):
                raise ValueError("not a frame")
        except Exception as exc:  # any byte string may be in a shared log
            self.bad_entries += 1
            self._bad[entry_id] = (f"entry {entry_id} of stream {self.stream!r} is not an rtnb "
                                   f"batch ({type(exc).__name__}: {exc}); skipped")
            return None
        return frame

    def close(self) -> None:
        """Close the connection (pending entries stay in the group for the next reader)."""
        self._conn.client.close()

    def __repr__(self) -> str:
        return (f"EventLogSource({self.address!r}, stream={self.stream!r}, group={self.group!r}, "
                f"position={self.position!r}, read={self.entries_read}, "
                f"unacknowledged={len(self._unacked)})")
