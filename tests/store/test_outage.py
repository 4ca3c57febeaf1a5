"""OutageBuffer with a fake writer: what waits while the server is away, and what is
noted when the buffer overflows (no Redis here: the buffer knows none)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtnb import Counters, Snapshot
from rtnb.store._outage import HistoryGap, OutageBuffer

T0 = pd.Timestamp("2024-01-01 09:00")


def snap(i: int, metric: str = "orders", event: int | None = None) -> Snapshot:
    t = T0 + pd.Timedelta(seconds=i if event is None else event)
    return Snapshot(metric=metric, table=pd.DataFrame({"count": [i]}), window=None,
                    watermark=t, newest_event=t, processed_at=t, counters=Counters())


class FakeServer:
    """Stands for Redis: keeps what was written; raises while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.history: dict[str, list[tuple[int, bytes]]] = {}
        self.latest: dict[str, bytes] = {}
        self.gaps: list[HistoryGap] = []
        self.extra: dict[str, bytes] = {}

    def write(self, metric, pending, gap) -> None:
        if self.down:
            raise ConnectionError("down")
        hist = self.history.setdefault(metric, [])
        for t, b in pending.history:  # as RedisStore does: same event time replaces
            if hist and hist[-1][0] == t:
                hist[-1] = (t, b)
            else:
                hist.append((t, b))
        if pending.latest is not None:
            self.latest[metric] = pending.latest_blob
        self.extra.update(pending.extra)
        if gap is not None:
            self.gaps.append(gap)


def test_nothing_is_lost_while_the_outage_fits_the_buffer():
    buffer, server = OutageBuffer(history=10), FakeServer()
    server.down = True
    for i in range(1, 6):
        buffer.add(snap(i), b"s%d" % i, extra={"ckpt": b"c%d" % i})
        with pytest.raises(ConnectionError):
            buffer.flush(server.write)
    assert buffer.waiting == 1 and buffer.latest("orders").table["count"].item() == 5
    server.down = False
    buffer.flush(server.write)
    assert [b for _, b in server.history["orders"]] == [b"s1", b"s2", b"s3", b"s4", b"s5"]
    assert server.latest["orders"] == b"s5" and server.extra == {"ckpt": b"c5"}
    assert server.gaps == [] and buffer.waiting == 0
    buffer.flush(server.write)                      # nothing left: nothing written again
    assert [b for _, b in server.history["orders"]] == [b"s1", b"s2", b"s3", b"s4", b"s5"]


def test_an_overflow_is_noted_once_with_its_count_and_times():
    buffer, server = OutageBuffer(history=3), FakeServer()
    server.down = True
    for i in range(1, 9):
        buffer.add(snap(i), b"s%d" % i)
    server.down = False
    buffer.flush(server.write)
    assert [b for _, b in server.history["orders"]] == [b"s6", b"s7", b"s8"]
    assert server.gaps == [HistoryGap(metric="orders", start=snap(1).newest_event,
                                      end=snap(5).newest_event, missed=5,
                                      reason="Redis was down longer than the history buffer")]
    buffer.add(snap(9), b"s9")
    buffer.flush(server.write)
    assert len(server.gaps) == 1                    # noted once


def test_same_event_time_replaces_and_no_event_adds_no_entry():
    buffer, server = OutageBuffer(history=3), FakeServer()
    buffer.add(snap(1), b"a")
    buffer.add(snap(2, event=1), b"b")              # same newest event: replaces
    quiet = Snapshot(metric="orders", table=pd.DataFrame({"count": [0]}), window=None,
                     watermark=None, newest_event=None, processed_at=T0, counters=Counters())
    buffer.add(quiet, b"c")                         # no event: latest only
    buffer.flush(server.write)
    assert [b for _, b in server.history["orders"]] == [b"b"] and server.latest["orders"] == b"c"


def test_a_failing_write_keeps_that_metric_and_the_ones_after_it():
    buffer = OutageBuffer(history=5)
    written = []

    def write(metric, pending, gap):
        if metric == "b":
            raise ConnectionError("b refused")
        written.append((metric, len(pending.history)))

    for m in ("a", "b", "c"):
        buffer.add(snap(1, metric=m), b"x")
    with pytest.raises(ConnectionError):
        buffer.flush(write)
    assert written == [("a", 1)] and buffer.waiting == 2


@settings(max_examples=60, deadline=None)
@given(events=st.lists(st.integers(0, 30), min_size=1, max_size=60),
       history=st.integers(1, 8), fail=st.lists(st.booleans(), min_size=60, max_size=60))
def test_what_reaches_the_server_plus_the_noted_gaps_is_every_entry(events, history, fail):
    """For any sequence of puts and outages nothing is lost silently: every event time
    put is on the server or counted in a gap note, and no more is counted missing than
    was put. (Not an equality: a newer answer for an event time already written can
    fall off the buffer; it is counted, while the server keeps the older answer.)"""
    buffer, server = OutageBuffer(history=history), FakeServer()
    distinct, last = 0, None
    for i, (e, down) in enumerate(zip(events, fail)):
        t = last if e == 0 and last is not None else i  # e == 0: same event time again
        distinct += t != last
        last = t
        buffer.add(snap(i, event=t), b"%d" % i)
        server.down = down
        try:
            buffer.flush(server.write)
        except ConnectionError:
            pass
    server.down = False
    buffer.flush(server.write)
    written = server.history.get("orders", [])
    missed = sum(g.missed for g in server.gaps)
    on_server = {t for t, _ in written}
    assert len(on_server) + missed >= distinct
    assert missed <= distinct and len(on_server) == len(written)
