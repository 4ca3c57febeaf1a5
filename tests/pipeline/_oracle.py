"""A slow, obviously-correct reference for rtnb.Rolling: row-by-row watermark, then pandas.

Used by the Rolling tests: the streaming answer must equal this after every batch.
"""

from __future__ import annotations

import math

import pandas as pd

QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
SKETCH_ERROR = 0.005


class Oracle:
    """Replays rows one at a time: late / duplicate / accepted, as documented."""

    def __init__(self, lateness: pd.Timedelta, id_col: str | None = None) -> None:
        self.lateness = lateness
        self.id_col = id_col
        self.wm: pd.Timestamp | None = None
        self.seen: dict = {}
        self.accepted: list[dict] = []
        self.late: list[dict] = []
        self.dups = 0
        self.received = 0

    def feed(self, batch: pd.DataFrame) -> None:
        for row in batch.to_dict("records"):
            self.received += 1
            t = row["ts"]
            limit = None if self.wm is None else self.wm - self.lateness
            if limit is not None and t < limit:
                self.late.append(row)
                continue
            if self.id_col is not None:
                x = row[self.id_col]
                if x in self.seen and limit is not None and self.seen[x] >= limit:
                    self.dups += 1
                    continue
                self.seen[x] = t
            self.accepted.append(row)
            self.wm = t if self.wm is None else max(self.wm, t)

    def frame(self, columns) -> pd.DataFrame:
        df = pd.DataFrame(self.accepted, columns=list(columns))
        if len(df):
            df["ts"] = pd.to_datetime(df["ts"]).astype("datetime64[ns]")
        return df


def window_rows(df: pd.DataFrame, wm: pd.Timestamp, kind: str, size: pd.Timedelta,
                res: pd.Timedelta | None = None, hop: pd.Timedelta | None = None) -> pd.DataFrame:
    """The accepted rows inside the current window, per the documented definitions."""
    if kind == "exact":
        return df[(df["ts"] > wm - size) & (df["ts"] <= wm)]
    h = {"bucketed": res, "tumbling": size, "sliding": hop}[kind]
    end = pd.Timestamp((wm.value // h.value) * h.value + h.value)
    start = end - size
    return df[(df["ts"] >= start) & (df["ts"] < end)]


def aggregate(rows: pd.DataFrame, by: list[str], measures: list[str], aggs) -> dict:
    """{key: {column: (value, tolerance info)}} computed with pandas."""
    single = len(measures) == 1
    out = {}
    if not len(rows):
        return out
    groups = rows.groupby(by, dropna=False, sort=False) if by else [(0, rows)]
    for key, g in groups:
        if by and len(by) == 1 and isinstance(key, tuple):
            key = key[0]
        cols = {}
        for m in measures:
            x = g[m].astype(float)
            for a in aggs:
                name = a if single else f"{m}_{a}"
                if a == "count":
                    v = len(x)
                elif a in QUANTILES:
                    v = x.quantile(QUANTILES[a], interpolation="lower")
                else:
                    v = getattr(x, a)()
                cols[name] = (v, float(x.abs().sum()), float(x.abs().max()), len(x))
        out[key] = cols
    return out


def assert_table_matches(table: pd.DataFrame, expected: dict, *, where: str = "") -> None:
    """Every key and every column of ``table`` equals the pandas answer (tolerances below).

    counts exact; sum/mean to 1e-9 relative to the window's sum of |x| (the
    condition of a sum); min/max exact; std to 1e-9 relative (plus 1e-9 x max|x|
    where pandas itself loses digits); quantiles within the sketch's 0.5% (exact 0).
    """
    got_keys = set(_keys(table))
    assert got_keys == set(expected), f"{where}: keys {sorted(map(str, got_keys))} != {sorted(map(str, expected))}"
    for key, label in zip(_keys(table), table.index):
        row = table.loc[label]
        for name, (want, sabs, mabs, n) in expected[key].items():
            got = row[name]
            agg = name.split("_")[-1]
            msg = f"{where}: key={key!r} {name}: got {got!r}, want {want!r}"
            if agg == "count":
                assert int(got) == int(want), msg
            elif agg in ("min", "max"):
                assert got == want, msg
            elif agg == "sum":
                assert abs(got - want) <= 1e-9 * sabs + 1e-300, msg
            elif agg == "mean":
                assert abs(got - want) <= 1e-9 * sabs / n + 1e-300, msg
            elif agg == "std":
                if want is None or (isinstance(want, float) and math.isnan(want)):
                    assert got is None or math.isnan(got), msg
                else:
                    assert abs(got - want) <= 1e-9 * want + 1e-9 * mabs, msg
            elif agg in QUANTILES:
                assert abs(got - want) <= SKETCH_ERROR * (1 + 1e-9) * abs(want), msg
            else:  # pragma: no cover
                raise AssertionError(f"unknown column {name}")


def _keys(table: pd.DataFrame):
    idx = table.index
    if isinstance(idx, pd.MultiIndex):
        return [tuple(k) for k in idx]
    if isinstance(idx, pd.RangeIndex) or idx.name is None:
        return [0 for _ in idx]
    return list(idx)


def closed_expected(rows: pd.DataFrame, horizon: pd.Timestamp, size: pd.Timedelta, hop: pd.Timedelta,
                    by: list[str], measures: list[str], aggs) -> dict:
    """{(window start, key): columns} of every tumbling/sliding window ``[k * hop, k * hop
    + size)`` that ``horizon`` (W - lateness) has passed and that holds rows."""
    want: dict = {}
    if not len(rows):
        return want
    k = (rows["ts"].min().value - size.value) // hop.value + 1
    while k * hop.value + size.value <= horizon.value:
        start = pd.Timestamp(k * hop.value)
        inside = rows[(rows["ts"] >= start) & (rows["ts"] < start + size)]
        for key, cols in aggregate(inside, by, measures, aggs).items():
            want[(start, key)] = cols
        k += 1
    return want


def sessions(rows: pd.DataFrame, gap: pd.Timedelta, by: list[str]) -> list[tuple]:
    """Every session, as ``(key, start, end, rows)``: a key's rows at most ``gap`` apart."""
    out = []
    if not len(rows):
        return out
    ordered = rows.sort_values("ts", kind="stable")
    groups = ordered.groupby(by, sort=False) if by else [(0, ordered)]
    for key, g in groups:
        if by and len(by) == 1 and isinstance(key, tuple):
            key = key[0]
        sid = (g["ts"].diff() > gap).cumsum()
        for _, s in g.groupby(sid):
            out.append((key, s["ts"].min(), s["ts"].max(), s))
    return out
