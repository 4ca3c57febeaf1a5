"""The tiers explorer: data age against cost, break-even and the advisor, in one widget.

``rtnb.tiers.explorer()`` returns a :class:`TiersExplorer`: sliders for the workload
(viewers, near-real-time polling interval, event rate), the cost model (batch build,
real-time premium, streaming infrastructure) and the value of a minute of delay; every
change re-simulates each tier in virtual time and redraws

1. p95 data age (log axis, ticks at 1 s, 1 min, 1 h, 1 d in words) against the cost per year, each
   tier a labelled low–high range;
2. the break-even of real time against near-real-time;
3. the tiers in numbers and the advisor on the catalogue of example metrics — tables
   in words — and one metric's reasons and checklist in full.

The advisor follows every slider: each example keeps its latency needs (maximum age,
response time, decision) and takes the viewers, event rate, value of a minute and cost
model set here.

>>> ex = TiersExplorer(viewers=50, hours=0.5)
>>> ex.tier_table.loc["Batch", "delivery"]
'job every 1 h, pages reload every 15 min'
>>> ex.viewers.value = 500          # a slider moved: tables and charts follow
>>> ex.tier_table.loc["Near-real-time", "requests/s"]
'8.33'
"""

from __future__ import annotations

import dataclasses
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np
import pandas as pd

from .._checks import check_int, check_number
from .._errors import ParameterError
from .._time import to_duration
from ..tiers import EXAMPLES, TIER_NAMES, CostModel, advise, break_even, compare, get_tier, pattern_for
from ..tiers._break_even import minutes_and_extra
from ._format import duration, money, nice_ticks, si, tick_labels
from ._style import TIME_LABELS_DOWN_PX, VALUE_LABELS_OUT_PX, shifted_ticks
from ._tiers_tables import advice_table, checklist_html, html_table, tier_table

__all__ = ["TiersExplorer", "TIER_COLOURS"]

#: One colour per tier, shared by the tiers lab's charts.
TIER_COLOURS = {"batch": "#6d4c41", "near_real_time": "#1565c0", "real_time": "#2e7d32", "sub_second": "#c62828"}

_RATES = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000)
_INTERVALS = (5, 10, 15, 30, 60, 120, 300, 600, 900)
_VALUES = (0, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
#: Where the data-age axis may put a tick (seconds): round times a reader knows by name
#: (10 ms, 100 ms, 1 s, 1 min, 1 h, 1 d, 1 week), not powers of ten ("100,000" s is 28 h).
_AGE_TICKS = (0.001, 0.01, 0.1, 1.0, 60.0, 3_600.0, 86_400.0, 604_800.0)
_STYLE = {"description_width": "190px"}
_WIDE = W.Layout(width="470px")


def age_ticks(low: float, high: float) -> list[float]:
    """The :data:`_AGE_TICKS` covering ``low``–``high`` seconds (the last at or under
    ``low``, the first at or over ``high``, those between), for a log axis of data age.

    >>> age_ticks(0.17, 13_000)
    [0.1, 1.0, 60.0, 3600.0, 86400.0]
    >>> age_ticks(2.0, 30.0)
    [1.0, 60.0]
    """
    lo = max([t for t in _AGE_TICKS if t <= low], default=_AGE_TICKS[0])
    hi = min([t for t in _AGE_TICKS if t >= high], default=_AGE_TICKS[-1])
    return [t for t in _AGE_TICKS if lo <= t <= hi]


def _options(values: tuple[float, ...], given: float, label: Any) -> list[tuple[str, float]]:
    """Slider options: round values plus the one given, each shown as ``label(v)``."""
    vals = sorted(set(values) | {given})
    return [(label(v), v) for v in vals]


class TiersExplorer(W.VBox):
    """Sliders, two charts, two tables and one metric's advice, all following the sliders.

    ``viewers``, ``interval`` (near-real-time polling), ``event_rate`` and
    ``value_per_minute`` (money per minute of delay per year) are the starting values;
    ``cost`` the starting cost model (default: the published figures); ``hours`` how
    much virtual time each tier is simulated for; ``metrics`` the advisor's examples
    (default :data:`rtnb.tiers.EXAMPLES`).

    >>> TiersExplorer(viewers=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: viewers=0 is invalid: must be an integer >= 1
    """

    def __init__(self, *, viewers: int = 200, interval: Any = "1min", event_rate: float = 10.0,
                 value_per_minute: float = 5_000.0, cost: CostModel | None = None, hours: float = 2.0,
                 metrics: Any = None, seed: int = 0) -> None:
        viewers = check_int("viewers", viewers, minimum=1)
        every = to_duration(interval, "interval").total_seconds()
        rate = check_number("event_rate", event_rate, minimum=0, strict=True)
        value = check_number("value_per_minute", value_per_minute, minimum=0)
        self.hours = check_number("hours", hours, minimum=0, strict=True)
        if cost is not None and not isinstance(cost, CostModel):
            raise ParameterError("cost", cost, "must be a rtnb.tiers.CostModel or None")
        self.cost_base = cost or CostModel()
        self.metrics = list((EXAMPLES if metrics is None else metrics).values()
                            if isinstance(metrics, dict) or metrics is None else metrics)
        if not self.metrics:
            raise ParameterError("metrics", metrics, "give at least one metric (or None for the catalogue)")
        self.seed = check_int("seed", seed, minimum=0)
        c = self.cost_base
        kw = {"style": _STYLE, "layout": _WIDE, "continuous_update": False}
        self.viewers = W.IntSlider(value=viewers, min=10, max=max(5_000, viewers), step=10,
                                   readout_format=",d", description="viewers", **kw)
        self.interval = W.SelectionSlider(options=_options(_INTERVALS, every, duration), value=every,
                                          description="near-real-time polls every", **kw)
        self.event_rate = W.SelectionSlider(options=_options(_RATES, rate, si), value=rate,
                                            description="events per second", **kw)
        self.batch_build = W.IntSlider(value=int(c.batch_build), min=1_000, max=max(50_000, int(c.batch_build)),
                                       step=500, readout_format=",d", description="batch build ($)", **kw)
        self.premium = W.FloatRangeSlider(value=tuple(c.real_time_build_premium), min=0, max=2, step=0.05,
                                          readout_format=".0%", description="real-time build premium", **kw)
        self.infra = W.IntRangeSlider(value=tuple(int(v) for v in c.streaming_infra_monthly), min=0,
                                      max=3_000, step=50, readout_format=",d",
                                      description="streaming infra ($/month)", **kw)
        self.value = W.SelectionSlider(options=_options(_VALUES, value, lambda v: f"{v:,.0f}"), value=value,
                                       description="value of a minute ($/yr)", **kw)
        self.sliders = [self.viewers, self.interval, self.event_rate, self.batch_build, self.premium,
                        self.infra, self.value]
        self._build_age_chart()
        self._build_break_even_chart()
        self.verdict = W.HTML()
        self.tiers_html = W.HTML(layout=W.Layout(width="100%", overflow="auto"))
        self.advice_html = W.HTML(layout=W.Layout(width="100%", overflow="auto"))
        names = [m.name for m in self.metrics]
        self.metric = W.Dropdown(options=[(n.replace("_", " "), n) for n in names], value=names[0],
                                 description="metric in full", style={"description_width": "110px"})
        self.detail = W.HTML()
        self.tier_table = self.advice = None
        self.recommendations: dict[str, Any] = {}
        for s in self.sliders:
            s.observe(self.update, names="value")
        self.metric.observe(self._show_detail, names="value")
        super().__init__([
            W.HBox([W.VBox(self.sliders[:3] + [self.value]), W.VBox(self.sliders[3:6])]),
            W.HBox([self.age_fig, W.VBox([self.be_fig, self.be_legend])]),
            self.verdict,
            W.HTML("<b>The tiers in numbers</b> (each tier's usual delivery, simulated in virtual time)"),
            self.tiers_html,
            W.HTML("<b>The advisor on the example metrics</b>: each keeps its latency needs and takes the "
                   "viewers, event rate, value of a minute and costs set above"),
            self.advice_html,
            self.metric, self.detail,
        ])
        self.add_class("rtnb-tiers-explorer")
        self.update()

    # -- construction --------------------------------------------------------------

    def _build_age_chart(self) -> None:
        self.age_x, self.age_y = bq.LogScale(), bq.LinearScale()
        colours = list(TIER_COLOURS.values())
        self.ranges = bq.Lines(x=[[1, 1]] * 4, y=[[0, 0]] * 4, scales={"x": self.age_x, "y": self.age_y},
                               colors=colours, stroke_width=7, opacities=[0.45] * 4)
        self.points = bq.Scatter(x=[1] * 4, y=[0] * 4, names=[get_tier(t).label for t in TIER_NAMES],
                                 display_names=True, scales={"x": self.age_x, "y": self.age_y},
                                 colors=colours, default_size=60, label_display_vertical_offset=-12)
        # (the labels at the axes' ends clear of their end ticks: see _style.END_TICK_PX)
        self.age_xaxis = bq.Axis(scale=self.age_x, label="p95 data age (log scale)", tick_format=",~g",
                                 tick_style=shifted_ticks(0, TIME_LABELS_DOWN_PX), label_offset="36px")
        self.age_yaxis = bq.Axis(scale=self.age_y, side="left", label="cost per year", tick_format="$~s",
                                 label_offset="52px", tick_style=shifted_ticks(-VALUE_LABELS_OUT_PX, 0))
        self.age_fig = bq.Figure(marks=[self.ranges, self.points], axes=[self.age_xaxis, self.age_yaxis],
                                 title="p95 data age against cost per year (low–high)",
                                 fig_margin={"top": 50, "bottom": 50, "left": 75, "right": 45},
                                 layout=W.Layout(width="560px", height="380px"))

    def _build_break_even_chart(self) -> None:
        self.be_x, self.be_y = bq.LinearScale(min=0), bq.LinearScale(min=0)
        sc = {"x": self.be_x, "y": self.be_y}
        self.worth = bq.Lines(x=[0, 1], y=[0, 1], scales=sc, colors=["#2e7d32"], stroke_width=3)
        self.extra = bq.Lines(x=[[0, 1], [0, 1]], y=[[0, 0], [0, 0]], scales=sc, colors=["#c62828", "#ef9a9a"],
                              line_style="dashed")
        self.chosen = bq.Lines(x=[0, 0], y=[0, 1], scales=sc, colors=["gray"], line_style="dotted")
        self.be_xaxis = bq.Axis(scale=self.be_x, label="value of a minute of delay, per year", tick_format="$~s",
                                tick_style=shifted_ticks(0, TIME_LABELS_DOWN_PX), label_offset="36px")
        self.be_yaxis = bq.Axis(scale=self.be_y, side="left", label="per year", tick_format="$~s",
                                label_offset="52px", tick_style=shifted_ticks(-VALUE_LABELS_OUT_PX, 0))
        self.be_fig = bq.Figure(marks=[self.worth, self.extra, self.chosen], axes=[self.be_xaxis, self.be_yaxis],
                                title="real time against near-real-time: break-even",
                                fig_margin={"top": 50, "bottom": 50, "left": 75, "right": 45},
                                layout=W.Layout(width="560px", height="350px"))
        swatch = ("<span style='white-space:nowrap;margin-right:14px'><span style='display:inline-block;"
                  "width:18px;border-top:3px {style} {c};vertical-align:middle'></span> {t}</span>")
        self.be_legend = W.HTML("".join(swatch.format(style=s, c=c, t=t) for s, c, t in (
            ("solid", "#2e7d32", "value of the minutes saved"), ("dashed", "#c62828", "extra cost (low)"),
            ("dashed", "#ef9a9a", "extra cost (high)"), ("dotted", "gray", "the value set"))))

    # -- what the sliders give -----------------------------------------------------

    def cost_model(self) -> CostModel:
        """The cost model the sliders describe."""
        return self.cost_base.with_(batch_build=float(self.batch_build.value),
                                    real_time_build_premium=tuple(self.premium.value),
                                    streaming_infra_monthly=tuple(float(v) for v in self.infra.value))

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The tiers in numbers and the advisor's answers, as shown (strings, in words)."""
        return self.tier_table, self.advice

    def patterns(self) -> dict[str, Any]:
        """Each tier's pattern, near-real-time polling at the interval set."""
        nrt = pattern_for("near_real_time", interval=pd.Timedelta(seconds=self.interval.value))
        return {t: (nrt if t == "near_real_time" else pattern_for(t)) for t in TIER_NAMES}

    def update(self, _: Any = None) -> None:
        """Re-simulate and redraw everything from the sliders' values."""
        cost, patterns = self.cost_model(), self.patterns()
        sims = compare(float(self.event_rate.value), patterns, viewers=int(self.viewers.value),
                       hours=self.hours, seed=self.seed)
        self.sims = sims
        self._draw_ages(sims, cost)
        self._draw_break_even(sims, cost)
        self.tier_table = tier_table(sims, cost)
        self.tiers_html.value = html_table(self.tier_table, wrap=("delivery",))
        metrics = [dataclasses.replace(m, viewers=int(self.viewers.value), event_rate=float(self.event_rate.value),
                                       value_per_minute=float(self.value.value)) for m in self.metrics]
        # the advice on the simulations shown: its break-even and the verdict's are one computation
        self.recommendations = {m.name: advise(m, cost=cost, patterns=patterns, seed=self.seed, simulations=sims)
                                for m in metrics}
        self.advice = advice_table(self.recommendations.values())
        self.advice_html.value = html_table(self.advice, wrap=("needs", "delivery"), note="why")
        self._show_detail()

    def _draw_ages(self, sims: dict[str, Any], cost: CostModel) -> None:
        ages = np.array([s.age_p95 for s in sims.values()], float)
        per_year = [cost.estimate(t, s).per_year for t, s in sims.items()]
        # ticks at 1 s, 1 min, 1 h, 1 d... labelled in words ("100,000" seconds read as nothing)
        ticks = age_ticks(float(ages.min()) / 3, float(ages.max()) * 3)
        # Both ends of the cost axis are labelled ticks (the domain ended between ticks:
        # d3's outer ticks at the top and under $0 had no label).
        y_ticks = nice_ticks(0, max(r.high for r in per_year) or 1.0, max_ticks=6)
        with self.ranges.hold_sync(), self.points.hold_sync(), self.age_x.hold_sync(), self.age_y.hold_sync():
            self.age_x.min, self.age_x.max = ticks[0], ticks[-1]
            self.age_xaxis.tick_values = ticks
            self.age_xaxis.tick_labels = tick_labels(ticks)
            self.age_y.min, self.age_y.max = y_ticks[0], y_ticks[-1]
            self.age_yaxis.tick_values = y_ticks
            self.ranges.x = [[a, a] for a in ages]
            self.ranges.y = [[r.low, r.high] for r in per_year]
            self.points.x, self.points.y = ages, np.array([r.mid for r in per_year])

    def _draw_break_even(self, sims: dict[str, Any], cost: CostModel) -> None:
        # the advisor's computation (mean data age saved, extra cost per year), on the same simulations
        saved, more = minutes_and_extra("real_time", "near_real_time", sims, cost)
        v = float(self.value.value)
        if not saved > 0:
            self.break_even_value = None
            self.verdict.value = ("<b>Near-real-time polling is as fresh as real time with these settings</b>: "
                                  "real time saves nothing here.")
            return
        be = self.break_even_value = break_even(more, saved)
        x_ticks = nice_ticks(0, max(2.5 * be.high, 1.2 * v, 1.0), max_ticks=5)  # both ends labelled
        x_max = x_ticks[-1]
        x = np.linspace(0, x_max, 60)
        y_ticks = nice_ticks(0, max(x_max * saved, more.high), max_ticks=6)
        top = y_ticks[-1]
        with self.worth.hold_sync(), self.extra.hold_sync(), self.chosen.hold_sync(), self.be_x.hold_sync():
            self.be_x.max, self.be_y.max = x_max, top
            self.be_xaxis.tick_values = x_ticks
            self.be_yaxis.tick_values = y_ticks
            self.worth.x, self.worth.y = x, x * saved
            self.extra.x, self.extra.y = [[0, x_max]] * 2, [[more.low] * 2, [more.high] * 2]
            self.chosen.x, self.chosen.y = [v, v], [0, top]
        pays = v * saved
        word = ("<b style='color:#2e7d32'>pays</b>" if pays >= more.high else
                "<b style='color:#ef6c00'>pays only at the low end of its cost</b>" if pays >= more.low else
                "<b style='color:#c62828'>does not pay</b>")
        self.verdict.value = (
            f"<span style='white-space:nowrap'>Real time saves <b>{duration(saved * 60)}</b> of mean data age "
            f"for <b>{money(more)}</b> more per year</span>: it pays above <b>{money(be)}</b> per minute of "
            f"delay per year. At <span style='white-space:nowrap'>{money(v)}</span> it {word} "
            f"(the minutes saved are worth {money(pays)} a year).")

    def _show_detail(self, _: Any = None) -> None:
        rec = self.recommendations.get(self.metric.value)
        self.detail.value = checklist_html(rec) if rec is not None else ""
