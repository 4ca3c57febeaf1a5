"""The one frame pacer: the runner owns it, the views follow it."""

from __future__ import annotations

import pytest

import rtnb
from rtnb.runner import FramePacer


def test_frames_keep_fixed_deadlines_and_restart_after_falling_behind():
    t = [0.0]
    p = FramePacer(fps=10, monotonic=lambda: t[0])
    passed = []
    for now in [0.0, 0.12, 0.2, 0.31, 0.9, 0.95, 1.0]:
        t[0] = now
        passed.append(p.ready())
    # 0.12 is late: 0.2 still passes (made up); 0.9 is >1 frame behind: restart from it
    assert passed == [True, True, True, True, True, False, True]
    assert p.wait() == pytest.approx(0.1)


def test_the_cap_holds_whatever_calls_it():
    t = [0.0]
    p = FramePacer(fps=10, monotonic=lambda: t[0])
    for i in range(1000):  # 1000 calls over 2 s
        t[0] = i * 0.002
        p.ready()
    assert p.passed == 21 and p.skipped == 979


def test_the_views_follow_the_runners_pacer():
    assert rtnb.widgets.FrameGate is FramePacer  # the widgets' gate is the same class
    r = rtnb.Runner([], fps=25)
    assert isinstance(r.pacer, FramePacer) and r.pacer.fps == r.fps == 25


def test_frames_in_flight_hold_the_next_back_until_the_screen_acknowledges():
    from rtnb.runner import FrameAcks

    t = [0.0]
    acks = FrameAcks(limit=2, patience=1.0, monotonic=lambda: t[0])
    for frame in range(1, 6):  # no screen has acknowledged anything: nothing is held
        assert acks.ready()
        acks.sent(frame)
    acks.acked(3)  # the screen drew frame 3: 4 and 5 in flight
    assert acks.in_flight == 2 and not acks.ready() and not acks.ready()
    acks.acked(2)  # an older acknowledgement changes nothing
    assert acks.in_flight == 2
    acks.acked(4)
    assert acks.in_flight == 1 and acks.ready()
    acks.sent(6)
    assert not acks.ready()
    t[0] = 0.99
    assert not acks.ready()
    t[0] = 1.0  # nothing acknowledged for `patience` after the last frame: one goes
    assert acks.ready()
    assert (acks.held, acks.forced) == (4, 1)


def test_frames_in_flight_reject_bad_parameters():
    from rtnb.runner import FrameAcks

    with pytest.raises(rtnb.ParameterError, match="limit"):
        FrameAcks(limit=0)
    with pytest.raises(rtnb.ParameterError, match="patience"):
        FrameAcks(patience=0)
