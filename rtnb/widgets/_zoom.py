"""Zoom on a live chart's time axis that follows now or holds, and the scale that
carries the zoom to the kernel.

- :class:`UtcDateScale`: bqplot's ``DateScale`` whose ``min``/``max`` travel as UTC
  both ways (a wheel zoom or a pan in the browser reaches the kernel).
- :class:`FollowZoom`: the part of :class:`~rtnb.widgets.LiveLine` that decides what
  the time axis shows — the whole history, the last N seconds ending at now (zoomed,
  following), or held where the user left it — with its toolbar (follow now / hold,
  zoom, reset, and a label saying what is shown, sent only when it changes). While it
  follows now over the whole history the scale's span moves in steps
  (:func:`~rtnb.widgets._style.time_domain_steps`, a quarter tick): one scale message
  per step, not per frame, and a thin "now" rule shows where now is inside the last
  step.
"""

from __future__ import annotations

import html
from typing import Any

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import pandas as pd

from .._errors import UnknownNameError
from ._style import show_time_range, time_domain_steps

__all__ = ["UtcDateScale", "FollowZoom"]


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


class FollowZoom:
    """Mixin of a chart with a time axis ``x_scale`` (a :class:`UtcDateScale`), its
    ``lines`` and a ``panzoom`` interaction: ``follow`` (``"now"`` or ``"hold"``),
    :meth:`zoom`, the toolbar's buttons and ``time_domain``.

    >>> import pandas as pd
    >>> from rtnb.store import MemoryStore
    >>> from rtnb.widgets import LiveLine
    >>> line = LiveLine(MemoryStore(), "orders", column="sum")
    >>> line.zoom("30s"); "last 30 s · now" in line.view_label.value
    True
    >>> line.follow = "hold"; "held" in line.view_label.value
    True
    """

    x_scale: UtcDateScale
    lines: bq.Lines
    panzoom: bq.interacts.PanZoom

    def _init_zoom(self, follow: str) -> widgets.HBox:
        """Build the zoom state and the toolbar's buttons row (after the figure;
        ``follow`` checked by the chart)."""
        self._span_ms: float | None = None  # a zoomed span (ms); None: the whole history
        self._moving_scale = False
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
        buttons = widgets.HBox([self.view_label, self.follow_buttons, self.zoom_button, self.reset_button],
                               layout={"justify_content": "flex-end", "align_items": "center", "width": "100%"})
        self.zoom_button.observe(self._on_zoom, names="value")
        self.follow_buttons.observe(self._on_follow, names="value")
        self.reset_button.on_click(self._on_reset)
        self.x_scale.observe(self._on_user_zoom, names=["min", "max"])
        self._show_view()
        return buttons

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
            self._show_time_ticks()

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
        self._show_time_ticks()

    def _show_time_ticks(self) -> None:
        """At most six round time ticks over what the axis shows (sent when they change)."""
        lo, hi = self.time_domain
        if lo is not None and hi is not None:
            show_time_range(self.axes[0], lo, hi)

    def _free_scale(self) -> None:
        """Follow the whole history again (after a zoom, a hold, a reset)."""
        if self._following_all():
            self._step_scale(getattr(self, "_drawn_at", None), fresh=True)

    def _step_scale(self, now: pd.Timestamp | None, *, fresh: bool = False) -> None:
        """Following now over the whole history: the span from the first point drawn to
        now, in steps (:func:`time_domain_steps`; sent when a step is crossed)."""
        x = self.point_times
        if not len(x):
            if fresh:
                self._set_scale(None, None)
            return
        end = now if now is not None else x[-1]
        current = None if fresh else (self.x_scale.min, self.x_scale.max)
        lo, hi = time_domain_steps(x[0], max(pd.Timestamp(end), pd.Timestamp(x[-1])), current)
        self._set_scale(lo.to_pydatetime(), hi.to_pydatetime())

    def _move_time_axis(self, now: pd.Timestamp | None) -> None:
        """Following now: the zoomed span slid to end at now, or the whole history's
        span in steps; and the "now" rule moved to now."""
        if self.follow != "now":
            return
        self._show_now(now)
        if self._span_ms is None:
            self._step_scale(now)
            return
        if now is None:
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

    def _show_now(self, now: pd.Timestamp | None) -> None:
        """The "now" rule (``now_mark``) at ``now`` (its x alone, sent when it moves)."""
        mark = getattr(self, "now_mark", None)
        if mark is None or now is None:
            return
        t = np.datetime64(pd.Timestamp(now).as_unit("ns").asm8, "ns")
        if len(mark.x) and mark.x[0] == t:
            return
        mark.x = np.array([t, t], dtype="datetime64[ns]")

    @property
    def time_domain(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """The span of the time axis as the browser draws it: the scale's ``min``/``max``
        where set (following now: in steps; a zoom, a hold), else the drawn data's first
        and last time."""
        x = self.lines.x
        lo = self.x_scale.min if self.x_scale.min is not None else (x[0] if len(x) else None)
        hi = self.x_scale.max if self.x_scale.max is not None else (x[-1] if len(x) else None)
        return (pd.Timestamp(lo) if lo is not None else None, pd.Timestamp(hi) if hi is not None else None)

