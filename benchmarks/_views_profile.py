"""Where a frame's cost goes, in every process of a live notebook page (bench_views).

- :class:`ProcessCpu`: CPU seconds of each process this benchmark started (the
  kernel, the Jupyter server, every Chromium process, Playwright's driver), grouped by
  role, between two samples (psutil; processes that start in between count from 0).
- :class:`PageMetrics`: the page's main thread through Chromium's DevTools protocol:
  ``Performance.getMetrics`` (task, script, layout and style-recalc durations and
  counts, cumulative) and, optionally, a sampling JS profile (``Profiler.start`` /
  ``stop``) summed by bundle (bqplot, the widget manager, anywidget, JupyterLab) and by
  function, with the garbage collector and "(program)" (native work: parsing,
  painting, compositing, the task scheduler) as their own rows.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict

import psutil

__all__ = ["ProcessCpu", "PageMetrics", "role_of"]


def role_of(p: psutil.Process) -> str:
    """What a process is, from its command line."""
    try:
        cmd = " ".join(p.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone"
    if "ipykernel" in cmd:
        return "kernel"
    if "jupyter-lab" in cmd or "jupyter lab" in cmd or "jupyter-notebook" in cmd or "voila" in cmd:
        return "jupyter-server"
    if "chrom" in cmd:
        m = re.search(r"--type=([a-z-]+)", cmd)
        kind = m.group(1) if m else "browser"
        if kind == "utility":
            m = re.search(r"--utility-sub-type=([\w.]+)", cmd)
            kind = "utility " + (m.group(1).split(".")[-1] if m else "")
        return "chromium " + kind
    if "node" in cmd or "playwright" in cmd:
        return "playwright driver"
    return "other: " + cmd[:40]


class ProcessCpu:
    """CPU seconds (user + system) per role, of the processes started by this one."""

    def __init__(self) -> None:
        self._me = psutil.Process(os.getpid())
        self._t0 = self._sample()

    def _sample(self) -> dict[int, tuple[str, float]]:
        out = {}
        for p in self._me.children(recursive=True):
            try:
                t = p.cpu_times()
                out[p.pid] = (role_of(p), t.user + t.system)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return out

    def restart(self) -> None:
        self._t0 = self._sample()

    def since(self) -> dict[str, float]:
        """CPU seconds per role since the start (or the last ``restart``)."""
        now = self._sample()
        per: dict[str, float] = defaultdict(float)
        for pid, (role, cpu) in now.items():
            before = self._t0.get(pid)
            per[role] += cpu - (before[1] if before is not None and before[0] == role else 0.0)
        return dict(per)


_METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "LayoutCount",
            "RecalcStyleCount", "JSHeapUsedSize", "Nodes", "JSEventListeners")


def _bundle(url: str) -> str:
    if not url:
        return ""
    m = re.search(r"/lab/extensions/((?:@[^/]+/)?[^/]+)/", url) or re.search(r"/voila/labextensions/((?:@[^/]+/)?[^/]+)/", url)
    if m:
        return m.group(1)
    if "/static/lab/" in url or "/static/notebook/" in url:
        return "jupyterlab"
    if url.startswith(("blob:", "data:")):
        return "anywidget ESM (the badge)"
    return url.rsplit("/", 1)[-1][:40]


class PageMetrics:
    """The page's main thread: ``Performance`` metrics and an optional JS profile."""

    def __init__(self, page, *, js_profile: bool = False, interval_us: int = 1000) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")
        self.js_profile = js_profile
        if js_profile:
            self.cdp.send("Profiler.enable")
            self.cdp.send("Profiler.setSamplingInterval", {"interval": interval_us})
        self._m0: dict[str, float] = {}

    def metrics(self) -> dict[str, float]:
        got = self.cdp.send("Performance.getMetrics")["metrics"]
        return {m["name"]: float(m["value"]) for m in got if m["name"] in _METRICS}

    def start(self) -> None:
        self._m0 = self.metrics()
        if self.js_profile:
            self.cdp.send("Profiler.start")

    def stop(self) -> dict:
        """The metrics' change since ``start`` and, with a profile, its summary."""
        m1 = self.metrics()
        out: dict = {"delta": {k: m1[k] - self._m0.get(k, 0.0) for k in m1 if not k.startswith(("JSHeap", "Nodes", "JSEvent"))},
                     "heap_mb": m1.get("JSHeapUsedSize", 0.0) / 1e6, "nodes": m1.get("Nodes", 0.0)}
        if self.js_profile:
            raw = self.cdp.send("Profiler.stop")["profile"]
            out["profile"] = summarise(raw)
            out["raw_profile"] = raw  # bench_views --json writes it beside (.cpuprofile: DevTools opens it)
        return out


def summarise(profile: dict, top: int = 25) -> dict:
    """Self time (s) of a CPU profile by bundle and by (function, bundle)."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    self_us: dict[int, float] = defaultdict(float)
    for node_id, dt in zip(profile.get("samples", []), profile.get("timeDeltas", [])):
        self_us[node_id] += dt
    by_bundle: dict[str, float] = defaultdict(float)
    by_fn: dict[tuple[str, str], float] = defaultdict(float)
    for node_id, us in self_us.items():
        frame = nodes[node_id]["callFrame"]
        name, url = frame.get("functionName") or "(anonymous)", frame.get("url", "")
        bundle = _bundle(url) or (name if name.startswith("(") else "native/builtin")
        by_bundle[bundle] += us / 1e6
        by_fn[(name, bundle)] += us / 1e6
    total = sum(by_bundle.values())
    # Who calls the native functions (getPropertyValue, setAttribute...): the nearest
    # JavaScript frame above each sample, by name, bundle and position in its file (the
    # bundles are minified: the position finds the source).
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    callers: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_js: dict[str, float] = defaultdict(float)  # self + native callees, by JS function
    for node_id, us in self_us.items():
        frame = nodes[node_id]["callFrame"]
        name = frame.get("functionName") or "(anonymous)"
        up = node_id
        while up in parent and not nodes[up]["callFrame"].get("url"):
            up = parent[up]
        f = nodes[up]["callFrame"]
        where = (f"{f.get('functionName') or '(anonymous)'} [{_bundle(f.get('url', ''))}:"
                 f"{f.get('lineNumber', 0) + 1}:{f.get('columnNumber', 0) + 1}]") if f.get("url") else "(no JS caller)"
        if not frame.get("url") and not name.startswith("("):
            callers[name][where] += us / 1e6
        if f.get("url"):
            by_js[where] += us / 1e6
    natives = sorted(callers, key=lambda n: -sum(callers[n].values()))[:8]
    return {
        "seconds": total,
        "by_bundle": sorted(by_bundle.items(), key=lambda kv: -kv[1]),
        "top_functions": sorted(((f"{n} [{b}]", s) for (n, b), s in by_fn.items()), key=lambda kv: -kv[1])[:top],
        "native_callers": [(n, sorted(callers[n].items(), key=lambda kv: -kv[1])[:4]) for n in natives],
        "js_with_natives": sorted(by_js.items(), key=lambda kv: -kv[1])[:top],
    }


#: Trace categories: the DevTools timeline (tasks, script, style, layout, paint, GC).
TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "blink.user_timing"]


def main_thread_self_times(trace: bytes) -> dict:
    """Self time (s) by event name on the page's main thread (CrRendererMain of the
    busiest renderer) from a Chromium trace: each complete event's duration minus the
    events nested in it, so the shares add up to the thread's busy time."""
    import json

    events = json.loads(trace)
    events = events["traceEvents"] if isinstance(events, dict) else events
    mains = {(e["pid"], e["tid"]) for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"}
    by_thread: dict = defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in mains and "dur" in e:
            by_thread[(e["pid"], e["tid"])].append(e)
    if not by_thread:
        return {}
    busiest = max(by_thread.values(), key=lambda evs: sum(e["dur"] for e in evs if e["name"] == "RunTask"))
    busiest.sort(key=lambda e: (e["ts"], -e["dur"]))
    self_us: dict[str, float] = defaultdict(float)
    stack: list[list] = []  # [end, name, child time]
    for e in busiest:
        while stack and stack[-1][0] <= e["ts"]:
            end, name, child, dur = stack.pop()
            self_us[name] += dur - child
        if stack:
            stack[-1][2] += e["dur"]
        stack.append([e["ts"] + e["dur"], e["name"], 0.0, e["dur"]])
    while stack:
        end, name, child, dur = stack.pop()
        self_us[name] += dur - child
    span = (max(e["ts"] + e["dur"] for e in busiest) - min(e["ts"] for e in busiest)) / 1e6
    counts: dict[str, int] = defaultdict(int)
    for e in busiest:
        counts[e["name"]] += 1
    return {"span_s": span, "self_s": sorted(((k, v / 1e6) for k, v in self_us.items()), key=lambda kv: -kv[1]),
            "counts": dict(counts)}
