"""A live chart zoomed with the mouse wheel in a real JupyterLab under headless
Chromium: it follows now, holds, and follows again (issue 12).

One dashboard (a small page keeps up with its kernel on a loaded machine). The wheel
zoom is bqplot's PanZoom: it sets the time scale's min/max in the browser and sends
them to the kernel, which from then on slides that span to end at now on every frame.
The chart's toolbar says what the axis shows (``data-view``: ``all``, ``following``,
``held``), so the checks wait on what the kernel answered, never on a time. Every wait
is on a state of the page, with generous budgets.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.browser._lab import open_notebook, run_all
from tests.browser._servers import jupyter_lab

pytestmark = pytest.mark.timeout(600)

DASHBOARD = """import rtnb
orders = rtnb.simulate("ecommerce_orders", rate=20, seed=1, start="2024-01-01 12:00")
dash = rtnb.dashboard(orders, metric="amount", by="country", window="1min", limit="5s", top_k=3, points=60,
                      fps=4, clock=rtnb.SimClock(start="2024-01-01 12:00"))
dash.start(600, speedup=5)
dash"""

CHART = "document.querySelector('.rtnb-dashboard .rtnb-live-line')"
TOOLBAR = "document.querySelector('.rtnb-dashboard .rtnb-chart-toolbar')"

# The chart's lines are drawn (a path of more than two points).
DRAWN = f"""() => {{ const f = {CHART}; return !!f && Array.from(f.querySelectorAll('path.line'))
  .some(p => (p.getAttribute('d') || '').split(/[LC]/).length > 2); }}"""

# What the toolbar says the time axis shows, and its words.
VIEW = f"""() => {{ const v = {TOOLBAR} && {TOOLBAR}.querySelector('[data-view]');
  return v ? [v.dataset.view, v.textContent] : null; }}"""

# The tick labels of the time axis (the axis whose ticks are spread along x).
TICKS = f"""() => {{ const axes = Array.from({CHART}.querySelectorAll('g.axis')).filter(a => {{
    const xs = Array.from(a.querySelectorAll('g.tick')).map(t => (t.getAttribute('transform') || '')
      .match(/translate\\(([-\\d.e]+)[ ,]+([-\\d.e]+)\\)/)).filter(m => m && Number(m[2]) === 0);
    return xs.length > 1; }});
  return axes.length ? Array.from(axes[0].querySelectorAll('g.tick text')).map(t => t.textContent).join('|') : null; }}"""

# The toolbar button labelled `label`, clicked from the page (a Playwright click waits
# for the element to hold still, which a live dashboard's toolbar may never do).
CLICK = f"""(label) => {{ const b = Array.from({TOOLBAR}.querySelectorAll('button'))
  .find(b => b.innerText.trim() === label); if (!b) return false; b.click(); return true; }}"""

# Resolves once the chart's lines have been redrawn `n` times.
REDRAWN = f"""(n) => new Promise(res => {{ let seen = 0;
  const obs = new MutationObserver(recs => {{
    seen += recs.filter(r => r.target.classList.contains('line')).length;
    if (seen >= n) {{ obs.disconnect(); res(true); }} }});
  obs.observe({CHART}, {{attributes: true, attributeFilter: ['d'], subtree: true}}); }})"""


def _view_is(page, view: str) -> list:
    page.wait_for_function(f"() => {{ const v = ({VIEW})(); return !!v && v[0] === {view!r}; }}",
                           timeout=120_000, polling=200)
    return page.evaluate(VIEW)


def _ticks_move(page) -> None:
    """The time axis moves on: its tick labels change (time passes, the view follows)."""
    before = page.evaluate(TICKS)
    assert before, "no time axis ticks"
    page.wait_for_function(f"(b) => {{ const t = ({TICKS})(); return !!t && t !== b; }}", arg=before,
                           timeout=120_000, polling=200)


def test_a_wheel_zoomed_chart_follows_now_holds_and_follows_again(chromium, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(DASHBOARD)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, work / "zoom.ipynb")
    with jupyter_lab(work, tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1300, "height": 1000})
        page.set_default_timeout(90_000)
        try:
            open_notebook(page, base, "zoom.ipynb")
            run_all(page)
            page.wait_for_function(DRAWN, timeout=180_000, polling=200)
            assert _view_is(page, "all")[1] == "whole history"
            # Zoom on: the kernel sets bqplot's PanZoom as the chart's interaction, which
            # the browser draws as a transparent rect over the plot area.
            page.wait_for_function(CLICK, arg="zoom", timeout=60_000)
            rect = ".rtnb-dashboard .rtnb-live-line rect[pointer-events='all']"
            page.wait_for_selector(rect, state="attached", timeout=120_000)
            page.evaluate(f"() => {CHART}.scrollIntoView({{block: 'center'}})")
            box = page.evaluate(f"""() => {{ const r = document.querySelector("{rect}").getBoundingClientRect();
                return [r.x + r.width / 2, r.y + r.height / 2, r.width]; }}""")
            assert box[2] > 100, box  # the plot area, not a collapsed chart
            page.mouse.move(box[0] - 10, box[1])
            page.mouse.move(box[0], box[1])
            for _ in range(5):
                page.mouse.wheel(0, -240)  # zoom in (bqplot: a factor exp(-0.24) a notch)
            view, words = _view_is(page, "following")  # the kernel got the zoomed span...
            span = float(re.search(r"last ([\d.]+) s", words).group(1))
            # ...five notches of exp(-0.24) keep ~30% of a history of at most 60 points of 1 s:
            # a span over half of that means the wheel did not zoom (or zoomed out)
            assert 0 < span <= 30, words
            _ticks_move(page)  # ...and slides it on to now, frame after frame

            page.wait_for_function(CLICK, arg="hold", timeout=60_000)
            _view_is(page, "held")
            held = page.evaluate(TICKS)
            page.wait_for_function(REDRAWN, arg=3, timeout=120_000)  # the lines go on being drawn...
            assert page.evaluate(TICKS) == held  # ...under an axis that stays put

            page.wait_for_function(CLICK, arg="follow now", timeout=60_000)
            assert "last" in _view_is(page, "following")[1]  # the zoomed span again, ending at now
            _ticks_move(page)
        finally:
            page.close()
