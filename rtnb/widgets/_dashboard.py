"""Dashboard: a grid of live views that is itself a widget, with run controls."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd

from .._errors import ParameterError
from ._base import FrameGate
from ._bars import LiveBars  # noqa: F401  (used in the example)
from ._freshness import FreshnessBadge

__all__ = ["Dashboard"]


def _show_value(slider: widgets.FloatLogSlider, value: float) -> None:
    """Set a log slider to ``value``, widening its range to hold it.

    A log slider clamps values outside its range; the clamped value would then flow
    back through the observer and change the run (a speed-up of 28,800 became 10,000).
    """
    exponent = math.log(value, slider.base)
    if exponent < slider.min:
        slider.min = math.floor(exponent)
    if exponent > slider.max:
        slider.max = math.ceil(exponent)
    slider.value = value


class Dashboard(widgets.VBox):
    """Live views in a grid, freshness badges on top, and controls for the run.

    The dashboard owns its views: one frame callback (``refresh(now)``, registered on
    the runner with :meth:`attach`) refreshes every view, at most ``fps`` times per
    second. Controls: pause/resume, the simulated speed-up (with a ``SimClock``), and
    the event rate of a simulated source (any source with a settable ``rate``).

    >>> import rtnb
    >>> from rtnb.store import MemoryStore
    >>> store = MemoryStore()
    >>> badge = FreshnessBadge(store, "orders", limit="5s")
    >>> bars = LiveBars(store, "orders", column="count")
    >>> t = [0.0]
    >>> dash = Dashboard([badge, bars], title="Orders", monotonic=lambda: t[0])
    >>> dash.views == [badge, bars], badge in dash.header.children
    (True, True)
    >>> now = pd.Timestamp("2024-01-01 09:00")
    >>> store.put(rtnb.Snapshot(metric="orders",
    ...     table=pd.DataFrame({"count": [3, 9]}, index=["FR", "DE"]),
    ...     window=None, watermark=now, newest_event=now, processed_at=now))
    >>> dash.refresh(now), dash.refresh(now)   # the second frame comes too early
    (2, 0)
    >>> bars.bars.x.tolist()
    ['DE', 'FR']
    """

    def __init__(
        self,
        views: Sequence[Any],
        *,
        runner: Any = None,
        source: Any = None,
        columns: int = 2,
        fps: float | None = None,
        title: str | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        views = list(views)
        if not views:
            raise ParameterError("views", views, "a dashboard needs at least one view")
        for i, v in enumerate(views):
            if not (isinstance(v, widgets.DOMWidget) and callable(getattr(v, "refresh", None))):
                raise ParameterError(
                    "views", v, f"item {i} is not a live view (LiveLine, LiveBars, KpiTile, FreshnessBadge, ErrorPanel)"
                )
        if title is not None and not isinstance(title, str):
            raise ParameterError("title", title, "must be a string or None")
        if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
            raise ParameterError("columns", columns, "must be an integer >= 1")
        if fps is None:
            fps = getattr(runner, "fps", 10.0)
        self.views = views
        self.gate = FrameGate(fps, monotonic=monotonic)
        self.fps = self.gate.fps
        self.runner = None
        self.source = source
        self.store = getattr(views[0], "store", None)
        self.frames = 0

        badges = [v for v in views if isinstance(v, FreshnessBadge)]
        others = [v for v in views if not isinstance(v, FreshnessBadge)]
        self.title_html = widgets.HTML(
            value=f"<b style='font-size:16px'>{html.escape(title)}</b>" if title else ""
        )
        self.header = widgets.HBox(
            [self.title_html, *badges], layout={"align_items": "center", "grid_gap": "12px", "flex_flow": "row wrap"}
        )
        self.grid = widgets.GridBox(
            others,
            layout={"grid_template_columns": f"repeat({columns}, minmax(0, 1fr))", "grid_gap": "8px", "width": "100%"},
        )
        self.pause_button = widgets.ToggleButton(value=False, description="Pause", icon="pause", disabled=True)
        self.speedup_slider = widgets.FloatLogSlider(
            value=1.0, base=10, min=0, max=4, step=0.1, description="speed-up", disabled=True,
            readout_format=".3g", continuous_update=False,
        )
        rate = getattr(source, "rate", None)
        has_rate = isinstance(rate, (int, float)) and not isinstance(rate, bool) and math.isfinite(rate) and rate > 0
        self.rate_slider = widgets.FloatLogSlider(
            value=1.0, base=10, min=-1, max=5, step=0.1, description="events/s",
            disabled=not has_rate, readout_format=".3g", continuous_update=False,
        )
        if has_rate:
            _show_value(self.rate_slider, float(rate))
        self.status = widgets.HTML(value="")
        self.controls = widgets.HBox(
            [self.pause_button, self.speedup_slider, self.rate_slider, self.status],
            layout={"align_items": "center", "flex_flow": "row wrap"},
        )
        self.pause_button.observe(self._on_pause, names="value")
        self.speedup_slider.observe(self._on_speedup, names="value")
        self.rate_slider.observe(self._on_rate, names="value")
        super().__init__([self.header, self.controls, self.grid], layout={"width": "100%"})
        self.add_class("rtnb-dashboard")
        if runner is not None:
            self.attach(runner)

    # -- frames ----------------------------------------------------------------------

    def refresh(self, now: pd.Timestamp | None = None) -> int:
        """One frame: refresh every view (if the frame is due); returns how many changed.

        Each view sends at most one message per widget it owns, and only when its
        metric's store version changed (the badges re-age every frame).
        """
        sim_frames = getattr(self.runner, "frames", "wall") == "sim" and now is not None
        # The frame a runner makes when it stops always passes: it shows the final state.
        final = self.runner is not None and self.runner.state in ("idle", "stopped")
        if not self.gate.ready(now.value / 1e9 if sim_frames else None) and not final:
            return 0
        self.frames += 1
        changed = 0
        for view in self.views:
            try:
                changed += bool(view.refresh(now))
            except Exception as exc:  # one broken view must not freeze the others
                if self.runner is None:
                    raise
                self.runner.report_error("frame", f"{type(view).__name__}.refresh", exc)
        self._show_status(now)
        return changed

    def _show_status(self, now: pd.Timestamp | None) -> None:
        if self.runner is None:
            return
        state = self.runner.state
        when = f" · clock {now:%Y-%m-%d %H:%M:%S}" if now is not None else ""
        self.status.value = (
            f"<span class='rtnb-run-state' data-state='{state}' style='font-size:12px;color:#555'>"
            f"{state}{when}</span>"
        )

    # -- the run ---------------------------------------------------------------------

    def attach(self, runner: Any) -> None:
        """Refresh on every frame of ``runner`` and let the controls drive it."""
        if not callable(getattr(runner, "on_frame", None)):
            raise ParameterError("runner", runner, "has no on_frame(); use an rtnb.Runner")
        if self.runner is not None:
            self.runner.remove_frame(self.refresh)
        self.runner = runner
        runner.on_frame(self.refresh)
        self.pause_button.disabled = False
        simulated = bool(getattr(runner.clock, "simulated", False))
        self.speedup_slider.disabled = not simulated
        if simulated:
            _show_value(self.speedup_slider, float(runner.speedup))

    def detach(self) -> None:
        """Stop refreshing from the runner (the views keep their last state)."""
        if self.runner is not None:
            self.runner.remove_frame(self.refresh)
            self.runner = None
            self.pause_button.disabled = True
            self.speedup_slider.disabled = True

    def start(self, duration: Any = None, *, speedup: float | None = None):
        """Start the runner live on the kernel's loop (see ``Runner.start``); returns the task."""
        if self.runner is None:
            raise ParameterError("runner", None, "attach a runner first: Dashboard(..., runner=r)")
        task = self.runner.start(duration, speedup=speedup)
        if self.pause_button.value:  # left on "Resume" by an earlier run that ended paused
            self.pause_button.value = False
        if speedup is not None and not self.speedup_slider.disabled:
            _show_value(self.speedup_slider, float(self.runner.speedup))
        return task

    def stop(self) -> None:
        """Stop the live run."""
        if self.runner is not None:
            self.runner.stop()

    def _on_pause(self, change: dict) -> None:
        if self.runner is None:
            return
        if change["new"]:
            if self.runner.state not in ("running", "paused"):  # nothing to pause: stay "Pause"
                self.pause_button.value = False
                return
            self.runner.pause()
            self.pause_button.description, self.pause_button.icon = "Resume", "play"
        else:
            self.runner.resume()
            self.pause_button.description, self.pause_button.icon = "Pause", "pause"

    def _on_speedup(self, change: dict) -> None:
        if self.runner is not None and not self.speedup_slider.disabled:
            self.runner.speedup = float(change["new"])

    def _on_rate(self, change: dict) -> None:
        if self.source is not None and not self.rate_slider.disabled:
            self.source.rate = float(change["new"])

    def __repr__(self) -> str:
        names = ", ".join(type(v).__name__ for v in self.views)
        return f"Dashboard([{names}], frames={self.frames})"
