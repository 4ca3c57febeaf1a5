"""What a reader reads in the tiles and charts of a notebook: words, units, and a change
that means something when the value crosses zero (notebook 07's departure delays)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

import rtnb
from rtnb.widgets import KpiTile, LiveBars, LiveLine

from .conftest import T0

SEC = pd.Timedelta("1s")


def tile_after(store, snap, before: float, now: float, unit="min") -> KpiTile:
    kpi = KpiTile(store, "orders", column="sum", reference="10s", unit=unit, decimals=1)
    for i in range(31):  # 30 s of a 10 s window: full, and full 10 s before
        v = before if i <= 20 else now
        store.put(snap(t=T0 + i * SEC, values={"FR": v}, window=pd.Timedelta("10s")))
        kpi.refresh(T0 + i * SEC)
    return kpi


def change_text(kpi) -> str:
    return kpi.label.value.split('rtnb-kpi-change')[1].split(">", 1)[1].split("<", 1)[0]


def test_a_change_across_zero_is_said_in_units_not_as_a_percent(store, snap):
    # 24.8 min late a day before, 4.2 min early now: "-116.9%" said nothing.
    kpi = tile_after(store, snap, 24.8, -4.2)
    assert change_text(kpi) == "▼ down 29.0 min vs 10 s before (was 24.8)"
    assert "%" not in change_text(kpi)


def test_a_change_from_near_zero_is_said_in_units(store, snap):
    kpi = tile_after(store, snap, 0.1, 7.5)  # "+7400.0%" is noise: up 7.4 min
    assert change_text(kpi) == "▲ up 7.4 min vs 10 s before (was 0.1)"


def test_an_ordinary_change_stays_a_percent(store, snap):
    kpi = tile_after(store, snap, 100.0, 97.4, unit="EUR")
    assert change_text(kpi) == "▼ -2.6% vs 10 s before"
    kpi = tile_after(rtnb.store.MemoryStore(history=100), snap, -4.0, -3.0)  # both negative: a rise
    assert change_text(kpi) == "▲ +25.0% vs 10 s before"


def test_bars_all_below_zero_hang_from_a_zero_axis(store, snap):
    bars = LiveBars(store, "orders", column="sum", unit="min")
    store.put(snap(values={"JFK": -2.6, "EWR": -4.0, "LGA": -7.9}))
    bars.refresh(T0)
    assert bars.y_scale.max == 0.0 and -9.0 <= bars.y_scale.min < -7.9  # (the domain moves in steps: just past)
    assert bars.axes[1].tick_values.max() == 0.0  # zero is a tick (they stopped at -3)
    store.put(snap(t=T0 + SEC, values={"JFK": 2.0, "EWR": -1.0}))
    bars.refresh(T0 + SEC)
    assert bars.y_scale.max > 2.0 and bars.y_scale.min < -1.0  # a positive value: the data sets the top again


def test_a_metric_dashboard_names_its_charts_in_words_with_the_unit():
    # Notebook 07: rtnb.dashboard(source, metric=punctuality, unit="min").
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"time": pd.date_range("2024-05-01 08:00", periods=600, freq="s"),
                       "origin": rng.choice(["JFK", "EWR", "LGA"], 600), "dep_delay": rng.normal(5, 20, 600)})
    m = rtnb.Metric(name="punctuality", value="dep_delay", by="origin", window="1min", kind="tumbling",
                    aggs=("sum",), derived={"delay_per_flight": "dep_delay_sum / count"})
    src = rtnb.replay(df, time_col="time", speed=1, start="2024-05-01 08:00", rebase=False)
    dash = rtnb.dashboard(src, metric=m, clock=rtnb.SimClock(start="2024-05-01 08:00"), unit="min")
    dash.runner.run("3min")
    line = next(v for v in dash.views if isinstance(v, LiveLine))
    bars = next(v for v in dash.views if isinstance(v, LiveBars))
    tiles = [v for v in dash.views if isinstance(v, KpiTile)]
    assert line.axes[1].label == bars.axes[1].label == "delay per flight (min)"
    assert line.title == "delay per flight per origin · 1 min" and bars.title == "delay per flight by origin now"
    assert tiles[0].title == "delay per flight · overall"
    assert "_" not in " ".join([line.title, bars.title] + [t.title for t in tiles])
    assert line.colours is bars.colours  # a key has one colour in both
    colour = dict(zip(line.lines.labels, line.lines.colors))
    assert all(colour[k] == c for k, c in zip(bars.bars.x, bars.bars.colors) if k in colour)
    dash.close()


def test_every_slider_reads_as_a_number_not_in_scientific_notation():
    # d3-format ".3g" printed a speed-up of 21,600 as "2.16e+4" (notebook 07's readout).
    import ipywidgets as W

    from rtnb.widgets import Dashboard, FreshnessBadge

    store = rtnb.store.MemoryStore()
    src = rtnb.simulate("ecommerce_orders", rate=50, seed=1)
    dash = Dashboard([FreshnessBadge(store, "orders", limit="5s")], runner=rtnb.Runner(src, clock=rtnb.SimClock()), source=src)
    explorer = rtnb.tiers.explorer()
    sliders = [dash.speedup_slider, dash.rate_slider] + list(explorer.sliders)
    for s in sliders:
        if isinstance(s, (W.FloatLogSlider, W.FloatSlider, W.IntSlider, W.IntRangeSlider, W.FloatRangeSlider)):
            fmt = s.readout_format
            assert "e" not in fmt and "g" not in fmt, (s.description, fmt)  # no exponent form
            assert "," in fmt or "%" in fmt, (s.description, fmt)  # thousands grouped: 21,600
    # The readouts as d3-format prints them in the page: like every other number.
    for s in (dash.speedup_slider, dash.rate_slider):
        shown = [d3_rounded(v, s.readout_format) for v in (1.0, 10.0, 10 ** 0.1, 600.0, 21_600.0, 0.1)]
        assert shown == ["1", "10", "1.26", "600", "21,600", "0.1"], (s.description, s.readout_format, shown)
    dash.close()


def d3_rounded(value: float, fmt: str) -> str:
    """d3-format's ``[,][.precision][~]r`` (rounded to significant digits, fixed notation;
    ``~`` trims trailing zeros), the formats the dashboard's sliders use."""
    m = re.fullmatch(r"(,?)\.(\d+)(~?)r", fmt)
    assert m, f"not a d3 'r' format: {fmt!r}"
    digits = int(m.group(2))
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value)))) if value else digits - 1
    text = f"{value:{m.group(1)}.{decimals}f}"
    if m.group(3) and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def test_every_value_axis_ends_on_labelled_ticks(store, snap):
    # d3 draws a short outer tick at both ends of an axis's domain: a domain that ended
    # between round ticks showed a tick with no label above the top label (notebook 07's
    # charts, the tiers lab's cost and break-even axes, the tier panels' counts).
    from rtnb import tiers

    line = LiveLine(store, "orders", column="sum", unit="EUR")
    bars = LiveBars(store, "orders", column="sum", unit="EUR")
    for i, v in enumerate((3.9, 30.1, 143.2)):
        store.put(snap(t=T0 + i * SEC, values={"FR": v, "DE": v / 3}))
        line.refresh(T0 + i * SEC), bars.refresh(T0 + i * SEC)
    explorer = tiers.explorer()
    timeline = tiers.timeline(hours=1, viewers=3)
    axes = {"line": line.axes[1], "bars": bars.axes[1], "cost per year": explorer.age_yaxis,
            "break-even x": explorer.be_xaxis, "break-even y": explorer.be_yaxis,
            **{f"tier panel {n}": p.fig.axes[1] for n, p in timeline.panels.items()}}
    for name, axis in axes.items():
        ticks = list(axis.tick_values)
        domain = (axis.scale.min if axis.scale.min is not None else 0.0, axis.scale.max)
        assert domain == (ticks[0], ticks[-1]), (name, domain, ticks)
        assert 2 <= len(ticks) <= 6, (name, ticks)
    assert line.y_scale.max > 143.2 and list(line.axes[1].tick_values) == [0.0, 50.0, 100.0, 150.0]
    line.close(), bars.close()
