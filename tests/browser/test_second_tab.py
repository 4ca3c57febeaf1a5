"""A second page of one live dashboard, in a real JupyterLab under headless Chromium (issue 12).

The quick-start dashboard runs live in page A. The same notebook is opened in page B:
another browser on the same server and the same kernel session, the way a second tab or a
colleague's browser opens it. Page B builds its widgets from the kernel, its bus says it is
ready and gets the current state, and its badge view tells the kernel it is shown.

The test checks that page B shows what the kernel shows: the run state, the badge and
lines that redraw. A click in one page shows in the other. Once page A has gone, page B
stays live: the kernel keeps drawing frames for the view that is left.

Every check waits on a state of the page or of the kernel, never on a time.
"""

from __future__ import annotations

import nbformat
import pytest

from tests.browser._lab import LINES_REDRAW, LIVE_DASHBOARD, SLOW, kernel_says, open_notebook, run_all
from tests.browser._servers import jupyter_lab

pytestmark = pytest.mark.timeout(900)

BADGE = "document.querySelector('.rtnb-dashboard .rtnb-freshness')"
# The page's badge view has acknowledged a beat: the kernel's frames reach this page.
ACKING = f"() => {{ const b = {BADGE}; return !!b && !!b.dataset.acked; }}"
# What the page shows of the run: the status line, the badge and the Pause button.
SHOWN = f"""() => {{ const b = {BADGE}, s = document.querySelector('.rtnb-dashboard .rtnb-run-state');
  const pause = Array.from(document.querySelectorAll('.rtnb-dashboard button'))
    .map(x => x.innerText.trim()).find(t => t === 'Pause' || t === 'Resume');
  return {{status: s && s.dataset.state, run: b && b.dataset.run, badge: b && b.dataset.state, pause}}; }}"""
SAVED = "() => { const w = window.jupyterapp.shell.currentWidget; return !!w && !w.context.model.dirty; }"
# In the kernel: until dashboard frames are drawn (five more than now).
FIVE_FRAMES = """import asyncio
_f = dash.frames
while dash.frames < _f + 5:
    await asyncio.sleep(0.05)"""


def _shows(page, **want) -> None:
    """Wait until the page shows ``want`` (keys of SHOWN)."""
    cond = " && ".join(f"s.{k} === {v!r}" for k, v in want.items())
    try:
        page.wait_for_function(f"() => {{ const s = ({SHOWN})(); return {cond}; }}", timeout=SLOW)
    finally:
        print("the page shows:", page.evaluate(SHOWN), "wanted", want, flush=True)


def _click(page, text: str) -> None:
    page.locator(".rtnb-dashboard button", has_text=text).first.click()


def test_a_second_page_shows_what_the_kernel_shows_and_stays_live_when_the_first_goes(chromium, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LIVE_DASHBOARD)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, work / "tabs.ipynb")
    with jupyter_lab(work, tmp_path) as base:
        a = chromium.new_page(viewport={"width": 1400, "height": 1000})
        b = None
        try:
            a.set_default_timeout(SLOW)
            open_notebook(a, base, "tabs.ipynb")
            run_all(a)
            a.wait_for_function(ACKING, timeout=SLOW, polling=200)
            # Saved with its outputs: a second page of the notebook shows the dashboard too.
            a.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
            a.wait_for_function(SAVED, timeout=SLOW)

            b = chromium.new_page(viewport={"width": 1400, "height": 1000})  # another browser context
            b.set_default_timeout(SLOW)
            open_notebook(b, base, "tabs.ipynb")  # the same session: the kernel that runs the dashboard
            b.wait_for_function(ACKING, timeout=SLOW, polling=200)
            assert kernel_says(b, "dash.runner.state") == "running"
            _shows(b, status="running", run="running", pause="Pause")
            assert b.evaluate(LINES_REDRAW, [0, 3])  # its lines redraw
            views, hidden = kernel_says(b, "len(dash._screen().views), dash._screen().hidden").split()
            assert (views, hidden) == ("2", "False")  # one view per page, both shown

            # A click in page A shows in page B, and one in page B in page A.
            _click(a, "Pause")
            assert kernel_says(b, "dash.runner.state") == "paused"
            _shows(b, status="paused", run="paused", badge="paused", pause="Resume")
            _click(b, "Resume")
            assert kernel_says(b, "dash.runner.state") == "running"
            _shows(a, status="running", run="running", pause="Pause")

            # Page A goes (navigated away, then closed): page B stays live.
            a.goto("about:blank")
            a.close()
            a = None
            # (A's "gone" is sent from pagehide, best effort: the kernel may keep A's token,
            # which is harmless while B is shown; what matters is that B stays live.)
            assert kernel_says(b, "dash.runner.state, dash._screen().hidden", before=FIVE_FRAMES) == "running False"
            assert b.evaluate(LINES_REDRAW, [0, 3])
            _shows(b, status="running", run="running", pause="Pause")
        finally:
            for page in (a, b):
                if page is not None:
                    page.close()
