"""Bucketed windows: state memory, throughput and quantiles against the number of keys.

Three measurements of ``rtnb.Rolling(kind="bucketed")``, each printed as a table:

- **memory**: a 1 h window at 1 s resolution filled for ``--fill`` seconds of event
  time (default 3,700 s: the whole hour and 100 s of expiry) at each of ``--rates`` events/s
  over K keys (uniform), count/sum/mean (``--rates``). Reported: the bytes of numpy arrays the
  engine holds (walked from the engine object), the bucket/key groups that have rows,
  and — with ``--traced`` — the tracemalloc peak and the traced bytes left at the end
  of a run (tracemalloc slows the run; it is a separate run).
- **throughput**: 10,000 events/s of event time, 1,000-row batches, K keys (uniform,
  Arrow ``str``), 1% of rows late by up to 2 s (lateness 2 s), a bucketed window
  (``--window``, 1 s resolution), count/sum/mean; after every batch ``update`` then the
  table (``agg.value``). ev/CPU-s (``thread_time``) and per-batch p50/p99 CPU ms.
- **quantiles**: the same at ``--qkeys`` keys with count/sum/mean/p50/p99 over a 1 h
  window at 1 s.
- **minmax**: count/min/max over a 1 h window at 1 s, ``--qkeys`` keys, the memory
  run's stream (``--fill`` s at the first of ``--rates``, ``--batch``-row batches):
  buckets leave every batch once the hour is full, and with them keys' extremes.

Run from a tree: ``PYTHONPATH=<tree> .venv/bin/python -m benchmarks.bench_buckets``
(``--part memory throughput quantiles``, ``--keys``, ``--events``, ``--repeats``). To
compare two trees in one run, run the same command with each tree on ``PYTHONPATH``,
interleaved (the figures in RESULTS.md were taken that way).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np
import pandas as pd

import rtnb

T0 = pd.Timestamp("2024-01-01")


def held_bytes(obj, seen: set | None = None) -> int:
    """Bytes of the numpy arrays reachable from ``obj`` (attributes, lists, dicts, tuples)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        if base is not obj:
            return held_bytes(base, seen)
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(held_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple, set, frozenset)) or type(obj).__name__ == "deque":
        return sum(held_bytes(v, seen) for v in obj)
    if not type(obj).__module__.startswith("rtnb"):
        return 0
    total = held_bytes(getattr(obj, "__dict__", {}), seen)
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            total += held_bytes(getattr(obj, name, None), seen)
    return total


def memory_batches(keys: int, rate: int, seconds: int, batch: int, seed: int = 0):
    """Batches of ``batch`` rows covering ``seconds`` of event time at ``rate`` ev/s."""
    rng = np.random.default_rng(seed)
    names = pd.array([f"k{i}" for i in range(keys)], dtype="str")
    n = rate * seconds
    step = 1_000_000_000 // rate
    for i in range(0, n, batch):
        m = min(batch, n - i)
        ts = T0.value + (i + np.arange(m, dtype=np.int64)) * step
        yield pd.DataFrame({"ts": ts.view("datetime64[ns]"), "key": names[rng.integers(0, keys, m)],
                            "value": rng.lognormal(3, 1, m).round(2)})


def groups_of(engine) -> int:
    return int(engine.groups()[0].size)


def part_memory(args) -> None:
    print(f"\nmemory: 1 h window @ 1 s, {args.fill} s of event time, {args.batch}-row batches, count/sum/mean")
    print(f"{'keys':>7} {'ev/s':>7} {'groups':>11} {'state MB':>9} {'B/group':>8} {'traced end MB':>14} "
          f"{'peak MB':>8} {'feed CPU s':>10}")
    for k, rate in [(k, r) for k in args.keys_memory for r in args.rates]:
        for traced in ((False, True) if args.traced else (False,)):
            agg = rtnb.Rolling("1h", by="key", value="value", aggs=("count", "sum", "mean"),
                               kind="bucketed", resolution="1s")
            gc.collect()
            if traced:
                tracemalloc.start()
                base = tracemalloc.get_traced_memory()[0]
            c = time.process_time()
            for b in memory_batches(k, rate, args.fill, args.batch):
                agg.update(b)
            cpu = time.process_time() - c
            gc.collect()
            if traced:
                cur, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                print(f"{k:7,} {rate:7,} {'':>11} {'':>9} {'':>8} {(cur - base) / 1e6:14.1f} {(peak - base) / 1e6:8.1f} "
                      f"{cpu:10.1f}", flush=True)
            else:
                eng = agg._engine
                nb = held_bytes(eng)
                g = groups_of(eng)
                print(f"{k:7,} {rate:7,} {g:11,} {nb / 1e6:9.1f} {nb / max(g, 1):8.1f} {'':>14} {'':>8} {cpu:10.1f}",
                      flush=True)
            del agg
            gc.collect()


def tp_batches(n: int, keys: int, seed: int = 0) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    lateness = pd.Timedelta("2s").value
    ts = T0.value + np.arange(n, dtype=np.int64) * 100_000  # 10,000 events/s
    late = rng.random(n) < 0.01
    ts = ts - np.where(late, rng.integers(0, 2 * lateness, n), 0)
    names = np.array([f"k{i}" for i in range(keys)], dtype=object)
    col = pd.array(names[rng.integers(0, keys, n)], dtype="str")
    df = pd.DataFrame({"ts": ts.view("datetime64[ns]"), "key": col, "value": rng.lognormal(3, 1, n).round(2)})
    return [df.iloc[i : i + 1000] for i in range(0, n, 1000)]


def run(make, parts):
    agg = make()
    cpu = np.empty(len(parts))
    gc.collect()
    for i, b in enumerate(parts):
        c = time.thread_time()
        agg.update(b)
        out = agg.value
        cpu[i] = time.thread_time() - c
    return cpu, out


def _table(label, n, runs) -> str:
    tot = np.median([r[0].sum() for r in runs])
    p50 = np.median([np.percentile(r[0], 50) for r in runs]) * 1e3
    p99 = np.median([np.percentile(r[0], 99) for r in runs]) * 1e3
    return f"{label} {n / tot:12,.0f} {p50:8.2f} {p99:8.2f}"


def part_throughput(args) -> None:
    print(f"\nthroughput: bucketed {args.window} @ 1 s, 10,000 ev/s of event time, 1,000-row batches, "
          f"count/sum/mean, update + table per batch; CPU (thread_time), medians of {args.repeats}")
    print(f"{'keys':>9} {'events':>9} {'ev/CPU-s':>12} {'p50 ms':>8} {'p99 ms':>8}")
    for k in args.keys:
        n = args.events if k < 100_000 else args.events_big
        parts = tp_batches(n, k)
        runs = [run(lambda: rtnb.Rolling(args.window, by="key", value="value", aggs=("count", "sum", "mean"),
                                         kind="bucketed", resolution="1s", lateness="2s"), parts)
                for _ in range(args.repeats)]
        print(_table(f"{k:9,} {n:9,}", n, runs), flush=True)


def part_quantiles(args) -> None:
    print(f"\nquantiles: bucketed 1 h @ 1 s, {args.qkeys:,} keys, count/sum/mean/p50/p99, "
          f"10,000 ev/s of event time, 1,000-row batches, update + table per batch; CPU, medians of {args.repeats}")
    print(f"{'keys':>9} {'events':>9} {'ev/CPU-s':>12} {'p50 ms':>8} {'p99 ms':>8}")
    parts = tp_batches(args.qevents, args.qkeys, seed=1)
    runs = [run(lambda: rtnb.Rolling("1h", by="key", value="value", aggs=("count", "sum", "mean", "p50", "p99"),
                                     kind="bucketed", resolution="1s", lateness="2s"), parts)
            for _ in range(args.repeats)]
    print(_table(f"{args.qkeys:9,} {args.qevents:9,}", args.qevents, runs), flush=True)


def part_minmax(args) -> None:
    k = args.qkeys
    print(f"\nminmax: bucketed 1 h @ 1 s, {k:,} keys, count/min/max, {args.fill} s of event time at "
          f"{args.rates[0]:,} ev/s, {args.batch}-row batches, update + table per batch; CPU, medians of {args.repeats}")
    print(f"{'keys':>9} {'events':>9} {'ev/CPU-s':>12} {'p50 ms':>8} {'p99 ms':>8}")
    parts = list(memory_batches(k, args.rates[0], args.fill, args.batch, seed=2))
    n = sum(len(p) for p in parts)
    runs = [run(lambda: rtnb.Rolling("1h", by="key", value="value", aggs=("count", "min", "max"),
                                     kind="bucketed", resolution="1s"), parts)
            for _ in range(args.repeats)]
    print(_table(f"{k:9,} {n:9,}", n, runs), flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", nargs="*", default=["memory", "throughput", "quantiles", "minmax"],
                    choices=["memory", "throughput", "quantiles", "minmax"])
    ap.add_argument("--keys", type=int, nargs="*", default=[50, 10_000, 100_000])
    ap.add_argument("--keys-memory", type=int, nargs="*", default=[1_000, 10_000])
    ap.add_argument("--rates", type=int, nargs="*", default=[1_000], help="memory run: events/s of event time")
    ap.add_argument("--fill", type=int, default=3_700, help="memory run: seconds of event time")
    ap.add_argument("--batch", type=int, default=10_000, help="memory run: rows per batch")
    ap.add_argument("--traced", action="store_true", help="memory run: also a tracemalloc run")
    ap.add_argument("--window", default="10s", help="throughput run: the window (10 s: most of a run has buckets leaving)")
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--events-big", type=int, default=100_000, help="events at >= 100,000 keys")
    ap.add_argument("--qkeys", type=int, default=10_000)
    ap.add_argument("--qevents", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    print(f"rtnb from {rtnb.__file__}")
    for p in args.part:
        {"memory": part_memory, "throughput": part_throughput, "quantiles": part_quantiles,
         "minmax": part_minmax}[p](args)


if __name__ == "__main__":
    main()
