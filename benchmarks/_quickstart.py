"""Notebook 01's four dashboards live together: frames/s each, and where a frame's cost
goes in every process (``python -m benchmarks.bench_views --quickstart``).

In the browser (JupyterLab + headless Chromium, Run All, ``--seconds`` measured after
``--warmup``): per dashboard, the browser frames in which its line chart changed and
the ``d`` rewrites of its first line; the frames its kernel made (drawn and held back
by the screen's acknowledgements); the screen's lag its badge reports; per process the
CPU (kernel, Jupyter server, every Chromium process); the page's main thread
(DevTools ``Performance`` metrics: task, script, layout, style) and, with
``--js-profile``, a sampling profile of it by bundle and function. ``--tree PATH``
runs the kernel on another checkout's ``rtnb`` and notebook (a same-run baseline).

In the kernel (``--quickstart-kernel``): the same four dashboards in this process, no
browser: CPU, messages and bytes per dashboard frame.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._views_profile import TRACE_CATEGORIES, PageMetrics, ProcessCpu, main_thread_self_times

__all__ = ["quickstart", "quickstart_dashboards", "quickstart_kernel"]

NAMES = ["orders (2 min window, 10x, table)", "replay 600x", "stall", "bad rows (10x)"]
DASHES = "(dash, replayed, stalled, checked)"

# Per dashboard: browser frames in which its line chart's first line was redrawn, and its
# `d` rewrites; and the kernel WebSocket's bytes and messages (all dashboards together).
QUICKSTART_OBSERVERS = """() => {
  window.__qs = Array.from(document.querySelectorAll('.rtnb-dashboard')).map(d => {
    const fig = d.querySelector('.rtnb-live-line'), r = {frames: 0, rewrites: 0, pending: false};
    const first = () => fig.querySelector('path.line');
    new MutationObserver(recs => {
      // A frame shown: the chart's first line was redrawn (not another mark's path, such
      // as the "now" rule, which moves on frames without new data too).
      const f = first(), mine = recs.filter(x => x.target === f).length;
      r.rewrites += mine;
      if (!mine || r.pending) return;
      r.pending = true; requestAnimationFrame(() => { r.frames++; r.pending = false; });
    }).observe(fig, {attributes: true, attributeFilter: ['d'], subtree: true});
    return r; });
  return [window.__qs.length, window.__wsBytes, window.__wsMessages]; }"""
QUICKSTART_READ = "() => [window.__qs.map(r => [r.frames, r.rewrites]), window.__wsBytes, window.__wsMessages]"
# The newest frame (beat) each dashboard's badge has acknowledged: it does so after the
# paint that follows the frame's last message, so the beats acknowledged per second are the
# frames the page painted, whether the line's points changed in them or not.
ACKED = """() => Array.from(document.querySelectorAll('.rtnb-dashboard')).map(d => {
  const b = d.querySelector('.rtnb-freshness'); return b && b.dataset.acked ? Number(b.dataset.acked) : null; })"""

# The screen's lag (s) each dashboard's badge reports now (data-lag).
LAGS = """() => Array.from(document.querySelectorAll('.rtnb-dashboard')).map(d => {
  const b = d.querySelector('.rtnb-freshness'); return b && b.dataset.lag ? Number(b.dataset.lag) : null; })"""

# Run code in the kernel now; window.__ks[name] resolves with what it printed (the answer
# comes on IOPub behind the frames already sent: a page 38 s behind gets it 38 s later,
# but the kernel's own clock says when it ran).
KERNEL_ASK = """([name, code]) => { window.__ks = window.__ks || {};
  window.__ks[name] = new Promise(res => {
    const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    let out = ''; const f = k.requestExecute({code, store_history: false});
    f.onIOPub = m => { if (m.content && m.content.text) out += m.content.text; };
    f.done.then(() => res(out), () => res(out)); });
  return true; }"""
KERNEL_ANSWER = "(name) => window.__ks[name]"
# What the document holds now (DevTools' Nodes metric also counts nodes removed and not
# yet garbage-collected): elements, and the line charts' hover dots.
ELEMENTS = """() => [document.getElementsByTagName('*').length,
  document.querySelectorAll('.rtnb-live-line path.dot').length]"""
# Frames each dashboard's kernel drew and held back (no screen acknowledgement yet), and
# the kernel's monotonic time.
KERNEL_FRAMES = ("import json as _j, time as _t; print(_j.dumps([_t.monotonic(), [[d.frames, "
                 "getattr(getattr(d, 'acks', None), 'held', 0)] for d in " + DASHES + "]]))")


def _say(*words) -> None:
    import sys

    print(f"[{time.strftime('%H:%M:%S')}]", *words, file=sys.stderr, flush=True)


def _ask_frames(page, name: str) -> None:
    page.evaluate(KERNEL_ASK, [name, KERNEL_FRAMES])


def _kernel_frames(page, name: str) -> tuple[float, list]:
    out = page.evaluate(KERNEL_ANSWER, name)
    t, per = json.loads(out.strip().splitlines()[-1])
    return t, per


# Which dashboards are (at least partly) on the screen now.
ON_SCREEN = """() => Array.from(document.querySelectorAll('.rtnb-dashboard')).map(d => {
  const r = d.getBoundingClientRect(); return r.bottom > 0 && r.top < window.innerHeight; })"""
# Scroll dashboard i to the top of the notebook's view.
SCROLL_TO = "(i) => document.querySelectorAll('.rtnb-dashboard')[i].scrollIntoView({block: 'start'})"


def _scrolled(page, seconds: float, dashboards: int, settle: float = 2.0) -> list[dict]:
    """Each dashboard scrolled onto the screen in turn for ``seconds / dashboards``
    (after ``settle`` s): the frames/s of the one on the screen, and of those off it."""
    seg = seconds / dashboards
    out = []
    for i in range(dashboards):
        page.evaluate(SCROLL_TO, i)
        time.sleep(settle)  # a benchmark: the scrolled-in view's first frames come
        _ask_frames(page, f"s{i}a")
        per0 = page.evaluate(QUICKSTART_READ)[0]
        w0 = time.monotonic()
        time.sleep(seg)
        per1 = page.evaluate(QUICKSTART_READ)[0]
        span = time.monotonic() - w0
        _ask_frames(page, f"s{i}b")
        shown = [(b[0] - a[0]) / span for a, b in zip(per0, per1)]
        out.append({"on_screen": i, "seconds": span, "frames_per_s": shown})
    for i, seg_r in enumerate(out):
        ka, kb = _kernel_frames(page, f"s{i}a"), _kernel_frames(page, f"s{i}b")
        kspan = kb[0] - ka[0]
        seg_r["kernel_frames_per_s"] = [(b[0] - a[0]) / kspan for a, b in zip(ka[1], kb[1])]
    return out


def quickstart(seconds: float, warmup: float, *, js_profile: bool = False, tree: str | None = None,
               trace: float = 0.0, scroll: bool = False, height: int = 1000,
               cpu_throttle: float = 1.0, page_css: str = "") -> dict:
    """Notebook 01 under Run All in JupyterLab, its four dashboards live together.

    With ``scroll``, the measurement scrolls each dashboard onto the screen in turn (the
    page shows one or two at a time, as a user's screen does), and reports each
    dashboard's frames/s while it is on the screen. ``cpu_throttle`` > 1 slows the page's
    CPU down that many times (DevTools' ``Emulation.setCPUThrottlingRate``): how the page
    would fare on a slower machine, with the same kernel, in the same run."""
    from playwright.sync_api import sync_playwright

    from tests.browser import _servers
    from tests.browser._servers import CHROMIUM, CHROMIUM_ARGS, ROOT, jupyter_lab
    from benchmarks.bench_views import KERNEL_IDLE, WS_COUNTER, with_kernel_shutdown

    source = Path(tree) if tree else ROOT
    tmp = Path(tempfile.mkdtemp(prefix="rtnb-bench-quickstart-"))
    work = tmp / "work"
    work.mkdir()
    shutil.copy(source / "notebooks" / "01_quickstart.ipynb", work / "01_quickstart.ipynb")
    # The live cells must outlast the warm-up and the measurement. The browser tests'
    # server environment pins RTNB_LIVE_SECONDS to their own 20 s, so the runs had ended
    # before anything was measured (the first figures of this benchmark were of stopped
    # dashboards: ~1 frame/s, kernel CPU 0.00).
    live = seconds + warmup + 90
    pinned = _servers.server_env
    _servers.server_env = lambda tmp, live_seconds=live: pinned(tmp, live_seconds)
    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(source)  # the kernel's rtnb
    lags: list[list] = []
    try:
        with jupyter_lab(work, tmp) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": height})
            page.add_init_script(WS_COUNTER)
            throttled = page.context.new_cdp_session(page)  # (kept: the throttling lasts while it does)
            if cpu_throttle > 1:
                throttled.send("Emulation.setCPUThrottlingRate", {"rate": cpu_throttle})
            try:
                page.goto(f"{base}/lab/tree/01_quickstart.ipynb?reset", timeout=60_000)
                page.wait_for_function(KERNEL_IDLE, timeout=90_000)
                _say("kernel idle; Run All")
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                page.wait_for_function("() => document.querySelectorAll('.rtnb-dashboard .rtnb-live-line').length >= 4",
                                       timeout=120_000)
                _say("four dashboards shown; warm-up")
                if page_css:
                    page.add_style_tag(content=page_css)
                metrics = PageMetrics(page, js_profile=js_profile)
                time.sleep(warmup)  # a benchmark: let the four runs reach their steady state
                cpu = ProcessCpu()
                _ask_frames(page, "k0")
                _say("measuring")
                n, b0, m0 = page.evaluate(QUICKSTART_OBSERVERS)
                acked0 = page.evaluate(ACKED)
                cpu.restart()
                metrics.start()
                w0 = time.monotonic()
                scrolled = _scrolled(page, seconds, n) if scroll else None
                for _ in range(0 if scroll else 5):
                    time.sleep(seconds / 5)
                    lags.append(page.evaluate(LAGS))
                per, b1, m1 = page.evaluate(QUICKSTART_READ)
                acked1 = page.evaluate(ACKED)
                elements = page.evaluate(ELEMENTS)
                on_screen = page.evaluate(ON_SCREEN)
                _ask_frames(page, "k1")
                span = time.monotonic() - w0
                traced = {}
                if trace > 0:  # after the measurement: a trace costs the page too
                    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
                    f0 = page.evaluate(QUICKSTART_READ)[0]
                    time.sleep(trace)
                    f1 = page.evaluate(QUICKSTART_READ)[0]
                    raw_trace = browser.stop_tracing()
                    if os.environ.get("RTNB_TRACE_OUT"):
                        Path(os.environ["RTNB_TRACE_OUT"]).write_bytes(raw_trace)
                    traced = main_thread_self_times(raw_trace)
                    traced["frames"] = sum(b[0] - a[0] for a, b in zip(f0, f1))
                page_side = metrics.stop()
                cpu_s = cpu.since()
                _say("measured; reading the kernel's frames")
                k0, k1 = _kernel_frames(page, "k0"), _kernel_frames(page, "k1")
            finally:
                with_kernel_shutdown(page)
                page.close()
                browser.close()
    finally:
        _servers.server_env = pinned
        if old_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_path
        shutil.rmtree(tmp, ignore_errors=True)
    shown = sum(f for f, _ in per)
    kspan = k1[0] - k0[0]
    return {
        "tree": str(source), "dashboards": n, "seconds": span, "warmup": warmup,
        "load": os.getloadavg()[0], "cores": os.cpu_count(),
        "frames_per_s": [f / span for f, _ in per],
        "painted_per_s": [(b - a) / span if a is not None and b is not None else float("nan")
                          for a, b in zip(acked0, acked1)],
        "rewrites_per_frame": [r / f if f else float("nan") for f, r in per],
        "kernel_frames_per_s": [(b[0] - a[0]) / kspan for a, b in zip(k0[1], k1[1])],
        "kernel_held_per_s": [(b[1] - a[1]) / kspan for a, b in zip(k0[1], k1[1])],
        "lag_s": lags,
        "bytes_per_s": (b1 - b0) / span, "messages_per_s": (m1 - m0) / span,
        "bytes_per_frame": (b1 - b0) / max(1, shown), "messages_per_frame": (m1 - m0) / max(1, shown),
        "cpu_cores": {k: v / span for k, v in sorted(cpu_s.items(), key=lambda kv: -kv[1])},
        "page": page_side, "trace": traced, "elements": elements, "scrolled": scrolled, "height": height,
        "on_screen": on_screen, "cpu_throttle": cpu_throttle, "page_css": page_css,
    }


def report(r: dict) -> str:
    """The quickstart result as Markdown."""
    cpu = r["cpu_cores"]
    chromium = sum(v for k, v in cpu.items() if k.startswith("chromium"))
    lag_max = [max((x[i] or 0.0) for x in r["lag_s"]) if r["lag_s"] else float("nan") for i in range(r["dashboards"])]
    rows = [
        f"notebook 01 ({r['tree']}), Run All in JupyterLab, {r['dashboards']} dashboards live together, "
        f"{r['seconds']:.0f} s measured after {r['warmup']:g} s, a 1400x{r.get('height', 1000)} viewport"
        + (f", the page's CPU throttled {r['cpu_throttle']:g}x" if r.get("cpu_throttle", 1) > 1 else "")
        + (f", extra CSS `{r['page_css']}` " if r.get("page_css") else " ") +
        f"(on the screen at the end: {', '.join(str(i + 1) for i, v in enumerate(r.get('on_screen') or []) if v) or 'none'}); "
        f"{r['cores']} cores, load average "
        f"{r['load']:.1f}; kernel→browser {r['bytes_per_s'] / 1e3:,.0f} kB/s, {r['messages_per_s']:,.0f} messages/s "
        f"({r['bytes_per_frame'] / 1e3:,.1f} kB and {r['messages_per_frame']:.1f} WebSocket messages per dashboard frame shown)",
        "",
        "| dashboard | frames/s painted (its badge's acknowledged beats) | line chart frames/s shown (wall) | "
        "kernel frames/s drawn | held back by the screen /s | `d` rewrites per frame | screen lag, max over 5 samples (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    if r.get("scrolled"):
        rows[2:] = ["Each dashboard scrolled onto the screen in turn, "
                    f"{r['scrolled'][0]['seconds']:.1f} s each:", "",
                    "| dashboard on the screen | its line chart frames/s shown (wall) | its kernel frames/s drawn | "
                    "frames/s shown of the dashboards off the screen (sum) |", "|---|---|---|---|"]
        for seg in r["scrolled"]:
            i = seg["on_screen"]
            off = sum(f for j, f in enumerate(seg["frames_per_s"]) if j != i)
            rows.append(f"| {NAMES[i]} | {seg['frames_per_s'][i]:.1f} | {seg['kernel_frames_per_s'][i]:.1f} | {off:.1f} |")
    for i, name in enumerate(NAMES[: r["dashboards"]] if not r.get("scrolled") else []):
        painted = r.get("painted_per_s") or [float("nan")] * r["dashboards"]
        rows.append(f"| {name} | {painted[i]:.1f} | {r['frames_per_s'][i]:.1f} | {r['kernel_frames_per_s'][i]:.1f} | "
                    f"{r['kernel_held_per_s'][i]:.1f} | {r['rewrites_per_frame'][i]:.2f} | {lag_max[i]:.1f} |")
    rows += ["", "| process (CPU, cores) | " + " | ".join(cpu) + " | all Chromium |",
             "|---|" + "---|" * (len(cpu) + 1),
             "| | " + " | ".join(f"{v:.2f}" for v in cpu.values()) + f" | {chromium:.2f} |"]
    d = r["page"]["delta"]
    s = r["seconds"]
    shown = max(1e-9, sum(r["frames_per_s"]) * s)
    rows += ["", f"page main thread (DevTools Performance metrics, per wall second; JS heap {r['page']['heap_mb']:.0f} MB, "
             f"{r['page']['nodes']:,.0f} DOM nodes; {r['elements'][0]:,} elements in the document, "
             f"{r['elements'][1]:,} hover dots): task {d.get('TaskDuration', 0) / s:.2f} s/s, script "
             f"{d.get('ScriptDuration', 0) / s:.2f}, layout {d.get('LayoutDuration', 0) / s:.2f} "
             f"({d.get('LayoutCount', 0) / s:.0f}/s), style recalc {d.get('RecalcStyleDuration', 0) / s:.2f} "
             f"({d.get('RecalcStyleCount', 0) / s:.0f}/s); per dashboard frame shown: task "
             f"{d.get('TaskDuration', 0) / shown * 1e3:.1f} ms, script {d.get('ScriptDuration', 0) / shown * 1e3:.1f} ms, "
             f"layout {d.get('LayoutDuration', 0) / shown * 1e3:.1f} ms, style {d.get('RecalcStyleDuration', 0) / shown * 1e3:.1f} ms"]
    tr = r.get("trace") or {}
    if tr.get("self_s"):
        busy = sum(v for _, v in tr["self_s"])
        frames = max(1, tr.get("frames", 0))
        rows += ["", f"Chromium trace of the page's main thread ({tr['span_s']:.1f} s, {frames} dashboard frames shown; "
                 f"busy {busy / tr['span_s']:.0%}), self time by event:", "",
                 "| event | share of busy time | ms per dashboard frame shown |", "|---|---|---|"]
        rows += [f"| {k} | {v / busy:.1%} | {v / frames * 1e3:.1f} |" for k, v in tr["self_s"][:16]]
        c = tr.get("counts") or {}
        if c:  # a rendering pass (style, layout, paint) ends in a Commit to the compositor
            rows += ["", f"rendering passes (Commit) {c.get('Commit', 0) / tr['span_s']:.0f}/s, layouts "
                     f"{c.get('Layout', 0) / tr['span_s']:.0f}/s, style recalcs {c.get('UpdateLayoutTree', 0) / tr['span_s']:.0f}/s, "
                     f"tasks {c.get('RunTask', 0) / tr['span_s']:.0f}/s, timers fired {c.get('TimerFire', 0) / tr['span_s']:.0f}/s, "
                     f"animation frames {c.get('FireAnimationFrame', 0) / tr['span_s']:.0f}/s"]
    prof = r["page"].get("profile")
    if prof:
        total = prof["seconds"] or 1.0
        rows += ["", f"JS profile of the page's main thread ({total:.1f} s sampled), self time by bundle:", "",
                 "| bundle | share |", "|---|---|"]
        rows += [f"| {b} | {v / total:.1%} |" for b, v in prof["by_bundle"][:12]]
        rows += ["", "| function [bundle] | share |", "|---|---|"]
        rows += [f"| {f} | {v / total:.1%} |" for f, v in prof["top_functions"][:20]]
        if prof.get("native_callers"):
            rows += ["", "Who calls the native functions (their nearest JavaScript frame, bundle:line:column):", "",
                     "| native function | callers (share of the profile) |", "|---|---|"]
            rows += [f"| {n} | " + "; ".join(f"{w} {v / total:.1%}" for w, v in cs) + " |"
                     for n, cs in prof["native_callers"]]
            rows += ["", "| JS function, with the native work it called [bundle:line:column] | share |", "|---|---|"]
            rows += [f"| {f} | {v / total:.1%} |" for f, v in prof["js_with_natives"][:20]]
    return "\n".join(rows)


def quickstart_dashboards() -> list:
    """Notebook 01's four dashboards, built as its cells build them (simulated clocks)."""
    import rtnb

    start = "2024-01-01 12:00"
    clock = lambda: rtnb.SimClock(start=start)  # noqa: E731
    orders = rtnb.simulate("ecommerce_orders", rate=200, seed=1, start=start)
    retail = rtnb.replay(rtnb.datasets.load("online_retail"), time_col="invoice_time", speed=600, start=start)
    stalling = rtnb.simulate("ecommerce_orders", rate=100, seed=2, start=start, ingest_delay="100ms",
                             faults={"stalls": [(7.5, 10.5)]})
    messy = rtnb.simulate("ecommerce_orders", rate=100, seed=3, start=start,
                          faults={"malformed": 0.03, "late": 0.01, "max_delay": "20s"})
    return [
        (rtnb.dashboard(orders, metric="amount", by="country", window="2min", limit="5s", unit="EUR",
                        table=True, clock=clock()), 10),
        (rtnb.dashboard(retail, metric="amount", by="country", window="10s", limit="5s", unit="GBP",
                        clock=clock()), 1),
        (rtnb.dashboard(stalling, metric="amount", by="country", window="5s", unit="EUR", limit="1s",
                        stale_after="2s", clock=clock()), 1),
        (rtnb.dashboard(messy, metric="amount", by="country", window="1min", unit="EUR", limit="5s",
                        clock=clock()), 10),
    ]


def quickstart_kernel(frames: int = 200, repeats: int = 3) -> str:
    """Kernel side of notebook 01's four dashboards, in this process (no browser): per
    dashboard frame (a read of 0.1 s of wall time at the cell's speed-up, the pipeline,
    every view), the CPU time and what is sent to the browser — messages and bytes, by
    widget class — after a warm-up that fills the charts' 300 points."""
    import collections

    import ipywidgets

    sent: dict = collections.defaultdict(lambda: [0, 0])

    def count(self, msg, buffers=None):
        c = sent[type(self).__name__]
        c[0] += 1
        c[1] += len(json.dumps(msg, default=str)) + sum(memoryview(b).nbytes for b in buffers or [])

    original = ipywidgets.Widget._send
    ipywidgets.Widget._send = count
    names = ["orders (2 min window, 10x, table)", "replay 600x", "stall", "bad rows (10x)"]
    cpu = {n: [] for n in names}
    per_class: dict = {}
    try:
        for _ in range(repeats):
            dashes = quickstart_dashboards()
            for dash, speedup in dashes:  # warm-up: 300 frames fill the line's 300 points
                for _ in range(300):
                    dash.runner.clock.advance(0.1 * speedup)
                    dash.runner.pull()
                    dash._draw(dash.runner.clock.now())
            sent.clear()
            spent = [0.0] * len(dashes)
            for _ in range(frames):  # interleaved, as the four share one kernel
                for i, (dash, speedup) in enumerate(dashes):
                    t0 = time.process_time()
                    dash.runner.clock.advance(0.1 * speedup)
                    dash.runner.pull()
                    dash._draw(dash.runner.clock.now())
                    spent[i] += time.process_time() - t0
            for n, t in zip(names, spent):
                cpu[n].append(t / frames * 1e3)
            per_class = {k: (v[0] / frames / len(dashes), v[1] / frames / len(dashes)) for k, v in sent.items()}
            for dash, _ in dashes:
                dash.close()
    finally:
        ipywidgets.Widget._send = original
    med = statistics.median
    rows = ["| dashboard | kernel CPU per frame (ms, median of %d) |" % repeats, "|---|---|"]
    rows += [f"| {n} | {med(v):.1f} |" for n, v in cpu.items()]
    total = sum(b for _, b in per_class.values())
    rows += ["", "| widget class | messages per dashboard frame | bytes per dashboard frame |", "|---|---|---|"]
    rows += [f"| {k} | {m:.2f} | {b:,.0f} |" for k, (m, b) in sorted(per_class.items(), key=lambda kv: -kv[1][1])]
    rows += [f"| **all** | {sum(m for m, _ in per_class.values()):.2f} | {total:,.0f} |"]
    return "\n".join(rows)

