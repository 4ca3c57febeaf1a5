"""The tiers timeline (notebook 02) without a browser: one shared time axis, partial
buckets drawn as partial, counters that count every screen update, and the controls."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

import rtnb
from rtnb import tiers


@pytest.fixture(scope="module")
def timeline():
    return tiers.timeline(rtnb.simulate("ecommerce_orders", seed=3), hours=3, viewers=5)


def test_the_tiers_share_one_time_axis_spanning_the_run(timeline):
    scales = {id(p.fig.axes[0].scale) for p in timeline.panels.values()}
    assert len(scales) == 1  # one DateScale object for the four panels
    x = timeline.x
    assert pd.Timestamp(x.min) == timeline.start and pd.Timestamp(x.max) == timeline.end
    assert len({id(p.fig.axes[1].scale) for p in timeline.panels.values()}) == 1  # and one y scale


def test_the_lag_is_the_gap_between_each_line_and_now(timeline):
    now = timeline.start + pd.Timedelta("2h10min")
    timeline.show(now)
    for name, p in timeline.panels.items():
        assert pd.Timestamp(p.now.x[0]) == now
        assert pd.Timestamp(p.lag.x[0]) == pd.Timestamp(p.as_of) and pd.Timestamp(p.lag.x[1]) == now
    lag = {n: now - pd.Timestamp(p.as_of) for n, p in timeline.panels.items()}
    assert lag["batch"] > pd.Timedelta("10min") > lag["near_real_time"] > lag["real_time"] > lag["sub_second"]


def test_buckets_equal_pandas_on_the_same_rows_and_the_last_one_is_partial(timeline):
    now = timeline.start + pd.Timedelta("1h37min")
    timeline.show(now)
    p = timeline.panels["real_time"]
    as_of = pd.Timestamp(p.as_of)
    events = timeline.source.read(timeline.start - timeline.warmup, timeline.end)
    ts = events["ts"][events["ts"] <= as_of]
    expected = ts.dt.ceil("15min").value_counts().sort_index()  # (end - 15 min, end] per bucket end
    ends = pd.to_datetime(np.asarray(p.line.x))
    np.testing.assert_array_equal(np.asarray(p.line.y), expected.reindex(ends).to_numpy(float))
    assert ends.max() <= as_of
    # the bucket still filling: its own mark, lighter and dashed, ending at what is on screen
    assert pd.Timestamp(p.partial.x[-1]) == as_of and p.partial.line_style == "dashed"
    assert p.partial.colors[0] != p.line.colors[0]
    assert p.partial.y[-1] == ((ts > ends.max()).sum())


def test_counters_count_every_screen_update_not_the_frames_drawn(timeline):
    now = timeline.start + pd.Timedelta("2h")
    timeline.show(now)  # one frame drawn
    for name, sim in timeline.sims.items():
        screen = sim.screen(0)
        assert timeline.updates[name] == int((screen["shown_at"] <= now).sum())
    assert timeline.updates["sub_second"] > 10_000 > timeline.updates["real_time"] > 1_000
    assert f"{timeline.updates['sub_second']:,} screen updates" in timeline.panels["sub_second"].header.value


def test_text_stays_on_one_line_and_axes_are_bounded(timeline):
    timeline.show(timeline.start + pd.Timedelta("1h"))
    for p in timeline.panels.values():
        assert "white-space:nowrap" in p.header.value
        assert "–" in p.header.value or "$0" in p.header.value  # a money range, one line
        y_axis = p.fig.axes[1]
        assert y_axis.tick_format == "~s" and len(y_axis.tick_values) <= 5 and y_axis.label_offset
        x_ticks = pd.to_datetime(np.asarray(p.fig.axes[0].tick_values))
        assert 2 <= len(x_ticks) <= 9 and all(t.minute == 0 and t.second == 0 for t in x_ticks)  # round hours


def test_the_runner_drives_it_in_simulated_time():
    tl = tiers.timeline(hours=1, viewers=3)
    tl.runner.run("20min")  # the frame at the end of run() redraws at the runner's time
    now = tl.start + pd.Timedelta("20min")
    assert f"{now:%H:%M:%S}" in tl.clock_label.value
    events = tl.source.read(tl.start, now)
    assert tl.delivered == len(events)  # the stream delivered every order of those 20 min
    assert tl.updates["near_real_time"] == int((tl.sims["near_real_time"].screen(0)["shown_at"] <= now).sum())


def test_pause_speed_and_replay_drive_the_runner():
    tl = tiers.timeline(hours=1, viewers=3)

    async def scenario():
        tl.play()
        assert tl.runner.state == "running" and tl.play_button.description == "Pause"
        tl.toggle()
        assert tl.runner.state == "paused" and tl.play_button.description == "Resume"
        tl.speed.value = 60
        assert tl.runner.speedup == 60
        tl.toggle()
        assert tl.runner.state == "running"
        first = tl.runner
        tl.replay()
        assert tl.runner is not first and tl.runner.clock.now() == tl.start and tl.delivered == 0
        assert tl.runner.speedup == 60
        tl.stop()
        await tl.runner.wait()
        await first.wait()

    asyncio.run(scenario())
    assert tl.runner.state == "stopped" and tl.play_button.description == "Play"


def test_play_for_a_duration_sets_the_speed_to_fit_the_rest_of_the_run():
    tl = tiers.timeline(hours=1, viewers=3)

    async def scenario():
        tl.play(4)
        assert tl.runner.speedup == pytest.approx(900)  # an hour in 4 s
        assert tl.speed.label.endswith("per second")
        tl.stop()
        await tl.runner.wait()

    asyncio.run(scenario())


def test_the_table_reads_as_a_table_numbers_right_under_their_headers_groups_centred(timeline):
    # Notebook 02's table: each group's name over its columns (centred: right-aligned,
    # "load" read as the header of "traffic" alone), the numbers right-aligned with their
    # headers, the words left-aligned; rules of the table's own, so every front end agrees.
    table = timeline.table()
    styler = timeline.styled_table()
    rules = {s["selector"]: dict(s["props"]) for s in styler.table_styles}  # props: (name, value) pairs
    last = table.columns.nlevels - 1
    for i, (group, col) in enumerate(table.columns):
        (selector,) = [s for s in rules if s.startswith(f"td.col{i},")]
        assert f"th.col_heading.level{last}.col{i}" in selector  # the header aligned as its values
        side = rules[selector]["text-align"]
        assert side == ("left" if col == "delivery" else "right"), (col, side)
    assert rules["th.col_heading.level0"]["text-align"] == "center"
    assert rules["th.row_heading, th.index_name"]["text-align"] == "left"
    assert {"data age", "load", "cost"} <= set(table.columns.get_level_values(0))
    html = styler.to_html()
    assert 'colspan="3">load</th>' in html


def test_the_timeline_says_each_tiers_delivery_in_the_advisors_words(timeline):
    titles = {name: p.title for name, p in timeline.panels.items()}
    assert "Server-Sent Events" in titles["real_time"] and "WebSockets" in titles["sub_second"]
    assert "short polling every" in titles["near_real_time"]
    assert not any("SSE" in t or "push" in t for t in titles.values())


def test_the_stream_header_says_when_the_stream_falls_behind_the_simulated_clock():
    # notebook 02's count of orders delivered changed between runs of the same seed and
    # did not rise with simulated time: capped reads left the stream behind, unsaid
    t = tiers.timeline(rtnb.simulate("ecommerce_orders", seed=3), hours=1, viewers=5, max_rows=50)
    r = t.runner
    r.clock.advance_to(t.start + pd.Timedelta("30min"))
    r.pull()  # one capped read: 50 orders of half an hour's
    t.show(r.clock.now())
    h = next(iter(r.health.sources.values()))
    assert h.catching_up and h.backlog > 1000  # (read whole, handed on 50 rows a step)
    words = t.stream_label.value
    assert "orders delivered by the stream so far: 50 (50)" in words
    assert f"catching up: about {h.backlog:,} orders still to read" in words, words
    while r._reads.behind:  # caught up: the header says the count alone
        r.pull()
    t.show(r.clock.now())
    assert "catching up" not in t.stream_label.value and "behind" not in t.stream_label.value
    assert t.delivered == len(t.source.read(t.start, t.start + pd.Timedelta("30min")))
