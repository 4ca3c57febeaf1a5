"""What reviewers of notebook 01 found, each checked on widget state."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pandas as pd
import pytest

import rtnb
from rtnb.runner import FramePacer
from rtnb.runner._live import MAX_STEP_SECONDS
from rtnb.widgets import Dashboard, KpiTile

from .conftest import T0

START = pd.Timestamp("2024-01-01 12:00")


def test_under_run_all_the_first_point_starts_at_the_start_of_the_run():
    """Run All: the cell starts the run and returns, then the next cells hold the
    kernel for seconds. The simulated clock must not run all that time ahead in one
    step (the first read would cover it all, and the chart start in mid-air)."""
    orders = rtnb.simulate("ecommerce_orders", rate=200, seed=1, start=START)
    dash = rtnb.dashboard(orders, metric="amount", by="country", window="2min", clock=rtnb.SimClock(start=START))
    held = [0.0]  # wall seconds the loop was held by other cells (seen as a jump of the time)
    dash.runner.pacer = FramePacer(10, monotonic=lambda: time.monotonic() + held[0])

    clock = dash.runner.clock
    steps = []  # every step of the simulated clock (the fix: none covers the whole hold)
    advance = clock.advance
    clock.advance = lambda step: (steps.append(pd.Timedelta(step)), advance(step))[1]

    line = dash.views[1]
    # The run ends once the chart has drawn its first line (two points), however slowly
    # the machine gets there; 60 s is only a safety net.
    dash.runner.on_frame(lambda now: dash.runner.stop() if len(line.point_times) >= 2 else None)

    async def run_all():
        task = dash.start(60, speedup=10)
        await asyncio.sleep(0)  # the cell returns: the run makes its first frame
        held[0] += 4.0          # the next cells run for 4 s: the loop is held
        await task

    asyncio.run(run_all())
    assert len(line.point_times) >= 2
    # No step of the clock ran the hold ahead: each is at most MAX_STEP_SECONDS at 10x.
    assert steps and max(steps) <= pd.Timedelta(seconds=MAX_STEP_SECONDS * 10), max(steps)
    first = pd.Timestamp(line.point_times[0])
    # Within two capped steps (and a few frames) of the start; it was 40 s: the whole
    # hold at 10x in one read. (Two: on a loaded machine the run's first, empty read can
    # still be in flight when the clock takes the capped step over the hold, and the
    # next read then covers that step and the one after it.)
    assert first - START <= pd.Timedelta(seconds=(2 * MAX_STEP_SECONDS + 0.5) * 10)
    assert dash.pipeline.counters.conserved
    dash.close()


def test_a_kpi_change_against_a_window_still_filling_says_window_filling(store, snap):
    kpi = KpiTile(store, "orders", column="sum", reference="5min")
    step = pd.Timedelta("30s")
    rate = 10.0  # per second: the 5 min sum fills for 5 min, then stays at 3,000
    for i in range(25):
        t = T0 + i * step
        filled = min((t - T0).total_seconds(), 300.0)
        store.put(snap(t=t, values={"FR": rate * filled}, window=pd.Timedelta("5min")))
        kpi.refresh(t)
        if i == 6:  # 3 min in: the window holds 3 min of its 5
            assert kpi.change is None and kpi.filling and not kpi.window_full
            assert "window filling" in kpi.label.value and "%" not in kpi.label.value
        if i == 12:  # 6 min in: 5 min before, the window held 1 min of its 5 (was +400 %)
            assert kpi.change is None and kpi.filling and kpi.window_full
            # the window now is full: the tile does not say it is filling (it did, after a restart too)
            assert "vs 5 min before: the window was still filling" in kpi.label.value
            assert "window filling" not in kpi.label.value and "%" not in kpi.label.value
    # 12 min in: 5 min before, the window was full: a real change (none: the rate is steady).
    assert not kpi.filling and kpi.change == pytest.approx(0.0)
    assert "+0.0% vs 5 min before" in kpi.label.value


@pytest.mark.parametrize("window, reference", [("1h", "5min"), ("10min", "1min"), ("128s", "128s")])
def test_a_kpi_window_longer_than_its_past_ring_fills_and_then_shows_a_change(store, snap, window, reference):
    # The tile keeps 256 past points spaced reference / 128, so its ring spans ~2 references:
    # the first value's time must outlive the ring, else a longer window never reads full.
    kpi = KpiTile(store, "orders", column="sum", reference=reference)
    win, ref = pd.Timedelta(window), pd.Timedelta(reference)
    step = ref / 64  # the ring wraps after ~4 references
    total = win + 6 * ref
    n = int(total / step) + 1
    for i in range(n):
        t = T0 + i * step
        store.put(snap(t=t, values={"FR": 100.0}, window=win))
        kpi.refresh(t)
        if t - T0 < win:
            assert not kpi.window_full and "window filling" in kpi.label.value
    assert kpi.window_full and not kpi.filling
    assert kpi.change == pytest.approx(0.0)
    assert "filling" not in kpi.label.value


def test_the_rate_slider_shows_only_for_a_source_whose_rate_can_be_set():
    frame = pd.DataFrame({"time": pd.date_range("2024-01-01", periods=60, freq="s"),
                          "country": ["FR", "DE"] * 30, "amount": 1.0})
    replay = rtnb.replay(frame, time_col="time", speed=600, start=START)
    dash = rtnb.dashboard(replay, metric="amount", by="country", window="30s", clock=rtnb.SimClock(start=START))
    assert dash.rate_slider.layout.display == "none" and dash.rate_slider.disabled
    assert "replay 600×" in dash.replay_speed.value  # the replay shows its own speed-up

    class Estimated:  # a source that reports a rate it cannot be given
        name, keys, measures, id_col = "est", ("country",), ("amount",), None

        @property
        def rate(self):
            return 50.0

        def read(self, start, end):
            return frame.iloc[:0].rename(columns={"time": "ts"})

    dash2 = Dashboard([dash.views[0]], source=Estimated())
    assert dash2.rate_slider.layout.display == "none" and dash2.rate_slider.disabled
    sim = rtnb.dashboard(rtnb.simulate("ecommerce_orders", rate=200, seed=1, start=START), metric="amount",
                         by="country", clock=rtnb.SimClock(start=START))
    assert sim.rate_slider.layout.display != "none" and sim.rate_slider.value == pytest.approx(200)
    for d in (dash, sim):
        d.close()


def test_closing_a_metric_dashboard_closes_the_runner_it_built():
    frame = pd.DataFrame({"time": pd.date_range("2024-01-01", periods=600, freq="s"),
                          "country": ["IT", "DE", "FR"] * 200, "amount": [1.0, 2.0, 3.0] * 200})
    m = rtnb.Metric(name="spend", value="amount", by="country", window="1min")
    dash = rtnb.dashboard(rtnb.replay(frame, time_col="time", start="2024-01-01"), metric=m,
                          clock=rtnb.SimClock(start="2024-01-01"))
    runner = dash.runner
    assert dash.owns_runner
    runner.on_frame(lambda now: None)  # something else the runner drives
    runner.run("1min")
    dash.close()
    assert runner.frame_callbacks == [] and runner.state != "running"  # the runner itself was closed


@pytest.mark.parametrize("kwargs, param", [
    ({"fps": 1e9}, "fps"), ({"fps": 0}, "fps"), ({"fps": float("nan")}, "fps"), ({"fps": True}, "fps"),
    ({"columns": 99}, "columns"), ({"columns": 0}, "columns"), ({"columns": 2.5}, "columns"),
])
def test_dashboard_refuses_an_absurd_frame_rate_or_column_count_naming_it(kwargs, param):
    src = rtnb.simulate("ecommerce_orders", rate=10, seed=1, start=START)
    with pytest.raises(rtnb.ParameterError, match=rf"^{param}="):
        rtnb.dashboard(src, metric="amount", by="country", **kwargs)
    store = rtnb.MemoryStore()
    views = [rtnb.FreshnessBadge(store, "orders", limit="5s")]
    with pytest.raises(rtnb.ParameterError, match=rf"^{param}="):
        Dashboard(views, **kwargs)


def test_the_point_at_now_and_the_breaks_never_reach_the_hover_dots(store, snap):
    """The NaN points (breaks, now) are for the line only: every dot is a data point."""
    line = rtnb.LiveLine(store, "orders", column="sum")
    for i in [0, 1, 2, 3, 20, 21]:
        store.put(snap(t=T0 + pd.Timedelta(seconds=i)))
        line.refresh(T0 + pd.Timedelta(seconds=i + 0.5))
    assert np.isfinite(line.hover_mark.y).all() and len(line.hover_mark.x) == 2 * 6


def test_notebook_02s_day_table_has_short_grouped_headers_and_ages_in_words():
    from rtnb import tiers

    sims = tiers.simulate_tiers(10.0, viewers=20, hours=0.5)
    from rtnb.widgets._tiers_tables import grouped_columns, tier_table

    table = grouped_columns(tier_table(sims, tiers.CostModel()))
    # Headers of one or two short words: none wraps in a notebook ("data age p50" took three lines).
    assert all(len(part) <= 11 for col in table.columns for part in col)
    ages = table["data age"]
    assert list(ages.columns) == ["median", "p95", "max"]
    assert ages.stack().str.fullmatch(r"[\d.,]+ (ns|µs|ms|s|min|h|d)").all()
