"""Many keys: ``rtnb.Rolling`` against a lean single-purpose reference, same run, same rows.

Workload: 10,000 events/s of event time, 1,000-row batches, keys drawn uniformly from
K distinct keys (Arrow ``str`` or ``Categorical``), 1% of rows late by up to 2 s
(lateness 2 s), a 60 s exact window, count/sum/mean per key; after every batch
``update`` then a read of the answer:

- ``--read table``: the full per-key table (``snapshot().table``);
- ``--read top`` (default): the 10 keys with the largest sum (``snapshot().top(10, "sum")``),
  what a bar chart or a top-10 table shows; the snapshot is taken after every batch
  (as the pipeline does), its full table is never built.

The lean reference (:class:`Lean`) has the same semantics and nothing else: running
max for lateness, ``pd.factorize`` + a dict for key codes, ``bincount`` on the
batch's distinct keys, per-batch chunks sorted by time evicted from the front; its
read builds the table from arrays (``table``) or the top 10 by ``argpartition`` over
its sum array (``top``). Answers are checked equal on the last batch. *one-shot* is
the vectorised limit: one pass over all the events of a run, one answer (factorize +
bincount, :func:`benchmarks.peers.one_shot`), per event. rtnb and the reference are
interleaved batch by batch (each batch goes to both, who goes first alternates), so a
shared machine's load falls on both alike; repeats, medians. CPU time is
``thread_time`` per batch, wall is ``perf_counter`` summed over the batches.

``--churn P``: eviction instead — every key lives for P consecutive events and never
comes back (session ids, say), so keys whose window emptied pile up; ``rtnb.Rolling``
with eviction (the default) against the same with eviction off, same run: events/CPU-s,
p50/p99 per batch, the keys held at the end and the peak traced memory of the run
(``--kind bucketed``: the same with a 60 s window of 1 s buckets).

Run: ``.venv/bin/python -m benchmarks.bench_keys [--keys 50 1000 10000 100000 1000000]
[--events N] [--repeats R] [--read top|table] [--dtypes str category]``, or
``--churn 5 --events 1500000``, or ``--stages --keys 50 --dtypes str --events 100000``
(CPU per batch of each stage), or ``--floor --keys 50 --dtypes category`` (the least a
DataFrame in and out costs per batch, against the one-shot pass); ``--hold``: rtnb keeps
each snapshot until the next batch's, as a pipeline's store does (the window's count
and sum arrays are then copied before the next batch changes them).
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from collections import deque

import numpy as np
import pandas as pd

import rtnb

from . import peers

T0 = pd.Timestamp("2024-01-01")
WINDOW = pd.Timedelta("60s").value
LATENESS = pd.Timedelta("2s").value
TOP = 10


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

    def __init__(self, read: str = "table") -> None:
        self.read = read
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
        if self.read == "top":  # the 10 largest sums (ties: the lower code first)
            s = self.s[present]
            k = min(TOP, present.size)
            part = np.argpartition(-s, k - 1)[:k] if 0 < k < present.size else np.arange(present.size)
            part = part[np.lexsort((part, -s[part]))]
            present = present[part]
        n = self.n[present]
        labels = [self.labels[i] for i in present.tolist()]
        return pd.DataFrame({"count": n, "sum": self.s[present], "mean": self.s[present] / n},
                            index=pd.Index(labels, name="key"))

    def _add(self, codes, vals, sign) -> None:
        if codes.size:
            u, local = np.unique(codes, return_inverse=True)
            self.n[u] += sign * np.bincount(local, minlength=u.size)
            self.s[u] += sign * np.bincount(local, weights=vals, minlength=u.size)


class Rtnb:
    hold = False  # keep the last snapshot until the next one (as a pipeline's store does)

    def __init__(self, read: str = "table") -> None:
        self.read = read
        self.agg = rtnb.Rolling("60s", by="key", value="value", aggs=("count", "sum", "mean"), lateness="2s")
        self.last = None

    def step(self, batch: pd.DataFrame) -> pd.DataFrame:
        self.agg.update(batch)
        snap = self.agg.snapshot()
        if self.hold:
            self.last = snap
        return snap.top(TOP, by="sum") if self.read == "top" else snap.table


def run(system, parts, read):
    sysm = system(read)
    cpu = np.empty(len(parts))
    gc.collect()
    t0 = time.perf_counter()
    for i, b in enumerate(parts):
        c = time.thread_time()
        out = sysm.step(b)
        cpu[i] = time.thread_time() - c
    return time.perf_counter() - t0, cpu, out


def run_interleaved(systems: dict, parts, read) -> dict:
    """Every system fed the same batches in turn, batch by batch (who goes first
    alternates): on a shared machine both see the same load. Returns per system
    ``(wall seconds, CPU seconds per batch, last answer)``."""
    made = {name: system(read) for name, system in systems.items()}
    names = list(made)
    cpu = {name: np.empty(len(parts)) for name in names}
    wall = dict.fromkeys(names, 0.0)
    out: dict = {}
    gc.collect()
    for i, b in enumerate(parts):
        for name in (names if i % 2 == 0 else names[::-1]):
            w, c = time.perf_counter(), time.thread_time()
            out[name] = made[name].step(b)
            cpu[name][i] = time.thread_time() - c
            wall[name] += time.perf_counter() - w
    return {name: (wall[name], cpu[name], out[name]) for name in names}


def one_shot_cpu(parts) -> float:
    """CPU seconds of the vectorised one-shot pass over all the run's events."""
    events = pd.concat(parts)
    events = events.assign(key=np.asarray(events["key"], dtype=object))
    gc.collect()
    c = time.thread_time()
    peers.one_shot(events, "60s")
    return time.thread_time() - c


def same_answer(got: pd.DataFrame, want: pd.DataFrame, read: str) -> bool:
    if read == "table":
        got, want = got.sort_index(), want.sort_index()
    return (got.index.astype(object).tolist() == want.index.astype(object).tolist()
            and got["count"].tolist() == want["count"].tolist()
            and bool(np.allclose(got["sum"], want["sum"], rtol=1e-9)))


def churn(events: int, per_key: int, repeats: int, kind: str = "exact") -> None:
    import tracemalloc

    rng = np.random.default_rng(0)
    ts = T0.value + np.arange(events, dtype=np.int64) * 100_000
    names = pd.array([f"s{i}" for i in range(events // per_key + 1)], dtype="str")
    df = pd.DataFrame({"ts": ts.view("datetime64[ns]"), "key": names[np.arange(events) // per_key],
                       "value": rng.lognormal(3, 1, events).round(2)})
    parts = [df.iloc[i : i + 1000] for i in range(0, events, 1000)]
    print(f"churn: events={events:,}, each key {per_key} consecutive events then never again "
          f"({events // per_key:,} keys in all, {600_000 // per_key:,} live in a full 60 s window); "
          f"read=top; kind={kind}{' (1 s buckets)' if kind == 'bucketed' else ''}; repeats={repeats} (medians); "
          f"CPU = thread_time per batch; load average {os.getloadavg()[0]:.1f}")
    print(f"{'eviction':9} {'ev/CPU-s':>10} {'p50/p99 ms':>14} {'keys held':>10} {'peak MB':>8}")
    res: dict[str, list] = {"on": [], "off": []}
    for _ in range(repeats):
        for mode in ("on", "off"):
            sysm = Rtnb("top")
            if kind != "exact":
                sysm.agg = rtnb.Rolling("60s", by="key", value="value", aggs=("count", "sum", "mean"),
                                        lateness="2s", kind=kind, resolution="1s")
            if mode == "off":
                sysm.agg._evict_min = sysm.agg._evict_at = 1 << 62
            cpu = np.empty(len(parts))
            gc.collect()
            tracemalloc.start()
            for i, b in enumerate(parts):
                c = time.thread_time()
                sysm.step(b)
                cpu[i] = time.thread_time() - c
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            res[mode].append((cpu, len(sysm.agg._keys), peak))
    for mode, runs in res.items():
        rate = events / np.median([r[0].sum() for r in runs])
        p50 = np.median([np.percentile(r[0], 50) for r in runs]) * 1e3
        p99 = np.median([np.percentile(r[0], 99) for r in runs]) * 1e3
        print(f"{mode:9} {rate:10,.0f} {p50:6.2f}/{p99:<7.2f} {runs[-1][1]:10,} {np.median([r[2] for r in runs]):8.1f}")


def stages(events: int, keys: int, dtype: str) -> None:
    """CPU per batch of each stage of ``Rolling.update`` + snapshot + top 10 (second half of the run)."""
    from rtnb.pipeline._input import check_zone, decode

    parts = workload(events, keys, dtype)
    agg = Rtnb("top").agg
    spent: dict[str, float] = {}
    warm = len(parts) // 2
    for i, b in enumerate(parts):
        if i == warm:
            spent.clear()
        marks = [time.thread_time()]

        def mark(name: str) -> None:
            marks.append(time.thread_time())
            spent[name] = spent.get(name, 0.0) + marks[-1] - marks[-2]

        d = decode(b, agg.config)
        ts, vals, keycols, ids = d.ts, d.vals, d.keycols, d.ids
        mark("input decoding")
        check_zone(agg._zone, d.zone, "ts")
        agg._zone = d.zone
        mark("time zone check")
        codes = agg._keys.codes(keycols, ts.size)
        agg._engine.grow(len(agg._keys))
        mark("key codes")
        v = agg._arrivals.admit(ts, ids)
        mark("watermark")
        if v.late.any():
            agg._late.add_rows(b, np.flatnonzero(v.late))
        mark("late rows kept")
        if not v.accepted.all():
            idx = np.flatnonzero(v.accepted)
            ts, vals, codes = ts[idx], vals[idx], codes[idx]
        agg._engine.insert(ts, codes, vals, agg._arrivals.newest)
        if len(agg._keys) >= agg._evict_at:
            agg._evict()
        mark("window insert")
        snap = agg.snapshot()
        mark("snapshot")
        snap.top(TOP, by="sum")
        mark("top 10")
    n = len(parts) - warm
    print(f"stages, {keys:,} {dtype} keys, events={events:,}, ms CPU per batch (thread_time, second half):")
    for name, t in spent.items():
        print(f"  {name:16} {t / n * 1e3:7.3f}")
    print(f"  {'total':16} {sum(spent.values()) / n * 1e3:7.3f}")


def floor(events: int, keys: int, dtype: str, repeats: int) -> None:
    """What a DataFrame in and a DataFrame out cost per batch at the least, against the
    one-shot pass: per batch only the unavoidable pandas/Arrow steps (read 3 columns,
    code the keys, add per-key sums with bincount, build the 10-row top frame), no
    window, no late rows, no watermark. Interleaved with rtnb batch by batch; medians."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from rtnb.pipeline.keys import _STR_MAKE

    parts = workload(events, keys, dtype)
    index: dict = {}
    labels: list = []
    n = np.zeros(keys, dtype=np.int64)
    s = np.zeros(keys)

    def minimal(b: pd.DataFrame) -> pd.DataFrame:
        mgr = b._mgr
        ts = mgr.iget_values(0).asi8
        col = mgr.iget_values(1)
        vals = mgr.iget_values(2)
        if isinstance(col, pd.Categorical):
            local, uniq = col.codes.astype(np.int64), col.categories.to_numpy(dtype=object)
        else:
            enc = pc.dictionary_encode(col._pa_array.chunk(0))
            local, uniq = enc.indices.to_numpy(zero_copy_only=False), enc.dictionary.to_pylist()
        lut = np.fromiter((index.setdefault(u, len(index)) for u in uniq), dtype=np.int64, count=len(uniq))
        while len(labels) < len(index):
            labels.append(None)
        for u, c in zip(uniq, lut.tolist()):
            labels[c] = u
        codes = lut[local]
        n[: lut.size and codes.max() + 1] += np.bincount(codes)
        s[: lut.size and codes.max() + 1] += np.bincount(codes, weights=vals)
        top = np.argpartition(-s, TOP - 1)[:TOP] if s.size > TOP else np.arange(s.size)
        top = top[np.argsort(-s[top], kind="stable")]
        lab = [labels[i] for i in top.tolist()]
        idx = _STR_MAKE(lab, "key") if _STR_MAKE is not None else pd.Index(lab, name="key")
        del ts
        return frame_of([n[top], s[top], s[top] / n[top]], idx, pd.Index(["count", "sum", "mean"]))

    class Minimal:
        def __init__(self, read: str) -> None:
            pass

        step = staticmethod(minimal)

    from rtnb._keytable import frame_of

    got: dict[str, list] = {"rtnb": [], "minimal": []}
    shots = []
    for _ in range(repeats):
        index.clear(), labels.clear(), n.fill(0), s.fill(0)
        for name, r in run_interleaved({"rtnb": Rtnb, "minimal": Minimal}, parts, "top").items():
            got[name].append(np.median(r[1]))
        shots.append(one_shot_cpu(parts))
    shot = np.median(shots) / len(parts)
    print(f"floor, {keys:,} {dtype} keys, events={events:,}: ms CPU per 1,000-row batch (medians of {repeats}; "
          f"load average {os.getloadavg()[0]:.1f}):")
    print(f"  one-shot pass, per 1,000 events     {shot * 1e3:7.3f}")
    print(f"  half its speed allows               {2 * shot * 1e3:7.3f}")
    print(f"  minimal DataFrame in / out          {np.median(got['minimal']) * 1e3:7.3f}")
    print(f"  rtnb update + snapshot + top(10)    {np.median(got['rtnb']) * 1e3:7.3f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, nargs="*", default=[50, 1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--read", choices=("top", "table"), default="top")
    ap.add_argument("--dtypes", nargs="*", choices=("str", "category"), default=["str", "category"])
    ap.add_argument("--churn", type=int, default=0, help="keys live this many events (eviction benchmark)")
    ap.add_argument("--kind", choices=("exact", "bucketed"), default="exact", help="window kind of --churn")
    ap.add_argument("--stages", action="store_true", help="CPU per stage of a batch (first --keys, --dtypes)")
    ap.add_argument("--floor", action="store_true", help="the least a DataFrame in/out costs vs the one-shot pass")
    ap.add_argument("--hold", action="store_true",
                    help="rtnb keeps each snapshot until the next batch's (as a store does)")
    args = ap.parse_args(argv)
    Rtnb.hold = args.hold
    if args.floor:
        floor(args.events, args.keys[0], args.dtypes[0], args.repeats)
        return
    if args.stages:
        stages(args.events, args.keys[0], args.dtypes[0])
        return
    if args.churn:
        churn(args.events, args.churn, args.repeats, args.kind)
        return
    print(f"events={args.events:,} per run, 1,000-row batches, 60 s exact window, count/sum/mean, "
          f"read={args.read}{', snapshot held' if args.hold else ''}, repeats={args.repeats} (medians); "
          f"CPU = thread_time per batch, wall = perf_counter; load average {os.getloadavg()[0]:.1f}")
    print(f"{'keys':>9} {'dtype':9} {'rtnb ev/CPU-s':>14} {'lean ev/CPU-s':>14} {'rtnb/lean':>9} "
          f"{'1-shot ev/CPU-s':>15} {'rtnb/1-shot':>11} {'rtnb ev/s':>10} {'lean ev/s':>10} "
          f"{'rtnb p50/p99 ms':>16} {'lean p50/p99 ms':>16}  same")
    for k in args.keys:
        for dtype in args.dtypes:
            parts = workload(args.events, k, dtype)
            res: dict[str, list] = {"rtnb": [], "lean": []}
            shots = []
            for _ in range(args.repeats):
                for name, r in run_interleaved({"rtnb": Rtnb, "lean": Lean}, parts, args.read).items():
                    res[name].append(r)
                shots.append(one_shot_cpu(parts))
            same = same_answer(res["rtnb"][-1][2], res["lean"][-1][2], args.read)
            row = {}
            for name, runs in res.items():
                cpu = np.median([r[1].sum() for r in runs])
                wall = np.median([r[0] for r in runs])
                p50 = np.median([np.percentile(r[1], 50) for r in runs]) * 1e3
                p99 = np.median([np.percentile(r[1], 99) for r in runs]) * 1e3
                row[name] = (args.events / cpu, args.events / wall, p50, p99)
            r, lean = row["rtnb"], row["lean"]
            shot = args.events / np.median(shots)
            print(f"{k:9,} {dtype:9} {r[0]:14,.0f} {lean[0]:14,.0f} {r[0] / lean[0]:9.2f} {shot:15,.0f} "
                  f"{r[0] / shot:11.2f} {r[1]:10,.0f} {lean[1]:10,.0f} {r[2]:7.2f}/{r[3]:<8.2f} "
                  f"{lean[2]:7.2f}/{lean[3]:<8.2f}  {'yes' if same else 'NO'}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
