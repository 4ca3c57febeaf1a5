"""Input decoding for :class:`rtnb.Rolling`: a micro-batch DataFrame to plain arrays.

:func:`decode` checks that the batch has the columns a configuration names and turns
it into the arrays the window engines take: event times as int64 nanoseconds (UTC,
naive), measures as a float64 ``(rows, measures)`` matrix, the key columns as they are
and the event ids (or ``None``). **Rows, not batches, are rejected**: a row whose time
is missing or outside what nanoseconds can hold, or whose measure is missing, NaN,
infinite, text, a boolean, complex or a ``Decimal``, is left out of the arrays and
returned in ``rejected`` with a reason in words; its batch-mates go on.

Times of **any unit and time zone** are accepted — ``datetime64[s|ms|us|ns]``, tz-aware
columns (converted to UTC), Arrow-backed ``timestamp[...][pyarrow]`` columns, and object
columns of datetimes — and converted *safely*: a year-2300 or year-0001 date is
rejected ("outside the range of nanosecond times"), never wrapped around. Measures may
be numpy, nullable (``Float64``, ``Int64``) or Arrow-backed numbers. :func:`check_zone`
refuses a naive batch after an aware one (or the other way round), naming both.

A batch that is not a DataFrame, has duplicate column names or lacks a column raises
:class:`rtnb.ParameterError` (no row can be read at all); a missing column is named
with the parameter that asked for it (``time_col='tss' is invalid: missing column
...; present: [...]``, see :func:`check_columns`). :func:`read_batch` is the strict
form: any bad row raises, listing the first reasons. :class:`Rejected` keeps the
rows an aggregate rejected: counted, the newest readable, each handed on once.

>>> import pandas as pd
>>> from rtnb.pipeline.rolling import RollingConfig
>>> cfg = RollingConfig(window="1min", value="v", by="k")
>>> ts, vals, keys, ids = read_batch(pd.DataFrame(
...     {"ts": pd.to_datetime(["2024-01-01"]).as_unit("ns"), "k": ["a"], "v": [2]}), cfg)
>>> ts.tolist(), vals.tolist(), keys[0].tolist(), ids
([1704067200000000000], [[2.0]], ['a'], None)
>>> d = decode(pd.DataFrame({"ts": pd.to_datetime(["2024-01-01", "2300-01-01"]).as_unit("s"),
...                          "k": ["a", "b"], "v": [1.0, float("nan")]}), cfg)
>>> d.ts.size, d.rejected["reason"].tolist()
(1, ['ts 2300-01-01 00:00:00 is outside the range of nanosecond times (1677-09-21 to 2262-04-11); v is missing or NaN, not a finite number'])
"""

from __future__ import annotations

import datetime as _dt
import decimal
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError
from ._late import LateRows

__all__ = ["Decoded", "decode", "read_batch", "check_zone", "check_columns", "needed_columns",
           "utc_nanoseconds", "Rejected"]

INT64_MIN = np.iinfo(np.int64).min
_I64_MAX = np.iinfo(np.int64).max
_PER_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_RANGE = "(1677-09-21 to 2262-04-11)"
_SHOW = 40


@dataclass
class Decoded:
    """A decoded batch: the good rows as arrays, the bad rows with their reasons."""

    ts: np.ndarray
    vals: np.ndarray | None
    keycols: list
    ids: np.ndarray | None
    rejected: pd.DataFrame
    zone: str | None = None
    keep: np.ndarray | None = None  # positions of the good rows (None: all of them)


def _show(v: Any) -> str:
    try:
        r = repr(v)
    except Exception:
        r = f"<{type(v).__name__}>"
    return r if len(r) <= _SHOW else r[: _SHOW - 3] + "..."


def _zone_of(dtype: Any) -> str | None:
    if isinstance(dtype, np.dtype):
        return None
    tz = getattr(dtype, "tz", None)
    if tz is None and isinstance(dtype, pd.ArrowDtype):
        tz = getattr(dtype.pyarrow_dtype, "tz", None)
    return None if tz is None else str(tz)


def utc_nanoseconds(col: pd.Series, name: str) -> tuple[np.ndarray, list[tuple[np.ndarray, str, Any]], str | None]:
    """Event times as int64 ns (UTC), per-row problems, and the column's time zone.

    Problems are ``(mask, rule, write)`` with ``write(row) -> reason``. Never wraps:
    values outside the nanosecond range are problems, not dates of another century.

    >>> s = pd.Series(pd.to_datetime(["2024-01-01 01:00"]).tz_localize("Europe/Paris"))
    >>> i8, problems, zone = utc_nanoseconds(s, "ts")
    >>> pd.Timestamp(i8[0]), problems, zone
    (Timestamp('2024-01-01 00:00:00'), [], 'Europe/Paris')
    """
    values = getattr(col, "array", col)  # a Series or its array
    dt = values.dtype
    zone = _zone_of(dt)
    problems: list[tuple[np.ndarray, str, Any]] = []
    if isinstance(dt, pd.ArrowDtype):
        import pyarrow as pa

        pt = dt.pyarrow_dtype
        if not pa.types.is_timestamp(pt):
            raise ParameterError("batch", name, f"column {name!r} must hold datetimes, not {dt}")
        chunked = values.__arrow_array__()
        raw = np.asarray(chunked.cast(pa.int64()).fill_null(INT64_MIN).to_numpy(), dtype=np.int64)
        return _scale(raw, pt.unit, name, problems) + (zone,)
    if isinstance(dt, pd.DatetimeTZDtype) or (isinstance(dt, np.dtype) and dt.kind == "M"):
        unit = dt.unit if isinstance(dt, pd.DatetimeTZDtype) else np.datetime_data(dt)[0]
        raw = np.asarray(values.asi8 if hasattr(values, "asi8") else values.view(np.int64), dtype=np.int64)
        return _scale(raw, unit, name, problems) + (zone,)
    if isinstance(dt, np.dtype) and dt.kind == "O" or isinstance(dt, pd.StringDtype):
        return _objects(np.asarray(values, dtype=object), name, problems)
    raise ParameterError("batch", name, f"column {name!r} must hold datetimes, not {dt}")


def _scale(raw: np.ndarray, unit: str, name: str, problems: list) -> tuple[np.ndarray, list]:
    """Integer times of ``unit`` (with INT64_MIN for missing) to ns, checking the range."""
    missing = raw == INT64_MIN
    per = _PER_NS[unit]
    if per == 1:
        out = raw
        outside = None
    else:
        limit = _I64_MAX // per
        outside = ~missing & (np.abs(raw) > limit)
        out = np.where(outside | missing, INT64_MIN, raw * np.where(outside, 0, per))
        if outside.any():
            shown = raw.astype(f"datetime64[{unit}]")
            problems.append((outside, f"{name} is outside the nanosecond range",
                             lambda r: f"{name} {str(shown[r].astype('datetime64[s]')).replace('T', ' ')} "
                                       f"is outside the range of nanosecond times {_RANGE}"))
    if missing.any():
        problems.append((missing, f"{name} is missing", lambda r: f"{name} is missing (NaT)"))
    return np.asarray(out, dtype=np.int64), problems


def _objects(obj: np.ndarray, name: str, problems: list) -> tuple[np.ndarray, list, str | None]:
    """Python datetimes / Timestamps / numpy datetimes of any unit and zone, one by one
    (the slow path: sources send datetime64 columns)."""
    out = np.full(len(obj), INT64_MIN, dtype=np.int64)
    missing = np.zeros(len(obj), dtype=bool)
    odd = np.zeros(len(obj), dtype=bool)
    outside = np.zeros(len(obj), dtype=bool)
    zones: set[str | None] = set()
    for r, v in enumerate(obj):
        if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            missing[r] = True
            continue
        if isinstance(v, np.datetime64):
            if np.isnat(v):
                missing[r] = True
                continue
            unit = np.datetime_data(v.dtype)[0]
            i = int(v.astype(np.int64))
            per = _PER_NS.get(unit)
            if per is None:
                i, per = int(v.astype("datetime64[s]").astype(np.int64)), 10**9
            if abs(i) > _I64_MAX // per:
                outside[r] = True
                continue
            out[r] = i * per
            zones.add(None)
            continue
        if not isinstance(v, _dt.datetime):  # text, numbers, dates without a time
            odd[r] = True
            continue
        try:
            ts = pd.Timestamp(v)
            zones.add(None if ts.tzinfo is None else str(ts.tzinfo))
            if ts.tzinfo is not None:
                ts = ts.tz_convert("UTC").tz_localize(None)
            out[r] = ts.as_unit("ns").value
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            outside[r] = True
    if len(zones) > 1 and None in zones:
        aware = sorted(z for z in zones if z is not None)
        raise ParameterError("batch", name, f"column {name!r} mixes naive times and times in {', '.join(aware)}; "
                             "make them all aware (tz_localize) or all naive UTC")
    if outside.any():
        problems.append((outside, f"{name} is outside the nanosecond range",
                         lambda r: f"{name} {_show(obj[r])} is outside the range of nanosecond times {_RANGE}"))
    if odd.any():
        problems.append((odd, f"{name} is not a time", lambda r: f"{name} is not a time: {_show(obj[r])}"))
    if missing.any():
        problems.append((missing, f"{name} is missing", lambda r: f"{name} is missing (NaT)"))
    aware = [z for z in zones if z is not None]
    return out, problems, (aware[0] if aware else None)


def _measure(col: pd.Series, name: str) -> tuple[np.ndarray, list]:
    """A measure (a Series or its array) as float64 with the rows that are not finite real numbers."""
    col = getattr(col, "array", col)
    dt = col.dtype
    problems: list = []
    text = isinstance(dt, pd.StringDtype) or (isinstance(dt, pd.ArrowDtype) and (
        dt.kind in "OSU" or "string" in str(dt.pyarrow_dtype)))
    if text or isinstance(dt, pd.CategoricalDtype):
        raise ParameterError("batch", name, f"measure {name!r} holds {dt} values, not numbers "
                             "(a text or category column cannot be summed)")
    if dt.kind == "b" if isinstance(dt, np.dtype) else pd.api.types.is_bool_dtype(dt):
        raise ParameterError("batch", name, f"measure {name!r} holds booleans, not numbers (use astype(int) to count them)")
    if isinstance(dt, np.dtype) and dt.kind == "O":
        obj = np.asarray(col, dtype=object)
        vals = np.full(len(obj), np.nan)
        odd = np.zeros(len(obj), dtype=bool)
        for r, v in enumerate(obj):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
                odd[r] = not (v is None or v is pd.NA)
                continue
            try:
                vals[r] = float(v)
            except OverflowError:  # a Python int beyond float
                odd[r] = True
        if odd.any():
            problems.append((odd, f"{name} is not a number",
                             lambda r: f"{name} is {_kind(obj[r])}, not a number: {_show(obj[r])}"))
        bad_nan = ~odd
    elif isinstance(dt, np.dtype) and dt.kind == "c":
        raise ParameterError("batch", name, f"measure {name!r} holds complex numbers, not real ones")
    else:
        try:
            vals = (col.astype(np.float64, copy=False) if isinstance(col, np.ndarray)
                    else col.to_numpy(dtype=np.float64, na_value=np.nan))
        except (TypeError, ValueError):
            raise ParameterError("batch", name, f"measure {name!r} holds {dt} values, not numbers") from None
        bad_nan = None
    with np.errstate(over="ignore"):  # finite values whose sum passes float64's max: checked one by one below
        total = vals.sum()
    if bad_nan is None and np.isfinite(total):  # one pass: no NaN, no infinity (the common batch)
        return vals, problems
    nan = np.isnan(vals)
    if bad_nan is not None:
        nan &= bad_nan
    if nan.any():
        problems.append((nan, f"{name} is missing or NaN", lambda r: f"{name} is missing or NaN, not a finite number"))
    inf = np.isinf(vals)
    if inf.any():
        problems.append((inf, f"{name} is not finite", lambda r: f"{name} is not finite: {vals[r]}"))
    return vals, problems


def _kind(v: Any) -> str:
    if isinstance(v, str):
        return "text"
    if isinstance(v, decimal.Decimal):
        return "a Decimal (convert with astype(float) to accept the rounding)"
    if isinstance(v, complex):
        return "complex"
    if isinstance(v, (bool, np.bool_)):
        return "a boolean"
    return f"a {type(v).__name__}"


def decode(batch: Any, cfg: Any) -> Decoded:
    """The good rows of ``batch`` as arrays, the bad ones in ``rejected`` (module doc)."""
    if not isinstance(batch, pd.DataFrame):
        raise ParameterError("batch", type(batch).__name__, "must be a pandas DataFrame")
    if not batch.columns.is_unique:
        dup = batch.columns[batch.columns.duplicated()].unique().tolist()
        raise ParameterError("batch", dup, "has duplicate column names; rename them (df.columns) before feeding")
    check_columns(batch, needed_columns(cfg))
    n = len(batch)
    tcol = _array(batch, cfg.time_col)
    if n == 0:
        return Decoded(np.empty(0, dtype=np.int64), None, [], None, _NO_REJECTS, _zone_of(tcol.dtype))
    ts, problems, zone = utc_nanoseconds(tcol, cfg.time_col)
    cols = []
    for m in cfg.measures:
        v, p = _measure(_array(batch, m), m)
        cols.append(v)
        problems += p
    vals = cols[0].reshape(-1, 1) if len(cols) == 1 else np.column_stack(cols)
    keycols = [_array(batch, k) for k in cfg.keys]
    ids = batch[cfg.id_col].to_numpy() if cfg.id_col else None
    if not problems:
        return Decoded(ts, vals, keycols, ids, _NO_REJECTS, zone)
    bad = np.zeros(n, dtype=bool)
    for mask, _, _ in problems:
        bad |= mask
    rows = np.flatnonzero(bad)
    reasons: dict[int, list[str]] = {int(r): [] for r in rows}
    rules: dict[int, list[str]] = {int(r): [] for r in rows}
    for mask, rule, write in problems:
        for r in np.flatnonzero(mask):
            reasons[int(r)].append(write(int(r)))
            rules[int(r)].append(rule)
    rejected = batch.iloc[rows].assign(reason=["; ".join(reasons[int(r)]) for r in rows],
                                       rule=["; ".join(rules[int(r)]) for r in rows])
    keep = np.flatnonzero(~bad)
    return Decoded(ts[keep], vals[keep], [k[keep] for k in keycols],
                   None if ids is None else ids[keep], rejected, zone, keep)


def _array(batch: pd.DataFrame, name: str):
    """The values of column ``name`` (an ndarray or a pandas ExtensionArray) without making
    a Series: pandas' ``batch[name]`` costs ~20 us, 3 of them a tenth of a small batch."""
    try:
        loc = batch.columns.get_loc(name)
        if isinstance(loc, int):
            return batch._mgr.iget_values(loc)
    except Exception:  # a pandas without the block manager's accessor
        pass
    return batch[name].array


def needed_columns(cfg: Any) -> list[tuple[str, str]]:
    """``(parameter, column)`` for every column a configuration reads: a
    :class:`~rtnb.pipeline.config.RollingConfig` or a :class:`rtnb.Metric`.

    >>> from rtnb.pipeline.config import RollingConfig
    >>> needed_columns(RollingConfig(window="1min", value="v", by="k", id_col="id"))
    [('time_col', 'ts'), ('by', 'k'), ('value', 'v'), ('id_col', 'id')]
    """
    config = hasattr(cfg, "measures")  # a RollingConfig (a Metric's own names are by, value)
    keys, measures = (cfg.keys, cfg.measures) if config else (cfg.by, cfg.value)
    out = [("time_col", cfg.time_col), *(("by", k) for k in keys), *(("value", m) for m in measures)]
    if cfg.id_col:
        out.append(("id_col", cfg.id_col))
    row_filter = getattr(cfg, "row_filter", None)
    if row_filter is not None:
        out += [("filter", c) for c in row_filter.names]
    return list(dict.fromkeys(out))


def check_columns(batch: pd.DataFrame, needed: list[tuple[str, str]]) -> None:
    """Raise :class:`rtnb.ParameterError` naming the parameter of the first column
    ``batch`` lacks, and the columns it has (a typo in ``time_col=`` reads as one).

    >>> check_columns(pd.DataFrame({"time": [1], "v": [2]}), [("time_col", "ts")])
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: time_col='ts' is invalid: missing column 'ts'; present: ['time', 'v']
    """
    for param, c in needed:
        if c not in batch.columns:
            raise ParameterError(param, c, f"missing column {c!r}; present: {list(batch.columns)}")


class Rejected:
    """Rows an aggregate rejected one by one (with ``reason`` and ``rule``): counted,
    the newest ``keep`` readable as :attr:`rows`, each handed on once by :meth:`take`
    (a pipeline puts them in its dead-letter; a standalone aggregate keeps the last 100
    batches' worth untaken).

    >>> r = Rejected(keep=2)
    >>> r.add(pd.DataFrame({"v": [1, 2, 3], "reason": "bad", "rule": "bad"}))
    >>> r.count, r.rows["v"].tolist(), len(r.take()), r.take()
    (3, [2, 3], 3, None)
    """

    def __init__(self, keep: int = 1000) -> None:
        self.count = 0
        self._recent = LateRows(keep)
        self._new: list[pd.DataFrame] = []

    def add(self, rows: pd.DataFrame) -> None:
        self.count += len(rows)
        self._recent.add(rows)
        self._new.append(rows)
        if len(self._new) > 100:  # nobody takes them (standalone): bounded
            self._new.pop(0)

    def take(self) -> pd.DataFrame | None:
        """The rows rejected since the last call, or ``None``."""
        if not self._new:
            return None
        out = pd.concat(self._new) if len(self._new) > 1 else self._new[0]
        self._new = []
        return out

    @property
    def rows(self) -> pd.DataFrame:
        """The newest ``keep`` rejected rows, oldest first."""
        return self._recent.rows


def check_zone(previous: str | None | bool, zone: str | None, time_col: str) -> None:
    """Refuse a naive batch after aware ones and the other way round, naming both.

    ``previous`` is the zone of the earlier batches (``False`` before any).

    >>> check_zone("Europe/Paris", None, "ts")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: batch='ts' is invalid: this batch's times are naive but earlier batches' were in Europe/Paris; naive times would be read as UTC, 1-2 hours off: localize them (tz_localize) or convert all to naive UTC
    """
    if previous is False or (previous is None) == (zone is None):
        return
    if previous is None:
        raise ParameterError("batch", time_col, f"this batch's times are in {zone} but earlier batches' were naive "
                             "(read as UTC); give every batch the same kind of times")
    raise ParameterError("batch", time_col, f"this batch's times are naive but earlier batches' were in {previous}; "
                         "naive times would be read as UTC, 1-2 hours off: localize them (tz_localize) or convert "
                         "all to naive UTC")


def read_batch(batch, cfg):
    """``(ts, vals, keycols, ids)`` of a batch for configuration ``cfg`` (a RollingConfig).

    The strict form of :func:`decode`: a bad row raises :class:`rtnb.ParameterError`
    with the first reasons. An empty batch gives ``(empty int64 array, None, [], None)``.
    """
    d = decode(batch, cfg)
    if len(d.rejected):
        shown = "; ".join(d.rejected["reason"].astype(str).head(3))
        raise ParameterError("batch", f"{len(d.rejected)} bad row(s)", shown + " (validate upstream, or feed a "
                             "pipeline: its dead-letter takes bad rows one by one)")
    return d.ts, d.vals, d.keycols, d.ids


_NO_REJECTS = pd.DataFrame({"reason": pd.Series([], dtype=object), "rule": pd.Series([], dtype=object)})
