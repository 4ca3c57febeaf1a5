"""Delivery patterns, and what V viewers see and cost under each, in virtual time.

A **pattern** says how new data reaches a viewer's screen:

- :class:`BatchRefresh` — a job recomputes the metric on a schedule; viewers' pages
  reload every ``reload``;
- :class:`Polling` — each viewer asks every ``interval`` (short polling);
- :class:`ServerSentEvents` and :class:`WebSocketPush` — the server pushes the metric
  at most every ``push_interval`` over a long-lived connection that sometimes drops
  and reconnects (with backoff).

Every pattern has a pipeline in front of it: ``pipeline_interval`` (0 = continuous
streaming, otherwise micro-batches or a scheduled job) and ``pipeline_delay`` (how long
processing takes), plus a one-way ``network_latency``. Each pattern gives its closed
form mean data age with :meth:`~Polling.expected_age`.

A **workload** says when data exists (:class:`Workload`: an event rate, an array of
event times, or a :class:`rtnb.Source`). :func:`simulate` then gives, for V viewers
over T hours, the data age each viewer sees (time-weighted p50/p95/max), and the loads:
requests/s, open connections, store queries/s, bytes/s and messages/s.

The data age on a screen at time t is ``t - newest event time shown``: a sawtooth that
jumps down when an update lands and grows by one second per second until the next. The
simulation is vectorised over viewers: each viewer's age is evaluated at one random
instant in every ``resolution`` slice (stratified sampling, so percentiles are
time-weighted), and at the end of the display period containing it (for the max).

>>> sim = simulate(100.0, Polling(interval="30s", pipeline_delay="2s"), viewers=200, hours=2)
>>> round(sim.age_mean / 17.05, 2)   # closed form: 30/2 + 2 + 0.05 s
1.0
>>> round(sim.load_mean["requests_per_s"], 2)   # 200 viewers / 30 s
6.67
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Union

import numpy as np
import pandas as pd

from .._errors import ParameterError, SourceError, SourceUnavailable, UnknownNameError
from .._time import DurationLike, TimeLike, to_duration, to_timestamp
from ._tiers import TIER_NAMES, Tier, get_tier

__all__ = [
    "BatchRefresh",
    "Polling",
    "ServerSentEvents",
    "WebSocketPush",
    "Pattern",
    "PATTERN_NAMES",
    "get_pattern",
    "pattern_for",
    "Workload",
    "Simulation",
    "simulate",
    "compare",
    "simulate_tiers",
    "LOAD_COLUMNS",
]

LOAD_COLUMNS = (
    "requests_per_s",
    "open_connections",
    "store_queries_per_s",
    "bytes_per_s",
    "messages_per_s",
)
_SECOND = pd.Timedelta(1, "s")
_MAX_SAMPLES = 50_000_000  # viewers x slices; bounds memory (two float64 matrices)


def _seconds(td: pd.Timedelta) -> float:
    return float(td / _SECOND)


class _Plan(NamedTuple):
    """A pattern reduced to numbers (seconds, bytes, per-second rates)."""

    push: bool
    cadence: float  # poll/reload interval (pull) or push interval (push)
    pipe_interval: float  # 0 = continuous
    pipe_delay: float
    latency: float  # one way
    cache_ttl: float
    request_bytes: float
    response_bytes: float
    message_bytes: float
    connect_bytes: float
    drop_rate: float  # per connection per second
    reconnect_delay: float
    backoff: float
    jitter: float
    max_backoff: float


@dataclass(frozen=True, kw_only=True)
class _PatternBase:
    """Fields shared by every pattern: the pipeline in front, and the network."""

    name: ClassVar[str] = ""
    _durations: ClassVar[dict[str, bool]] = {}  # field -> zero allowed
    network_latency: pd.Timedelta = pd.Timedelta("50ms")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in self._durations or f.name == "network_latency":
                zero_ok = self._durations.get(f.name, True)
                object.__setattr__(self, f.name, to_duration(v, f.name, allow_zero=zero_ok))
            elif f.type in ("float", "int"):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                    raise ParameterError(f.name, v, "must be a number >= 0")

    def _plan(self) -> _Plan:  # pragma: no cover - every pattern overrides it
        raise NotImplementedError

    def expected_age(self, rate: float | None = None) -> pd.Timedelta:
        """Closed-form mean data age (no dropped connections).

        Half the viewer's cadence + half the pipeline interval + the pipeline delay +
        the network latency (+ ``1/rate`` when events arrive as a Poisson stream at
        ``rate`` per second: the mean gap since the newest event).

        It assumes the viewer's polls or pushes fall at any phase of the pipeline's
        runs (random phase); a push timer locked to the runs is slower or faster by up
        to half an interval, and the simulation shows it.
        """
        p = self._plan()
        mean = p.cadence / 2 + p.pipe_interval / 2 + p.pipe_delay + p.latency + p.cache_ttl / 2
        if rate is not None:
            if not rate > 0:
                raise ParameterError("rate", rate, "must be > 0 events per second")
            mean += 1.0 / rate
        return pd.Timedelta(seconds=mean)

    def with_(self, **changes: Any) -> Any:
        """A copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class BatchRefresh(_PatternBase):
    """A job recomputes the metric every ``every`` and takes ``job_duration``; each
    viewer's page reloads every ``reload`` (random phase) and fetches the result.

    >>> BatchRefresh(every="1h", job_duration="10min", reload="15min").expected_age()
    Timedelta('0 days 00:47:30.050000')
    >>> BatchRefresh(every=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: every=0 is invalid: must be a positive duration
    """

    name: ClassVar[str] = "batch_refresh"
    _durations: ClassVar[dict[str, bool]] = {"every": False, "job_duration": True, "reload": False}
    every: pd.Timedelta = pd.Timedelta("1h")
    job_duration: pd.Timedelta = pd.Timedelta("10min")
    reload: pd.Timedelta = pd.Timedelta("15min")
    request_bytes: float = 800.0
    response_bytes: float = 20_000.0

    def _plan(self) -> _Plan:
        return _Plan(False, _seconds(self.reload), _seconds(self.every), _seconds(self.job_duration),
                     _seconds(self.network_latency), 0.0, self.request_bytes, self.response_bytes,
                     0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True, kw_only=True)
class Polling(_PatternBase):
    """Short polling: each viewer asks every ``interval`` (random phase) and gets the
    store's current answer. ``pipeline_interval`` 0 means a continuous pipeline;
    ``cache_ttl`` > 0 puts a server-side cache in front of the store.

    Request and response sizes default to a small JSON metric (about 0.7 kB of HTTP
    request headers, 2.3 kB of headers and body back): assumptions, change them.

    >>> Polling(interval="30s", pipeline_delay="2s").expected_age()
    Timedelta('0 days 00:00:17.050000')
    >>> Polling(interval=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: interval=0 is invalid: must be a positive duration
    """

    name: ClassVar[str] = "polling"
    _durations: ClassVar[dict[str, bool]] = {
        "interval": False, "pipeline_interval": True, "pipeline_delay": True, "cache_ttl": True
    }
    interval: pd.Timedelta = pd.Timedelta("30s")
    pipeline_interval: pd.Timedelta = pd.Timedelta(0)
    pipeline_delay: pd.Timedelta = pd.Timedelta("2s")
    cache_ttl: pd.Timedelta = pd.Timedelta(0)
    request_bytes: float = 700.0
    response_bytes: float = 2_300.0

    def _plan(self) -> _Plan:
        return _Plan(False, _seconds(self.interval), _seconds(self.pipeline_interval),
                     _seconds(self.pipeline_delay), _seconds(self.network_latency),
                     _seconds(self.cache_ttl), self.request_bytes, self.response_bytes,
                     0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True, kw_only=True)
class _Push(_PatternBase):
    """A long-lived connection per viewer; the server pushes at most every
    ``push_interval`` when there is new data. Connections drop ``drop_rate`` times
    per hour each (Poisson); a client retries after ``reconnect_delay``, multiplied by
    ``backoff`` after each failed try (capped at ``max_backoff``), each delay stretched
    by a random factor in [1, 1 + ``jitter``]."""

    _durations: ClassVar[dict[str, bool]] = {
        "push_interval": False, "pipeline_interval": True, "pipeline_delay": True,
        "reconnect_delay": False, "max_backoff": False,
    }
    push_interval: pd.Timedelta = pd.Timedelta("1s")
    pipeline_interval: pd.Timedelta = pd.Timedelta(0)
    pipeline_delay: pd.Timedelta = pd.Timedelta("2s")
    message_bytes: float = 300.0
    message_overhead: float = 40.0
    connect_bytes: float = 3_000.0
    drop_rate: float = 0.5
    reconnect_delay: pd.Timedelta = pd.Timedelta("3s")
    backoff: float = 1.0
    jitter: float = 0.0
    max_backoff: pd.Timedelta = pd.Timedelta("60s")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.backoff < 1:
            raise ParameterError("backoff", self.backoff, "must be >= 1 (1 = a fixed retry delay)")

    def _plan(self) -> _Plan:
        return _Plan(True, _seconds(self.push_interval), _seconds(self.pipeline_interval),
                     _seconds(self.pipeline_delay), _seconds(self.network_latency), 0.0,
                     0.0, 0.0, self.message_bytes + self.message_overhead, self.connect_bytes,
                     self.drop_rate / 3600.0, _seconds(self.reconnect_delay), self.backoff,
                     self.jitter, _seconds(self.max_backoff))


@dataclass(frozen=True, kw_only=True)
class ServerSentEvents(_Push):
    """Server-Sent Events push. Browsers' ``EventSource`` retries after a fixed delay
    (about 3 s, no backoff, no jitter), so a server restart brings every viewer back
    at once: a reconnect storm. ``message_overhead`` (about 40 bytes: ``id:``,
    ``data:`` and blank-line framing) is an assumption.

    >>> ServerSentEvents(push_interval="1s", pipeline_delay="2s").expected_age()
    Timedelta('0 days 00:00:02.550000')
    >>> ServerSentEvents(drop_rate=-1)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: drop_rate=-1 is invalid: must be a number >= 0
    """

    name: ClassVar[str] = "sse"


@dataclass(frozen=True, kw_only=True)
class WebSocketPush(_Push):
    """WebSocket push: small frames (2-14 bytes of header; 6 assumed), clients retry
    with exponential backoff and jitter (defaults 1 s, x2, +50%) as client libraries do.

    >>> WebSocketPush().expected_age()
    Timedelta('0 days 00:00:00.200000')
    """

    name: ClassVar[str] = "websocket"
    push_interval: pd.Timedelta = pd.Timedelta("100ms")
    pipeline_delay: pd.Timedelta = pd.Timedelta("100ms")
    message_overhead: float = 6.0
    connect_bytes: float = 1_500.0
    reconnect_delay: pd.Timedelta = pd.Timedelta("1s")
    backoff: float = 2.0
    jitter: float = 0.5


Pattern = Union[BatchRefresh, Polling, ServerSentEvents, WebSocketPush]
_PATTERNS: dict[str, type] = {
    c.name: c for c in (BatchRefresh, Polling, ServerSentEvents, WebSocketPush)
}
PATTERN_NAMES: tuple[str, ...] = tuple(_PATTERNS)

# The pattern each tier is usually built with, with its usual parameters.
_TIER_PATTERNS: dict[str, dict[str, Any]] = {
    "batch": {"every": "1h", "job_duration": "10min", "reload": "15min"},
    "near_real_time": {"interval": "1min", "pipeline_interval": "1min", "pipeline_delay": "30s"},
    "real_time": {"push_interval": "1s", "pipeline_delay": "2s"},
    "sub_second": {"push_interval": "100ms", "pipeline_delay": "100ms"},
}


def get_pattern(name: str, **params: Any) -> Pattern:
    """A pattern by name, with parameters.

    >>> get_pattern("polling", interval="10s").interval
    Timedelta('0 days 00:00:10')
    >>> get_pattern("carrier_pigeon")
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: pattern='carrier_pigeon' is unknown; choose one of: 'batch_refresh', 'polling', 'sse', 'websocket'
    """
    try:
        cls = _PATTERNS[name]
    except (KeyError, TypeError):
        raise UnknownNameError("pattern", name, PATTERN_NAMES) from None
    return cls(**params)


def pattern_for(tier: str | Tier, **params: Any) -> Pattern:
    """The usual pattern of a tier (batch: hourly job; near-real-time: 1-minute
    micro-batches and polling; real-time: SSE; sub-second: WebSocket), with overrides.

    >>> pattern_for("near_real_time").interval
    Timedelta('0 days 00:01:00')
    >>> pattern_for("real_time", pipeline_delay="5s").name
    'sse'
    """
    t = get_tier(tier)
    return get_pattern(t.pattern, **{**_TIER_PATTERNS[t.name], **params})


# --------------------------------------------------------------------------- workload


class Workload:
    """When data exists: arrival times of events (seconds from the start) and the
    event time of the newest event available at each arrival — or just a rate.

    Build one with :meth:`from_rate` (a Poisson stream; nothing is materialised),
    :meth:`from_times` (an array of event times) or :meth:`from_source` (reads a
    :class:`rtnb.Source` over the horizon). :func:`simulate` accepts any of the
    three inputs directly.

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
        order = np.argsort(arr, kind="stable")
        arr, ev = arr[order], ev[order]
        if duration is not None:
            span = _seconds(to_duration(duration, "duration"))
        else:
            span = float(arr[-1] - min(arr[0], 0.0)) if arr.size else 0.0
        rate = arr[(arr >= 0) & (arr < span)].size / span if span > 0 else 0.0
        return cls(rate=rate, arrival=arr, newest=np.maximum.accumulate(ev) if ev.size else ev,
                   name=name, start=t0)

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
        if start is None:
            own = getattr(source, "start", None)
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
        order = np.argsort(arr, kind="stable")
        arr, ev = arr[order], ev[order]
        rate = arr[arr >= 0].size / (span * 3600.0)
        return cls(rate=rate, arrival=arr, newest=np.maximum.accumulate(ev) if ev.size else ev,
                   name=str(getattr(source, "name", "source")), start=t0)

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
        n = "" if self.arrival is None else f", events={self.arrival.size}"
        return f"Workload(name={self.name!r}, rate={self.rate:.4g}/s{n})"


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
    if not np.all(np.isfinite(out)):
        raise ParameterError(param, "non-finite values", "must be finite")
    return out, t0


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


# ------------------------------------------------------------------------- simulation


@dataclass(frozen=True, eq=False)
class Simulation:
    """What V viewers saw and what the server carried, for one pattern.

    ``ages`` is a (viewers x slices) matrix of data ages in seconds, one at a random
    instant of each ``resolution`` slice (NaN: nothing to show yet); ``loads`` a
    DataFrame per slice with :data:`LOAD_COLUMNS`. Summaries: ``age_mean``,
    ``age_p50``, ``age_p95``, ``age_max`` (seconds), ``load_mean``/``load_peak``,
    ``requests_peak_1s`` (the busiest second of connection attempts for push patterns,
    where reconnect storms last seconds; the busiest slice for pull patterns) and,
    with a ``limit``, ``within_limit`` and ``limit_kept``.

    >>> sim = simulate(20.0, ServerSentEvents(drop_rate=0), viewers=10, hours=1)
    >>> float(sim.loads["open_connections"].min())
    10.0
    >>> sim.summary()["pattern"]
    'sse'
    """

    pattern: Pattern
    workload: Workload
    viewers: int
    hours: float
    start: pd.Timestamp
    resolution: float
    ages: np.ndarray
    end_ages: np.ndarray
    loads: pd.DataFrame
    limit: float | None = None
    target: float = 0.99
    requests_peak_1s: float = 0.0
    _screen: Any = None

    # ---- data age
    @functools.cached_property
    def _age_stats(self) -> tuple[float, float, float]:
        a = self.ages.ravel()
        if np.isnan(a).any():
            a = a[~np.isnan(a)]
        if not a.size:
            return (float("nan"),) * 3
        p50, p95 = np.percentile(a, [50, 95])
        return float(a.mean()), float(p50), float(p95)

    @property
    def age_mean(self) -> float:
        """Time-weighted mean data age on viewers' screens, in seconds."""
        return self._age_stats[0]

    @property
    def age_p50(self) -> float:
        """Median (time-weighted) data age, in seconds."""
        return self._age_stats[1]

    @property
    def age_p95(self) -> float:
        """95th percentile (time-weighted) data age, in seconds."""
        return self._age_stats[2]

    @property
    def age_max(self) -> float:
        """Largest data age reached (just before a screen update), in seconds."""
        e = self.end_ages
        return float(np.nanmax(e)) if np.isfinite(e).any() else float("nan")

    @property
    def age_over_time(self) -> pd.DataFrame:
        """p50, p95 and max of the data age across viewers, per slice (seconds)."""
        a = self.ages
        with np.errstate(all="ignore"):
            if np.isnan(a).any():
                p50, p95 = np.nanpercentile(a, [50, 95], axis=0)
                mx = np.nanmax(np.where(np.isnan(self.end_ages), -np.inf, self.end_ages), axis=0)
            else:
                p50, p95 = np.percentile(a, [50, 95], axis=0)
                mx = self.end_ages.max(axis=0)
        return pd.DataFrame({"p50": p50, "p95": p95, "max": np.where(np.isinf(mx), np.nan, mx)},
                            index=self.loads.index)

    @property
    def within_limit(self) -> float | None:
        """Fraction of viewer-time the data age was within ``limit`` (None without one);
        time with nothing on screen counts as outside."""
        if self.limit is None:
            return None
        with np.errstate(invalid="ignore"):
            return float(np.mean(self.ages <= self.limit))

    @property
    def limit_kept(self) -> bool | None:
        """Whether the age was within ``limit`` at least ``target`` of the time."""
        w = self.within_limit
        return None if w is None else w >= self.target

    # ---- loads
    @property
    def load_mean(self) -> dict[str, float]:
        """Mean of each load over the run."""
        return {c: float(self.loads[c].mean()) for c in LOAD_COLUMNS}

    @property
    def load_peak(self) -> dict[str, float]:
        """Peak (largest slice) of each load."""
        return {c: float(self.loads[c].max()) for c in LOAD_COLUMNS}

    def summary(self) -> dict[str, Any]:
        """One row: pattern, data age (s) and mean/peak loads."""
        row: dict[str, Any] = {
            "pattern": self.pattern.name,
            "viewers": self.viewers,
            "age_mean_s": self.age_mean,
            "age_p50_s": self.age_p50,
            "age_p95_s": self.age_p95,
            "age_max_s": self.age_max,
        }
        peak = self.load_peak
        for c, v in self.load_mean.items():
            row[c] = v
            row[c.replace("_per_s", "") + "_peak" + ("_per_s" if c.endswith("_per_s") else "")] = peak[c]
        row["requests_peak_1s"] = self.requests_peak_1s
        if self.limit is not None:
            row["within_limit"] = self.within_limit
            row["limit_kept"] = self.limit_kept
        return row

    def screen(self, viewer: int = 0) -> pd.DataFrame:
        """Every screen update of one viewer: when it landed, the newest event time it
        showed, and the data age at that moment.

        >>> s = simulate(10.0, Polling(interval="10s"), viewers=3, hours=0.1).screen(1)
        >>> list(s.columns), len(s)
        (['shown_at', 'as_of', 'age_s'], 36)
        """
        if isinstance(viewer, bool) or not isinstance(viewer, (int, np.integer)) or not 0 <= viewer < self.viewers:
            raise ParameterError("viewer", viewer, f"must be an integer in [0, {self.viewers})")
        shown, asof = self._screen(int(viewer))
        keep = (shown >= 0) & (shown < self.hours * 3600.0)
        shown, asof = shown[keep], asof[keep]
        return pd.DataFrame({
            "shown_at": self.start + pd.to_timedelta(shown, unit="s"),
            "as_of": self.start + pd.to_timedelta(asof, unit="s"),
            "age_s": shown - asof,
        })

    def __repr__(self) -> str:
        return (f"Simulation(pattern={self.pattern.name!r}, viewers={self.viewers}, hours={self.hours:g}, "
                f"age_p50={self.age_p50:.3g}s, age_p95={self.age_p95:.3g}s)")


def _cutoff(s: np.ndarray, p: _Plan) -> np.ndarray:
    """Arrival time up to which the store holds data at time s."""
    c = s - p.pipe_delay
    if p.pipe_interval > 0:
        c = np.floor(c / p.pipe_interval) * p.pipe_interval
    return c


def _asof(wl: Workload, s: np.ndarray, p: _Plan, rng: np.random.Generator) -> np.ndarray:
    """Newest event time in the store read at times s.

    With micro-batches or a scheduled job, every reader of one run sees the same answer:
    compute it once per run (a few thousand runs, not millions of reads)."""
    if p.pipe_interval <= 0:
        return wl.newest_at(s - p.pipe_delay, rng)
    k = np.floor((s - p.pipe_delay) / p.pipe_interval)
    k0 = float(k.min())
    idx = (k - k0).astype(np.int64)
    runs = (k0 + np.arange(int(idx.max()) + 1)) * p.pipe_interval
    return _ordered_newest(wl, runs, rng)[idx]


def _read_time(s: np.ndarray, p: _Plan) -> np.ndarray:
    """When the store was actually read for a request at time s (server cache)."""
    return np.floor(s / p.cache_ttl) * p.cache_ttl if p.cache_ttl > 0 else s


def simulate(
    workload: Any,
    pattern: Pattern | str,
    *,
    viewers: int,
    hours: float,
    limit: DurationLike | None = None,
    target: float = 0.99,
    resolution: DurationLike = "1min",
    restarts: Iterable[DurationLike] = (),
    restart_downtime: DurationLike = "30s",
    start: TimeLike | None = None,
    seed: int = 0,
) -> Simulation:
    """Simulate ``viewers`` viewers of a metric for ``hours`` under ``pattern``.

    ``workload`` is an event rate (events/s), an array of event times, a Source or a
    :class:`Workload`. ``limit`` is the metric's maximum acceptable age (the result
    then says whether it was kept ``target`` of the time). ``restarts`` are offsets
    from the start at which the server restarts, down for ``restart_downtime``: polls
    fail meanwhile, every push connection drops and reconnects (a reconnect storm).

    >>> sim = simulate(50.0, "websocket", viewers=100, hours=1, limit="1s")
    >>> sim.limit_kept, sim.within_limit > 0.99
    (True, True)
    >>> simulate(5.0, "polling", viewers=-3, hours=1)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: viewers=-3 is invalid: must be an integer >= 1
    """
    if isinstance(pattern, str):
        pattern = get_pattern(pattern)
    if not isinstance(pattern, _PatternBase):
        raise ParameterError("pattern", pattern, "must be a pattern or one of its names", PATTERN_NAMES)
    if isinstance(viewers, bool) or not isinstance(viewers, (int, np.integer)) or viewers < 1:
        raise ParameterError("viewers", viewers, "must be an integer >= 1")
    hours = _hours(hours)
    t0 = to_timestamp("2024-01-01" if start is None else start, "start")
    wl = as_workload(workload, start=start, hours=hours)
    if wl.start is not None:
        t0 = wl.start
    T = hours * 3600.0
    res = _seconds(to_duration(resolution, "resolution"))
    M = max(1, int(np.ceil(T / res - 1e-9)))
    w = T / M
    if viewers * M > _MAX_SAMPLES:
        raise ParameterError("resolution", resolution,
                             f"gives {viewers * M:,} samples for {viewers} viewers over {hours:g} h; use a coarser one")
    lim = None if limit is None else _seconds(to_duration(limit, "limit"))
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
        raise ParameterError("target", target, "must be in (0, 1]")
    down = np.sort(np.array([_seconds(to_duration(r, "restarts", allow_zero=True)) for r in restarts], dtype=float))
    downtime = _seconds(to_duration(restart_downtime, "restart_downtime", allow_zero=True))

    rng = np.random.default_rng(seed)
    p = pattern._plan()
    t = (np.arange(M) + rng.random((int(viewers), M))) * w  # one instant per slice
    edges = np.arange(M + 1) * w
    run = _simulate_push if p.push else _simulate_pull
    ages, end_ages, loads, screen, peak_1s = run(wl, p, int(viewers), T, t, edges, down, downtime, rng)
    index = pd.DatetimeIndex(t0 + pd.to_timedelta(edges[:-1], unit="s"), name="time").as_unit("ns")
    loads_df = pd.DataFrame(loads, index=index)[list(LOAD_COLUMNS)]
    return Simulation(pattern=pattern, workload=wl, viewers=int(viewers), hours=hours, start=t0,
                      resolution=w, ages=ages, end_ages=end_ages, loads=loads_df, limit=lim,
                      target=float(target), requests_peak_1s=peak_1s, _screen=screen)


def _simulate_pull(wl, p, V, T, t, edges, down, downtime, rng):
    screen_seed = int(rng.integers(2**32))  # screen(v) is the same whenever it is asked
    N, L = p.cadence, p.latency
    phase = rng.random(V) * N
    ph = phase[:, None]
    poll = ph + np.floor((t - 2 * L - ph) / N) * N  # the last poll whose answer has landed
    nxt = poll + N
    if down.size:
        # A poll reaching the server while it is down fails: the screen keeps the
        # previous successful answer until the first poll after the server is back.
        arrive = poll + L
        k = np.searchsorted(down, arrive, side="right") - 1
        m = down[np.maximum(k, 0)]
        failed = (k >= 0) & (arrive < m + downtime)
        back = np.floor((m - L - ph) / N) * N + ph  # last poll before the outage
        back = np.where(back + L >= m, back - N, back)
        after = ph + np.ceil((m + downtime - L - ph) / N) * N  # first poll after it
        poll = np.where(failed, back, poll)
        nxt = np.where(failed, np.maximum(after, poll + N), nxt)
    asof = _asof(wl, _read_time(poll + L, p), p, rng)
    ages = t - asof
    end_ages = nxt + 2 * L - asof

    # Loads per slice: polls in [e0, e1) summed over viewers, exactly.
    counts = np.clip(np.ceil((edges[None, :] - ph) / N), 0, None).sum(axis=0)
    width = np.diff(edges)
    requests = np.diff(counts) / width
    up = 1.0 - _down_fraction(edges, down, downtime) if down.size else np.ones_like(width)
    answered = requests * up
    queries = np.minimum(answered, up / p.cache_ttl) if p.cache_ttl > 0 else answered
    loads = {
        "requests_per_s": requests,
        "open_connections": requests * 2 * L,  # requests in flight (Little's law)
        "store_queries_per_s": queries,
        "bytes_per_s": requests * p.request_bytes + answered * p.response_bytes,
        "messages_per_s": answered,
    }

    def screen(v: int):
        n0 = int(np.floor(-phase[v] / N))
        polls = phase[v] + np.arange(n0, int(np.ceil((T - phase[v]) / N)) + 1) * N
        if down.size:
            k = np.searchsorted(down, polls + L, side="right") - 1
            ok = ~((k >= 0) & (polls + L < down[np.maximum(k, 0)] + downtime))
            polls = polls[ok]
        a = _ordered_newest(wl, _cutoff(_read_time(polls + L, p), p), np.random.default_rng((screen_seed, v)))
        return polls + 2 * L, a

    return ages, end_ages, loads, screen, float(requests.max())


def _down_fraction(edges, down, downtime):
    """Fraction of each slice during which the server is down."""
    lo, hi = edges[:-1], edges[1:]
    frac = np.zeros(lo.size)
    for m in down:  # restarts are few
        frac += np.clip(np.minimum(hi, m + downtime) - np.maximum(lo, m), 0, None)
    return np.clip(frac / (hi - lo), 0, 1)


def _disconnections(p, V, T, down, downtime, rng):
    """Intervals during which viewers are disconnected, and every connection attempt."""
    viewer, start, end, attempts = [], [], [], []
    if p.drop_rate > 0:
        n = rng.poisson(p.drop_rate * T, size=V)
        v = np.repeat(np.arange(V), n)
        a = rng.random(v.size) * T
        r = a + p.reconnect_delay * (1 + p.jitter * rng.random(v.size))
        viewer += [v]; start += [a]; end += [r]; attempts += [r]
    if down.size:
        K = 1 + int(np.ceil(np.log(max(downtime / p.reconnect_delay, 1.0) + 1) / np.log(p.backoff))) if p.backoff > 1 else 0
        K = max(K, int(np.ceil(downtime / min(p.reconnect_delay, p.max_backoff))) + 1)
        steps = np.minimum(p.reconnect_delay * p.backoff ** np.arange(K), p.max_backoff)
        for m in down:
            u = 1 + p.jitter * rng.random((V, K))
            tries = m + np.cumsum(steps[None, :] * u, axis=1)  # retry times per viewer
            ok = tries >= m + downtime
            first = np.argmax(ok, axis=1)
            r = tries[np.arange(V), first]
            viewer += [np.arange(V)]; start += [np.full(V, m)]; end += [r]
            attempts += [tries[np.arange(K)[None, :] <= first[:, None]]]
    if not viewer:
        e = np.empty(0)
        return np.empty(0, dtype=int), e, e, e
    return (np.concatenate(viewer), np.concatenate(start), np.concatenate(end), np.concatenate(attempts))


def _simulate_push(wl, p, V, T, t, edges, down, downtime, rng):
    screen_seed = int(rng.integers(2**32))
    c, L = p.cadence, p.latency
    dv, da, dr, attempts = _disconnections(p, V, T, down, downtime, rng)
    tau = t
    frozen = None
    if dv.size:
        # Instants inside one of their viewer's disconnections (until the snapshot sent
        # on reconnect lands) show what was on screen when it dropped. Disconnections are
        # short and few: visit the one-per-slice instants each one covers.
        frozen = _frozen_instants(t, T, dv, da, dr + L)
        tau = t.copy()
        tau.flat[frozen[0]] = frozen[1]
    # Every viewer connected at push slot k gets the same message: compute the store's
    # answer once per slot (T / push_interval of them), then index it per viewer.
    k = np.floor((tau - L) / c)
    k0 = int(k.min())
    ks = np.arange(k0, int(np.floor((T - L) / c)) + 2)
    if ks.size > _MAX_SAMPLES:
        raise ParameterError("push_interval", pd.Timedelta(seconds=c), f"gives {ks.size:,} pushes over the run")
    counts = None
    if wl.arrival is not None and p.pipe_interval <= 0:  # cutoffs on a uniform grid
        counts = wl.arrived_on_grid(k0 * c - p.pipe_delay, c, ks.size)
        slot_newest = np.where(counts > 0, wl.newest[np.maximum(counts - 1, 0)], np.nan) \
            if wl.newest.size else np.full(ks.size, np.nan)
    else:
        slot_newest = _ordered_newest(wl, _cutoff(ks * c, p), rng)
    asof = slot_newest[(k - k0).astype(np.int64)]
    ages = t - asof
    nxt = (k + 1) * c + L
    if frozen is not None:
        nxt.flat[frozen[0]] = frozen[2]
    end_ages = nxt - asof

    # Sends: push slots in [0, T) with new data since the previous slot.
    inside_run = (ks >= 0) & (ks * c < T)
    slots = ks[inside_run] * c
    if wl.arrival is None:  # consistent with the answers drawn above
        prev = np.concatenate([[-np.inf], slot_newest[:-1]])
        sent = (slot_newest > prev)[inside_run]
    elif counts is not None:  # any arrival counts, late events included
        sent = (np.diff(counts, prepend=0) > 0)[inside_run]
    else:  # any arrival counts, late events included (they change the aggregates)
        sent = wl.has_new(_cutoff(slots - c, p), _cutoff(slots, p), rng)
    send_times = slots[sent]
    width = np.diff(edges)
    sends = np.histogram(send_times, bins=edges)[0]
    connected = V - _mean_disconnected(edges, da, dr)
    reconnects = np.histogram(dr, bins=edges)[0] if dr.size else np.zeros(width.size)
    tries = np.histogram(attempts, bins=edges)[0] if attempts.size else np.zeros(width.size)
    messages = (sends * connected + reconnects) / width  # pushed + snapshots
    loads = {
        "requests_per_s": tries / width,
        "open_connections": connected,
        "store_queries_per_s": (sends + reconnects) / width,  # one read per push, fanned out
        "bytes_per_s": messages * p.message_bytes + tries / width * p.connect_bytes,
        "messages_per_s": messages,
    }

    def screen(v: int):
        mine = dv == v
        shown = send_times + L
        if mine.any():
            order = np.argsort(da[mine], kind="stable")
            a, r = da[mine][order], dr[mine][order]
            i = np.searchsorted(a, send_times, side="right") - 1
            off = (i >= 0) & (send_times < r[np.maximum(i, 0)])
            shown = np.sort(np.concatenate([shown[~off], r + L]))
        sent_at = shown - L
        asof = _ordered_newest(wl, _cutoff(np.floor(sent_at / c) * c, p), np.random.default_rng((screen_seed, v)))
        return shown, asof

    # Reconnect storms last seconds: the peak over 1-second bins, on top of the baseline.
    peak = 0.0
    if attempts.size:
        peak = float(np.bincount(np.floor(attempts[(attempts >= 0) & (attempts < T)]).astype(np.int64)).max(initial=0))
    return ages, end_ages, loads, screen, peak


def _frozen_instants(t, T, dv, da, de):
    """Flat indices of sampled instants inside a disconnection [da, de) of their viewer,
    with that disconnection's start and end (the latest-starting one if several)."""
    V, M = t.shape
    w = T / M
    m0 = np.floor(da / w).astype(np.int64)
    m1 = np.floor(np.minimum(de, T * (1 - 1e-12)) / w).astype(np.int64)
    hits = []
    for o in range(int((m1 - m0).max(initial=0)) + 1):
        m = m0 + o
        ok = np.flatnonzero((m <= m1) & (m >= 0) & (m < M))
        tt = t[dv[ok], m[ok]]
        ok = ok[(tt >= da[ok]) & (tt < de[ok])]
        hits.append((dv[ok] * M + m[ok], ok))
    flat = np.concatenate([h[0] for h in hits])
    which = np.concatenate([h[1] for h in hits])
    order = np.argsort(da[which], kind="stable")[::-1]  # latest start first
    flat, which = flat[order], which[order]
    flat, first = np.unique(flat, return_index=True)
    which = which[first]
    return flat, da[which], de[which]


def _mean_disconnected(edges, a, r):
    """Mean number of disconnected viewers over each slice (exact, from intervals)."""
    if a.size == 0:
        return np.zeros(edges.size - 1)
    sa, sr = np.sort(a), np.sort(r)
    ca, cr = np.concatenate([[0], np.cumsum(sa)]), np.concatenate([[0], np.cumsum(sr)])
    na, nr = np.searchsorted(sa, edges, side="right"), np.searchsorted(sr, edges, side="right")
    integral = (na * edges - ca[na]) - (nr * edges - cr[nr])  # disconnected viewer-seconds up to edge
    return np.diff(integral) / np.diff(edges)


def _ordered_newest(wl: Workload, cutoff: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Newest event time at increasing cutoffs, consistent along one viewer's timeline.

    For a Poisson rate: if an event arrived since the previous cutoff (probability
    1 - exp(-rate * gap)) the newest is a truncated-exponential distance back,
    otherwise it is the previous one.
    """
    if wl.arrival is not None or cutoff.size == 0:
        return wl.newest_at(cutoff, rng)
    lam = wl.rate
    gap = np.diff(cutoff, prepend=-np.inf)
    p_any = -np.expm1(-lam * gap)
    fresh = rng.random(cutoff.size) < p_any
    u = rng.random(cutoff.size)
    back = -np.log1p(-u * p_any) / lam  # exponential truncated to the gap
    newest = np.where(fresh, cutoff - back, -np.inf)
    newest = np.maximum.accumulate(newest)
    return np.where(np.isinf(newest), cutoff[0] - rng.exponential(1 / lam), newest)


def compare(
    workload: Any,
    patterns: Mapping[str, Pattern] | Sequence[Pattern],
    *,
    viewers: int,
    hours: float,
    **options: Any,
) -> dict[str, Simulation]:
    """Simulate several patterns on the same workload (read once); keys are the
    mapping's keys or the patterns' names. Options as for :func:`simulate`.

    >>> sims = compare(10.0, [Polling(interval="5s"), WebSocketPush()], viewers=50, hours=0.5)
    >>> sorted(sims)
    ['polling', 'websocket']
    """
    wl = as_workload(workload, start=options.get("start"), hours=_hours(hours))
    items = patterns.items() if isinstance(patterns, Mapping) else [(pt.name, pt) for pt in patterns]
    return {name: simulate(wl, pt, viewers=viewers, hours=hours, **options) for name, pt in items}


def simulate_tiers(
    workload: Any,
    *,
    viewers: int,
    hours: float,
    tiers: Sequence[str] = TIER_NAMES,
    **options: Any,
) -> dict[str, Simulation]:
    """Each tier's usual pattern (see :func:`pattern_for`) on the same workload.

    >>> sims = simulate_tiers(20.0, viewers=1000, hours=4)
    >>> [round(s.age_mean / 60, 1) for s in sims.values()]   # minutes: batch ... sub-second
    [47.5, 1.5, 0.0, 0.0]
    >>> [round(s.age_mean / (s.pattern.expected_age(20.0) / pd.Timedelta("1s")), 1) for s in sims.values()]
    [1.0, 1.0, 1.0, 1.0]
    """
    return compare(workload, {get_tier(t).name: pattern_for(t) for t in tiers},
                   viewers=viewers, hours=hours, **options)
