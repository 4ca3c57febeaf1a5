"""Delivery for real: polling, SSE and WebSocket served by rtnb.serve, against the lab.

Run: ``python -m benchmarks delivery`` (the default grid, a few minutes),
``python -m benchmarks.bench_delivery --full`` (polling at 1, 5 and 30 s, SSE and
WebSocket, 1/10/100/1,000 clients, 1 and 10 snapshots per second) or ``--crossover``
(polling at 1 s against SSE at 10..1,000 viewers, pairs interleaved, repeated: where
polling's server CPU passes SSE's).

Per row, on loopback:

- a **server process** (``RTNB_BENCH_PIN=1`` pins it to CPU 0 and the clients to CPU 1;
  off by default: on a machine other jobs load, a pinned process waits for its core
  while the other is free): a MemoryStore, a writer putting one snapshot
  (10 keys x count/sum/mean, newest event = the put time) every ``1/rate`` s, and
  ``rtnb.serve`` on the same asyncio loop (as in a kernel);
- a **load generator** (:mod:`benchmarks._delivery_load`): ``--procs`` worker
  processes (2) sharing the V viewers, each viewer its own connection on raw asyncio
  streams (HTTP/1.1 keep-alive, chunked SSE, RFC 6455 frames): ~50 us of client CPU per
  update, where httpx cost ~2-3 ms and one process of it could not drive 1,000 viewers.
  Random phases, a warm-up, then ``seconds`` measured over one wall-clock window
  shared by the workers and the server.

Measured: displayed data age p50/p95/max (time-weighted: random instants per client,
pooled) and the age on arrival, server CPU seconds per second (psutil, whole server
process, writer included) apart from the clients' CPU, how long each waited, runnable,
for a CPU (Linux schedstat: what the machine's other jobs took), the server loop's lag
(a 10 ms timer's lateness), requests/s, updates/s, bytes/s received by the clients,
open push connections, store reads/s (version looks + latest reads by the server's
hub), reconnects, versions missed. Beside it, the lab's
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
    """The server process: a writer and rtnb.serve on one loop; stats on each stdin line.

    Besides the hub's counts it measures its loop's lag (a 10 ms timer's lateness):
    what a put waits before the hub, or a frame before its client, gets the loop.
    ``RTNB_BENCH_PROFILE=FILE`` writes a cProfile of the whole run there."""
    _pin(0)
    from rtnb import MemoryStore, WallClock
    from rtnb.serve import Server

    clock = WallClock()
    store = MemoryStore(history=64)
    if os.environ.get("RTNB_BENCH_HTTP"):  # h11 or httptools: what "auto" means (any rtnb version)
        import uvicorn.config

        uvicorn.config.HTTP_PROTOCOLS["auto"] = uvicorn.config.HTTP_PROTOCOLS[os.environ["RTNB_BENCH_HTTP"]]
    profile = os.environ.get("RTNB_BENCH_PROFILE")
    if profile:
        import cProfile

        prof = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
        prof.enable()

    async def main() -> None:
        srv = Server(store, port=0, run_on="loop", watch_every=WATCH_EVERY, max_connections=10_000,
                     history=64).start()
        loop = asyncio.get_running_loop()
        print(json.dumps({"url": srv.url}), flush=True)
        stop = asyncio.Event()
        lags: list[float] = []

        async def write() -> None:
            i, t0 = 0, loop.time()
            while not stop.is_set():
                i += 1
                store.put(_snapshot(i, clock.now()))
                await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))

        async def lag() -> None:
            while not stop.is_set():
                t = loop.time()
                await asyncio.sleep(0.01)
                lags.append(loop.time() - t - 0.01)

        tasks = [loop.create_task(write()), loop.create_task(lag())]
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            st, hub = srv.state, srv.state.hub
            got = np.array(lags) if lags else np.zeros(1)
            lags.clear()
            print(json.dumps({"version_reads": hub.version_reads, "snapshot_reads": hub.snapshot_reads,
                              "requests": st.requests, "open_push": st.open_push,
                              "not_modified": st.not_modified, "watch_errors": hub.watch_errors,
                              "last_error": hub.last_error, "lag_p50": float(np.percentile(got, 50)),
                              "lag_p95": float(np.percentile(got, 95)), "lag_max": float(got.max()),
                              "watching": st._watcher is not None and not st._watcher.done()}), flush=True)
            if not line or line.strip() == "stop":
                break
        stop.set()
        await asyncio.gather(*tasks)
        srv.stop()
        await srv.wait_stopped()

    asyncio.run(main())
    if profile:
        prof.disable()
        prof.dump_stats(profile)


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


def _waited(pid: int) -> float:
    """Seconds the process's threads have waited, runnable, for a CPU (Linux schedstat):
    how much the machine's other jobs held the server back."""
    total = 0.0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1]) / 1e9
    except OSError:
        return float("nan")
    return total


class Rig:
    """A server process (one snapshot rate) and the load generator's processes, reused
    across rows."""

    def __init__(self, rate: float, procs: int = 2) -> None:
        from urllib.parse import urlsplit

        from benchmarks._delivery_load import LoadGenerator

        py = [sys.executable, "-m", "benchmarks.bench_delivery"]
        # RTNB_BENCH_SERVER_TREE: serve with the rtnb/ of another tree (an older commit,
        # for a same-run comparison); the bench's own code stays this one
        tree = os.environ.get("RTNB_BENCH_SERVER_TREE", ROOT)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([tree, ROOT, os.environ.get("PYTHONPATH", "")])}
        # stderr to a file, never to a pipe nobody reads: a full pipe blocks the writer (with
        # 1,000 clients uvicorn's warnings filled it and stalled the server's loop)
        self.log = tempfile.TemporaryFile("w+")
        self.server = subprocess.Popen(py + ["_serve", str(rate)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True, env=env, cwd=tree, stderr=self.log)
        self.url = _line(self.server)["url"]
        u = urlsplit(self.url)
        self.load = LoadGenerator(u.hostname, u.port, procs=procs)
        self.rows = 0

    def stats(self) -> dict:
        _send(self.server, "stats")
        return _line(self.server)

    def measure(self, case: Case, seconds: float, warmup: float) -> dict:
        import psutil

        ps = psutil.Process(self.server.pid)
        start = time.time() + warmup
        end = start + seconds
        self.rows += 1
        self.load.start(case.pattern, case.interval, case.viewers, start, end, seed=self.rows)
        time.sleep(max(0.0, start - time.time()))
        c0, q0, w0 = sum(ps.cpu_times()[:2]), _waited(self.server.pid), time.perf_counter()
        s0 = self.stats()
        time.sleep(max(0.0, end - time.time()))
        c1, q1, w1 = sum(ps.cpu_times()[:2]), _waited(self.server.pid), time.perf_counter()
        s1 = self.stats()
        got = self.load.result()
        span = w1 - w0
        reads = lambda s: s["version_reads"] + s["snapshot_reads"]  # noqa: E731
        ages, arrival = got.pop("ages"), got.pop("arrival")
        pct = lambda a, q: float(np.percentile(a, q)) if a.size else float("nan")  # noqa: E731
        return {
            "age_p50": pct(ages, 50), "age_p95": pct(ages, 95), "age_max": float(ages.max()) if ages.size else None,
            "arrival_p50": pct(arrival, 50), "arrival_p95": pct(arrival, 95),
            "requests_per_s": got["requests"] / span, "bytes_per_s": got["bytes"] / span,
            "updates_per_s": got["updates"] / span, "reconnects": got["reconnects"], "connected": got["connected"],
            "missed": got["missed"], "errors": got["errors"],
            "cpu_per_s": (c1 - c0) / span, "waited_per_s": (q1 - q0) / span, "client_cpu_per_s": got["cpu"] / span,
            "client_waited_per_s": got["waited"] / span, "client_procs": got["procs"],
            "store_reads_per_s": (reads(s1) - reads(s0)) / span, "open_connections": s0["open_push"],
            "lag_p50": s1["lag_p50"], "lag_p95": s1["lag_p95"], "lag_max": s1["lag_max"],
            "watch_errors": s1["watch_errors"], "last_error": s1["last_error"], "watching": s1["watching"],
        }

    def errors(self) -> str:
        """The last lines the server and the clients wrote to stderr."""
        self.log.seek(0)
        return "server: " + " | ".join(self.log.read().splitlines()[-3:]) + "\nclients: " + self.load.errors()

    def close(self) -> None:
        self.load.close()
        if self.server.poll() is None:
            try:
                _send(self.server, "stop")
                _line(self.server)
                self.server.wait(timeout=30)
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                self.server.kill()


def simulated(case: Case) -> dict:
    from rtnb.tiers import Polling, ServerSentEvents, WebSocketPush, simulate

    common = dict(pipeline_interval=pd.Timedelta(seconds=1 / case.rate), pipeline_delay=0,
                  network_latency=pd.Timedelta(seconds=WATCH_EVERY / 2 + 0.00025))
    if case.pattern == "polling":
        pattern = Polling(interval=pd.Timedelta(seconds=case.interval), **common)
    else:
        cls = ServerSentEvents if case.pattern == "sse" else WebSocketPush
        pattern = cls(push_interval=pd.Timedelta(seconds=1 / case.rate), drop_rate=0, **common)
    n = min(max(case.viewers, 1), 200)  # the lab's loads scale with the viewers: simulate up to 200
    sim = simulate(10_000.0, pattern, viewers=n, hours=0.25, resolution="5s", seed=1)
    scale = case.viewers / n
    return {"sim_p50": sim.age_p50, "sim_p95": sim.age_p95, "sim_max": sim.age_max,
            "sim_requests_per_s": sim.load_mean["requests_per_s"] * scale,
            "sim_messages_per_s": sim.load_mean["messages_per_s"] * scale,
            "sim_bytes_per_s": sim.load_mean["bytes_per_s"] * scale}


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


CROSSOVER_VIEWERS = (10, 25, 50, 100, 250, 500, 1000)


def crossover_grid(viewers=CROSSOVER_VIEWERS, rates=(1.0, 10.0), seconds: float = 8.0,
                   repeat: int = 2) -> list[tuple[Case, float]]:
    """Polling at 1 s against SSE, per viewer count and rate, ``repeat`` times with the
    order of the pair alternated (a drift in the machine's load hits both alike), and
    a row with no viewers: the server's own cost (the hub's looks, the writer)."""
    out = []
    for rate in rates:
        for k in range(repeat):
            out.append((Case("sse", 0.0, 0, rate), seconds))
            for v in viewers:
                pair = [Case("sse", 0.0, v, rate), Case("polling", 1.0, v, rate)]
                out += [(c, seconds) for c in (pair if (k + v) % 2 == 0 else pair[::-1])]
    return out


def run(cases: list[tuple[Case, float]], out=sys.stdout, procs: int = 2) -> pd.DataFrame:
    rows = []
    rigs: dict[float, Rig] = {}
    try:
        for case, seconds in cases:
            if case.rate not in rigs:
                for r in rigs.values():
                    r.close()
                rigs = {case.rate: Rig(case.rate, procs=procs)}
            rows.append(_row(rigs[case.rate], case, seconds, out))
    finally:
        for r in rigs.values():
            r.close()
    df = pd.DataFrame(rows)
    df["p50_ratio"] = df["age_p50"] / df["sim_p50"]
    return df


def _row(rig: Rig, case: Case, seconds: float, out) -> dict:
    m = rig.measure(case, seconds, warmup=2.0 + case.viewers / 200)
    s = simulated(case)
    r = {"pattern": case.label, "snap/s": case.rate, "clients": case.viewers, **m, **s,
         "load": os.getloadavg()[0]}
    # Was the offered load delivered? (less than 90%: the server, or a client, fell behind;
    # "waited" says which one the machine held back)
    if case.pattern == "polling":
        r["behind"] = m["requests_per_s"] < 0.9 * case.viewers / case.interval
    else:
        r["behind"] = m["updates_per_s"] < 0.9 * case.viewers * case.rate
    print(f"{case.label:>12} {case.rate:>4g}/s {case.viewers:>5} clients: age p50 {r['age_p50']:.3f} s "
          f"(sim {r['sim_p50']:.3f}), p95 {r['age_p95']:.3f} (sim {r['sim_p95']:.3f}), "
          f"on arrival p50/p95 {r['arrival_p50']:.3f}/{r['arrival_p95']:.3f}, "
          f"server cpu {r['cpu_per_s']:.3f} s/s (waited for a cpu {r['waited_per_s']:.3f} s/s), clients cpu {r['client_cpu_per_s']:.3f} s/s (waited {r['client_waited_per_s']:.3f}), "
          f"loop lag p95 {r['lag_p95'] * 1000:.1f} ms max {r['lag_max'] * 1000:.0f} ms, "
          f"req/s {r['requests_per_s']:.1f}, upd/s {r['updates_per_s']:.1f}, kB/s {r['bytes_per_s'] / 1000:.1f}, "
          f"store reads/s {r['store_reads_per_s']:.0f}, open {r['open_connections']}, "
          f"reconnects {r['reconnects']}, missed {r['missed']}, load {r['load']:.1f}"
          f"{' BEHIND' if r['behind'] else ''}", file=out, flush=True)
    return r


def compare(cases: list[tuple[Case, float]], tree: str, repeat: int = 2, procs: int = 2) -> pd.DataFrame:
    """Same-run A/B: each case served by the ``rtnb/`` of ``tree`` (say, a checkout of an
    older commit) and by this one, each with uvicorn on h11 and on httptools, in an
    order alternated per repeat; one fresh server per row."""
    order = [(tree, "h11"), (ROOT, "httptools"), (tree, "httptools"), (ROOT, "h11")]
    frames = []
    for k in range(repeat):
        for case, seconds in cases:
            for where, http in (order if k % 2 == 0 else order[::-1]):
                os.environ["RTNB_BENCH_SERVER_TREE"], os.environ["RTNB_BENCH_HTTP"] = where, http
                df = run([(case, seconds)], procs=procs)
                df["code"], df["http"] = ("this" if where == ROOT else "other"), http
                frames.append(df)
    for name in ("RTNB_BENCH_SERVER_TREE", "RTNB_BENCH_HTTP"):
        os.environ.pop(name, None)
    return pd.concat(frames, ignore_index=True)


def crossover(df: pd.DataFrame, rate: float = 1.0) -> str:
    """Where polling at 1 s starts to cost the server more CPU than SSE (same rate):
    the smallest measured viewer count from which polling's median CPU stays above SSE's."""
    sub = df[(df["snap/s"] == rate) & (df["clients"] > 0)]
    med = sub.groupby(["pattern", "clients"])["cpu_per_s"].median().unstack(0)
    if "polling 1s" not in med or "sse" not in med:
        return f"at {rate:g} snapshot/s: polling at 1 s and SSE not both measured"
    diff = (med["polling 1s"] - med["sse"]).dropna().sort_index()
    if diff.empty:
        return f"at {rate:g} snapshot/s: no viewer count measured for both"
    above = [v for v in diff.index if (diff.loc[v:] > 0).all()]
    counts = ", ".join(f"{v}: {med.loc[v, 'polling 1s']:.3f} vs {med.loc[v, 'sse']:.3f}" for v in diff.index)
    if not above:
        return (f"at {rate:g} snapshot/s polling at 1 s does not stay above SSE's server CPU up to "
                f"{diff.index.max()} viewers (CPU s/s polling vs SSE, medians: {counts})")
    v1 = above[0]
    where = "from the smallest count measured" if v1 == diff.index[0] else \
        f"between {diff.index[list(diff.index).index(v1) - 1]} and {v1} viewers"
    return (f"at {rate:g} snapshot/s polling at 1 s passes SSE's server CPU {where} "
            f"(CPU s/s polling vs SSE, medians: {counts})")


def unit_costs(df: pd.DataFrame) -> pd.DataFrame:
    """Server CPU per request (polling) and per pushed message (SSE/WS) above the idle
    row's, per rate: the slopes that decide the crossover."""
    out = []
    for rate, sub in df.groupby("snap/s"):
        idle = sub[sub["clients"] == 0]["cpu_per_s"].median() if (sub["clients"] == 0).any() else np.nan
        for pattern, rows in sub[sub["clients"] > 0].groupby("pattern"):
            per = rows["requests_per_s"] if pattern.startswith("polling") else rows["updates_per_s"]
            us = ((rows["cpu_per_s"] - idle) / per.clip(lower=1e-9) * 1e6).median()
            out.append({"snap/s": rate, "pattern": pattern, "idle_cpu_per_s": idle,
                        "cpu_us_per_request_or_message": us})
    return pd.DataFrame(out)


COLUMNS = ["pattern", "snap/s", "clients", "age_p50", "sim_p50", "p50_ratio", "age_p95", "sim_p95", "age_max",
           "arrival_p50", "arrival_p95", "cpu_per_s", "waited_per_s", "client_cpu_per_s", "client_waited_per_s", "lag_p95",
           "requests_per_s", "sim_requests_per_s", "updates_per_s", "sim_messages_per_s", "bytes_per_s", "sim_bytes_per_s",
           "open_connections", "store_reads_per_s", "reconnects", "missed", "behind", "load"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_delivery")
    ap.add_argument("--full", action="store_true", help="the whole grid (about 40 minutes)")
    ap.add_argument("--crossover", action="store_true",
                    help="polling at 1 s vs SSE at 10..1,000 viewers, 1 and 10 snapshots/s, repeated")
    ap.add_argument("--csv", help="also write the rows to this CSV file")
    ap.add_argument("--clients", type=int, nargs="+", help="only the rows with these client counts")
    ap.add_argument("--rates", type=float, nargs="+", help="only the rows with these snapshot rates")
    ap.add_argument("--patterns", nargs="+", help="only these patterns (sse, websocket, polling)")
    ap.add_argument("--seconds", type=float, default=8.0, help="measured seconds per --crossover row")
    ap.add_argument("--repeat", type=int, default=2, help="repeats of each --crossover pair")
    ap.add_argument("--procs", type=int, default=2, help="load-generator processes")
    ap.add_argument("--compare-tree", help="A/B: serve the chosen rows with this tree's rtnb/ and with this one's, "
                                           "on h11 and httptools (--repeat times)")
    ap.add_argument("--boost", type=int, default=0,
                    help="run server and clients at nice -N (root), for a machine loaded by other jobs")
    args = ap.parse_args(argv)
    if args.boost:
        os.environ["RTNB_BENCH_BOOST"] = str(args.boost)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    if args.crossover:
        cases = crossover_grid(tuple(args.clients or CROSSOVER_VIEWERS), tuple(args.rates or (1.0, 10.0)),
                               args.seconds, args.repeat)
    else:
        cases = [(c, t) for c, t in grid(args.full) if (not args.clients or c.viewers in args.clients)
                 and (not args.rates or c.rate in args.rates)]
    if args.patterns:
        cases = [(c, t) for c, t in cases if c.pattern in args.patterns]
    if args.compare_tree:
        df = compare(cases, os.path.abspath(args.compare_tree), args.repeat, args.procs)
        if args.csv:
            df.to_csv(args.csv, index=False)
        cols = ["age_p50", "age_p95", "arrival_p50", "cpu_per_s", "waited_per_s", "lag_p95", "store_reads_per_s",
                "updates_per_s"]
        print(df.groupby(["pattern", "snap/s", "clients", "code", "http"])[cols].median().round(3).to_string())
        return
    df = run(cases, procs=args.procs)
    if args.csv:
        df.to_csv(args.csv, index=False)
    print()
    print(df[[c for c in COLUMNS if c in df]].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print()
    print(unit_costs(df).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for rate in sorted(df["snap/s"].unique()):
        print(crossover(df, rate))
    big = df[(df["pattern"] == "sse") & (df["clients"] == 1000)]
    for _, r in big.iterrows():
        print(f"1,000 SSE clients at {r['snap/s']:g}/s: age p95 {r['age_p95']:.3f} s vs 2 x interval = "
              f"{2 / r['snap/s']:.3f} s -> {'kept' if r['age_p95'] < 2 / r['snap/s'] else 'NOT kept'} "
              f"(server CPU {r['cpu_per_s']:.3f} s/s, waited for a CPU {r['waited_per_s']:.3f} s/s)")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        _serve(float(sys.argv[2]))
    else:
        main(sys.argv[1:])
