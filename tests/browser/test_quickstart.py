"""The quick-start notebook in a real JupyterLab, Notebook 7 and Voila, seen by Chromium.

Every chart renders, lines change in the DOM at about the frame rate, the freshness
badge turns stale during the injected stall and fresh after it, the error panel shows
the injected bad rows, no view fails to draw a frame, the Pause button freezes the lines
and Resume brings them back (Notebook 7); a screenshot of the first dashboard goes to
tests/browser/artifacts/dashboard.png (set RTNB_SCREENSHOT=docs/dashboard.png to
refresh the README's picture).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import require

from tests.browser._servers import (BIN, ROOT, LIVE_SECONDS, free_port, jupyter_lab, jupyter_notebook, server_env,
                                    stop_group, voila, wait_http)

pytestmark = pytest.mark.timeout(240)

FPS = 10
#: The dashboards of the notebook, in cell order.
ORDERS, REPLAY, STALL, BAD_ROWS = range(4)

KERNEL_IDLE = """() => { const app = window.jupyterapp; const w = app && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }"""

LINES_DRAWN = """(n) => { const ds = document.querySelectorAll('.rtnb-dashboard');
  if (ds.length < n) return false;
  return Array.from(ds).every(d => Array.from(d.querySelectorAll('path.line'))
      .some(p => (p.getAttribute('d') || '').split(/[LC]/).length > 5)); }"""

# Browser frames (requestAnimationFrame ticks) in which a line of the dashboard's
# first chart changed its `d`: what a user sees as updates per second.
LINE_UPDATES = """([i, ms]) => new Promise(res => {
  const fig = document.querySelectorAll('.rtnb-dashboard')[i].querySelector('div.bqplot.figure');
  let frames = 0, pending = false;
  const obs = new MutationObserver(recs => {
    if (pending || !recs.some(r => r.target.classList.contains('line'))) return;
    pending = true; requestAnimationFrame(() => { frames++; pending = false; });
  });
  obs.observe(fig, {attributes: true, attributeFilter: ['d'], subtree: true});
  setTimeout(() => { obs.disconnect(); res(frames * 1000 / ms); }, ms); })"""

BADGE_STATE = """(i) => { const b = document.querySelectorAll('.rtnb-dashboard')[i].querySelector('.rtnb-freshness');
  return b ? b.dataset.state : null; }"""

RUN_STATE = """(i) => { const s = document.querySelectorAll('.rtnb-dashboard')[i].querySelector('.rtnb-run-state');
  return s ? s.dataset.state : null; }"""

# Every change of a dashboard's badge state, with its time (ms), polled every 50 ms.
RECORD_BADGE = """(i) => { window.rtnbBadge = []; const t0 = performance.now();
  window.rtnbBadgeTimer = setInterval(() => {
    const d = document.querySelectorAll('.rtnb-dashboard')[i];
    const b = d && d.querySelector('.rtnb-freshness'), s = window.rtnbBadge;
    if (b && (!s.length || s[s.length - 1][0] !== b.dataset.state))
      s.push([b.dataset.state, performance.now() - t0]); }, 50); }"""
BADGE_TIMELINE = "() => window.rtnbBadge"
# ... in which a 'stale' comes between two 'fresh' (with 'late' on the way in and out).
STALLED_AND_BACK = """() => { const s = (window.rtnbBadge || []).map(x => x[0]);
  const f = s.indexOf('fresh'), st = s.indexOf('stale', f + 1);
  return f >= 0 && st > f && s.indexOf('fresh', st + 1) > st; }"""

REJECTED = """(i) => { const e = document.querySelectorAll('.rtnb-dashboard')[i].querySelector('.rtnb-errors');
  return e ? [Number(e.dataset.rejected), e.querySelectorAll('.rtnb-reasons li').length, e.innerText] : null; }"""

# The lines of every error panel that report an error the runner caught (RunError.describe:
# "<time> frame|pipeline|source <name>: <kind>: <message>"): a view that failed to draw.
RUN_ERRORS = r"""() => Array.from(document.querySelectorAll('.rtnb-dashboard .rtnb-reasons li'))
  .map(li => li.innerText).filter(t => /^\S+ \S+ (frame|pipeline|source) [^:]+: \w+: /.test(t))"""


def charts_render(page, n_dashboards: int) -> None:
    page.wait_for_selector(".rtnb-dashboard div.bqplot.figure path.line", state="attached", timeout=90_000)
    page.wait_for_function(LINES_DRAWN, arg=n_dashboards, timeout=60_000)
    figures = page.locator(".rtnb-dashboard div.bqplot.figure")
    # Per dashboard: the line chart, the bars, two KPI sparklines.
    assert figures.count() >= 4 * n_dashboards
    assert page.locator(".rtnb-dashboard rect.bar").count() > 0


def stalled_and_back(page) -> None:
    """The stall dashboard's badge (recorded by RECORD_BADGE since the run started) went
    fresh, then stale for about the stall, then fresh again. A recording, not a wait for
    the current state: on a slow machine the stall may be over before the charts render."""
    try:
        page.wait_for_function(STALLED_AND_BACK, timeout=LIVE_SECONDS * 1000)
    finally:
        states = page.evaluate(BADGE_TIMELINE)
        print("badge states (state, ms):", states)
    names = [state for state, _ in states]
    stale = names.index("stale", names.index("fresh"))
    back = names.index("fresh", stale)
    # The notebook stalls the source for 0.35 * LIVE s; the badge is stale past 2 s of it.
    expected = 0.35 * LIVE_SECONDS - 2
    assert 0.5 * expected < (states[back][1] - states[stale][1]) / 1000 < expected + 3, states


def test_quickstart_in_jupyterlab(chromium, workdir, tmp_path):
    t0 = time.monotonic()
    with jupyter_lab(workdir, tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1400, "height": 1100})
        try:
            page.goto(f"{base}/lab/tree/01_quickstart.ipynb?reset", timeout=60_000)
            page.wait_for_function(KERNEL_IDLE, timeout=60_000)
            page.evaluate(RECORD_BADGE, STALL)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            charts_render(page, 4)

            rate = page.evaluate(LINE_UPDATES, [ORDERS, 3000])
            assert 0.6 * FPS <= rate <= 1.1 * FPS, f"{rate:.1f} line updates/s at {FPS} fps"

            # The stall: fresh before, stale within the stall, fresh again after it.
            stalled_and_back(page)

            # The bad rows: counted and explained.
            page.wait_for_function(f"() => {{ const r = ({REJECTED})({BAD_ROWS}); return r && r[0] > 0 && r[1] > 0; }}",
                                   timeout=30_000)
            rejected, reasons, text = page.evaluate(REJECTED, BAD_ROWS)
            assert rejected > 0 and reasons > 0 and "row" in text
            assert page.evaluate(RUN_ERRORS) == []  # no view failed to draw a frame

            dash = page.locator(".rtnb-dashboard").nth(ORDERS)
            dash.scroll_into_view_if_needed()
            shot = ROOT / os.environ.get("RTNB_SCREENSHOT", "tests/browser/artifacts/dashboard.png")
            shot.parent.mkdir(parents=True, exist_ok=True)
            dash.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000  # a real picture of the charts, not a blank
        finally:
            page.close()
    assert time.monotonic() - t0 < 120


def test_quickstart_in_notebook7(chromium, workdir, tmp_path):
    try:
        from importlib.metadata import version

        major = int(version("notebook").split(".")[0])
    except Exception:  # not installed, or an odd version string
        major = 0
    require(major >= 7, "notebook>=7", "pip install 'rtnb[test]'")
    t0 = time.monotonic()
    with jupyter_notebook(workdir, tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1400, "height": 1100})
        try:
            page.goto(f"{base}/notebooks/01_quickstart.ipynb", timeout=60_000)
            page.wait_for_function(KERNEL_IDLE, timeout=60_000)
            assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"  # not Lab's UI
            page.evaluate(RECORD_BADGE, STALL)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            charts_render(page, 4)

            rate = page.evaluate(LINE_UPDATES, [ORDERS, 3000])
            assert 0.6 * FPS <= rate <= 1.1 * FPS, f"{rate:.1f} line updates/s at {FPS} fps in Notebook 7"

            # The controls reach the kernel: Pause freezes the lines, Resume brings them back.
            dash = page.locator(".rtnb-dashboard").nth(ORDERS)
            dash.locator("button", has_text="Pause").click()
            page.wait_for_function(f"() => ({RUN_STATE})({ORDERS}) === 'paused'", timeout=10_000)
            assert page.evaluate(LINE_UPDATES, [ORDERS, 1000]) == 0
            dash.locator("button", has_text="Resume").click()
            page.wait_for_function(f"() => ({RUN_STATE})({ORDERS}) === 'running'", timeout=10_000)
            assert page.evaluate(LINE_UPDATES, [ORDERS, 1000]) > 0

            # The stall, from the badge's recorded states (it starts 'stale', with no data yet).
            stalled_and_back(page)

            # No view failed to draw a frame (such failures are listed in the error panels).
            assert page.evaluate(RUN_ERRORS) == []
        finally:
            page.close()
    assert time.monotonic() - t0 < 120


def test_quickstart_in_voila(chromium, workdir, tmp_path):
    require(os.path.exists(BIN / "voila"), "voila", "pip install 'rtnb[voila]'")
    with voila(workdir / "01_quickstart.ipynb", tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1400, "height": 1100})
        try:
            page.goto(base, timeout=120_000)
            charts_render(page, 4)
            rate = page.evaluate(LINE_UPDATES, [ORDERS, 2000])
            assert rate >= 0.5 * FPS, f"{rate:.1f} line updates/s in Voila"
            assert page.evaluate(BADGE_STATE, ORDERS) in ("fresh", "late", "stale")
        finally:
            page.close()


def test_make_demo_starts_jupyterlab(tmp_path):
    require(os.path.exists(BIN / "jupyter"), "jupyter", "the package is not installed in this Python")
    port = free_port()
    args = f"--no-browser --port={port} --port-retries=0 --ServerApp.token='' --ServerApp.open_browser=False"
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        # `-o .venv/.installed`: use the environment the tests run in, do not reinstall it.
        proc = subprocess.Popen(["make", "-C", str(ROOT), "-o", ".venv/.installed", "demo", f"JUPYTER_ARGS={args}"],
                                env=server_env(tmp_path), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/status", proc, log=log, timeout=60)
    finally:
        stop_group(proc)
    assert proc.returncode in (-signal.SIGTERM, 0, 2, -signal.SIGKILL)  # stopped by us, not crashed
