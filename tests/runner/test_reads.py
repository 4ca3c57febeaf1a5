"""Capped reads: a backlog after an outage is caught up over several steps, shown as
``catching up`` with the backlog known, and no row is lost or read twice."""

from __future__ import annotations

import pandas as pd
import pytest

import rtnb
from rtnb import ParameterError, QueueSource, Runner, SimClock

T0 = pd.Timestamp("2024-01-01")


def test_a_backlog_after_an_outage_is_caught_up_over_several_steps(fake_source):
    # 100 events/s, down from 10 s to 70 s: 6,000 rows wait; at most 500 per step
    clock = SimClock(start=T0)
    src = fake_source(rate=100, down=("2024-01-01 00:00:10", "2024-01-01 00:01:10"), clock=clock)
    r = Runner(src, clock=clock, tick="1s", max_rows=500)
    batches = r.stream.sink_to_list()
    steps = []
    for _ in range(120):  # as live frames do: the clock moves on, one capped read per source
        clock.advance("1s")
        r.pull()
        h = r.health.sources["ticks"]
        steps.append((h.status, h.backlog, h.behind))
    assert max(len(b) for b in batches) <= 500
    statuses = [s for s, _, _ in steps]
    first = statuses.index("catching up")
    assert statuses[first - 1] == "down" and "catching up" not in statuses[first + 60:]
    caught = statuses.index("up", first)
    assert caught - first >= 6000 // 500 - 1  # over several steps, not one
    # the backlog it knows of shrinks while it catches up, by ~(500 - 100) per step
    backlogs = [b for s, b, _ in steps[first:caught]]
    assert backlogs[0] >= 5000 and all(a > b for a, b in zip(backlogs, backlogs[1:]))
    assert r.health.catching_up is False and r.health.backlog == 0
    arrival = pd.concat(batches).arrival
    assert arrival.is_unique and arrival.is_monotonic_increasing
    assert len(arrival) == 120 * 100  # every row, once


def test_catching_up_shows_in_runner_health_until_done(fake_source):
    clock = SimClock(start=T0)
    src = fake_source(rate=50, down=("2024-01-01 00:00:01", "2024-01-01 00:00:30"), clock=clock)
    r = Runner(src, clock=clock, tick="1s", max_rows=200)
    r.run("30s")
    clock.advance("1s")
    r.pull()
    assert r.health.catching_up and r.health.backlog > 0
    assert r.health.sources["ticks"].status == "catching up"
    for _ in range(30):
        clock.advance("1s")
        r.pull()
    assert not r.health.catching_up and r.health.sources["ticks"].status == "up"


def test_a_simulated_step_reads_on_in_capped_batches_and_never_falls_behind(fake_source):
    clock = SimClock(start=T0)
    src = fake_source(rate=100, down=("2024-01-01 00:00:10", "2024-01-01 00:01:10"), clock=clock)
    r = Runner(src, clock=clock, tick="1s", max_rows=500)
    batches = r.stream.sink_to_list()
    r.run("71s")  # the step after the outage reads its 6,200 rows in 500-row batches
    assert r.health.sources["ticks"].status == "up" and r.health.sources["ticks"].cursor == clock.now()
    assert max(map(len, batches)) <= 500 and sum(map(len, batches)) == 7100


def test_an_answer_over_the_cap_is_handed_on_in_pieces(fake_source):
    # no rate known yet: the first read covers 60 s at once (6,000 rows), handed on 1,000 a step
    src = fake_source(rate=100)
    clock = SimClock(start=T0)
    r = Runner(src, clock=clock, tick="1s", max_rows=1000)
    batches = r.stream.sink_to_list()
    clock.advance("60s")
    sizes = [r.pull() for _ in range(7)]
    assert sizes == [1000] * 6 + [0]
    assert r.health.sources["ticks"].status == "up" and len(src.reads) == 1
    assert pd.concat(batches).arrival.is_unique and sum(map(len, batches)) == 6000


def test_a_queue_source_caps_itself_and_reports_what_waits():
    clock = SimClock(start=T0)
    q = QueueSource(clock=clock, measures=("value",))
    q.push(pd.DataFrame({"ts": [T0] * 2500, "value": 1.0}))
    r = Runner(q, clock=clock, tick="1s", max_rows=1000)
    batches = r.stream.sink_to_list()
    seen = []
    for _ in range(3):
        r.run("1s")
        h = r.health.sources["queue"]
        seen.append((len(batches[-1]), h.status, h.backlog))
    assert seen == [(1000, "catching up", 1500), (1000, "catching up", 500), (500, "up", 0)]


def test_no_cap_reads_everything_at_once(fake_source):
    src = fake_source(rate=100, down=("2024-01-01 00:00:10", "2024-01-01 00:01:10"))
    r = Runner(src, clock=SimClock(start=T0), tick="1s", max_rows=None)
    batches = r.stream.sink_to_list()
    r.run("2min")
    assert max(map(len, batches)) == 6200  # reads ending in [10 s, 70 s] failed: [9 s, 71 s) at once


@pytest.mark.parametrize("kwargs, param", [
    ({"max_rows": 0}, "max_rows"), ({"max_rows": 1.5}, "max_rows"), ({"max_rows": True}, "max_rows"),
    ({"read_timeout": 0}, "read_timeout"), ({"read_timeout": float("nan")}, "read_timeout"),
    ({"frame_budget": -1}, "frame_budget"),
])
def test_bad_caps_and_deadlines_name_the_parameter(kwargs, param, fake_source):
    with pytest.raises(ParameterError) as e:
        Runner(fake_source(), **kwargs)
    assert e.value.param == param


def test_a_pipeline_on_a_capped_runner_counts_every_row(fake_source):
    clock = SimClock(start=T0)
    src = fake_source(rate=100, keys=("FR", "DE"), down=("2024-01-01 00:00:05", "2024-01-01 00:00:40"), clock=clock)
    r = Runner(src, clock=clock, tick="1s", max_rows=300)
    pipe = rtnb.build_pipeline(r, metric="value", by="key", window="10min", lateness="10min")
    r.run("90s")
    assert pipe.counters.received == pipe.counters.accepted == 9000


def test_a_first_read_of_a_microsecond_does_not_narrow_every_later_read():
    """Found trying notebook 01 live: a replay whose first two rows share a timestamp
    was read over a microsecond, its rate taken as ~1e6 rows/s, and every later read
    narrowed to a millisecond, so the dashboard stalled 'catching up'."""
    from rtnb.health import SourceHealth
    from rtnb.runner._reads import SourceReader

    t0 = pd.Timestamp("2024-01-01")

    class Sparse:
        name = "sparse"

        def read(self, start, end):  # two rows at t0, then one a second
            ts = [t for t in [t0, t0, *pd.date_range(t0 + pd.Timedelta("1s"), periods=120, freq="s")]
                  if start <= t < end]
            return pd.DataFrame({"ts": ts, "arrival": ts, "value": 1.0})

    h = SourceHealth(name="sparse", cursor=t0)
    reader = SourceReader(Sparse(), h, max_rows=20_000, stall_after=pd.Timedelta("10s"))
    reader.read_inline(t0 + pd.Timedelta("1us"))
    got = sum(len(b) for b in reader.read_inline(t0 + pd.Timedelta("60s")))
    assert got == 59 and h.cursor == t0 + pd.Timedelta("60s") and h.status == "up"
