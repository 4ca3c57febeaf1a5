"""The configuration of a :class:`rtnb.Rolling`: window kind, sizes, columns, aggregates."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import check_choice, check_int, check_number, check_optional, check_str
from .._errors import ParameterError
from .._time import DurationLike, to_duration
from ._buckets import check_aggs, column_names
from .sketch import DEFAULT_RELATIVE_ACCURACY

__all__ = ["RollingConfig", "KINDS"]

KINDS = ("exact", "bucketed", "tumbling", "sliding", "session")


def _names(value, param: str, *, allow_none: bool) -> tuple[str, ...]:
    if value is None:
        if allow_none:
            return ()
        raise ParameterError(param, value, "name at least one column")
    if isinstance(value, str):
        return (check_str(param, value),)
    try:
        out = tuple(value)
    except TypeError:
        raise ParameterError(param, value, "must be a column name or a list of them") from None
    if not out and not allow_none:
        raise ParameterError(param, value, "name at least one column")
    for v in out:
        check_str(param, v)
    if len(set(out)) != len(out):
        raise ParameterError(param, value, "names a column twice")
    return out


@dataclass(frozen=True, kw_only=True)
class RollingConfig:
    """The configuration of a :class:`Rolling`, validated on construction.

    >>> RollingConfig(window="1min", value="amount", kind="bucketed", resolution="10s").buckets
    6
    >>> RollingConfig(window="1min", value="amount", kind="bucketed", resolution="7s")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: resolution='7s' is invalid: must divide window=0 days 00:01:00 into whole buckets
    """

    window: DurationLike | None = None
    value: str | Sequence[str] = "value"
    by: str | Sequence[str] | None = None
    aggs: Sequence[str] = ("count", "sum", "mean")
    lateness: DurationLike = 0
    kind: str = "exact"
    resolution: DurationLike | None = None
    every: DurationLike | None = None
    gap: DurationLike | None = None
    time_col: str = "ts"
    id_col: str | None = None
    metric: str | None = None
    keep_late: int = 1000
    keep_closed: int = 100
    series: str | None = None
    relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY
    # derived
    size: pd.Timedelta | None = field(init=False, default=None)
    res: pd.Timedelta | None = field(init=False, default=None)
    hop: pd.Timedelta | None = field(init=False, default=None)
    late: pd.Timedelta = field(init=False, default=pd.Timedelta(0))
    session_gap: pd.Timedelta | None = field(init=False, default=None)
    measures: tuple[str, ...] = field(init=False, default=())
    keys: tuple[str, ...] = field(init=False, default=())
    agg_names: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        put = object.__setattr__
        check_choice("kind", self.kind, KINDS)
        put(self, "measures", _names(self.value, "value", allow_none=False))
        put(self, "keys", _names(self.by, "by", allow_none=True))
        put(self, "agg_names", check_aggs(self.aggs))
        check_str("time_col", self.time_col)
        check_optional(check_str, "id_col", self.id_col)
        clash = set(self.measures) & set(self.keys) | {self.time_col} & (set(self.measures) | set(self.keys))
        if clash:
            raise ParameterError("value", self.value, f"column(s) {sorted(clash)} used twice (as key, measure or time)")
        put(self, "late", to_duration(self.lateness, "lateness", allow_zero=True))
        for name in ("keep_late", "keep_closed"):
            put(self, name, check_int(name, getattr(self, name), minimum=0))
        if self.series is not None:
            if self.series not in self.agg_names and not any(
                self.series == f"{m}_{a}" for m in self.measures for a in self.agg_names
            ):
                raise ParameterError("series", self.series, "must name one of the table's columns",
                                     column_names(self.agg_names, self.measures, len(self.measures) == 1))
            if self.kind not in ("bucketed", "tumbling", "sliding"):
                raise ParameterError("series", self.series, "per-bucket series need kind='bucketed', 'tumbling' or 'sliding'")
        check_number("relative_accuracy", self.relative_accuracy, minimum=0, maximum=0.01, strict=True)
        if not isinstance(self.relative_accuracy, (float, np.floating)):
            raise ParameterError("relative_accuracy", self.relative_accuracy, "must be a float in (0, 0.01]")
        if self.kind == "session":
            if self.gap is None:
                raise ParameterError("gap", None, "kind='session' needs a gap such as '30s'")
            put(self, "session_gap", to_duration(self.gap, "gap"))
            for name in ("window", "resolution", "every"):
                if getattr(self, name) is not None:
                    raise ParameterError(name, getattr(self, name), "is not used by kind='session' (give gap=)")
            return
        if self.gap is not None:
            raise ParameterError("gap", self.gap, f"only kind='session' uses a gap, not kind={self.kind!r}")
        if self.window is None:
            raise ParameterError("window", None, "give a window such as '60s'")
        size = to_duration(self.window, "window")
        put(self, "size", size)
        if self.kind == "exact":
            for name in ("resolution", "every"):
                if getattr(self, name) is not None:
                    raise ParameterError(name, getattr(self, name), "is not used by kind='exact'")
            return
        if self.kind == "bucketed":
            if self.every is not None:
                raise ParameterError("every", self.every, "kind='bucketed' slides by its resolution; use kind='sliding'")
            res = to_duration(self.resolution if self.resolution is not None else "1s", "resolution")
            hop = res
        elif self.kind == "tumbling":
            if self.every is not None and to_duration(self.every, "every") != size:
                raise ParameterError("every", self.every, "a tumbling window moves by its own size; use kind='sliding'")
            res = to_duration(self.resolution, "resolution") if self.resolution is not None else size
            hop = size
        else:
            if self.every is None:
                raise ParameterError("every", None, "kind='sliding' needs every= (how far a window hops)")
            hop = to_duration(self.every, "every")
            if hop > size:
                raise ParameterError("every", self.every, f"must not exceed window={size}")
            if self.resolution is not None:
                res = to_duration(self.resolution, "resolution")
            else:
                res = pd.Timedelta(int(np.gcd(size.value, hop.value)), unit="ns")
            if hop.value % res.value:
                raise ParameterError("resolution", self.resolution, f"must divide every={hop} into whole buckets")
        if size.value % res.value:
            raise ParameterError("resolution", self.resolution, f"must divide window={size} into whole buckets")
        put(self, "res", res)
        put(self, "hop", hop)

    @property
    def buckets(self) -> int | None:
        """Buckets per window (bucketed, tumbling and sliding kinds)."""
        return None if self.res is None else self.size.value // self.res.value

    def same_as(self, other: RollingConfig) -> bool:
        """Equal in effect (durations compared as durations: ``"60s"`` is ``"1min"``)."""
        names = [f.name for f in dataclasses.fields(self)
                 if f.name not in ("window", "lateness", "resolution", "every", "gap", "value", "by", "aggs")]
        return all(getattr(self, n) == getattr(other, n) for n in names)

    def plain(self) -> dict:
        """The constructor arguments as plain values (durations as ``"<n>ns"``)."""
        out = {}
        for f in dataclasses.fields(self):
            if not f.init:
                continue
            v = getattr(self, f.name)
            if isinstance(v, (pd.Timedelta, np.timedelta64)) or hasattr(v, "total_seconds"):
                v = f"{pd.Timedelta(v).value}ns"
            elif isinstance(v, (tuple, list)):
                v = list(v)
            elif isinstance(v, np.generic):
                v = v.item()
            out[f.name] = v
        return out
