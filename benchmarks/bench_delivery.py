"""Delivery for real: polling, SSE and WebSocket served by rtnb.serve, against the lab.

Run: ``python -m benchmarks delivery`` (the default grid, a few minutes) or
``python -m benchmarks.bench_delivery --full`` (polling at 1, 5 and 30 s, SSE and
WebSocket, 1/10/100/1,000 clients, 1 and 10 snapshots per second).

Per row, on loopback:

- a **server process** (``RTNB_BENCH_PIN=1`` pins it to CPU 0 and the clients to CPU 1;
  off by default: on a machine other jobs load, a pinned process waits for its core
  while the other is free): a MemoryStore, a writer putting one snapshot
  (10 keys x count/sum/mean, newest event = the put time) every ``1/rate`` s, and
  ``rtnb.serve`` on the same asyncio loop (as in a kernel);
- a **client process**: V clients of one pattern
  (:mod:`rtnb.serve.clients`, each with its own httpx client or WebSocket), random
  phases, a warm-up, then ``seconds`` measured.

Measured: displayed data age p50/p95/max (time-weighted: random instants per client,
pooled), server CPU seconds per second (psutil, whole server process, writer included),
requests/s, bytes/s received by the clients, open push connections, store reads/s
(version looks + latest reads by the server's hub), reconnects. Beside it, the lab's
:func:`rtnb.tiers.simulate` for the same settings: a Poisson workload of 10,000
events/s (newest event ~ the put time), ``pipeline_interval = 1/rate``,
``pipeline_delay = 0``, no drops, and ``network_latency`` = half the hub's look
interval + 0.25 ms (the server sees a put on its next look at the store, 2.5 ms later on
average; the loopback itself is ~0.1 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import ssl
import tempfile
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

WATCH_EVERY = 0.005
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pin(cpu: int) -> None:
    try:
        if os.environ.get("RTNB_BENCH_PIN", "0") == "1":  # on a shared machine pinning hurts
            os.sched_setaffinity(0, {cpu % os.cpu_count()})
    except (AttributeError, OSError):
        pass
    boost = int(os.environ.get("RTNB_BENCH_BOOST", "0"))
    if boost:  # a higher scheduling priority on a machine other jobs load (needs root)
        try:
            os.nice(-boost)
        except OSError:
            pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------- server process
def _snapshot(i: int, now: pd.Timestamp):
    from rtnb import Counters, Snapshot

    keys = pd.Index([f"C{k:02d}" for k in range(10)], name="country")
    base = np.arange(10, dtype=float) + i
    table = pd.DataFrame({"count": (base * 3).astype(np.int64), "sum": base * 41.5, "mean": base / 7},
                         index=keys)
    return Snapshot(metric="orders", table=table, window=pd.Timedelta("60s"), watermark=now,
                    newest_event=now, processed_at=now, counters=Counters(received=i, accepted=i), version=i)


def _serve(rate: float) -> None:
    _pin(0)
    from rtnb import MemoryStore, WallClock
    from rtnb.serve import Server

    clock = WallClock()
    store = MemoryStore(history=64)

    async def main() -> None:
        srv = Server(store, port=0, run_on="loop", watch_every=WATCH_EVERY, max_connections=10_000,
                     history=64).start()
        loop = asyncio.get_running_loop()
        print(json.dumps({"url": srv.url}), flush=True)
        stop = asyncio.Event()

        async def write() -> None:
            i, t0 = 0, loop.time()
            while not stop.is_set():
                i += 1
                store.put(_snapshot(i, clock.now()))
                await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))

        writer = loop.create_task(write())
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            st, hub = srv.state, srv.state.hub
            print(json.dumps({"version_reads": hub.version_reads, "snapshot_reads": hub.snapshot_reads,
                              "requests": st.requests, "open_push": st.open_push,
                              "not_modified": st.not_modified, "watch_errors": hub.watch_errors,
                              "last_error": hub.last_error,
                              "watching": st._watcher is not None and not st._watcher.done()}), flush=True)
            if not line or line.strip() == "stop":
                break
        stop.set()
        await writer
        srv.stop()
        await srv.wait_stopped()

    asyncio.run(main())


# --------------------------------------------------------------------------- client process
async def _one_set(url: str, pattern: str, interval: float, viewers: int, seconds: float, warmup: float) -> dict:
    import httpx

    from rtnb.clock import WallClock
    from rtnb.codec import time_ms
    from rtnb.serve.clients import Poller, SSEClient, WebSocketClient

    clock = WallClock()
    # one httpx client per viewer (as browsers are): a shared pool serialises requests
    # (100 pollers sharing one AsyncClient got ~20 requests/s out of 100); one TLS
    # context for all, so creating them is cheap
    ctx = ssl.create_default_context()
    own = [httpx.AsyncClient(verify=ctx, timeout=httpx.Timeout(30, read=None)) for _ in range(viewers)] \
        if pattern != "websocket" else []
    if pattern == "polling":
        clients = [Poller(url, "orders", interval=interval, client=own[i], seed=i) for i in range(viewers)]
    elif pattern == "sse":
        clients = [SSEClient(url, "orders", client=own[i], seed=i) for i in range(viewers)]
    else:
        clients = [WebSocketClient(url, "orders", seed=i) for i in range(viewers)]
    tasks = []
    for i, c in enumerate(clients):
        tasks.append(asyncio.ensure_future(c.run()))
        if i % 50 == 49:
            await asyncio.sleep(0.01)  # connect in waves, not one burst
    await asyncio.sleep(warmup)
    before = [(c.requests, c.bytes, c.reconnects, c.count) for c in clients]
    t0 = time_ms(clock.now())
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.sleep(seconds)
    t1 = time_ms(clock.now())
    print(json.dumps({"measured": True}), flush=True)
    after = [(c.requests, c.bytes, c.reconnects, c.count) for c in clients]
    for c in clients:
        c.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(c.aclose() for c in own))
    ages = []
    for i, c in enumerate(clients):
        c.updates = [u for u in c.updates if u.arrived_ms <= t1]
        ages.append(c.data_age(t1, start_ms=t0, samples=max(100, 4000 // viewers), seed=i))
    pooled = np.concatenate(ages) if ages else np.array([])
    d = [tuple(x - y for x, y in zip(a, b)) for a, b in zip(after, before)]
    span = (t1 - t0) / 1000
    return {
        "age_p50": float(np.percentile(pooled, 50)) if pooled.size else None,
        "age_p95": float(np.percentile(pooled, 95)) if pooled.size else None,
        "age_max": float(pooled.max()) if pooled.size else None,
        "requests_per_s": sum(x[0] for x in d) / span, "bytes_per_s": sum(x[1] for x in d) / span,
        "reconnects": sum(x[2] for x in d), "updates_per_s": sum(x[3] for x in d) / span,
        "connected": sum(1 for c in clients if c.count), "span": span,
    }


def _clients(url: str) -> None:
    """One process for every client set of a run: one JSON command per stdin line."""
    _pin(1)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line.strip():
                break
            cmd = json.loads(line)
            print(json.dumps(await _one_set(url, **cmd)), flush=True)

    asyncio.run(main())


# --------------------------------------------------------------------------- one row
@dataclass(frozen=True)
class Case:
    pattern: str  # polling | sse | websocket
    interval: float  # polling interval (s); unused for push
    viewers: int
    rate: float  # snapshots per second

    @property
    def label(self) -> str:
        return f"polling {self.interval:g}s" if self.pattern == "polling" else self.pattern


def _line(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{proc.args[3:]} ended (exit {proc.poll()})")
    return json.loads(line)


def _send(proc: subprocess.Popen, text: str) -> None:
    proc.stdin.write(text + "\n")
    proc.stdin.flush()


class Rig:
    """A server process (one snapshot rate) and a client process, reused across rows."""

    def __init__(self, rate: float) -> None:
        py = [sys.executable, "-m", "benchmarks.bench_delivery"]
        env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
        # stderr to files, never to pipes nobody reads: a full pipe blocks the writer (with
        # 1,000 clients uvicorn's warnings filled it and stalled the server's loop)
        self.logs = [tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")]
        kw = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        self.server = subprocess.Popen(py + ["_serve", str(rate)], stderr=self.logs[0], **kw)
        self.url = _line(self.server)["url"]
        self.clients = subprocess.Popen(py + ["_clients", self.url], stderr=self.logs[1], **kw)

    def stats(self) -> dict:
        _send(self.server, "stats")
        return _line(self.server)

    def measure(self, case: Case, seconds: float, warmup: float) -> dict:
        import psutil

        ps = psutil.Process(self.server.pid)
        _send(self.clients, json.dumps({"pattern": case.pattern, "interval": case.interval,
                                        "viewers": case.viewers, "seconds": seconds, "warmup": warmup}))
        _line(self.clients)  # ready: warm-up over
        c0, w0 = sum(ps.cpu_times()[:2]), time.perf_counter()
        s0 = self.stats()
        _line(self.clients)  # measured
        c1, w1 = sum(ps.cpu_times()[:2]), time.perf_counter()
        s1 = self.stats()
        result = _line(self.clients)
        span = w1 - w0
        reads = lambda s: s["version_reads"] + s["snapshot_reads"]  # noqa: E731
        result.update({"cpu_per_s": (c1 - c0) / span, "store_reads_per_s": (reads(s1) - reads(s0)) / span,
                       "open_connections": s0["open_push"], "watch_errors": s1["watch_errors"],
                       "last_error": s1["last_error"], "watching": s1["watching"]})
        return result

    def errors(self) -> str:
        """The last lines the server and the clients wrote to stderr."""
        out = []
        for name, f in zip(("server", "clients"), self.logs):
            f.seek(0)
            out.append(f"{name}: " + " | ".join(f.read().splitlines()[-3:]))
        return "\n".join(out)

    def close(self) -> None:
        for proc in (self.clients, self.server):
            if proc.poll() is None:
                try:
                    _send(proc, "stop" if proc is self.server else "")
                    proc.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    proc.kill()


def simulated(case: Case) -> dict:
    from rtnb.tiers import Polling, ServerSentEvents, WebSocketPush, simulate

    common = dict(pipeline_interval=pd.Timedelta(seconds=1 / case.rate), pipeline_delay=0,
                  network_latency=pd.Timedelta(seconds=WATCH_EVERY / 2 + 0.00025))
    if case.pattern == "polling":
        pattern = Polling(interval=pd.Timedelta(seconds=case.interval), **common)
    else:
        cls = ServerSentEvents if case.pattern == "sse" else WebSocketPush
        pattern = cls(push_interval=pd.Timedelta(seconds=1 / case.rate), drop_rate=0, **common)
    sim = simulate(10_000.0, pattern, viewers=min(case.viewers, 200), hours=0.25, resolution="5s", seed=1)
    return {"sim_p50": sim.age_p50, "sim_p95": sim.age_p95, "sim_max": sim.age_max,
            "sim_requests_per_s": sim.load_mean["requests_per_s"] * case.viewers / min(case.viewers, 200),
            "sim_bytes_per_s": sim.load_mean["bytes_per_s"] * case.viewers / min(case.viewers, 200)}


def grid(full: bool) -> list[tuple[Case, float]]:
    """(case, measured seconds): every cell with --full, else a bounded subset."""
    out = []
    viewers = (1, 10, 100, 1000)
    for rate in (1.0, 10.0):
        for v in viewers:
            for pattern, interval in (("sse", 0), ("websocket", 0), ("polling", 1.0)):
                # at 1 snapshot/s a window must hold enough sawtooth periods for one client
                out.append((Case(pattern, interval, v, rate), (10.0 if full else 6.0) * (2 if rate < 5 else 1)))
            if full or (v == 100 and rate == 1.0):
                out.append((Case("polling", 5.0, v, rate), 30.0 if full else 20.0))
                out.append((Case("polling", 30.0, v, rate), 90.0 if full else 60.0))
    return out


def run(cases: list[tuple[Case, float]], out=sys.stdout) -> pd.DataFrame:
    rows = []
    rigs: dict[float, Rig] = {}
    try:
        for case, seconds in cases:
            if case.rate not in rigs:
                for r in rigs.values():
                    r.close()
                rigs = {case.rate: Rig(case.rate)}
            rows.append(_row(rigs[case.rate], case, seconds, out))
    finally:
        for r in rigs.values():
            r.close()
    df = pd.DataFrame(rows)
    df["p50_ratio"] = df["age_p50"] / df["sim_p50"]
    return df


def _row(rig: Rig, case: Case, seconds: float, out) -> dict:
    m = rig.measure(case, seconds, warmup=2.0 + case.viewers / 250)
    s = simulated(case)
    r = {"pattern": case.label, "snap/s": case.rate, "clients": case.viewers, **m, **s}
    # The clients may not keep up (httpx costs ~2 ms of client CPU per request on this
    # machine): then the server's CPU is scaled to the offered load, and marked.
    if case.pattern == "polling":
        offered = case.viewers / case.interval
        r["client_bound"] = m["requests_per_s"] < 0.9 * offered
        r["cpu_at_offered"] = m["cpu_per_s"] * offered / max(m["requests_per_s"], 1e-9) if r["client_bound"] \
            else m["cpu_per_s"]
    else:
        expected = case.viewers * case.rate
        r["client_bound"] = m["updates_per_s"] < 0.9 * expected
        r["cpu_at_offered"] = m["cpu_per_s"]
    print(f"{case.label:>12} {case.rate:>4g}/s {case.viewers:>5} clients: age p50 {r['age_p50']:.3f} s "
          f"(sim {r['sim_p50']:.3f}), p95 {r['age_p95']:.3f} (sim {r['sim_p95']:.3f}), "
          f"cpu {r['cpu_per_s']:.3f} s/s, req/s {r['requests_per_s']:.1f}, kB/s {r['bytes_per_s'] / 1000:.1f}, "
          f"store reads/s {r['store_reads_per_s']:.0f}, open {r['open_connections']}, "
          f"reconnects {r['reconnects']}{' CLIENT-BOUND' if r['client_bound'] else ''}", file=out, flush=True)
    return r


def crossover(df: pd.DataFrame, rate: float = 1.0) -> str:
    """Where polling at 1 s starts to cost the server more CPU than SSE (same rate)."""
    sub = df[df["snap/s"] == rate]
    poll = sub[sub["pattern"] == "polling 1s"].set_index("clients")["cpu_at_offered"]
    sse = sub[sub["pattern"] == "sse"].set_index("clients")["cpu_per_s"]
    both = pd.concat({"poll": poll, "sse": sse}, axis=1).dropna().sort_index()
    diff = both["poll"] - both["sse"]
    above = diff[diff > 0]
    if above.empty:
        return f"at {rate:g} snapshot/s polling at 1 s never cost more CPU than SSE up to {both.index.max()} clients"
    v1 = above.index[0]
    below = diff[diff.index < v1]
    if below.empty:
        return f"at {rate:g} snapshot/s polling at 1 s costs more CPU than SSE from the first count measured ({v1})"
    v0 = below.index[-1]
    # log-linear interpolation of the sign change between v0 and v1
    x0, x1, y0, y1 = np.log10(v0), np.log10(v1), diff[v0], diff[v1]
    v = 10 ** (x0 + (x1 - x0) * (-y0) / (y1 - y0))
    return (f"at {rate:g} snapshot/s polling at 1 s passes SSE's server CPU between {v0} and {v1} clients "
            f"(~{v:.0f} by log-linear interpolation)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_delivery")
    ap.add_argument("--full", action="store_true", help="the whole grid (about 40 minutes)")
    ap.add_argument("--csv", help="also write the rows to this CSV file")
    ap.add_argument("--clients", type=int, nargs="+", help="only the rows with these client counts")
    ap.add_argument("--boost", type=int, default=0,
                    help="run server and clients at nice -N (root), for a machine loaded by other jobs")
    args = ap.parse_args(argv)
    if args.boost:
        os.environ["RTNB_BENCH_BOOST"] = str(args.boost)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    cases = [(c, t) for c, t in grid(args.full) if not args.clients or c.viewers in args.clients]
    df = run(cases)
    if args.csv:
        df.to_csv(args.csv, index=False)
    print()
    cols = ["pattern", "snap/s", "clients", "age_p50", "sim_p50", "p50_ratio", "age_p95", "sim_p95", "age_max",
            "cpu_per_s", "cpu_at_offered", "client_bound", "requests_per_s", "updates_per_s", "bytes_per_s",
            "open_connections", "store_reads_per_s", "reconnects"]
    print(df[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for rate in (1.0, 10.0):
        print(crossover(df, rate))
    big = df[(df["pattern"] == "sse") & (df["clients"] == 1000)]
    for _, r in big.iterrows():
        print(f"1,000 SSE clients at {r['snap/s']:g}/s on one server core: age p95 {r['age_p95']:.3f} s "
              f"vs 2 x interval = {2 / r['snap/s']:.3f} s -> {'kept' if r['age_p95'] < 2 / r['snap/s'] else 'NOT kept'}")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        _serve(float(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_clients":
        _clients(sys.argv[2])
    else:
        main(sys.argv[1:])
