"""Writing the event log: :class:`EventLogWriter` appends batches of rows to a Redis
stream, one entry per batch (see :mod:`rtnb.sources.eventlog`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._checks import check_int, check_optional, check_str
from .._errors import ParameterError
from .._time import DurationLike, to_duration
from ..codec import encode_frame
from ._eventlog_redis import _FIELD_FRAME, _FIELD_ROWS, _Connection, _text

__all__ = ["EventLogWriter"]


class EventLogWriter:
    """Appends batches of events to a Redis stream (one entry per batch of rows).

    Parameters
    ----------
    url
        ``redis://[:password@]host:port/db`` of the server.
    stream
        The stream's key.
    maxlen
        Keep about this many entries (``XADD MAXLEN ~``); ``None`` keeps everything.
        Entries trimmed before a reader acknowledged them are lost to it (counted in
        its ``lost_entries``).
    timeout
        Seconds to wait for the server per round trip.

    ``append`` writes one batch as one entry, or ``rows_per_entry`` rows per entry —
    all the entries of one call in one round trip — and returns their offsets. A
    server that is down raises :class:`rtnb.SourceUnavailable`; nothing was written
    then unless the error says the reply was lost.

    >>> EventLogWriter("http://localhost", stream="orders")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: url='http://localhost' is invalid: not a Redis URL such as 'redis://127.0.0.1:6379/0'
    """

    def __init__(self, url: str, *, stream: str = "events", maxlen: int | None = None,
                 timeout: float = 0.5) -> None:
        self._conn = _Connection(url, timeout)
        self.stream = check_str("stream", stream)
        self.maxlen = check_optional(check_int, "maxlen", maxlen, minimum=1)
        self.entries = 0
        self.rows = 0

    @property
    def address(self) -> str:
        """``host:port`` of the server."""
        return self._conn.address

    def append(self, batch: pd.DataFrame, *, rows_per_entry: int | None = None) -> list[str]:
        """Append ``batch`` (a DataFrame with at least ``ts``); returns the entries' offsets.

        An empty batch writes nothing. ``rows_per_entry=1`` writes one entry per event
        (what a naive producer does; see ``benchmarks/bench_eventlog.py`` for its cost).
        """
        if not isinstance(batch, pd.DataFrame):
            raise ParameterError("batch", type(batch).__name__, "must be a pandas DataFrame")
        step = check_optional(check_int, "rows_per_entry", rows_per_entry, minimum=1)
        n = len(batch)
        if n == 0:
            return []
        step = n if step is None else step
        pipe = self._conn.client.pipeline(transaction=False)
        for lo in range(0, n, step):
            part = batch.iloc[lo: lo + step]
            fields = {_FIELD_FRAME: encode_frame(part.reset_index(drop=True)), _FIELD_ROWS: len(part)}
            if self.maxlen is None:
                pipe.xadd(self.stream, fields)
            else:
                pipe.xadd(self.stream, fields, maxlen=self.maxlen, approximate=True)
        try:
            ids = pipe.execute()
        except self._conn.errors as exc:
            raise self._conn.unavailable("append", exc) from None
        self.entries += len(ids)
        self.rows += n
        return [_text(i) for i in ids]

    def append_from(self, source: Any, start: Any, end: Any, *, every: DurationLike = "1s") -> int:
        """Copy what ``source`` delivers over ``[start, end)`` into the log, one entry per
        ``every`` of arrival time (how a simulator in another process feeds it).

        Returns the number of rows appended.
        """
        step = to_duration(every, "every")
        t = pd.Timestamp(start)
        end = pd.Timestamp(end)
        rows = 0
        while t < end:
            nxt = min(t + step, end)
            batch = source.read(t, nxt)
            if len(batch):
                self.append(batch)
                rows += len(batch)
            t = nxt
        return rows

    def __len__(self) -> int:
        """Entries in the stream (one XLEN)."""
        try:
            return int(self._conn.client.xlen(self.stream))
        except self._conn.errors as exc:
            raise self._conn.unavailable("XLEN", exc) from None

    def close(self) -> None:
        """Close the connection."""
        self._conn.client.close()

    def __enter__(self) -> EventLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventLogWriter({self.address!r}, stream={self.stream!r}, entries={self.entries})"
