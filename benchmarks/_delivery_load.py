"""The load generator of bench_delivery: viewers on raw asyncio streams, in several processes.

One httpx client per viewer costs ~2-3 ms of client CPU per request here: one process
of them could not drive 1,000 viewers, so the clients, not the server, set the rows'
figures. These viewers speak just enough HTTP/1.1 (keep-alive GET, chunked bodies),
SSE and WebSocket (RFC 6455 client: masked frames out, unmasked text frames in) to
record what a viewer displays: per update its arrival time (the wall clock, as the
server's newest-event times are) and the snapshot's ``newest_event_ms``.

:class:`LoadGenerator` keeps ``procs`` worker processes (``python -m
benchmarks._delivery_load``) alive across rows. A row's viewers are split between them;
each worker connects its share at once (in waves), measures over the same wall-clock
window ``[start, end]`` as the others and the server, then hangs up and answers with
pooled data-age samples, counts, and its own CPU seconds over the window, so the
server's CPU and the clients' are reported apart.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

_NEWEST = re.compile(rb'"newest_event_ms":\s*([0-9.eE+-]+)')


class Viewer:
    """What one viewer saw: arrival and newest-event times (ms), counts."""

    __slots__ = ("arrived", "newest", "version", "requests", "bytes", "reconnects", "missed", "gaps",
                 "errors", "updates")

    def __init__(self) -> None:
        self.arrived: list[float] = []
        self.newest: list[float] = []
        self.version = 0
        self.requests = self.bytes = self.reconnects = self.missed = self.gaps = self.errors = 0
        self.updates = 0

    def show(self, version: int, body: bytes) -> None:
        if version <= self.version:
            return
        if self.version and version > self.version + 1:
            self.missed += version - self.version - 1
        self.version = version
        m = _NEWEST.search(body)
        if m is None:
            return
        self.updates += 1
        self.arrived.append(time.time() * 1000.0)
        self.newest.append(float(m.group(1)))

    def arrival_ages(self, start_ms: float, end_ms: float) -> np.ndarray:
        """Age (s) of each update on arrival in [start, end]: watch + fan-out + network."""
        a, n = np.asarray(self.arrived), np.asarray(self.newest)
        keep = (a >= start_ms) & (a <= end_ms)
        return (a[keep] - n[keep]) / 1000.0

    def counts(self) -> tuple[int, int, int, int]:
        return self.requests, self.bytes, self.reconnects, self.updates

    def ages(self, start_ms: float, end_ms: float, samples: int, rng: np.random.Generator) -> np.ndarray:
        """Displayed data age (s) at stratified random instants of [start, end]: the
        sawtooth, as rtnb.serve.clients' data_age and the lab compute it."""
        if not self.arrived:
            return np.array([])
        arrived = np.asarray(self.arrived)
        newest = np.maximum.accumulate(np.asarray(self.newest))
        begin = max(arrived[0], start_ms)
        if end_ms <= begin:
            return np.array([])
        t = begin + (np.arange(samples) + rng.random(samples)) * (end_ms - begin) / samples
        shown = newest[np.searchsorted(arrived, t, side="right") - 1]
        return (t - shown) / 1000.0


# --------------------------------------------------------------------------- HTTP bits
async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str,
                   headers: dict[str, str]) -> tuple[int, dict[bytes, bytes], int]:
    head = f"GET {path} HTTP/1.1\r\nHost: rtnb\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(head.encode() + b"\r\n")
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k:
            hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, len(raw)


async def _chunks(reader: asyncio.StreamReader):
    """The payloads of a chunked body, as they come."""
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";", 1)[0], 16)
        if size == 0:
            return
        data = await reader.readexactly(size + 2)
        yield data[:-2], len(line) + size + 2


async def _sse(host: str, port: int, metric: str, v: Viewer) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        headers = {"Accept": "text/event-stream"}
        if v.version:
            headers["Last-Event-ID"] = str(v.version)
        v.requests += 1
        status, _, n = await _request(reader, writer, f"/metrics/{metric}/events", headers)
        v.bytes += n
        if status != 200:
            raise ConnectionError(f"HTTP {status}")
        buf = b""
        async for payload, n in _chunks(reader):
            v.bytes += n
            buf += payload
            *events, buf = buf.split(b"\n\n")
            for ev in events:
                if ev.startswith(b"id: "):
                    nl = ev.index(b"\n")
                    v.show(int(ev[4:nl]), ev)
                elif ev.startswith(b"event: gap"):
                    v.gaps += 1
    finally:
        writer.close()


async def _poll(host: str, port: int, metric: str, v: Viewer, interval: float, phase: float,
                stop_at: float) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    loop = asyncio.get_running_loop()
    etag = None
    try:
        t0 = loop.time() + phase
        k = 0
        while time.time() < stop_at:
            delay = t0 + k * interval - loop.time()
            k += 1
            if delay > 0:
                await asyncio.sleep(delay)
            v.requests += 1
            status, hdrs, n = await _request(reader, writer, f"/metrics/{metric}",
                                             {"If-None-Match": etag} if etag else {})
            length = int(hdrs.get(b"content-length", b"0"))
            body = await reader.readexactly(length) if length else b""
            v.bytes += n + length
            if status == 200:
                etag = hdrs[b"etag"].decode()
                v.show(int(etag.strip('"')), body)
    finally:
        writer.close()


async def _ws(host: str, port: int, metric: str, v: Viewer) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        q = f"?last_version={v.version}" if v.version else ""
        v.requests += 1
        status, _, n = await _request(reader, writer, f"/metrics/{metric}/ws{q}", {
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13"})
        v.bytes += n
        if status != 101:
            raise ConnectionError(f"HTTP {status}")
        while True:
            b0, b1 = await reader.readexactly(2)
            size = b1 & 0x7F
            extra = 0
            if size == 126:
                size, extra = struct.unpack("!H", await reader.readexactly(2))[0], 2
            elif size == 127:
                size, extra = struct.unpack("!Q", await reader.readexactly(8))[0], 8
            data = await reader.readexactly(size)
            v.bytes += 2 + extra + size
            opcode = b0 & 0x0F
            if opcode == 8:  # close
                return
            if opcode == 9:  # ping: answer with a (masked) pong
                mask = os.urandom(4)
                writer.write(bytes([0x8A, 0x80 | len(data)]) + mask +
                             bytes(c ^ mask[i % 4] for i, c in enumerate(data)))
                continue
            if data.startswith(b'{"type":"snapshot"'):
                m = re.search(rb'"version":\s*(\d+)', data)
                v.show(int(m.group(1)), data)
            elif data.startswith(b'{"type":"gap"'):
                v.gaps += 1
    finally:
        writer.close()


async def _viewer(pattern: str, host: str, port: int, metric: str, v: Viewer, interval: float,
                  phase: float, stop_at: float) -> None:
    """One viewer until ``stop_at`` (epoch s); a dropped connection is retried after 1 s."""
    while time.time() < stop_at:
        try:
            if pattern == "polling":
                await _poll(host, port, metric, v, interval, phase, stop_at)
            elif pattern == "sse":
                await _sse(host, port, metric, v)
            else:
                await _ws(host, port, metric, v)
        except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            v.errors += 1
        if time.time() < stop_at:
            await asyncio.sleep(1.0)
            v.reconnects += 1


async def run_share(host: str, port: int, pattern: str, interval: float, viewers: int, start: float,
                    end: float, seed: int, samples: int = 4000, metric: str = "orders") -> dict:
    """This process's share of a row: connect ``viewers``, measure over [start, end]."""
    rng = np.random.default_rng(seed)
    vs = [Viewer() for _ in range(viewers)]
    tasks = []
    for i, v in enumerate(vs):
        phase = float(rng.random() * interval) if pattern == "polling" else 0.0
        tasks.append(asyncio.ensure_future(_viewer(pattern, host, port, metric, v, interval, phase, end)))
        if i % 50 == 49:
            await asyncio.sleep(0.02)  # connect in waves: the server's accept backlog is finite
    await asyncio.sleep(max(0.0, start - time.time()))
    before = [v.counts() for v in vs]
    cpu0, wait0 = time.process_time(), _waited()
    await asyncio.sleep(max(0.0, end - time.time()))
    cpu1, wait1 = time.process_time(), _waited()
    after = [v.counts() for v in vs]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    per = max(20, samples // max(viewers, 1))
    ages = [v.ages(start * 1000, end * 1000, per, rng) for v in vs]
    pooled = np.concatenate(ages) if ages else np.array([])
    arrival = np.concatenate([v.arrival_ages(start * 1000, end * 1000) for v in vs]) if vs else np.array([])
    d = np.array([[a - b for a, b in zip(x, y)] for x, y in zip(after, before)]).reshape(-1, 4).sum(axis=0)
    return {"ages": pooled.round(4).tolist(), "arrival": rng.permutation(arrival)[:samples].round(4).tolist(),
            "requests": int(d[0]), "bytes": int(d[1]),
            "reconnects": int(d[2]), "updates": int(d[3]), "connected": sum(1 for v in vs if v.updates),
            "missed": sum(v.missed for v in vs), "gaps": sum(v.gaps for v in vs),
            "errors": sum(v.errors for v in vs), "cpu": cpu1 - cpu0, "waited": wait1 - wait0}


def _waited() -> float:
    """Seconds this process has waited, runnable, for a CPU (Linux schedstat)."""
    try:
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except OSError:
        return float("nan")


def _worker() -> None:
    """A worker process: one JSON command per stdin line, one JSON answer per line."""
    boost = int(os.environ.get("RTNB_BENCH_BOOST", "0"))
    if boost:  # the same priority as the server (bench_delivery --boost)
        try:
            os.nice(-boost)
        except OSError:
            pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        print(json.dumps(asyncio.run(run_share(**json.loads(line)))), flush=True)


class LoadGenerator:
    """``procs`` worker processes that together hold a row's viewers."""

    def __init__(self, host: str, port: int, procs: int = 2) -> None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.host, self.port = host, port
        self.logs = [tempfile.TemporaryFile("w+") for _ in range(procs)]
        self.procs = [subprocess.Popen([sys.executable, "-m", "benchmarks._delivery_load"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=root)
                      for log in self.logs]
        for p in self.procs:  # imported and listening: a row's warm-up is not spent starting Python
            if not p.stdout.readline():
                raise RuntimeError(f"a load worker did not start: {self.errors()}")

    def start(self, pattern: str, interval: float, viewers: int, start: float, end: float, seed: int = 0) -> None:
        """Send a row to the workers (they connect at once and measure over [start, end])."""
        n = len(self.procs)
        for k, p in enumerate(self.procs):
            share = viewers // n + (1 if k < viewers % n else 0)
            if share == 0:
                continue
            p.stdin.write(json.dumps({"host": self.host, "port": self.port, "pattern": pattern,
                                      "interval": interval, "viewers": share, "start": start, "end": end,
                                      "seed": seed * 100 + k, "samples": 4000 * share // viewers}) + "\n")
            p.stdin.flush()
        self._busy = [p for k, p in enumerate(self.procs) if viewers // n + (1 if k < viewers % n else 0)]

    def result(self) -> dict:
        """The row's pooled figures once every worker answered."""
        parts = []
        for p in self._busy:
            line = p.stdout.readline()
            if not line:
                raise RuntimeError(f"a load worker ended (exit {p.poll()}): {self.errors()}")
            parts.append(json.loads(line))
        ages = np.concatenate([np.asarray(x["ages"]) for x in parts]) if parts else np.array([])
        out = {k: sum(x[k] for x in parts) for k in ("requests", "bytes", "reconnects", "updates", "connected",
                                                     "missed", "gaps", "errors", "cpu", "waited")}
        out["ages"] = ages
        out["arrival"] = np.concatenate([np.asarray(x["arrival"]) for x in parts]) if parts else np.array([])
        out["procs"] = len(parts)
        return out

    def errors(self) -> str:
        out = []
        for log in self.logs:
            log.seek(0)
            out.append(" | ".join(log.read().splitlines()[-3:]))
        return "\n".join(out)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.stdin.write("\n")
                    p.stdin.flush()
                    p.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    p.kill()


if __name__ == "__main__":
    _worker()
