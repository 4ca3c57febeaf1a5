"""How a dashboard's screen acknowledges frames, in a real JupyterLab under headless
Chromium: every ``ACK_EVERY``-th beat at once, a beat in between only once no newer one
has come (issue 12's frame budget).

Each acknowledgement is a message to the kernel, and the kernel answers every message
with a busy and an idle status that the page handles too (JupyterLab swaps its favicon
on each): acknowledging every frame of the quick-start's four dashboards made two
thirds of the page's WebSocket messages. The beats are set by hand from the kernel (no
run, no timing): the checks are on which beats the kernel heard acknowledged.
"""

from __future__ import annotations

import pytest

from tests.browser._lab import SLOW, kernel_says, open_notebook, run_all, write_notebook
from tests.browser._servers import jupyter_lab

pytestmark = pytest.mark.timeout(600)

# A dashboard of a badge, not running: its beat moves only when this test moves it.
DASHBOARD = """import rtnb
store = rtnb.MemoryStore(history=10)
badge = rtnb.FreshnessBadge(store, "orders", limit="5s")
dash = rtnb.Dashboard([badge])
dash"""

SHOWN = "() => { const b = document.querySelector('.rtnb-dashboard .rtnb-freshness'); return !!b && b.dataset.acked !== ''; }"


def _heard(page) -> tuple[int | None, int]:
    """The newest beat the kernel heard acknowledged, and how many acknowledgements."""
    beat, n = kernel_says(page, "badge.acked_beat, badge.acks_heard").split()
    return (None if beat == "None" else int(beat)), int(n)


def _wait_heard(page, beat: int) -> int:
    """Waits until the kernel has heard ``beat`` acknowledged; the acknowledgements heard."""
    kernel_says(page, "badge.acked_beat", before=(
        "import asyncio\n"
        f"for _ in range(600):\n    if badge.acked_beat == {beat}: break\n    await asyncio.sleep(0.05)"))
    got, n = _heard(page)
    assert got == beat, (got, n)
    return n


def test_the_screen_acknowledges_every_other_beat_and_a_lone_one_when_nothing_newer_comes(chromium, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    write_notebook(work / "acks.ipynb", DASHBOARD)
    with jupyter_lab(work, tmp_path) as base:
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        try:
            open_notebook(page, base, "acks.ipynb")
            run_all(page)
            page.wait_for_function(SHOWN, timeout=SLOW)
            assert kernel_says(page, "badge.ack_every, rtnb.widgets._dashboard.FRAMES_IN_FLIGHT",
                               before="import rtnb.widgets._dashboard") == "2 3"
            n0 = _wait_heard(page, 0)  # the new view said it shows beat 0
            # One beat on: no newer one comes, so it is acknowledged on its own.
            kernel_says(page, "badge.beat", before="badge.beat = 1")
            n1 = _wait_heard(page, 1)
            assert n1 - n0 == 1
            # Two beats 30 ms apart (the page draws the first before the second comes):
            # one acknowledgement, of the newer, ACK_EVERY on (acknowledging each frame
            # drawn, the page sent two).
            kernel_says(page, "badge.beat", before="import time\nbadge.beat = 2\ntime.sleep(0.03)\nbadge.beat = 3")
            n3 = _wait_heard(page, 3)
            assert n3 - n1 == 1
            # Three beats, one after the other: 4 waits for a newer one, 5 is two on
            # from 3 and goes at once (covering 4), 6 goes on its own.
            kernel_says(page, "badge.beat", before="badge.beat = 4\nbadge.beat = 5\nbadge.beat = 6")
            n6 = _wait_heard(page, 6)
            assert n6 - n3 <= 2
            assert page.evaluate("() => document.querySelector('.rtnb-dashboard .rtnb-freshness').dataset.acked") == "6"
        finally:
            page.close()
