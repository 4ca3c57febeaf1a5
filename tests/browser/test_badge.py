"""The freshness badge in a real JupyterLab under headless Chromium: what it says while
a cell blocks the kernel, and after the kernel restarts (issue 12).

A dashboard of the badge alone: a page with next to nothing to draw keeps up with its
kernel on a loaded machine (the quick-start's four live dashboards kept a loaded page
tens of seconds behind, and the backlog it worked through covered the kernel's 3 s of
silence; the badge now says so, "screen N s behind the kernel", from the kernel's wall
time sent with each beat). Every wait is on a state of the page, with generous
budgets; nothing is timed.
"""

from __future__ import annotations

from contextlib import contextmanager

import nbformat
import pytest

from tests.browser._lab import EXECUTE, KERNEL_IDLE, open_notebook, run_all
from tests.browser._servers import jupyter_lab

pytestmark = pytest.mark.timeout(600)

# A dashboard of the badge alone: the page has next to nothing to draw, so it keeps up
# with its kernel on a loaded machine (a page seconds behind its kernel reads, honestly,
# "stale — screen N s behind the kernel", and could not show "fresh" before the block).
# At 5x, fresh is within 5 s of simulated time (1 s of wall time), stale past 10 s (2 s
# of wall time): a 3 s block (15 s simulated) is stale, an ordinary frame is fresh.
DASHBOARD = """import rtnb
orders = rtnb.simulate("ecommerce_orders", rate=20, seed=1, start="2024-01-01 12:00")
runner = rtnb.Runner(orders, clock=rtnb.SimClock(start="2024-01-01 12:00"), fps=4)
pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min", store=rtnb.MemoryStore(history=60))
badge = rtnb.FreshnessBadge(pipe.store, pipe.name, limit="5s", stale_after="10s")
dash = rtnb.Dashboard([badge], runner=runner)
dash.start(600, speedup=5)
dash"""

BADGE = """() => { const b = document.querySelector('.rtnb-dashboard .rtnb-freshness');
  return b ? {state: b.dataset.state, kernel: b.dataset.kernel, silent: Number(b.dataset.silent),
              text: b.textContent} : null; }"""

# Every change of the badge's (state, kernel), with the page's time (ms), in
# window.rtnbSeen: observed (a MutationObserver misses no change, even when a loaded
# machine delays timers).
RECORD = """() => { const s = window.rtnbSeen = [], t0 = performance.now();
  const b = document.querySelector('.rtnb-dashboard .rtnb-freshness');
  const note = () => { const now = [b.dataset.state, b.dataset.kernel], last = s[s.length - 1];
    if (!last || last[0] !== now[0] || last[1] !== now[1]) s.push([...now, Math.round(performance.now() - t0)]); };
  note(); new MutationObserver(note).observe(b, {attributes: true}); return true; }"""
SEEN = "() => window.rtnbSeen || []"
RECORD_WHEN_SHOWN = f"""() => {{ const t = setInterval(() => {{
  if (document.querySelector('.rtnb-dashboard .rtnb-freshness')) {{ clearInterval(t); ({RECORD})(); }} }}, 50);
  return true; }}"""

# Since the recording began, the badge said stale with the kernel silent (not
# responding, or the screen that far behind it), then fresh with the kernel responding.
BLOCKED_AND_BACK = """() => { const s = window.rtnbSeen || [];
  const i = s.findIndex(x => x[0] === 'stale' && x[1] !== 'responding');
  return i >= 0 && s.slice(i + 1).some(x => x[0] === 'fresh' && x[1] === 'responding'); }"""


def _notebook(work) -> None:
    work.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(DASHBOARD)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, work / "badge.ipynb")


def _running_and_fresh(page) -> None:
    """Run All, then wait until the badge is fresh with the kernel responding."""
    run_all(page)
    page.evaluate(RECORD_WHEN_SHOWN)
    try:
        page.wait_for_function(f"() => {{ const b = ({BADGE})(); return !!b && b.state === 'fresh'"
                               f" && b.kernel === 'responding'; }}", timeout=240_000, polling=200)
    finally:
        print("badge before (state, kernel, ms):", page.evaluate(SEEN), page.evaluate(BADGE))


@contextmanager
def _badge_page(chromium, tmp_path):
    """A Lab page with the one-dashboard notebook run, its badge fresh and its kernel
    responding; closed after the test."""
    _notebook(tmp_path / "work")
    with jupyter_lab(tmp_path / "work", tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(90_000)
        try:
            open_notebook(page, base, "badge.ipynb")
            _running_and_fresh(page)
            yield page
        finally:
            page.close()


def test_the_badge_turns_stale_while_a_cell_blocks_the_kernel_and_fresh_after(chromium, tmp_path):
    """``time.sleep(3)`` sent like a cell: the badge says stale with the kernel silent
    (15 s of simulated time against a 10 s stale limit), then fresh again."""
    with _badge_page(chromium, tmp_path) as page:
        page.evaluate(RECORD)
        page.evaluate(EXECUTE, "import time; time.sleep(3)")
        try:
            page.wait_for_function(BLOCKED_AND_BACK, timeout=240_000, polling=200)
        finally:
            print("badge (state, kernel, ms):", page.evaluate(SEEN))
        shown = page.evaluate(BADGE)
        assert shown["state"] in ("fresh", "late"), shown  # running on


def test_after_a_kernel_restart_the_badge_says_the_kernel_restarted(chromium, tmp_path):
    """The dashboard's kernel restarts: its run is gone with it, and the badge says so
    (not "kernel not responding" for ever, not "fresh")."""
    with _badge_page(chromium, tmp_path) as page:
        page.evaluate("() => { window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart();"
                      " return true; }")
        page.wait_for_function(f"() => {{ const b = ({BADGE})(); return !!b && b.state === 'restarted'; }}",
                               timeout=120_000, polling=200)
        shown = page.evaluate(BADGE)
        assert "kernel restarted" in shown["text"] and "run the cell again" in shown["text"], shown
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)  # the new kernel is up...
        assert page.evaluate(BADGE)["state"] == "restarted"  # ...and the old run still reads as gone
