"""Shaping engine answers into the tables a user reads (snapshots, closed windows, series)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import UnknownNameError
from .._keytable import frame_of
from ._buckets import QUANTILES, Buckets, Stats, finish
from .engines import ClosedWindows, WindowStats

__all__ = ["window_columns", "lazy_columns", "frame", "closed_frame", "series_frame", "buckets_of"]


def window_columns(ws: WindowStats, aggs, measures, single: bool) -> dict[str, np.ndarray]:
    """The table's columns (named by :func:`~._buckets.column_names`) from a read."""
    return {name: make() if callable(make) else make
            for name, make in lazy_columns(ws, aggs, measures, single).items()}


def lazy_columns(ws: WindowStats, aggs, measures, single: bool) -> dict:
    """The table's columns as functions ``make(at=None)`` making each one (fresh arrays;
    at the rows ``at`` only, if given), so a snapshot read for the top k by ``sum`` never
    computes its ``mean`` or ``std`` but for those k rows — nor gathers their counts from
    the engine's per-key arrays but for those k rows, when the read is ``by_code``.

    Same values, bit for bit, as :func:`~._buckets.finish` on the same statistics.
    """
    n = _Stat(ws.count, None, ws)
    qnames = [a for a in aggs if a in QUANTILES]
    cols: dict = {}
    if ws.window_start is not None:
        cols["window_start"] = pd.DatetimeIndex(ws.window_start.view("datetime64[ns]"))
        cols["window_end"] = pd.DatetimeIndex(ws.window_end.view("datetime64[ns]"))
    for j, meas in enumerate(measures):
        s = _Stat(ws.sum, j, ws)
        for a in aggs:
            name = a if single else f"{meas}_{a}"
            if a in qnames:
                cols[name] = _quantile(ws, j, qnames.index(a))
            else:
                cols[name] = _column(a, n, s, ws, j)
    return cols


class _Stat:
    """A count, or one measure's sum, at the table's rows: ``get(at)`` at the row
    positions ``at`` (``None``: every row, one fresh array made once, then kept).

    A read ``by_code`` holds them by key code for every slot of the engine's totals
    (``ws.keys`` are the rows' codes): only the rows asked for are gathered, and the
    read's ``lease`` is held here, so the engine copies those arrays before it changes
    them for as long as this can still read them.
    """

    __slots__ = ("a", "j", "codes", "lease", "_all")

    def __init__(self, a: np.ndarray, j: int | None, ws: WindowStats) -> None:
        self.a, self.j = a, j
        self.codes = ws.keys if ws.by_code else None
        self.lease = ws.lease
        self._all: np.ndarray | None = None

    def get(self, at: np.ndarray | None = None) -> np.ndarray:
        done = self._all
        if done is not None:
            return done if at is None else done[at]
        a = self.a if self.j is None else self.a[:, self.j]
        if at is None:
            self._all = np.take(a, self.codes) if self.codes is not None else a.copy()
            return self._all
        return a[self.codes[at]] if self.codes is not None else a[at]


def _quantile(ws: WindowStats, j: int, q: int):
    return lambda at=None: np.ascontiguousarray(ws.quantiles[:, j, q] if at is None else ws.quantiles[at, j, q])


def _column(agg: str, n: _Stat, s: _Stat, ws: WindowStats, j: int):
    """A function ``make(at=None)``: the column (at the rows ``at`` only, if given)."""
    def rows(a, at):
        return a if at is None else a[at]

    if agg == "count":
        return n.get
    if agg == "sum":
        return s.get
    if agg == "mean":
        def mean(at=None):
            c = n.get(at)
            return np.where(c > 0, s.get(at) / np.maximum(c, 1), np.nan)
        return mean
    if agg in ("min", "max"):
        src = ws.min if agg == "min" else ws.max
        if src is None:
            return lambda at=None: np.where(n.get(at) > 0, 0.0, np.nan)
        return lambda at=None: np.where(n.get(at) > 0, rows(src[:, j], at), np.nan)
    if agg == "std":
        def std(at=None):
            c = n.get(at)
            return np.where(c > 1, np.sqrt(np.maximum(rows(ws.m2[:, j], at), 0.0) / np.maximum(c - 1, 1)), np.nan)
        return std
    raise UnknownNameError("aggs", agg, ["count", "sum", "mean", "min", "max", "std", *QUANTILES])


def frame(cols: dict[str, np.ndarray], index: pd.Index, columns: pd.Index) -> pd.DataFrame:
    """A DataFrame over fresh arrays that only it owns (no copy; see :func:`rtnb._keytable.frame_of`)."""
    return frame_of([cols[c] for c in columns], index, columns)


def closed_frame(items: list[ClosedWindows], keys, cfg, single: bool, columns: list[str]) -> pd.DataFrame:
    """Closed windows, oldest first: index ``window_start`` (+ keys), ``window_end`` + aggregates."""
    frames = []
    for c in items:
        cols = {"window_end": pd.DatetimeIndex(c.end.view("datetime64[ns]"))}
        cols.update(finish(c.stats, cfg.agg_names, cfg.measures, single=single,
                           relative_accuracy=cfg.relative_accuracy))
        wstart = pd.DatetimeIndex(c.start.view("datetime64[ns]"), name="window_start")
        if cfg.keys:
            kidx = keys.index(c.keys)
            arrays = [wstart] + ([kidx] if len(cfg.keys) == 1 else
                                 [kidx.get_level_values(i) for i in range(len(cfg.keys))])
            index = pd.MultiIndex.from_arrays(arrays, names=["window_start", *cfg.keys])
        else:
            index = wstart
        frames.append(pd.DataFrame(cols, index=index))
    if not frames:
        return pd.DataFrame(columns=["window_end", *columns])
    return pd.concat(frames)


def series_frame(engine, watermark: int, column: str, columns: list[str], keys, cfg,
                 single: bool) -> pd.DataFrame:
    """Per-bucket values of one table column over the window (bucket engines)."""
    if column not in columns:
        raise UnknownNameError("column", column, columns)
    if single:
        meas, agg = cfg.measures[0], column
    else:
        meas = next(m for m in cfg.measures if column.startswith(m + "_") and column[len(m) + 1 :] in cfg.agg_names)
        agg = column[len(meas) + 1 :]
    k = len(keys)
    if watermark == np.iinfo(np.int64).min:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="bucket"))
    lo, hi = engine.window_lo(watermark), engine.window_hi(watermark)
    buckets = list(range(lo, hi))
    have = engine.window_buckets(lo, hi)
    j = cfg.measures.index(meas)
    vals = np.full((len(buckets), k), 0.0 if agg == "count" else np.nan)
    if have:
        st = engine.bucket_stats(have)
        one = finish(_select_measure(st, j), (agg,), (meas,), single=True,
                     relative_accuracy=cfg.relative_accuracy)[agg]
        pos = np.array([b - lo for b in have])
        vals[pos] = one.reshape(len(have), -1)[:, :k]
        if agg != "count":
            n = st.n.reshape(len(have), -1)[:, :k]
            vals[pos] = np.where(n > 0, vals[pos], np.nan)
    idx = pd.DatetimeIndex((np.array(buckets, dtype=np.int64) * engine.resolution).view("datetime64[ns]"),
                           name="bucket")
    df = pd.DataFrame(vals, index=idx, columns=keys.index(np.arange(k)))
    if agg == "count":
        df = df.astype(np.int64)
    return df


def buckets_of(engine, keys, cfg) -> Buckets:
    """The live pre-aggregated buckets of a bucket engine, as mergeable :class:`rtnb.Buckets`."""
    b, codes, st, _ = engine.groups()
    return Buckets(resolution=cfg.res, by=cfg.keys, measures=cfg.measures, starts=b * engine.resolution,
                   key_codes=codes, labels=list(keys.labels), stats=st,
                   relative_accuracy=cfg.relative_accuracy)


def _select_measure(st: Stats, j: int) -> Stats:
    sk = None
    if st.sk is not None:
        g, m, k, c = st.sk
        sel = m == j
        sk = (g[sel], np.zeros(int(sel.sum()), dtype=np.int64), k[sel], c[sel])
    sl = slice(j, j + 1)
    return Stats(st.n, st.s[:, sl], st.m2[:, sl], st.mn[:, sl], st.mx[:, sl], sk)


