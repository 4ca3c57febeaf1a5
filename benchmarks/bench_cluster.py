"""Scale-out: one process against a Dask LocalCluster, same events, same run.

Run: ``.venv/bin/python -m benchmarks.bench_cluster`` (``--quick`` for a smoke run).

Rows: ``rtnb.Rolling`` in this process, and ``rtnb.cluster.DaskRolling`` on a
``LocalCluster`` of 1 and 2 worker processes (1 thread each), with 1, 2 or 4
partitions per worker, over batch sizes and key counts. Each row feeds the same
events and takes a snapshot every batch (what a pipeline does). Reported: events/s of
wall time (the cluster's work is in other processes, so the driver's CPU time would
flatter it), the driver's CPU seconds per batch, the per-batch overhead of the cluster
path (wall time per batch of a 1-row batch), bytes of one partition's state and the
merge (concatenation) cost per key. Medians over repeats; ratios against one process
in the same run.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2024-01-01").value


def events(n: int, keys: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = T0 + np.sort(rng.integers(0, n * 1_000_000, n))  # 1,000 events/s of event time
    k = rng.zipf(1.3, n) % keys
    return pd.DataFrame({"ts": pd.to_datetime(ts, unit="ns"),
                         "key": pd.Categorical.from_codes(k, [f"k{i}" for i in range(keys)]),
                         "v": rng.gamma(2.0, 10.0, n)})


def run(agg, frames) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    for f in frames:
        agg.update(f)
        agg.snapshot()
    return time.perf_counter() - t, time.process_time() - c


def main(argv: list[str] | None = None) -> None:
    import distributed

    import rtnb
    from rtnb.cluster import DaskRolling

    p = argparse.ArgumentParser(prog="bench_cluster")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--events", type=int, default=None, help="events per row (default 300,000)")
    p.add_argument("--keys", type=int, nargs="*", default=None, help="key counts (default 50 10000 100000)")
    p.add_argument("--batches", type=int, nargs="*", default=None, help="batch sizes (default 1000 30000)")
    args = p.parse_args(argv or [])
    n_events = args.events or (100_000 if args.quick else 300_000)
    batch_sizes = tuple(args.batches or ((10_000,) if args.quick else (1_000, 30_000)))
    key_counts = tuple(args.keys or ((50,) if args.quick else (50, 10_000, 100_000)))
    options = dict(window="60s", by="key", value="v", aggs=("count", "sum", "mean", "p95"), lateness="1s")
    clusters = {}
    for workers in (1, 2):
        lc = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None)
        clusters[workers] = (lc, distributed.Client(lc))
    print(f"{'keys':>7} {'batch':>7} {'system':<24} {'ev/s wall':>11} {'x 1 proc':>8} {'driver CPU ms/batch':>20}")
    try:
        for keys in key_counts:
            data = events(n_events, keys)
            for bs in batch_sizes:
                frames = [data.iloc[i:i + bs] for i in range(0, len(data), bs)]
                rows: dict[str, list[tuple[float, float]]] = {}
                for _ in range(args.repeats):
                    rows.setdefault("1 process", []).append(run(rtnb.Rolling(**options), frames))
                    for workers, (_, client) in clusters.items():
                        for per in (1, 2) if workers == 2 else (1,):
                            name = f"dask {workers}w x {per} part"
                            with DaskRolling(client=client, partitions=workers * per, **options) as dr:
                                rows.setdefault(name, []).append(run(dr, frames))
                base = statistics.median(len(data) / w for w, _ in rows["1 process"])
                for name, res in rows.items():
                    eps = statistics.median(len(data) / w for w, _ in res)
                    cpu = statistics.median(c for _, c in res) / len(frames) * 1e3
                    print(f"{keys:>7} {bs:>7} {name:<24} {eps:>11,.0f} {eps / base:>8.2f} {cpu:>20.2f}")
        # Fixed cost of the cluster path: 1-row batches.
        one = events(200, 10)
        frames = [one.iloc[i:i + 1] for i in range(len(one))]
        _, client = clusters[2]
        with DaskRolling(client=client, partitions=2, **options) as dr:
            w, _ = run(dr, frames)
        w1, _ = run(rtnb.Rolling(**options), frames)
        print(f"\nper-batch overhead (1-row batches, update + snapshot): cluster {w / len(frames) * 1e3:.2f} ms, "
              f"one process {w1 / len(frames) * 1e3:.3f} ms (wall)")
        # What a user extrapolates from: bytes of a partition's state, merge cost per key.
        for keys in (1_000, 100_000):
            data = events(200_000, keys)
            agg = rtnb.Rolling(**options).update(data)
            state = pickle.dumps(agg.export_state())
            table = agg.value
            parts = [table.iloc[i::4] for i in range(4)]
            t = time.perf_counter()
            for _ in range(20):
                pd.concat(parts).sort_index(kind="stable")
            per_key = (time.perf_counter() - t) / 20 / max(len(table), 1) * 1e9
            print(f"keys={keys:>7}: partition state {len(state) / 1e6:.2f} MB ({len(state) / max(len(table), 1):.0f} B/key), "
                  f"merge {per_key:.0f} ns/key (wall)")
    finally:
        for lc, client in clusters.values():
            client.close()
            lc.close()


if __name__ == "__main__":
    main(sys.argv[1:])
