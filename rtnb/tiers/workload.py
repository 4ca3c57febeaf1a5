"""Workloads: when new data exists — a Poisson rate, an array of event times, or a Source.

The simulation needs only the arrival times of events and the event time of the newest
one available at each arrival (the data a screen can show); a rate is never
materialised: the gap since the newest event is drawn where it is needed.

>>> Workload.from_rate(20).rate
20.0
>>> as_workload([0.0, 1.5, 3.0]).arrival
array([0. , 1.5, 3. ])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError, SourceError, SourceUnavailable
from .._time import DurationLike, TimeLike, to_duration, to_timestamp

__all__ = ["Workload", "as_workload"]

_SECOND = pd.Timedelta(1, "s")


def _seconds(td: pd.Timedelta) -> float:
    return float(td / _SECOND)


class Workload:
    """When data exists: arrival times of events (seconds from the start) and the
    event time of the newest event available at each arrival — or just a rate.

    Build one with :meth:`from_rate` (a Poisson stream; nothing is materialised),
    :meth:`from_times` (an array of event times) or :meth:`from_source` (reads a
    :class:`rtnb.Source` over the horizon). :func:`simulate` accepts any of the
    three inputs directly. Rows whose times a pipeline would reject (missing, or an
    event time after the arrival) are set aside and counted in ``rejected``.

    >>> w = Workload.from_times([0.0, 1.0, 5.0])
    >>> w.newest_at(np.array([0.5, 4.0, 9.0, -1.0]))
    array([ 0.,  1.,  5., nan])
    >>> Workload.from_rate(50).rate
    50.0
    """

    def __init__(
        self,
        *,
        rate: float,
        arrival: np.ndarray | None = None,
        newest: np.ndarray | None = None,
        name: str = "workload",
        start: pd.Timestamp | None = None,
        rejected: int = 0,
    ) -> None:
        if isinstance(rate, bool) or not np.isfinite(rate) or rate < 0:
            raise ParameterError("rate", rate, "must be a number of events per second >= 0")
        if arrival is None and not rate > 0:
            raise ParameterError("rate", rate, "must be > 0 events per second")
        self.rate = float(rate)
        self.arrival = arrival
        self.newest = newest
        self.name = name
        self.start = start
        self.rejected = int(rejected)

    @classmethod
    def from_rate(cls, rate: float, *, name: str = "poisson") -> Workload:
        """A Poisson stream of ``rate`` events per second, stationary since forever."""
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)):
            raise ParameterError("rate", rate, "must be a number of events per second > 0")
        return cls(rate=float(rate), name=name)

    @classmethod
    def from_times(
        cls,
        times: Any,
        *,
        event_times: Any = None,
        start: TimeLike | None = None,
        duration: DurationLike | None = None,
        name: str = "events",
    ) -> Workload:
        """Events arriving at ``times`` (seconds from the start, or datetimes with
        ``start``, default the first one); ``event_times`` (same units) when events
        arrive later than they happened. ``duration`` (for the mean rate) defaults to
        the span of the arrivals.

        >>> w = Workload.from_times(pd.to_datetime(["2024-01-01 00:00:10", "2024-01-01 00:00:20"]),
        ...                         start="2024-01-01", duration="20s")
        >>> w.arrival, w.rate
        (array([10., 20.]), 0.1)
        """
        t0 = None if start is None else to_timestamp(start, "start")
        arr, t0 = _to_seconds(times, "times", t0)
        if event_times is None:
            ev = arr
        else:
            ev, _ = _to_seconds(event_times, "event_times", t0)
            if ev.shape != arr.shape:
                raise ParameterError("event_times", f"{ev.size} values", f"must match times ({arr.size} values)")
        arr, ev, bad = _clean(arr, ev)
        if duration is not None:
            span = _seconds(to_duration(duration, "duration"))
        else:
            span = float(arr[-1] - min(arr[0], 0.0)) if arr.size else 0.0
        rate = arr[(arr >= 0) & (arr < span)].size / span if span > 0 else 0.0
        return cls(rate=rate, arrival=arr, newest=np.maximum.accumulate(ev) if ev.size else ev,
                   name=name, start=t0, rejected=bad)

    @classmethod
    def from_source(
        cls,
        source: Any,
        *,
        start: TimeLike | None = None,
        hours: float = 24.0,
        warmup: DurationLike = "2h",
        chunk: DurationLike = "1h",
    ) -> Workload:
        """Read ``source`` from ``start - warmup`` to ``start + hours``, chunk by chunk.

        The warm-up makes the first hour look like any other (data from before the
        start is on screen); ``start`` defaults to the source's own ``start`` plus the
        warm-up (or 2024-01-01 for a source without one). A chunk that raises :class:`rtnb.SourceUnavailable` is
        asked again together with the next one, as the runner would; if the source is
        still down at the end, :class:`rtnb.SourceError` is raised.
        """
        if not hasattr(source, "read"):
            raise ParameterError("source", source, "must be a Source with read(start, end)")
        warm = to_duration(warmup, "warmup", allow_zero=True)
        if start is None:  # a replay's anchor is its start (reading before it gives nothing)
            own = getattr(source, "start", None)
            if own is None:
                own = getattr(source, "anchor", None)
            t0 = to_timestamp(own, "start") + warm if own is not None else pd.Timestamp("2024-01-01")
        else:
            t0 = to_timestamp(start, "start")
        span = _hours(hours)
        lo = t0 - warm
        hi = t0 + pd.Timedelta(hours=span)
        step = to_duration(chunk, "chunk")
        arrivals, events, a = [], [], lo
        b = a
        while b < hi:
            b = min(b + step, hi)
            try:
                df = source.read(a, b)
            except SourceUnavailable:
                continue  # ask again with the next chunk; the source holds events back
            if len(df):
                arrivals.append(_col_seconds(df, "arrival", t0))
                events.append(_col_seconds(df, "ts", t0))
            a = b
        if a < hi:
            raise SourceError(f"source={getattr(source, 'name', source)!r} was still down at {a}")
        arr = np.concatenate(arrivals) if arrivals else np.empty(0)
        ev = np.concatenate(events) if events else np.empty(0)
        if not arrivals:  # NaN ages with no word would follow
            raise SourceError(f"source={getattr(source, 'name', source)!r} gave no events from {lo} to {hi}; "
                              "pass start= inside its data (a replay starts at its start= or first read)")
        arr, ev, bad = _clean(arr, ev)
        rate = arr[arr >= 0].size / (span * 3600.0)
        return cls(rate=rate, arrival=arr, newest=np.maximum.accumulate(ev) if ev.size else ev,
                   name=str(getattr(source, "name", "source")), start=t0, rejected=bad)

    def newest_at(self, cutoff: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Event time (seconds) of the newest event that arrived at or before each
        cutoff; NaN where none had. For a rate, an exponential gap is drawn per cutoff
        (the time since the newest event of a stationary Poisson stream)."""
        cutoff = np.asarray(cutoff, dtype=float)
        if self.arrival is None:
            rng = rng if rng is not None else np.random.default_rng(0)
            return cutoff - rng.exponential(1.0 / self.rate, size=cutoff.shape)
        if cutoff.ndim == 2:
            # Search in time order (column-major over viewers x slices): numpy's binary
            # search starts from the previous answer, so nearly sorted keys are ~10x faster.
            idx = np.searchsorted(self.arrival, cutoff.T.ravel(), side="right").reshape(cutoff.T.shape).T - 1
        else:
            idx = np.searchsorted(self.arrival, cutoff, side="right") - 1
        out = self.newest[np.maximum(idx, 0)] if self.newest.size else np.full(cutoff.shape, np.nan)
        return np.where(idx >= 0, out, np.nan)

    def arrived_on_grid(self, first: float, step: float, n: int) -> np.ndarray:
        """How many events arrived at or before ``first + i * step``, i < n, in one pass
        over the events (a binary search per grid point would cost far more)."""
        i = np.ceil((self.arrival - first) / step)
        i = np.clip(i, 0, n).astype(np.int64)
        return np.cumsum(np.bincount(i, minlength=n + 1))[:n]

    def has_new(self, before: np.ndarray, after: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Whether any event arrived in each interval (before, after]."""
        if self.arrival is None:
            gap = np.clip(after - before, 0.0, None)
            return rng.random(gap.shape) < -np.expm1(-self.rate * gap)
        a = np.searchsorted(self.arrival, before, side="right")
        b = np.searchsorted(self.arrival, after, side="right")
        return b > a

    def __repr__(self) -> str:
        n = "" if self.arrival is None else f", events={self.arrival.size}, rejected={self.rejected}"
        return f"Workload(name={self.name!r}, rate={self.rate:.4g}/s{n})"


def _clean(arr: np.ndarray, ev: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Sort by arrival and set aside rows a pipeline would reject on their times: a
    missing time, or an event time after its arrival (e.g. a timestamp years ahead).
    Such rows never make new data visible; :attr:`Workload.rejected` counts them."""
    ok = np.isfinite(arr) & np.isfinite(ev) & (ev <= arr)
    arr, ev = arr[ok], ev[ok]
    order = np.argsort(arr, kind="stable")
    return arr[order], ev[order], int((~ok).sum())


def _to_seconds(values: Any, param: str, t0: pd.Timestamp | None) -> tuple[np.ndarray, pd.Timestamp | None]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ParameterError(param, f"array of shape {arr.shape}", "must be one-dimensional")
    if np.issubdtype(arr.dtype, np.datetime64) or (arr.dtype == object and arr.size and isinstance(arr[0], pd.Timestamp)):
        ts = pd.DatetimeIndex(arr).as_unit("ns")
        if t0 is None:
            t0 = ts.min() if len(ts) else pd.Timestamp(0)
        return ((ts - t0) / _SECOND).to_numpy(dtype=float), t0
    try:
        out = arr.astype(float)
    except (TypeError, ValueError):
        raise ParameterError(param, values, "must be seconds or datetimes") from None
    return out, t0  # missing (NaN) times are set aside by _clean and counted


def _col_seconds(df: pd.DataFrame, col: str, t0: pd.Timestamp) -> np.ndarray:
    if col not in df.columns:
        raise SourceError(f"a batch has no {col!r} column (columns: {list(df.columns)})")
    return ((pd.DatetimeIndex(df[col]).as_unit("ns") - t0) / _SECOND).to_numpy(dtype=float)


def _hours(hours: Any) -> float:
    if isinstance(hours, bool) or not isinstance(hours, (int, float, np.number)) or not np.isfinite(hours) or hours <= 0:
        raise ParameterError("hours", hours, "must be a number of hours > 0")
    return float(hours)


def as_workload(workload: Any, *, start: TimeLike | None = None, hours: float = 24.0) -> Workload:
    """A :class:`Workload` from a Workload, a rate (events/s), event times, or a Source."""
    if isinstance(workload, Workload):
        return workload
    if isinstance(workload, (int, float, np.number)) and not isinstance(workload, bool):
        return Workload.from_rate(float(workload))
    if hasattr(workload, "read"):
        return Workload.from_source(workload, start=start, hours=hours)
    if isinstance(workload, (Sequence, np.ndarray, pd.Series, pd.Index)) and not isinstance(workload, str):
        return Workload.from_times(workload, start=start)
    raise ParameterError("workload", workload, "must be a rate (events/s), an array of event times, a Source or a Workload")
