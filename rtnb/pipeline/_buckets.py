"""Mergeable pre-aggregates: per (time bucket, key) count, sum, M2, min, max and sketch.

Every group keeps ``n`` (rows), per measure ``sum``, ``m2`` (sum of squared deviations
from the group's own mean, merged with Chan's parallel formula so the standard
deviation stays exact to rounding), ``min``, ``max`` and optionally a quantile sketch.
Groups merge: minute buckets roll into hours, partial results of several workers add
up, and the answer equals a pandas ``groupby`` on all the rows.

>>> df = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 00:00:10", "2024-01-01 00:00:50",
...                                          "2024-01-01 00:01:05"]).as_unit("ns"),
...                    "key": ["a", "a", "b"], "value": [1.0, 3.0, 5.0]})
>>> b = Buckets.from_frame(df, resolution="1min", by="key", value="value")
>>> b.table(("count", "sum", "std"))
                           count  sum       std
bucket              key
2024-01-01 00:00:00 a      2       4.0  1.414214
2024-01-01 00:01:00 b      1       5.0       NaN
>>> b.rollup("1h").total(("count", "mean"))
     count      mean
key
a        2  2.000000
b        1  5.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._errors import ParameterError, UnknownNameError
from .._time import DurationLike, to_duration
from .sketch import DEFAULT_RELATIVE_ACCURACY, _lower_ranks, _mapping

__all__ = ["Buckets", "AGGREGATES", "QUANTILES"]

QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
AGGREGATES = ("count", "sum", "mean", "min", "max", "std", *QUANTILES)


def check_aggs(aggs: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(aggs, str):
        aggs = (aggs,)
    try:
        out = tuple(aggs)
    except TypeError:
        raise ParameterError("aggs", aggs, "must be a sequence of aggregate names", AGGREGATES) from None
    if not out:
        raise ParameterError("aggs", aggs, "name at least one aggregate", AGGREGATES)
    for a in out:
        if a not in AGGREGATES:
            raise UnknownNameError("aggs", a, AGGREGATES)
    if len(set(out)) != len(out):
        raise ParameterError("aggs", aggs, "names an aggregate twice")
    return out


@dataclass
class Stats:
    """Pre-aggregates of G groups over M measures (arrays, mutable, internal)."""

    n: np.ndarray  # (G,) int64
    s: np.ndarray  # (G, M) float64
    m2: np.ndarray  # (G, M)
    mn: np.ndarray  # (G, M)  +inf when empty
    mx: np.ndarray  # (G, M)  -inf when empty
    # sketch entries (sparse): group id, measure index, bin key, count — or None
    sk: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def groups(self) -> int:
        return self.n.shape[0]


def stats_from_rows(
    gid: np.ndarray,
    n_groups: int,
    values: np.ndarray,
    *,
    sketch_keys: np.ndarray | None = None,
    minmax: bool = True,
    m2: bool = True,
) -> Stats:
    """Pre-aggregate rows (``values`` is N x M) into ``n_groups`` groups by ``gid``.

    ``minmax=False`` / ``m2=False`` skip work a caller does not need (left at their
    empty values: +inf/-inf and 0).
    """
    n_meas = values.shape[1]
    n = np.bincount(gid, minlength=n_groups).astype(np.int64)
    want_m2 = m2
    s = np.empty((n_groups, n_meas))
    m2 = np.zeros((n_groups, n_meas))
    mn = np.full((n_groups, n_meas), np.inf)
    mx = np.full((n_groups, n_meas), -np.inf)
    safe = np.maximum(n, 1)
    for j in range(n_meas):
        v = values[:, j]
        s[:, j] = np.bincount(gid, weights=v, minlength=n_groups)
        if want_m2:
            d = v - (s[:, j] / safe)[gid]
            m2[:, j] = np.bincount(gid, weights=d * d, minlength=n_groups)
        if minmax:
            np.minimum.at(mn[:, j], gid, v)
            np.maximum.at(mx[:, j], gid, v)
    sk = None
    if sketch_keys is not None:
        g = np.repeat(gid[:, None], n_meas, axis=1).ravel()
        m = np.tile(np.arange(n_meas), gid.size)
        sk = compact_sketch(g, m, sketch_keys.ravel(), np.ones(g.size, dtype=np.int64))
    return Stats(n, s, m2, mn, mx, sk)


def compact_sketch(g, m, k, c):
    """Sum counts of equal (group, measure, key) entries; drop zeros; sorted."""
    if g.size == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e.copy(), e.copy(), e.copy()
    order = np.lexsort((k, m, g))
    g, m, k, c = g[order], m[order], k[order], c[order]
    new = np.ones(g.size, dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (m[1:] != m[:-1]) | (k[1:] != k[:-1])
    starts = np.flatnonzero(new)
    tot = np.add.reduceat(c, starts)
    g, m, k = g[starts], m[starts], k[starts]
    keep = tot != 0
    return g[keep], m[keep], k[keep], tot[keep]


def combine(stats: Stats, target: np.ndarray, n_targets: int) -> Stats:
    """Merge groups: source group ``i`` goes into ``target[i]`` (Chan's formula for m2)."""
    n = np.bincount(target, weights=stats.n, minlength=n_targets).astype(np.int64)
    n_meas = stats.s.shape[1]
    s = np.empty((n_targets, n_meas))
    m2 = np.empty((n_targets, n_meas))
    mn = np.full((n_targets, n_meas), np.inf)
    mx = np.full((n_targets, n_meas), -np.inf)
    safe_src = np.maximum(stats.n, 1)
    safe = np.maximum(n, 1)
    for j in range(n_meas):
        s[:, j] = np.bincount(target, weights=stats.s[:, j], minlength=n_targets)
        d = stats.s[:, j] / safe_src - (s[:, j] / safe)[target]
        m2[:, j] = np.bincount(
            target, weights=stats.m2[:, j] + stats.n * d * d, minlength=n_targets
        )
        np.minimum.at(mn[:, j], target, stats.mn[:, j])
        np.maximum.at(mx[:, j], target, stats.mx[:, j])
    sk = None
    if stats.sk is not None:
        g, m, k, c = stats.sk
        sk = compact_sketch(target[g], m, k, c)
    return Stats(n, s, m2, mn, mx, sk)


def concat_stats(parts: Sequence[Stats]) -> Stats:
    offsets = np.cumsum([0] + [p.groups for p in parts])
    sk = None
    if all(p.sk is not None for p in parts):
        sk = tuple(
            np.concatenate([(p.sk[i] + off) if i == 0 else p.sk[i] for p, off in zip(parts, offsets)])
            for i in range(4)
        )
    return Stats(
        np.concatenate([p.n for p in parts]),
        np.concatenate([p.s for p in parts]),
        np.concatenate([p.m2 for p in parts]),
        np.concatenate([p.mn for p in parts]),
        np.concatenate([p.mx for p in parts]),
        sk,
    )


def finish(
    stats: Stats,
    aggs: tuple[str, ...],
    measures: tuple[str, ...],
    *,
    single: bool,
    relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
) -> dict[str, np.ndarray]:
    """Final aggregates per group, as columns named by :func:`column_names`."""
    n = stats.n
    safe = np.maximum(n, 1)
    cols: dict[str, np.ndarray] = {}
    qs = [a for a in aggs if a in QUANTILES]
    qvals = None
    if qs:
        qvals = sketch_quantiles(stats, tuple(QUANTILES[a] for a in qs), len(measures),
                                 relative_accuracy)
    for j, meas in enumerate(measures):
        for a in aggs:
            name = a if single else f"{meas}_{a}"
            if a == "count":
                col = n.copy()
            elif a == "sum":
                col = stats.s[:, j].copy()
            elif a == "mean":
                col = np.where(n > 0, stats.s[:, j] / safe, np.nan)
            elif a == "min":
                col = np.where(n > 0, stats.mn[:, j], np.nan)
            elif a == "max":
                col = np.where(n > 0, stats.mx[:, j], np.nan)
            elif a == "std":
                col = np.where(n > 1, np.sqrt(np.maximum(stats.m2[:, j], 0.0) / np.maximum(n - 1, 1)), np.nan)
            else:
                col = qvals[:, j, qs.index(a)]
            cols[name] = col
    return cols


def sketch_quantiles(stats: Stats, qs: tuple[float, ...], n_meas: int, relative_accuracy: float) -> np.ndarray:
    """Array [G x M x len(qs)] of "lower" quantiles read from the sparse sketches."""
    out = np.full((stats.groups, n_meas, len(qs)), np.nan)
    if stats.sk is None or stats.sk[0].size == 0:
        return out
    mapping = _mapping(relative_accuracy)
    g, m, k, c = stats.sk  # sorted by (g, m, k)
    seg = g * n_meas + m
    new = np.ones(seg.size, dtype=bool)
    new[1:] = seg[1:] != seg[:-1]
    starts = np.flatnonzero(new)
    tot = np.add.reduceat(c, starts)
    cum = np.cumsum(c)
    base = np.concatenate([[0], cum[starts[1:] - 1]]) if starts.size > 1 else np.zeros(1, dtype=np.int64)
    ends = np.append(starts[1:], seg.size)
    for jq, q in enumerate(qs):
        rank = _lower_ranks(np.float64(q), tot)
        # first entry in the segment whose cumulative count exceeds base + rank
        pos = np.searchsorted(cum, base + rank, side="right")
        pos = np.minimum(pos, ends - 1)
        out[g[starts], m[starts], jq] = mapping.values(k[pos])
    return out


def column_names(aggs: tuple[str, ...], measures: tuple[str, ...], single: bool) -> list[str]:
    """One measure: columns named by aggregate; several: ``<measure>_<aggregate>``."""
    if single:
        return list(aggs)
    return [f"{m}_{a}" for m in measures for a in aggs]


class Buckets:
    """Pre-aggregated time buckets per key that merge: ``a + b``, ``rollup``, ``total``.

    Build them from rows with :meth:`from_frame` (or take them from a running
    :class:`rtnb.Rolling` with ``agg.buckets()``). Buckets are aligned on the epoch:
    bucket ``b`` covers ``[b * resolution, (b + 1) * resolution)``.

    - ``a + b`` (or ``a.merge(b)``): partial results of several workers, by bucket and key;
    - ``rollup("1h")``: coarser buckets (the new resolution must be a multiple);
    - ``table(aggs)``: final aggregates per (bucket, key); ``total(aggs)``: per key over
      every bucket; ``between(start, end)``: the buckets starting in ``[start, end)``.

    Column naming: with one measure the columns are named by aggregate (``"sum"``);
    with several, ``"<measure>_<aggregate>"`` (``"amount_sum"``).

    >>> df = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 00:00:01", "2024-01-01 00:00:02"]).as_unit("ns"),
    ...                    "value": [2.0, 4.0]})
    >>> w1 = Buckets.from_frame(df.iloc[:1], resolution="1s", value="value")
    >>> w2 = Buckets.from_frame(df.iloc[1:], resolution="1s", value="value")
    >>> (w1 + w2).rollup("1min").total(("count", "sum", "max"))
       count  sum  max
    0      2  6.0  4.0
    >>> w1 + w2
    Buckets(resolution='0 days 00:00:01', buckets=2, keys=1, groups=2, measures=('value',))
    """

    def __init__(
        self,
        *,
        resolution: pd.Timedelta,
        by: tuple[str, ...],
        measures: tuple[str, ...],
        starts: np.ndarray,
        key_codes: np.ndarray,
        labels: list,
        stats: Stats,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
    ) -> None:
        self.resolution = resolution
        self.by = by
        self.measures = measures
        self.starts = np.asarray(starts, dtype=np.int64)
        self.key_codes = np.asarray(key_codes, dtype=np.int64)
        self.labels = list(labels)
        self.stats = stats
        self.relative_accuracy = relative_accuracy

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        resolution: DurationLike,
        value: str | Sequence[str],
        by: str | Sequence[str] | None = None,
        time_col: str = "ts",
        sketch: bool = True,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
    ) -> Buckets:
        """Pre-aggregate the rows of ``frame`` into buckets of ``resolution`` per key."""
        res = to_duration(resolution, "resolution")
        by_t = () if by is None else ((by,) if isinstance(by, str) else tuple(by))
        meas = (value,) if isinstance(value, str) else tuple(value)
        for c in (time_col, *by_t, *meas):
            if c not in frame.columns:
                raise ParameterError("batch", c, f"missing column; present: {list(frame.columns)}")
        ts = frame[time_col].to_numpy().astype("datetime64[ns]").view(np.int64)
        b = np.floor_divide(ts, res.value) * res.value
        if by_t:
            kc, labels = _factorize_keys(frame, by_t)
        else:
            kc, labels = np.zeros(len(frame), dtype=np.int64), [None]
        ub, binv = np.unique(b, return_inverse=True)
        gid_raw = binv * max(len(labels), 1) + kc
        ug, gid = np.unique(gid_raw, return_inverse=True)
        vals = frame[list(meas)].to_numpy(dtype=np.float64)
        keys = _mapping(relative_accuracy).keys(vals) if sketch else None
        st = stats_from_rows(gid, ug.size, vals, sketch_keys=keys)
        nl = max(len(labels), 1)
        return cls(resolution=res, by=by_t, measures=meas, starts=ub[ug // nl],
                   key_codes=ug % nl, labels=labels, stats=st, relative_accuracy=relative_accuracy)

    def _check_compatible(self, other: Buckets) -> None:
        if not isinstance(other, Buckets):
            raise ParameterError("other", type(other).__name__, "must be Buckets")
        for attr in ("resolution", "by", "measures", "relative_accuracy"):
            if getattr(self, attr) != getattr(other, attr):
                raise ParameterError(
                    "other", getattr(other, attr), f"{attr} differs from {getattr(self, attr)!r}"
                )

    def merge(self, other: Buckets) -> Buckets:
        """Both partial results in one: groups of equal (bucket, key) are combined."""
        self._check_compatible(other)
        index = {lab: i for i, lab in enumerate(self.labels)}
        labels = list(self.labels)
        remap = np.empty(len(other.labels), dtype=np.int64)
        for i, lab in enumerate(other.labels):
            j = index.get(lab)
            if j is None:
                j = index[lab] = len(labels)
                labels.append(lab)
            remap[i] = j
        starts = np.concatenate([self.starts, other.starts])
        codes = np.concatenate([self.key_codes, remap[other.key_codes]])
        stats = concat_stats([self.stats, other.stats])
        return self._regroup(starts, codes, labels, stats)

    def _regroup(self, starts, codes, labels, stats) -> Buckets:
        nl = max(len(labels), 1)
        ub, binv = np.unique(starts, return_inverse=True)
        ug, target = np.unique(binv * nl + codes, return_inverse=True)
        merged = combine(stats, target, ug.size)
        return Buckets(resolution=self.resolution, by=self.by, measures=self.measures,
                       starts=ub[ug // nl], key_codes=ug % nl, labels=labels, stats=merged,
                       relative_accuracy=self.relative_accuracy)

    def __add__(self, other: Buckets) -> Buckets:
        if not isinstance(other, Buckets):
            return NotImplemented
        return self.merge(other)

    def rollup(self, resolution: DurationLike) -> Buckets:
        """Coarser buckets: ``resolution`` must be a multiple of the current one."""
        res = to_duration(resolution, "resolution")
        if res.value % self.resolution.value:
            raise ParameterError("resolution", resolution,
                                 f"must be a multiple of the current resolution {self.resolution}")
        starts = np.floor_divide(self.starts, res.value) * res.value
        out = self._regroup(starts, self.key_codes, self.labels, self.stats)
        out.resolution = res
        return out

    def between(self, start, end) -> Buckets:
        """The buckets whose start is in ``[start, end)`` (timestamps)."""
        lo, hi = pd.Timestamp(start).as_unit("ns").value, pd.Timestamp(end).as_unit("ns").value
        keep = np.flatnonzero((self.starts >= lo) & (self.starts < hi))
        return self._take(keep)

    def _take(self, idx: np.ndarray) -> Buckets:
        sub = take_stats(self.stats, idx)
        return Buckets(resolution=self.resolution, by=self.by, measures=self.measures,
                       starts=self.starts[idx], key_codes=self.key_codes[idx], labels=self.labels,
                       stats=sub, relative_accuracy=self.relative_accuracy)

    def _check_aggs(self, aggs) -> tuple[str, ...]:
        a = check_aggs(aggs)
        if self.stats.sk is None and any(x in QUANTILES for x in a):
            raise ParameterError("aggs", aggs, "these buckets were built without sketch=True")
        return a

    def table(self, aggs: Sequence[str] = ("count", "sum", "mean")) -> pd.DataFrame:
        """Final aggregates per (bucket, key): index ``bucket`` (+ key columns)."""
        a = self._check_aggs(aggs)
        order = np.lexsort((self.key_codes, self.starts))
        sub = self._take(order)
        cols = finish(sub.stats, a, self.measures, single=len(self.measures) == 1,
                      relative_accuracy=self.relative_accuracy)
        bucket = pd.DatetimeIndex(sub.starts.view("datetime64[ns]"), name="bucket")
        if self.by:
            keys = key_frame(self.labels, sub.key_codes, self.by)
            index = pd.MultiIndex.from_arrays([bucket, *[keys[c] for c in self.by]],
                                              names=["bucket", *self.by])
        else:
            index = bucket
        return pd.DataFrame(cols, index=index)

    def total(self, aggs: Sequence[str] = ("count", "sum", "mean")) -> pd.DataFrame:
        """Final aggregates per key over every bucket (one row, index 0, without keys)."""
        a = self._check_aggs(aggs)
        uk, target = np.unique(self.key_codes, return_inverse=True)
        merged = combine(self.stats, target, uk.size)
        cols = finish(merged, a, self.measures, single=len(self.measures) == 1,
                      relative_accuracy=self.relative_accuracy)
        return pd.DataFrame(cols, index=key_index(self.labels, uk, self.by))

    def __repr__(self) -> str:
        return (
            f"Buckets(resolution={str(self.resolution)!r}, buckets={np.unique(self.starts).size}, "
            f"keys={np.unique(self.key_codes).size}, groups={self.starts.size}, "
            f"measures={self.measures})"
        )


def _factorize_keys(frame: pd.DataFrame, by: tuple[str, ...]) -> tuple[np.ndarray, list]:
    if len(by) == 1:
        codes, uniques = pd.factorize(frame[by[0]], use_na_sentinel=False)
        return codes.astype(np.int64), list(uniques)
    parts = [pd.factorize(frame[c], use_na_sentinel=False) for c in by]
    combo = np.zeros(len(frame), dtype=np.int64)
    for codes, uniques in parts:
        combo = combo * max(len(uniques), 1) + codes
    ucombo, codes = np.unique(combo, return_inverse=True)
    labels = []
    for u in ucombo:
        lab = []
        for codes_c, uniques in reversed(parts):
            u, r = divmod(int(u), max(len(uniques), 1))
            lab.append(uniques[r])
        labels.append(tuple(reversed(lab)))
    return codes.astype(np.int64), labels


def key_frame(labels: list, codes: np.ndarray, by: tuple[str, ...]) -> dict[str, list]:
    if len(by) == 1:
        return {by[0]: [labels[c] for c in codes]}
    return {c: [labels[k][i] for k in codes] for i, c in enumerate(by)}


def key_index(labels: list, codes: np.ndarray, by: tuple[str, ...]) -> pd.Index:
    """Index of the result table: by key (one column), MultiIndex (several), 0 (none)."""
    if not by:
        return pd.RangeIndex(len(codes))
    if len(by) == 1:
        return pd.Index([labels[c] for c in codes], name=by[0])
    return pd.MultiIndex.from_tuples([labels[c] for c in codes], names=list(by))


def take_stats(st: Stats, idx: np.ndarray) -> Stats:
    """The groups ``idx`` of ``st``, in that order (their sketch bins renumbered)."""
    sk = None
    if st.sk is not None:
        remap = np.full(st.groups, -1, dtype=np.int64)
        remap[idx] = np.arange(idx.size)
        g, m, k, c = st.sk
        sel = remap[g] >= 0
        sk = (remap[g[sel]], m[sel], k[sel], c[sel])
    return Stats(st.n[idx], st.s[idx], st.m2[idx], st.mn[idx], st.mx[idx], sk)
