"""LiveLine: a metric over time, one line per key, with a bounded history (rollover)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import pandas as pd

from .._checks import check_str
from .._errors import ParameterError, UnknownNameError
from ..health import Snapshot
from ._base import StoreView, TimeRing, check_count, check_name, key_labels, plot_array
from ._hover import HOVER_DOTS, LINE_ID_CLASS, clear_hover_dots, hover_mark, show_hover_dots
from ._line_points import GAP_FACTOR, break_gaps, drawable as _drawable, tracked as _tracked, values as _values
from ._style import MARGINS, PALETTE, KeyColours, axis_label, show_value_range, time_axis, value_axis
from ._zoom import FollowZoom, UtcDateScale

__all__ = ["LiveLine", "PALETTE", "HOVER_DOTS", "UtcDateScale"]

#: How a window that has not filled yet is drawn (lighter: it is not a fall).
PARTIAL_OPACITY = 0.35

#: The colour of the dashed "now" rule.
NOW_COLOUR = "#999999"


class LiveLine(FollowZoom, StoreView, bq.Figure):
    """A metric over time (``DateScale`` x axis): one line per key.

    Shows the top ``top_k`` keys by their current value of ``column`` (or the chosen
    ``keys``), over the last ``points`` frames: the view fills its own bounded history
    (rollover) from the store's history once, then appends the newest snapshot at each
    frame, so a frame costs O(top_k) in the kernel (the snapshot's ``top`` or ``key``
    reads: the per-key table is never built) and keys × points in the payload,
    whatever the event rate, the run time and the number of keys. Each frame records
    the leading ``4 × top_k`` keys (at least 32), so a key entering the top ``top_k``
    usually brings its recent past; one from further down starts when it entered. ``band=("p05", "p95")`` shades the range
    between two columns for the first key.

    What it shows, honestly: the time axis runs to the clock's *now*, marked by a
    dashed rule (``now_mark``); the axis's ends move in steps of a quarter tick, so it
    ends at most one step after now (a stall is the gap between the lines' end and the
    rule, growing while it lasts); a gap in the data — points farther apart than ``GAP_FACTOR`` times
    their usual spacing — breaks the line instead of joining it), a rolling window that has not filled yet is drawn lighter (a sum
    over 40 s of a 5 min window is not a fall), values in float32 with SI ticks and the
    ``unit`` in the label, each key in one colour for the life of the view (shared
    with the bars of a dashboard through ``colours``). Hovering a point shows its key,
    time and value (in a dashboard on a page, its dots exist only while the mouse is
    over the chart: ``hover_on_demand``; a copy displayed outside the dashboard keeps its
    tooltips on a page that also shows the dashboard, not on a page that shows only the copy). The legend is a row above the chart, in ``toolbar`` (bqplot draws
    its legend inside the plot, over the first points): a :class:`Dashboard` shows it;
    alone, show ``ipywidgets.VBox([line.toolbar, line])``. ``follow`` is ``"now"`` (the visible span, zoomed or not, keeps
    ending at now) or ``"hold"`` (the view stays where the user left it); the
    ``toolbar`` switches it, turns pan/zoom on and resets the zoom.

    >>> import rtnb
    >>> from rtnb.store import MemoryStore
    >>> store = MemoryStore(history=100)
    >>> line = LiveLine(store, "orders", column="sum", top_k=2, points=50, unit="EUR")
    >>> for i, t in enumerate(pd.date_range("2024-01-01 09:00", periods=3, freq="s")):
    ...     store.put(rtnb.Snapshot(metric="orders",
    ...         table=pd.DataFrame({"sum": [10.0 + i, 5.0, 1.0]}, index=["FR", "DE", "IT"]),
    ...         window=pd.Timedelta("5min"), watermark=t, newest_event=t, processed_at=t))
    >>> line.refresh(pd.Timestamp("2024-01-01 09:00:03"))
    True
    >>> line.refresh(pd.Timestamp("2024-01-01 09:00:03"))  # no new snapshot: nothing sent
    False
    >>> line.lines.labels, len(line.point_times), line.lines.y.dtype, line.axes[1].label
    (['FR', 'DE'], 3, dtype('float32'), 'sum (EUR)')
    >>> line.time_domain                    # the axis runs to now, in 250 ms steps here
    (Timestamp('2024-01-01 09:00:00'), Timestamp('2024-01-01 09:00:03'))
    >>> str(line.now_mark.x[0])             # the "now" rule
    '2024-01-01T09:00:03.000000000'

    The frame budget: a frame with new data sends the line's ``x`` and ``y`` in one
    message and the "now" rule's ``x``; the time scale's ``min``/``max`` (one message)
    only on a frame that crosses a step (a quarter tick: every ~20 frames of a 40 s
    axis at 8 frames/s), so the browser rewrites each line's path once per frame and
    redraws the time axis once per step, not per frame (bqplot renders an axis three
    times per domain change). A zoomed view that follows now slides its span on every
    frame; a held view stays.
    """

    def __init__(
        self,
        store: Any,
        metric: str,
        *,
        column: str,
        keys: Sequence[Any] | None = None,
        top_k: int = 5,
        points: int = 300,
        band: tuple[str, str] | None = None,
        title: str | None = None,
        unit: str = "",
        colours: KeyColours | None = None,
        follow: str = "now",
        height: str = "320px",
    ) -> None:
        self._init_view(store, metric)
        self.column = check_name("column", column)
        self.top_k = check_count("top_k", top_k)
        self.points = check_count("points", points, minimum=2)
        self.unit = check_str("unit", unit, empty=True)
        if keys is not None:
            if isinstance(keys, (str, bytes)) or len(keys) == 0:
                raise ParameterError("keys", keys, "must be a non-empty list of keys, or None for the top keys")
            keys = list(keys)
        self.chosen_keys = keys
        if band is not None:
            if not (isinstance(band, (tuple, list)) and len(band) == 2 and all(isinstance(c, str) for c in band)):
                raise ParameterError("band", band, "must be a pair of column names such as ('p05', 'p95')")
            band = (band[0], band[1])
        if colours is not None and not isinstance(colours, KeyColours):
            raise ParameterError("colours", colours, "must be a KeyColours (shared by the views of a dashboard) or None")
        if follow not in ("now", "hold"):
            raise UnknownNameError("follow", follow, ("now", "hold"))
        self.band = band
        self.colours = colours if colours is not None else KeyColours()
        self.ring = TimeRing(self.points)
        self._band_rings = (TimeRing(self.points), TimeRing(self.points)) if band is not None else None
        self._window: pd.Timedelta | None = None
        self._first_event: pd.Timestamp | None = None
        self._filled_version: dict[str, int | None] = {}  # per column: the store version last recorded
        self._points_x = np.array([], dtype="datetime64[ns]")  # the data's times, drawn
        self._hover_on_demand = False  # dots only while the mouse is over the chart (set by a dashboard)
        self._hovered = False
        self._hover_args: tuple | None = None  # the newest dots' data, for when the mouse comes

        self.x_scale, self.y_scale = x_sc, y_sc = UtcDateScale(), bq.LinearScale()
        empty_x, empty_y = np.array([], dtype="datetime64[ns]"), np.array([], dtype=np.float32)
        self.lines = bq.Lines(
            x=empty_x, y=empty_y, scales={"x": x_sc, "y": y_sc}, colors=list(PALETTE),
            display_legend=False, labels=[],  # the legend is a row above the chart (self.legend)
            tooltip=bq.Tooltip(fields=["name"], labels=["key"]),
        )
        # A white veil over the time when the rolling window had not filled yet: the lines
        # there are drawn lighter (a sum over 40 s of a 5 min window is not a fall).
        self.partial_mark = bq.Lines(
            x=empty_x, y=empty_y, scales={"x": x_sc, "y": y_sc}, fill="between",
            colors=["white"], fill_colors=["white"], fill_opacities=[1 - PARTIAL_OPACITY],
            stroke_width=0, labels=["window not filled yet"], preserve_domain={"x": True, "y": True},
            tooltip=bq.Tooltip(fields=["name"], show_labels=False),
        )
        # Invisible dots under the points: hovering one shows key, time and value.
        self.hover_mark = hover_mark(x_sc, y_sc, self.column)
        marks = [self.lines, self.partial_mark, self.hover_mark]
        self.band_mark: bq.Lines | None = None
        if band is not None:
            self.band_mark = bq.Lines(
                x=empty_x, y=empty_y, scales={"x": x_sc, "y": y_sc}, fill="between",
                colors=["#9ecae1"], fill_colors=["#9ecae1"], fill_opacities=[0.35], stroke_width=0.5,
                preserve_domain={"x": True, "y": True},  # its extent rides in the lines' message
            )
            marks.insert(0, self.band_mark)
        # A thin dashed rule at now: the time axis moves in steps (a quarter tick), so it
        # ends up to one step after now; the rule says where now is, and a stall reads
        # as the gap between the lines' end and the rule. Its own y scale (0 to 1, the
        # plot's height): it never moves the value axis. Only its x is sent, per frame.
        self.now_mark = bq.Lines(
            x=empty_x, y=np.array([0.0, 1.0], dtype=np.float32),
            scales={"x": x_sc, "y": bq.LinearScale(min=0.0, max=1.0)}, colors=[NOW_COLOUR],
            line_style="dashed", stroke_width=1, labels=["now"], preserve_domain={"x": True},
            tooltip=bq.Tooltip(fields=["name"], show_labels=False),
        )
        marks.append(self.now_mark)
        self.panzoom = bq.interacts.PanZoom(scales={"x": [x_sc]})
        super().__init__(
            marks=marks,
            axes=[time_axis(x_sc), value_axis(y_sc, axis_label(column, self.unit))],
            title=title if title is not None else f"{metric} · {column}",
            animation_duration=0,
            display_toolbar=False,  # its own toolbar (follow now / hold, zoom) sits above
            fig_margin=dict(MARGINS),
            layout={"height": height, "width": "auto", "min_width": "300px"},
        )
        self.add_class("rtnb-live-line")
        self.add_class(LINE_ID_CLASS + self.model_id)  # how the page's HoverWatch names this chart
        buttons = self._init_zoom(follow)  # follow now / hold, zoom, reset, what is shown
        self.legend = widgets.HTML(value="", layout={"width": "100%"})
        self.legend.add_class("rtnb-line-legend")
        self._legend_shown: tuple = ()
        self.toolbar = widgets.VBox([buttons, self.legend], layout={"width": "100%"})
        self.toolbar.add_class("rtnb-chart-toolbar")

    # -- data ------------------------------------------------------------------------

    def shown_keys(self, snapshot: Snapshot) -> list[Any]:
        """The keys drawn for ``snapshot``: the chosen ones, or the top ``top_k``; while
        fewer than ``top_k`` keys have a value now, the keys of the recorded history
        fill the rest (by their last value), so their lines stay."""
        if self.chosen_keys is not None:
            return list(self.chosen_keys)
        if self.column not in snapshot.columns:
            return []
        keys = list(snapshot.top(self.top_k, by=self.column).index)  # NaN left out: no line to draw
        if len(keys) < self.top_k and len(self.ring):
            # A tumbling day just begun, windows emptied: the keys shown before keep their
            # lines (notebook 07's chart dropped two airports of three, history and all,
            # when the new day's first flights were all from one).
            keys += self._recent_keys(exclude=set(keys), n=self.top_k - len(keys))
        return keys

    def refill(self, now: pd.Timestamp | None = None) -> bool:
        """Forget the recorded points, read them again from the store's history and draw.

        A dashboard calls it when a page shows it again after it drew the line for the
        kernel alone, once a second, while no page showed it: recorded so, the line
        broke at each of those steps once frames came ten times as often (a step over
        ``GAP_FACTOR`` times the usual reads as a stall)."""
        self.ring = TimeRing(self.points)
        if self._band_rings is not None:
            self._band_rings = (TimeRing(self.points), TimeRing(self.points))
        self._filled_version = {}
        self._seen_version = None
        return self.refresh(now)

    def _recent_keys(self, exclude: set, n: int) -> list[Any]:
        """Up to ``n`` keys of the recorded history not in ``exclude``, by last value."""
        others = [k for k in self.ring.keys() if k not in exclude]
        if not others:
            return []
        _, y = self.ring.arrays(others)
        last = {}
        for k, row in zip(others, y):
            seen = np.flatnonzero(~np.isnan(row))
            if len(seen):
                last[k] = row[seen[-1]]
        return sorted(last, key=lambda k: -last[k])[:n]

    def _record(self, ring: TimeRing, column: str, snapshot: Snapshot, rows: pd.DataFrame) -> None:
        if len(ring) == 0:  # first sight of the metric: start from the store's history
            try:
                hist = self.store.history(self.metric, column)
            except UnknownNameError:
                hist = None
            if hist is not None and len(hist):
                ring.fill(hist)
                if self._first_event is None:
                    self._first_event = pd.Timestamp(hist.index[0])
        t = snapshot.newest_event
        if t is not None and column in snapshot.columns:
            if self._first_event is None:
                self._first_event = t
            self._fill_skipped(ring, column, t, rows)
            ring.append(t, _values(rows, column))

    def _fill_skipped(self, ring: TimeRing, column: str, t: pd.Timestamp, rows: pd.DataFrame) -> None:
        """Frames the view missed (the runner skips a dashboard over its time budget)
        are not a gap in the data: when the step to ``t`` would break the line
        (:func:`break_gaps`) and the store was written meanwhile (its version moved by
        more than one), the points in between come from the store's history. Only a
        step with no snapshot in it (a gap in the data, a stalled kernel) breaks."""
        version, seen = self._seen_version, self._filled_version.get(column)
        self._filled_version[column] = version
        last = ring.last_time
        if seen is None or version is None or version - seen <= 1 or last is None or len(ring) < 3:
            return
        times, _ = ring.arrays([])
        usual = float(np.quantile(np.diff(times.astype(np.int64)), 0.75))
        if usual <= 0 or (pd.Timestamp(t) - last).value <= GAP_FACTOR * usual:
            return
        try:
            hist = self.store.history(self.metric, column)
        except UnknownNameError:
            return
        between = hist[(hist.index > last) & (hist.index < t)]
        keys = [k for k in between.columns if k in ring.keys() or k in rows.index]  # the keys it records
        if len(between) and keys:
            ring.fill(between[keys])

    def _partial_points(self, x: np.ndarray) -> int:
        """How many of the oldest points come from a window that had not filled yet."""
        if self._window is None or self._first_event is None or len(x) == 0:
            return 0
        full_from = np.datetime64((self._first_event + self._window).as_unit("ns").asm8, "ns")
        return int(np.searchsorted(x, full_from, side="left"))

    def _apply(self, snapshot: Snapshot, now: pd.Timestamp | None) -> None:
        if snapshot.window is not None and pd.notna(snapshot.window):
            self._window = pd.Timedelta(snapshot.window)
        rows = _tracked(snapshot, self.column, self.chosen_keys, self.top_k)
        self._record(self.ring, self.column, snapshot, rows)
        keys = self.shown_keys(snapshot)
        x, y = _drawable(*self.ring.arrays(keys))
        self._points_x = x
        colours = self.colours.assign(keys)
        labels = key_labels(snapshot.table.index if snapshot.n_keys == 1 else None, keys, self.metric)
        self._move_time_axis(now)  # (sent when a step is crossed, before the lines: one rewrite)
        lx, ly = break_gaps(x, y)
        band = self._band_data(snapshot, keys, rows)
        if band is not None and ly.shape[1] >= 2:
            ly = np.vstack([ly, self._band_extent(band[1], ly.shape[1])])
        with self.lines.hold_sync():  # one message: x, y (and labels, colours if changed)
            self.lines.x = lx
            self.lines.y = plot_array(ly)
            if list(self.lines.labels) != labels:
                self.lines.labels = labels
            if list(self.lines.colors) != colours:
                self.lines.colors = colours
            if band is not None:  # the band's extent row (see _band_extent) is never drawn
                opacities = [1.0] * len(keys) + [0.0]
                if list(self.lines.opacities) != opacities:
                    self.lines.opacities = opacities
        self._drawn_at = now
        # The y axis's domain: the lines' values and the band's, in steps (sent when one is crossed).
        show_value_range(self.axes[1], y if band is None else np.concatenate([y.ravel(), band[1].ravel()]))
        self._show_time_ticks()
        self._veil(x, y)
        self._show_legend(labels, colours, self._partial_points(x) > 0)
        self._hover(x, y, labels)
        if band is not None:
            with self.band_mark.hold_sync():
                self.band_mark.x = band[0]
                self.band_mark.y = plot_array(band[1])

    def _band_data(self, snapshot: Snapshot, keys: list[Any],
                   rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
        """The band's times and its (2 x points) low and high values, for the first key."""
        if self._band_rings is None:
            return None
        lo, hi = self._band_rings
        self._record(lo, self.band[0], snapshot, rows)
        self._record(hi, self.band[1], snapshot, rows)
        if not keys:
            return None
        bx, lo_y = _drawable(*lo.arrays(keys[:1]))
        _, hi_y = _drawable(*hi.arrays(keys[:1]))
        return bx, np.vstack([lo_y, hi_y])

    @staticmethod
    def _band_extent(band_y: np.ndarray, n: int) -> np.ndarray:
        """A row for the lines holding only the band's lowest and highest values (at the
        first two points; NaN elsewhere), drawn with opacity 0. The band mark keeps out
        of the y domain (``preserve_domain``); this row brings its extent into the
        lines' own message, so a band growing past the lines moves the y axis in the
        same message as the lines: one rewrite of each line's path per frame, not two
        (the band's own message moved the domain and redrew every line again)."""
        row = np.full(n, np.nan)
        finite = band_y[np.isfinite(band_y)]
        if finite.size:
            row[0], row[1] = float(finite.min()), float(finite.max())
        return row

    def _veil(self, x: np.ndarray, y: np.ndarray) -> None:
        """Cover the points whose window had not filled yet (sent only when it changes)."""
        n = self._partial_points(x)
        finite = y[np.isfinite(y)]
        if n and finite.size:
            end = x[min(n, len(x) - 1)]
            lo, hi = float(finite.min()), float(finite.max())
            pad = 0.05 * (hi - lo) or 1.0
            vx = np.array([x[0], end], dtype="datetime64[ns]")
            vy = plot_array([[hi + pad, hi + pad], [lo - pad, lo - pad]])
        elif len(self.partial_mark.x) == 0:
            return  # nothing to cover, nothing covered: nothing to send
        else:
            vx, vy = x[:0], plot_array(np.zeros((2, 0)))
        with self.partial_mark.hold_sync():
            self.partial_mark.x = vx
            self.partial_mark.y = vy

    def _show_legend(self, labels: list[str], colours: list[str], veiled: bool) -> None:
        """The legend row: a swatch and the key for each line, in the lines' order (sent
        only when the keys, their colours or the veil change)."""
        shown = (tuple(labels), tuple(colours), veiled)
        if shown == self._legend_shown:
            return
        self._legend_shown = shown
        items = "".join(
            f"<span class='rtnb-legend-key' data-colour='{html.escape(c)}' style='white-space:nowrap;margin-right:10px'>"
            f"<span style='display:inline-block;width:14px;height:3px;background:{html.escape(c)};"
            f"vertical-align:middle;margin-right:4px'></span>{html.escape(str(k))}</span>"
            for k, c in zip(labels, colours))
        if veiled:
            items += "<span style='color:#777'>lighter: the window had not filled yet</span>"
        self.legend.value = f"<div style='font-size:12px;line-height:1.6;white-space:normal;padding-left:48px'>{items}</div>"

    @property
    def point_times(self) -> np.ndarray:
        """The times of the data points drawn (without the breaks)."""
        return self._points_x

    @property
    def partial_points(self) -> int:
        """How many of the drawn points come from a window that had not filled yet."""
        return self._partial_points(self._points_x)

    def _hover(self, x: np.ndarray, y: np.ndarray, labels: list[str]) -> None:
        """The hover dots (``rtnb.widgets._hover``) on the drawn points, by number."""
        self._hover_args = (x, y, labels, self.ring.first_seq + (len(self.ring) - len(x)))
        self._show_dots()

    @property
    def hover_on_demand(self) -> bool:
        """True: the hover dots exist only while the mouse is over the chart (a dashboard
        whose page tells it sets this, see :class:`~rtnb.widgets._hover.HoverWatch`);
        False (alone, or no page yet): always there."""
        return self._hover_on_demand

    @hover_on_demand.setter
    def hover_on_demand(self, value: bool) -> None:
        self._hover_on_demand = bool(value)
        self._show_dots()

    def show_hover(self, on: bool) -> None:
        """The mouse entered (True) or left (False) the chart: its dots are filled from
        the newest frame's points, or emptied, at once (not at the next frame: a paused
        or stopped run has none)."""
        self._hovered = bool(on)
        self._show_dots()

    def _show_dots(self) -> None:
        if self._hover_on_demand and not self._hovered:
            clear_hover_dots(self.hover_mark)
        elif self._hover_args is not None:
            x, y, labels, first = self._hover_args
            show_hover_dots(self.hover_mark, x, y, labels, first=first)

    def _tick(self, now: pd.Timestamp | None) -> None:
        """Every frame: a frame without new data still moves the "now" rule on (a
        stall is a gap between the lines' end and the rule) and the time axis when a
        step is crossed; the lines are not sent."""
        if now is None or now == getattr(self, "_drawn_at", None):
            return  # drawn this frame already (or nothing to move)
        self._drawn_at = now
        self._move_time_axis(now)

    def __repr__(self) -> str:
        return f"LiveLine(metric={self.metric!r}, column={self.column!r}, keys={list(self.lines.labels)!r})"
