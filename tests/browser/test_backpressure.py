"""Backpressure from the screen, in a real JupyterLab under headless Chromium (issue 12).

The page's badge acknowledges each beat it has drawn, and the dashboard holds a frame
back while ``FRAMES_IN_FLIGHT`` beats are unacknowledged. With the page slowed down
(DevTools ``Emulation.setCPUThrottlingRate``) the kernel makes frames faster than the
page can draw them; the check is that it then holds frames back and that the screen
stays within a few frames of its kernel, counted in frames from the beats' own stamps
(each beat carries its number and the kernel's wall time when it was sent): at the
arrival of each beat, how many later beats had the kernel already sent. Without
backpressure that count grew without bound (the quick-start page ran 21 s, ~200 frames,
behind its kernel). Every wait is on a state of the page; nothing is timed.
"""

from __future__ import annotations

import json

import pytest

from tests.browser._lab import LIVE_DASHBOARD as DASHBOARD, SLOW, open_notebook, run_all, write_notebook
from tests.browser._servers import jupyter_lab

pytestmark = pytest.mark.timeout(900)


BADGE = "document.querySelector('.rtnb-dashboard .rtnb-freshness')"

# The badge acknowledges beats (its front-end talks back to the kernel).
ACKING = f"() => {{ const b = {BADGE}; return !!b && b.dataset.acked !== '' && b.dataset.acked !== undefined; }}"

# Every new beat the page shows: [beat, kernel's wall time when sent (ms), the page's
# wall time when shown (ms)], in window.rtnbBeats.
RECORD = f"""() => {{ const s = window.rtnbBeats = [], b = {BADGE};
  const note = () => {{ const beat = Number(b.dataset.beat), last = s[s.length - 1];
    if (!last || last[0] !== beat) s.push([beat, Number(b.dataset.sent), Date.now()]); }};
  note(); new MutationObserver(note).observe(b, {{attributes: true}}); return true; }}"""
BEATS = "() => window.rtnbBeats || []"

# Run code in the kernel, resolve with what it printed.
KERNEL_SAYS = """(code) => new Promise(res => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = ''; const f = k.requestExecute({code, store_history: false});
  f.onIOPub = m => { if (m.content && m.content.text) out += m.content.text; };
  f.done.then(() => res(out), () => res(out)); })"""
ACKS = "import json; print(json.dumps([dash.acks.held, dash.acks.forced, dash.acks.limit, dash.frames]))"


def _kernel_acks(page) -> list[int]:
    return json.loads(page.evaluate(KERNEL_SAYS, ACKS).strip().splitlines()[-1])


def frames_ahead(beats: list[list[float]]) -> list[int]:
    """For each beat shown, how many later beats the kernel had sent by the time it was
    shown (stamps of one machine's wall clock; the best transit seen is taken off, so a
    beat sent as the previous one arrived is not counted).

    >>> frames_ahead([[1, 0, 5], [2, 10, 15], [3, 12, 40], [4, 13, 41]])
    [0, 0, 1, 0]
    """
    transit = min(a - s for _, s, a in beats)
    return [sum(1 for _, s, _ in beats[i + 1:] if s < a - transit) for i, (_, _, a) in enumerate(beats)]


def test_a_slowed_page_stays_within_a_few_frames_of_its_kernel(chromium, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    write_notebook(work / "slow_page.ipynb", DASHBOARD)
    with jupyter_lab(work, tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(SLOW)
        try:
            open_notebook(page, base, "slow_page.ipynb")
            run_all(page)
            page.wait_for_function(ACKING, timeout=SLOW, polling=200)
            print("the badge acknowledges beats", flush=True)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 6})  # a page 6x slower
            page.evaluate(RECORD)
            held0, forced0, limit, frames0 = _kernel_acks(page)
            print("throttled; acks before:", held0, forced0, limit, frames0, flush=True)
            page.wait_for_function("() => (window.rtnbBeats || []).length >= 25", timeout=SLOW, polling=500)
            held1, forced1, _, frames1 = _kernel_acks(page)
            beats = page.evaluate(BEATS)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
            ahead = frames_ahead(beats[5:])  # (the first few: the backlog from before the throttle)
            lags = page.evaluate(f"() => {BADGE}.dataset.lag")
            print(f"held {held1 - held0}, forced {forced1 - forced0}, frames drawn {frames1 - frames0}, "
                  f"beats shown {len(beats)}; frames ahead at each beat: {ahead}; badge lag now {lags} s")
            # The kernel made frames faster than the slowed page drew them, and held them back...
            assert held1 - held0 > 0
            # ...so the screen ran at most the frames in flight (plus the frames let go after
            # a second without an acknowledgement) behind its kernel, never a backlog.
            assert max(ahead) <= limit + (forced1 - forced0), ahead
        finally:
            page.close()
