"""A :class:`~rtnb.pipeline.metric.Metric` computed live, and its pandas reference.

:class:`MetricAggregate` is what a pipeline feeds (``update(batch)`` /
``snapshot()``): the metric's filter, then a :class:`rtnb.Rolling` for the window
aggregates, then the derived columns per key and the **overall** row
(``snapshot.overall``), where each aggregate is folded over the keys (sums add,
minima take the minimum, a mean is the overall sum over the overall count; standard
deviations and quantiles come from a keyless companion window) and the derived
expressions are evaluated on those totals — so an overall ratio is the ratio of the
sums (:mod:`.metric_tables`). :func:`recompute` is the same answer computed with
pandas from all the rows.

Local-time windows (``tz=``) are laid on the local wall-clock time; lateness and the
watermark are judged in UTC before that, so the hour that repeats when clocks go back
is not mistaken for late data. Counters: ``received = accepted + late + duplicates``,
where rows left out by the filter count as accepted (they were valid, the metric does
not count them) and are also counted in ``filtered``.

>>> import pandas as pd
>>> from rtnb.pipeline.metric import Metric
>>> m = Metric(name="occupancy", value=("occupied", "capacity"), by="lot", window="1h",
...            derived={"rate": "occupied_sum / capacity_sum"})
>>> agg = m.aggregate()
>>> ts = pd.to_datetime(["2024-01-01 09:00", "2024-01-01 09:10", "2024-01-01 09:20"]).as_unit("ns")
>>> snap = agg.update(pd.DataFrame({"ts": ts, "lot": ["a", "b", "b"], "occupied": [9.0, 1.0, 1.0],
...                                 "capacity": [10.0, 10.0, 10.0]})).snapshot()
>>> snap.table["rate"].round(3).tolist()                         # per lot
[0.9, 0.1]
>>> float(snap.overall["rate"]), float(snap.table["rate"].mean())   # 11/30, not (0.9+0.1)/2
(0.3666..., 0.5)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError
from ..health import Counters, Snapshot
from ._buckets import QUANTILES
from ._input import Rejected, check_columns, check_zone, decode, needed_columns
from ._late import LateRows
from .metric import Metric
from .metric_tables import MetricTables
from .rolling import Rolling

__all__ = ["MetricAggregate", "recompute", "metric_pipeline"]

_NONFOLD = ("std", *QUANTILES)


def _dst_slack(tz: str) -> pd.Timedelta:
    """The largest jump of the zone's UTC offset (how far local time can go back)."""
    days = pd.date_range("2000-01-01", "2040-01-01", freq="7D", tz="UTC").tz_convert(tz)
    off = np.array([d.utcoffset().total_seconds() for d in days[::1]])
    return pd.Timedelta(seconds=float(off.max() - off.min()))


def _utc_ns(col: pd.Series) -> np.ndarray:
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_convert("UTC").dt.tz_localize(None)
    if not pd.api.types.is_datetime64_dtype(col.dtype):
        raise ParameterError("batch", col.name, f"column {col.name!r} must hold datetimes, not {col.dtype}")
    return col.dt.as_unit("ns").to_numpy().view(np.int64)


def _local_ns(utc: np.ndarray, tz: str) -> np.ndarray:
    idx = pd.DatetimeIndex(utc.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    return idx.as_unit("ns").asi8


def _shift_of(m: Metric) -> int:
    """How far the origin moves the window grid (ns, modulo one hop)."""
    if m.origin is None:
        return 0
    hop = {"tumbling": m.window, "sliding": m.every, "bucketed": m.resolution or pd.Timedelta("1s")}[m.kind]
    return int(m.origin.value % hop.value)


class MetricAggregate(MetricTables):
    """The live answer of a :class:`Metric` (see the module docstring)."""

    def __init__(self, metric: Metric, *, clock: Any = None, keep_late: int = 1000,
                 keep_closed: int = 100) -> None:
        if not isinstance(metric, Metric):
            raise ParameterError("metric", metric, "must be an rtnb Metric")
        self.metric = m = metric
        self.clock = clock
        self._shift = _shift_of(m)
        self._local = m.tz is not None or self._shift != 0
        slack = _dst_slack(m.tz) if m.tz is not None else pd.Timedelta(0)
        aggs = ["count", *m.aggs]
        if "mean" in aggs and "sum" not in aggs:
            aggs.append("sum")  # the overall mean is the overall sum over the overall count
        self._aggs = tuple(aggs)
        common = dict(value=m.value, kind=m.kind, resolution=m.resolution, every=m.every, gap=m.gap,
                      time_col=m.time_col, id_col=m.id_col, metric=m.name, keep_late=keep_late,
                      keep_closed=keep_closed)
        window = None if m.kind == "session" else m.window
        self.rolling = Rolling(window, by=m.by or None, aggs=self._aggs, lateness=m.lateness + slack,
                               clock=clock, **common)
        nonfold = tuple(a for a in m.aggs if a in _NONFOLD)
        self._total = None
        if m.by and nonfold:
            self._total = Rolling(window, by=None, aggs=nonfold, lateness=m.lateness + slack,
                                  **{**common, "keep_late": 0})
        self.keep_late = keep_late
        self.filtered = 0
        self._received = 0
        self._late = 0
        self._late_rows = LateRows(keep_late)
        self._wm: int | None = None
        self._zone: str | None | bool = False  # the time zone of the batches (False before any)
        self._rejected = Rejected(keep_late)
        self._last_late: pd.DataFrame | None = None

    # ------------------------------------------------------------------ feeding
    def update(self, batch: pd.DataFrame) -> MetricAggregate:
        """Feed a batch of raw rows; returns ``self``."""
        m = self.metric
        if not isinstance(batch, pd.DataFrame):
            raise ParameterError("batch", type(batch).__name__, "must be a pandas DataFrame")
        check_columns(batch, needed_columns(m))
        rows = batch
        self._last_late = None
        if m.row_filter is not None and len(rows):
            keep = m.row_filter.mask(rows)
            self.filtered += int((~keep).sum())
            rows = rows[keep]
        d = decode(rows, self.rolling.config)  # bad rows out, one by one, with reasons
        check_zone(self._zone, d.zone, m.time_col)
        if len(rows):
            self._zone = d.zone
        if len(d.rejected):
            self._rejected.add(d.rejected)
            rows = rows.iloc[d.keep]
        if self._local and len(rows):
            utc = d.ts
            late = self._classify(utc)
            if late.any():
                self._last_late = rows[late]
                self._late_rows.add(rows[late])
                rows, utc = rows[~late], utc[~late]
            t = _local_ns(utc, m.tz) if m.tz is not None else utc
            rows = rows.assign(**{m.time_col: (t - self._shift).view("datetime64[ns]")})
        self._received += len(batch) - len(rows)  # filtered, rejected and late rows, counted here
        self.rolling.update(rows)
        if self._total is not None:
            self._total.update(rows)
        return self

    def _classify(self, ts: np.ndarray) -> np.ndarray:
        """Late rows in UTC, as :class:`rtnb.Rolling` judges them (row order, running max)."""
        lateness = self.metric.lateness.value
        run = np.maximum.accumulate(ts)
        before = np.empty_like(ts)
        lo = np.iinfo(np.int64).min if self._wm is None else self._wm
        before[0] = lo
        np.maximum(run[:-1], lo, out=before[1:])
        late = (before != np.iinfo(np.int64).min) & (ts < before - lateness)
        if (~late).any():
            top = int(ts[~late].max())
            self._wm = top if self._wm is None else max(self._wm, top)
        self._late += int(late.sum())
        return late

    # ------------------------------------------------------------------ reading
    @property
    def counters(self) -> Counters:
        """Rows received, accepted (filtered ones included), rejected, late and duplicated."""
        c = self.rolling.counters
        late = self._late + c.late
        return Counters(received=c.received + self._received, accepted=c.accepted + self.filtered,
                        rejected=c.rejected + self._rejected.count, late=late, duplicates=c.duplicates)

    def take_rejected(self) -> pd.DataFrame | None:
        """The rows rejected since the last call (with ``reason`` and ``rule``), or None."""
        return self._rejected.take()

    @property
    def rejected_rows(self) -> pd.DataFrame:
        """The most recent rejected rows (at most ``keep_late``), with ``reason`` and ``rule``."""
        return self._rejected.rows

    @property
    def late_rows(self) -> pd.DataFrame:
        """The most recent late rows (at most ``keep_late``), as they came in."""
        if not self._local:
            return self.rolling.late_rows
        return self._late_rows.rows

    @property
    def last_late(self) -> pd.DataFrame:
        """Every late row of the last ``update`` (the pipeline's late stream), as it came in."""
        if not self._local:
            return self.rolling.last_late
        return self._last_late if self._last_late is not None else pd.DataFrame()

    @property
    def late_not_kept(self) -> int:
        """Late rows counted but no longer kept in ``late_rows`` (bounded by keep_late)."""
        return self.counters.late - len(self.late_rows)

    @property
    def newest_event(self) -> pd.Timestamp | None:
        """The largest accepted event time (UTC, naive)."""
        if not self._local:
            return self.rolling.newest_event
        return None if self._wm is None else pd.Timestamp(self._wm, unit="ns")

    @property
    def watermark(self) -> pd.Timestamp | None:
        """``newest_event - lateness``."""
        new = self.newest_event
        return None if new is None else new - self.metric.lateness

    @property
    def value(self) -> pd.DataFrame:
        """The current per-key table (``count``, aggregates, derived columns)."""
        return self._present(self.rolling.value)

    def snapshot(self, processed_at: pd.Timestamp | None = None) -> Snapshot:
        """An immutable :class:`rtnb.Snapshot` with the per-key table and ``overall``."""
        snap = self.rolling.snapshot(processed_at)
        raw = snap.table
        index_cols = ("window_start", "window_end") if self.metric.kind == "session" else ()
        named = self._named(raw)
        table = self._present(raw, index_cols, named)
        newest = self.newest_event
        if not self._local and snap.newest_event is None:
            newest = None
        return Snapshot(metric=self.metric.name, table=table, window=snap.window,
                        watermark=self.watermark, newest_event=newest,
                        processed_at=snap.processed_at if newest is not None or processed_at is not None
                        or self.clock is not None else pd.Timestamp(0, unit="ns"),
                        counters=self.counters, version=snap.version, overall=self.overall(named=named))

    def closed_windows(self) -> pd.DataFrame:
        """Finished windows, oldest first: index ``window_start`` (+ keys), then
        ``window_end``, the aggregates and the derived columns. With ``tz`` the
        window bounds are times in that zone."""
        raw = self.rolling.closed_windows()
        out = self._present(raw, ("window_end",)) if len(raw) else pd.DataFrame(columns=["window_end", *self.metric.columns])
        return self._times(out)

    def __repr__(self) -> str:
        return f"MetricAggregate({self.metric.name!r}, counters={self.counters!r})"


def recompute(m: Metric, rows: pd.DataFrame, *, overall: bool = False) -> pd.DataFrame:
    """The metric's windows recomputed with pandas over ``rows`` (all taken as accepted).

    Tumbling and sliding: one row per window (and key), index ``window_start`` (+
    keys); exact and bucketed: the window at the newest row, index the keys.
    """
    if m.kind == "session":
        raise ParameterError("kind", m.kind, "recompute covers exact, bucketed, tumbling and sliding windows")
    df = rows
    if m.row_filter is not None and len(df):
        df = df[m.row_filter.mask(df)]
    utc = _utc_ns(df[m.time_col]) if len(df) else np.empty(0, dtype=np.int64)
    t = _local_ns(utc, m.tz) if (m.tz is not None and len(df)) else utc
    o = 0 if m.origin is None else int(m.origin.value)
    size = m.window.value
    if m.kind in ("tumbling", "sliding"):
        hop = size if m.kind == "tumbling" else m.every.value
        hi = (t - o) // hop
        lo = (t - o - size) // hop + 1
        reps = (hi - lo + 1).astype(np.int64)
        idx = np.repeat(np.arange(len(df)), reps)
        k = np.repeat(hi, reps) - (np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps))
        df = df.iloc[idx].assign(window_start=(o + k * hop).view("datetime64[ns]"))
        groups = ["window_start"] + ([] if overall else list(m.by))
    else:
        top = t.max() if len(t) else 0
        if m.kind == "exact":
            keep = t > top - size
        else:
            res = (m.resolution or pd.Timedelta("1s")).value
            end = o + (top - o) // res * res + res
            keep = (t >= end - size) & (t < end)
        df = df[keep]
        groups = [] if overall else list(m.by)
    cols: dict[str, Any] = {}
    g = df.groupby(groups, sort=True, dropna=False) if groups else None
    def agg(series_name: str, how):
        if g is None:
            s = df[series_name]
            return pd.Series([how(s) if len(s) else np.nan])
        return g[series_name].agg(how)
    cols["count"] = g.size() if g is not None else pd.Series([len(df)])
    for meas in m.value:
        for a in m.aggs:
            if a in QUANTILES:
                q = QUANTILES[a]
                cols[f"{meas}_{a}"] = agg(meas, lambda s, q=q: s.quantile(q, interpolation="lower"))
            else:
                cols[f"{meas}_{a}"] = agg(meas, {"sum": "sum", "mean": "mean", "min": "min", "max": "max",
                                                 "std": "std"}[a])
    out = pd.DataFrame(cols)
    if m.kind in ("tumbling", "sliding"):
        starts = out.index.get_level_values("window_start") if isinstance(out.index, pd.MultiIndex) else out.index
        out.insert(0, "window_end", pd.DatetimeIndex(starts) + m.window)
    seconds = m.window.total_seconds()
    for name, d in m.derivations:
        out[name] = d.evaluate({c: out[c].to_numpy() for c in out.columns if c in d.names}, seconds=seconds) * np.ones(len(out))
    if m.tz is not None and m.kind in ("tumbling", "sliding") and len(out):
        tzfix = lambda i: pd.DatetimeIndex(i).tz_localize(m.tz, ambiguous=True, nonexistent="shift_forward")
        out["window_end"] = tzfix(out["window_end"])
        if isinstance(out.index, pd.MultiIndex):
            out.index = out.index.set_levels(tzfix(out.index.levels[0]), level=0)
        else:
            out.index = tzfix(out.index).rename("window_start")
    return out


def metric_pipeline(m: Metric, batches: Any, source: Any, *, from_source: str | None, schema: Any, store: Any,
                    name: str | None, clock: Any, dead_letter: int, errors_to: Any, **options: Any) -> Any:
    """``build_pipeline(source, metric=m)``: validate the metric's columns, then its aggregate.

    ``options``: ``keep_late`` and ``keep_closed`` for the aggregate (the rest of the
    definition is the metric's own).
    """
    from .graph import Pipeline, _check_columns
    from .schema import Field, Schema

    unknown = sorted(set(options) - {"keep_late", "keep_closed"})
    if unknown:
        raise ParameterError(unknown[0], options[unknown[0]], "is part of the Metric definition; "
                             "give it to rtnb.Metric(...), not build_pipeline")
    _check_columns(getattr(source, "sources", ()), from_source, m.value, m.by)
    if isinstance(schema, str) and schema == "auto":
        feeding = [s for s in getattr(source, "sources", ())
                   if from_source is None or getattr(s, "name", None) == from_source]
        bounds: dict[str, Any] = {}
        if any(getattr(s, "rebase", True) is False for s in feeding):
            bounds = {"max_age": None, "max_future": None}
        schema = Schema.infer(time=m.time_col, keys=m.by, measures=m.value, id_col=m.id_col, **bounds)
        if m.row_filter is not None:  # filter first: a row out of scope may lack a value
            schema = Schema(fields=tuple(dataclasses.replace(f, nullable=True) if f.name in m.value else f
                                         for f in schema.fields), extra=schema.extra)
        extra = [c for c in m.source_columns if c not in schema.names]
        if extra:  # the filter's columns: present (their values are the filter's business)
            schema = Schema(fields=schema.fields + tuple(Field(name=c, dtype="any", nullable=True) for c in extra),
                            extra=schema.extra)
    aggregate = m.aggregate(clock=clock, **options)
    return Pipeline(batches, aggregate=aggregate, schema=schema, store=store, clock=clock,
                    metric=name or m.name, dead_letter=dead_letter, errors_to=errors_to)
