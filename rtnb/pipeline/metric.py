"""A metric defined once: what to aggregate, over which window, and what to derive.

A :class:`Metric` is a small frozen declaration — the measure columns, a row filter,
the keys, the window (kind, size, resolution, a time zone or an origin), the
aggregates and **derived expressions over the aggregates** (ratios of sums,
differences, rates per second). The same definition

- runs live: ``metric.aggregate()`` (a :class:`~rtnb.pipeline.metric_live.MetricAggregate`,
  what ``build_pipeline(runner, metric=m)`` and ``dashboard(source, metric=m)`` use)
  gives per-key tables with the derived columns *and* the overall row, where a ratio is
  the ratio of the overall sums (not the mean of the per-key ratios);
- is handed over as a plain document: ``Metric.from_dict(m.to_dict()) == m``, and
  ``to_json`` / ``to_yaml`` / ``from_json`` / ``from_yaml`` (:mod:`.metric_document`);
- is handed to a warehouse: ``metric.to_sql(table=..., dialect="duckdb")`` is a query
  that computes the same window answers over the raw rows (tested against the
  streaming answer on the same rows).

Columns of the answer: ``count`` (rows), ``<measure>_<aggregate>`` for every measure
and aggregate (``occupied_sum``), then the derived columns by name. In a derived
expression, ``seconds`` is the window length in seconds (a session's own length).

**Windows in local time.** With ``tz="Europe/Paris"`` the windows (tumbling, sliding,
bucketed) are laid on the local wall-clock time, as SQL's
``time_bucket(ts AT TIME ZONE ...)`` does: a daily window runs from local midnight to
local midnight, 23 or 25 hours across a DST change. With ``origin=`` the windows
start at that instant plus whole windows (``origin="2024-01-01"``, a Monday, for weeks
starting on Mondays; by default windows are aligned on 1970-01-01, a Thursday). The
watermark and lateness stay in true (UTC) time.

>>> m = Metric(name="occupancy", value=("occupied", "capacity"), by="district",
...            window="1D", kind="tumbling", tz="Europe/Paris", aggs=("sum",),
...            derived={"rate": "occupied_sum / capacity_sum"})
>>> m.columns
('count', 'occupied_sum', 'capacity_sum', 'rate')
>>> d = m.to_dict()
>>> d["window"], d["derived"]
('1D', {'rate': 'occupied_sum / capacity_sum'})
>>> Metric.from_dict(d) == m
True
>>> print(m.to_sql(table="parking"))                     # doctest: +ELLIPSIS
WITH src AS (
  SELECT *, epoch_ns(("ts" AT TIME ZONE 'UTC') AT TIME ZONE 'Europe/Paris') AS __t
  FROM "parking"
...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._checks import check_str
from .._errors import ParameterError, UnknownNameError
from .._time import to_timestamp
from ._buckets import AGGREGATES
from .config import KINDS, RollingConfig
from .metric_document import MetricDocument, duration_text
from .metric_expr import Derived, RowFilter

__all__ = ["Metric", "KINDS", "DIALECTS"]

DIALECTS = ("duckdb",)
_ALIGNED = ("bucketed", "tumbling", "sliding")


@dataclass(frozen=True, kw_only=True)
class Metric(MetricDocument):
    """A declarative, frozen metric definition (see the module docstring).

    Parameters
    ----------
    name
        The metric's name (in the store, on the dashboard, in the SQL's comments).
    value
        The measure column(s) aggregated.
    by
        Key column(s); ``()`` for one overall row.
    aggs
        Aggregates of every measure among ``sum, mean, min, max, std, p50, p90, p95,
        p99`` (``count`` of rows is always there).
    derived
        ``{name: expression}`` over the aggregate columns, e.g.
        ``{"conversion": "orders_sum / visits_sum", "per_s": "amount_sum / seconds"}``.
    filter
        Which rows count, e.g. ``"status != 'cancelled' and amount > 0"``.
    window, kind, resolution, every, gap, lateness
        As for :class:`rtnb.Rolling` (default: tumbling windows of five minutes).
    tz, origin
        The time zone the windows follow (IANA name) and the instant windows start
        from (in ``tz`` when given); bucket-aligned kinds only.
    time_col, id_col
        The event-time column and an optional event id (duplicates dropped).
    description
        Words for whoever receives the definition.

    >>> Metric(name="x", value="v", window="1D", kind="exact", tz="Europe/Paris")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: tz='Europe/Paris' is invalid: windows follow a time zone for kind='bucketed', 'tumbling' or 'sliding', not kind='exact'
    >>> Metric(name="x", value="v", derived={"r": "v_sum / w_sum"})
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: derived='w_sum' is unknown (in r = v_sum / w_sum); choose one of: 'count', 'v_sum', 'seconds'
    """

    name: str
    value: tuple[str, ...]
    by: tuple[str, ...] = ()
    aggs: tuple[str, ...] = ("sum",)
    derived: tuple[tuple[str, str], ...] = ()
    filter: str | None = None
    window: pd.Timedelta | None = pd.Timedelta("5min")
    kind: str = "tumbling"
    resolution: pd.Timedelta | None = None
    every: pd.Timedelta | None = None
    gap: pd.Timedelta | None = None
    lateness: pd.Timedelta = pd.Timedelta(0)
    tz: str | None = None
    origin: pd.Timestamp | None = None
    time_col: str = "ts"
    id_col: str | None = None
    description: str = ""
    _parsed: tuple[tuple[str, Derived], ...] = field(init=False, repr=False, compare=False, default=())
    _filter: RowFilter | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        put = object.__setattr__
        check_str("name", self.name)
        if not isinstance(self.description, str):
            raise ParameterError("description", self.description, "must be text")
        aggs = (self.aggs,) if isinstance(self.aggs, str) else tuple(self.aggs)
        for a in aggs:
            if a not in AGGREGATES:
                raise UnknownNameError("aggs", a, AGGREGATES)
        aggs = tuple(a for a in aggs if a != "count")  # count is always a column
        if len(set(aggs)) != len(aggs):
            raise ParameterError("aggs", self.aggs, "names an aggregate twice")
        put(self, "aggs", aggs)
        # columns, kind and window options are checked where Rolling checks them (one place)
        cfg = RollingConfig(window=None if self.kind == "session" else self.window, value=self.value,
                            by=self.by, kind=self.kind, resolution=self.resolution, every=self.every,
                            gap=self.gap, lateness=self.lateness, time_col=self.time_col, id_col=self.id_col)
        put(self, "value", cfg.measures)
        put(self, "by", cfg.keys)
        put(self, "window", cfg.size)  # None for sessions
        put(self, "lateness", cfg.late)
        put(self, "gap", cfg.session_gap)
        put(self, "resolution", None if self.resolution is None else cfg.res)  # None: the kind's default
        put(self, "every", None if self.every is None else cfg.hop)
        if self.tz is not None:
            if self.kind not in _ALIGNED:
                raise ParameterError("tz", self.tz, "windows follow a time zone for kind='bucketed', 'tumbling' "
                                     f"or 'sliding', not kind={self.kind!r}")
            _check_tz(self.tz)
        if self.origin is not None:
            if self.kind not in _ALIGNED:
                raise ParameterError("origin", self.origin, "windows start from an origin for kind='bucketed', "
                                     f"'tumbling' or 'sliding', not kind={self.kind!r}")
            ts = pd.Timestamp(self.origin) if not isinstance(self.origin, str) else None
            if ts is not None and ts.tzinfo is not None:
                raise ParameterError("origin", self.origin, "give a naive time (it is read in tz= when given)")
            put(self, "origin", to_timestamp(self.origin, "origin"))
        filt = None
        if self.filter is not None:
            filt = RowFilter(self.filter)
        put(self, "_filter", filt)
        pairs = self.derived.items() if isinstance(self.derived, Mapping) else self.derived
        try:
            pairs = tuple((k, v) for k, v in pairs)
        except (TypeError, ValueError):
            raise ParameterError("derived", self.derived, "must be {name: expression}") from None
        known = list(self.aggregate_columns)
        parsed = []
        for k, text in pairs:
            check_str("derived", k)
            if k in known or k == "seconds":
                raise ParameterError("derived", k, "is already a column; give the derived value another name")
            d = Derived(text, param="derived")
            for n in d.names:
                if n not in known and n != "seconds":
                    raise UnknownNameError("derived", n, [*known, "seconds"], reason=f"in {k} = {text}")
            parsed.append((k, d))
            known.append(k)
        put(self, "derived", tuple((k, v) for k, v in pairs))
        put(self, "_parsed", tuple(parsed))

    # ------------------------------------------------------------------ columns
    @property
    def aggregate_columns(self) -> tuple[str, ...]:
        """``count`` and ``<measure>_<agg>``: the columns derived expressions read."""
        return ("count", *(f"{m}_{a}" for m in self.value for a in self.aggs))

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of the answer: ``count``, ``<measure>_<agg>``, derived names."""
        return self.aggregate_columns + tuple(k for k, _ in self.derived)

    @property
    def source_columns(self) -> tuple[str, ...]:
        """Every column of the raw rows the metric reads."""
        cols = [self.time_col, *self.by, *self.value]
        if self.id_col:
            cols.append(self.id_col)
        if self._filter is not None:
            cols += [c for c in self._filter.names if c not in cols]
        return tuple(dict.fromkeys(cols))

    @property
    def row_filter(self) -> RowFilter | None:
        """The parsed ``filter`` (None without one)."""
        return self._filter

    @property
    def derivations(self) -> tuple[tuple[str, Derived], ...]:
        """The parsed derived expressions, in order."""
        return self._parsed

    # ------------------------------------------------------------------ live
    def aggregate(self, *, clock: Any = None, keep_late: int = 1000, keep_closed: int = 100):
        """The live aggregate of this metric (update(batch) / snapshot())."""
        from .metric_live import MetricAggregate

        return MetricAggregate(self, clock=clock, keep_late=keep_late, keep_closed=keep_closed)

    def frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The answer recomputed with pandas over ``rows`` (the reference, every window).

        For tumbling and sliding windows, one row per window (and key); for the other
        kinds, the current window at the newest row. Used by the tests and notebooks
        to check the streaming answer.
        """
        from .metric_live import recompute

        return recompute(self, rows)

    # ------------------------------------------------------------------ SQL
    def to_sql(self, *, table: str, dialect: str = "duckdb", overall: bool = False) -> str:
        """A query computing the same window answers over a raw table of events.

        ``table`` holds the raw rows with the metric's columns and the event time as a
        ``TIMESTAMP`` in UTC (as rtnb's ``ts``). Tumbling and sliding windows give one
        row per window and key (``window_start``, ``window_end``, keys, columns);
        ``exact`` and ``bucketed`` the current window at the newest row. ``overall``
        groups by window only (the KPI's overall value). Sessions are not exported.
        """
        if dialect not in DIALECTS:
            raise UnknownNameError("dialect", dialect, DIALECTS)
        check_str("table", table)
        if self.kind == "session":
            raise ParameterError("kind", self.kind, "to_sql exports exact, bucketed, tumbling and sliding windows")
        from .metric_sql import duckdb_query

        return duckdb_query(self, table=table, overall=overall)

    def __repr__(self) -> str:
        w = self.gap if self.kind == "session" else self.window
        extra = f", tz={self.tz!r}" if self.tz else ""
        return (f"Metric(name={self.name!r}, value={self.value!r}, by={self.by!r}, kind={self.kind!r}, "
                f"window={duration_text(w)!r}{extra}, columns={self.columns!r})")


def _check_tz(tz: Any) -> None:
    check_str("tz", tz)
    try:
        pd.Timestamp("2024-01-01").tz_localize(tz)
    except Exception:  # pytz/zoneinfo raise different types for an unknown zone
        raise ParameterError("tz", tz, "is not a time zone name such as 'Europe/Paris' or 'UTC'") from None
