"""Health of a stream: counters, snapshots, freshness, sources and the errors caught.

Every :class:`Snapshot` carries its watermark, the newest event time, the processing
time (from the clock) and :class:`Counters`; conservation holds after every batch:
``received = accepted + rejected + late + duplicates``.

What the runner knows is importable from here too, below the runner and the pipeline,
so neither imports the other for it (defined in :mod:`rtnb._run_health`):
:class:`SourceHealth`, :class:`RunnerHealth`, :class:`RunError` and :class:`ErrorLog`.

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

import dataclasses
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._checks import check_int
from ._errors import ParameterError
from ._run_health import (ErrorLog, RunError, RunnerHealth, RunnerState, SourceHealth,  # noqa: F401
                          SourceStatus, Where)
from ._time import DurationLike, to_duration

__all__ = [
    "Counters", "Snapshot", "freshness", "describe_age", "Freshness",
    "RunError", "ErrorLog", "SourceHealth", "RunnerHealth", "SourceStatus", "RunnerState",
]

Freshness = Literal["fresh", "late", "stale"]


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
