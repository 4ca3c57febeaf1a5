"""Refresh the pictures of the notebooks in docs/: each notebook is run in a real
JupyterLab (started on a free loopback port) under headless Chromium, and the whole
notebook is saved as ``docs/<notebook>.png``; the quick-start's first dashboard, live,
is also saved as ``docs/dashboard.png`` (the README's picture).

    python -m scripts.screenshots                      # every notebook, 01 to 08
    python -m scripts.screenshots 01_quickstart 03_tiers_vs_cost
    make screenshots                                   # the same; NOTEBOOKS="01_quickstart" for some

Live cells run for the browser tests' ``LIVE_SECONDS`` (20 wall seconds); the picture is
taken once Run All has finished and the live runs have ended (the quick-start's first
dashboard is started again, for 90 s, for its own picture, so it shows a running
dashboard). Notebooks run at their small sizes (``RTNB_SMALL=1``) unless
``RTNB_SMALL=0`` is set. A notebook whose run shows a traceback is still pictured, and
the script says so and exits 1.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.browser._lab import (ERRORS, EXECUTE, LINES_REDRAW, MATHJAX, SLOW, open_notebook, run_all,
                                screenshot_notebook, shoot_element)
from tests.browser._servers import CHROMIUM, CHROMIUM_ARGS, LIVE_SECONDS, ROOT, delete_sessions, jupyter_lab

DEFAULT = sorted(p.stem for p in (ROOT / "notebooks").glob("0*.ipynb"))
RUN_AGAIN = 'dash.stop(); dash.start(90, speedup=10)'  # long enough for a full window's change


def readme_picture(page) -> Path:
    """The quick-start's first dashboard, running, as docs/dashboard.png."""
    page.evaluate(EXECUTE, RUN_AGAIN)
    page.wait_for_function(LINES_REDRAW, arg=[0, 5], timeout=SLOW)
    # A full window compared with a full window: the KPI tiles show a change ("▲ +0.4% vs
    # 2 min before", or "▼ down 3 EUR ..." across zero: an arrow either way), not "window
    # filling" (the picture shows what a tile is for).
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.rtnb-dashboard')[0]
      .querySelectorAll('.rtnb-kpi-change')).every(e => /[▲▼■]/.test(e.textContent))""", timeout=SLOW)
    return shoot_element(page, page.locator(".rtnb-dashboard").first, ROOT / "docs" / "dashboard.png")


def main(names: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("RTNB_SMALL", "1")
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        work = tmp / "work"
        work.mkdir()
        for name in names:
            shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", work / f"{name}.ipynb")
        with jupyter_lab(work, tmp) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for name in names:
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.set_default_timeout(SLOW)  # a loaded machine: the page can be minutes behind
                    try:
                        open_notebook(page, base, f"{name}.ipynb")
                        took = run_all(page, timeout_s=600)
                        page.wait_for_timeout((LIVE_SECONDS + 2) * 1000)  # the live runs end
                        errors, maths = page.evaluate(ERRORS), page.evaluate(MATHJAX)
                        if name == "01_quickstart":
                            print(f"{readme_picture(page).relative_to(ROOT)}: the first dashboard, running")
                        out = screenshot_notebook(page, ROOT / "docs" / f"{name}.png")
                        print(f"{out.relative_to(ROOT)}: ran in {took:.1f} s, errors {errors or 'none'}, "
                              f"MathJax {maths}")
                        if errors:
                            failed.append(name)
                    finally:
                        page.close()
                        delete_sessions(base)  # its kernel stops: one notebook's kernel at a time
                        time.sleep(0.5)
            finally:
                browser.close()
    if failed:
        print("tracebacks in:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main([a.removesuffix(".ipynb") for a in sys.argv[1:]] or DEFAULT))
