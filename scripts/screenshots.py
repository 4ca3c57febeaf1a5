"""Refresh the pictures of the notebooks in docs/: each notebook is run in a real
JupyterLab (started on a free loopback port) under headless Chromium, and the whole
notebook is saved as ``docs/<notebook>.png``.

    python -m scripts.screenshots                      # notebooks 02, 03 and 04
    python -m scripts.screenshots 01_quickstart 03_tiers_vs_cost
    make screenshots

Live cells run for the browser tests' ``LIVE_SECONDS`` (20 wall seconds); the picture is
taken once Run All has finished and the live run has ended. Notebooks run at their small
sizes (``RTNB_SMALL=1``) unless ``RTNB_SMALL=0`` is set.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.browser._lab import ERRORS, MATHJAX, open_notebook, run_all, screenshot_notebook
from tests.browser._servers import CHROMIUM, CHROMIUM_ARGS, LIVE_SECONDS, ROOT, jupyter_lab

DEFAULT = ["02_streaming_vs_batch", "03_tiers_vs_cost", "04_pre_aggregation"]


def main(names: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("RTNB_SMALL", "1")
    os.environ.setdefault("PYTHONPATH", str(ROOT))
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
                    try:
                        open_notebook(page, base, f"{name}.ipynb")
                        took = run_all(page)
                        page.wait_for_timeout((LIVE_SECONDS + 2) * 1000)  # the live runs end
                        errors, maths = page.evaluate(ERRORS), page.evaluate(MATHJAX)
                        out = screenshot_notebook(page, ROOT / "docs" / f"{name}.png")
                        print(f"{out.relative_to(ROOT)}: ran in {took:.1f} s, errors {errors or 'none'}, "
                              f"MathJax {maths}")
                    finally:
                        page.close()
                        time.sleep(0.5)
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main([a.removesuffix(".ipynb") for a in sys.argv[1:]] or DEFAULT))
