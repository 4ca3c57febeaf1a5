"""FrameBus, kernel side (rtnb/widgets/_bus.py), on widget state: what it answers a page
and how it keeps each widget's messages in order."""

from __future__ import annotations

import ipywidgets

from rtnb.widgets._bus import FrameBus


def _bus_messages(sent, bus):
    return [m["content"] for m, _ in sent.messages[bus.model_id]]


def test_a_page_asking_for_a_widget_the_kernel_no_longer_knows_is_told_it_is_gone(sent):
    # The page asked every 2 s, for good, for a model it never made (a widget closed
    # kernel-side): the bus resent nothing and said nothing.
    bus, kept, closed = FrameBus(), ipywidgets.IntText(), ipywidgets.IntText()
    bus._on_front_end(bus, {"ready": True}, [])
    with bus.frame():
        kept.value, closed.value = 1, 2
    closed_id = closed.model_id
    closed.close()
    sent.clear()
    bus._on_front_end(bus, {"missed": [kept.model_id, closed_id, "never-heard-of"]}, [])
    frames = [c["rtnb_frame"] for c in _bus_messages(sent, bus) if "rtnb_frame" in c]
    assert [[e[0] for e in f] for f in frames] == [[kept.model_id]]  # the one it knows: resent
    assert {"gone": sorted([closed_id, "never-heard-of"])} in _bus_messages(sent, bus)
    sent.clear()
    bus._on_front_end(bus, {"missed": [kept.model_id]}, [])  # all known: no "gone"
    assert all("gone" not in c for c in _bus_messages(sent, bus))


def test_a_carried_widget_changed_from_another_thread_during_a_frame_keeps_its_order(sent):
    # Its message went on its own, ahead of the frame holding its earlier one: the page
    # applies the bus's frames on a queue of their own, so the earlier state came last
    # and stayed. Now it is collected in the frame, after the earlier one.
    import threading

    bus, label, other = FrameBus(), ipywidgets.HTML(), ipywidgets.IntText()
    bus._on_front_end(bus, {"ready": True}, [])
    with bus.frame():
        label.value = "a"  # carried: its messages go through the bus from now on
    sent.clear()
    with bus.frame():
        label.value = "b"
        worker = threading.Thread(target=lambda: (setattr(label, "value", "c"), setattr(other, "value", 7)))
        worker.start()
        worker.join()
    assert sent.count(label) == 0 and sent.count(bus) == 1
    entries = sent.messages[bus.model_id][-1][0]["content"]["rtnb_frame"]
    assert [(e[0], e[1]) for e in entries] == [(label.model_id, {"value": "b"}), (label.model_id, {"value": "c"})]
    assert sent.count(other) == 1  # never carried: on its own, as without the bus
    sent.clear()
    worker = threading.Thread(target=lambda: setattr(label, "value", "d"))  # no frame open: its own bus message
    worker.start()
    worker.join()
    assert sent.count(label) == 0 and sent.count(bus) == 1
