"""One stream through the four latency tiers, on one shared time axis, played live.

:class:`TierTimeline` (``rtnb.tiers.timeline()``) simulates the viewers of each tier's
usual delivery pattern over a day of a source (once, in virtual time), then plays the
day in simulated time with a :class:`~rtnb.Runner`: every frame shows, per tier, the
orders per bucket *as that tier's viewer sees them at that moment*. The four panels
share one time axis that spans the whole day, with a "now" rule, so each tier's lag is
the shaded gap between the end of its line and now. The last, still-filling bucket is
drawn lighter and dashed (it is not a fall). The counters count every screen update the
tier's viewer gets up to now — whatever the redraw rate lets through. Pause, speed and
replay controls drive the runner.

>>> tl = TierTimeline(hours=2, viewers=5)
>>> tl.show(tl.start + pd.Timedelta("1h"))
>>> tl.updates["near_real_time"], tl.updates["batch"] <= 5
(60, True)
"""

from __future__ import annotations

import html
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np
import pandas as pd

from .._checks import check_int, check_number
from .._time import to_duration
from ..clock import SimClock
from ..health import describe_age
from ..runner import Runner
from ..tiers import TIER_NAMES, CostModel, get_tier, simulate_tiers
from ._format import NOWRAP, duration, money, nice_ticks, si
from ._style import VALUE_LABELS_OUT_PX, shifted_ticks
from ._tiers_explorer import TIER_COLOURS
from ._tiers_tables import grouped_columns, pattern_words, style_table, tier_table

__all__ = ["TierTimeline"]

_MONTH = pd.Timedelta(days=365.25 / 12)
_STATE_COLOURS = {"fresh": "#2e7d32", "late": "#c62828", "none": "#757575"}
#: Simulated time per wall second offered by the speed control.
SPEEDS = (60, 300, 600, 1_440, 3_600, 7_200)


def _light(hex_colour: str, amount: float = 0.55) -> str:
    """The colour mixed with white (a partial bucket, the lag band)."""
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb)


class _Panel:
    """One tier's chart and header line; holds its viewer's screen updates."""

    def __init__(self, owner: TierTimeline, name: str) -> None:
        self.tier = get_tier(name)
        sim = owner.sims[name]
        screen = sim.screen(0)
        self.shown = screen["shown_at"].to_numpy()
        self.as_of_all = screen["as_of"].to_numpy()
        self.monthly = owner.cost.estimate(name, sim).monthly
        colour = TIER_COLOURS[name]
        sc = {"x": owner.x, "y": owner.y}
        self.lag = bq.Lines(x=[], y=[], scales=sc, fill="inside", colors=[_light(colour, 0.8)],
                            fill_colors=[_light(colour, 0.8)], fill_opacities=[0.6], stroke_width=0)
        self.line = bq.Lines(x=[], y=[], scales=sc, colors=[colour], stroke_width=2)
        self.partial = bq.Lines(x=[], y=[], scales=sc, colors=[_light(colour)], line_style="dashed",
                                stroke_width=2, marker="circle", marker_size=20)
        self.now = bq.Lines(x=[], y=[], scales=sc, colors=["#424242"], line_style="dotted")
        axes = [bq.Axis(scale=owner.x, tick_format="%H:%M", tick_values=owner.x_ticks),
                bq.Axis(scale=owner.y, side="left", label=owner.y_label, tick_format="~s",
                        tick_values=owner.y_ticks, label_offset="42px",
                        tick_style=shifted_ticks(-VALUE_LABELS_OUT_PX, 0))]  # the top label clear of the end tick
        self.fig = bq.Figure(marks=[self.lag, self.line, self.partial, self.now], axes=axes,
                             fig_margin={"top": 8, "bottom": 28, "left": 62, "right": 16},
                             layout=W.Layout(width="100%", height="150px"), min_aspect_ratio=0.01)
        self.header = W.HTML()
        self.box = W.VBox([self.header, self.fig], layout=W.Layout(border="1px solid #e0e0e0", margin="2px 0"))
        self.box.add_class("rtnb-tier-panel")
        self.title = (f"<b style='color:{colour}'>{self.tier.label}</b> — {pattern_words(sim.pattern)}")
        self.as_of: np.datetime64 | None = None
        self.updates = 0

    def show(self, owner: TierTimeline, now: pd.Timestamp) -> None:
        n = int(np.searchsorted(self.shown, now.to_datetime64(), side="right"))
        self.updates = n  # every screen update up to now, not the frames drawn
        as_of = self.as_of_all[n - 1] if n else None
        nowx = now.to_datetime64()
        top = owner.y.max
        with self.line.hold_sync(), self.partial.hold_sync(), self.lag.hold_sync(), self.now.hold_sync():
            if as_of is not None and as_of != self.as_of:  # the viewer's screen changed
                self.as_of = as_of
                full, count, last = owner.buckets(as_of)
                self.line.x, self.line.y = full, count
                if len(full):
                    self.partial.x = np.array([full[-1], as_of], dtype="datetime64[ns]")
                    self.partial.y = np.array([count[-1], last], dtype=float)
                else:
                    self.partial.x, self.partial.y = np.array([as_of]), np.array([last], float)
            start = self.as_of if self.as_of is not None else owner.x_min
            self.lag.x = np.array([start, nowx, nowx, start], dtype="datetime64[ns]")
            self.lag.y = np.array([0, 0, top, top], float)
            self.now.x, self.now.y = np.array([nowx, nowx]), np.array([0, top], float)
        if self.as_of is None:
            badge = "<span style='background:#757575;color:white;padding:1px 6px;border-radius:4px'>nothing yet</span>"
            state = "none"
        else:
            age = now - pd.Timestamp(self.as_of)
            state = "fresh" if age <= self.tier.slowest_age else "late"
            badge = (f"<span class='rtnb-age' data-state='{state}' style='background:{_STATE_COLOURS[state]};"
                     f"color:white;padding:1px 6px;border-radius:4px'>data {describe_age(age)}</span>")
        spent = self.monthly * ((now - owner.start) / _MONTH)
        self.header.value = (
            f"<div style='{NOWRAP};font-size:13px;padding:2px 6px;overflow:hidden' data-state='{state}'>"
            f"{self.title} &nbsp; {badge} &nbsp; <span class='rtnb-updates'>{self.updates:,} screen updates</span>"
            f" &nbsp; running cost so far <b>{money(spent)}</b></div>")


class TierTimeline(W.VBox):
    """The four tiers of one stream, on one time axis, played in simulated time.

    ``source`` (default: ``rtnb.simulate("ecommerce_orders", seed=1)``) is read once
    over ``hours`` plus a ``warmup``; ``viewers`` viewers of each tier are simulated;
    ``bucket`` is the chart's bucket (orders per bucket); ``cost`` the cost model for
    the running-cost counters; ``fps`` the frame rate of the live play; ``max_rows``
    the stream's cap per read (a runner that falls behind says it is catching up).

    >>> TierTimeline(hours=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: hours=0 is invalid: must be a number > 0
    """

    def __init__(self, source: Any = None, *, hours: float = 24, viewers: int = 200, warmup: Any = "2h",
                 bucket: Any = "15min", cost: CostModel | None = None, fps: float = 10, seed: int = 1,
                 max_rows: int | None = 20_000) -> None:
        from ..sources.simulate import simulate

        self.hours = check_number("hours", hours, minimum=0, strict=True)
        viewers = check_int("viewers", viewers, minimum=1)
        self.warmup = to_duration(warmup, "warmup", allow_zero=True)
        self.bucket = to_duration(bucket, "bucket")
        self.fps = check_number("fps", fps, minimum=0, strict=True)
        self.max_rows = max_rows  # the stream's read cap (the Runner checks it)
        self.source = source if source is not None else simulate("ecommerce_orders", seed=check_int("seed", seed))
        self.cost = cost or CostModel()
        self.sims = simulate_tiers(self.source, viewers=viewers, hours=self.hours)
        self.start = pd.Timestamp(self.sims["batch"].start)
        self.end = self.start + pd.Timedelta(hours=self.hours)
        events = self.source.read(self.start - self.warmup, self.end)
        self.ts = np.sort(events["ts"].to_numpy())
        self.edges = pd.date_range(self.start - self.warmup, self.end, freq=self.bucket).to_numpy()
        per_bucket = np.diff(np.searchsorted(self.ts, self.edges, side="right"))
        self.y_label = f"orders / {duration(self.bucket)}"
        # Both ends of the count axis are labelled ticks (d3's outer tick at the top had none).
        self.y_ticks = nice_ticks(0, float(per_bucket.max() if len(per_bucket) else 1), max_ticks=4)
        self.x_min = self.start.to_datetime64()
        step = next(h for h in (1, 2, 3, 6, 12, 24, 48) if self.hours / h <= 8)  # at most ~9 round hours
        self.x_ticks = pd.date_range(self.start.ceil(f"{step}h"), self.end, freq=f"{step}h").to_numpy()
        self.x = bq.DateScale(min=self.start.to_pydatetime(), max=self.end.to_pydatetime())
        self.y = bq.LinearScale(min=self.y_ticks[0], max=self.y_ticks[-1])
        self.panels = {name: _Panel(self, name) for name in TIER_NAMES}
        self.clock_label, self.stream_label = W.HTML(), W.HTML()
        self.play_button = W.Button(description="Play", icon="play", layout=W.Layout(width="110px"))
        self.replay_button = W.Button(description="Replay", icon="repeat", layout=W.Layout(width="110px"))
        self.speed = W.Dropdown(options=[(f"{duration(s)} per second", s) for s in SPEEDS], value=1_440,
                                description="speed", layout=W.Layout(width="260px"))
        self.play_button.on_click(lambda _: self.toggle())
        self.replay_button.on_click(lambda _: self.replay())
        self.speed.observe(self._speed_changed, names="value")
        self.delivered = 0
        self.runner: Runner | None = None
        self._new_runner()
        legend = ("<span style='font-size:12px;color:#555'>line: what the tier's viewer sees; dashed: the "
                  f"{duration(self.bucket)} still filling; shaded: the lag behind now (dotted)</span>")
        super().__init__([
            W.HBox([self.play_button, self.replay_button, self.speed, self.clock_label]),
            self.stream_label, W.HTML(legend),
            *[p.box for p in self.panels.values()],
        ])
        self.add_class("rtnb-tier-timeline")
        self.show(self.start)

    # -- what is on screen ---------------------------------------------------------

    def buckets(self, as_of: np.datetime64) -> tuple[np.ndarray, np.ndarray, float]:
        """Full buckets up to ``as_of`` (their end times and counts, from the day's
        start) and the count so far in the bucket still filling."""
        k = int(np.searchsorted(self.edges, as_of, side="right"))  # edges[:k] <= as_of
        cum = np.searchsorted(self.ts, self.edges[:k], side="right")
        counts = np.diff(cum).astype(float)
        ends = self.edges[1:k]
        keep = ends >= self.x_min
        last = float(np.searchsorted(self.ts, as_of, side="right") - (cum[-1] if len(cum) else 0))
        return ends[keep], counts[keep], last

    def table(self) -> pd.DataFrame:
        """The day in numbers, in words: per tier its delivery, data age (median, p95,
        max over all viewers and the whole day), loads and costs.

        The columns come in groups (data age, load, cost) under short one-word
        headers, so no header wraps ("data age p50" wrapped to three lines)."""
        return grouped_columns(tier_table(self.sims, self.cost))

    def styled_table(self) -> Any:
        """:meth:`table` styled for reading (a pandas ``Styler``, :func:`style_table`): the
        numbers right-aligned under their headers, each group's name centred over its
        columns, the words left-aligned."""
        return style_table(self.table())

    @property
    def updates(self) -> dict[str, int]:
        """Screen updates each tier's viewer has had so far."""
        return {name: p.updates for name, p in self.panels.items()}

    def show(self, now: Any) -> None:
        """Draw every panel as its viewer sees it at simulated time ``now``."""
        now = min(pd.Timestamp(now), self.end)
        self.clock_label.value = f"<b style='{NOWRAP}'>simulated time {now:%a %H:%M:%S}</b>"
        self.stream_label.value = f"<span style='{NOWRAP}'>{html.escape(self.stream_words())}</span>"
        for p in self.panels.values():
            p.show(self, now)

    def stream_words(self) -> str:
        """The stream's count in words, and whether it keeps up: a runner whose reads
        were capped (``max_rows``) is behind the simulated clock, and says so with how
        far, so the count is not read as all the orders up to the time shown.

        >>> t = TierTimeline(hours=1, viewers=5)
        >>> t.stream_words()
        'orders delivered by the stream so far: 0 (0)'
        """
        words = f"orders delivered by the stream so far: {self.delivered:,} ({si(self.delivered)})"
        health = self.runner.health.sources if self.runner is not None else {}
        late = [h for h in health.values() if h.catching_up and (h.behind > pd.Timedelta(0) or h.backlog)]
        if not late:
            return words
        behind = max(h.behind for h in late)
        backlog = sum(h.backlog for h in late)
        stopped = self.runner is not None and self.runner.state == "stopped"
        parts = [f"{duration(behind)} of simulated time behind"] if behind > pd.Timedelta(0) else []
        if backlog:
            parts.append(f"about {backlog:,} orders still to read")
        return f"{words} · {'stopped' if stopped else 'catching up'}: {', '.join(parts)}"

    # -- playing -------------------------------------------------------------------

    def _new_runner(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner.remove_frame(self._frame)
        self.delivered = 0
        for p in self.panels.values():
            p.as_of, p.updates = None, 0
        self.runner = Runner(self.source, clock=SimClock(start=self.start), fps=self.fps, tick="1min",
                             max_rows=self.max_rows)
        self.runner.stream.sink(self._count)
        self.runner.on_frame(self._frame)

    def _count(self, batch: pd.DataFrame) -> None:
        self.delivered += len(batch)

    def _frame(self, now: pd.Timestamp) -> None:
        self.show(now)
        if now >= self.end and self.runner is not None and self.runner.state == "running":
            self.runner.stop()  # the day is over
        self._sync_button()

    def _sync_button(self) -> None:
        state = self.runner.state if self.runner is not None else "idle"
        self.play_button.description = "Pause" if state == "running" else ("Resume" if state == "paused" else "Play")
        self.play_button.icon = "pause" if state == "running" else "play"

    def _speed_changed(self, change: dict) -> None:
        if self.runner is not None:
            self.runner.speedup = float(change["new"])

    def play(self, seconds: Any = None) -> None:
        """Play (or resume) the day live; ``seconds`` (wall) sets the speed so the rest of
        the day plays in that time, and stops the run after it."""
        r = self.runner
        if r.state == "paused":
            r.resume()
        else:
            if r.state == "stopped" or r.clock.now() >= self.end:
                self._new_runner()
                r = self.runner
            wall = to_duration(seconds, "seconds").total_seconds() if seconds is not None else None
            if wall is not None:
                speed = (self.end - r.clock.now()).total_seconds() / wall
                if speed not in [v for _, v in self.speed.options]:
                    self.speed.options = sorted([*self.speed.options, (f"{duration(speed)} per second", speed)],
                                                key=lambda o: o[1])
                self.speed.value = speed
            r.start(wall, speedup=float(self.speed.value))
        self._sync_button()

    def pause(self) -> None:
        """Pause the play (simulated time stops; frames keep the screen drawn)."""
        self.runner.pause()
        self._sync_button()

    def toggle(self) -> None:
        """The Play/Pause button: pause a running play, otherwise play."""
        if self.runner.state == "running":
            self.pause()
        else:
            self.play()

    def replay(self) -> None:
        """Start the day again from its beginning, at the speed set."""
        self._new_runner()
        self.show(self.start)
        self.runner.start(None, speedup=float(self.speed.value))
        self._sync_button()

    def stop(self) -> None:
        """Stop the play."""
        if self.runner is not None:
            self.runner.stop()
        self._sync_button()
