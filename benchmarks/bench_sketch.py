"""Window quantile sketches: memory and the cost of quantiles at many keys (issue 13).

- **memory**: a 1 h window at 1 s resolution filled with ``--fill`` seconds of event
  time at ``--rate`` ev/s over ``--keys`` keys (lognormal values), count/p50/p99:
  bytes held by the window's per-key sketches (``held_bytes`` of the engine's
  ``RowSketch``) and the CPU time to feed it.
- **throughput**: 1 h bucketed @ 1 s, count/sum/mean/p50/p99, 10,000 ev/s of event time,
  1,000-row batches at ``--keys`` keys: CPU (``thread_time``) of update + snapshot + a
  read per batch — ``table`` (every key's quantiles) or ``top`` (``snap.top(10, "count")``).

Run it on two trees to compare (same machine, interleaved)::

    PYTHONPATH=<tree> python -m benchmarks.bench_sketch --part memory throughput
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np
import pandas as pd

import rtnb

from .bench_buckets import held_bytes, memory_batches, tp_batches

AGGS = ("count", "sum", "mean", "p50", "p99")


def part_memory(args) -> None:
    print(f"\nmemory: 1 h @ 1 s, {args.fill} s of event time at {args.rate:,} ev/s, count/p50/p99")
    print(f"{'keys':>7} {'sketch MB':>10} {'feed CPU s':>10}")
    for k in args.keys:
        agg = rtnb.Rolling("1h", by="key", value="value", aggs=("count", "p50", "p99"),
                           kind="bucketed", resolution="1s")
        c = time.process_time()
        for b in memory_batches(k, args.rate, args.fill, args.batch):
            agg.update(b)
        agg.value  # one read: quantiles computed
        cpu = time.process_time() - c
        nb = held_bytes(agg._engine.sketch)
        print(f"{k:7,} {nb / 1e6:10.1f} {cpu:10.1f}", flush=True)
        del agg
        gc.collect()


def _run(parts, read: str) -> np.ndarray:
    agg = rtnb.Rolling("1h", by="key", value="value", aggs=AGGS, kind="bucketed", resolution="1s", lateness="2s")
    cpu = np.empty(len(parts))
    gc.collect()
    for i, b in enumerate(parts):
        c = time.thread_time()
        agg.update(b)
        snap = agg.snapshot()
        if read == "table":
            snap.table
        else:
            snap.top(10, "count")
        cpu[i] = time.thread_time() - c
    return cpu


def part_throughput(args) -> None:
    print(f"\nthroughput: bucketed 1 h @ 1 s, count/sum/mean/p50/p99, 10,000 ev/s of event time, "
          f"1,000-row batches, update + snapshot + read; CPU (thread_time), medians of {args.repeats}")
    print(f"{'keys':>7} {'read':>6} {'events':>8} {'ev/CPU-s':>10} {'p50 ms':>7} {'p99 ms':>7}")
    for k in args.keys:
        parts = tp_batches(args.events, k, seed=1)
        for read in args.reads:
            runs = [_run(parts, read) for _ in range(args.repeats)]
            tot = np.median([r.sum() for r in runs])
            p50 = np.median([np.percentile(r, 50) for r in runs]) * 1e3
            p99 = np.median([np.percentile(r, 99) for r in runs]) * 1e3
            print(f"{k:7,} {read:>6} {args.events:8,} {args.events / tot:10,.0f} {p50:7.2f} {p99:7.2f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", nargs="*", default=["memory", "throughput"], choices=["memory", "throughput"])
    ap.add_argument("--keys", type=int, nargs="*", default=[10_000])
    ap.add_argument("--rate", type=int, default=1_000, help="memory run: events/s of event time")
    ap.add_argument("--fill", type=int, default=3_700, help="memory run: seconds of event time")
    ap.add_argument("--batch", type=int, default=10_000, help="memory run: rows per batch")
    ap.add_argument("--events", type=int, default=100_000, help="throughput run: events")
    ap.add_argument("--reads", nargs="*", default=["table", "top"], choices=["table", "top"])
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args(argv)
    for p in args.part:
        {"memory": part_memory, "throughput": part_throughput}[p](args)


if __name__ == "__main__":
    main()
