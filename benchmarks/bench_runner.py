"""The runner catching up after an outage: catch-up rate, frames, and the loop kept alive.

``python -m benchmarks runner`` (or ``python -m benchmarks.bench_runner [--rate 1330]
[--outage 300] [--repeat 3]``)

A simulated e-commerce source (``rtnb.simulate``) at ``rate`` events/s feeds the usual
pipeline (rolling 1-minute count/sum/mean of ``amount`` by country) into a MemoryStore.
The runner's clock is put ``outage`` seconds ahead of its cursor — the backlog a
5-minute outage leaves (≈ rate × outage rows) — and the runner is started live, on a
real asyncio loop, with a 10 ms heartbeat task beside it. Measured (wall time, median of
``repeat`` runs), for each ``max_rows`` cap:

- *catch-up s*: from ``start()`` until health no longer says ``catching up`` and every
  backlog row has gone through the pipeline;
- *rows/s*: backlog rows / catch-up s (the catch-up rate);
- *frames*: frames the runner made meanwhile (views kept redrawing);
- *largest loop gap*: the heartbeat's largest gap (what a widget message or a cell
  would wait); with no cap the whole backlog is one read and one pipeline update.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

import pandas as pd

import rtnb
from rtnb.clock import WallClock

WALL = WallClock()


async def _catch_up(rate: float, outage: float, max_rows: int | None) -> dict:
    clock = rtnb.SimClock(start="2024-01-01 09:00")
    src = rtnb.simulate("ecommerce_orders", rate=rate, seed=1, start="2024-01-01")
    runner = rtnb.Runner(src, clock=clock, fps=10, max_rows=max_rows, read_timeout=30)
    pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min")
    runner.run("1s")  # the source's rate is known before the outage, as after any run
    before = pipe.counters.received
    cursor = runner.health.sources[src.name].cursor
    clock.advance(pd.Timedelta(seconds=outage))  # the outage: its rows wait
    expected = len(src.read(cursor, clock.now()))  # same events whatever the boundaries
    gaps: list[float] = []

    async def beat() -> None:
        last = WALL.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = WALL.monotonic()
            gaps.append(now - last)
            last = now

    hb = asyncio.get_running_loop().create_task(beat())
    frames0 = runner.health.frames
    t0 = WALL.perf()
    runner.start(speedup=1e-9)  # time nearly stands still: only the backlog is read
    while pipe.counters.received - before < expected or runner.health.catching_up:
        await asyncio.sleep(0.01)
    took = WALL.perf() - t0
    runner.stop()
    await runner.wait()
    hb.cancel()
    return {"rows": expected, "seconds": took, "frames": runner.health.frames - frames0,
            "gap": max(gaps) if gaps else float("nan")}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=1330.0, help="events per second of the source")
    ap.add_argument("--outage", type=float, default=300.0, help="seconds of backlog")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv or [])
    print(f"backlog: {args.outage:g} s of a {args.rate:g} events/s source; median of {args.repeat} runs (wall time)")
    print(f"{'max_rows':>10} {'rows':>9} {'catch-up s':>11} {'rows/s':>10} {'frames':>7} {'largest loop gap s':>19}")
    for cap in (None, 100_000, 20_000, 5_000):
        runs = [asyncio.run(_catch_up(args.rate, args.outage, cap)) for _ in range(args.repeat)]
        sec = statistics.median(r["seconds"] for r in runs)
        print(f"{str(cap):>10} {runs[0]['rows']:>9,} {sec:>11.2f} {runs[0]['rows'] / sec:>10,.0f} "
              f"{statistics.median(r['frames'] for r in runs):>7.0f} {statistics.median(r['gap'] for r in runs):>19.3f}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
