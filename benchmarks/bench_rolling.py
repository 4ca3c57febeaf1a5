"""``rtnb.Rolling`` alone: throughput, per-batch latency and state size, by window kind.

Workload (issue 3, from ``benchmarks.peers``): 50 keys with Zipf skew, 10,000 events/s
of event time, 5% out of order by up to 2 s, batches of 1,000 rows, count/sum/mean per
key, ``update(batch)`` then ``snapshot()`` after every batch. Every variant is checked
against the pandas/numpy oracle of ``benchmarks.peers`` on a sample of batches.

Run: ``.venv/bin/python -m benchmarks.bench_rolling [--events N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np
import pandas as pd

import rtnb
from benchmarks import peers

ALL = ("count", "sum", "mean", "std", "min", "max", "p50", "p90", "p95", "p99")


def make(window: str, kind: str = "exact", resolution: str | None = None, aggs=tuple(peers.COLUMNS)):
    def build():
        return rtnb.Rolling(window, by="key", value="value", aggs=aggs, lateness=peers.LATENESS,
                            kind=kind, resolution=resolution)
    return build


def run(build, parts: list[pd.DataFrame]):
    agg = build()
    lat = np.empty(len(parts))
    cpu = np.empty(len(parts))
    clock, tclock = time.perf_counter, time.thread_time
    gc.collect()
    t0, c0 = clock(), time.process_time()
    for i, b in enumerate(parts):
        s, sc = clock(), tclock()
        agg.update(b)
        agg.snapshot()
        lat[i] = clock() - s
        cpu[i] = tclock() - sc
    return clock() - t0, lat, time.process_time() - c0, cpu


def state_bytes(build, parts: list[pd.DataFrame]) -> int:
    """Bytes the aggregator holds after the run: what tracemalloc sees freed when it is
    dropped (so pandas' caches on the input batches, which outlive it, are excluded)."""
    gc.collect()
    tracemalloc.start()
    agg = build()
    for b in parts:
        agg.update(b)
    gc.collect()
    before, _ = tracemalloc.get_traced_memory()
    del agg
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return before - after


def check(build, parts, oracle, window, kind, resolution) -> str:
    agg = build()
    sample = set(range(0, len(parts), max(1, len(parts) // 20))) | {len(parts) - 1}
    for i, b in enumerate(parts):
        agg.update(b)
        if i in sample:
            got = agg.snapshot().table[peers.COLUMNS]
            want = oracle.answer(i, pd.Timedelta(window), kind,
                                 pd.Timedelta(resolution) if resolution else None)
            why = peers.disagreement(got, want)
            if why:
                return f"WRONG after batch {i}: {why}"
    return "ok"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    events = peers.workload(args.events)
    parts = peers.batches(events)
    oracle = peers.Oracle(events)
    variants = [
        ("exact 60s", "60s", "exact", None, tuple(peers.COLUMNS)),
        ("bucketed 60s @1s", "60s", "bucketed", "1s", tuple(peers.COLUMNS)),
        ("bucketed 1h @1s", "1h", "bucketed", "1s", tuple(peers.COLUMNS)),
        ("exact 60s, 10 aggs", "60s", "exact", None, ALL),
        ("bucketed 60s @1s, 10 aggs", "60s", "bucketed", "1s", ALL),
    ]
    rows = []
    per_variant: dict[str, list] = {v[0]: [] for v in variants}
    for _ in range(args.repeats):  # interleaved repeats: ratios are side by side
        for name, window, kind, res, aggs in variants:
            per_variant[name].append(run(make(window, kind, res, aggs), parts))
    for name, window, kind, res, aggs in variants:
        runs = per_variant[name]
        tot = float(np.median([r[0] for r in runs]))
        cpu = float(np.median([r[2] for r in runs]))
        p50 = float(np.median([np.percentile(r[1], 50) for r in runs])) * 1e6
        p99 = float(np.median([np.percentile(r[1], 99) for r in runs])) * 1e6
        c50 = float(np.median([np.percentile(r[3], 50) for r in runs])) * 1e6
        c99 = float(np.median([np.percentile(r[3], 99) for r in runs])) * 1e6
        verdict = check(make(window, kind, res, tuple(peers.COLUMNS)), parts, oracle, window, kind, res)
        mem = state_bytes(make(window, kind, res, aggs), parts)
        rows.append((name, len(events) / tot, len(events) / cpu, p50, p99, c50, c99, mem / 1e6, verdict))
    print(f"events={len(events):,} batches={len(parts):,} repeats={args.repeats} (medians)")
    print("per-batch latency = update + snapshot; wall (perf_counter) and CPU (thread_time)")
    print(f"{'variant':28} {'events/s':>11} {'ev/CPU-s':>11} {'p50 µs':>7} {'p99 µs':>7} "
          f"{'p50 cpu':>7} {'p99 cpu':>7} {'state MB':>9}  answers")
    for name, eps, eps_cpu, p50, p99, c50, c99, mb, verdict in rows:
        print(f"{name:28} {eps:11,.0f} {eps_cpu:11,.0f} {p50:7.0f} {p99:7.0f} {c50:7.0f} {c99:7.0f} "
              f"{mb:9.2f}  {verdict}")
    b60 = np.array([np.median(r[3]) for r in per_variant["bucketed 60s @1s"]])
    b1h = np.array([np.median(r[3]) for r in per_variant["bucketed 1h @1s"]])
    pooled = (np.median(np.concatenate([r[3] for r in per_variant["bucketed 1h @1s"]]))
              / np.median(np.concatenate([r[3] for r in per_variant["bucketed 60s @1s"]])))
    print(f"bucketed per-batch CPU cost, 1h / 60s window: per-repeat ratios "
          f"{', '.join(f'{x:.2f}' for x in b1h / b60)}; pooled medians {pooled:.2f}")
    # memory against the event rate: same event-time span, 1x and 5x the rate
    span_s = 60
    print("bucketed 60s @1s state after 60 s of event time, by event rate:")
    for rate in (10_000, 50_000):
        ev = peers.workload(span_s * rate, seed=1, rate=rate)
        mem = state_bytes(make("60s", "bucketed", "1s"), peers.batches(ev))
        mem_x = state_bytes(make("60s", "exact"), peers.batches(ev))
        print(f"  {rate:>6,} ev/s: bucketed {mem / 1e6:6.3f} MB   exact {mem_x / 1e6:7.3f} MB")


if __name__ == "__main__":
    main()
