"""Dashboard: a grid of live views that is itself a widget, with run controls.

A dashboard owns its views and frees them: :meth:`Dashboard.close` stops its run, lets
go of the runner and pipeline and closes every widget it made (marks, scales, axes,
layouts...). Re-running a notebook cell that builds a dashboard closes the dashboards
the cell built the time before (found through the cell's id, which JupyterLab and
Notebook 7 send with each execution, and held by weak references only), so re-running
neither leaks widget models nor leaves an old runner going.
"""

from __future__ import annotations

import html
import math
import os
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd

from .._checks import check_int, check_number, check_optional, check_str
from .._errors import ParameterError
from ..runner import FrameAcks, FramePacer
from ._bars import LiveBars  # noqa: F401  (used in the example)
from ._bus import FrameBus
from ._cells import close_widgets, replace_earlier_run
from ._controls import RunControls
from ._freshness import FreshnessBadge
from ._hover import WATCHES_HOVER, HoverWatch
from ._style import KeyColours

__all__ = ["Dashboard", "MAX_FPS", "MAX_COLUMNS", "FRAMES_IN_FLIGHT", "ACK_EVERY", "FRAME_PATIENCE"]

#: Frames per second a dashboard may ask for: a screen shows about 60; more only costs.
MAX_FPS = 60.0
#: Frames a dashboard sends ahead of what its screen has drawn: past that, the next frame
#: waits (the page draws current frames at its own pace instead of a backlog).
FRAMES_IN_FLIGHT = 3
#: The screen acknowledges every ``ACK_EVERY``-th frame it has drawn (and a frame in
#: between once no newer one has come for a moment): each acknowledgement is a message to
#: the kernel, which answers every message with a busy and an idle status that the page
#: handles too (JupyterLab swaps its favicon on each), so acknowledging each frame made
#: two thirds of the page's WebSocket messages. Fewer than ``FRAMES_IN_FLIGHT``, so a
#: page that keeps up is never held back.
ACK_EVERY = 2
#: Seconds a frame waits at most for the screen's acknowledgement (a safety net: a new
#: view acknowledges at once, a hidden tab within a second; a slow page keeps
#: acknowledging, and with a frame always in flight it is never starved).
FRAME_PATIENCE = 5.0
#: Seconds between the frames a dashboard draws for its kernel-side widgets alone while no
#: page shows it (scrolled away, a hidden tab): what Python reads of them (a badge's
#: state, a KPI's value) stays this current; the pages get the current state when shown.
#: (Through the frame bus only, which can drop a frame's messages: without it, RTNB_FRAME_BUS=0
#: or before a page's bus is ready, a hidden dashboard draws nothing until it is shown.)
HIDDEN_FRAME_S = 1.0
#: Grid columns: past a few, every chart is too narrow to read.
MAX_COLUMNS = 6


class Dashboard(widgets.VBox):
    """Live views in a grid, freshness badges on top, and controls for the run.

    The dashboard owns its views: one frame callback (``refresh(now)``, registered on
    the runner with :meth:`attach`) refreshes every view, at most ``fps`` times per
    second. Controls: start (a stopped run can be started again: a Voila dashboard is
    never frozen after its live duration), pause/resume, the simulated speed-up (with
    a ``SimClock``), and the event rate of a simulated source (any source with a
    settable ``rate``). The lines and bars share one :class:`KeyColours`, so a key has
    one colour in every chart of the dashboard.

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
        colours: KeyColours | None = None,
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
        check_optional(check_str, "title", title, empty=True)
        check_int("columns", columns, minimum=1, maximum=MAX_COLUMNS)
        check_optional(check_number, "fps", fps, minimum=0, maximum=MAX_FPS, strict=True)
        if colours is not None and not isinstance(colours, KeyColours):
            raise ParameterError("colours", colours, "must be a KeyColours or None")
        coloured = [v for v in views if isinstance(getattr(v, "colours", None), KeyColours)]
        self.colours = colours if colours is not None else (coloured[0].colours if coloured else KeyColours())
        for v in coloured:
            v.colours = self.colours
        if fps is None:
            fps = getattr(runner, "fps", 10.0)
        self.views = views
        self.gate = FramePacer(fps, monotonic=monotonic)  # for frames not driven by a runner
        # Backpressure from the screen: its badge acknowledges the beats it has drawn.
        self.acks = FrameAcks(FRAMES_IN_FLIGHT, patience=FRAME_PATIENCE, monotonic=monotonic)
        self.fps = self.gate.fps
        self.runner = None
        self.source = source
        self.store = getattr(views[0], "store", None)
        self.frames = 0
        self._unseen_at = -math.inf  # when the last frame for the kernel's widgets alone was drawn
        self._drawn_unseen = False  # frames were drawn for the kernel alone since a page showed it

        badges = [v for v in views if isinstance(v, FreshnessBadge)]
        for b in badges:
            if b.ages_in_browser:
                b.ack_every = ACK_EVERY
        others = [v for v in views if not isinstance(v, FreshnessBadge)]
        self.title_html = widgets.HTML(
            value=f"<b style='font-size:16px'>{html.escape(title)}</b>" if title else ""
        )
        self.header = widgets.HBox(
            [self.title_html, *badges], layout={"align_items": "center", "grid_gap": "12px", "flex_flow": "row wrap"}
        )
        cells = [widgets.VBox([v.toolbar, v]) if isinstance(getattr(v, "toolbar", None), widgets.Widget) else v
                 for v in others]
        self.grid = widgets.GridBox(
            cells,
            layout={"grid_template_columns": f"repeat({columns}, minmax(0, 1fr))", "grid_gap": "8px", "width": "100%"},
        )
        # One message per frame for all the views, once a screen shows the dashboard
        # (RTNB_FRAME_BUS=0: each widget sends its own, as before; for comparisons).
        self.bus = FrameBus(root=self)
        self.use_bus = os.environ.get("RTNB_FRAME_BUS", "1") != "0"
        # The line charts' hover dots only while the mouse is over them, once a page says
        # where the mouse is (RTNB_HOVER_ON_DEMAND=0: always there, as before; for comparisons).
        self.hover_watch = None
        hidden = [self.bus]
        if WATCHES_HOVER and os.environ.get("RTNB_HOVER_ON_DEMAND", "1") != "0":
            # (weakly: anywidget keeps a widget with a file front-end alive, and with it
            # anything its callbacks hold)
            me = weakref.ref(self)
            self.hover_watch = HoverWatch(on_hover=lambda i, on: (d := me()) is not None and d._on_hover(i, on),
                                          on_ready=lambda: (d := me()) is not None and d._on_hover_ready(True),
                                          on_gone=lambda: (d := me()) is not None and d._on_hover_ready(False),
                                          lines=[v.model_id for v in self.views if hasattr(v, "show_hover")],
                                          monotonic=monotonic)
            hidden.append(self.hover_watch)
        self.controls = RunControls(source, extra=hidden)
        c = self.controls  # (its parts, as the dashboard's own: dash.pause_button...)
        self.start_button, self.pause_button, self.status = c.start_button, c.pause_button, c.status
        self.speedup_slider, self.rate_slider, self.replay_speed = c.speedup_slider, c.rate_slider, c.replay_speed
        super().__init__([self.header, self.controls, self.grid], layout={"width": "100%"})
        self.add_class("rtnb-dashboard")
        self.closed = False
        self.pipeline: Any = None
        self.owns_runner = False  # True when the dashboard built its runner: close() closes it
        if runner is not None:
            self.attach(runner)
        replace_earlier_run(self)

    # -- frames ----------------------------------------------------------------------

    def refresh(self, now: pd.Timestamp | None = None) -> int:
        """One frame, if one is due: refresh every view; returns how many changed.

        Called by hand (a loop of your own), frames are capped at ``fps`` by the
        dashboard's :class:`~rtnb.runner.FramePacer`. Attached to a runner, the dashboard
        follows the runner's pacer instead: each of the runner's frames is drawn.
        Each view sends at most one message per widget it owns, and only when its
        metric's store version changed (the badges re-age every frame).
        """
        if not self.gate.ready():
            return 0
        return self._draw(now)

    def _on_runner_frame(self, now: pd.Timestamp) -> int:
        """A frame of the runner's pacer: drawn, unless the screen has not drawn the last
        ``FRAMES_IN_FLIGHT`` frames yet, or no view of it is shown (held back while running:
        the data keeps flowing, and the next frame shows the newest; the frames of a pause
        or a stop always go)."""
        badge = self._screen()
        running = self.runner is not None and self.runner.state == "running"
        if badge is not None and running:
            self.acks.acked(badge.acked_beat)
            shown_again, self.acks.hidden = self.acks.hidden and not badge.hidden, badge.hidden
            bus = self.use_bus and self.bus.ready
            if shown_again and bus and (self.bus.messages_sent or self.bus.behind):
                self._refill_lines(now)
                self.bus.resend()  # a view shown again is current at once, whatever it missed
                self.acks.acked(badge.beat)  # (the resend carries the newest beat: nothing in flight)
            if not self.acks.ready():  # (none while no view of the badge is shown)
                if self.acks.hidden and bus:
                    return self._draw_unseen(now)
                return 0
        elif self.use_bus and self.bus.ready and self.bus.behind:
            # A pause or a stop while no page showed it (its frames dropped): its frame goes
            # to the pages, hidden or not, and after it no running frame notices a page
            # shown again: the full state goes first, or the page kept its old charts for good.
            self.bus.resend()
        if badge is not None and badge.acked_beat is not None and self.use_bus and self.bus.ready:
            with self.bus.frame():  # a screen shows it: the frame's messages go as one
                changed = self._draw(now)
        else:
            changed = self._draw(now)
        if badge is not None:
            self.acks.sent(badge.beat)
        return changed

    def _draw_unseen(self, now: pd.Timestamp | None) -> int:
        """While no page shows the dashboard: a frame every ``HIDDEN_FRAME_S`` for the
        kernel's widgets only (its messages dropped; the pages get a resend when shown)."""
        t = self.acks.now()
        if t - self._unseen_at < HIDDEN_FRAME_S:
            return 0
        self._unseen_at = t
        self._drawn_unseen = True
        with self.bus.frame(discard=True):
            return self._draw(now)

    def _refill_lines(self, now: pd.Timestamp | None) -> None:
        """Shown again after frames drawn for the kernel alone (one a second): the line
        charts read their points again from the store's history, at its own spacing (the
        full state then sent carries them), or they broke at each sparse step."""
        if not self._drawn_unseen:
            return
        self._drawn_unseen = False
        with self.bus.frame(discard=True):  # (their messages: the resend that follows carries them)
            for view in self.views:
                refill = getattr(view, "refill", None)
                if refill is None:
                    continue
                try:
                    refill(now)
                except Exception as exc:  # one broken view must not freeze the others
                    if self.runner is None:
                        raise
                    self.runner.report_error("frame", f"{type(view).__name__}.refill", exc)

    def _screen(self) -> FreshnessBadge | None:
        """The badge whose front-end acknowledges the frames it has drawn, if any."""
        return next((v for v in self.views if isinstance(v, FreshnessBadge) and v.ages_in_browser), None)

    def _draw(self, now: pd.Timestamp | None) -> int:
        self.frames += 1
        changed = 0
        if self.hover_watch is not None:
            self.hover_watch.expire()  # the hovers of pages that died without a word go
        self.controls.show_status(now)
        # The badges last: the beat a screen acknowledges comes after the frame's other
        # messages, so its acknowledgement says the whole frame was drawn.
        for view in sorted(self.views, key=lambda v: isinstance(v, FreshnessBadge)):
            try:
                changed += bool(view.refresh(now))
            except Exception as exc:  # one broken view must not freeze the others
                if self.runner is None:
                    raise
                self.runner.report_error("frame", f"{type(view).__name__}.refresh", exc)
        return changed

    def _on_hover_ready(self, on: bool) -> None:
        """A page shows the dashboard and tells where the mouse is: dots on demand (True);
        the last page has gone (False): the dots are always there again, as without a page."""
        for view in self.views:
            if hasattr(view, "show_hover"):
                view.hover_on_demand = on

    def _on_hover(self, model_id: str, on: bool) -> None:
        """The mouse entered or left the line chart whose model is ``model_id``."""
        for view in self.views:
            if getattr(view, "model_id", None) == model_id and hasattr(view, "show_hover"):
                view.show_hover(on)

    # -- the run ---------------------------------------------------------------------

    def attach(self, runner: Any) -> None:
        """Refresh on every frame of ``runner`` and let the controls drive it."""
        if not callable(getattr(runner, "on_frame", None)):
            raise ParameterError("runner", runner, "has no on_frame(); use an rtnb.Runner")
        if self.runner is not None:
            self.runner.remove_frame(self._on_runner_frame)
        self.runner = runner
        runner.on_frame(self._on_runner_frame)
        for view in self.views:
            if hasattr(view, "runner"):
                view.runner = runner  # the badge says "paused" / "stopped" when the run is
        self.controls.attach(runner)

    def detach(self) -> None:
        """Stop refreshing from the runner (the views keep their last state)."""
        if self.runner is not None:
            self.runner.remove_frame(self._on_runner_frame)
            self.runner = None
            for view in self.views:
                if hasattr(view, "runner"):
                    view.runner = None
            self.controls.detach()

    def start(self, duration: Any = None, *, speedup: float | None = None):
        """Start the runner live on the kernel's loop (see ``Runner.start``); returns the task."""
        if self.runner is None:
            raise ParameterError("runner", None, "attach a runner first: Dashboard(..., runner=r)")
        return self.controls.start(duration, speedup=speedup)

    def stop(self) -> None:
        """Stop the live run."""
        if self.runner is not None:
            self.runner.stop()

    def close(self) -> None:
        """Stop the run and free everything: runner, pipeline, views and their widgets.

        Idempotent. After it, nothing the dashboard made is left in ipywidgets'
        registry, and the runner no longer calls it.
        """
        if getattr(self, "closed", True):  # closed already, or never built (a failed __init__)
            return
        self.closed = True
        runner = self.runner
        if runner is not None:
            runner.stop()
            self.detach()
        pipeline = getattr(self, "pipeline", None)
        for part in (pipeline, runner if getattr(self, "owns_runner", False) else None):
            close = getattr(part, "close", None)
            if callable(close):
                close()
        for view in self.views:
            if callable(getattr(view, "close", None)) and type(view).close is not widgets.Widget.close:
                view.close()  # a view with streams to let go of (the error panel)
        close_widgets(self)
        self.views = []

    def __repr__(self) -> str:
        names = ", ".join(type(v).__name__ for v in self.views)
        return f"Dashboard([{names}], frames={self.frames})"
