"""Notebooks 02, 03 and 04 in a real JupyterLab, Notebook 7 and Voila, seen by Chromium.

For each, in each app: every cell runs without a traceback, its widgets render, and no
Markdown cell (nor anything else on the page) is typeset by MathJax — every dollar
amount the Markdown writes reads as written on the page. In JupyterLab, Run All and: notebook 02:
the four tier panels draw on one time axis, Pause stops the simulated clock, Replay
starts the day again. Notebook 03: the explorer is one widget; moving a slider in the
browser changes the advisor's table. Behaviour only, no rates. A picture of each
notebook goes to tests/browser/artifacts/ (``python -m scripts.screenshots`` refreshes
the ones in docs/).
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from tests.browser._lab import ERRORS, EXECUTE, KERNEL_IDLE, SLOW, dollars_read_as_dollars, open_notebook, \
    run_all, screenshot_notebook
from tests.browser._servers import BIN, ROOT, jupyter_lab, jupyter_notebook, voila
from tests.conftest import require

pytestmark = pytest.mark.timeout(1200)

NOTEBOOKS = ["02_streaming_vs_batch", "03_tiers_vs_cost", "04_pre_aggregation"]
ARTIFACTS = ROOT / "tests" / "browser" / "artifacts"

CLOCK = "() => { const e = document.querySelector('.rtnb-tier-timeline'); return e ? e.innerText.match(/simulated time [^\\n]*/)?.[0] : null; }"
UPDATES = """() => Array.from(document.querySelectorAll('.rtnb-tier-panel .rtnb-updates'))
  .map(e => Number(e.innerText.replace(/[^0-9]/g, '')))"""
ADVICE = "() => { const t = document.querySelectorAll('.rtnb-tiers-explorer .rtnb-table'); return t.length > 1 ? t[1].innerText : null; }"


@contextlib.contextmanager
def small_sizes():
    """RTNB_SMALL=1 while the block runs (the servers' kernels inherit it: notebook 04 at
    its small sizes), then as it was."""
    old = os.environ.get("RTNB_SMALL")
    os.environ["RTNB_SMALL"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("RTNB_SMALL", None)
        else:
            os.environ["RTNB_SMALL"] = old


@contextlib.contextmanager
def served(start, tmp):
    """The notebooks copied to a work folder under ``tmp`` and served by ``start``
    (jupyter_lab or jupyter_notebook) at their small sizes; yields the base URL."""
    work = tmp / "work"
    work.mkdir()
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", work / f"{name}.ipynb")
    with small_sizes(), start(work, tmp) as base:
        yield base


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with served(jupyter_lab, tmp_path_factory.mktemp("lab")) as base:
        yield base


@pytest.fixture
def run(chromium, lab):
    """Open a notebook, Run All, check no tracebacks and no MathJax; yields the page."""
    pages = []

    def go(name):
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(SLOW)  # a loaded machine: the page can be minutes behind
        pages.append(page)
        open_notebook(page, lab, f"{name}.ipynb")
        run_all(page)
        assert page.evaluate(ERRORS) == []
        dollars_read_as_dollars(page, ROOT / "notebooks" / f"{name}.ipynb")
        return page

    yield go
    for page in pages:
        page.close()


def click_timeline_button(page, label: str) -> None:
    """Click the tier timeline's button whose text has ``label``, from the page, once it exists."""
    find = f"() => Array.from(document.querySelectorAll('.rtnb-tier-timeline button')).find(b => b.innerText.includes({label!r}))"
    page.wait_for_function(f"() => {{ const b = ({find})(); return !!b && !b.disabled; }}")
    page.evaluate(f"() => ({find})().click()")


def test_notebook_02_the_tiers_on_one_axis_with_pause_and_replay(run):
    page = run("02_streaming_vs_batch")
    assert page.locator(".rtnb-tier-panel").count() == 4
    page.wait_for_function("() => document.querySelectorAll('.rtnb-tier-panel path.line').length >= 4")
    page.wait_for_function(f"() => ({UPDATES})().every(n => n > 0)")
    # Pause: the simulated clock stands still (frames keep coming, time does not move).
    # Clicked from the page: a Playwright click waits for the button to hold still, which
    # a live widget's controls may never do while the panels redraw.
    click_timeline_button(page, "Pause")
    page.wait_for_function("() => !!Array.from(document.querySelectorAll('.rtnb-tier-timeline button'))"
                           ".find(b => b.innerText.includes('Resume'))")
    # The step the pause came in may still draw the time it had advanced to: the kernel
    # says the paused time, the page shows it, and then it must hold.
    page.evaluate(EXECUTE, "print('paused at', f'{min(timeline.runner.clock.now(), timeline.end):%a %H:%M:%S}')")
    page.wait_for_function("() => (window.rtnbExec || []).some(t => t.startsWith('paused at'))")
    at = [t for t in page.evaluate("() => window.rtnbExec") if t.startswith("paused at")][0].split("at", 1)[1].strip()
    page.wait_for_function(f"(at) => ({CLOCK})() === 'simulated time ' + at", arg=at)
    paused = page.evaluate(CLOCK)
    page.wait_for_timeout(1500)  # a pause must hold: nothing to wait for but time
    assert page.evaluate(CLOCK) == paused
    before = page.evaluate(UPDATES)
    # Replay: the day starts again, every tier's counter from the start
    click_timeline_button(page, "Replay")
    page.wait_for_function(f"(b) => ({UPDATES})().every((n, i) => n < b[i])", arg=before)
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
    page.wait_for_function(f"(b) => ({ADVICE})() !== b", arg=before)
    assert "1,000,000" in explorer.locator(".widget-slider", has_text="value of a minute").inner_text()
    screenshot_notebook(page, ARTIFACTS / "03_tiers_vs_cost.png")


def test_notebook_04_runs_and_reads_in_words(run):
    page = run("04_pre_aggregation")
    text = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").inner_text()
    assert "0 days" not in text and "0.000 ms" not in text
    assert page.locator("div.bqplot.figure").count() == 6
    screenshot_notebook(page, ARTIFACTS / "04_pre_aggregation.png")


# What shows that a notebook's widgets rendered (in every app).
RENDERED = {
    "02_streaming_vs_batch": ".rtnb-tier-panel path.line",
    "03_tiers_vs_cost": ".rtnb-tiers-explorer div.bqplot.figure",
    "04_pre_aggregation": "div.bqplot.figure",
}


@pytest.fixture
def small():
    """Notebook 04 at its small sizes: the servers' kernels inherit RTNB_SMALL."""
    with small_sizes():
        yield


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_in_voila_the_notebook_renders_and_its_dollars_stay_dollars(chromium, tmp_path, small, name):
    require((BIN / "voila").exists(), "voila", "pip install 'rtnb[voila]'")
    shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", tmp_path / f"{name}.ipynb")
    with voila(tmp_path / f"{name}.ipynb", tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(SLOW)
        try:
            page.goto(base, timeout=SLOW)  # Voila answers once every cell has run
            page.wait_for_selector(RENDERED[name], state="attached", timeout=SLOW)
            text = page.evaluate("() => document.body.innerText")
            assert "Traceback" not in text and "There was an error" not in text, text[:2000]
            dollars_read_as_dollars(page, ROOT / "notebooks" / f"{name}.ipynb")
        finally:
            page.close()


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    try:
        from importlib.metadata import version

        major = int(version("notebook").split(".")[0])
    except Exception:  # not installed, or an odd version string
        major = 0
    require(major >= 7, "notebook>=7", "pip install 'rtnb[test]'")
    with served(jupyter_notebook, tmp_path_factory.mktemp("nb7")) as base:
        yield base


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_in_notebook7_every_cell_runs_and_its_dollars_stay_dollars(chromium, notebook7, name):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.set_default_timeout(SLOW)
        page.goto(f"{notebook7}/notebooks/{name}.ipynb", timeout=120_000)
        page.wait_for_function(KERNEL_IDLE, timeout=SLOW)
        assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"  # not Lab's UI
        run_all(page)  # the same Run All as in Lab (Notebook 7 is built on it)
        page.wait_for_selector(RENDERED[name], state="attached", timeout=SLOW)
        assert page.evaluate(ERRORS) == []
        dollars_read_as_dollars(page, ROOT / "notebooks" / f"{name}.ipynb")
    finally:
        page.close()
