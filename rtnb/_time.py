"""Parsing durations and instants given by users, with errors that name the parameter.

Every time in rtnb is a tz-naive ``pandas.Timestamp`` in UTC at nanosecond resolution,
and every duration a ``pandas.Timedelta``.
"""

from __future__ import annotations

import datetime as _dt
import re
import re
from typing import Any, Union

import numpy as np
import pandas as pd

from ._errors import ParameterError

DurationLike = Union[str, float, int, pd.Timedelta, _dt.timedelta, np.timedelta64]
TimeLike = Union[str, pd.Timestamp, _dt.datetime, np.datetime64]

# single-letter units pandas deprecates, and the spelling it wants instead
_UNITS = re.compile(r"(\d(?:\.\d+)?)\s*([dwHS])(?![A-Za-z])")
_UNIT_FIX = {"d": "D", "w": "W", "H": "h", "S": "s"}

__all__ = ["to_duration", "to_timestamp", "clock_time", "DurationLike", "TimeLike"]

_BARE_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def to_duration(
    value: Any,
    param: str,
    *,
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> pd.Timedelta:
    """A duration from ``"60s"``, ``"5min"``, a number of seconds or a timedelta.

    >>> to_duration("5min", "window")
    Timedelta('0 days 00:05:00')
    >>> to_duration("1d2h", "max_age")
    Timedelta('1 days 02:00:00')
    >>> to_duration(1.5, "tick")
    Timedelta('0 days 00:00:01.500000')
    >>> to_duration("-1s", "window")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: window='-1s' is invalid: must be a positive duration
    >>> to_duration("60", "window")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: window='60' is invalid: has no unit; write '60s', '5min' or a number of seconds
    """
    if isinstance(value, bool) or value is None:
        raise ParameterError(param, value, "not a duration such as '60s' or 1.5 (seconds)")
    if isinstance(value, str) and _BARE_NUMBER.fullmatch(value):
        # pandas reads "60" as 60 nanoseconds: a 60 ns window, or a tick that never ends
        raise ParameterError(param, value, "has no unit; write '60s', '5min' or a number of seconds")
    try:
        if isinstance(value, (int, float, np.integer, np.floating)):
            if not np.isfinite(value):
                raise ValueError
            td = pd.Timedelta(seconds=float(value))
        elif isinstance(value, str):
            # pandas deprecates the units "d", "w", "H" and "S" (it wants "D", "W",
            # "h", "s"); users write both.
            td = pd.Timedelta(_UNITS.sub(lambda m: m.group(1) + _UNIT_FIX[m.group(2)], value))
        else:
            td = pd.Timedelta(value)
        td = td.as_unit("ns")  # every duration in rtnb is in nanoseconds
    except (ValueError, TypeError, OverflowError):  # 1e12 s is beyond what a Timedelta holds
        raise ParameterError(
            param, value, "not a duration such as '60s', '5min' or 1.5 (seconds)"
        ) from None
    if td is pd.NaT:
        raise ParameterError(param, value, "not a duration such as '60s' or 1.5 (seconds)")
    if td < pd.Timedelta(0) and not allow_negative:
        raise ParameterError(param, value, "must be a positive duration")
    if td == pd.Timedelta(0) and not (allow_zero or allow_negative):
        raise ParameterError(param, value, "must be a positive duration")
    return td


def to_timestamp(value: Any, param: str) -> pd.Timestamp:
    """An instant, as a tz-naive UTC ``Timestamp`` at nanosecond resolution.

    Timezone-aware values are converted to UTC first.

    >>> to_timestamp("2024-03-01 12:00", "start")
    Timestamp('2024-03-01 12:00:00')
    >>> to_timestamp("yesterday-ish", "start")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: start='yesterday-ish' is invalid: not a date and time such as '2024-01-01 09:00'
    """
    if isinstance(value, bool) or value is None:
        raise ParameterError(param, value, "not a date and time such as '2024-01-01 09:00'")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ParameterError(
            param, value, "not a date and time such as '2024-01-01 09:00'"
        ) from None
    if ts is pd.NaT:
        raise ParameterError(param, value, "not a date and time such as '2024-01-01 09:00'")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.as_unit("ns")


def clock_time(when: Any) -> str:
    """A clock's reading at a glance: the time of day to the second, the zone when the time
    has one, and the day — never "2024-01-01 09:00:03.123456+00:00".

    >>> clock_time(pd.Timestamp("2024-01-01 09:00:03.923456+00:00"))
    '09:00:03 UTC, Mon 01 Jan'
    >>> clock_time(pd.Timestamp("2013-03-10 14:30", tz="America/New_York")), clock_time("2024-01-01 12:05:57")
    ('14:30:00 EDT, Sun 10 Mar', '12:05:57, Mon 01 Jan')
    >>> clock_time(None)
    '–'
    """
    if when is None:
        return "–"
    t = pd.Timestamp(when)
    if t is pd.NaT:
        return "–"
    zone = f" {t.tzname()}" if t.tzinfo is not None else ""
    return f"{t:%H:%M:%S}{zone}, {t:%a %d %b}"
