"""Serving layer: one dashboard refresh from pre-aggregates vs a GROUP BY over raw events.

Run: ``.venv/bin/python -m benchmarks.bench_serving`` (about a minute; ``--quick`` for a
smaller grid). The scenario of issue 6: viewers poll the dashboard every second, the
pipeline writes one snapshot per second, events carry 50 keys and one measure; the
dashboard shows count, sum and mean per key over the last ``window``.

Paths, per refresh:

- ``memory``  — ``MemoryStore.version`` + ``latest`` (in the serving process);
- ``redis``   — ``RedisStore.version`` + ``latest`` against a local redis-server: two
  round trips on loopback; the snapshot is decoded once per update (one process
  serving many viewers);
- ``redis-decode`` — the same, but every refresh decodes the snapshot (each viewer
  its own process);
- ``redis-rtt`` — one GET of a small integer: the loopback round-trip floor, measured
  in the same run, to tell the store's cost from the machine's scheduling noise;
- ``duckdb``  — the GROUP BY over the raw rows of the window, DuckDB, 1 thread;
- ``sqlite``  — the same in SQLite with an index on event time.

Latency is timed per refresh (median and 99th percentile over the repeats). "DB CPU"
is the database's CPU per refresh: the redis-server process (``INFO cpu``), or this
process for the embedded engines (``time.process_time``). With V viewers polling once a
second the database needs V x that CPU per second; a path keeps up with 100 viewers
when 100 x median refresh <= 1 s (budget 10 ms per refresh). Raw tables are filled up
to a row cap (see CAPS); bigger cells are extrapolated linearly from the engine's
largest measured cell (marked ``~``) — they are far past the budget either way.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd
import redis

from rtnb import Counters, MemoryStore, Snapshot
from rtnb.store.raw import DuckDBBaseline, SQLiteBaseline
from rtnb.store.redis import LocalRedisServer, RedisStore

VIEWERS = 100
POLL_SECONDS = 1.0
BUDGET = POLL_SECONDS / VIEWERS
N_KEYS = 50
END = pd.Timestamp("2024-01-01 12:00")
RATES = (1_000, 10_000, 100_000)
WINDOWS = ("1min", "10min", "1h")
CAPS = {"sqlite": 600_000, "duckdb": 6_000_000}
QUICK = dict(rates=(1_000, 10_000), windows=("1min", "10min"),
             caps={"sqlite": 120_000, "duckdb": 1_000_000}, refreshes=300)


def events(rate: int, seconds: float, seed: int = 0) -> pd.DataFrame:
    """``rate`` events/s over the ``seconds`` before END, 50 keys, lognormal amounts."""
    n = int(rate * seconds)
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.integers(0, int(seconds * 1e9), n))
    ts = (END - pd.Timedelta(seconds=seconds)).value + offsets
    names = np.array([f"key{i:02d}" for i in range(N_KEYS)])
    return pd.DataFrame({
        "ts": ts.astype("datetime64[ns]"),
        "key": pd.array(names[rng.integers(0, N_KEYS, n)], dtype="str"),
        "amount": rng.lognormal(3.0, 1.0, n),
    })


def snapshot_for(df: pd.DataFrame, window: pd.Timedelta, scale: float, version: int) -> Snapshot:
    """What the pipeline would store for the window: count, sum, mean per key."""
    rows = df[df.ts >= END - window]
    g = rows.groupby("key")["amount"]
    table = pd.DataFrame({"count": (g.count() * scale).round().astype("int64"),
                          "sum": g.sum() * scale, "mean": g.mean()})
    return Snapshot(metric="orders", table=table, window=window, watermark=END,
                    newest_event=END + pd.Timedelta(seconds=version),
                    processed_at=END + pd.Timedelta(seconds=version, milliseconds=200),
                    counters=Counters(received=len(rows), accepted=len(rows)), version=version)


def redis_cpu(admin) -> float:
    """CPU seconds the Redis server has used (its own getrusage, via INFO)."""
    info = admin.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure_store(store, snap: Snapshot, refreshes: int, cpu, *,
                  decode_each: bool = False) -> tuple[np.ndarray, float]:
    """Per-refresh seconds of version()+latest(), one put per VIEWERS refreshes.

    CPU is taken over the whole loop (puts included: 1 per 100 refreshes) and divided
    by the refreshes. ``decode_each`` drops RedisStore's decoded copy before every
    refresh: each viewer is then its own process that decodes the snapshot itself.
    """
    lat = np.empty(refreshes)
    own = np.empty(refreshes)
    version = snap.version
    c0 = cpu()
    for i in range(refreshes):
        if i % VIEWERS == 0:  # the pipeline's one snapshot per second
            version += 1
            store.put(snapshot_for_put(snap, version))
        if decode_each:
            store._seen.clear()
        u0 = time.thread_time()
        t0 = time.perf_counter()
        store.version("orders")
        got = store.latest("orders")
        lat[i] = time.perf_counter() - t0
        own[i] = time.thread_time() - u0
        assert got is not None
    OWN_CPU.append(own)
    return lat, (cpu() - c0) / refreshes


OWN_CPU: list[np.ndarray] = []  # the client's own CPU per refresh, per measure_store call


def measure_puts(store, snap: Snapshot, n: int) -> np.ndarray:
    """Seconds per put (the pipeline's write: one MULTI/EXEC round trip for Redis)."""
    lat = np.empty(n)
    for i in range(n):
        s = snapshot_for_put(snap, 10_000 + i)
        t0 = time.perf_counter()
        store.put(s)
        lat[i] = time.perf_counter() - t0
    return lat


def measure_rtt(store: RedisStore, n: int) -> np.ndarray:
    """The floor: one round trip on loopback (GET of the version, a small integer)."""
    lat = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        store.version("orders")  # one scripted GET of a small integer: the round-trip floor
        lat[i] = time.perf_counter() - t0
    return lat


def snapshot_for_put(snap: Snapshot, version: int) -> Snapshot:
    return Snapshot(metric=snap.metric, table=snap.table, window=snap.window,
                    watermark=snap.watermark, newest_event=END + pd.Timedelta(seconds=version),
                    processed_at=END + pd.Timedelta(seconds=version, milliseconds=200),
                    counters=snap.counters, version=version)


def measure_raw(raw, window: pd.Timedelta, max_seconds: float = 1.5) -> tuple[np.ndarray, float, int]:
    """Repeat the dashboard query (at least 5, at most 50 times or ``max_seconds``)."""
    lat, cpu = [], []
    spent = 0.0
    while len(lat) < 5 or (len(lat) < 50 and spent < max_seconds):
        q = raw.query(end=END, window=window)
        lat.append(q.seconds)
        cpu.append(q.cpu_seconds)
        spent += q.seconds
    return np.array(lat), float(np.mean(cpu)), q.rows_scanned


def row(path, rate, window, rows, lat, cpu, n, extrapolated=False, own=None):
    p50, p99 = float(np.median(lat)), float(np.quantile(lat, 0.99))
    return dict(path=path, rate=rate, window=window, rows_in_window=rows,
                client_cpu_p99_ms=None if own is None else float(np.quantile(own, 0.99)) * 1e3,
                p50_ms=p50 * 1e3, p99_ms=p99 * 1e3, db_cpu_ms=cpu * 1e3,
                cpu_100_viewers=cpu * VIEWERS / POLL_SECONDS,
                keeps_up=p50 * VIEWERS <= POLL_SECONDS, n=n, extrapolated=extrapolated)


def run(rates, windows, caps, refreshes, redis_url=None) -> pd.DataFrame:
    out = []
    server = None
    if redis_url is None:
        server = LocalRedisServer().start()
        redis_url = server.url
    try:
        redis_store = RedisStore(redis_url, prefix="bench_serving", history=100,
                                 read_every=0)  # each refresh is one viewer's poll
        admin = redis.Redis.from_url(redis_url)
        redis_store.clear()
        largest: dict[str, tuple[int, float, float]] = {}  # engine -> rows, p50, cpu
        for rate in rates:
            longest = max(pd.Timedelta(w) for w in windows)
            data_seconds = min(longest.total_seconds(), max(caps.values()) / rate)
            df = events(rate, data_seconds, seed=rate)
            engines = {}
            for name, cls in (("duckdb", DuckDBBaseline), ("sqlite", SQLiteBaseline)):
                raw = cls(keys="key", measures="amount")
                stored = min(data_seconds, caps[name] / rate)
                keep = df[df.ts >= END - pd.Timedelta(seconds=stored)]
                t0 = time.perf_counter()
                for start in range(0, len(keep), 500_000):
                    raw.insert(keep.iloc[start:start + 500_000])
                ingest = len(keep) / max(time.perf_counter() - t0, 1e-9)
                engines[name] = (raw, ingest, stored)
                print(f"  {name}: {len(keep):,} rows at {rate:,}/s inserted "
                      f"({ingest / 1e3:,.0f}k rows/s)", file=sys.stderr, flush=True)
            for w in windows:
                window = pd.Timedelta(w)
                rows = int(rate * window.total_seconds())
                avail = (df.ts >= END - window).sum()
                snap = snapshot_for(df, window, rows / max(avail, 1), version=0)
                memory = MemoryStore(history=100)
                lat, cpu = measure_store(memory, snap, refreshes, time.process_time)
                out.append(row("memory", rate, w, rows, lat, cpu, refreshes, own=OWN_CPU[-1]))
                lat, cpu = measure_store(redis_store, snap, refreshes, lambda: redis_cpu(admin))
                out.append(row("redis", rate, w, rows, lat, cpu, refreshes, own=OWN_CPU[-1]))
                lat, cpu = measure_store(redis_store, snap, refreshes,
                                         lambda: redis_cpu(admin), decode_each=True)
                out.append(row("redis-decode", rate, w, rows, lat, cpu, refreshes,
                               own=OWN_CPU[-1]))
                out.append(row("redis-rtt", rate, w, rows, measure_rtt(redis_store, refreshes),
                               0.0, refreshes))
                if rate == rates[0] and w == windows[0]:
                    for name, store in (("memory", memory), ("redis", redis_store)):
                        lat = measure_puts(store, snap, 500)
                        out.append(dict(path=f"{name}-put", p50_ms=np.median(lat) * 1e3,
                                        p99_ms=np.quantile(lat, 0.99) * 1e3))
                for name, (raw, _, stored) in engines.items():
                    if window.total_seconds() <= stored:
                        lat, cpu, scanned = measure_raw(raw, window)
                        assert abs(scanned - rows) <= 5 * np.sqrt(rows) + 1  # the window's rows
                        out.append(row(name, rate, w, rows, lat, cpu, len(lat)))
                        if rows >= largest.get(name, (0,))[0]:
                            largest[name] = (rows, float(np.median(lat)), cpu)
                    else:
                        out.append(dict(path=name, rate=rate, window=w, rows_in_window=rows,
                                        pending=True))
            for raw, ingest, _ in engines.values():
                out.append(dict(path=f"{raw.engine}-ingest", rate=rate, ingest_rows_s=ingest))
                raw.close()
        # cells past a cap: linear in rows from the engine's largest measured cell
        final = []
        for r in out:
            if r.get("pending"):
                base_rows, p50, cpu = largest[r["path"]]
                f = r["rows_in_window"] / base_rows
                final.append(row(r["path"], r["rate"], r["window"], r["rows_in_window"],
                                 np.array([p50 * f]), cpu * f, 0, extrapolated=True))
            else:
                final.append(r)
        redis_store.clear()
        redis_store.close()
        admin.close()
    finally:
        if server is not None:
            server.close()
    return pd.DataFrame(final)


def report(results: pd.DataFrame) -> str:
    lines = []
    cells = results[results.path.isin(["redis-rtt", "redis", "redis-decode", "memory", "duckdb", "sqlite"])].copy()
    cells["keeps_up"] = cells["keeps_up"].astype(bool)
    cells["extrapolated"] = cells["extrapolated"].astype(bool)
    cells["rate"] = cells["rate"].astype("int64")
    cells["rows_in_window"] = cells["rows_in_window"].astype("int64")
    lines.append(f"Per refresh, {VIEWERS} viewers polling every {POLL_SECONDS:g} s "
                 f"(budget {BUDGET * 1e3:.0f} ms per refresh); ~ = extrapolated")
    lines.append("")
    lines.append("| path | events/s | window | rows in window | p50 ms | p99 ms | "
                 "DB CPU ms/refresh | DB cores for 100 viewers | keeps up |")
    lines[-1] = lines[-1].replace(" keeps up |", " keeps up | client CPU p99 ms |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|:---:|---:|")
    order = {"redis-rtt": 0, "redis": 1, "redis-decode": 2, "memory": 3, "duckdb": 4, "sqlite": 5}
    cells = cells.assign(o=cells.path.map(order)).sort_values(["o", "rate", "rows_in_window"])
    for r in cells.itertuples():
        mark = "~" if r.extrapolated else ""
        p99 = "" if r.extrapolated else f"{r.p99_ms:.3f}"
        lines.append(f"| {r.path} | {r.rate:,} | {r.window} | {r.rows_in_window:,} | "
                     f"{mark}{r.p50_ms:.3f} | {p99} | {mark}{r.db_cpu_ms:.3f} | "
                     f"{mark}{r.cpu_100_viewers:.2f} | {'yes' if r.keeps_up else 'no'} | "
                     + ("" if pd.isna(r.client_cpu_p99_ms) else f"{r.client_cpu_p99_ms:.3f}")
                     + " |")
    ingest = results[results.path.str.endswith("-ingest")]
    if len(ingest):
        lines.append("")
        lines.append("Raw-table ingest (the raw paths also pay this on every batch):")
        for r in ingest.itertuples():
            lines.append(f"- {r.path.removesuffix('-ingest')} at {int(r.rate):,}/s: "
                         f"{r.ingest_rows_s / 1e3:,.0f}k rows/s inserted")
    puts = results[results.path.str.endswith("-put")]
    if len(puts):
        lines.append("")
        lines.append("Writes (one snapshot of 50 keys, 500 puts):")
        for r in puts.itertuples():
            lines.append(f"- {r.path.removesuffix('-put')}.put: p50 {r.p50_ms:.3f} ms, "
                         f"p99 {r.p99_ms:.3f} ms")
    lines.append("")
    lines.append("Where each path stops keeping up with 100 viewers (p50 x 100 > 1 s):")
    for path in ("redis", "redis-decode", "memory", "duckdb", "sqlite"):
        sub = cells[cells.path == path]
        bad = sub[~sub.keeps_up]
        if bad.empty:
            lines.append(f"- {path}: keeps up in every cell (max p99 "
                         f"{sub.p99_ms.max():.3f} ms)")
        else:
            first = bad.sort_values("rows_in_window").iloc[0]
            lines.append(f"- {path}: from {first.rows_in_window:,} rows in the window "
                         f"({first.rate:,}/s x {first.window}), p50 {first.p50_ms:.1f} ms "
                         f"-> at most {int(1000 / first.p50_ms)} viewers")
    lines.append("")
    for path in ("redis", "redis-decode", "redis-rtt"):
        sub = cells[cells.path == path]
        if len(sub):
            lines.append(f"{path}: p99 max {sub.p99_ms.max():.3f} ms, median of p99s "
                         f"{sub.p99_ms.median():.3f} ms (target < 2 ms); p50 max/min over "
                         f"rates and windows {sub.p50_ms.max() / sub.p50_ms.min():.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller grid (CI)")
    args = parser.parse_args(argv if argv is not None else [])
    quick = args.quick or os.environ.get("RTNB_SMALL") == "1"
    params = QUICK if quick else dict(rates=RATES, windows=WINDOWS, caps=CAPS, refreshes=2000)
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    results = run(**params, redis_url=os.environ.get("RTNB_REDIS_URL"))
    print(report(results))
    print(f"\n({time.perf_counter() - t0:.0f} s; python {sys.version.split()[0]}, "
          f"pandas {pd.__version__}, {os.cpu_count()} CPUs; load average {load0:.1f} at "
          f"start, {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main(sys.argv[1:])
