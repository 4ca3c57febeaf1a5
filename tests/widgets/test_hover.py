"""Hover dots on demand, on widget state (no browser).

In a dashboard whose page runs the hover watch, a line chart's invisible hover dots
exist only while the mouse is over it: filled at once from the newest frame when the
mouse enters (also while paused: no frame is needed), kept current frame by frame while
it stays, emptied when it leaves, and never sent while nobody points at the chart. A
line chart alone, or a dashboard no page has loaded (nbval, a kernel without a screen),
keeps its dots all the time, as before. (tests/browser/test_quickstart.py hovers a real
chart: the dots come, the tooltip shows key and time, the dots go.)
"""

from __future__ import annotations

import ipywidgets
import numpy as np
import pytest

import rtnb
from rtnb.widgets import Dashboard, FreshnessBadge, LiveLine
from rtnb.widgets._hover import ASK_TTL, HOVER_TTL, LINE_ID_CLASS, WATCHES_HOVER
from tests.conftest import FakeSource

pytestmark = pytest.mark.skipif(not WATCHES_HOVER, reason="anywidget is not installed (the anywidget extra)")


def _dashboard():
    store = rtnb.store.MemoryStore(history=600)
    source = FakeSource(200, name="orders", keys=("FR", "DE", "IT"), key_col="country", measure="amount")
    runner = rtnb.Runner(source, clock=rtnb.SimClock(start="2024-01-01"), tick="100ms", fps=10, frames="sim")
    pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min", store=store)
    line = LiveLine(store, pipe.name, column="sum", points=100)
    dash = Dashboard([FreshnessBadge(store, pipe.name, limit="5s"), line], runner=runner, monotonic=lambda: 0.0)
    dash.watch_clock = [0.0]  # the hover watch's clock (simulated): _later() moves it
    if dash.hover_watch is not None:
        dash.hover_watch._monotonic = lambda: dash.watch_clock[0]
    return dash, runner, line


def _later(dash, seconds):
    dash.watch_clock[0] += seconds
    dash.hover_watch.expire()


def _page(dash, content):
    dash.hover_watch._from_page(dash.hover_watch, content, [])


def _dots(line):
    return sorted(zip(line.hover_mark.names.tolist(), line.hover_mark.y.tolist()))


def test_a_line_alone_or_a_dashboard_without_a_page_keeps_its_dots():
    dash, runner, line = _dashboard()
    runner.run("2s")
    assert not dash.hover_watch.ready and not line.hover_on_demand
    assert len(line.hover_mark.x) > 0  # nbval, no screen: as before
    assert LINE_ID_CLASS + line.model_id in line._dom_classes  # how the page names the chart


def test_dots_only_while_the_mouse_is_over_the_chart(sent):
    dash, runner, line = _dashboard()
    runner.run("2s")
    full = _dots(line)
    _page(dash, {"ready": True})  # a page runs the watch: the dots go until hovered
    assert line.hover_on_demand and len(line.hover_mark.x) == 0
    sent.clear()
    runner.run("2s")
    assert sent.count(line.hover_mark) == 0 and sent.count(line.lines) > 0  # nobody points: nothing sent
    # The mouse enters: the dots come at once, from the newest frame's points ...
    _page(dash, {"hover": line.model_id, "on": True})
    assert sent.count(line.hover_mark) == 1
    x, y, labels, first = line._hover_args
    expected = LiveLine(line.store, line.metric, column="sum", points=100)
    from rtnb.widgets._hover import show_hover_dots

    show_hover_dots(expected.hover_mark, x, y, labels, first=first)
    assert _dots(line) == _dots(expected) and len(line.hover_mark.x) > 0
    assert len(_dots(line)) >= len(full)  # more points now than 2 s ago, same stride rule
    # ... and follow the data while it stays (the newest point is at most a stride away)
    runner.run("2s")
    newest = line.point_times[-1]
    assert (newest - line.hover_mark.x.max()) <= 5 * (line.point_times[-1] - line.point_times[-2])
    # The mouse leaves: the dots go, and nothing more is sent for them.
    _page(dash, {"hover": line.model_id, "on": False})
    assert len(line.hover_mark.x) == 0 and len(line.hover_mark.names) == 0
    sent.clear()
    runner.run("1s")
    assert sent.count(line.hover_mark) == 0


def test_hover_works_on_a_paused_run_and_ignores_what_is_not_a_chart_of_the_dashboard():
    dash, runner, line = _dashboard()
    runner.run("2s")
    _page(dash, {"ready": True})
    runner.health.state = "paused"  # no new data: the dots come from the last frame drawn
    _page(dash, {"hover": "not-a-model", "on": True})
    _page(dash, {"hover": dash.model_id, "on": True})  # the dashboard itself: not a chart
    _page(dash, {"hover": 3, "on": True})  # not a model id at all
    _page(dash, ["hover"])
    assert len(line.hover_mark.x) == 0
    _page(dash, {"hover": line.model_id, "on": True})
    drawn = line.point_times
    assert len(line.hover_mark.x) > 0 and set(line.hover_mark.x.tolist()) <= set(drawn.tolist())
    assert np.isfinite(line.hover_mark.y).all()


def test_hover_can_be_turned_off_for_comparisons(monkeypatch):
    monkeypatch.setenv("RTNB_HOVER_ON_DEMAND", "0")
    dash, runner, line = _dashboard()
    assert dash.hover_watch is None
    runner.run("1s")
    assert len(line.hover_mark.x) > 0


def _ready(dash, *tokens):
    """Views with these tokens load (each new view makes the watch ask the others)."""
    for t in tokens:
        _page(dash, {"ready": True, "token": t})
        for other in tokens[: tokens.index(t)]:
            _page(dash, {"here": True, "token": other, "hover": None})


def test_two_views_one_late_leave_keeps_the_dots_of_the_other(sent):
    # Two views of one dashboard (two tabs, a second view of the output): the mouse moves
    # from the chart in view A to the same chart in view B. B says "on" at once, A says
    # "off" 300 ms later: the dots stay while B points at the chart.
    dash, runner, line = _dashboard()
    runner.run("2s")
    _ready(dash, "A", "B")
    _page(dash, {"hover": line.model_id, "on": True, "token": "A"})
    runner.run("1s")
    _page(dash, {"hover": line.model_id, "on": True, "token": "B"})
    _page(dash, {"hover": line.model_id, "on": False, "token": "A"})
    runner.run("1s")
    assert len(line.hover_mark.x) > 0  # the mouse is over B's copy: tooltips there
    _page(dash, {"hover": line.model_id, "on": False, "token": "B"})
    assert len(line.hover_mark.x) == 0  # nobody points any more
    sent.clear()
    runner.run("1s")
    assert sent.count(line.hover_mark) == 0


def test_a_reload_while_hovered_does_not_leave_the_dots_on(sent):
    # The page is reloaded while the mouse is on a chart: the old view may not have had
    # the time to tell its leave. The new view's ready asks the live views what they
    # point at; a hover no view confirms within ASK_TTL goes.
    dash, runner, line = _dashboard()
    runner.run("2s")
    _ready(dash, "old")
    _page(dash, {"hover": line.model_id, "on": True, "token": "old"})
    assert len(line.hover_mark.x) > 0
    sent.clear()
    _page(dash, {"ready": True, "token": "new"})
    assert ({"method": "custom", "content": {"ask": True}}, 0) in sent.messages[dash.hover_watch.model_id]
    _later(dash, ASK_TTL)  # "old" never answers
    runner.run("2s")
    assert line.hover_on_demand and len(line.hover_mark.x) == 0  # nobody points: no dots
    # A view still alive (another tab) answers with the chart it points at: dots again.
    _page(dash, {"here": True, "token": "other", "hover": line.model_id})
    assert len(line.hover_mark.x) > 0
    # The same view sending ready again (a re-render) resets its own hovers too.
    _page(dash, {"ready": True, "token": "other"})
    assert len(line.hover_mark.x) == 0


def test_the_last_page_saying_bye_brings_the_dots_back():
    # Once no page shows the dashboard (closed, or a saved widget state), the dots are
    # there all the time again, as before any page came.
    dash, runner, line = _dashboard()
    runner.run("2s")
    _ready(dash, "A", "B")
    assert line.hover_on_demand and len(line.hover_mark.x) == 0
    _page(dash, {"hover": line.model_id, "on": True, "token": "A"})
    _page(dash, {"hover": line.model_id, "on": False, "token": "A"})
    _page(dash, {"bye": True, "token": "A"})
    assert line.hover_on_demand and dash.hover_watch.ready  # B still shows it
    _page(dash, {"bye": True, "token": "B"})
    assert not line.hover_on_demand and not dash.hover_watch.ready
    assert len(line.hover_mark.x) > 0
    runner.run("1s")
    assert len(line.hover_mark.x) > 0


def test_the_watch_names_every_line_chart_of_its_dashboard(sent):
    # The page's watch handles the dashboard's charts wherever they are in the document
    # (a line of the dashboard displayed on its own too keeps its tooltips): the kernel
    # sends it their model ids.
    dash, runner, line = _dashboard()
    second = LiveLine(line.store, line.metric, column="sum", points=50)
    dash2 = Dashboard([line, second], runner=runner, monotonic=lambda: 0.0)
    assert dash.hover_watch.lines == [line.model_id]
    assert dash2.hover_watch.lines == [line.model_id, second.model_id]
    assert "lines" in dash.hover_watch.keys  # synced to the page
    # A standalone copy pointed at (its view in the page answers for the dashboard's watch):
    runner.run("2s")
    _ready(dash, "A")
    _page(dash, {"hover": line.model_id, "on": True, "token": "A"})
    assert len(line.hover_mark.x) > 0


class LaggingPage:
    """A page (JupyterLab, ipywidgets 8) on a loaded machine: it applies a widget's own
    messages as they come, in order, and the frame bus's messages on a queue of their
    own that runs behind (each bus entry awaits a deserialisation; Lab awaits a
    widget's own update before the next message, never the bus's). The worst order:
    every widget's own messages first, then every bus message."""

    def __init__(self, monkeypatch):
        from ipywidgets.widgets.widget import _instances

        self.state = {i: dict(w.get_state()) for i, w in list(_instances.items()) if w.comm is not None}
        self.log: list = []
        monkeypatch.setattr(ipywidgets.Widget, "_send",
                            lambda w, msg, buffers=None: w.comm is not None and self.log.append((w.model_id, msg)))

    def apply(self) -> None:
        own = [(i, m["state"]) for i, m in self.log if m.get("method") == "update"]
        bus = [(e[0], e[1]) for _, m in self.log if m.get("method") == "custom"
               for e in (m.get("content") or {}).get("rtnb_frame", []) if len(e) == 4]
        for model_id, state in own + bus:
            self.state.setdefault(model_id, {}).update(state)
        self.log.clear()

    def dots(self, line) -> int:
        return self.state[line.hover_mark.model_id]["x"]["shape"][0]


def test_dots_emptied_on_a_leave_stay_empty_on_a_page_that_applies_the_bus_late(monkeypatch):
    # CI (a loaded machine): the mouse left the chart, the kernel emptied its dots, and
    # the page kept them for good. While hovered, the frames (through the bus) carried
    # the dots; the leave's empty dots went as the hover mark's own message, which the
    # page applied before the bus's last frame had reached it: that frame drew the dots
    # again, and the kernel, whose dots were empty, sent nothing more.
    dash, runner, line = _dashboard()
    badge = dash._screen()
    runner.run("1s")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])
    _ready(dash, "A")
    _page(dash, {"hover": line.model_id, "on": True, "token": "A"})
    for _ in range(5):  # a screen that keeps up: the frames go through the bus, dots included
        badge._on_screen_message(badge, {"ack": badge.beat}, [])
        runner.run("100ms")
    page = LaggingPage(monkeypatch)
    badge._on_screen_message(badge, {"ack": badge.beat}, [])
    runner.run("100ms")  # a frame whose dots are new ...
    assert any(m.get("method") == "custom" for _, m in page.log)  # (through the bus)
    _page(dash, {"hover": line.model_id, "on": False, "token": "A"})  # ... then the mouse leaves
    assert len(line.hover_mark.x) == 0
    page.apply()
    assert page.dots(line) == 0  # the page shows what the kernel holds
    # A view that loads later, and A does not confirm its hover: the dots go, after
    # frames that carried them (a dashboard's dots are always there until its watch is ready).
    _page(dash, {"hover": line.model_id, "on": True, "token": "A"})
    runner.run("100ms")
    _page(dash, {"ready": True, "token": "B"})
    _later(dash, ASK_TTL)
    page.apply()
    assert len(line.hover_mark.x) == 0 and page.dots(line) == 0


def test_a_view_that_died_without_a_bye_stops_costing_dots(sent):
    # A page that dies without pagehide (a crash, a killed tab) kept its hover for good:
    # the kernel sent the chart's dots for a viewer who was gone. A view pointing at a
    # chart says so again every 2 s; a hover not heard of for HOVER_TTL goes.
    dash, runner, line = _dashboard()
    runner.run("2s")
    _ready(dash, "dead", "live")
    _page(dash, {"hover": line.model_id, "on": True, "token": "dead"})
    _later(dash, HOVER_TTL - 1)
    assert len(line.hover_mark.x) > 0
    _page(dash, {"hover": line.model_id, "on": True, "token": "dead"})  # (its last word)
    _later(dash, HOVER_TTL - 1)
    assert dash.hover_watch.hovered == {line.model_id}
    _later(dash, 1)  # HOVER_TTL without news of it
    assert dash.hover_watch.hovered == set() and len(line.hover_mark.x) == 0
    sent.clear()
    runner.run("2s")
    assert sent.count(line.hover_mark) == 0  # no dots sent for nobody
    # A live view pointing still keeps its hover by saying so again.
    for _ in range(5):
        _page(dash, {"hover": line.model_id, "on": True, "token": "live"})
        _later(dash, HOVER_TTL / 2)
    assert dash.hover_watch.hovered == {line.model_id} and len(line.hover_mark.x) > 0


def test_a_new_view_keeps_the_dots_another_view_points_at():
    # A new view's ready emptied every other view's dots until they answered its ask.
    seen = []
    t = [0.0]
    from rtnb.widgets._hover import HoverWatch

    watch = HoverWatch(on_hover=lambda i, on: seen.append((i, on)), on_ready=lambda: None, lines=["abc"],
                       monotonic=lambda: t[0])
    watch._from_page(watch, {"ready": True, "token": "A"}, [])
    watch._from_page(watch, {"hover": "abc", "on": True, "token": "A"}, [])
    watch._from_page(watch, {"ready": True, "token": "B"}, [])  # a second tab
    assert watch.hovered == {"abc"}
    watch._from_page(watch, {"here": True, "token": "A", "hover": "abc"}, [])  # A answers the ask
    t[0] += ASK_TTL
    watch.expire()
    assert watch.hovered == {"abc"} and seen == [("abc", True)]  # never emptied


def test_a_dead_views_hover_goes_on_the_dashboards_frames_alone(sent):
    # With no other message reaching the watch, the dashboard's frames expire a hover not
    # heard of for HOVER_TTL, on the dashboard's own clock.
    t = [0.0]
    store = rtnb.store.MemoryStore(history=600)
    source = FakeSource(200, name="orders", keys=("FR", "DE", "IT"), key_col="country", measure="amount")
    runner = rtnb.Runner(source, clock=rtnb.SimClock(start="2024-01-01"), tick="100ms", fps=10, frames="sim")
    pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min", store=store)
    line = LiveLine(store, pipe.name, column="sum", points=100)
    dash = Dashboard([FreshnessBadge(store, pipe.name, limit="5s"), line], runner=runner, monotonic=lambda: t[0])
    runner.run("2s")
    _ready(dash, "dead")
    _page(dash, {"hover": line.model_id, "on": True, "token": "dead"})
    assert dash.hover_watch.hovered == {line.model_id}
    t[0] += HOVER_TTL - 1
    runner.run("1s")
    assert dash.hover_watch.hovered == {line.model_id}  # not yet
    t[0] += 2
    runner.run("1s")  # frames only: nothing came from any page
    assert dash.hover_watch.hovered == set() and len(line.hover_mark.x) == 0
