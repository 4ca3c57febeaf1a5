"""Health of a stream: counters, snapshots, freshness, sources and the errors caught.

Every :class:`Snapshot` carries its watermark, the newest event time, the processing
time (from the clock) and :class:`Counters`; conservation holds after every batch:
``received = accepted + rejected + late + duplicates``.

What the runner knows lives here too, below the runner and the pipeline, so neither
imports the other for it: :class:`SourceHealth` (one source; its state changes are its
methods), :class:`RunnerHealth` (the run), :class:`RunError` (one failure caught) and
:class:`ErrorLog` (the one error log the runner and the pipeline both write to).

>>> c = Counters(received=10, accepted=7, rejected=1, late=1, duplicates=1)
>>> c.conserved
True
>>> freshness(pd.Timedelta("20s"), limit="1min")
'fresh'
>>> freshness(pd.Timedelta("10min"), limit="1min")
'stale'
>>> freshness(None, limit="1min")
'stale'
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import streamz

from ._checks import check_int
from ._errors import ParameterError
from ._time import DurationLike, to_duration

__all__ = [
    "Counters", "Snapshot", "freshness", "describe_age", "Freshness",
    "RunError", "ErrorLog", "SourceHealth", "RunnerHealth", "SourceStatus", "RunnerState",
]

Freshness = Literal["fresh", "late", "stale"]
SourceStatus = Literal["idle", "up", "catching up", "stalled", "down"]
RunnerState = Literal["idle", "running", "paused", "stopped"]


@dataclass(frozen=True, kw_only=True)
class Counters:
    """Row counters of a stream; ``received`` is every row that came in.

    Counters add up (partials from several workers or batches merge):

    >>> Counters(received=2, accepted=2) + Counters(received=3, accepted=1, rejected=2)
    Counters(received=5, accepted=3, rejected=2, late=0, duplicates=0)
    """

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    late: int = 0
    duplicates: int = 0

    def __post_init__(self) -> None:
        d = self.__dict__
        if all(type(d[name]) is int and d[name] >= 0 for name in _COUNTER_NAMES):
            return  # plain counts (every aggregate's snapshot): nothing to check or convert
        for f in dataclasses.fields(self):
            # numpy counts (len(), Series.sum()) become plain ints
            object.__setattr__(self, f.name, check_int(f.name, getattr(self, f.name), minimum=0))

    @property
    def conserved(self) -> bool:
        """True when every received row is accounted for."""
        return self.received == self.accepted + self.rejected + self.late + self.duplicates

    def __add__(self, other: Counters) -> Counters:
        if not isinstance(other, Counters):
            return NotImplemented
        return Counters(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self)}
        )

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (for JSON, tables, widgets)."""
        return dataclasses.asdict(self)


_COUNTER_NAMES = tuple(f.name for f in dataclasses.fields(Counters))


class _Table:
    """``Snapshot.table``: the DataFrame given, or built from ``key_table`` on first read."""

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return None  # the field's default (a snapshot made from a key_table)
        d = obj.__dict__
        t = d.get("_table")
        if t is None:
            kt = d.get("key_table")
            t = d["_table"] = kt.frame() if kt is not None else pd.DataFrame()
        return t

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__["_table"] = value


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """An immutable answer of a metric at one processing time.

    ``table`` has one row per key with at least one event in the window and one column
    per aggregate. ``newest_event`` is the largest accepted event time, ``watermark`` the
    event time up to which the window is complete, ``processed_at`` the clock's time when
    the snapshot was taken. ``series`` is an optional per-bucket time series (bucketed
    windows), ``version`` increases by one per snapshot of a metric. ``overall`` is the
    metric's value over all keys where it is not a fold of the rows (a ratio of sums:
    :class:`rtnb.Metric`), ``None`` otherwise.

    **Reading a few keys.** :class:`rtnb.Rolling` makes its snapshots from arrays (a
    ``key_table``): ``table`` is built on its first read, while :meth:`top` (the ``n``
    largest or smallest keys by a column) and :meth:`key` (one key's row) build only the
    rows they return, so a view showing the top 10 of 100,000 keys never builds the
    other 99,990 rows. On a snapshot made from a DataFrame they read that DataFrame.

    >>> snap = Snapshot(metric="orders", table=pd.DataFrame({"count": [3, 7, 5]}, index=["FR", "DE", "IT"]),
    ...                 window=pd.Timedelta("60s"),
    ...                 watermark=pd.Timestamp("2024-01-01 09:00:00"),
    ...                 newest_event=pd.Timestamp("2024-01-01 09:00:00"),
    ...                 processed_at=pd.Timestamp("2024-01-01 09:00:02"),
    ...                 counters=Counters(received=15, accepted=15))
    >>> snap.data_age
    Timedelta('0 days 00:00:02')
    >>> snap.age_at(pd.Timestamp("2024-01-01 09:01:00"))
    Timedelta('0 days 00:01:00')
    >>> snap.top(2, by="count")
        count
    DE      7
    IT      5
    >>> snap.key("FR")["count"], snap.n_keys, list(snap.columns)
    (np.int64(3), 3, ['count'])
    """

    metric: str
    table: pd.DataFrame = _Table()  # type: ignore[assignment]
    window: pd.Timedelta | None
    watermark: pd.Timestamp | None
    newest_event: pd.Timestamp | None
    processed_at: pd.Timestamp
    counters: Counters = field(default_factory=Counters)
    series: pd.DataFrame | None = None
    version: int = 0
    overall: pd.Series | None = None
    key_table: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.__dict__.get("_table") is not None:
            # a table given is the answer: arrays it came from (a replace()) no longer are
            object.__setattr__(self, "key_table", None)

    @property
    def data_age(self) -> pd.Timedelta | None:
        """Processing time minus newest event time; ``None`` before any event."""
        if self.newest_event is None:
            return None
        return self.processed_at - self.newest_event

    def age_at(self, now: pd.Timestamp) -> pd.Timedelta | None:
        """How old the newest event is at ``now`` (a clock reading); ``None`` if no data."""
        if self.newest_event is None:
            return None
        return now - self.newest_event

    # -- reading a few keys ----------------------------------------------------------
    def _built(self) -> Any:
        """The key table when the DataFrame was not built yet, else ``None``."""
        return self.key_table if self.__dict__.get("_table") is None else None

    @property
    def n_keys(self) -> int:
        """The number of rows of ``table`` (without building it)."""
        kt = self._built()
        return len(kt) if kt is not None else len(self.table)

    @property
    def columns(self) -> pd.Index:
        """The columns of ``table`` (without building it)."""
        kt = self._built()
        return kt.columns if kt is not None else self.table.columns

    def top(self, n: int, by: str | None = None, *, ascending: bool = False) -> pd.DataFrame:
        """The ``n`` rows of ``table`` with the largest ``by`` (default: the first column).

        ``ascending=True``: the smallest. Rows whose ``by`` is NaN are left out; ties
        keep the table's order. The same rows, in the same order, as
        ``table.nlargest(n, by)`` (``nsmallest``). Costs one pass over the column and
        builds ``n`` rows, not the table.
        """
        from ._keytable import top_positions

        n = check_int("n", n, minimum=0)
        if not isinstance(by, Hashable):  # a list or dict is no column name
            from ._errors import UnknownNameError

            raise UnknownNameError("by", by, [str(c) for c in self.columns])
        kt = self._built()
        if kt is not None:
            return kt.top(n, by, ascending)
        table = self.table
        if by is None and len(table.columns):
            by = table.columns[0]
        if by not in table.columns:
            from ._errors import UnknownNameError

            raise UnknownNameError("by", by, [str(c) for c in table.columns])
        return table.iloc[top_positions(table[by].to_numpy(), n, ascending)]

    def values(self, column: str) -> np.ndarray:
        """One column of ``table`` as a read-only numpy array, in the table's order,
        without building the table (a view folding every key — a total, a maximum —
        reads this). Raises :class:`rtnb.UnknownNameError` for a column it lacks.

        >>> Snapshot(metric="m", table=pd.DataFrame({"n": [3, 7]}, index=["a", "b"]), window=None,
        ...          watermark=None, newest_event=None, processed_at=pd.Timestamp(0)).values("n").tolist()
        [3, 7]
        """
        from ._errors import UnknownNameError

        if not isinstance(column, Hashable) or column not in self.columns:
            raise UnknownNameError("column", column, [str(c) for c in self.columns])
        kt = self._built()
        if kt is not None and hasattr(kt, "column"):
            out = kt.column(column)
        else:  # a table given, or a key table that only builds frames (a cluster's merge)
            out = self.table[column].to_numpy()
        out = np.asarray(out).view()
        out.flags.writeable = False
        return out

    def key(self, label: Any) -> pd.Series:
        """One key's row of ``table`` (as ``table.loc[label]``; a tuple for several key
        columns). Raises ``KeyError`` when the key has no row. Builds one row."""
        if not isinstance(label, Hashable):  # the same answer whether the table is built or not
            raise KeyError(label)
        kt = self._built()
        if kt is not None:
            return kt.key(label)
        try:
            row = self.table.loc[label]
        except (TypeError, ValueError, pd.errors.InvalidIndexError):
            raise KeyError(label) from None
        if isinstance(row, pd.DataFrame):  # a partial tuple of several key columns: not one key
            raise KeyError(label)
        return row

    def _replace(self, **changes: Any) -> Snapshot:
        """A copy with ``changes`` (as ``dataclasses.replace``) that keeps an unbuilt
        table unbuilt (``dataclasses.replace`` reads ``table``, which builds it)."""
        values = {f.name: self.__dict__.get("_table") if f.name == "table" else getattr(self, f.name)
                  for f in dataclasses.fields(self)}
        values.update(changes)
        return Snapshot(**values)

    __replace__ = _replace  # copy.replace (Python 3.13)


def freshness(
    age: pd.Timedelta | None,
    limit: DurationLike,
    *,
    stale_after: DurationLike | None = None,
) -> Freshness:
    """Classify a data age against a metric's limit (its latency tier).

    ``fresh`` when ``age <= limit``, ``late`` up to ``stale_after`` (default three times
    the limit), ``stale`` beyond it or when there is no data at all.

    >>> freshness(pd.Timedelta("90s"), limit="1min")
    'late'
    >>> freshness(pd.Timedelta("90s"), limit="1min", stale_after="80s")
    'stale'
    """
    lim = to_duration(limit, "limit")
    stale = to_duration(stale_after, "stale_after") if stale_after is not None else 3 * lim
    if stale < lim:
        raise ParameterError("stale_after", stale_after, f"must be at least limit={lim}")
    if age is None or pd.isna(age):
        return "stale"
    if age <= lim:
        return "fresh"
    if age <= stale:
        return "late"
    return "stale"


def describe_age(age: pd.Timedelta | None) -> str:
    """A data age in words, as a badge shows it.

    >>> describe_age(pd.Timedelta("0.4s"))
    '0.4 s old'
    >>> describe_age(pd.Timedelta("75s"))
    '1 min 15 s old'
    >>> describe_age(pd.Timedelta("26h"))
    '1 d 2 h old'
    >>> describe_age(None)
    'no data yet'
    """
    if age is None or pd.isna(age):
        return "no data yet"
    s = age.total_seconds()
    if s < 0:
        return "from the future (clock skew)"
    if s < 9.95:
        return f"{s:.1f} s old"
    n = int(round(s))  # the unit is chosen on the rounded value: never "60 s" or "60 min"
    if n < 60:
        return f"{n} s old"
    if n < 3600:
        m, r = divmod(n, 60)
        return f"{m} min {r} s old" if r else f"{m} min old"
    if n < 86400:
        h, r = divmod(n // 60, 60)
        return f"{h} h {r} min old" if r else f"{h} h old"
    d, r = divmod(n // 3600, 24)
    return f"{d} d {r} h old" if r else f"{d} d old"


# -- what the runner knows -------------------------------------------------------------

Where = Literal["source", "pipeline", "frame"]


@dataclass(frozen=True, kw_only=True)
class RunError:
    """One failure caught while running: where it happened and what it was.

    ``where`` is ``"source"`` (a source's ``read`` raised or timed out), ``"pipeline"``
    (a stage or a user's sink downstream of the runner raised) or ``"frame"`` (a frame
    callback, i.e. a view, raised).

    >>> e = RunError(at=pd.Timestamp("2024-01-01"), where="source", name="orders",
    ...              kind="SourceUnavailable", message="outage")
    >>> e.describe()
    '2024-01-01 00:00:00 source orders: SourceUnavailable: outage'
    """

    at: pd.Timestamp
    where: Where
    name: str
    kind: str
    message: str

    def describe(self) -> str:
        """One line for logs and error panels."""
        return f"{self.at} {self.where} {self.name}: {self.kind}: {self.message}"


class ErrorLog(streamz.Stream):
    """The one error log: a stream of :class:`RunError` that also keeps count.

    Everything emitted on it is recorded (the newest ``keep`` in ``recent``, all of them
    in ``count``) and passed downstream, so ``log.sink(...)`` or an error panel sees
    each error once. A failing downstream sink never hides the error it was handed.
    ``forward_to`` (another stream, e.g. the runner's log) receives every error too:
    that is how a pipeline's errors reach the runner's health. It holds no reference to
    whoever reports into it, so it keeps nothing alive.

    >>> log = ErrorLog(keep=2)
    >>> seen = log.sink_to_list()
    >>> err = log.report("pipeline", "orders: aggregate", ValueError("boom"),
    ...                  at=pd.Timestamp("2024-01-01"))
    >>> log.count, list(log.recent) == [err], seen == [err]
    (1, True, True)
    >>> err.describe()
    '2024-01-01 00:00:00 pipeline orders: aggregate: ValueError: boom'
    """

    def __init__(self, keep: int = 100, *, forward_to: streamz.Stream | None = None,
                 stream_name: str = "errors") -> None:
        super().__init__(stream_name=stream_name)
        self.keep = check_int("keep", keep, minimum=1)
        if forward_to is not None and not isinstance(forward_to, streamz.Stream):
            raise ParameterError("forward_to", forward_to, "must be a streamz.Stream (e.g. runner.errors) or None")
        self.forward_to = forward_to
        self.recent: collections.deque = collections.deque(maxlen=self.keep)
        self.count = 0

    def report(self, where: Where, name: str, exc: BaseException, *, at: pd.Timestamp | None) -> RunError:
        """Record an exception caught at ``where``/``name`` (clock time ``at``); returns it."""
        err = RunError(at=at if at is not None else pd.Timestamp(0), where=where, name=name,
                       kind=type(exc).__name__, message=str(exc))
        self.emit(err)
        return err

    def _emit(self, x: Any, metadata: Any = None) -> list:
        self.recent.append(x)
        self.count += 1
        out: list = []
        try:
            out = super()._emit(x, metadata=metadata)
        except Exception:  # a user's error sink that fails must not hide the first error
            pass
        if self.forward_to is not None:
            try:
                self.forward_to.emit(x)
            except Exception:
                pass
        return out


@dataclass(kw_only=True)
class SourceHealth:
    """What the runner knows about one source; its methods are the state changes.

    ``status`` is ``idle`` before the first read, ``up`` when the last read answered
    and rows came within ``stall_after``, ``catching up`` when the last read answered
    but was capped (``max_rows``) and ``backlog`` rows (an estimate from the source's
    recent rate) over ``behind`` of clock time are still to be read, ``stalled`` when
    reads answer but no rows came for longer than ``stall_after``, and ``down`` when
    the last read raised or did not answer within the runner's ``read_timeout``.

    >>> h = SourceHealth(name="orders", cursor=pd.Timestamp("2024-01-01"))
    >>> h.status
    'idle'
    >>> h.failed("SourceUnavailable: outage", at=pd.Timestamp("2024-01-01 00:00:05"))
    >>> h.status, h.failures, h.cursor   # the cursor stays: the interval is asked again
    ('down', 1, Timestamp('2024-01-01 00:00:00'))
    >>> h.answered(start=h.cursor, end=pd.Timestamp("2024-01-01 00:00:02"), rows=200,
    ...            at=pd.Timestamp("2024-01-01 00:00:06"), stall_after=pd.Timedelta("10s"),
    ...            behind=pd.Timedelta("4s"), backlog=400)
    >>> h.status, h.behind, h.backlog
    ('catching up', Timedelta('0 days 00:00:04'), 400)
    """

    name: str
    status: SourceStatus = "idle"
    batches: int = 0
    rows: int = 0
    failures: int = 0
    timeouts: int = 0
    last_read_at: pd.Timestamp | None = None
    last_rows_at: pd.Timestamp | None = None
    last_error: str | None = None
    cursor: pd.Timestamp | None = None
    first_read_at: pd.Timestamp | None = None
    behind: pd.Timedelta = pd.Timedelta(0)
    backlog: int = 0

    @property
    def catching_up(self) -> bool:
        """True while a capped read left a backlog to read."""
        return self.status == "catching up"

    def answered(self, *, start: pd.Timestamp, end: pd.Timestamp, rows: int, at: pd.Timestamp,
                 stall_after: pd.Timedelta, behind: pd.Timedelta = pd.Timedelta(0), backlog: int = 0) -> None:
        """A read of ``[start, end)`` answered ``rows`` rows at clock time ``at``.

        A capped read stopped ``behind`` (clock time) short of the time it was asked at;
        ``backlog`` is the number of rows known (or estimated) to be waiting.
        """
        self.cursor = end
        self.last_read_at = at
        self.batches += 1
        self.behind = max(behind, pd.Timedelta(0))
        self.backlog = int(backlog)
        if rows:
            self.rows += int(rows)
            self.last_rows_at = at
        if self.behind > pd.Timedelta(0) or self.backlog:
            self.status = "catching up"
        elif rows:
            self.status = "up"
        else:
            ref = self.last_rows_at if self.last_rows_at is not None else self.first_read_at
            self.status = "stalled" if ref is not None and at - ref > stall_after else "up"
        if self.first_read_at is None:
            self.first_read_at = start

    def failed(self, error: str, *, at: pd.Timestamp) -> None:
        """A read raised (``error`` is ``"Kind: message"``); the cursor stays."""
        self.status = "down"
        self.failures += 1
        self.last_error = error
        self.last_read_at = at

    def timed_out(self, seconds: float, *, at: pd.Timestamp, retried: bool = False) -> str:
        """A read did not answer within ``seconds``; returns the message recorded.

        ``retried``: it was cancelled and its interval will be asked for again (else it
        is still waited for, off the loop).
        """
        self.timeouts += 1
        then = "cancelled, asked again" if retried else "waiting for it off the loop"
        message = f"read() did not answer within {seconds:g} s; {then}"
        self.failed(f"SourceTimeout: {message}", at=at)
        return message


@dataclass(kw_only=True)
class RunnerHealth:
    """The runner's state, per-source health and the errors it caught (an :class:`ErrorLog`).

    >>> h = RunnerHealth()
    >>> h.state, h.ok, h.catching_up
    ('idle', True, False)
    """

    state: RunnerState = "idle"
    sources: dict[str, SourceHealth] = field(default_factory=dict)
    log: ErrorLog = field(default_factory=ErrorLog)
    frames: int = 0

    @property
    def errors(self) -> collections.deque:
        """The newest errors caught (bounded)."""
        return self.log.recent

    @property
    def error_count(self) -> int:
        """Every error caught since the start."""
        return self.log.count

    @property
    def catching_up(self) -> bool:
        """True while any source is catching up on a backlog."""
        return any(s.catching_up for s in self.sources.values())

    @property
    def backlog(self) -> int:
        """Rows known to be waiting, over every source."""
        return sum(s.backlog for s in self.sources.values())

    @property
    def ok(self) -> bool:
        """True when no source is down and no error was caught since the start."""
        return self.error_count == 0 and all(s.status != "down" for s in self.sources.values())
