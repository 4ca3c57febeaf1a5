"""Many keys: ``rtnb.Rolling`` against a lean single-purpose reference, same run, same rows.

Workload: 10,000 events/s of event time, 1,000-row batches, keys drawn uniformly from
K distinct keys (Arrow ``str`` or ``Categorical``), 1% of rows late by up to 2 s
(lateness 2 s), a 60 s exact window, count/sum/mean per key; after every batch
``update`` then the full per-key table (``snapshot().table``). The lean reference
(:class:`Lean`) has the same semantics and nothing else: running max for lateness,
``pd.factorize`` + a dict for key codes, ``bincount`` on the batch's distinct keys,
per-batch chunks sorted by time evicted from the front, the table built from arrays.
Both are checked equal on the last batch. Interleaved repeats; medians. CPU time is
``thread_time`` per batch, wall is ``perf_counter``.

Run: ``.venv/bin/python -m benchmarks.bench_keys [--keys 50 10000 100000 1000000] [--events N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import deque

import numpy as np
import pandas as pd

import rtnb

T0 = pd.Timestamp("2024-01-01")
WINDOW = pd.Timedelta("60s").value
LATENESS = pd.Timedelta("2s").value


def workload(n: int, keys: int, dtype: str, seed: int = 0) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ts = T0.value + np.arange(n, dtype=np.int64) * 100_000  # 10,000 events/s
    late = rng.random(n) < 0.01
    ts = ts - np.where(late, rng.integers(0, 2 * LATENESS, n), 0)
    names = np.array([f"k{i}" for i in range(keys)], dtype=object)
    codes = rng.integers(0, keys, n)
    col = (pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype="str"))
           if dtype == "category" else pd.array(names[codes], dtype="str"))
    df = pd.DataFrame({"ts": ts.view("datetime64[ns]"), "key": col, "value": rng.lognormal(3, 1, n).round(2)})
    return [df.iloc[i : i + 1000] for i in range(0, n, 1000)]


class Lean:
    """The reference: exact window, count/sum/mean per key, nothing else."""

    def __init__(self) -> None:
        self.index: dict = {}
        self.labels: list = []
        self.n = np.zeros(0, dtype=np.int64)
        self.s = np.zeros(0)
        self.chunks: deque = deque()  # (ts sorted, codes, values), one per batch
        self.wm = np.iinfo(np.int64).min

    def step(self, batch: pd.DataFrame) -> pd.DataFrame:
        ts = batch["ts"].to_numpy().view(np.int64)
        before = np.maximum(np.maximum.accumulate(np.r_[self.wm, ts[:-1]]), self.wm)
        ok = (before == np.iinfo(np.int64).min) | (ts >= before - LATENESS)
        ts = ts[ok]
        local, uniq = pd.factorize(batch["key"].to_numpy()[ok])
        lut = np.empty(len(uniq), dtype=np.int64)
        for i, u in enumerate(uniq):
            c = self.index.get(u)
            if c is None:
                c = self.index[u] = len(self.labels)
                self.labels.append(u)
            lut[i] = c
        codes = lut[local]
        if len(self.labels) > self.n.size:
            grow = max(len(self.labels), 2 * self.n.size) - self.n.size
            self.n, self.s = np.r_[self.n, np.zeros(grow, dtype=np.int64)], np.r_[self.s, np.zeros(grow)]
        vals = batch["value"].to_numpy()[ok]
        self.wm = max(self.wm, int(ts.max())) if ts.size else self.wm
        cutoff = self.wm - WINDOW
        keep = ts > cutoff
        self._add(codes[keep], vals[keep], +1)
        order = np.argsort(ts[keep], kind="stable")
        self.chunks.append((ts[keep][order], codes[keep][order], vals[keep][order]))
        # chunks are sorted inside; across chunks rows are at most 2 x lateness out of order
        for j, (t, c, v) in enumerate(self.chunks):
            if not t.size or t[0] > cutoff:
                if t.size and t[0] > cutoff + 2 * LATENESS:
                    break
                continue
            i = int(np.searchsorted(t, cutoff, side="right"))
            self._add(c[:i], v[:i], -1)
            self.chunks[j] = (t[i:], c[i:], v[i:])
        while self.chunks and not self.chunks[0][0].size:
            self.chunks.popleft()
        present = np.flatnonzero(self.n > 0)
        n = self.n[present]
        labels = np.array(self.labels, dtype=object)[present]
        return pd.DataFrame({"count": n, "sum": self.s[present], "mean": self.s[present] / n},
                            index=pd.Index(labels.tolist(), name="key"))

    def _add(self, codes, vals, sign) -> None:
        if codes.size:
            u, local = np.unique(codes, return_inverse=True)
            self.n[u] += sign * np.bincount(local, minlength=u.size)
            self.s[u] += sign * np.bincount(local, weights=vals, minlength=u.size)


class Rtnb:
    def __init__(self) -> None:
        self.agg = rtnb.Rolling("60s", by="key", value="value", aggs=("count", "sum", "mean"), lateness="2s")

    def step(self, batch: pd.DataFrame) -> pd.DataFrame:
        self.agg.update(batch)
        return self.agg.snapshot().table


def run(system, parts):
    sysm = system()
    cpu = np.empty(len(parts))
    gc.collect()
    t0 = time.perf_counter()
    for i, b in enumerate(parts):
        c = time.thread_time()
        out = sysm.step(b)
        cpu[i] = time.thread_time() - c
    return time.perf_counter() - t0, cpu, out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, nargs="*", default=[50, 10_000, 100_000, 1_000_000])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"events={args.events:,} per run, 1,000-row batches, 60 s exact window, count/sum/mean, "
          f"repeats={args.repeats} (medians); CPU = thread_time per batch, wall = perf_counter")
    print(f"{'keys':>9} {'dtype':9} {'rtnb ev/CPU-s':>14} {'lean ev/CPU-s':>14} {'rtnb/lean':>9} "
          f"{'rtnb ev/s':>10} {'lean ev/s':>10} {'rtnb p50/p99 ms':>16} {'lean p50/p99 ms':>16}  same")
    for k in args.keys:
        for dtype in ("str", "category"):
            parts = workload(args.events, k, dtype)
            res: dict[str, list] = {"rtnb": [], "lean": []}
            for _ in range(args.repeats):
                for name, system in (("rtnb", Rtnb), ("lean", Lean)):
                    res[name].append(run(system, parts))
            got, want = res["rtnb"][-1][2], res["lean"][-1][2]
            same = (got.sort_index()["count"].to_numpy().tolist() == want.sort_index()["count"].to_numpy().tolist()
                    and np.allclose(got.sort_index()["sum"], want.sort_index()["sum"], rtol=1e-9))
            row = {}
            for name, runs in res.items():
                cpu = np.median([r[1].sum() for r in runs])
                wall = np.median([r[0] for r in runs])
                p50 = np.median([np.percentile(r[1], 50) for r in runs]) * 1e3
                p99 = np.median([np.percentile(r[1], 99) for r in runs]) * 1e3
                row[name] = (args.events / cpu, args.events / wall, p50, p99)
            r, lean = row["rtnb"], row["lean"]
            print(f"{k:9,} {dtype:9} {r[0]:14,.0f} {lean[0]:14,.0f} {r[0] / lean[0]:9.2f} {r[1]:10,.0f} "
                  f"{lean[1]:10,.0f} {r[2]:7.2f}/{r[3]:<8.2f} {lean[2]:7.2f}/{lean[3]:<8.2f}  {'yes' if same else 'NO'}",
                  flush=True)


if __name__ == "__main__":
    main()
