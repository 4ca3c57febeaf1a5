"""The serving layer's cost per dashboard frame, and a dashboard on a hung Redis.

Run: ``.venv/bin/python -m benchmarks.bench_store`` (about a minute; ``--quick`` for
fewer frames). It runs the same workload twice in fresh processes, on the store as it
was before the circuit breaker (``--before``, default commit 825cd75: ``rtnb/`` of that
commit, extracted with ``git archive``) and on this tree, each against its own local
redis-server:

- a pipeline (simulated orders, 20 events/s, 1 min window by country) writing a
  ``RedisStore`` and a dashboard's five views (freshness badge, line, bars, KPI tile,
  error panel) reading it, one frame per simulated second;
- **round trips per frame**: every request the redis-py client sends (its
  ``send_packed_command``; a pipeline or transaction is one), divided by the frames;
  the pipeline's own write is one of them;
- **frame time**: wall and CPU time (this process) of one simulated second (pull,
  put, five views' refresh), median over the frames — CPU is the steadier figure on a
  shared machine;
- **hung Redis**: redis-server stopped with SIGSTOP (it accepts connections and never
  answers), the same frames run; wall time per frame, median and max, and the total.
  The store's clock is the simulation's, so ``retry_every=1s`` lets one probe through
  per frame; with a wall clock (the default) a probe costs one deadline per second.

The "after" store runs with its defaults (``timeout=0.1``) and with the old default
``timeout=0.5``, to tell the breaker's effect from the shorter deadline.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BEFORE = "825cd75"


def worker(frames: int, hung: int, timeout: float | None) -> dict:
    """One configuration, in this process: returns the measures as a dict."""
    import redis.connection

    from rtnb import (ErrorPanel, FreshnessBadge, KpiTile, LiveBars, LiveLine, RedisStore,
                      Runner, SimClock, build_pipeline)
    from rtnb.sources.simulate import simulate
    from rtnb.store.redis import LocalRedisServer

    sends = [0]
    original = redis.connection.Connection.send_packed_command

    def counting(self, command, check_health=True):
        sends[0] += 1
        return original(self, command, check_health)

    redis.connection.Connection.send_packed_command = counting
    start = pd.Timestamp("2024-01-01 12:00")
    clock = SimClock(start=start)
    kw = {} if timeout is None else {"timeout": timeout}
    with LocalRedisServer() as server:
        try:
            store = RedisStore(server.url, prefix="bench", retry_every="1s", clock=clock, **kw)
        except TypeError:  # the store before the breaker: no clock
            store = RedisStore(server.url, prefix="bench", retry_every="1s", **kw)
        runner = Runner(simulate("ecommerce_orders", rate=20, seed=1, start=start),
                        clock=clock, tick="1s", frames="sim", fps=1)
        build_pipeline(runner, metric="amount", by="country", window="1min", store=store)
        for view in (FreshnessBadge(store, "amount", limit="5s"),
                     LiveLine(store, "amount", column="sum"),
                     LiveBars(store, "amount", column="sum"),
                     KpiTile(store, "amount", column="sum"), ErrorPanel(store, "amount")):
            runner.on_frame(view.refresh)
        runner.run("10s")                           # warm up: views filled, caches built
        s0 = sends[0]
        walls, cpus = [], []
        for _ in range(frames):
            c0, t0 = time.process_time(), time.perf_counter()
            runner.run("1s")
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        trips = (sends[0] - s0) / frames
        os.kill(server.pid, signal.SIGSTOP)
        hung_walls = []
        try:
            for _ in range(hung):
                t0 = time.perf_counter()
                runner.run("1s")
                hung_walls.append(time.perf_counter() - t0)
        finally:
            os.kill(server.pid, signal.SIGCONT)
        runner.run("2s")
        back = store.status == "up" if hasattr(store, "status") else None
        store.close()
    return {"trips_per_frame": trips, "frame_ms": 1e3 * float(np.median(walls)),
            "frame_cpu_ms": 1e3 * float(np.median(cpus)),
            "hung_median_s": float(np.median(hung_walls)), "hung_max_s": float(max(hung_walls)),
            "hung_total_s": float(sum(hung_walls)), "up_after": back,
            "timeout": getattr(store, "timeout", 0.5)}


def run_config(tree: Path, frames: int, hung: int, timeout: float | None) -> dict:
    env = dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{REPO}")
    args = [sys.executable, "-m", "benchmarks.bench_store", "--worker",
            "--frames", str(frames), "--hung", str(hung)]
    if timeout is not None:
        args += ["--timeout", str(timeout)]
    # cwd = the tree: `python -m` puts it first on sys.path, so its rtnb is imported
    out = subprocess.run(args, env=env, cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--hung", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=None)
    a = parser.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.frames, a.hung, a.timeout)))
        return pd.DataFrame()
    frames, hung = (20, 2) if a.quick else (a.frames, a.hung)
    with tempfile.TemporaryDirectory(prefix="rtnb-before-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", a.before, "rtnb"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        rows = [("before", run_config(Path(tmp), frames, hung, None)),
                ("after", run_config(REPO, frames, hung, None)),
                ("after, timeout=0.5", run_config(REPO, frames, hung, 0.5))]
    table = pd.DataFrame([{"store": name, **r} for name, r in rows]).set_index("store")
    print(f"frames={frames}, hung frames={hung}, before={a.before}")
    print(table.round(3).to_string())
    b, n = table.loc["before"], table.loc["after"]
    print(f"\nround trips per frame: {b.trips_per_frame:.1f} -> {n.trips_per_frame:.1f}; "
          f"hung frame (median): {b.hung_median_s:.2f} s -> {n.hung_median_s:.3f} s "
          f"(x{b.hung_median_s / n.hung_median_s:.0f} shorter, same run)")
    return table


if __name__ == "__main__":
    main(sys.argv[1:])
