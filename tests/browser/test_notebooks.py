"""Notebooks 02, 03 and 04 in a real JupyterLab, Notebook 7 and Voila, seen by Chromium.

For each, in each app: every cell runs without a traceback, its widgets render, and no
Markdown cell (nor anything else on the page) is typeset by MathJax — every dollar
amount the Markdown writes reads as written on the page. In JupyterLab, Run All and: notebook 02:
the four tier panels draw on one time axis, Pause stops the simulated clock, Replay
starts the day again. Notebook 03: the explorer is one widget; moving a slider in the
browser changes the advisor's table. In Notebook 7, notebook 05's live dashboard keeps
redrawing its lines while the clients run (it once stopped getting frames there).
Behaviour only, no rates. A picture of each
notebook goes to tests/browser/artifacts/ (``python -m scripts.screenshots`` refreshes
the ones in docs/).
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from tests.browser._lab import ALL_RUN, ERRORS, KERNEL_IDLE, LINES_REDRAW, SLOW, dollars_read_as_dollars, \
    kernel_says, open_notebook, run_all, screenshot_notebook
from tests.browser._servers import BIN, ROOT, jupyter_lab, jupyter_notebook, voila
from tests.conftest import require

pytestmark = pytest.mark.timeout(1200)

NOTEBOOKS = ["02_streaming_vs_batch", "03_tiers_vs_cost", "04_pre_aggregation"]
DELIVERY = "05_delivery_for_real"  # served too, for its live dashboard in Notebook 7
ARTIFACTS = ROOT / "tests" / "browser" / "artifacts"

# The tier timeline now: its clock label, each tier's screen-update counter, and the
# Play/Pause/Resume button's label (null before it renders). textContent: no layout.
TIERS_NOW = """() => { const e = document.querySelector('.rtnb-tier-timeline'); if (!e) return null;
  const clock = (e.textContent.match(/simulated time \\w{3} \\d\\d:\\d\\d:\\d\\d/) || [null])[0];
  const updates = Array.from(e.querySelectorAll('.rtnb-tier-panel .rtnb-updates'))
    .map(u => Number(u.textContent.replace(/[^0-9]/g, '')));
  const button = Array.from(e.querySelectorAll('button')).map(b => b.textContent.trim())
    .find(t => ['Play', 'Pause', 'Resume'].includes(t));
  return {clock, updates, button: button || null}; }"""
# Every state of the tier timeline, in order, in window.rtnbTiers: polled every 50 ms
# until the timeline exists, then observed (a MutationObserver misses no state, however
# far behind its kernel a loaded page runs), as the quick-start test records its badge.
RECORD_TIERS = f"""() => {{ const s = window.rtnbTiers = [], t0 = performance.now();
  const note = () => {{ const n = ({TIERS_NOW})(), last = s[s.length - 1];
    if (n && (!last || last.clock !== n.clock || last.button !== n.button || last.updates.join() !== n.updates.join()))
      s.push({{...n, ms: Math.round(performance.now() - t0)}}); }};
  const find = setInterval(() => {{ const e = document.querySelector('.rtnb-tier-timeline'); if (!e) return;
    clearInterval(find); note();
    new MutationObserver(note).observe(e, {{subtree: true, childList: true, characterData: true}}); }}, 50);
  return true; }}"""
TIERS_SEEN = "() => window.rtnbTiers || []"
# Some state seen had a screen update on every tier.
TIERS_ALL_COUNTED = "() => (window.rtnbTiers || []).some(r => r.updates.length === 4 && r.updates.every(n => n > 0))"
# Run in the kernel while paused: until the play has drawn three more frames.
HOLD_FRAMES = """import asyncio
_frames = timeline.runner.health.frames
while timeline.runner.state == 'paused' and timeline.runner.health.frames < _frames + 3:
    await asyncio.sleep(0.05)"""
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
    for name in NOTEBOOKS + [DELIVERY]:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", work / f"{name}.ipynb")
    with small_sizes(), start(work, tmp) as base:
        yield base


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with served(jupyter_lab, tmp_path_factory.mktemp("lab")) as base:
        yield base


@pytest.fixture
def run(chromium, lab):
    """Open a notebook (``record``: JavaScript to run before Run All), Run All, check no
    tracebacks and no MathJax; yields the page."""
    pages = []

    def go(name, record=None):
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(SLOW)  # a loaded machine: the page can be minutes behind
        pages.append(page)
        open_notebook(page, lab, f"{name}.ipynb")
        if record is not None:  # a recording of the page's states from before Run All
            page.evaluate(record)
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


def paused_from_the_page(page) -> None:
    """Pause the play with the page's Play/Pause button, whatever state the play is in.

    The kernel says its state (it answers after every click sent before the question),
    and the button is clicked only once the page shows the label of that state: "Play"
    (the notebook's play is over: the user plays it again; on a loaded machine Run All
    can outlast it), then "Pause". A play that ends between the page's "Pause" and the
    click turns the click into a new play: the next question sees it running, and the
    next click pauses it."""
    for _ in range(6):
        state = kernel_says(page, "timeline.runner.state")
        if state == "paused":
            return
        label = "Pause" if state == "running" else "Play"  # stopped, or idle
        page.wait_for_function(f"(l) => ({TIERS_NOW})()?.button === l", arg=label)
        click_timeline_button(page, label)
    raise AssertionError(f"not paused after 6 clicks; the kernel says {state}; seen {page.evaluate(TIERS_SEEN)[-5:]}")


def test_notebook_02_the_tiers_on_one_axis_with_pause_and_replay(run):
    """Pause stops the simulated clock and the page shows it stopped; Replay sets it back
    to the day's start. Every state of the clock, the counters and the button is recorded
    on the page from before Run All (a MutationObserver misses none, even on a page
    minutes behind its kernel); what the kernel's clock says is asked from the kernel."""
    page = run("02_streaming_vs_batch", record=RECORD_TIERS)
    try:
        assert page.locator(".rtnb-tier-panel").count() == 4
        page.wait_for_function("() => document.querySelectorAll('.rtnb-tier-panel path.line').length >= 4")
        start = kernel_says(page, "f'{timeline.start:%a %H:%M:%S}'")
        state, counted = kernel_says(page, "timeline.runner.state, min(timeline.updates.values()) > 0").split()
        if state != "running" and counted == "False":
            # The notebook's play ended before every tier had a screen update (Run All on
            # a loaded machine): the user plays it again. The only case a test starts a play.
            page.wait_for_function(f"() => ({TIERS_NOW})()?.button === 'Play'")
            click_timeline_button(page, "Play")
        page.wait_for_function(TIERS_ALL_COUNTED)  # every tier's viewer has had screen updates
        paused_from_the_page(page)
        # The kernel's clock is still after three more frames, and the page shows that time.
        at = kernel_says(page, "f'{min(timeline.runner.clock.now(), timeline.end):%a %H:%M:%S}'")
        held = kernel_says(page, "f'{min(timeline.runner.clock.now(), timeline.end):%a %H:%M:%S}', timeline.runner.state",
                           before=HOLD_FRAMES)
        assert held == f"{at} paused", (at, held)
        page.wait_for_function(f"(at) => {{ const n = ({TIERS_NOW})(); return !!n && n.button === 'Resume' && n.clock === at; }}",
                               arg=f"simulated time {at}")
        seen = page.evaluate(TIERS_SEEN)
        first = next(i for i, r in enumerate(seen) if r["button"] == "Resume" and r["clock"] == f"simulated time {at}")
        # From the paused time on the page, and up to the kernel's last paused frame sent
        # before its answer: no other time (the step the pause came in may draw, after
        # "Resume", the time it had advanced to; that is `at`).
        assert {r["clock"] for r in seen[first:]} == {f"simulated time {at}"}, seen[first:]
        print(f"paused at {at} (the kernel, after 3 more frames: {held}); the page around it:", seen[max(0, first - 2):first + 2])
        # Replay: the play runs again (the button says Pause), from the day's start: the
        # clock label is set to the start before the button changes, and only the play's
        # frames move it on.
        click_timeline_button(page, "Replay")
        page.wait_for_function(f"(n) => ({TIERS_SEEN})().slice(n).some(r => r.button === 'Pause')", arg=len(seen))
        replayed = next(r for r in page.evaluate(TIERS_SEEN)[len(seen):] if r["button"] == "Pause")
        print("after Replay:", replayed)
        assert replayed["clock"] == f"simulated time {start}", (start, replayed)
        screenshot_notebook(page, ARTIFACTS / "02_streaming_vs_batch.png")
    finally:
        print("tier timeline seen (last 8):", page.evaluate(TIERS_SEEN)[-8:])


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


def test_in_notebook7_notebook_05s_dashboard_keeps_drawing_while_its_clients_run(chromium, notebook7):
    """Run All, and while the notebook's clients read the server (the cell awaits LIVE
    seconds; the dashboard runs 3 x LIVE + 10), the dashboard kept on the screen redraws
    its lines, and again later: frames keep reaching Notebook 7's page, not only the first."""
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.set_default_timeout(SLOW)
        page.goto(f"{notebook7}/notebooks/{DELIVERY}.ipynb", timeout=120_000)
        page.wait_for_function(KERNEL_IDLE, timeout=SLOW)
        # (not returned: evaluate would wait for the promise, that is for Run All's end)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        page.wait_for_selector(".rtnb-dashboard .rtnb-live-line path.line", state="attached", timeout=SLOW)
        # The user watches the dashboard: Run All scrolls to the cell it runs, and a dashboard
        # scrolled off the screen is rightly drawn nothing, so it is kept in view meanwhile.
        page.evaluate("""() => { const d = document.querySelector('.rtnb-dashboard');
          window.rtnbWatch = setInterval(() => d.scrollIntoView({block: 'start'}), 200); }""")
        for _ in range(2):  # five lines: 10 redraws are two frames at least, each time
            page.wait_for_function(LINES_REDRAW, arg=[0, 10], timeout=SLOW)
        page.evaluate("() => clearInterval(window.rtnbWatch)")
        page.wait_for_function(ALL_RUN, timeout=SLOW, polling=250)
        assert page.evaluate(ERRORS) == []
    finally:
        page.close()
