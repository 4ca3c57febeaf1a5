"""KpiTile: one number with its unit, its change against a reference period, a sparkline.

The tile is one HTML widget: the number, the change and the sparkline (an inline SVG
polyline) go in one message per frame. (It was a label and a bqplot figure: two
messages, and a whole chart for the page to lay out and redraw, twice per frame, for
a line without axes.)"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from .._errors import ParameterError, UnknownNameError
from .._time import DurationLike, to_duration
from ..health import Snapshot
from ._base import StoreView, TimeRing, check_count, check_name, plot_array
from ._live_html import LiveHTML

__all__ = ["KpiTile", "describe_span", "sparkline_svg"]

_COMBINE = ("sum", "mean", "max", "min", "overall")
#: The sparkline's drawing box (SVG user units; it is stretched to the tile's width).
SPARK_WIDTH, SPARK_HEIGHT = 200, 56
SPARK_COLOUR = "#0072B2"


def sparkline_svg(x: np.ndarray, y: np.ndarray, *, width: int = SPARK_WIDTH, height: int = SPARK_HEIGHT) -> str:
    """A sparkline of values ``y`` over times ``x`` as an inline SVG polyline, scaled to
    fill the box (the time span across, the values' range up; a flat series in the
    middle); NaN points are left out. Empty (the box alone) under two points.

    >>> t = np.array(["2024-01-01T09:00:00", "2024-01-01T09:00:01", "2024-01-01T09:00:02"], dtype="datetime64[ns]")
    >>> svg = sparkline_svg(t, np.array([1.0, 3.0, 2.0]), width=10, height=10)
    >>> svg.split('points="')[1].split('"')[0]
    '0.0,9.0 5.0,1.0 10.0,5.0'
    """
    ok = np.isfinite(y)
    box = (f'<svg class="rtnb-kpi-spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
           f'style="flex:1 1 auto;min-width:0;height:{height}px">')  # (stretched by its flex row)
    if ok.sum() < 2:
        return box + "</svg>"
    t = x[ok].astype("datetime64[ns]").astype(np.int64).astype(np.float64)
    v = np.asarray(y, dtype=np.float64)[ok]
    span, lo, hi = t[-1] - t[0], float(v.min()), float(v.max())
    px = (t - t[0]) / span * width if span > 0 else np.linspace(0, width, len(t))
    pad = 1.0  # the stroke's half width: the highest and lowest points are not clipped
    py = pad + (1 - (v - lo) / (hi - lo)) * (height - 2 * pad) if hi > lo else np.full(len(v), height / 2)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px.tolist(), py.tolist()))
    return (box + f'<polyline fill="none" stroke="{SPARK_COLOUR}" stroke-width="1.5" '
            f'vector-effect="non-scaling-stroke" stroke-linejoin="round" points="{points}"/></svg>')


def _format_number(value: float | None, decimals: int) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    return f"{value:,.{decimals}f}"


def _in_units(value: float, before: float) -> bool:
    """Say the change in units, not percent, when the value crossed zero or the
    reference is near zero (a change over ten times the reference): "-116.9%" for a
    delay that went from 24.8 to -4.2 min reads as nothing; "down 29.0 min" does.

    >>> _in_units(-4.2, 24.8), _in_units(0.5, 0.01), _in_units(105.0, 100.0), _in_units(-3.0, -4.0)
    (True, True, False, False)
    """
    return (value < 0) != (before < 0) and value != 0 or abs(value - before) > 10 * abs(before)


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def describe_span(td: pd.Timedelta) -> str:
    """A duration in the largest whole unit, for titles.

    >>> describe_span(pd.Timedelta("5min")), describe_span(pd.Timedelta("90s"))
    ('5 min', '90 s')
    """
    s = td.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size and s % size == 0:
            return f"{int(s // size)} {unit}"
    return f"{s:g} s"


class KpiTile(StoreView, widgets.VBox):
    """One number (``column`` of one key, or combined over keys), its unit, its change.

    ``combine`` folds the per-key values when ``key`` is None (``"sum"`` for counts and
    sums, ``"mean"``, ``"max"``, ``"min"``), or takes the snapshot's own overall value
    (``"overall"``: an :class:`rtnb.Metric`'s ratio of the overall sums, not a fold of
    the per-key ratios). The change compares the latest value with
    the value ``reference`` earlier in event time — unless the rolling window was
    still filling then (within one window of the first value seen), when a change
    would compare with a part of a window and read huge. The tile says "window
    filling" while the window of the value shown is not full yet, then "vs 5 min
    before: the window was still filling" until the reference is a full window
    (``change`` None, ``filling`` True; ``window_full`` tells the two apart). The
    sparkline shows the last ``points`` frames (``spark_values``, float32), in the same
    HTML as the number. Both come from the view's own bounded series (filled once from
    the store's history, then one point per frame), so a frame costs O(keys).

    >>> import rtnb
    >>> from rtnb.store import MemoryStore
    >>> store = MemoryStore()
    >>> kpi = KpiTile(store, "orders", column="sum", unit="EUR", reference="2s")
    >>> for i, t in enumerate(pd.date_range("2024-01-01 09:00", periods=4, freq="s")):
    ...     store.put(rtnb.Snapshot(metric="orders",
    ...         table=pd.DataFrame({"sum": [100.0 + 10 * i, 50.0]}, index=["FR", "DE"]),
    ...         window=pd.Timedelta("1s"), watermark=t, newest_event=t, processed_at=t))
    >>> kpi.refresh(t)
    True
    >>> kpi.value, kpi.change       # 180 against 160 two seconds before
    (180.0, 0.125)
    >>> KpiTile(store, "orders", column="sum", combine="median")
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: combine='median' is unknown; choose one of: 'sum', 'mean', 'max', 'min', 'overall'
    """

    def __init__(
        self,
        store: Any,
        metric: str,
        *,
        column: str,
        key: Any = None,
        combine: str = "sum",
        unit: str = "",
        reference: DurationLike = "5min",
        points: int = 120,
        decimals: int = 0,
        title: str | None = None,
    ) -> None:
        self._init_view(store, metric)
        self.column = check_name("column", column)
        if combine not in _COMBINE:
            raise UnknownNameError("combine", combine, _COMBINE)
        if not isinstance(unit, str):
            raise ParameterError("unit", unit, "must be a string such as 'EUR' or ''")
        self.key = key
        self.combine = combine
        self.unit = unit
        self.reference = to_duration(reference, "reference")
        self.points = check_count("points", points, minimum=2)
        self.decimals = check_count("decimals", decimals, minimum=0)
        self.title = title if title is not None else (f"{metric} · {column}" + (f" · {key}" if key is not None else ""))
        self.value: float | None = None
        self.change: float | None = None
        self.before: float | None = None  # the value ``reference`` earlier, when there is one
        self.filling = False  # the window shown, or the reference's, was still filling: no change
        self.window_full = False  # the window of the value shown is full
        self._window: pd.Timedelta | None = None
        self.spark = TimeRing(self.points)
        # Values a reference period back: at most 256 points, spaced reference / 128.
        self._past = TimeRing(256)
        self._past_step = self.reference / 128
        # The first value's time, kept for good: the ring above drops its oldest points,
        # so its first time trails ~2 references behind and a longer window never filled.
        self._first_seen: pd.Timestamp | None = None

        self.spark_times = np.array([], dtype="datetime64[ns]")
        self.spark_values = np.array([], dtype=np.float32)  # the sparkline's points, as drawn
        self.label = LiveHTML(value=self._html())  # (patched in the page: one number changes one node)
        super().__init__(
            children=[self.label],
            layout={"border": "1px solid #ddd", "padding": "6px", "min_width": "220px"},
        )
        self.add_class("rtnb-kpi-tile")

    def _combined(self, snapshot: Snapshot) -> float | None:
        """The key's value (one ``key`` read) or the fold of the column's values (read as
        one array): the snapshot's per-key table is never built."""
        if self.column not in snapshot.columns:
            return None
        if self.key is not None:
            try:
                v = pd.to_numeric(snapshot.key(self.key)[self.column], errors="coerce")
            except KeyError:
                v = None
        else:
            values = pd.to_numeric(pd.Series(snapshot.values(self.column)), errors="coerce")
            v = values.agg(self.combine) if len(values.dropna()) else None
        return None if v is None or pd.isna(v) else float(v)

    def _record(self, t: pd.Timestamp, value: float | None) -> None:
        if value is None:
            return
        self.spark.append(t, {0: value})
        if self._first_seen is None or t < self._first_seen:
            self._first_seen = t
        last = self._past.last_time
        if last is None or t - last >= self._past_step:
            self._past.append(t, {0: value})

    def _fill(self) -> None:
        try:
            hist = self.store.history(self.metric, self.column)
        except UnknownNameError:
            return
        if self.key is not None:
            series = hist[self.key] if self.key in hist.columns else pd.Series([], dtype="float64")
        elif self.combine == "overall":  # not a fold of the history's per-key values
            return
        else:
            series = hist.apply(pd.to_numeric, errors="coerce").agg(self.combine, axis=1)
        for t, v in series.dropna().items():
            self._record(t, float(v))

    def _apply(self, snapshot: Snapshot, now: pd.Timestamp | None) -> None:
        if len(self.spark) == 0:  # first sight of the metric: start from the store's history
            self._fill()
        if self.combine == "overall" and self.key is None:
            overall = snapshot.overall
            v = overall.get(self.column) if overall is not None else None
            self.value = None if v is None or pd.isna(v) else float(v)
        else:
            self.value = self._combined(snapshot)
        t = snapshot.newest_event
        if t is not None:
            self._record(t, self.value)
        if snapshot.window is not None and pd.notna(snapshot.window):
            self._window = pd.Timedelta(snapshot.window)
        self.change = self.before = None
        self.filling = self.window_full = False
        if self.value is not None and t is not None:
            then = t - self.reference
            first = self._first_seen
            self.window_full = self._window is None or first is None or t >= first + self._window
            if not self.window_full:
                # The window holds less than its length of data yet (nothing to compare).
                self.filling = True
            elif self._window is not None and first is not None and first <= then < first + self._window:
                # The window held less than its length of data then: not a reference.
                self.filling = True
            else:
                before = self._past.last_before(then, 0)
                self.before = before
                if before:  # None or 0: no change to show
                    self.change = (self.value - before) / abs(before)
        x, y = self.spark.arrays([0])
        self.spark_times, self.spark_values = x, plot_array(y[0])
        self.label.value = self._html()  # the number, the change and the sparkline: one message

    def _html(self) -> str:
        if self.filling and self.window_full:
            change, cls = f"vs {describe_span(self.reference)} before: the window was still filling", "flat"
        elif self.filling:
            change, cls = "window filling", "flat"
        elif self.change is None:
            change, cls = f"no value {describe_span(self.reference)} before", "flat"
        else:
            arrow = "▲" if self.change > 0 else ("▼" if self.change < 0 else "■")
            cls = "up" if self.change > 0 else ("down" if self.change < 0 else "flat")
            change = f"{arrow} {self.change:+.1%} vs {describe_span(self.reference)} before"
            if _in_units(self.value, self.before):
                change = (f"{arrow} {'up' if self.change > 0 else 'down'} "
                          f"{_format_number(abs(self.value - self.before), self.decimals)}{_unit(self.unit)} "
                          f"vs {describe_span(self.reference)} before (was {_format_number(self.before, self.decimals)})")
        colour = {"up": "#009E73", "down": "#D55E00", "flat": "#777"}[cls]
        return (
            f'<div class="rtnb-kpi">'
            f'<div style="font-size:12px;color:#555">{html.escape(self.title)}</div>'
            f'<span class="rtnb-kpi-value" style="font-size:28px;font-weight:600">'
            f"{_format_number(self.value, self.decimals)}</span> "
            f'<span class="rtnb-kpi-unit" style="color:#555">{html.escape(self.unit)}</span>'
            f'<div class="rtnb-kpi-change {cls}" style="font-size:12px;color:{colour}">{change}</div>'
            f'<div style="display:flex;padding:8px 0 2px 0">{sparkline_svg(self.spark_times, self.spark_values)}</div>'
            f"</div>"
        )

    def __repr__(self) -> str:
        return f"KpiTile(metric={self.metric!r}, column={self.column!r}, value={self.value!r}, unit={self.unit!r})"
