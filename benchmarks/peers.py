"""The benchmark workload, a pandas oracle, and the peer implementations rtnb is compared to.

Workload (issue 3): 50 keys with Zipf skew, events at 10,000/s of event time, 5% out of
order by up to 2 s, batches of 1,000 rows, count/sum/mean per key over a window, an
answer after every batch.

Every system is a small class with ``step(batch) -> DataFrame``: take one batch, return
the answer (index: key, sorted; columns count, sum, mean; one row per key with at least
one event in the window). Exact windows are ``(W - window, W]`` with ``W`` the largest
event time received so far, like ``Series.rolling(window)`` at the newest row.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import deque

import numpy as np
import pandas as pd
import streamz

import rtnb

KEYS = 50
RATE = 10_000  # events per second of event time
BATCH = 1_000
DISORDER = 0.05
MAX_DELAY = pd.Timedelta("2s")
LATENESS = "2s"
T0 = pd.Timestamp("2024-01-01")
COLUMNS = ["count", "sum", "mean"]


def workload(n: int, seed: int = 0, rate: int = RATE) -> pd.DataFrame:
    """``n`` events in arrival order: ``ts`` (event time), ``key``, ``value``.

    The i-th event arrives at ``T0 + i / rate``; 5% of them carry an event time up to
    2 s earlier (out of order). With an allowed lateness of 2 s no event is late.
    """
    rng = np.random.default_rng(seed)
    arrival = T0.value + (np.arange(n, dtype=np.int64) * (10**9 // rate))
    delay = np.where(rng.random(n) < DISORDER, rng.integers(0, MAX_DELAY.value, n), 0)
    ranks = np.arange(1, KEYS + 1)
    p = 1.0 / ranks**1.1
    keys = np.array([f"k{i:02d}" for i in range(KEYS)], dtype=object)
    return pd.DataFrame({
        "ts": (arrival - delay).view("datetime64[ns]"),
        "key": pd.array(keys[rng.choice(KEYS, n, p=p / p.sum())], dtype="str"),
        "value": rng.lognormal(3.0, 1.0, n).round(2),
    })


def batches(events: pd.DataFrame, size: int = BATCH) -> list[pd.DataFrame]:
    return [events.iloc[i : i + size] for i in range(0, len(events), size)]


# ----------------------------------------------------------------------------- oracle


class Oracle:
    """pandas/numpy answers after any batch, for checking every system."""

    def __init__(self, events: pd.DataFrame, size: int = BATCH) -> None:
        self.ts = events["ts"].to_numpy().view(np.int64)
        self.codes, self.labels = pd.factorize(events["key"], sort=True)
        self.value = events["value"].to_numpy()
        self.size = size
        self.running_max = np.maximum.accumulate(self.ts)

    def bounds(self, batch: int, window: pd.Timedelta, kind: str, resolution: pd.Timedelta | None,
               n: int | None = None) -> tuple[int, int]:
        """[lo, hi) in ns of the window after ``batch`` (0-based) of a run of ``n`` events."""
        end = min((batch + 1) * self.size, len(self.ts) if n is None else n)
        w = int(self.running_max[end - 1])
        if kind == "exact":
            return w - window.value + 1, w + 1
        r = resolution.value
        hi = (w // r) * r + r
        return hi - window.value, hi

    def answer(self, batch: int, window: pd.Timedelta, kind: str = "exact",
               resolution: pd.Timedelta | None = None, n: int | None = None) -> pd.DataFrame:
        """The answer after ``batch`` (0-based) of a run over the first ``n`` events."""
        end = min((batch + 1) * self.size, len(self.ts) if n is None else n)
        lo, hi = self.bounds(batch, window, kind, resolution, n)
        ts = self.ts[:end]
        m = (ts >= lo) & (ts < hi)
        codes, vals = self.codes[:end][m], self.value[:end][m]
        count = np.bincount(codes, minlength=len(self.labels))
        total = np.bincount(codes, weights=vals, minlength=len(self.labels))
        present = count > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
        return pd.DataFrame(
            {"count": count[present], "sum": total[present], "mean": mean[present]},
            index=pd.Index(np.asarray(self.labels)[present], name="key"),
        )


def disagreement(got: pd.DataFrame, want: pd.DataFrame) -> str | None:
    """``None`` when ``got`` equals ``want`` (counts exact, sums/means to 1e-9), else why."""
    got = got.sort_index()
    if list(map(str, got.index)) != list(map(str, want.index)):
        extra = sorted(set(map(str, got.index)) - set(map(str, want.index)))
        missing = sorted(set(map(str, want.index)) - set(map(str, got.index)))
        return f"keys differ (extra {extra[:3]}, missing {missing[:3]})"
    c_got, c_want = got["count"].to_numpy(dtype=float), want["count"].to_numpy(dtype=float)
    if not np.array_equal(c_got, c_want):
        i = int(np.flatnonzero(c_got != c_want)[0])
        return f"count of {want.index[i]} is {c_got[i]:.0f}, pandas says {c_want[i]:.0f}"
    for col in ("sum", "mean"):
        a, b = got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float)
        if not np.allclose(a, b, rtol=1e-9, atol=0):
            i = int(np.argmax(np.abs(a - b) / np.abs(b)))
            return f"{col} of {want.index[i]} is {a[i]:.6g}, pandas says {b[i]:.6g}"
    return None


# ----------------------------------------------------------------------------- rtnb


class RtnbRolling:
    """``rtnb.Rolling`` alone: update, then a snapshot, after every batch."""

    def __init__(self, window: str, kind: str = "exact", resolution: str | None = None) -> None:
        self.agg = rtnb.Rolling(window, by="key", value="value", aggs=tuple(COLUMNS),
                                lateness=LATENESS, kind=kind, resolution=resolution)

    def step(self, batch: pd.DataFrame) -> pd.DataFrame:
        self.agg.update(batch)
        return self.agg.snapshot().table


class RtnbPipeline:
    """The whole pipeline: validate → aggregate → snapshot → MemoryStore, per batch."""

    def __init__(self, window: str, kind: str = "exact", resolution: str | None = None) -> None:
        self.clock = rtnb.SimClock(start=T0)
        self.stream = streamz.Stream()
        self.pipe = rtnb.build_pipeline(self.stream, metric="value", by="key", window=window,
                                  aggs=tuple(COLUMNS), lateness=LATENESS, kind=kind,
                                  resolution=resolution, clock=self.clock)
        self.store = self.pipe.store

    def step(self, batch: pd.DataFrame) -> pd.DataFrame:
        # The clock follows arrival (the i-th event arrives at T0 + i / rate).
        self.clock.advance_to(T0 + pd.Timedelta(int(batch.index[-1] + 1) * (10**9 // RATE), unit="ns"))
        self.stream.emit(batch)
        return self.store.latest("value").table


# ----------------------------------------------------------------------------- peers


class StreamzPerEvent:
    """How users commonly write it: one ``emit`` per event into ``accumulate`` with a
    deque per key (kept in event-time order by inserting from the right), running
    count and sum per key, evicting from the front when the watermark moves."""

    def __init__(self, window: str) -> None:
        self.size = pd.Timedelta(window).value
        self.source = streamz.Stream()
        self.state = {"w": np.iinfo(np.int64).min, "q": {}, "n": {}, "s": {}}
        self.source.accumulate(self._add, start=self.state).sink(lambda _: None)

    def _add(self, st: dict, ev: tuple) -> dict:
        t, k, v = ev
        q = st["q"].get(k)
        if q is None:
            q = st["q"][k] = deque()
            st["n"][k] = 0
            st["s"][k] = 0.0
        if not q or q[-1][0] <= t:
            q.append((t, v))
        else:  # out of order: insert at its place from the right (2 s of disorder at most)
            i = len(q) - 1
            while i > 0 and q[i - 1][0] > t:
                i -= 1
            q.insert(i, (t, v))
        st["n"][k] += 1
        st["s"][k] += v
        if t > st["w"]:
            st["w"] = t
        self._evict(st, k)
        return st

    def _evict(self, st: dict, k) -> None:
        q, lo = st["q"][k], st["w"] - self.size
        while q and q[0][0] <= lo:
            _, v = q.popleft()
            st["n"][k] -= 1
            st["s"][k] -= v

    def step(self, batch: pd.DataFrame) -> pd.DataFrame:
        ts = batch["ts"].to_numpy().view(np.int64).tolist()
        for ev in zip(ts, batch["key"].tolist(), batch["value"].tolist()):
            self.source.emit(ev)
        st = self.state
        for k in st["q"]:
            self._evict(st, k)
        keys = sorted(k for k, n in st["n"].items() if n > 0)
        n = np.array([st["n"][k] for k in keys], dtype=np.int64)
        s = np.array([st["s"][k] for k in keys])
        return pd.DataFrame({"count": n, "sum": s, "mean": s / n}, index=pd.Index(keys, name="key"))


class StreamzDataFrame:
    """``streamz.dataframe``: ``sdf.window(value=window).groupby("key")["value"]`` with
    ``count()``, ``sum()`` and ``mean()`` (three accumulators). Each batch is indexed by
    event time and sorted (the window code slices the index by label)."""

    def __init__(self, window: str) -> None:
        from streamz.dataframe import DataFrame

        example = pd.DataFrame({"key": pd.Series([], dtype="str"), "value": pd.Series([], dtype=float)},
                               index=pd.DatetimeIndex([], name="ts", dtype="datetime64[ns]"))
        self.source = streamz.Stream()
        sdf = DataFrame(self.source, example=example)
        g = sdf.window(value=window).groupby("key")["value"]
        self.last: dict[str, pd.Series] = {}
        for name in COLUMNS:
            getattr(g, name)().stream.sink(lambda s, name=name: self.last.__setitem__(name, s))

    def step(self, batch: pd.DataFrame) -> pd.DataFrame:
        self.source.emit(batch.set_index("ts").sort_index())
        out = pd.DataFrame({c: self.last[c] for c in COLUMNS})
        out = out[out["count"] > 0]
        out.index = out.index.astype(str)
        out.index.name = "key"
        return out


class RiverTimeRolling:
    """river: ``utils.TimeRolling(stats.Mean(), period=window)`` per key, one
    ``update(x, t=...)`` per event; count = ``n``, sum = mean × n."""

    def __init__(self, window: str) -> None:
        from river import stats, utils

        self.period = pd.Timedelta(window).to_pytimedelta()
        self.make = lambda: utils.TimeRolling(stats.Mean(), period=self.period)
        self.keys: dict = {}

    def step(self, batch: pd.DataFrame) -> pd.DataFrame:
        times = batch["ts"].dt.to_pydatetime()
        for t, k, v in zip(times, batch["key"].tolist(), batch["value"].tolist()):
            tr = self.keys.get(k)
            if tr is None:
                tr = self.keys[k] = self.make()
            tr.update(v, t=t)
        rows = {k: (tr.obj.n, tr.obj.get()) for k, tr in self.keys.items() if tr.obj.n > 0.5}
        keys = sorted(rows)
        n = np.array([rows[k][0] for k in keys])
        m = np.array([rows[k][1] for k in keys])
        return pd.DataFrame({"count": n.round().astype(np.int64), "sum": m * n, "mean": m},
                            index=pd.Index(keys, name="key"))


class PandasRecompute:
    """pandas recomputing the groupby over the raw window after every batch (the raw
    rows older than the window are dropped as W moves)."""

    def __init__(self, window: str) -> None:
        self.size = pd.Timedelta(window)
        self.raw = pd.DataFrame({"ts": pd.Series([], dtype="datetime64[ns]"),
                                 "key": pd.Series([], dtype="str"), "value": pd.Series([], dtype=float)})
        self.w = None

    def step(self, batch: pd.DataFrame) -> pd.DataFrame:
        raw = pd.concat([self.raw, batch], ignore_index=True)
        w = raw["ts"].max()
        self.raw = raw = raw[raw["ts"] > w - self.size]
        return raw.groupby("key")["value"].agg(COLUMNS)


class RawSQL:
    """SQLite or DuckDB (``rtnb.SQLiteBaseline`` / ``DuckDBBaseline``): insert each batch
    into a raw table, run the GROUP BY with a time predicate after every batch."""

    def __init__(self, window: str, engine: str) -> None:
        cls = rtnb.SQLiteBaseline if engine == "sqlite" else rtnb.DuckDBBaseline
        self.size = pd.Timedelta(window)
        # Rows older than the window plus the allowed disorder are deleted, as a
        # careful user would, so the table does not grow with the run.
        self.db = cls(keys="key", measures="value", aggs=tuple(COLUMNS), retention=self.size + MAX_DELAY)
        self.w = None

    def step(self, batch: pd.DataFrame) -> pd.DataFrame:
        self.db.insert(batch)
        w = batch["ts"].max()
        self.w = w if self.w is None or w > self.w else self.w
        return self.db.query(end=self.w + pd.Timedelta(1, unit="ns"), window=self.size).table

    def close(self) -> None:
        self.db.close()


def one_shot(events: pd.DataFrame, window: str) -> pd.DataFrame:
    """The limit, not incremental: one vectorised pass over all events, one answer."""
    ts = events["ts"].to_numpy().view(np.int64)
    w = ts.max()
    m = ts > w - pd.Timedelta(window).value
    codes, labels = pd.factorize(events["key"].to_numpy()[m], sort=True)
    vals = events["value"].to_numpy()[m]
    count = np.bincount(codes, minlength=len(labels))
    total = np.bincount(codes, weights=vals, minlength=len(labels))
    return pd.DataFrame({"count": count, "sum": total, "mean": total / count},
                        index=pd.Index(np.asarray(labels), name="key"))
