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
