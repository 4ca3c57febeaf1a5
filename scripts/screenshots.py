"""Refresh the pictures of the notebooks in docs/: each notebook is run in a real
JupyterLab (started on a free loopback port) under headless Chromium, and the whole
notebook is saved as ``docs/<notebook>.png``; the quick-start's first dashboard, live,
is also saved as ``docs/dashboard.png`` (the README's picture).

    python -m scripts.screenshots                      # every notebook, 01 to 08
    python -m scripts.screenshots 01_quickstart 03_tiers_vs_cost
    make screenshots                                   # the same; NOTEBOOKS="01_quickstart" for some
    python -m scripts.screenshots --app notebook --out /tmp/shots   # in Notebook 7 (not docs/)
    python -m scripts.screenshots --app voila --out /tmp/shots      # in Voila (not docs/)

The pictures in docs/ are JupyterLab's. ``--app notebook`` and ``--app voila`` run the
same notebooks in Notebook 7 and in Voila, for looking at (they go to ``--out``,
``<app>_<notebook>.png``), with the same checks: tracebacks and MathJax.

Live cells run for the browser tests' ``LIVE_SECONDS`` (20 wall seconds); the picture is
taken once Run All has finished and the live runs have ended (the quick-start's first
dashboard, kept on the screen, is started again, for 150 s, for its own picture, so it
shows a running dashboard). Notebooks run at their small sizes (``RTNB_SMALL=1``) unless
``RTNB_SMALL=0`` is set. A notebook whose run shows a traceback is still pictured, and
the script says so and exits 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.browser._lab import (ERRORS, EXECUTE, KERNEL_IDLE, LINES_REDRAW, MATHJAX, SLOW, kernel_says, open_notebook,
                                run_all, screenshot_notebook, shoot_element)
from tests.browser._servers import CHROMIUM, CHROMIUM_ARGS, LIVE_SECONDS, ROOT, delete_sessions, jupyter_lab, \
    jupyter_notebook, voila

DEFAULT = sorted(p.stem for p in (ROOT / "notebooks").glob("0*.ipynb"))
# Long enough for a full window's change, and for the chart's bounded history (its last
# 300 frames) to hold only frames drawn on the screen since: frames drawn while the page
# was loaded by Run All's other dashboards come sparser, and the line breaks where the
# spacing of its points jumps (a gap reads as a stall).
RUN_AGAIN = "dash.stop(); dash.start(150, speedup=10); _rerun_at = dash.runner.clock.now()"
ONLY_RERUN = """import asyncio
_line = next(v for v in dash.views if type(v).__name__ == "LiveLine")
while dash.runner.state == "running" and (not len(_line.point_times) or _line.point_times[0] <= _rerun_at):
    await asyncio.sleep(0.2)"""


# Dashboard i kept on the screen until unpinned, from the moment it is there. A dashboard
# off the screen is sent no frames (its kernel draws a frame a second for itself): Run All
# leaves the page at the last cell, so the first dashboard, run again, drew nothing until
# its run ended and the picture showed it stopped; and a line recorded off the screen,
# then on it, breaks where the sparse frames were. So it is kept on the screen from Run
# All on (the other dashboards, off the screen, are current when they stop).
PIN = """(i) => { clearInterval(window.rtnbPin); const pin = () => {
  const d = document.querySelectorAll('.rtnb-dashboard')[i]; if (d) d.scrollIntoView({block: 'start'}); };
  window.rtnbPin = setInterval(pin, 200); pin(); return true; }"""
UNPIN = "() => { clearInterval(window.rtnbPin); return true; }"
# Dashboard i as a running one shows: the badge fresh and shown, the status line running.
RUNNING = """(i) => { const d = document.querySelectorAll('.rtnb-dashboard')[i];
  const b = d.querySelector('.rtnb-freshness'), s = d.querySelector('.rtnb-run-state');
  return !!b && b.dataset.state === 'fresh' && b.dataset.shown === 'yes' && !!s && s.dataset.state === 'running'
    && /^running · clock /.test(s.textContent.trim()); }"""


def readme_picture(page) -> tuple[Path, bool]:
    """The quick-start's first dashboard, running, as docs/dashboard.png (pinned on the
    screen since Run All: see PIN)."""
    page.evaluate(PIN, 0)
    try:
        page.evaluate(EXECUTE, RUN_AGAIN)
        page.wait_for_function(LINES_REDRAW, arg=[0, 5], timeout=SLOW)
        kernel_says(page, "dash.runner.state", before=ONLY_RERUN)
        page.wait_for_function(LINES_REDRAW, arg=[0, 2], timeout=SLOW)  # the page has drawn that history
        # A full window compared with a full window: the KPI tiles show a change ("▲ +0.4% vs
        # 2 min before", or "▼ down 3 EUR ..." across zero: an arrow either way), not "window
        # filling" (the picture shows what a tile is for).
        page.wait_for_function("""() => Array.from(document.querySelectorAll('.rtnb-dashboard')[0]
          .querySelectorAll('.rtnb-kpi-change')).every(e => /[▲▼■]/.test(e.textContent))""", timeout=SLOW)
        page.wait_for_function(RUNNING, arg=0, timeout=SLOW)
    finally:
        page.evaluate(UNPIN)
    path = shoot_element(page, page.locator(".rtnb-dashboard").first, ROOT / "docs" / "dashboard.png")
    return path, page.evaluate(RUNNING, 0)  # a picture of a stopped dashboard is not the README's


def main(names: list[str], app: str = "lab", out: Path | None = None) -> int:
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("RTNB_SMALL", "1")
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    out = out or ROOT / "docs"
    failed = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        tmp = Path(tmp)
        work = tmp / "work"
        work.mkdir()
        for name in names:
            shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", work / f"{name}.ipynb")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if app == "voila":
                for name in names:
                    if not shoot_voila(browser, work / f"{name}.ipynb", tmp, out / f"voila_{name}.png"):
                        failed.append(name)
            else:
                serve = jupyter_lab if app == "lab" else jupyter_notebook
                with serve(work, tmp) as base:
                    for name in names:
                        path = out / (f"{name}.png" if app == "lab" else f"{app}_{name}.png")
                        if not shoot_jupyter(browser, base, app, name, path):
                            failed.append(name)
        finally:
            browser.close()
    if failed:
        print("tracebacks (or a README picture of a stopped dashboard) in:", ", ".join(failed))
    return 1 if failed else 0


def _new_page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(SLOW)  # a loaded machine: the page can be minutes behind
    return page


def shoot_jupyter(browser, base: str, app: str, name: str, path: Path) -> bool:
    """Run All in JupyterLab (``app="lab"``) or Notebook 7, and picture the notebook."""
    page = _new_page(browser)
    try:
        if app == "lab":
            open_notebook(page, base, f"{name}.ipynb")
        else:
            page.goto(f"{base}/notebooks/{name}.ipynb", timeout=120_000)
            page.wait_for_function(KERNEL_IDLE, timeout=SLOW)
        readme = name == "01_quickstart" and app == "lab"
        if readme:
            page.evaluate(PIN, 0)
        took = run_all(page, timeout_s=600)
        page.wait_for_timeout((LIVE_SECONDS + 2) * 1000)  # the live runs end
        errors, maths = page.evaluate(ERRORS), page.evaluate(MATHJAX)
        if readme:
            picture, running = readme_picture(page)
            print(f"{picture.relative_to(ROOT)}: the first dashboard, " + ("running" if running else "NOT running"))
            errors = errors if running else [*errors, "the README's dashboard was not running when shot"]
        shot = screenshot_notebook(page, path)
        print(f"{shot}: ran in {took:.1f} s, errors {errors or 'none'}, MathJax {maths}")
        return not errors
    finally:
        page.close()
        delete_sessions(base)  # its kernel stops: one notebook's kernel at a time
        time.sleep(0.5)


# The height of what scrolls on the page: the document, or the element holding the notebook.
TALLEST = """() => Math.max(document.documentElement.scrollHeight,
  ...Array.from(document.querySelectorAll('body *')).filter(e => e.scrollHeight > e.clientHeight + 10)
     .map(e => e.scrollHeight + e.getBoundingClientRect().top))"""


def shoot_voila(browser, notebook: Path, tmp: Path, path: Path) -> bool:
    """The notebook as Voila renders it (every cell run, its live cells ended), the whole page."""
    with voila(notebook, tmp) as base:
        page = _new_page(browser)
        try:
            t0 = time.monotonic()
            page.goto(base, timeout=SLOW)  # Voila answers once every cell has run
            page.wait_for_load_state("load")
            took = time.monotonic() - t0
            page.wait_for_timeout((LIVE_SECONDS + 2) * 1000)  # the live runs end
            text = page.evaluate("() => document.body.innerText")
            errors = [t for t in ("Traceback", "There was an error") if t in text]
            maths = page.evaluate(MATHJAX)
            # Voila's page scrolls inside an element, not the document: the viewport is made
            # as tall as what scrolls (the whole notebook), then shot.
            height = page.evaluate(TALLEST)
            page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 16_000)})
            page.wait_for_timeout(800)  # let the page lay out the taller viewport (not a wait for work)
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=True)
            print(f"{path}: ran in {took:.1f} s, errors {errors or 'none'}, MathJax {maths}")
            return not errors
        finally:
            page.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="names (01_quickstart ...); default: every notebook")
    parser.add_argument("--app", choices=("lab", "notebook", "voila"), default="lab")
    parser.add_argument("--out", type=Path, default=None, help="folder of the pictures (default docs/)")
    args = parser.parse_args()
    sys.exit(main([a.removesuffix(".ipynb") for a in args.notebooks] or DEFAULT, args.app, args.out))
