"""Checkpoint cost against state size: exact and bucketed windows of one hour, 50 and
10,000 keys.

``python -m benchmarks.bench_checkpoint`` prints, per configuration, the state held
(rows in the window for ``exact``, live buckets x keys for ``bucketed``), the file
size, and the wall-clock median of ``pipeline.checkpoint(path)`` (capture + encode +
write + fsync + rename) and of a restore into a fresh pipeline (read + verify +
decode + load). The events are synthetic (one hour at ``RATE`` events/s, keys drawn
uniformly); validation is off so only the aggregate's state counts.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import streamz

import rtnb

T0 = pd.Timestamp("2024-01-01")
REPEATS = 5


def events(rate: int, keys: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = rate * 3600
    ts = T0 + pd.to_timedelta(np.sort(rng.uniform(0, 3600, n)), unit="s")
    labels = np.array([f"k{i:05d}" for i in range(keys)])
    return pd.DataFrame({"ts": ts.as_unit("ns"), "key": labels[rng.integers(0, keys, n)],
                         "amount": rng.lognormal(3, 1, n)})


def build(kind: str):
    batches = streamz.Stream()
    options = {"resolution": "1min"} if kind == "bucketed" else {}
    pipe = rtnb.build_pipeline(batches, metric="amount", by="key", window="1h", kind=kind,
                               aggs=("count", "sum", "mean", "max"), schema=None, lateness="0s",
                               clock=rtnb.SimClock(start=T0 + pd.Timedelta("1h")), **options)
    return batches, pipe


def measure(kind: str, keys: int, rate: int, path: Path) -> dict:
    df = events(rate, keys)
    batches, pipe = build(kind)
    for lo in range(0, len(df), 20_000):
        batches.emit(df.iloc[lo: lo + 20_000])
    save = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        pipe.checkpoint(path)
        save.append(time.perf_counter() - t)
    load = []
    for _ in range(REPEATS):
        _, fresh = build(kind)
        t = time.perf_counter()
        fresh.restore(path)
        load.append(time.perf_counter() - t)
    assert fresh.counters == pipe.counters
    pd.testing.assert_frame_equal(fresh.aggregate.value, pipe.aggregate.value, check_exact=False)
    eng = pipe.aggregate._engine
    held = eng.memory_rows() if hasattr(eng, "memory_rows") else None
    return {"kind": kind, "keys": keys, "held": held, "mb": path.stat().st_size / 1e6,
            "save_ms": statistics.median(save) * 1000, "load_ms": statistics.median(load) * 1000}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    rate = 20 if "--quick" in argv else 100
    path = Path(tempfile.mkdtemp()) / "bench.ckpt"
    print(f"one hour at {rate} events/s ({rate * 3600:,} events); medians of {REPEATS}, wall clock")
    print("| kind | keys | state held | file MB | checkpoint ms | restore ms |")
    print("|---|---|---|---|---|---|")
    for kind in ("exact", "bucketed"):
        for keys in (50, 10_000):
            r = measure(kind, keys, rate, path)
            what = "rows" if kind == "exact" else "bucket x key cells"
            print(f"| {kind} | {keys:,} | {r['held']:,} {what} | {r['mb']:.2f} | "
                  f"{r['save_ms']:.1f} | {r['load_ms']:.1f} |")


if __name__ == "__main__":
    main()
