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
from ._style import MARGINS, PALETTE, KeyColours, axis_label, show_value_range, time_axis, value_axis

__all__ = ["LiveLine", "PALETTE"]

#: How a window that has not filled yet is drawn (lighter: it is not a fall).
PARTIAL_OPACITY = 0.35
#: Hover dots per line at most (each shows key, time and value in its tooltip).
HOVER_DOTS = 60


#: Consecutive points farther apart than this many times their usual spacing are not
#: joined: the line breaks there, so a stall reads as a gap, not as a straight ramp.
GAP_FACTOR = 3.0


def _drawable(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nothing to draw until there are two points: one point makes no line, and bqplot
    squeezes a (keys x 1) array to 1-D (one key: 0-D, a TraitError)."""
    return (x, y) if len(x) >= 2 else (x[:0], y[:, :0])


def break_gaps(x: np.ndarray, y: np.ndarray, factor: float = GAP_FACTOR) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN point wherever consecutive points are more than ``factor`` times
    their usual spacing (the upper quartile of the steps) apart: bqplot leaves NaN undrawn, so the line breaks there.

    >>> t = np.array(["2024-01-01T09:00:00", "2024-01-01T09:00:01", "2024-01-01T09:00:02",
    ...               "2024-01-01T09:00:30", "2024-01-01T09:00:31"], dtype="datetime64[ns]")
    >>> bx, by = break_gaps(t, np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]))
    >>> by.tolist(), str(bx[3])
    ([[1.0, 2.0, 3.0, nan, 4.0, 5.0]], '2024-01-01T09:00:03.000000000')
    """
    if len(x) < 3:
        return x, y
    step = np.diff(x.astype(np.int64))
    # "Usual" is the upper quartile, not the median: frames that slip on a busy kernel
    # spread points unevenly while the data kept coming (the quick-start's lines came
    # out dashed on a loaded machine); only a step well past the slow end of the usual
    # spread is a gap in the data.
    usual = float(np.quantile(step, 0.75))
    if usual <= 0:
        return x, y
    at = np.flatnonzero(step > factor * usual)
    if not len(at):
        return x, y
    # The break sits one median step after the last point before the gap.
    gap_t = x[at] + np.timedelta64(int(np.median(step)), "ns")
    return np.insert(x, at + 1, gap_t), np.insert(y, at + 1, np.nan, axis=1)


def _tracked(snapshot: Snapshot, column: str, chosen: Any, top_k: int) -> pd.DataFrame:
    """The rows a line records this frame: the chosen keys' (one ``key`` read each),
    else the leading ``max(4 * top_k, 32)`` by ``column`` (one ``top`` read): O(k)
    rows, never the whole table."""
    if column not in snapshot.columns:
        return pd.DataFrame()
    if chosen is None:
        return snapshot.top(max(4 * top_k, 32), by=column)
    rows = {}
    for k in chosen:
        try:
            rows[k] = snapshot.key(k)
        except KeyError:
            continue
    return pd.DataFrame.from_dict(rows, orient="index") if rows else pd.DataFrame(columns=[column])


def _values(rows: pd.DataFrame, column: str) -> dict[Any, float]:
    if column not in rows.columns:
        return {}
    values = pd.to_numeric(rows[column], errors="coerce").dropna()
    return dict(zip(values.index, values.to_numpy(dtype=np.float64)))


def _ms(t: pd.Timestamp) -> float:
    return pd.Timestamp(t).value / 1e6


def _date_to_json(value: Any, _widget: Any) -> str | None:
    """A scale's min/max for the browser, as UTC ("...Z"): the times here are tz-naive
    UTC, and a JavaScript ``new Date`` of a string without a zone reads it as local time
    (a zoomed window in a browser east of Greenwich would sit hours off the data)."""
    return None if value is None else pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _date_from_json(value: Any, _widget: Any) -> Any:
    """A min/max the browser sent (a JavaScript Date's JSON: UTC with a "Z") as a tz-naive
    UTC datetime. (bqscales 0.3's own parser refuses the "Z": every wheel zoom and pan
    failed to reach the kernel, which never learned the span the user chose.)"""
    if not value:
        return None
    t = pd.Timestamp(value)
    return (t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t).to_pydatetime()


class UtcDateScale(bq.DateScale):
    """bqplot's ``DateScale`` whose ``min``/``max`` travel as UTC both ways, so a zoom or
    a pan in the browser reaches the kernel (same front-end model as ``DateScale``).

    >>> sc = UtcDateScale()
    >>> sc.set_state({"min": "2024-01-01T12:00:11.250Z"}); sc.min
    datetime.datetime(2024, 1, 1, 12, 0, 11, 250000)
    >>> sc.get_state("min")["min"]
    '2024-01-01T12:00:11.250Z'
    """

    min = bq.traits.Date(default_value=None, allow_none=True).tag(
        sync=True, to_json=_date_to_json, from_json=_date_from_json)
    max = bq.traits.Date(default_value=None, allow_none=True).tag(
        sync=True, to_json=_date_to_json, from_json=_date_from_json)


def _span_words(ms: float) -> str:
    """A zoomed span for the toolbar: "14 s", "2.5 min", "1.2 h"."""
    s = ms / 1e3
    if s < 120:
        return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"
    return f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


class LiveLine(StoreView, bq.Figure):
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

    What it shows, honestly: the time axis ends at the clock's *now* (a stall is a gap
    at the right; a gap in the data — points farther apart than ``GAP_FACTOR`` times
    their usual spacing — breaks the line instead of joining it), a rolling window that has not filled yet is drawn lighter (a sum
    over 40 s of a 5 min window is not a fall), values in float32 with SI ticks and the
    ``unit`` in the label, each key in one colour for the life of the view (shared
    with the bars of a dashboard through ``colours``). Hovering a point shows its key,
    time and value. The legend is a row above the chart, in ``toolbar`` (bqplot draws
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
    >>> line.time_domain[1]                 # the axis ends at the clock's now
    Timestamp('2024-01-01 09:00:03')

    The frame budget: a frame with new data sends the line's ``x`` and ``y`` in one
    message and nothing to its scales — while it follows now, the time axis takes its
    span from the data, which ends with a point at now (its values NaN, undrawn) — so
    the browser rewrites each line's path once per frame. Only a zoomed or held view
    sets the scale's ``min``/``max`` (both in one message).
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
        self._span_ms: float | None = None  # a zoomed span (ms); None: the whole history
        self._moving_scale = False
        self._points_x = np.array([], dtype="datetime64[ns]")  # the data's times, drawn
        self._to_now = False  # the drawn x ends with a point at now (its values NaN)

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
        # Invisible dots on every point: hovering one shows key, time and value. (bqplot
        # takes a tooltip format as a date format only if it matches its pattern, which
        # allows no ':' — "%H:%M:%S" fails to render; "%c" is the locale's date and time.)
        # names_unique=False: the names are the keys, shared by every dot of a line, and
        # bqplot joins its dots to the data by name when names are "unique": the dots of
        # one name collapse onto a few elements and the rest enter unstyled, drawn as
        # black SVG defaults (the thick black trails on the lines). Joined by index, every
        # dot gets the invisible style.
        self.hover_mark = bq.Scatter(
            x=empty_x, y=empty_y, scales={"x": x_sc, "y": y_sc}, names=[], display_names=False,
            names_unique=False,
            default_size=30, opacities=[0.0], colors=["transparent"], stroke="transparent",
            # a copy of the lines' points: the domain follows the lines alone, so a dot
            # update never moves the scale (a second rewrite of every line's path)
            preserve_domain={"x": True, "y": True},
            tooltip=bq.Tooltip(fields=["name", "x", "y"], formats=["", "%c", ".4~s"],
                               labels=["key", "time", self.column]),
        )
        marks = [self.lines, self.partial_mark, self.hover_mark]
        self.band_mark: bq.Lines | None = None
        if band is not None:
            self.band_mark = bq.Lines(
                x=empty_x, y=empty_y, scales={"x": x_sc, "y": y_sc}, fill="between",
                colors=["#9ecae1"], fill_colors=["#9ecae1"], fill_opacities=[0.35], stroke_width=0.5,
                preserve_domain={"x": True, "y": True},  # its extent rides in the lines' message
            )
            marks.insert(0, self.band_mark)
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
        self.follow_buttons = widgets.ToggleButtons(
            options=[("follow now", "now"), ("hold", "hold")], value=follow,
            tooltips=["the view keeps ending at now", "the view stays where it is"],
            style={"button_width": "90px"},
        )
        self.zoom_button = widgets.ToggleButton(value=False, description="zoom", icon="search",
                                                tooltip="drag to pan, wheel to zoom the time axis")
        self.reset_button = widgets.Button(description="reset", tooltip="show the whole history again")
        # Fixed widths (edited in place: a new Layout would orphan the old one); the
        # buttons on a row of their own, the legend on the row under them (side by side,
        # a long legend ran under the buttons).
        for w, width in ((self.follow_buttons, "196px"), (self.zoom_button, "80px"), (self.reset_button, "64px")):
            w.layout.width, w.layout.min_width, w.layout.flex = width, width, "0 0 auto"
        # What the time axis shows: the whole history, the last N s (following now), or held.
        # (it takes the room the buttons leave, and shrinks first in a narrow chart)
        self.view_label = widgets.HTML(value="", layout={"width": "auto", "min_width": "0", "flex": "1 1 auto",
                                                         "overflow": "hidden"})
        self.view_label.add_class("rtnb-view-span")
        self._view_shown: str | None = None
        self.legend = widgets.HTML(value="", layout={"width": "100%"})
        self.legend.add_class("rtnb-line-legend")
        self._legend_shown: tuple = ()
        buttons = widgets.HBox([self.view_label, self.follow_buttons, self.zoom_button, self.reset_button],
                               layout={"justify_content": "flex-end", "align_items": "center", "width": "100%"})
        self.toolbar = widgets.VBox([buttons, self.legend], layout={"width": "100%"})
        self.toolbar.add_class("rtnb-chart-toolbar")
        self.zoom_button.observe(self._on_zoom, names="value")
        self.follow_buttons.observe(self._on_follow, names="value")
        self.reset_button.on_click(self._on_reset)
        x_sc.observe(self._on_user_zoom, names=["min", "max"])
        self._show_view()

    @property
    def follow(self) -> str:
        """``"now"``: the time axis keeps ending at now; ``"hold"``: it stays put."""
        return self.follow_buttons.value

    @follow.setter
    def follow(self, value: str) -> None:
        if value not in ("now", "hold"):
            raise UnknownNameError("follow", value, ("now", "hold"))
        self.follow_buttons.value = value

    # -- zoom ------------------------------------------------------------------------

    def _on_zoom(self, change: dict) -> None:
        self.interaction = self.panzoom if change["new"] else None

    def _on_reset(self, _button: Any = None) -> None:
        self._span_ms = None
        self._free_scale()
        self._show_view()

    def _on_user_zoom(self, change: dict) -> None:
        if self._moving_scale:
            return
        lo, hi = self.x_scale.min, self.x_scale.max
        if lo is not None and hi is not None:  # the user panned or zoomed: keep that span
            self._span_ms = max(1.0, _ms(hi) - _ms(lo))
            self._show_view()

    def zoom(self, span: Any) -> None:
        """Show the last ``span`` of time (e.g. ``"30s"``), as a zoom in the browser does."""
        from .._time import to_duration

        self._span_ms = to_duration(span, "span").total_seconds() * 1e3
        self._show_view()

    def _show_view(self) -> None:
        """The toolbar's word on what the time axis shows (sent only when it changes):
        ``data-view`` is ``all``, ``following`` (the last span, ending at now) or ``held``."""
        if self.follow == "hold":
            view, words = "held", "held where it was"
        elif self._span_ms is None:
            view, words = "all", "whole history"
        else:
            view, words = "following", f"last {_span_words(self._span_ms)} · now"
        shown = f"{view}:{words}"
        if shown == self._view_shown:
            return
        self._view_shown = shown
        self.view_label.value = (f"<span data-view='{view}' style='font-size:12px;color:#555;white-space:nowrap;"
                                 f"overflow:hidden;text-overflow:ellipsis;display:block'>"
                                 f"{html.escape(words)}</span>")

    def _following_all(self) -> bool:
        """Following now over the whole history: the time axis takes its span from the
        data (which ends at now), so no scale message is needed."""
        return self.follow == "now" and self._span_ms is None

    def _set_scale(self, lo: Any, hi: Any) -> None:
        if (self.x_scale.min, self.x_scale.max) != (lo, hi):
            self._moving_scale = True
            try:
                with self.x_scale.hold_sync():  # min and max in one message
                    self.x_scale.min, self.x_scale.max = lo, hi
            finally:
                self._moving_scale = False

    def _free_scale(self) -> None:
        """Let the time axis follow the data again (after a zoom, a hold, a reset)."""
        if self._following_all():
            self._set_scale(None, None)

    def _move_time_axis(self, now: pd.Timestamp | None) -> None:
        """A zoomed view: the scale's span slid to end at now. (Following the whole
        history, the data ends at now: nothing to send here.)"""
        if now is None or self.follow != "now" or self._span_ms is None:
            return
        end = _ms(now)
        lo = pd.Timestamp(int(round(end - self._span_ms)), unit="ms").to_pydatetime()
        hi = pd.Timestamp(int(round(end)), unit="ms").to_pydatetime()
        self._set_scale(lo, hi)

    def _on_follow(self, change: dict) -> None:
        if change["new"] == "hold":  # stay where the axis is now
            lo, hi = self.time_domain
            if lo is not None and hi is not None:
                self._set_scale(lo.to_pydatetime(), hi.to_pydatetime())
        else:
            self._free_scale()
        self._show_view()

    @property
    def time_domain(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """The span of the time axis as the browser draws it: the scale's ``min``/``max``
        where set (a zoom, a hold), else the drawn data's first and last time."""
        x = self.lines.x
        lo = self.x_scale.min if self.x_scale.min is not None else (x[0] if len(x) else None)
        hi = self.x_scale.max if self.x_scale.max is not None else (x[-1] if len(x) else None)
        return (pd.Timestamp(lo) if lo is not None else None, pd.Timestamp(hi) if hi is not None else None)

    # -- data ------------------------------------------------------------------------

    def shown_keys(self, snapshot: Snapshot) -> list[Any]:
        """The keys drawn for ``snapshot``: the chosen ones, or the top ``top_k``."""
        if self.chosen_keys is not None:
            return list(self.chosen_keys)
        if self.column not in snapshot.columns:
            return []
        return list(snapshot.top(self.top_k, by=self.column).index)  # NaN left out: no line to draw

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
            ring.append(t, _values(rows, column))

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
        self._move_time_axis(now)
        lx, ly = self._line_data(*break_gaps(x, y), now)
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
        show_value_range(self.axes[1], y)
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

    def _line_data(self, x: np.ndarray, y: np.ndarray, now: pd.Timestamp | None) -> tuple[np.ndarray, np.ndarray]:
        """The lines' data: the points, then (following the whole history) a point at
        now with NaN values, so the time axis the data spans ends at now."""
        self._to_now = bool(len(x) and now is not None and self._following_all()
                            and np.datetime64(pd.Timestamp(now).as_unit("ns").asm8, "ns") > x[-1])
        if not self._to_now:
            return x, y
        t = np.datetime64(pd.Timestamp(now).as_unit("ns").asm8, "ns")
        return np.append(x, t), np.hstack([y, np.full((y.shape[0], 1), np.nan)])

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
        """The times of the data points drawn (without the breaks and the point at now)."""
        return self._points_x

    @property
    def partial_points(self) -> int:
        """How many of the drawn points come from a window that had not filled yet."""
        return self._partial_points(self._points_x)

    def _hover(self, x: np.ndarray, y: np.ndarray, labels: list[str]) -> None:
        """The invisible dots under the lines, named by their key: at most
        ``HOVER_DOTS`` per line, on every ``stride``-th point *by the point's number*
        (not counted back from the newest), so the same points keep their dots as new
        ones come and the dots are sent only when they change — when a numbered point
        arrives, the keys change, or the stride grows with the history: once every
        ``points / HOVER_DOTS`` frames at a full history, not every frame (they were
        56 % of a frame's bytes). A dot per point (300 x 5 keys) made the browser
        restyle 1,500 SVG paths per chart per frame; a few px apart on the screen, more
        dots add nothing to hover. The newest point is at most a stride from a dot."""
        n = len(x)
        stride = max(1, -(-n // HOVER_DOTS))
        if n:
            first = self.ring.first_seq + (len(self.ring) - n)  # (x is the ring's newest n points)
            pick = np.flatnonzero((first + np.arange(n)) % stride == 0)
            x, y = x[pick], y[:, pick]
            n = len(x)
        ok = ~np.isnan(y)
        names = np.repeat(np.array(labels, dtype=str), n).reshape(len(labels), n)[ok]
        dx = np.tile(x, len(labels)).reshape(len(labels), n)[ok] if n else x
        dy = plot_array(y[ok]) if n else plot_array([])
        old = self.hover_mark
        if (old.names is not None and np.array_equal(old.names, names) and np.array_equal(old.x, dx)
                and np.array_equal(old.y, dy)):
            return  # the same dots: nothing to send
        with self.hover_mark.hold_sync():
            if not np.array_equal(old.x, dx):
                self.hover_mark.x = dx
            if not np.array_equal(old.y, dy):
                self.hover_mark.y = dy
            if old.names is None or not np.array_equal(old.names, names):  # the names change only with the keys
                self.hover_mark.names = names

    def _tick(self, now: pd.Timestamp | None) -> None:
        """Every frame: a frame without new data still moves the axis on to now (a stall
        is a gap at the right) — the point at now moves, in one message of ``x``."""
        if now is None or now == getattr(self, "_drawn_at", None):
            return  # drawn this frame already (or nothing to move)
        self._drawn_at = now
        if not self._following_all():
            self._move_time_axis(now)
            return
        x = self.lines.x
        t = np.datetime64(pd.Timestamp(now).as_unit("ns").asm8, "ns")
        if len(x) < 2 or t <= x[-1]:
            return
        if self._to_now:  # the last point is the one at now: move it (same length, x only)
            moved = x.copy()
            moved[-1] = t
            self.lines.x = moved
        else:
            y = self.lines.y.reshape(-1, len(x))
            with self.lines.hold_sync():
                self.lines.x = np.append(x, t)
                self.lines.y = plot_array(np.hstack([y, np.full((y.shape[0], 1), np.nan)]))
            self._to_now = True

    def __repr__(self) -> str:
        return f"LiveLine(metric={self.metric!r}, column={self.column!r}, keys={list(self.lines.labels)!r})"
