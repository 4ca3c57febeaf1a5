"""The quick-start notebook in a real JupyterLab, Notebook 7 and Voila, seen by Chromium.

Behaviour only, never a rate (rates are measured by ``benchmarks/bench_views.py``), and
every wait is on a state of the page or the kernel (generous budgets), never a fixed
sleep. In every app: each chart renders and its lines redraw; no two visible lines of a
chart share a colour and the bars have the lines' colours; the invisible hover dots
come while the mouse is over a chart, paint nothing (they once drew as black trails)
and go when it leaves; no Markdown cell is typeset by MathJax;
the freshness badge turns stale during the injected stall and fresh after it; no view
fails to draw a frame. Lab and Notebook 7 share these checks (:func:`quickstart_page`),
then, in Lab: hovering a point shows a tooltip with key and time, the error panel shows
the injected bad rows, and after ``dash.stop()`` the badge says "stopped" and Start runs
it again; in Notebook 7: Pause makes the badge say "paused" and Resume runs it again.
In Voila: after its live duration a dashboard says "stopped" and Start runs it again.
A screenshot of the first dashboard goes to tests/browser/artifacts/dashboard.png
(``RTNB_SCREENSHOT=docs/dashboard.png`` writes the README's picture; ``make screenshots``
refreshes every picture in docs/).

Checked elsewhere in the browser: the badge turning stale while a cell blocks the kernel
for 3 s, and saying "kernel restarted" after a restart (test_badge.py, on a dashboard of
the badge alone, which a loaded page keeps up with); a wheel-zoomed chart following now,
holding and following again (test_zoom.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time

import pytest

from tests.conftest import require

from tests.browser._lab import EXECUTE, KERNEL_IDLE, LINES_REDRAW, MATHJAX, SLOW, shoot_element
from tests.browser._servers import (BIN, ROOT, free_port, jupyter_lab, jupyter_notebook, server_env,
                                    stop_group, voila, wait_http)

pytestmark = pytest.mark.timeout(1200)


#: The dashboards of the notebook, in cell order.
ORDERS, REPLAY, STALL, BAD_ROWS = range(4)

# Dashboard i's line chart has a line of more than two points.
LINES_DRAWN = """(i) => { const d = document.querySelectorAll('.rtnb-dashboard')[i];
  return !!d && Array.from(d.querySelectorAll('path.line'))
      .some(p => !p.closest('.g_legend') && (p.getAttribute('d') || '').split(/[LC]/).length > 2); }"""

# Dashboard i scrolled onto the screen (a dashboard off the screen is sent no frames: it
# shows what it had, and is current once it is back).
SCROLL_TO = "(i) => document.querySelectorAll('.rtnb-dashboard')[i].scrollIntoView({block: 'start'})"
DASHBOARDS = "(n) => document.querySelectorAll('.rtnb-dashboard').length >= n"

# The stroke colours of the visible lines of each dashboard's line chart (not the legend's
# swatches, which bqplot also draws as path.line), and the fill of each bar.
COLOURS = """() => Array.from(document.querySelectorAll('.rtnb-dashboard')).map(d => {
  const lines = Array.from(d.querySelectorAll('.rtnb-live-line path.line'))
    .filter(p => !p.closest('.g_legend') && (p.getAttribute('d') || '').split(/[LC]/).length > 2)
    .map(p => getComputedStyle(p).stroke);
  const bars = Array.from(d.querySelectorAll('.rtnb-live-bars rect.bar')).map(r => getComputedStyle(r).fill);
  return {lines, bars}; })"""

BADGE = """(i) => { const b = document.querySelectorAll('.rtnb-dashboard')[i].querySelector('.rtnb-freshness');
  return b ? {state: b.dataset.state, kernel: b.dataset.kernel, text: b.textContent} : null; }"""

RUN_STATE = """(i) => { const s = document.querySelectorAll('.rtnb-dashboard')[i].querySelector('.rtnb-run-state');
  return s ? s.dataset.state : null; }"""

# Every change of a dashboard's badge (state and kernel), with its time (ms), in
# window.rtnbBadges[name]: polled every 50 ms until the badge exists, then observed (a
# MutationObserver misses no change, even when a loaded machine throttles timers).
RECORD_BADGE = """([i, name]) => { window.rtnbBadges = window.rtnbBadges || {};
  const s = window.rtnbBadges[name] = [], t0 = performance.now();
  const note = b => { const now = [b.dataset.state, b.dataset.kernel || 'responding', b.dataset.shown],
    last = s[s.length - 1];
    if (!last || last[0] !== now[0] || last[1] !== now[1] || last[2] !== now[2]) s.push([...now, performance.now() - t0]); };
  const find = setInterval(() => {
    const d = document.querySelectorAll('.rtnb-dashboard')[i];
    const b = d && d.querySelector('.rtnb-freshness');
    if (!b) return;
    clearInterval(find); note(b);
    new MutationObserver(() => note(b)).observe(b, {attributes: true}); }, 50); }"""
TIMELINE = "(name) => (window.rtnbBadges || {})[name] || []"
# ... in which a 'stale' comes between two 'fresh', all three while the badge is shown (off
# the screen a badge gets no message and ages to stale without any stall).
STALLED_AND_BACK = """(name) => { const s = ((window.rtnbBadges || {})[name] || [])
    .filter(x => x[2] === 'yes').map(x => x[0]);
  const f = s.indexOf('fresh'), st = s.indexOf('stale', f + 1);
  return f >= 0 && st > f && s.indexOf('fresh', st + 1) > st; }"""
# Keep dashboard i on the screen (Run All scrolls to the cells it runs) until unpinned.
PIN = """(i) => { window.rtnbPin = setInterval(() => { const d = document.querySelectorAll('.rtnb-dashboard')[i];
  if (d) d.scrollIntoView({block: 'start'}); }, 200); return true; }"""
UNPIN = "() => { clearInterval(window.rtnbPin); return true; }"

REJECTED = """(i) => { const e = document.querySelectorAll('.rtnb-dashboard')[i].querySelector('.rtnb-errors');
  return e ? [Number(e.dataset.rejected), Number(e.dataset.late), e.querySelectorAll('.rtnb-reasons li').length,
              e.innerText] : null; }"""

# The lines of every error panel that report an error the runner caught (ErrorPanel's
# "<hh:mm:ss> frame|pipeline|source <name>: <kind>: <message>"): a view that failed to draw.
# Not a frame over its time budget ("frame callback took 4.82 s (budget 1 s); skipped for
# 49 frames"): the runner skipping a view a loaded machine slowed down is not a failure.
RUN_ERRORS = r"""() => Array.from(document.querySelectorAll('.rtnb-dashboard .rtnb-reasons li'))
  .map(li => li.innerText).filter(t => /^\d\d:\d\d:\d\d (frame|pipeline|source) [^:]+: \w+: /.test(t))
  .filter(t => !/ took [\d.]+ s \(budget /.test(t))"""

EXECUTED = "() => window.rtnbExec || []"


# The first dashboard, run again for long enough for the checks that follow (the
# notebook's own live run may be over, or about to be: it is stopped and started anew).
RUN_AGAIN = "dash.stop(); dash.start(120, speedup=10)"
RUN_LONG = "dash.stop(); dash.start(900, speedup=10)"

# Anything a hover dot paints: a dot whose fill or stroke shows (not transparent, not
# fully see-through). The dots exist only to catch the mouse for the tooltip.
PAINTED_DOTS = """() => Array.from(document.querySelectorAll('.rtnb-live-line path.dot')).filter(p => {
  const s = getComputedStyle(p), op = Number(s.opacity);
  const shows = c => c && c !== 'none' && c !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(c);
  return op > 0 && (shows(s.fill) || shows(s.stroke)); }).length"""

# The number of hover dots of dashboard i's line chart; the middle of that chart.
DOTS = """(i) => document.querySelectorAll('.rtnb-dashboard')[i].querySelectorAll('.rtnb-live-line path.dot').length"""
CHART_MIDDLE = """(i) => { const r = document.querySelectorAll('.rtnb-dashboard')[i].querySelector('.rtnb-live-line')
  .getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }"""

# The button of dashboard i whose text is `label` (Start, Pause, Resume).
BUTTON = """([i, label]) => Array.from(document.querySelectorAll('.rtnb-dashboard')[i].querySelectorAll('button'))
  .find(b => b.innerText.trim() === label)"""


def on_screen(page, i: int) -> None:
    """Dashboard i scrolled onto the screen, its lines drawn (sent frames once shown)."""
    page.wait_for_function(DASHBOARDS, arg=i + 1, timeout=SLOW)
    page.evaluate(SCROLL_TO, i)
    page.wait_for_function(LINES_DRAWN, arg=i, timeout=SLOW)


def charts_render(page, n_dashboards: int) -> None:
    page.wait_for_selector(".rtnb-dashboard div.bqplot.figure path.line", state="attached", timeout=SLOW)
    for i in range(n_dashboards):
        on_screen(page, i)
    # Per dashboard: the line chart and the bars (bqplot), two KPI sparklines (inline SVG).
    assert page.locator(".rtnb-dashboard div.bqplot.figure").count() >= 2 * n_dashboards
    assert page.locator(".rtnb-dashboard svg.rtnb-kpi-spark").count() >= 2 * n_dashboards
    assert page.locator(".rtnb-dashboard rect.bar").count() > 0


# What the kernel holds of every dashboard's run and frames (printed as one JSON line).
KERNEL_FRAMES = """import gc as _gc, json as _json
from rtnb.widgets._dashboard import Dashboard as _D
print('rtnb-kernel-frames:', _json.dumps([dict(runner=getattr(d.runner, 'state', None), frames=d.frames,
    in_flight=d.acks.in_flight, held=d.acks.held, beat=getattr(d._screen(), 'beat', None),
    acked=getattr(d._screen(), 'acked_beat', None), bus_ready=d.bus.ready, bus_messages=d.bus.messages_sent)
    for d in _gc.get_objects() if isinstance(d, _D) and not d.closed]))"""


def kernel_prints(page, code: str, tag: str) -> None:
    """Run ``code`` in the kernel and print what it said (for a failure message; Lab and
    Notebook 7 only: Voila's page has no way into its kernel)."""
    if not page.evaluate("() => !!window.jupyterapp"):
        return
    n = len(page.evaluate(EXECUTED))
    page.evaluate(EXECUTE, code)
    try:
        page.wait_for_function("([n, tag]) => (window.rtnbExec || []).slice(n).some(t => t.includes(tag) || /Error/.test(t))",
                               arg=[n, tag], timeout=120_000)
    finally:
        print("kernel said:", page.evaluate(EXECUTED)[n:])


# Dashboard i is current: its lines were redrawn once since now, or its run is not
# running (the frame of a stop or a pause goes to a dashboard off the screen too).
CURRENT = """(i) => new Promise(res => {
  const d = document.querySelectorAll('.rtnb-dashboard')[i], fig = d.querySelector('.rtnb-live-line');
  const state = () => { const s = d.querySelector('.rtnb-run-state'); return s ? s.dataset.state : null; };
  const done = () => { obs.disconnect(); clearInterval(poll); res(true); };
  const obs = new MutationObserver(recs => { if (recs.some(r => r.target.classList.contains('line'))) done(); });
  obs.observe(fig, {attributes: true, attributeFilter: ['d'], subtree: true});
  const poll = setInterval(() => { if (state() !== 'running') done(); }, 200); })"""


def lines_redraw(page, i: int, n: int = 3, timeout: float = SLOW) -> None:
    page.evaluate(SCROLL_TO, i)
    try:
        page.wait_for_function(LINES_REDRAW, arg=[i, n], timeout=timeout)
    except Exception:
        print(f"badge {i}:", page.evaluate(BADGE, i), "run state:", page.evaluate(RUN_STATE, i))
        print("console errors:", json.dumps(getattr(page, "rtnb_console", [])[-40:]))
        kernel_prints(page, KERNEL_FRAMES, "rtnb-kernel-frames")
        raise


def colours_are_distinct(page) -> None:
    """No two visible lines of a chart share a colour; the bars have the lines' colours
    (each chart current: scrolled onto the screen, its lines redrawn)."""
    charts = []
    for i in range(page.evaluate("() => document.querySelectorAll('.rtnb-dashboard').length")):
        page.evaluate(SCROLL_TO, i)
        page.wait_for_function(CURRENT, arg=i, timeout=SLOW)
        charts.append(page.evaluate(COLOURS)[i])
    print("line colours per dashboard:", json.dumps(charts))
    for i, chart in enumerate(charts):
        assert len(chart["lines"]) == len(set(chart["lines"])), (i, chart["lines"])
    first = charts[ORDERS]
    assert len(first["bars"]) == len(set(first["bars"])), first["bars"]
    assert set(first["lines"]) <= set(first["bars"]), first  # top keys: in both, in one colour


def mouse_over_chart(page, i: int) -> None:
    """Move the mouse (in steps, from off the chart: real pointer events) to the middle of
    dashboard i's line chart, scrolled into view first."""
    fig = page.locator(".rtnb-dashboard").nth(i).locator(".rtnb-live-line").first
    fig.evaluate("e => e.scrollIntoView({block: 'center'})")
    x, y = page.evaluate(CHART_MIDDLE, i)
    page.mouse.move(x - 40, y - 40)
    page.mouse.move(x, y, steps=5)


# Per dashboard: its line chart's model id (LiveLine's class rtnb-line-id-<id>) and the
# hover dots in the DOM; for the failure message, beside what the kernel holds.
PAGE_DOTS = """() => [...document.querySelectorAll('.rtnb-dashboard')].map(d => {
  const l = d.querySelector('.rtnb-live-line');
  const c = l ? [...l.classList].find(c => c.startsWith('rtnb-line-id-')) : null;
  return {line: c ? c.slice('rtnb-line-id-'.length) : null, dots: l ? l.querySelectorAll('path.dot').length : null}; })"""

# What the kernel holds for every dashboard's line charts (printed as one JSON line).
KERNEL_DOTS = """import gc as _gc, json as _json
from rtnb.widgets._dashboard import Dashboard as _D
print('rtnb-kernel-dots:', _json.dumps([dict(line=v.model_id, dots=len(v.hover_mark.x), on_demand=v.hover_on_demand,
    hovered=v._hovered, watch_ready=getattr(d.hover_watch, 'ready', None),
    watch_hovered=sorted(getattr(d.hover_watch, 'hovered', ())), bus_ready=d.bus.ready, bus_messages=d.bus.messages_sent,
    runner=getattr(d.runner, 'state', None)) for d in _gc.get_objects() if isinstance(d, _D) and not d.closed
    for v in d.views if hasattr(v, 'show_hover')]))"""


def what_holds_the_dots(page) -> None:
    """Print what the page and the kernel each hold of every dashboard's hover dots, and
    the page's console errors of the bus and the widgets (when a wait for the dots failed)."""
    print("page dots per dashboard:", json.dumps(page.evaluate(PAGE_DOTS)))
    print("page dot counts seen (per dashboard, changes only):", json.dumps(page.evaluate(DOT_HISTORY)))
    print("console errors:", json.dumps(getattr(page, "rtnb_console", [])[-40:]))
    kernel_prints(page, KERNEL_DOTS, "rtnb-kernel-dots")


# Every change of the number of hover dots of each dashboard's line chart, in
# window.rtnbDots (a list per dashboard of [count, ms]): for the failure message.
RECORD_DOTS = """() => { window.rtnbDots = []; const t0 = performance.now();
  const look = () => document.querySelectorAll('.rtnb-dashboard').forEach((d, j) => {
    const s = window.rtnbDots[j] = window.rtnbDots[j] || [];
    const n = d.querySelectorAll('.rtnb-live-line path.dot').length;
    if (!s.length || s[s.length - 1][0] !== n) s.push([n, Math.round(performance.now() - t0)]); });
  look(); new MutationObserver(look).observe(document.body, {childList: true, subtree: true}); }"""
DOT_HISTORY = "() => (window.rtnbDots || []).map(s => s.slice(-12))"


def dots_on_hover(page, i: int = ORDERS) -> None:
    """The hover dots come while the mouse is over a line chart (the dashboard's hover
    watch tells the kernel), paint nothing (they once drew as black trails), and go when
    the mouse leaves; no other chart has dots meanwhile."""
    page.evaluate(RECORD_DOTS)
    mouse_over_chart(page, i)
    try:
        page.wait_for_function(f"() => ({DOTS})({i}) > 0", timeout=SLOW)
        assert page.evaluate(PAINTED_DOTS) == 0
        page.mouse.move(2, 2)  # off every chart
        # nobody points: no dots at all, on every dashboard (one rendered late, its watch not
        # ready yet, still has its always-present dots for a while: a state to wait for)
        page.wait_for_function(
            f"() => [...document.querySelectorAll('.rtnb-dashboard')].every((_, j) => ({DOTS})(j) === 0)",
            timeout=SLOW)
    except Exception:
        what_holds_the_dots(page)
        raise


def record_console(page) -> None:
    """Keep the page's console errors and warnings (the bus's "[rtnb bus] update of ..."
    among them) in ``page.rtnb_console``, for the failure messages."""
    page.rtnb_console = []
    page.on("console", lambda m: m.type in ("error", "warning") and page.rtnb_console.append(
        f"{m.type}: {m.text[:300]}"))


def no_mathjax(page) -> None:
    """No Markdown cell (nor anything else) was typeset: dollar amounts stay amounts."""
    assert page.evaluate(MATHJAX) == {"markdown": 0, "page": 0}


def click(page, i: int, label: str) -> None:
    """Click dashboard i's button labelled ``label`` once it exists, from the page (a
    Playwright click waits for the element to hold still, which a live dashboard's
    controls may never do while the charts and the table below them redraw), scrolled
    onto the screen first, as a user sees what they click (a dashboard off the screen is
    sent no frames while it runs)."""
    page.wait_for_function(DASHBOARDS, arg=i + 1, timeout=SLOW)
    page.evaluate(SCROLL_TO, i)
    page.wait_for_function(f"(a) => {{ const b = ({BUTTON})(a); return !!b && !b.disabled; }}",
                           arg=[i, label], timeout=SLOW)
    page.evaluate(f"(a) => ({BUTTON})(a).click()", [i, label])


def badge_says(page, i: int, state: str, timeout: float = SLOW) -> dict:
    """Wait until dashboard i's badge (scrolled onto the screen) shows ``state``; return what it shows."""
    page.evaluate(SCROLL_TO, i)
    try:
        page.wait_for_function(f"(i) => {{ const b = ({BADGE})(i); return !!b && b.state === {state!r}; }}",
                               arg=i, timeout=timeout)
    except Exception:  # what the page shows, and what the kernel says, when it did not come
        print(f"badge {i}:", page.evaluate(BADGE, i), "run state:", page.evaluate(RUN_STATE, i))
        page.evaluate(EXECUTE, "print('kernel: runner', dash.runner.state, 'clock', dash.runner.clock.now())")
        try:
            page.wait_for_function("() => (window.rtnbExec || []).some(t => t.includes('kernel: runner'))",
                                   timeout=60_000)
        finally:
            print("kernel said:", page.evaluate(EXECUTED), "page now:", page.evaluate(BADGE, i),
                  page.evaluate(RUN_STATE, i), page.evaluate(
                      f"() => document.querySelectorAll('.rtnb-dashboard')[{i}].querySelector('.rtnb-run-state').innerText"))
        raise
    return page.evaluate(BADGE, i)


def stopped_then_started(page, i: int) -> None:
    """dash.stop() from the kernel: the badge says "stopped" and Start is enabled; a
    click on Start runs it again."""
    page.evaluate(EXECUTE, "dash.stop()")
    shown = badge_says(page, i, "stopped")
    assert "stopped" in shown["text"], shown
    page.wait_for_function(f"(a) => {{ const b = ({BUTTON})(a); return !!b && !b.disabled; }}",
                           arg=[i, "Start"], timeout=SLOW)
    assert page.evaluate(f"(i) => ({RUN_STATE})(i)", i) == "stopped"
    click(page, i, "Start")
    page.wait_for_function(f"() => ({RUN_STATE})({i}) === 'running'", timeout=SLOW)
    lines_redraw(page, i)


# A point of dashboard i's line chart to move the mouse to: the centre of a hover dot that
# really is the topmost element there (not under the legend or another mark), the k-th
# from the newest of those (each retry tries another); null while there is none.
HOVER_TARGET = """([i, k]) => { const fig = document.querySelectorAll('.rtnb-dashboard')[i].querySelector('.rtnb-live-line');
  const dots = Array.from(fig.querySelectorAll('path.dot')).map(d => [d, d.getBoundingClientRect()])
    .filter(([d, r]) => r.width > 0 && r.height > 0)
    .map(([d, r]) => [d, r.x + r.width / 2, r.y + r.height / 2])
    .filter(([d, x, y]) => x >= 0 && y >= 0 && x < innerWidth && y < innerHeight && document.elementFromPoint(x, y) === d);
  if (!dots.length) return null;
  const [, x, y] = dots[dots.length - 1 - (k % dots.length)]; return [x, y]; }"""

# bqplot shows the tooltip in a div of its own (not inside the chart's element): one that
# shows, naming the key and the time of the dot.
TOOLTIP_SHOWN = """() => Array.from(document.querySelectorAll('.bqplot_tooltip_div')).some(el =>
  el.innerText.includes('key') && el.innerText.includes('time') && el.style.display !== 'none'
  && el.getBoundingClientRect().width > 0)"""

# What is under the mouse's last target, for the failure message.
UNDER = """([x, y]) => { const e = document.elementFromPoint(x, y);
  return e ? e.tagName + '.' + (e.getAttribute('class') || '') : null; }"""


# Dashboard i's Pause/Resume toggle: clicked from the page if it is enabled; says whether it was.
TOGGLE_PAUSE = """(i) => { const b = Array.from(document.querySelectorAll('.rtnb-dashboard')[i].querySelectorAll('button'))
  .find(b => ['Pause', 'Resume'].includes(b.innerText.trim()));
  if (!b || b.disabled) return false; b.click(); return true; }"""


def tooltip_on_hover(page, i: int = ORDERS, budget_s: float = 120) -> None:
    """Hovering a dot of dashboard i's line chart shows bqplot's tooltip with the key and
    the time.

    Live, the axis follows now and the dots are redrawn every frame: a dot measured on a
    loaded machine had moved away before the mouse got there. So the run is paused first
    if it is running (on its SimClock time stops: no frame moves the axis or the dots;
    the hover does not wait for the kernel to take the pause, a loaded kernel can take
    a minute), and then, until the tooltip shows or the budget is spent, a dot that is
    the topmost element at its centre is measured anew and the mouse moved onto it in a
    few steps (another dot each try). The same toggle is clicked again afterwards: the
    kernel gets pause then resume, in order."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    paused = page.evaluate(TOGGLE_PAUSE, i)
    mouse_over_chart(page, i)  # the dots exist while the mouse is over the chart
    deadline = time.monotonic() + budget_s
    tries, target = 0, None
    while True:
        left_ms = max(1.0, (deadline - time.monotonic()) * 1000)
        try:
            target = page.wait_for_function(HOVER_TARGET, arg=[i, tries], timeout=left_ms).json_value()
            page.mouse.move(target[0] - 15, target[1] - 15)  # from off the dot, in steps: a real
            page.mouse.move(target[0], target[1], steps=5)  # mouseover on arrival
            page.wait_for_function(TOOLTIP_SHOWN, timeout=min(5_000, left_ms))
            break
        except PlaywrightTimeout:
            tries += 1
            if time.monotonic() >= deadline:
                under = page.evaluate(UNDER, target) if target else None
                raise AssertionError(f"no tooltip with key and time after {tries} hovers in {budget_s} s; "
                                     f"last target {target}, under it: {under}") from None
    print(f"tooltip shown after {tries + 1} hover(s); paused first: {paused}")
    page.mouse.move(0, 0)
    if paused:
        assert page.evaluate(TOGGLE_PAUSE, i)  # resume


def stalled_and_back(page) -> None:
    """The stall dashboard's badge (recorded since Run All, kept on the screen) went
    fresh, stale, fresh while shown. A recording, not a wait for the current state: on a
    slow machine the stall may be over before the charts render."""
    try:
        page.wait_for_function(STALLED_AND_BACK, arg="stall", timeout=SLOW)
    finally:
        print("stall badge (state, kernel, ms):", page.evaluate(TIMELINE, "stall"))


def screenshot(page, dash) -> None:
    shot = ROOT / os.environ.get("RTNB_SCREENSHOT", "tests/browser/artifacts/dashboard.png")
    shoot_element(page, dash, shot)
    assert shot.stat().st_size > 10_000  # a real picture of the charts, not a blank


@contextlib.contextmanager
def quickstart_page(chromium, url: str, app: str):
    """The quick-start opened at ``url`` in ``app`` ("JupyterLab" or "Jupyter Notebook"),
    the stall dashboard's badge recorded from before Run All, Run All, and what every app
    must show checked: the four dashboards' charts render and the first one's lines
    redraw, no two visible lines share a colour and the bars have the lines' colours,
    the hover dots come on hover, paint nothing and go, nothing is typeset by MathJax, and the stall badge went
    fresh, stale, fresh. Yields the page, the first dashboard running; closed after."""
    page = chromium.new_page(viewport={"width": 1400, "height": 1100})
    page.set_default_timeout(SLOW)  # a loaded machine: the page can be minutes behind
    record_console(page)
    if os.environ.get("RTNB_CPU_THROTTLE"):  # e.g. 2: the page runs as on a loaded machine (to reproduce)
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate",
                                                {"rate": float(os.environ["RTNB_CPU_THROTTLE"])})
    try:
        page.goto(url, timeout=120_000)
        page.wait_for_function(KERNEL_IDLE, timeout=SLOW)
        assert page.evaluate("() => window.jupyterapp.name") == app  # Notebook 7 is not Lab's UI
        page.evaluate(RECORD_BADGE, [STALL, "stall"])
        page.evaluate(PIN, STALL)  # on the screen through its stall, whatever Run All scrolls to
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        stalled_and_back(page)
        page.evaluate(UNPIN)
        charts_render(page, 4)
        page.evaluate(EXECUTE, RUN_AGAIN)  # the notebook's live run may be over by now
        lines_redraw(page, ORDERS)
        colours_are_distinct(page)
        dots_on_hover(page)
        no_mathjax(page)
        yield page
        assert page.evaluate(RUN_ERRORS) == []  # no view failed to draw a frame
        print("bus errors:", [t for t in page.rtnb_console if "rtnb bus" in t][:10])
    finally:
        page.close()


def test_quickstart_in_jupyterlab(chromium, workdir, tmp_path):
    """And in Lab: a tooltip on hover, the bad rows counted and explained, the README's
    picture, and a stopped run that says so and starts again."""
    with jupyter_lab(workdir, tmp_path) as base, \
            quickstart_page(chromium, f"{base}/lab/tree/01_quickstart.ipynb?reset", "JupyterLab") as page:
        tooltip_on_hover(page)
        page.wait_for_function(f"() => {{ const r = ({REJECTED})({BAD_ROWS}); return r && r[0] > 0 && r[2] > 0; }}",
                               timeout=SLOW)
        rejected, late, reasons, text = page.evaluate(REJECTED, BAD_ROWS)
        assert rejected > 0 and reasons > 0 and "row" in text
        page.evaluate(EXECUTE, RUN_AGAIN)
        lines_redraw(page, ORDERS)
        screenshot(page, page.locator(".rtnb-dashboard").nth(ORDERS))  # running: the README's picture
        stopped_then_started(page, ORDERS)


def test_quickstart_in_notebook7(chromium, workdir, tmp_path):
    """And in Notebook 7: Pause makes the badge say "paused"; Resume runs it again."""
    try:
        from importlib.metadata import version

        major = int(version("notebook").split(".")[0])
    except Exception:  # not installed, or an odd version string
        major = 0
    require(major >= 7, "notebook>=7", "pip install 'rtnb[test]'")
    with jupyter_notebook(workdir, tmp_path) as base, \
            quickstart_page(chromium, f"{base}/notebooks/01_quickstart.ipynb", "Jupyter Notebook") as page:
        # A run that outlasts the checks: the 120 s one may be over by now (at load 8 the
        # stall check took longer, and a click on Pause then met a stopped run).
        page.evaluate(EXECUTE, RUN_LONG)
        page.wait_for_function(f"() => ({RUN_STATE})({ORDERS}) === 'running'", timeout=SLOW)
        click(page, ORDERS, "Pause")
        shown = badge_says(page, ORDERS, "paused")
        assert "paused" in shown["text"], shown
        click(page, ORDERS, "Resume")
        page.wait_for_function(f"() => ({RUN_STATE})({ORDERS}) === 'running'", timeout=SLOW)
        lines_redraw(page, ORDERS)


def test_quickstart_in_voila(chromium, workdir, tmp_path):
    require(os.path.exists(BIN / "voila"), "voila", "pip install 'rtnb[voila]'")
    live = 12  # short: the test waits for the run to end, then starts it again
    with voila(workdir / "01_quickstart.ipynb", tmp_path, live_seconds=live) as base:
        page = chromium.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(SLOW)  # a loaded machine: the page can be minutes behind
        record_console(page)
        try:
            page.goto(base, timeout=120_000)
            charts_render(page, 4)
            dots_on_hover(page)
            no_mathjax(page)
            colours_are_distinct(page)  # (the redraw is checked after Start below: the first
            # live run may be over before the charts render on a loaded machine)
            # After the live duration the run stops and says so; Start runs it again.
            page.wait_for_function(f"() => ({BADGE})({ORDERS}).state === 'stopped'", timeout=SLOW)
            assert "stopped" in page.evaluate(BADGE, ORDERS)["text"]
            click(page, ORDERS, "Start")  # (waits until it is enabled)
            page.wait_for_function(f"() => ({RUN_STATE})({ORDERS}) === 'running'", timeout=SLOW)
            lines_redraw(page, ORDERS)
            assert page.evaluate(BADGE, ORDERS)["state"] in ("fresh", "late", "stale")
        finally:
            page.close()


def test_make_demo_starts_jupyterlab(tmp_path):
    require(os.path.exists(BIN / "jupyter"), "jupyter", "the package is not installed in this Python")
    port = free_port()
    args = f"--no-browser --port={port} --port-retries=0 --ServerApp.token='' --ServerApp.open_browser=False"
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        # VENV= and `-o VENV/.installed`: use the environment the tests run in (ROOT/.venv
        # in a clone, the shared one in a git worktree), do not reinstall it.
        venv = BIN.parent
        proc = subprocess.Popen(["make", "-C", str(ROOT), f"VENV={venv}", "-o", f"{venv}/.installed", "demo",
                                 f"JUPYTER_ARGS={args}"],
                                env=server_env(tmp_path), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/status", proc, log=log, timeout=300)  # a loaded machine
    finally:
        stop_group(proc)
    assert proc.returncode in (-signal.SIGTERM, 0, 2, -signal.SIGKILL)  # stopped by us, not crashed
