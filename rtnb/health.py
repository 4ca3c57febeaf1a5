"""Health of a stream: counters, snapshots and the freshness of what is shown.

Every :class:`Snapshot` carries its watermark, the newest event time, the processing
time (from the clock) and :class:`Counters`; conservation holds after every batch:
``received = accepted + rejected + late + duplicates``.

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
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ._errors import ParameterError
from ._time import DurationLike, to_duration

__all__ = ["Counters", "Snapshot", "freshness", "describe_age", "Freshness"]

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
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.integer):  # e.g. a count from len() or Series.sum()
                v = int(v)
                object.__setattr__(self, f.name, v)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ParameterError(f.name, v, "must be a non-negative integer")

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


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """An immutable answer of a metric at one processing time.

    ``table`` has one row per key with at least one event in the window and one column
    per aggregate. ``newest_event`` is the largest accepted event time, ``watermark`` the
    event time up to which the window is complete, ``processed_at`` the clock's time when
    the snapshot was taken. ``series`` is an optional per-bucket time series (bucketed
    windows), ``version`` increases by one per snapshot of a metric.

    >>> snap = Snapshot(metric="orders", table=pd.DataFrame({"count": [3]}, index=["FR"]),
    ...                 window=pd.Timedelta("60s"),
    ...                 watermark=pd.Timestamp("2024-01-01 09:00:00"),
    ...                 newest_event=pd.Timestamp("2024-01-01 09:00:00"),
    ...                 processed_at=pd.Timestamp("2024-01-01 09:00:02"),
    ...                 counters=Counters(received=3, accepted=3))
    >>> snap.data_age
    Timedelta('0 days 00:00:02')
    >>> snap.age_at(pd.Timestamp("2024-01-01 09:01:00"))
    Timedelta('0 days 00:01:00')
    """

    metric: str
    table: pd.DataFrame
    window: pd.Timedelta | None
    watermark: pd.Timestamp | None
    newest_event: pd.Timestamp | None
    processed_at: pd.Timestamp
    counters: Counters = field(default_factory=Counters)
    series: pd.DataFrame | None = None
    version: int = 0

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
