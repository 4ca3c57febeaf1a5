"""Live views measured in a real browser: coalesced rtnb views against the naive pattern.

``python -m benchmarks.bench_views [--seconds 120] [--naive-seconds 20] [--rate 10000]``
``python -m benchmarks.bench_views --quickstart [--seconds 30] [--js-profile] [--tree PATH]``:
the four dashboards of notebook 01 live at once, frames/s each (target >= 8 on a quiet
machine), and where a frame's cost goes in every process (``benchmarks/_quickstart.py``).
``python -m benchmarks.bench_views --table``: per-frame cost of the live table views.
``python -m benchmarks.bench_views --quickstart-kernel``: the same four dashboards in
this process: kernel CPU, messages and bytes per frame (no browser).

Starts JupyterLab (like the browser tests), opens a generated notebook in headless
Chromium (Debian's, through Playwright) and runs, one after the other, in fresh kernels:

- **coalesced** — 4 rtnb views (LiveLine, LiveBars, KpiTile, FreshnessBadge) in a
  Dashboard at ``fps`` frames/s, fed by the pipeline (rolling 1-minute count/sum/mean
  of ``amount`` by 20 countries) from a constant-rate source of ``rate`` events/s on
  the wall clock;
- **naive** — the pattern the views replace: 4 bqplot line charts whose whole 300-point
  history is re-assigned (``x`` then ``y``) on every event, at the same event rate.

Measured, per mode, after a warm-up:

- *DOM updates/s per view*: browser frames (``requestAnimationFrame`` ticks) in which
  something in the view's element changed (MutationObserver on its subtree);
- *kernel→browser bytes/s*: bytes of the kernel WebSocket's incoming messages (the page's
  WebSocket is wrapped before Lab loads);
- *kernel CPU*: CPU seconds of the kernel process per wall second (psutil);
- *kernel RSS and JS heap*: sampled every ``--sample`` seconds (the heap after a forced
  GC, through the DevTools protocol); growth = last sample / first sample after warm-up;
- *latency*: for each display of new data by the freshness badge, the browser's
  ``Date.now()`` minus the newest event time shown (``data-newest``), on the same system
  clock; *newest* is that delay, *oldest* adds the time since the previous frame's
  newest event (events that arrived just after a pull wait for the next frame).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import psutil

from tests.browser._servers import CHROMIUM, CHROMIUM_ARGS, jupyter_lab

SOURCE = '''
import numpy as np, pandas as pd, rtnb
RATE, FPS, SECONDS = {rate}, {fps}, {seconds}
COUNTRIES = np.array(["US", "GB", "DE", "FR", "CA", "AU", "IT", "ES", "NL", "SE",
                      "JP", "BR", "MX", "IN", "PL", "BE", "CH", "AT", "IE", "DK"])

class ConstantRate:
    """RATE events/s (Poisson), arrival == event time, 20 countries."""
    name, keys, measures, id_col = "orders", ("country",), ("amount",), None
    def __init__(self, rate):
        self.rate, self.rng = rate, np.random.default_rng(1)
    def read(self, start, end):
        s, e = start.value, end.value
        n = int(self.rng.poisson(self.rate * (e - s) / 1e9))
        ts = pd.DatetimeIndex(np.sort(self.rng.integers(s, e, n)).astype("datetime64[ns]"))
        return pd.DataFrame({{"ts": ts, "arrival": ts, "country": COUNTRIES[self.rng.integers(0, 20, n)],
                             "amount": self.rng.lognormal(3.0, 1.0, n)}})

runner = rtnb.Runner(ConstantRate(RATE), clock=rtnb.WallClock(), fps=FPS)
'''

COALESCED = SOURCE + '''
pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min", lateness="1s",
                     store=rtnb.MemoryStore(history=600))
store, name = pipe.store, pipe.name
views = [rtnb.LiveLine(store, name, column="sum", points=300), rtnb.LiveBars(store, name, column="sum"),
         rtnb.KpiTile(store, name, column="count"), rtnb.FreshnessBadge(store, name, limit="1s")]
dash = rtnb.Dashboard(views, runner=runner, columns=2)
dash.start(SECONDS)
dash
'''

NAIVE = SOURCE + '''
import bqplot as bq, ipywidgets as widgets
from collections import deque

def naive_chart(i):
    xs, ys = deque(maxlen=300), deque(maxlen=300)
    x_sc, y_sc = bq.DateScale(), bq.LinearScale()
    line = bq.Lines(x=np.array([], dtype="datetime64[ns]"), y=np.array([]), scales={{"x": x_sc, "y": y_sc}})
    fig = bq.Figure(marks=[line], axes=[bq.Axis(scale=x_sc), bq.Axis(scale=y_sc, side="left")],
                    animation_duration=0, layout={{"height": "300px"}})
    fig.add_class("rtnb-naive-view")
    total = [0.0]
    def on_event(t, v):  # the naive pattern: the whole history re-assigned on every event
        total[0] += v
        xs.append(t); ys.append(total[0])
        line.x = np.array(xs, dtype="datetime64[ns]")
        line.y = np.array(ys)
    return fig, on_event

charts = [naive_chart(i) for i in range(4)]

def on_batch(batch):
    for t, v in zip(batch["ts"].to_numpy(), batch["amount"].to_numpy()):
        for _, on_event in charts:
            on_event(t, v)

runner.stream.sink(on_batch)
runner.start(SECONDS)
widgets.GridBox([f for f, _ in charts], layout={{"grid_template_columns": "repeat(2, 1fr)"}})
'''

# Count WebSocket bytes received, before JupyterLab opens its kernel connections.
WS_COUNTER = """(() => {
  const Orig = window.WebSocket; window.__wsBytes = 0; window.__wsMessages = 0;
  function Counted(...args) {
    const ws = new Orig(...args);
    ws.addEventListener('message', e => {
      const d = e.data; window.__wsMessages++;
      window.__wsBytes += typeof d === 'string' ? d.length : (d.byteLength || d.size || 0);
    });
    return ws;
  }
  Counted.prototype = Orig.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Counted[k] = Orig[k];
  window.WebSocket = Counted;
})();"""

KERNEL_IDLE = """() => { const app = window.jupyterapp; const w = app && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }"""

KERNEL_ID = """() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id"""

# Per view: browser frames in which its element changed; badge: display latency.
START_OBSERVERS = """(selector) => {
  const views = Array.from(document.querySelectorAll(selector));
  window.__frames = views.map(() => 0); window.__lat = []; window.__prevNewest = null;
  window.__observers = views.map((el, i) => {
    let pending = false;
    const obs = new MutationObserver(() => {
      if (pending) return; pending = true;
      requestAnimationFrame(() => { window.__frames[i]++; pending = false; });
    });
    obs.observe(el, {subtree: true, attributes: true, childList: true, characterData: true});
    return obs;
  });
  const badge = document.querySelector('.rtnb-freshness-badge');
  if (badge) {
    let last = null;
    const obs = new MutationObserver(() => {
      const b = badge.querySelector('.rtnb-freshness'); if (!b || !b.dataset.newest) return;
      const newest = Number(b.dataset.newest); if (newest === last) return;
      const now = Date.now();
      if (last !== null) window.__lat.push([now - newest, now - last]);
      last = newest;
    });
    obs.observe(badge, {subtree: true, childList: true, attributes: true, characterData: true});
    window.__observers.push(obs);
  }
  return [views.length, window.__wsBytes, window.__wsMessages];
}"""

READ_OBSERVERS = """() => [window.__frames, window.__lat, window.__wsBytes, window.__wsMessages]"""


def write_notebook(path: Path, source: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source.strip())])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def kernel_process(kernel_id: str) -> psutil.Process:
    for p in psutil.process_iter(["cmdline"]):
        if any(kernel_id in part for part in (p.info["cmdline"] or [])):
            return p
    raise RuntimeError(f"no process for kernel {kernel_id}")


def heap_used(cdp) -> int:
    cdp.send("HeapProfiler.collectGarbage")
    return int(cdp.send("Runtime.getHeapUsage")["usedSize"])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def run_mode(browser, base: str, notebook: str, selector: str, *, drawn: str, warmup: float,
             seconds: float, sample: float) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(WS_COUNTER)
    cdp = page.context.new_cdp_session(page)
    try:
        page.goto(f"{base}/lab/tree/{notebook}?reset", timeout=60_000)
        page.wait_for_function(KERNEL_IDLE, timeout=90_000)
        proc = kernel_process(page.evaluate(KERNEL_ID))
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_selector(drawn, state="attached", timeout=90_000)
        time.sleep(warmup)  # a benchmark: let the run reach its steady state
        n_views, bytes0, msgs0 = page.evaluate(START_OBSERVERS, selector)
        cpu0, wall0 = sum(proc.cpu_times()[:2]), time.monotonic()
        rss, heap = [proc.memory_info().rss], [heap_used(cdp)]
        while time.monotonic() - wall0 < seconds:
            time.sleep(min(sample, seconds - (time.monotonic() - wall0)))
            rss.append(proc.memory_info().rss)
            heap.append(heap_used(cdp))
        frames, lat, bytes1, msgs1 = page.evaluate(READ_OBSERVERS)
        cpu1, wall1 = sum(proc.cpu_times()[:2]), time.monotonic()
        span = wall1 - wall0
        return {
            "views": n_views,
            "updates_per_s": [f / span for f in frames],
            "bytes_per_s": (bytes1 - bytes0) / span,
            "messages_per_s": (msgs1 - msgs0) / span,
            "cpu": (cpu1 - cpu0) / span,
            "rss": rss,
            "heap": heap,
            "latency_newest": [a for a, _ in lat],
            "latency_oldest": [b for _, b in lat],
            "seconds": span,
        }
    finally:
        with_kernel_shutdown(page)
        page.close()


def with_kernel_shutdown(page) -> None:
    try:
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    except Exception:  # the page may be gone; the server's own shutdown stops the kernel
        pass


def report(results: dict, args) -> str:
    rows = [
        "| mode | views | DOM updates/s per view (median, min–max) | kernel→browser kB/s | messages/s "
        "| kernel CPU (cores) | RSS MB first→last (growth) | JS heap MB first→last (growth) "
        "| latency newest p50/p95 ms | latency oldest p50/p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, r in results.items():
        ups = r["updates_per_s"]
        rss, heap = r["rss"], r["heap"]
        lat_n, lat_o = r["latency_newest"], r["latency_oldest"]
        lat = (
            f"{pct(lat_n, 50):.0f} / {pct(lat_n, 95):.0f}",
            f"{pct(lat_o, 50):.0f} / {pct(lat_o, 95):.0f}",
        ) if lat_n else ("–", "–")
        rows.append(
            f"| {mode} | {r['views']} | {statistics.median(ups):.1f} ({min(ups):.1f}–{max(ups):.1f}) "
            f"| {r['bytes_per_s'] / 1e3:,.0f} | {r['messages_per_s']:,.0f} | {r['cpu']:.2f} "
            f"| {rss[0] / 2**20:.0f}→{rss[-1] / 2**20:.0f} ({rss[-1] / rss[0] - 1:+.1%}) "
            f"| {heap[0] / 2**20:.1f}→{heap[-1] / 2**20:.1f} ({heap[-1] / heap[0] - 1:+.1%}) "
            f"| {lat[0]} | {lat[1]} |"
        )
    return "\n".join(rows)


def kernel_side(rate: float, fps: float, repeats: int = 5) -> str:
    """The same two patterns in this process, without a browser: CPU and bytes per second.

    Time is simulated (frames every 1/fps of simulated time), so the figures are CPU
    costs, not paced rates: what each pattern would need at ``rate`` events/s.
    """
    import ipywidgets
    import numpy as np
    import pandas as pd

    namespace: dict = {}
    exec(SOURCE.format(rate=rate, fps=fps, seconds=0).replace(
        "runner = rtnb.Runner(ConstantRate(RATE), clock=rtnb.WallClock(), fps=FPS)", ""), namespace)
    ConstantRate = namespace["ConstantRate"]
    import rtnb

    sent = {"bytes": 0, "messages": 0}

    def count(self, msg, buffers=None):
        sent["messages"] += 1
        sent["bytes"] += len(json.dumps(msg, default=str)) + sum(memoryview(b).nbytes for b in buffers or [])

    original = ipywidgets.Widget._send
    ipywidgets.Widget._send = count
    try:
        co_cpu, co_views, co_bytes, na_cpu, na_bytes = [], [], [], [], []
        for _ in range(repeats):
            clock = rtnb.SimClock(start="2024-01-01 12:00")
            runner = rtnb.Runner(ConstantRate(rate), clock=clock, tick=f"{1 / fps}s", fps=fps, frames="sim")
            pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min", lateness="1s",
                                 store=rtnb.MemoryStore(history=600))
            views = [rtnb.LiveLine(pipe.store, pipe.name, column="sum", points=300),
                     rtnb.LiveBars(pipe.store, pipe.name, column="sum"),
                     rtnb.KpiTile(pipe.store, pipe.name, column="count"),
                     rtnb.FreshnessBadge(pipe.store, pipe.name, limit="1s")]
            dash = rtnb.Dashboard(views, runner=runner)
            runner.run("60s")  # warm-up: the window fills, the line reaches 300 points
            dash.detach()
            sent.update(bytes=0, messages=0)
            frames, t_all, t_views = 100, 0.0, 0.0
            for _ in range(frames):
                t0 = time.perf_counter()
                clock.advance(1 / fps)
                runner.pull()
                t1 = time.perf_counter()
                for v in views:
                    v.refresh(clock.now())
                t2 = time.perf_counter()
                t_all += t2 - t0
                t_views += t2 - t1
            seconds = frames / fps
            co_cpu.append(t_all / seconds)
            co_views.append(t_views / seconds)
            co_bytes.append(sent["bytes"] / seconds)

            # The naive pattern, per event: 4 charts, whole 300-point history re-assigned.
            import bqplot as bq
            from collections import deque

            charts = []
            for _ in range(4):
                line = bq.Lines(x=np.array([], dtype="datetime64[ns]"), y=np.array([]),
                                scales={"x": bq.DateScale(), "y": bq.LinearScale()})
                xs, ys = deque(maxlen=300), deque(maxlen=300)
                charts.append((line, xs, ys))
            batch = ConstantRate(rate).read(pd.Timestamp("2024-01-01 12:00"), pd.Timestamp("2024-01-01 12:00:01"))
            events = list(zip(batch["ts"].to_numpy(), batch["amount"].to_numpy()))[:2000]
            sent.update(bytes=0, messages=0)
            t0 = time.perf_counter()
            for t, v in events:
                for line, xs, ys in charts:
                    xs.append(t)
                    ys.append(v)
                    line.x = np.array(xs, dtype="datetime64[ns]")
                    line.y = np.array(ys)
            per_event = (time.perf_counter() - t0) / len(events)
            na_cpu.append(per_event * rate)
            na_bytes.append(sent["bytes"] / len(events) * rate)
    finally:
        ipywidgets.Widget._send = original
    med = statistics.median
    return "\n".join([
        "| pattern (kernel side, no browser) | CPU needed at the event rate (cores) | of which views | bytes/s sent |",
        "|---|---|---|---|",
        f"| coalesced rtnb views, pipeline included | {med(co_cpu):.3f} | {med(co_views):.3f} | {med(co_bytes) / 1e3:,.0f} kB/s |",
        f"| naive: re-assign per event | {med(na_cpu):.1f} | {med(na_cpu):.1f} | {med(na_bytes) / 1e6:,.0f} MB/s |",
        f"| naive / coalesced | {med(na_cpu) / med(co_cpu):,.0f}x | | {med(na_bytes) / med(co_bytes):,.0f}x |",
    ])


def table_cost(keys: int = 20, frames: int = 200) -> str:
    """CPU and bytes per frame of a live table of ``keys`` rows, in this process (no browser):
    rtnb's LiveTable (HTML) against ipydatagrid's DataGrid where installed."""
    import ipywidgets
    import numpy as np
    import pandas as pd

    import rtnb
    from rtnb.widgets import LiveTable

    sent = {"bytes": 0}

    def count(self, msg, buffers=None):
        sent["bytes"] += len(json.dumps(msg, default=str)) + sum(memoryview(b).nbytes for b in buffers or [])

    rng = np.random.default_rng(0)
    tables = [pd.DataFrame({"count": rng.integers(0, 1000, keys), "sum": rng.random(keys) * 1e5,
                            "mean": rng.random(keys) * 100}, index=[f"k{i}" for i in range(keys)])
              for _ in range(frames)]
    original = ipywidgets.Widget._send
    ipywidgets.Widget._send = count
    rows = ["| table view | CPU per frame (ms, median of 5) | bytes per frame |", "|---|---|---|"]
    try:
        def measure(update):
            cpu, nbytes = [], []
            for _ in range(5):
                sent["bytes"] = 0
                t0 = time.perf_counter()
                for i, table in enumerate(tables):
                    update(i, table)
                cpu.append((time.perf_counter() - t0) / frames * 1e3)
                nbytes.append(sent["bytes"] / frames)
            return statistics.median(cpu), statistics.median(nbytes)

        store = rtnb.MemoryStore(history=10)
        view = LiveTable(store, "orders", sort_by="sum", rows=keys)
        t = pd.Timestamp("2024-01-01")

        def html_table(i, table):
            store.put(rtnb.Snapshot(metric="orders", table=table, window=None, watermark=t, newest_event=t,
                                    processed_at=t))
            view.refresh(t)

        cpu, nbytes = measure(html_table)
        rows.append(f"| rtnb LiveTable (HTML, sortable) | {cpu:.2f} | {nbytes:,.0f} |")
        try:
            from ipydatagrid import DataGrid
        except ImportError:
            rows.append("| ipydatagrid DataGrid | not installed (`pip install ipydatagrid`) | |")
        else:
            grid = DataGrid(tables[0])

            def datagrid(i, table):
                grid.data = table.sort_values("sum", ascending=False)

            cpu, nbytes = measure(datagrid)
            rows.append(f"| ipydatagrid DataGrid (`grid.data = frame`) | {cpu:.2f} | {nbytes:,.0f} |")
    finally:
        ipywidgets.Widget._send = original
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=10_000, help="events per second")
    ap.add_argument("--fps", type=float, default=10)
    ap.add_argument("--seconds", type=float, default=120, help="measured seconds, coalesced views")
    ap.add_argument("--naive-seconds", type=float, default=20, help="measured seconds, naive pattern")
    ap.add_argument("--warmup", type=float, default=15)
    ap.add_argument("--sample", type=float, default=15, help="seconds between RSS/heap samples")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    ap.add_argument("--kernel-only", action="store_true", help="only the in-process table (no browser)")
    ap.add_argument("--quickstart", action="store_true", help="notebook 01's four dashboards live: frames/s each")
    ap.add_argument("--table", action="store_true", help="per-frame cost of the live table views")
    ap.add_argument("--quickstart-kernel", action="store_true",
                    help="notebook 01's four dashboards in this process: CPU, messages and bytes per frame")
    ap.add_argument("--frames", type=int, default=200, help="measured frames per dashboard (--quickstart-kernel)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats (--quickstart-kernel)")
    ap.add_argument("--scroll", action="store_true",
                    help="scroll each dashboard onto the screen in turn; frames/s of the one shown (--quickstart)")
    ap.add_argument("--cpu-throttle", type=float, default=1.0,
                    help="slow the page's CPU down this many times (DevTools' CPU throttling: a slower "
                         "machine's page, same run, same kernel) (--quickstart)")
    ap.add_argument("--page-css", default="",
                    help="extra CSS added to the page (try a rendering change, e.g. CSS containment, "
                         "against the same tree in the same run) (--quickstart)")
    ap.add_argument("--height", type=int, default=1000,
                    help="the page's viewport height, px (--quickstart; tall enough: the four dashboards on the screen together)")
    ap.add_argument("--js-profile", action="store_true", help="sample the page's JS (--quickstart)")
    ap.add_argument("--trace", type=float, default=0.0, help="seconds of Chromium trace after the measurement (--quickstart)")
    ap.add_argument("--tree", default=None, help="the checkout whose rtnb and notebook the kernel runs (--quickstart)")
    args = ap.parse_args(argv if argv is not None else [])
    if args.table:
        print(table_cost())
        return {}
    if args.quickstart:
        from benchmarks._quickstart import quickstart, report as quickstart_report

        result = quickstart(args.seconds, args.warmup, js_profile=args.js_profile, tree=args.tree, trace=args.trace,
                            scroll=args.scroll, height=args.height,
                            cpu_throttle=args.cpu_throttle, page_css=args.page_css)
        raw = result["page"].pop("raw_profile", None)
        print(quickstart_report(result))
        if args.json is not None and raw is not None:
            args.json.with_suffix(".cpuprofile").write_text(json.dumps(raw))
        if args.json is not None:
            args.json.write_text(json.dumps(result, indent=1))
        return result
    if args.quickstart_kernel:
        from benchmarks._quickstart import quickstart_kernel

        print(quickstart_kernel(args.frames, args.repeats))
        return {}
    print(f"Kernel side, {args.rate:,.0f} events/s, {args.fps:g} fps, medians of 5 repeats:")
    print(kernel_side(args.rate, args.fps), flush=True)
    if args.kernel_only:
        return {}
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="rtnb-bench-views-"))
    work = tmp / "work"
    work.mkdir()
    margin = args.warmup + 30
    write_notebook(work / "coalesced.ipynb",
                   COALESCED.format(rate=args.rate, fps=args.fps, seconds=args.seconds + margin))
    write_notebook(work / "naive.ipynb",
                   NAIVE.format(rate=args.rate, fps=args.fps, seconds=args.naive_seconds + margin))
    results = {}
    try:
        with jupyter_lab(work, tmp) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                results["coalesced (rtnb views)"] = run_mode(
                    browser, base, "coalesced.ipynb", ".rtnb-dashboard .rtnb-live-line, .rtnb-dashboard .rtnb-live-bars, "
                    ".rtnb-dashboard .rtnb-kpi-tile, .rtnb-dashboard .rtnb-freshness-badge",
                    drawn=".rtnb-live-line path.line", warmup=args.warmup, seconds=args.seconds, sample=args.sample)
                results["naive (re-assign per event)"] = run_mode(
                    browser, base, "naive.ipynb", ".rtnb-naive-view",
                    drawn=".rtnb-naive-view path.line", warmup=args.warmup, seconds=args.naive_seconds, sample=args.sample)
            finally:
                browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    import os

    print(f"rate {args.rate:,.0f} events/s, {args.fps:g} fps, coalesced {args.seconds:g} s, "
          f"naive {args.naive_seconds:g} s measured after {args.warmup:g} s warm-up; "
          f"{os.cpu_count()} cores, load average at the end {os.getloadavg()[0]:.1f}")
    print(report(results, args))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
