"""Notebooks 02, 03 and 04 in a real JupyterLab, seen by Chromium, Run All.

For each: every cell runs without a traceback and no Markdown cell (nor anything else on
the page) is typeset by MathJax — a dollar amount stays a dollar amount. Notebook 02:
the four tier panels draw on one time axis, Pause stops the simulated clock, Replay
starts the day again. Notebook 03: the explorer is one widget; moving a slider in the
browser changes the advisor's table. Behaviour only, no rates. A picture of each
notebook goes to tests/browser/artifacts/ (``python -m scripts.screenshots`` refreshes
the ones in docs/).
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.browser._lab import ERRORS, MATHJAX, open_notebook, run_all, screenshot_notebook
from tests.browser._servers import ROOT, jupyter_lab

pytestmark = pytest.mark.timeout(300)

NOTEBOOKS = ["02_streaming_vs_batch", "03_tiers_vs_cost", "04_pre_aggregation"]
ARTIFACTS = ROOT / "tests" / "browser" / "artifacts"

CLOCK = "() => { const e = document.querySelector('.rtnb-tier-timeline'); return e ? e.innerText.match(/simulated time [^\\n]*/)?.[0] : null; }"
UPDATES = """() => Array.from(document.querySelectorAll('.rtnb-tier-panel .rtnb-updates'))
  .map(e => Number(e.innerText.replace(/[^0-9]/g, '')))"""
ADVICE = "() => { const t = document.querySelectorAll('.rtnb-tiers-explorer .rtnb-table'); return t.length > 1 ? t[1].innerText : null; }"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    work = tmp / "work"
    work.mkdir()
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", work / f"{name}.ipynb")
    small = os.environ.get("RTNB_SMALL")
    os.environ["RTNB_SMALL"] = "1"  # the kernels inherit it: notebook 04 at its small sizes
    try:
        with jupyter_lab(work, tmp) as base:
            yield base
    finally:
        if small is None:
            os.environ.pop("RTNB_SMALL", None)
        else:
            os.environ["RTNB_SMALL"] = small


@pytest.fixture
def run(chromium, lab):
    """Open a notebook, Run All, check no tracebacks and no MathJax; yields the page."""
    pages = []

    def go(name):
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        pages.append(page)
        open_notebook(page, lab, f"{name}.ipynb")
        run_all(page)
        assert page.evaluate(ERRORS) == []
        assert page.evaluate(MATHJAX) == {"markdown": 0, "page": 0}
        return page

    yield go
    for page in pages:
        page.close()


def test_notebook_02_the_tiers_on_one_axis_with_pause_and_replay(run):
    page = run("02_streaming_vs_batch")
    assert page.locator(".rtnb-tier-panel").count() == 4
    page.wait_for_function("() => document.querySelectorAll('.rtnb-tier-panel path.line').length >= 4")
    timeline = page.locator(".rtnb-tier-timeline")
    page.wait_for_function(f"() => ({UPDATES})().every(n => n > 0)", timeout=60_000)
    # Pause: the simulated clock stands still (frames keep coming, time does not move)
    timeline.locator("button", has_text="Pause").click()
    page.wait_for_function("() => !!Array.from(document.querySelectorAll('.rtnb-tier-timeline button'))"
                           ".find(b => b.innerText.includes('Resume'))", timeout=10_000)
    paused = page.evaluate(CLOCK)
    page.wait_for_timeout(1500)  # a pause must hold: nothing to wait for but time
    assert page.evaluate(CLOCK) == paused
    before = page.evaluate(UPDATES)
    # Replay: the day starts again, every tier's counter from the start
    timeline.locator("button", has_text="Replay").click()
    page.wait_for_function(f"(b) => ({UPDATES})().every((n, i) => n < b[i])", arg=before, timeout=10_000)
    screenshot_notebook(page, ARTIFACTS / "02_streaming_vs_batch.png")


def test_notebook_03_one_widget_whose_sliders_reach_the_advisor(run):
    page = run("03_tiers_vs_cost")
    explorer = page.locator(".rtnb-tiers-explorer")
    assert explorer.count() == 1
    assert explorer.locator("div.bqplot.figure").count() == 2
    page.wait_for_function(f"() => !!({ADVICE})()")
    before = page.evaluate(ADVICE)
    assert "not needed (batch)" in before and "nan" not in before.lower()
    # The value-of-a-minute slider, moved with the keyboard to its maximum
    handle = explorer.locator(".widget-slider", has_text="value of a minute").locator(".noUi-handle").first
    handle.focus()
    handle.press("End")
    page.wait_for_function(f"(b) => ({ADVICE})() !== b", arg=before, timeout=60_000)
    assert "1,000,000" in explorer.locator(".widget-slider", has_text="value of a minute").inner_text()
    screenshot_notebook(page, ARTIFACTS / "03_tiers_vs_cost.png")


def test_notebook_04_runs_and_reads_in_words(run):
    page = run("04_pre_aggregation")
    text = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").inner_text()
    assert "0 days" not in text and "0.000 ms" not in text
    assert page.locator("div.bqplot.figure").count() == 6
    screenshot_notebook(page, ARTIFACTS / "04_pre_aggregation.png")
