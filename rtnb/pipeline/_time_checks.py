"""One column of event times against a :class:`~rtnb.pipeline.schema.Field`'s rules.

:func:`_check_time` converts any datetime column (any unit, any zone, Arrow-backed,
or objects and text, which are parsed) to ``datetime64[ns]`` in UTC, and finds the
values that are not times, missing, or outside the field's plausible range around the
clock's ``now`` (``max_future``, ``max_age``), with a reason per row as the other
checks in :mod:`rtnb.pipeline._column_checks` do.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._column_checks import _NAT, _NS, Values, _const, _is_missing_scalar, _isna, _obj, _Problem, _raw, _short

if TYPE_CHECKING:
    from .schema import Field


def _describe_duration(td: pd.Timedelta | int) -> str:
    """A duration in words for a reason: '45 s', '12 min', '2.5 h', '3 days'.

    Also takes integer nanoseconds (a year-1700 event is more than a Timedelta holds).

    >>> _describe_duration(324 * 365 * 86400 * 10**9)
    '118,260 days'
    """
    s = abs(td.total_seconds()) if isinstance(td, pd.Timedelta) else abs(int(td)) / 1e9
    if s < 60:
        return f"{s:.3g} s"
    if s < 3600:
        return f"{s / 60:.3g} min"
    if s < 86400:
        return f"{s / 3600:.3g} h"
    d = s / 86400
    return "1 day" if d < 1.05 else f"{d:.3g} days" if d < 100 else f"{d:,.0f} days"  # not 1.04e+03


def _check_time(f: Field, col: Values, now_ns: int | None) -> tuple[Any, list[_Problem]]:
    name = f.name
    raw = _raw(col)
    problems: list[_Problem] = []
    dt = col.dtype
    converted = None
    not_time = None
    if dt is _NS or dt == _NS:
        arr = np.asarray(col)
    elif isinstance(dt, pd.DatetimeTZDtype) or (isinstance(dt, np.dtype) and dt.kind == "M") or _arrow_time(dt):
        # any unit, any zone, Arrow-backed: converted safely (a year-2300 date is out of
        # range, never wrapped to 1715)
        from ._input import utc_nanoseconds

        i8, found, _zone = utc_nanoseconds(pd.Series(col, copy=False), name)
        arr = i8.view("datetime64[ns]")
        converted = arr
        outside = [p for p in found if p[1].endswith("nanosecond range")]
        problems += outside
        if outside:
            not_time = np.zeros(len(col), dtype=bool)  # reasons given; keep NaT checks apart
            nat_skip = outside[0][0]
            arr = np.where(nat_skip, np.datetime64("NaT"), arr)
    elif (isinstance(dt, np.dtype) and dt.kind == "O") or isinstance(dt, pd.StringDtype):
        arr, not_time = _coerce_times(col)
        converted = arr
    else:  # numbers, booleans, categories: not times
        arr = np.full(len(col), np.datetime64("NaT"), dtype="datetime64[ns]")
        not_time = ~_isna(col)
        converted = arr
    i8 = arr.view(np.int64)
    nat = i8 == _NAT
    if problems:  # out of range: one reason is enough
        for mask, _, _ in problems:
            nat = nat & ~mask
    if not_time is not None and not_time.any():
        problems.append((not_time, f"{name} is not a time", lambda r: f"{name} is not a time: {_short(raw(r))}"))
        nat = nat & ~not_time
    if not f.nullable and nat.any():
        problems.append((nat, f"{name} is missing", _const(f"{name} is missing")))
    if now_ns is not None:
        if f.max_future is not None:
            future = (i8 != _NAT) & (i8 > now_ns + f.max_future.value)
            if not_time is not None:
                future &= ~not_time
            if future.any():
                problems.append((future, f"{name} is in the future", lambda r: f"{name} is {_describe_duration(int(i8[r]) - now_ns)} in the future"))
        if f.max_age is not None:
            old = (i8 != _NAT) & (i8 < now_ns - f.max_age.value)
            if not_time is not None:
                old &= ~not_time
            if old.any():
                problems.append((old, f"{name} is too old", lambda r: f"{name} is {_describe_duration(now_ns - int(i8[r]))} old, more than {_describe_duration(f.max_age)}"))
    return converted, problems


def _arrow_time(dt: Any) -> bool:
    if not isinstance(dt, pd.ArrowDtype):
        return False
    import pyarrow as pa

    return pa.types.is_timestamp(dt.pyarrow_dtype)


def _times_from_datetimes(col: Values) -> tuple[np.ndarray, np.ndarray | None]:
    """Datetime column of another unit or time zone → datetime64[ns] (UTC)."""
    s = pd.Series(col, copy=False)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    arr = s.to_numpy()
    unit, _ = np.datetime_data(arr.dtype)
    per = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}.get(unit)
    if per is not None:
        i8 = arr.view(np.int64)
        valid = i8 != _NAT
        # numpy wraps around silently on overflow: check the range first.
        if per == 1 or not valid.any() or np.abs(i8[valid]).max() < np.iinfo(np.int64).max // per:
            return arr.astype("datetime64[ns]"), None
    return _coerce_times(_obj(col))


def _coerce_times(col: Values) -> tuple[np.ndarray, np.ndarray]:
    """Object/str column → datetime64[ns] array (UTC), with a mask of non-times."""
    obj = _obj(col)
    out = np.full(len(obj), _NAT, dtype=np.int64)
    not_time = np.zeros(len(obj), dtype=bool)
    timey = (str, _dt.datetime, np.datetime64, _dt.date)
    for r, v in enumerate(obj):  # object path only: sources send datetime64 columns
        if _is_missing_scalar(v):
            continue
        if not isinstance(v, timey):
            not_time[r] = True
            continue
        try:
            ts = pd.Timestamp(v)
            if ts is pd.NaT:
                not_time[r] = True
                continue
            if ts.tzinfo is not None:
                ts = ts.tz_convert("UTC").tz_localize(None)
            out[r] = ts.as_unit("ns").value
        except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
            not_time[r] = True
    return out.view("datetime64[ns]"), not_time
