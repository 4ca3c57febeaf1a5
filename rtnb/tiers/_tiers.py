"""Latency tiers: how old the data on a dashboard may be, and what that usually takes.

Four tiers, from the published guidance on dashboard latency:

========================  ======================  ==========================================
tier                      data age it gives       how it is usually delivered
========================  ======================  ==========================================
``batch``                 an hour to a day        a scheduled job, page reloads
``near_real_time``        1 to 15 minutes         micro-batches, short polling
``real_time``             seconds                 a streaming pipeline, Server-Sent Events
``sub_second``            under a second          streaming, WebSockets
========================  ======================  ==========================================

>>> classify("5min").name
'near_real_time'
>>> get_tier("batch").label
'Batch'
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .._errors import ParameterError, UnknownNameError
from .._time import DurationLike, to_duration

__all__ = ["Tier", "TIERS", "TIER_NAMES", "get_tier", "classify"]


@dataclass(frozen=True, kw_only=True)
class Tier:
    """A latency tier: a name, the range of data age it gives, and a usual refresh.

    ``fastest_age`` and ``slowest_age`` bound the data age a dashboard of this tier
    shows; ``refresh`` is the usual cadence of its pipeline; ``pattern`` the name of
    the delivery pattern it is usually built with (see :mod:`rtnb.tiers.delivery`).

    >>> t = get_tier("real_time")
    >>> t.fastest_age, t.slowest_age
    (Timedelta('0 days 00:00:01'), Timedelta('0 days 00:01:00'))
    >>> t.contains("10s")
    True
    >>> Tier(name="x", label="X", fastest_age="1min", slowest_age="10s",
    ...      refresh="1min", pattern="polling", description="")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: slowest_age=Timedelta('0 days 00:00:10') is invalid: must not be shorter than fastest_age=0 days 00:01:00
    """

    name: str
    label: str
    fastest_age: pd.Timedelta
    slowest_age: pd.Timedelta
    refresh: pd.Timedelta
    pattern: str
    description: str

    def __post_init__(self) -> None:
        fast = to_duration(self.fastest_age, "fastest_age", allow_zero=True)
        slow = to_duration(self.slowest_age, "slowest_age")
        object.__setattr__(self, "fastest_age", fast)
        object.__setattr__(self, "slowest_age", slow)
        object.__setattr__(self, "refresh", to_duration(self.refresh, "refresh"))
        if slow < fast:
            raise ParameterError(
                "slowest_age", slow, f"must not be shorter than fastest_age={fast}"
            )

    def contains(self, age: DurationLike) -> bool:
        """Whether a data age falls in this tier's range (fastest inclusive)."""
        a = to_duration(age, "age", allow_zero=True)
        return self.fastest_age <= a < self.slowest_age


TIERS: dict[str, Tier] = {
    t.name: t
    for t in (
        Tier(
            name="batch",
            label="Batch",
            fastest_age="1h",
            slowest_age="1D",
            refresh="1h",
            pattern="batch_refresh",
            description="A scheduled job (hourly or daily) recomputes the metric; "
            "viewers see it when the page reloads. Cheapest; enough when nobody acts "
            "on the number within the hour.",
        ),
        Tier(
            name="near_real_time",
            label="Near-real-time",
            fastest_age="1min",
            slowest_age="1h",
            refresh="1min",
            pattern="polling",
            description="Micro-batches every 1–15 minutes, read by short polling. "
            "Reuses the batch stack; evaluate it first.",
        ),
        Tier(
            name="real_time",
            label="Real-time",
            fastest_age="1s",
            slowest_age="1min",
            refresh="1s",
            pattern="sse",
            description="A streaming pipeline updates the metric within seconds and "
            "pushes it to viewers (Server-Sent Events). Costs 40–80% more to build "
            "than near-real-time, plus $200–800/month of streaming infrastructure.",
        ),
        Tier(
            name="sub_second",
            label="Sub-second",
            fastest_age="0s",
            slowest_age="1s",
            refresh="100ms",
            pattern="websocket",
            description="Streaming end to end, pushed over WebSockets; for machines "
            "and people who act within a second (trading, control rooms).",
        ),
    )
}
TIER_NAMES: tuple[str, ...] = ("batch", "near_real_time", "real_time", "sub_second")


def get_tier(name: str | Tier) -> Tier:
    """The tier called ``name`` (a :class:`Tier` is returned as is).

    >>> get_tier("sub_second").slowest_age
    Timedelta('0 days 00:00:01')
    >>> get_tier("instant")
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: tier='instant' is unknown; choose one of: 'batch', 'near_real_time', 'real_time', 'sub_second'
    """
    if isinstance(name, Tier):
        return name
    try:
        return TIERS[name]
    except (KeyError, TypeError):
        raise UnknownNameError("tier", name, TIER_NAMES) from None


def classify(max_age: DurationLike) -> Tier:
    """The cheapest tier whose data is never older than ``max_age``.

    A maximum acceptable age of an hour or more is batch; of a minute or more,
    near-real-time; of a second or more, real-time; below a second, sub-second.

    >>> [classify(a).name for a in ("1D", "1h", "15min", "1min", "5s", "200ms")]
    ['batch', 'batch', 'near_real_time', 'near_real_time', 'real_time', 'sub_second']
    >>> classify(0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: max_age=0 is invalid: must be a positive duration
    """
    age = to_duration(max_age, "max_age")
    for name in TIER_NAMES:  # cheapest first
        tier = TIERS[name]
        if age >= tier.fastest_age:
            return tier
    return TIERS["sub_second"]  # pragma: no cover - sub_second starts at 0
