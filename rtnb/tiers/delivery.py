"""Delivery patterns: how new data reaches a viewer's screen, and at what cost.

- :class:`BatchRefresh` — a job recomputes the metric on a schedule; viewers' pages
  reload every ``reload``;
- :class:`Polling` — each viewer asks every ``interval`` (short polling);
- :class:`ServerSentEvents` and :class:`WebSocketPush` — the server pushes the metric
  at most every ``push_interval`` over a long-lived connection that sometimes drops
  and reconnects (with backoff).

Every pattern has a pipeline in front of it: ``pipeline_interval`` (0 = continuous
streaming, otherwise micro-batches or a scheduled job) and ``pipeline_delay`` (how long
processing takes), plus a one-way ``network_latency``. Each pattern gives its closed
form mean data age with :meth:`~Polling.expected_age`; :func:`~rtnb.tiers.simulate`
gives the whole distribution and the loads.

>>> Polling(interval="30s", pipeline_delay="2s").expected_age()   # 30/2 + 2 + 0.05 s
Timedelta('0 days 00:00:17.050000')
>>> pattern_for("real_time").name, pattern_for("real_time").label
('sse', 'Server-Sent Events')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Union

import numpy as np
import pandas as pd

from .._errors import ParameterError, UnknownNameError
from .._time import to_duration
from ._tiers import Tier, get_tier

__all__ = [
    "BatchRefresh",
    "Polling",
    "ServerSentEvents",
    "WebSocketPush",
    "Pattern",
    "PATTERN_NAMES",
    "get_pattern",
    "pattern_for",
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
    #: The pattern in words, as the advisor and the tables say it ("short polling").
    label: ClassVar[str] = ""
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
    label: ClassVar[str] = "batch refresh"
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
    label: ClassVar[str] = "short polling"
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
    label: ClassVar[str] = "Server-Sent Events"


@dataclass(frozen=True, kw_only=True)
class WebSocketPush(_Push):
    """WebSocket push: small frames (2–14 bytes of header; 6 assumed), clients retry
    with exponential backoff and jitter (defaults 1 s, x2, +50%) as client libraries do.

    >>> WebSocketPush().expected_age()
    Timedelta('0 days 00:00:00.200000')
    """

    name: ClassVar[str] = "websocket"
    label: ClassVar[str] = "WebSockets"
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
