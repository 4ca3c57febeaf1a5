"""The live page in a real Chromium: updates by SSE, WebSocket and polling; a server
stop turns the badge to disconnected while it keeps ageing; a restart brings it back
fresh with no version lost. Behaviour only: every wait is on the page's own state."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rtnb import Counters, MemoryStore, Snapshot, WallClock
from rtnb.serve import Server
from tests.browser._servers import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import require

CLOCK = WallClock()


def fresh_snapshot(i: int) -> Snapshot:
    now = CLOCK.now()
    return Snapshot(metric="orders", table=pd.DataFrame({"count": [i, 2 * i], "mean": [i / 3, 1.5]},
                                                         index=pd.Index(["FR", "DE"], name="country")),
                    window=pd.Timedelta("60s"), watermark=now, newest_event=now, processed_at=now,
                    counters=Counters(received=i, accepted=i), version=i)


@pytest.fixture(scope="module")
def browser():
    require(Path(CHROMIUM).exists(), "chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright", "pip install playwright")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def state(page) -> dict:
    return page.evaluate("() => ({...window.rtnbPage, snapshot: undefined, versions: [...window.rtnbPage.versions]})")


def wait_version(page, v: int) -> None:
    page.wait_for_function(f"() => window.rtnbPage.version >= {v}", timeout=20_000)


@pytest.mark.parametrize("pattern", ["sse", "ws", "poll"])
def test_page_updates_goes_disconnected_while_ageing_and_comes_back_fresh(browser, pattern, tmp_path):
    store = MemoryStore()
    store.put(fresh_snapshot(1))
    # Playwright's sync API runs a loop in this thread: the server gets a thread of its own
    srv = Server(store, port=0, heartbeat=1.0, limits={"orders": "5s"}, run_on="thread").start()
    page = browser.new_page()
    try:
        page.goto(f"{srv.url}/?metric=orders&pattern={pattern}&interval=0.2")
        wait_version(page, 1)
        for i in (2, 3):  # each version displayed before the next is put
            store.put(fresh_snapshot(i))
            wait_version(page, i)
        page.wait_for_function("() => document.getElementById('badge').dataset.state === 'fresh'")
        assert page.inner_text("#table tbody tr:first-child td:nth-child(2)") == "3"
        if pattern == "sse":
            page.screenshot(path=str(tmp_path / "page.png"))

        srv.stop()
        page.wait_for_function("() => window.rtnbPage.badge === 'disconnected'", timeout=20_000)
        assert "disconnected — retrying in" in page.inner_text("#badge")
        age0 = int(page.get_attribute("#badge", "data-age-ms"))
        # it keeps ageing in the browser while nothing arrives
        page.wait_for_function(f"() => +document.getElementById('badge').dataset.ageMs > {age0 + 300}"
                               " && window.rtnbPage.badge === 'disconnected'")
        store.put(fresh_snapshot(4))  # written while the server is down

        srv.start()  # the same port
        store.put(fresh_snapshot(5))
        wait_version(page, 5)
        page.wait_for_function("() => document.getElementById('badge').dataset.state === 'fresh'")
        s = state(page)
        assert s["version"] == store.version("orders") == 5
        assert s["reconnects"] >= 1 and s["status"] == "live"
        assert page.inner_text("#version") == "5"
        if pattern == "poll":
            # polling shows the latest at each poll: every version is shown or counted
            assert len(s["versions"]) + s["missed"] == 5 and s["versions"][-1] == 5
        else:
            assert s["versions"] == [1, 2, 3, 4, 5] and s["missed"] == 0  # none lost
    finally:
        page.close()
        srv.stop()
