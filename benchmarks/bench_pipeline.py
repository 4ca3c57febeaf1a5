"""rtnb's rolling aggregates and whole pipeline against the peers, side by side.

Run: ``.venv/bin/python -m benchmarks.bench_pipeline`` (``--quick`` for a smoke run,
``--repeats N``). Workload and peers: ``benchmarks/peers.py``.

For every system and window (60 s, 1 h): events/s over the run (median over repeats),
per-batch latency p50/p99 (update + answer, from the repeat with the median
throughput), peak traced memory (``tracemalloc``, a separate run: Python and numpy
allocations; SQLite/DuckDB native memory is not seen), and whether its answers equal the
pandas oracle at checkpoints (every 25th batch and the last). Slow peers run on fewer
events, as the table says; ratios are rtnb's events/s over the system's.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import peers

CHECK_EVERY = 25


@dataclass
class Result:
    system: str
    window: str
    events: int
    events_per_s: float
    cpu_events_per_s: float | None
    p50_us: float | None
    p99_us: float | None
    peak_mb: float | None
    verdict: str


def run_once(make: Callable[[], object], parts: list[pd.DataFrame], check: set[int]) -> tuple[float, float, np.ndarray, dict]:
    system = make()
    lat = np.empty(len(parts))
    answers = {}
    perf = time.perf_counter_ns
    gc.collect()
    cpu = time.process_time()
    start = perf()
    for i, b in enumerate(parts):
        t0 = perf()
        out = system.step(b)
        lat[i] = perf() - t0
        if i in check:
            answers[i] = out
    total = (perf() - start) / 1e9
    cpu = time.process_time() - cpu
    if hasattr(system, "close"):
        system.close()
    return total, cpu, lat, answers


def peak_memory(make: Callable[[], object], parts: list[pd.DataFrame]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        system = make()
        for b in parts:
            system.step(b)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if hasattr(system, "close"):
        system.close()
    return peak / 2**20


def measure(name: str, window: str, make, events: pd.DataFrame, oracle: peers.Oracle, repeats: int,
            kind: str = "exact", resolution: str | None = None, memory: bool = True) -> Result:
    parts = peers.batches(events)
    check = set(range(CHECK_EVERY - 1, len(parts), CHECK_EVERY)) | {len(parts) - 1}
    runs = []
    for _ in range(repeats):
        total, cpu, lat, answers = run_once(make, parts, check)
        runs.append((len(events) / total, len(events) / cpu, lat, answers))
    runs.sort(key=lambda r: r[0])
    rate, _, lat, answers = runs[len(runs) // 2]
    cpu_rate = statistics.median(r[1] for r in runs)
    res = None if resolution is None else pd.Timedelta(resolution)
    verdict = "correct"
    for i in sorted(answers):
        why = peers.disagreement(answers[i], oracle.answer(i, pd.Timedelta(window), kind, res, n=len(events)))
        if why:
            verdict = f"WRONG after batch {i + 1}: {why}"
            break
    peak = peak_memory(make, parts) if memory else None
    return Result(name, window, len(events), rate, cpu_rate, float(np.median(lat)) / 1e3,
                  float(np.percentile(lat, 99)) / 1e3, peak, verdict)


def measure_one_shot(window: str, events: pd.DataFrame, oracle: peers.Oracle, repeats: int) -> Result:
    times, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = peers.one_shot(events, window)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    last = (len(events) - 1) // peers.BATCH
    why = peers.disagreement(out, oracle.answer(last, pd.Timedelta(window), n=len(events)))
    gc.collect()
    tracemalloc.start()
    peers.one_shot(events, window)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return Result("numpy one-shot (1 answer, the limit)", window, len(events),
                  len(events) / statistics.median(times), len(events) / statistics.median(cpus), None, None, peak, why and f"WRONG: {why}" or "correct")


def fmt(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


# name -> (factory(window), kind, resolution); rtnb first, then the peers
RTNB = {
    "rtnb Rolling exact": (lambda w: peers.RtnbRolling(w), "exact", None),
    "rtnb Rolling bucketed 1s": (lambda w: peers.RtnbRolling(w, "bucketed", "1s"), "bucketed", "1s"),
    "rtnb pipeline exact": (lambda w: peers.RtnbPipeline(w), "exact", None),
    "rtnb pipeline bucketed 1s": (lambda w: peers.RtnbPipeline(w, "bucketed", "1s"), "bucketed", "1s"),
}
PEERS = {
    "streamz per-event accumulate": lambda w: peers.StreamzPerEvent(w),
    "streamz.dataframe window groupby": lambda w: peers.StreamzDataFrame(w),
    "river TimeRolling per key": lambda w: peers.RiverTimeRolling(w),
    "pandas recompute per batch": lambda w: peers.PandasRecompute(w),
    "SQLite raw table + GROUP BY": lambda w: peers.RawSQL(w, "sqlite"),
    "DuckDB raw table + GROUP BY": lambda w: peers.RawSQL(w, "duckdb"),
}


def check_with_eviction(n: int = 30_000) -> dict[str, str]:
    """Every system on a short window (1 s over 3 s of events with 2 s of disorder), so
    rows leave the window all the time; answers compared with pandas after every batch."""
    events = peers.workload(n, seed=2)
    oracle = peers.Oracle(events)
    parts = peers.batches(events)
    window = "1s"
    verdicts = {}
    systems = {name: (f, kind, "100ms" if res else None) for name, (f, kind, res) in RTNB.items()}
    systems.update({name: (f, "exact", None) for name, f in PEERS.items()})
    for name, (factory, kind, res) in systems.items():
        system = factory(window) if res is None else _with_resolution(name, window, res)
        verdicts[name] = "correct"
        for i, b in enumerate(parts):
            why = peers.disagreement(system.step(b), oracle.answer(
                i, pd.Timedelta(window), kind, None if res is None else pd.Timedelta(res), n=n))
            if why:
                verdicts[name] = f"WRONG after batch {i + 1}: {why}"
                break
        if hasattr(system, "close"):
            system.close()
    return verdicts


def memory_vs_rate(seconds: int = 10, rates: tuple[int, ...] = (2_500, 10_000, 40_000)) -> list[tuple[int, float, float]]:
    """State memory (MB, traced, after the run) of Rolling exact and bucketed 1 h windows
    fed ``seconds`` of event time at several rates: bucketed must not grow with the rate."""
    out = []
    for rate in rates:
        events = peers.workload(seconds * rate, seed=3, rate=rate)
        parts = peers.batches(events)
        row = [rate]
        for kind, res in (("exact", None), ("bucketed", "1s")):
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            system = peers.RtnbRolling("1h", kind, res)
            for b in parts:
                system.agg.update(b)
            system.agg.snapshot()
            row.append((tracemalloc.get_traced_memory()[0] - base) / 2**20)
            tracemalloc.stop()
            del system
        out.append(tuple(row))
    return out


def _with_resolution(name: str, window: str, res: str):
    cls = peers.RtnbRolling if "Rolling" in name else peers.RtnbPipeline
    return cls(window, "bucketed", res)


def main(argv: list[str] | None = None) -> list[Result]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run, seconds)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--windows", nargs="*", default=["60s", "1h"], help="windows to run (default 60s 1h)")
    ap.add_argument("--systems", nargs="*", default=None,
                    help="only the systems whose name contains one of these words (and the one-shot pass "
                         "if 'one-shot' is among them); default: every system, then the eviction and memory checks")
    args = ap.parse_args(argv if argv is not None else [])

    def wanted(name: str) -> bool:
        return args.systems is None or any(w.lower() in name.lower() for w in args.systems)

    scale = 0.05 if args.quick else 1.0
    n_rtnb = int(1_000_000 * scale)
    sizes = {  # events per peer: per-event peers are slow, see the table
        "streamz per-event accumulate": int(50_000 * scale),
        "streamz.dataframe window groupby": int(100_000 * scale),
        "river TimeRolling per key": int(50_000 * scale),
        "pandas recompute per batch": int(200_000 * scale),
        "SQLite raw table + GROUP BY": int(100_000 * scale),
        "DuckDB raw table + GROUP BY": int(100_000 * scale),
    }
    events = peers.workload(n_rtnb, seed=1)
    oracle = peers.Oracle(events)
    results: list[Result] = []
    rep = max(1, args.repeats)

    def line(r: Result) -> None:
        print(f"  {r.system:34s} {r.window:>4s} {r.events:>9,d} ev  {fmt(r.events_per_s):>10s} ev/s "
              f"({fmt(r.cpu_events_per_s):>10s} CPU)  p50 {fmt(r.p50_us):>7s} µs  p99 {fmt(r.p99_us):>7s} µs  "
              f"peak {fmt(r.peak_mb, 1):>6s} MB  {r.verdict}", flush=True)

    for window in args.windows:
        for name, (factory, kind, res) in RTNB.items():
            if not wanted(name):
                continue
            r = measure(name, window, lambda f=factory, w=window: f(w), events, oracle, rep, kind, res)
            results.append(r)
            line(r)
        for name, factory in PEERS.items():
            if not wanted(name):
                continue
            sub = events.iloc[: sizes[name]]
            r = measure(name, window, lambda f=factory, w=window: f(w), sub, oracle, 1)
            results.append(r)
            line(r)
        if wanted("one-shot"):
            r = measure_one_shot(window, events, oracle, rep)
            results.append(r)
            line(r)
    if args.systems is not None:
        print()
        print(table(results))
        return results

    print("\nAnswers with rows leaving the window (1 s window, 3 s of events, 2 s disorder):")
    evicting = check_with_eviction(int(30_000 * max(scale, 0.2)))
    for name, verdict in evicting.items():
        print(f"  {name:34s} {verdict}")
    print("\nState memory of a 1 h window after 10 s of event time, by event rate (MB, traced):")
    for rate, exact, bucketed in memory_vs_rate(10 if not args.quick else 2):
        print(f"  {rate:>7,d} events/s   exact {exact:8.2f} MB   bucketed 1s {bucketed:8.2f} MB")
    print()
    print(table(results, evicting))
    return results


def table(results: list[Result], evicting: dict[str, str] | None = None) -> str:
    ref = {r.window: r.cpu_events_per_s for r in results if r.system == "rtnb pipeline exact"}
    rows = ["| system | window | events | events/s (wall) | events/s (CPU) | p50 µs/batch | p99 µs/batch "
            "| peak MB | rtnb pipeline exact ÷ system (CPU) | answers | answers, 1 s window |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        ratio = ref.get(r.window, np.nan) / r.cpu_events_per_s
        short = (evicting or {}).get(r.system, "–")
        rows.append(f"| {r.system} | {r.window} | {r.events:,} | {fmt(r.events_per_s)} | {fmt(r.cpu_events_per_s)} | "
                    f"{fmt(r.p50_us)} | {fmt(r.p99_us)} | {fmt(r.peak_mb, 1)} | {ratio:,.2f} | {r.verdict} | {short} |")
    return "\n".join(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
