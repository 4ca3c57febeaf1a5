"""Scale-out: one process against a Dask LocalCluster, same events, same run.

Run: ``.venv/bin/python -m benchmarks.bench_cluster`` (``--quick`` for a smoke run;
``--keys``, ``--batches``, ``--aggs``, ``--events``, ``--repeats`` to choose rows).

Rows: ``rtnb.Rolling`` in this process, and ``rtnb.cluster.DaskRolling`` on a
``LocalCluster`` of 1 and 2 worker processes (1 thread each), with 1 or 2 partitions
per worker, over batch sizes and key counts. Each row feeds the same events and, after
every batch, takes a snapshot and reads what a dashboard reads of it (the top 10 keys
by sum and the key count). Reported: events/s of wall time and its ratio to one
process in the same run (repeats interleaved), the driver's CPU ms per batch, and the
CPU ms per batch of every process involved (driver + workers: what the cluster costs
in all); then the model a user extrapolates from — the fixed cost per batch of the
cluster path (1-row batches), the bytes a partition sends per key (its table, at each
snapshot) and holds per key (its state), and the driver's cost per key of putting the
tables together (a top-10 read, and the whole sorted table) — and the crossover it
predicts: the batch size above which two workers beat one process, from a straight
line (fixed + per-event cost) fitted to each system's two largest batch sizes.
"""

from __future__ import annotations

import argparse
import os
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


def read(snap) -> None:
    """What a dashboard reads of a snapshot each frame."""
    snap.top(10, "sum")
    snap.n_keys


def _cpu_of_workers(client) -> float:
    if client is None:
        return 0.0
    return sum(client.run(time.process_time).values())


def run(agg, frames, client=None) -> tuple[float, float, float]:
    """(wall s, driver CPU s, driver + workers CPU s) to feed ``frames``."""
    w0 = _cpu_of_workers(client)
    t, c = time.perf_counter(), time.process_time()
    for f in frames:
        agg.update(f)
        read(agg.snapshot())
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return wall, cpu, cpu + _cpu_of_workers(client) - w0


def _fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """(fixed s per batch, s per event) through the two largest batch sizes."""
    (b1, t1), (b2, t2) = sorted(points)[-2:]
    per = (t2 - t1) / (b2 - b1)
    return t1 - per * b1, per


def main(argv: list[str] | None = None) -> None:
    import distributed

    import rtnb
    from rtnb.cluster import DaskRolling
    from rtnb.cluster import close_quietly, local_cluster
    from rtnb.cluster._merge import Merged
    from rtnb.cluster._partial import Part, Replier, absorb

    p = argparse.ArgumentParser(prog="bench_cluster")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--events", type=int, default=None, help="events per row (default 300,000)")
    p.add_argument("--keys", type=int, nargs="*", default=None, help="key counts (default 50 10000 100000)")
    p.add_argument("--batches", type=int, nargs="*", default=None, help="batch sizes (default 1000 30000)")
    p.add_argument("--aggs", default="count,sum,mean,p95", help="aggregates (default count,sum,mean,p95)")
    p.add_argument("--no-model", action="store_true", help="skip the fixed-cost and bytes/merge lines")
    args = p.parse_args(argv or [])
    n_events = args.events or (100_000 if args.quick else 300_000)
    batch_sizes = tuple(args.batches or ((10_000,) if args.quick else (1_000, 30_000)))
    key_counts = tuple(args.keys or ((50,) if args.quick else (50, 10_000, 100_000)))
    aggs = tuple(args.aggs.split(","))
    options = dict(window="60s", by="key", value="v", aggs=aggs, lateness="1s")
    print(f"load average {os.getloadavg()[0]:.1f}; aggs {','.join(aggs)}; {n_events:,} events per row; "
          f"medians of {args.repeats}, repeats interleaved", flush=True)
    clusters = {}
    for workers in (1, 2):
        lc = local_cluster(workers)  # (its dashboard on a free port: 8787 may be taken)
        clusters[workers] = (lc, distributed.Client(lc))
    print(f"{'keys':>7} {'batch':>7} {'system':<20} {'ev/s wall':>11} {'x 1 proc':>8} "
          f"{'driver CPU ms/b':>16} {'all CPU ms/b':>13}", flush=True)
    fits: dict[tuple[int, str], list[tuple[int, float]]] = {}
    try:
        for keys in key_counts:
            data = events(n_events, keys)
            for bs in batch_sizes:
                frames = [data.iloc[i:i + bs] for i in range(0, len(data), bs)]
                rows: dict[str, list[tuple[float, float, float]]] = {}
                for _ in range(args.repeats):
                    rows.setdefault("1 process", []).append(run(rtnb.Rolling(**options), frames))
                    for workers, (_, client) in clusters.items():
                        for per in (1, 2) if workers == 2 else (1,):
                            name = f"dask {workers}w x {per} part"
                            with DaskRolling(client=client, partitions=workers * per, **options) as dr:
                                rows.setdefault(name, []).append(run(dr, frames, client))
                                if dr.recovered:  # a worker declared lost: that run paid a recovery
                                    print(f"  ({name}: {dr.recovered} partition(s) replaced: {dr.errors})", flush=True)
                base = statistics.median(len(data) / w for w, _, _ in rows["1 process"])
                for name, res in rows.items():
                    eps = statistics.median(len(data) / w for w, _, _ in res)
                    cpu = statistics.median(c for _, c, _ in res) / len(frames) * 1e3
                    every = statistics.median(a for _, _, a in res) / len(frames) * 1e3
                    fits.setdefault((keys, name), []).append((bs, statistics.median(w for w, _, _ in res) / len(frames)))
                    print(f"{keys:>7} {bs:>7} {name:<20} {eps:>11,.0f} {eps / base:>8.2f} {cpu:>16.2f} {every:>13.2f}",
                          flush=True)
        if len(batch_sizes) >= 2:
            print("\nfitted wall per batch = fixed + per event x rows (two largest batch sizes), and the predicted "
                  "crossover: the batch size above which 2 workers x 1 partition beat one process")
            for keys in key_counts:
                a1, b1 = _fit(fits[(keys, "1 process")])
                a2, b2 = _fit(fits[(keys, "dask 2w x 1 part")])
                cross = (a2 - a1) / (b1 - b2) if b1 > b2 else float("inf")
                where = f"{cross:,.0f} rows per batch" if np.isfinite(cross) and cross > 0 else (
                    "already at every size" if np.isfinite(cross) else "never (2 workers cost more per event)")
                print(f"  keys={keys:>7}: one process {a1 * 1e3:7.2f} ms + {b1 * 1e9:6.0f} ns/event; "
                      f"2 workers {a2 * 1e3:7.2f} ms + {b2 * 1e9:6.0f} ns/event -> {where}")
        if args.no_model:
            return
        # Fixed cost of the cluster path: 1-row batches.
        one = events(200, 10)
        frames = [one.iloc[i:i + 1] for i in range(len(one))]
        _, client = clusters[2]
        with DaskRolling(client=client, partitions=2, **options) as dr:
            w, c, _ = run(dr, frames)
        w1, c1, _ = run(rtnb.Rolling(**options), frames)
        print(f"\nper-batch overhead (1-row batches, update + snapshot + top-10 read): cluster {w / len(frames) * 1e3:.2f} ms "
              f"wall ({c / len(frames) * 1e3:.2f} ms driver CPU), one process {w1 / len(frames) * 1e3:.3f} ms wall "
              f"({c1 / len(frames) * 1e3:.3f} ms CPU)")
        # What a user extrapolates from: bytes per partial, merge cost per key.
        for keys in (1_000, 100_000):
            data = events(200_000, keys, seed=2)
            data["key"] = pd.Categorical.from_codes(np.arange(len(data)) % keys, data["key"].cat.categories)
            agg = rtnb.Rolling(**options).update(data)
            replier = Replier()
            whole = replier.reply(agg, 0, -1)
            table = whole.frame()
            n = max(len(table), 1)
            state = pickle.dumps(agg.export_state(), protocol=5)
            sent = pickle.dumps(whole, protocol=5)
            # a delta: the next batch touches 1% of the keys (1 ms of event time later)
            touch = data.iloc[-max(n // 100, 1):].copy()
            touch["ts"] = touch["ts"] + pd.Timedelta("1ms")
            agg.update(touch)
            c = time.process_time()
            delta = replier.reply(agg, 1, whole.number)
            delta_ms = (time.process_time() - c) * 1e3
            dsent = pickle.dumps(delta, protocol=5)
            c = time.process_time()
            for _ in range(20):
                absorb(whole, delta)
            absorb_ns = (time.process_time() - c) / 20 / n * 1e9
            parts = [Part.of_frame(table.iloc[i::2]) for i in range(2)]
            c = time.process_time()
            for _ in range(20):
                read(rtnb.Snapshot(metric="m", key_table=Merged(parts, table.iloc[:0]), window=None, watermark=None,
                                   newest_event=None, processed_at=pd.Timestamp(0)))
            top_ns = (time.process_time() - c) / 20 / n * 1e9
            c = time.process_time()
            for _ in range(20):
                Merged(parts, table.iloc[:0]).frame()
            whole_ns = (time.process_time() - c) / 20 / n * 1e9
            print(f"keys={len(table):>7} in the window: a partition's whole reply {len(sent) / n:.0f} B/key, "
                  f"a delta {len(dsent) / max(len(delta), 1):.0f} B per changed key ({len(delta):,} changed; "
                  f"worker {delta_ms:.1f} ms to make it, driver {absorb_ns:.0f} ns/key held to apply it); "
                  f"state {len(state) / n:.0f} B/key; driver per snapshot: top-10 read {top_ns:.0f} ns/key, "
                  f"whole sorted table {whole_ns:.0f} ns/key (CPU)")
    finally:
        # the last one started first: each LocalCluster restores, as it closes, the log level
        # it found, so closing out of order let the other's teardown print at INFO
        for lc, client in reversed(list(clusters.values())):
            close_quietly(client, lc)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
