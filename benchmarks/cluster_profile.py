"""Where the cluster path's CPU goes, per batch: the driver's threads and the workers.

Run: ``python -m benchmarks.cluster_profile --keys 10000 --batch 60000 --batches 8``.

The driver process runs two busy threads: the **main thread** (``DaskRolling``:
decode, watermark, partition, compact, split, the snapshot's merge and the dashboard's
top-10 read) and the **event-loop thread** that ``distributed`` runs for the client and,
for a ``LocalCluster``, for the scheduler too (serialising the batches, the messages,
deserialising the partitions' replies). Each is profiled with ``cProfile`` timed by
that thread's own CPU clock (``time.thread_time``), so blocking waits cost nothing.
The workers' share is replayed in this process on the very messages the driver sends
(``pickle`` protocol 5, as ``distributed`` pickles a DataFrame): unpickle, apply, the
reply's table, pickling it; beside it, one process doing the whole job (update +
snapshot + top-10 read). The real workers' CPU (``client.run(time.process_time)``) is
printed too: what that replay does not see is the workers' messaging.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pickle
import pstats
import sys
import time

import numpy as np

from benchmarks.bench_cluster import events, read

# (label, file suffix, function name): cumulative CPU of the main thread's stages
MAIN = [
    ("decode (read_batch)", "pipeline/_input.py", "read_batch"),
    ("watermark (admit)", "pipeline/watermark.py", "admit"),
    ("partition of each row", "cluster/_partition.py", "__call__"),
    ("compact categories (before: DataFrames)", "cluster/_partition.py", "compact"),
    ("split by partition (before: DataFrames)", "cluster/_partition.py", "split"),
    ("split into arrays (Rows)", "cluster/_partition.py", "split_rows"),
    ("send (actor calls)", "cluster/_actors.py", "_send"),
    ("wait for replies", "cluster/_actors.py", "_settle"),
    ("snapshot (Merged + Snapshot)", "cluster/_driver.py", "snapshot"),
    ("top-10 + n_keys read", "benchmarks/bench_cluster.py", "read"),
]


def _cum(stats: pstats.Stats, suffix: str, name: str) -> float:
    total = 0.0
    for (path, _line, fn), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        if fn == name and path.replace("\\", "/").endswith(suffix):
            total += ct
    return total


def _by_file(stats: pstats.Stats, top: int = 12) -> list[tuple[str, float]]:
    """Own CPU (tottime) summed by package/module: where the loop thread's time goes."""
    groups: dict[str, float] = {}
    for (path, _line, _fn), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        p = path.replace("\\", "/")
        if "site-packages/" in p:
            p = p.split("site-packages/", 1)[1]
            parts = p.split("/")
            p = "/".join(parts[:2]) if parts[0] in ("distributed", "tornado", "pandas") else parts[0]
        elif p.startswith("~") or p.startswith("<"):
            p = "builtins (pickle, select, socket...)"
        else:
            p = p.split("/lib/python3")[-1] if "/lib/python3" in p else p
            p = "stdlib " + p.split("/")[1] if p.count("/") >= 1 else p
        groups[p] = groups.get(p, 0.0) + tt
    return sorted(groups.items(), key=lambda kv: -kv[1])[:top]


def main(argv: list[str] | None = None) -> None:
    import distributed

    import rtnb
    from rtnb.cluster import DaskRolling
    from rtnb.cluster._partition import Partitioner, compact, split
    from rtnb.cluster._worker import PartitionWorker

    p = argparse.ArgumentParser(prog="cluster_profile")
    p.add_argument("--keys", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=60_000)
    p.add_argument("--batches", type=int, default=8, help="profiled batches (after 2 warm-up ones)")
    p.add_argument("--aggs", default="count,sum,mean,p50,p95,p99")
    p.add_argument("--partitions", type=int, default=2)
    p.add_argument("--defaults", action="store_true", help="distributed's default settings, not rtnb.cluster.QUIET")
    args = p.parse_args(argv or [])
    aggs = tuple(args.aggs.split(","))
    options = dict(window="60s", by="key", value="v", aggs=aggs, lateness="1s")
    n = args.batch * (args.batches + 2)
    data = events(n, args.keys)
    frames = [data.iloc[i:i + args.batch] for i in range(0, n, args.batch)]
    warm, timed = frames[:2], frames[2:]
    print(f"load average {os.getloadavg()[0]:.1f}; {args.keys:,} keys, {args.batch:,}-row batches, "
          f"{len(timed)} batches profiled; aggs {','.join(aggs)}; {args.partitions} partitions on 2 workers")

    if args.defaults:
        lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None)
    else:
        from rtnb.cluster import local_cluster

        lc = local_cluster(2)
    client = distributed.Client(lc)
    try:
        async def loop_cpu():
            return time.thread_time()

        loop_prof = cProfile.Profile(time.thread_time)

        async def loop_enable(on: bool):
            (loop_prof.enable if on else loop_prof.disable)()

        with DaskRolling(client=client, partitions=args.partitions, **options) as dr:
            for f in warm:
                dr.update(f)
                read(dr.snapshot())
            # 1. unprofiled: each thread's CPU
            w0 = sum(client.run(time.process_time).values())
            l0, m0, p0 = client.sync(loop_cpu), time.thread_time(), time.process_time()
            for f in timed:
                dr.update(f)
                read(dr.snapshot())
            l1, m1, p1 = client.sync(loop_cpu), time.thread_time(), time.process_time()
            w1 = sum(client.run(time.process_time).values())
        k = len(timed)
        main_ms, loop_ms, proc_ms = (m1 - m0) / k * 1e3, (l1 - l0) / k * 1e3, (p1 - p0) / k * 1e3
        print(f"\nCPU per batch (not profiled): driver process {proc_ms:.1f} ms = main thread {main_ms:.1f} + "
              f"event-loop thread {loop_ms:.1f} + other threads {proc_ms - main_ms - loop_ms:.1f}; "
              f"the 2 workers {(w1 - w0) / k * 1e3:.1f} ms")

        # 2. profiled: the main thread's stages, the loop thread by module
        main_prof = cProfile.Profile(time.thread_time)
        with DaskRolling(client=client, partitions=args.partitions, **options) as dr:
            for f in warm:
                dr.update(f)
                read(dr.snapshot())
            client.sync(loop_enable, True)
            main_prof.enable()
            for f in timed:
                dr.update(f)
                read(dr.snapshot())
            main_prof.disable()
            client.sync(loop_enable, False)
        ms = pstats.Stats(main_prof)
        total = sum(tt for (_cc, _nc, tt, _ct, _c) in ms.stats.values())
        print(f"\nmain thread, profiled ({total / k * 1e3:.1f} ms CPU per batch under the profiler):")
        for label, suffix, name in MAIN:
            print(f"  {label:<32} {_cum(ms, suffix, name) / k * 1e3:8.2f} ms/batch")
        ls = pstats.Stats(loop_prof)
        ltotal = sum(tt for (_cc, _nc, tt, _ct, _c) in ls.stats.values())
        print(f"\nevent-loop thread, profiled ({ltotal / k * 1e3:.1f} ms CPU per batch), own time by module:")
        for name, tt in _by_file(ls):
            print(f"  {name:<44} {tt / k * 1e3:8.2f} ms/batch")
        print("  cumulative: serialize "
              f"{_cum(ls, 'protocol/serialize.py', 'serialize') / k * 1e3:.2f}, deserialize "
              f"{_cum(ls, 'protocol/serialize.py', 'deserialize') / k * 1e3:.2f}, pickle.dumps "
              f"{_cum(ls, 'protocol/pickle.py', 'dumps') / k * 1e3:.2f}, pickle.loads "
              f"{_cum(ls, 'protocol/pickle.py', 'loads') / k * 1e3:.2f} ms/batch")

        # 3. the workers' share, replayed here on the same messages; one process beside it
        part = Partitioner(args.partitions)
        wrk = [PartitionWorker(dr._options) for _ in range(args.partitions)]
        one = rtnb.Rolling(**options)
        cost = dict.fromkeys(["pickle batch (driver)", "unpickle batch (worker)", "apply rows (worker)",
                              "reply table (worker)", "pickle reply (worker)", "unpickle (+ apply) reply (driver)"], 0.0)
        sizes = [0, 0]
        solo = 0.0
        held = [None] * args.partitions  # the driver's copy of each partition's table (delta replies)
        deltas = hasattr(wrk[0], "reply")
        try:
            from rtnb.cluster._partition import split_rows
            arrays = True
        except ImportError:  # an older tree: DataFrames go out
            arrays = False
        if deltas:
            from rtnb.cluster._partial import absorb
        from rtnb.pipeline._input import read_batch
        from rtnb.pipeline.watermark import Watermark

        wm = Watermark(1_000_000_000, dedup=False)  # lateness 1 s, as the options
        for seq, f in enumerate(warm + timed):
            c = time.thread_time()
            one.update(f)
            read(one.snapshot())
            if seq >= 2:
                solo += time.thread_time() - c
            ts, vals, keycols, _ = read_batch(f, dr.config)
            wm.admit(ts)
            parts = part(f, ("key",))
            if arrays:
                rows = split_rows(ts, vals, keycols, parts, args.partitions)
            else:
                rows = split(compact(f, ("key",)), parts, args.partitions)
            for i, r in enumerate(rows):
                t = [time.thread_time()]
                blob = pickle.dumps([(seq, r, wm.newest)], protocol=5)
                t.append(time.thread_time())
                items = pickle.loads(blob)
                t.append(time.thread_time())
                wrk[i].apply(items, None)
                t.append(time.thread_time())
                want = ("table", -1 if held[i] is None else held[i].number) if deltas else "table"
                reply = wrk[i].apply([], want)
                t.append(time.thread_time())
                out = pickle.dumps(reply, protocol=5)
                t.append(time.thread_time())
                got = pickle.loads(out)
                if deltas:
                    held[i] = absorb(held[i], got[1])
                t.append(time.thread_time())
                if seq >= 2:
                    for name, a, b in zip(cost, t[:-1], t[1:]):
                        cost[name] += b - a
                    sizes[0] += len(blob)
                    sizes[1] += len(out)
        print(f"\nreplayed in this process, per batch (all {args.partitions} partitions), CPU:")
        for name, v in cost.items():
            print(f"  {name:<32} {v / k * 1e3:8.2f} ms")
        print(f"  bytes per batch: sent {sizes[0] / k / 1e6:.2f} MB, replies {sizes[1] / k / 1e6:.2f} MB")
        print(f"  one process, whole job (update + snapshot + top-10 read): {solo / k * 1e3:.2f} ms")
        wt = wrk[0].rolling
        c = time.thread_time()
        for _ in range(5):
            read(wt.snapshot())
        lazy = (time.thread_time() - c) / 5
        c = time.thread_time()
        for _ in range(5):
            wt.value
        eager = (time.thread_time() - c) / 5
        print(f"  partition 0 ({len(wt.value):,} keys): lazy snapshot + top-10 read {lazy * 1e3:.2f} ms, "
              f"whole table (every column, every key) {eager * 1e3:.2f} ms")
    finally:
        client.close()
        lc.close()  # (distributed's own close: its INFO lines show when the log level allows)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
