"""A dashboard scrolled off the screen is sent no frames, and is current as it comes back
(issue 12: the page's frame budget goes to the dashboards a user can see).

In a real JupyterLab under headless Chromium: a live dashboard, then a tall output below
it. Scrolled down past it, the badge's view says it is not shown (an
IntersectionObserver on its dashboard), the kernel sends nothing (its bus's message count
stays) while it still draws its own widgets once a second; scrolled back, the newest data
comes at once and the lines redraw. Every wait is on a state of the page or the kernel.
"""

from __future__ import annotations

import pytest

from tests.browser._lab import LIVE_DASHBOARD, SLOW, kernel_says, open_notebook, run_all, write_notebook
from tests.browser._servers import jupyter_lab

pytestmark = pytest.mark.timeout(900)

SPACER = ("from IPython.display import HTML\n"
          "HTML(\"<div class='rtnb-spacer' style='height:3000px;background:#fafafa'>below the dashboard</div>\")")

BADGE = "document.querySelector('.rtnb-dashboard .rtnb-freshness')"
ACKING = f"() => {{ const b = {BADGE}; return !!b && !!b.dataset.acked; }}"
BADGE_IS = f"() => {{ const b = {BADGE}; return {{...b.dataset}}; }}"
AWAY = "() => document.querySelector('.rtnb-spacer').scrollIntoView({block: 'end'})"
BACK = "() => document.querySelector('.rtnb-dashboard').scrollIntoView({block: 'start'})"
# From now on: the line redraws of the dashboard's chart.
COUNT = """() => { const fig = document.querySelector('.rtnb-dashboard .rtnb-live-line');
  const seen = window.rtnbSeen = {lines: 0};
  new MutationObserver(recs => { seen.lines += recs.filter(r => r.target.classList.contains('line')).length; })
    .observe(fig, {attributes: true, attributeFilter: ['d'], subtree: true});
  return true; }"""
# In the kernel: until the page's view has said it is not shown; then the counts then.
UNSEEN = """import asyncio
_b = dash._screen()
while not _b.hidden:
    await asyncio.sleep(0.05)
_m, _r, _f = dash.bus.messages_sent, dash.runner.health.frames, dash.frames"""
# In the kernel: until the runner has made 30 more frames (3 s at 10 frames/s).
THIRTY = """while dash.runner.health.frames < _r + 30:
    await asyncio.sleep(0.05)"""


def _notebook(work) -> None:
    work.mkdir()
    write_notebook(work / "offscreen.ipynb", LIVE_DASHBOARD, SPACER)


def test_a_dashboard_scrolled_away_gets_no_frames_and_is_current_when_back(chromium, tmp_path):
    _notebook(tmp_path / "work")
    with jupyter_lab(tmp_path / "work", tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(SLOW)
        try:
            open_notebook(page, base, "offscreen.ipynb")
            run_all(page)
            page.evaluate(BACK)
            page.wait_for_function(ACKING, timeout=SLOW, polling=200)
            page.wait_for_function(f"() => {BADGE}.dataset.shown === 'yes'", timeout=SLOW)
            page.evaluate(AWAY)
            page.wait_for_function(f"() => {BADGE}.dataset.shown === 'no'", timeout=SLOW)
            kernel_says(page, "_m", before=UNSEEN)  # the kernel has heard
            sent, drawn, behind, state = kernel_says(
                page, "dash.bus.messages_sent - _m, dash.frames - _f, dash.bus.behind, dash.runner.state",
                before=THIRTY).split()
            # 30 frames of the runner: nothing sent to the page; the kernel's own widgets drawn.
            assert (sent, behind, state) == ("0", "True", "running") and int(drawn) >= 1, (sent, drawn, behind)
            newest = int(kernel_says(page, "int(dash.store.latest(_b.metric).newest_event.value // 1_000_000)"))
            away = page.evaluate(BADGE_IS)
            assert away["kernel"] == "responding" and int(away["newest"]) < newest, away
            page.evaluate(COUNT)
            page.evaluate(BACK)
            # Back on the screen: the newest data at once, the lines redraw, frames flow.
            page.wait_for_function(f"() => {BADGE}.dataset.shown === 'yes'", timeout=SLOW)
            page.wait_for_function(f"() => Number({BADGE}.dataset.newest) >= {newest}", timeout=SLOW)
            page.wait_for_function("() => window.rtnbSeen.lines > 0", timeout=SLOW)
            after = kernel_says(page, "_b.hidden, dash.bus.behind, dash.bus.resends > 0, dash.runner.state")
            assert after.split() == ["False", "False", "True", "running"], after
        finally:
            page.close()
