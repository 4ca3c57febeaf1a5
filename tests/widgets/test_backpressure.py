"""Backpressure from the screen and the frame bus, on widget state (no browser).

A dashboard whose screen acknowledges its frames (the badge's front-end does) holds a
frame back while ``FRAMES_IN_FLIGHT`` are unacknowledged, and the frame it draws next
shows the newest data; once its bus's front-end is ready, the messages of a frame
leave as one, and the views' state is what it would have been. While no view of its
badge is shown (hidden tabs, closed pages), it draws no frames, and a view shown again
is current at once. (The browser tests tests/browser/test_backpressure.py and
test_second_tab.py check the same on a slowed page and on hidden and second pages.)
"""

from __future__ import annotations

import numpy as np
import pytest
import pandas as pd

import rtnb
from rtnb.widgets import Dashboard, FreshnessBadge, KpiTile, LiveLine
from rtnb.widgets._dashboard import ACK_EVERY, FRAMES_IN_FLIGHT
from tests.conftest import FakeSource


def _dashboard(monotonic=None):
    store = rtnb.store.MemoryStore(history=600)
    source = FakeSource(200, name="orders", keys=("FR", "DE", "IT"), key_col="country", measure="amount")
    runner = rtnb.Runner(source, clock=rtnb.SimClock(start="2024-01-01"), tick="100ms", fps=10, frames="sim")
    pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min", store=store)
    badge = FreshnessBadge(store, pipe.name, limit="5s")
    line = LiveLine(store, pipe.name, column="sum", points=100)
    kpi = KpiTile(store, pipe.name, column="sum")
    # A pacer clock that never moves: no frame is let go for lack of acknowledgements.
    if monotonic is None:  # the pacer's clock: a frame late by `patience` goes anyway
        monotonic = lambda: 0.0  # noqa: E731
    elif monotonic == "sim":  # the simulated clock's seconds (the run's time)
        monotonic = lambda: runner.clock.now().value / 1e9  # noqa: E731
    dash = Dashboard([badge, line, kpi], runner=runner, monotonic=monotonic)
    return dash, runner, badge, line, kpi


def _ack(badge, beat):
    badge._on_screen_message(badge, {"ack": beat}, [])


def test_a_dashboards_screen_acknowledges_fewer_frames_than_it_may_have_in_flight():
    dash, runner, badge, *_ = _dashboard()
    # The screen acknowledges every ACK_EVERY-th frame: a page that keeps up has at most
    # ACK_EVERY frames unacknowledged, fewer than the dashboard lets fly before it waits.
    assert badge.ack_every == ACK_EVERY == 2 < FRAMES_IN_FLIGHT
    assert FreshnessBadge(badge.store, badge.metric, limit="5s").ack_every == 1  # alone: every beat
    runner.run("1s")
    _ack(badge, 2)
    _ack(badge, 4)
    assert (badge.acks_heard, badge.acked_beat) == (2, 4)


def test_a_dashboard_holds_frames_back_while_its_screen_has_not_drawn_them():
    dash, runner, badge, line, _ = _dashboard()
    runner.run("2s")  # no screen has acknowledged a frame: every frame is drawn
    assert dash.frames == 20 and dash.acks.held == 0
    _ack(badge, badge.beat)  # the screen has drawn the newest frame
    before = dash.frames
    runner.run("2s")
    assert dash.frames - before == FRAMES_IN_FLIGHT  # then it waits for the screen
    assert dash.acks.held == 20 - FRAMES_IN_FLIGHT
    drawn_to = line.point_times[-1]
    _ack(badge, badge.beat)
    runner.run("100ms")  # acknowledged: the next frame shows the newest data, not a backlog
    assert dash.frames - before == FRAMES_IN_FLIGHT + 1
    newest = badge.store.latest(badge.metric).newest_event
    assert line.point_times[-1] == np.datetime64(newest.as_unit("ns").asm8) > drawn_to
    badge._on_screen_message(badge, {"ack": "x"}, [])  # not an acknowledgement: ignored
    badge._on_screen_message(badge, ["ack", 1], [])
    assert badge.acked_beat == badge.beat - 1  # (the frame drawn since)


def test_the_frames_of_a_stop_are_never_held_back():
    dash, runner, badge, _, _ = _dashboard()
    runner.run("1s")
    _ack(badge, badge.beat - 5)  # far behind
    runner.health.state = "stopped"
    before = dash.frames
    runner.frame()
    assert dash.frames == before + 1 and "stopped" in badge.value


def test_once_its_front_end_is_ready_a_frame_sends_one_message_for_every_view(sent):
    dash, runner, badge, line, kpi = _dashboard()
    runner.run("1s")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])
    _ack(badge, badge.beat)
    sent.clear()
    for _ in range(5):  # a screen that keeps up: it acknowledges every frame
        runner.run("100ms")
        _ack(badge, badge.beat)
    assert sent.count(dash.bus) == 5
    views = (line.lines, kpi.label, badge, dash.status)
    assert all(sent.count(w) == 0 for w in views)
    frame = sent.messages[dash.bus.model_id][-1][0]["content"]["rtnb_frame"]
    ids = [u[0] for u in frame]
    assert line.lines.model_id in ids and kpi.label.model_id in ids
    assert ids[-1] == badge.model_id  # the beat comes last: acknowledging it means the frame was drawn
    update = frame[ids.index(line.lines.model_id)]
    assert set(update[1]) >= {"x", "y"} and update[2]  # the arrays travel as binary buffers
    assert line.lines.y.dtype == np.float32  # the kernel's state is as without the bus
    assert pd.Timestamp(line.point_times[-1]) == badge.store.latest(badge.metric).newest_event


def test_without_a_ready_front_end_each_widget_sends_its_own_message(sent):
    dash, runner, badge, line, kpi = _dashboard()
    runner.run("1s")
    _ack(badge, badge.beat)  # acknowledged, but the bus's front-end never said it is ready
    sent.clear()
    runner.run("100ms")
    assert sent.count(dash.bus) == 0 and sent.count(line.lines) == 1 and sent.count(badge) == 1


def test_a_widget_changed_from_another_thread_during_a_frame_sends_its_own_message(sent):
    # The bus collects only the frame's own thread: another thread's update, collected
    # after the frame's message went, would be lost (the review's race: 5 of 20,000).
    import threading

    import ipywidgets

    from rtnb.widgets._bus import FrameBus

    bus, label, other = FrameBus(), ipywidgets.HTML(), ipywidgets.IntText()
    sent.clear()
    with bus.frame():
        label.value = "drawn in the frame"
        worker = threading.Thread(target=lambda: setattr(other, "value", 7))
        worker.start()
        worker.join()
    assert sent.count(other) == 1 and sent.messages[other.model_id][-1][0]["state"] == {"value": 7}
    assert sent.count(label) == 0 and sent.count(bus) == 1
    assert [u[0] for u in sent.messages[bus.model_id][-1][0]["content"]["rtnb_frame"]] == [label.model_id]


def test_overlapping_frames_restore_the_widgets_own_send(sent):
    # Two frames open at once (nested, or on two loops): the inner one installs nothing,
    # so whatever order they close in, a widget changed afterwards sends its own message.
    import ipywidgets

    from rtnb.widgets._bus import FrameBus

    a, b, w = FrameBus(), FrameBus(), ipywidgets.IntText()
    true_send = ipywidgets.Widget._send
    fa, fb = a.frame(), b.frame()
    fa.__enter__()
    fb.__enter__()
    w.value = 1  # collected by the outer frame: it goes out with a's message
    fa.__exit__(None, None, None)
    fb.__exit__(None, None, None)
    assert ipywidgets.Widget._send is true_send
    assert (a.messages_sent, a.updates_sent, b.messages_sent) == (1, 1, 0)
    sent.clear()
    w.value = 5
    assert sent.count(w) == 1


# -- a page that loads while frames go through the bus ----------------------------------


class LoadingPage:
    """A page loading the widgets of a running kernel, as ipywidgets 8 does: one
    ``request_states`` reply gives it every widget's state at that moment; then, until
    its own models and bus are built, every message of the kernel is lost on it (a comm
    has no handler before its model exists, a bus custom message no listener before
    its front-end loaded); afterwards it applies each message, the bus's frames entry
    by entry."""

    def __init__(self):
        from ipywidgets.widgets.widget import _instances

        self.state = {i: dict(w.get_state()) for i, w in list(_instances.items()) if w.comm is not None}

    def apply(self, sent) -> None:
        for model_id, messages in sent.messages.items():
            for msg, _ in messages:
                for entry in msg.get("content", {}).get("rtnb_frame", []) if msg.get("method") == "custom" else []:
                    if len(entry) == 4:  # a state update (custom entries carry a kind)
                        self.state.setdefault(entry[0], {}).update(entry[1])
                if msg.get("method") == "update":
                    self.state.setdefault(model_id, {}).update(msg["state"])
        sent.clear()


def test_a_page_loaded_during_a_run_shows_what_the_kernel_shows_once_its_bus_is_ready(sent):
    # A reload (or a second tab) while frames go through the bus: what changed between
    # the page's state request and its bus's "ready" was lost on it, and a rarely
    # changing trait (the run state, the Pause button) stayed wrong until it changed.
    dash, runner, badge, line, kpi = _dashboard()
    runner.run("1s")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])  # the first page
    _ack(badge, badge.beat)
    runner.run("1s")
    assert dash.bus.messages_sent > 0  # frames go through the bus
    page = LoadingPage()  # a second page asks for every widget's state
    runner.health.state = "running"  # (as live)
    dash.pause_button.value = True  # the run is paused meanwhile (a click in the first page)...
    runner.frame()  # ...and its frame says so, through the bus
    assert runner.state == "paused" and "paused" in dash.status.value
    sent.clear()  # all lost on the loading page
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])  # its bus has loaded
    runner.frame()
    page.apply(sent)
    shown = page.state
    assert shown[dash.status.model_id]["value"] == dash.status.value
    assert shown[badge.model_id]["run_state"] == "paused"
    assert shown[dash.pause_button.model_id]["description"] == "Resume"  # (changed outside a frame)
    assert shown[kpi.label.model_id]["value"] == kpi.label.value
    assert shown[dash.start_button.model_id]["disabled"] == dash.start_button.disabled


def test_the_first_page_gets_no_resend_and_without_the_bus_nothing_changes(sent, monkeypatch):
    dash, runner, badge, _, _ = _dashboard()
    runner.run("1s")
    sent.clear()
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])  # the page that displayed it
    assert sent.count(dash.bus) == 0  # nothing went through the bus: nothing to resend
    monkeypatch.setenv("RTNB_FRAME_BUS", "0")
    dash, runner, badge, _, _ = _dashboard()
    runner.run("1s")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])
    _ack(badge, badge.beat)
    runner.run("1s")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])  # a reload, bus off: as before it
    assert sent.count(dash.bus) == 0 and sent.count(badge) > 0


def test_custom_messages_of_a_frame_keep_their_order_with_its_updates(sent):
    # A view's custom message sent during a frame went at once, ahead of the frame's
    # updates collected before it; now it is an entry of the frame, in order.
    import ipywidgets

    from rtnb.widgets._bus import FrameBus

    bus, w = FrameBus(), ipywidgets.IntText()
    sent.clear()
    with bus.frame():
        w.value = 1
        w.send({"note": "between"}, buffers=[b"abc"])
        w.value = 2
    assert sent.count(w) == 0 and sent.count(bus) == 1
    msg = sent.messages[bus.model_id][-1][0]
    entries = msg["content"]["rtnb_frame"]
    assert [e[1] for e in entries] == [{"value": 1}, {"note": "between"}, {"value": 2}]
    assert [e[4] if len(e) > 4 else "update" for e in entries] == ["update", "custom", "update"]
    assert entries[1][2:4] == [1, 0]  # one buffer, the frame's first


def test_a_widget_the_bus_carried_sends_through_the_bus_outside_frames_too(sent, monkeypatch):
    # The page applies the bus's messages on a queue of their own and a widget's own
    # messages as they come: a message sent after a frame, outside it (a click's
    # "Resume", the hover dots emptied on a leave), could be applied before the frame
    # and be undone by it for good. Once the bus carried a widget, its messages keep
    # to the bus; a widget it never carried sends its own, as before.
    import ipywidgets

    dash, runner, badge, line, kpi = _dashboard()
    runner.run("1s")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])
    for _ in range(12):  # a screen that keeps up; the status's clock second changes meanwhile
        _ack(badge, badge.beat)
        runner.run("100ms")
    sent.clear()
    dash.status.value = "<span>changed outside a frame</span>"  # carried: through the bus
    dash.pause_button.description = "Resume"  # never in a frame: its own message
    line.lines.send({"note": 1})  # a custom message too
    assert sent.count(dash.status) == 0 and sent.count(line.lines) == 0
    assert sent.count(dash.pause_button) == 1 and sent.count(dash.bus) == 2
    entries = [m[0]["content"]["rtnb_frame"] for m in sent.messages[dash.bus.model_id]]
    assert entries[0] == [[dash.status.model_id, {"value": dash.status.value}, [], 0]]
    assert entries[1][0][:2] == [line.lines.model_id, {"note": 1}]
    sent.clear()
    runner.run("100ms")  # inside a frame: collected in it, as before (one message)
    assert sent.count(dash.bus) <= 1 and sent.count(dash.status) == 0
    w = ipywidgets.IntText()  # the same widget in a frame of a bus whose page is gone: its own
    with dash.bus.frame():
        w.value = 1
    monkeypatch.setattr(dash.bus, "ready", False)
    sent.clear()
    w.value = 2
    assert sent.count(w) == 1 and sent.count(dash.bus) == 0


def test_the_widgets_a_page_had_to_skip_get_their_full_state_through_the_bus(sent):
    # The page's bus skips an update whose model is not made yet or does not settle
    # (it held every later frame of the dashboard before) and names the widget: the
    # kernel resends that widget's full state, through the bus, and nothing else.
    dash, runner, badge, line, kpi = _dashboard()
    runner.run("1s")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])
    _ack(badge, badge.beat)
    runner.run("200ms")
    sent.clear()
    dash.bus._on_front_end(dash.bus, {"missed": [line.lines.model_id, "not-a-widget", 3]}, [])
    assert sent.count(line.lines) == 0 and sent.count(dash.bus) == 2 and dash.bus.missed == 2
    resent, gone = (m["content"] for m, _ in sent.messages[dash.bus.model_id])
    (entry,) = resent["rtnb_frame"]
    assert entry[0] == line.lines.model_id
    assert set(entry[1]) >= {"x", "y", "colors", "scales"}  # the full state, not a change
    assert gone == {"gone": ["not-a-widget"]}  # an id it does not know: the page stops asking
    sent.clear()
    for junk in ({"missed": ["not-a-widget"]}, {"missed": "x"}, {"missed": []}, ["missed"]):
        dash.bus._on_front_end(dash.bus, junk, [])
    assert [m["content"] for m, _ in sent.messages[dash.bus.model_id]] == [{"gone": ["not-a-widget"]}]


# -- hidden views ----------------------------------------------------------------------


def _view(badge, token, visible=None, **more):
    msg = {"view": token, **more}
    if visible is not None:
        msg["visible"] = visible
    if visible:  # a view shown again acknowledges the beat it has
        msg["ack"] = badge.beat
    badge._on_screen_message(badge, msg, [])


def _keep_up(runner, badge, frames):
    """``frames`` frames of a screen that acknowledges each one it is sent."""
    for _ in range(frames):
        runner.run("100ms")
        _ack(badge, badge.beat)


def _newest_drawn(dash, line):
    newest = dash.store.latest(line.metric).newest_event
    return line.point_times[-1] == np.datetime64(newest.as_unit("ns").asm8)


def test_no_frame_is_sent_while_no_view_is_shown_and_a_view_shown_again_is_current_at_once(sent):
    # A long-hidden tab acknowledged at Chrome's throttled timer rate: the kernel drew (and
    # sent) a frame each `patience`, paced to a page nobody saw. Now nothing is sent while no
    # view is shown (a hidden tab, a dashboard scrolled away), and the kernel's widgets are
    # drawn once a second for what Python reads of them (review MEDIUM: they froze).
    from rtnb.widgets._dashboard import FRAME_PATIENCE, HIDDEN_FRAME_S

    dash, runner, badge, line, kpi = _dashboard(monotonic="sim")  # patience passes as the run goes
    runner.run("1s")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])
    _view(badge, "tab", True)
    _keep_up(runner, badge, 10)
    assert dash.frames == 20 and not badge.hidden
    _view(badge, "tab", False)  # the tab is hidden
    before, beat, sent_before = dash.frames, badge.beat, dash.bus.messages_sent
    sent.clear()
    hidden_s = 3 * FRAME_PATIENCE
    runner.run(pd.Timedelta(seconds=hidden_s))  # long past any patience
    unseen = dash.frames - before  # frames for the kernel's widgets alone: one a second
    assert badge.hidden and abs(unseen - hidden_s / HIDDEN_FRAME_S) <= 1
    assert badge.beat == beat + unseen and dash.bus.behind and dash.bus.discarded > 0
    assert dash.bus.messages_sent == sent_before and len(sent.messages) == 0  # nothing sent at all
    assert dash.acks.held_hidden == 10 * hidden_s and dash.acks.forced == 0
    assert runner.health.frames == 20 + 10 * hidden_s  # (its frames came: one in ten drawn)
    newest = dash.store.latest(line.metric).newest_event  # the kernel side is at most a second behind
    assert newest - pd.Timestamp(line.point_times[-1]) <= pd.Timedelta(seconds=HIDDEN_FRAME_S)
    resends, drawn = dash.bus.resends, dash.frames
    _view(badge, "tab", True)  # shown again: it acknowledges the beat it has
    runner.run("100ms")  # the next frame: the full state, then the newest data
    assert dash.frames == drawn + 1 and dash.bus.resends == resends + 1 and not dash.bus.behind
    assert _newest_drawn(dash, line) and badge.beat == beat + unseen + 1
    assert sent.count(dash.bus) == 2  # the resend, then the frame: one message each
    _keep_up(runner, badge, 5)  # and frames flow as the screen acknowledges them
    assert dash.frames == drawn + 6


def test_a_line_drawn_sparsely_while_hidden_is_read_again_from_the_store_when_shown(sent):
    # Drawn for the kernel alone once a second while hidden, the line recorded a point a
    # second; shown again, at ten frames a second, each of those steps read as a stall
    # and broke the line (the README's picture, notebook 01 after Run All).
    dash, runner, badge, line, _ = _dashboard(monotonic="sim")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])
    _view(badge, "tab", False)  # off the screen from the start (Run All ends at the last cell)
    runner.run("15s")  # hidden: a point a second
    _view(badge, "tab", True)
    _keep_up(runner, badge, 80)  # shown again: ten a second
    steps = np.diff(line.point_times.astype(np.int64)) / 1e9
    assert steps.max() == pytest.approx(0.1) and len(line.point_times) == 100
    assert not np.isnan(np.asarray(line.lines.y, dtype=float)).any()  # no break: no stall here
    assert line.refill() is True and len(line.point_times) == 100  # (by hand too: the same points)


def test_frames_flow_while_any_view_is_shown(sent):
    dash, runner, badge, line, _ = _dashboard(monotonic="sim")
    runner.run("1s")
    _view(badge, "A", True)
    _view(badge, "B", False)  # a second tab, in the background
    before = dash.frames
    _keep_up(runner, badge, 10)
    assert dash.frames == before + 10 and not badge.hidden
    _view(badge, "A", gone=True)  # the shown tab is closed: only the hidden one is left
    assert badge.hidden and badge.views == {"B": False}
    before = dash.frames
    runner.run("2s")
    assert dash.frames == before
    _view(badge, "B", True)  # the background tab comes to the front
    runner.run("100ms")
    assert dash.frames == before + 1 and _newest_drawn(dash, line)
    _view(badge, "B", gone=True)  # every page closed: nobody sees it
    before = dash.frames
    runner.run("2s")
    assert badge.hidden and dash.frames == before
    _view(badge, "C", True)  # a page opened again (the bus resends on its ready)
    runner.run("100ms")
    assert dash.frames == before + 1 and _newest_drawn(dash, line)
    _view(badge, "D", "yes")  # not a visibility: ignored
    _view(badge, 7, True)
    assert badge.views == {"C": True}


def test_the_frames_of_a_pause_or_a_stop_go_to_a_hidden_page(sent):
    dash, runner, badge, _, _ = _dashboard(monotonic="sim")
    runner.run("1s")
    _view(badge, "tab", False)
    before = dash.frames
    runner.health.state = "running"  # (as live)
    runner.frame()
    assert dash.frames == before  # a running frame: held, nobody sees it
    runner.pause()
    runner.frame()
    assert dash.frames == before + 1 and "paused" in dash.status.value
    runner.health.state = "stopped"
    runner.frame()  # the last frame of a run: the stopped badge and the Start button
    assert dash.frames == before + 2 and "stopped" in badge.value and not dash.start_button.disabled

def test_a_carried_widget_answers_a_pages_request_state_on_its_own_comm(sent):
    # JupyterLab's and Notebook 7's manager ask each widget for its state on the widget's
    # own comm when the kernel is slow to answer "request_states" (a loaded kernel, a
    # reload, a second tab) and await the answer on that comm: routed through the bus it
    # never came and the page showed no widget. The answer goes direct; the widget's
    # other sends still keep to the bus.
    dash, runner, badge, line, kpi = _dashboard()
    runner.run("1s")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])
    for _ in range(12):  # the status's clock second changes meanwhile: the bus carries it
        _ack(badge, badge.beat)
        runner.run("100ms")
    assert dash.status.model_id in dash.bus._carried
    sent.clear()
    dash.status._handle_msg({"content": {"data": {"method": "request_state"}}, "buffers": []})
    assert sent.count(dash.status) == 1 and sent.count(dash.bus) == 0
    (msg, _buffers), = sent.messages[dash.status.model_id]
    assert msg["method"] == "update" and msg["state"]["value"] == dash.status.value
    sent.clear()
    dash.status.value = "<span>after the answer</span>"  # still through the bus
    assert sent.count(dash.status) == 0 and sent.count(dash.bus) == 1


def test_a_widget_carried_by_a_second_bus_keeps_to_the_newest_bus(sent):
    # A widget shown in a second dashboard (or a new one after the first closed) sends
    # outside frames through the bus that carries it now, not the first one.
    import ipywidgets

    from rtnb.widgets._bus import FrameBus

    first, second = FrameBus(), FrameBus()
    for bus in (first, second):
        bus._on_front_end(bus, {"ready": True}, [])
    w = ipywidgets.IntText()
    with first.frame():
        w.value = 1
    with second.frame():
        w.value = 2
    sent.clear()
    w.value = 3
    assert sent.count(second) == 1 and sent.count(first) == 0 and sent.count(w) == 0
    first.close()
    sent.clear()
    w.value = 4
    assert sent.count(second) == 1 and sent.count(w) == 0


def test_a_stop_while_no_view_is_shown_makes_the_pages_current(sent):
    # Review HIGH: frames dropped while hidden, then the run stops: the stop frame carried
    # only what changed since the last dropped frame, and with no running frame after it
    # nothing noticed the page shown again: it kept its old charts for good.
    dash, runner, badge, line, kpi = _dashboard(monotonic="sim")
    runner.run("1s")
    dash.bus._on_front_end(dash.bus, {"ready": True}, [])
    _view(badge, "tab", True)
    _keep_up(runner, badge, 5)
    _view(badge, "tab", False)
    runner.run("3s")  # dropped frames for the kernel's widgets
    assert dash.bus.behind
    resends = dash.bus.resends
    sent.clear()
    runner.health.state = "stopped"
    runner.frame()  # the stop frame: the full state first, then the frame
    assert dash.bus.resends == resends + 1 and not dash.bus.behind
    assert sent.count(dash.bus) == 2
    _view(badge, "tab", True)  # shown again while stopped: nothing left to send
    sent.clear()
    runner.frame()
    assert dash.bus.resends == resends + 1
