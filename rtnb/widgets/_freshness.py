"""FreshnessBadge: how old the data shown is, against the metric's limit (its tier).

With ``anywidget`` installed (the ``anywidget`` extra; the test extra has it) the badge
ages **in the browser**: the kernel sends the newest event time, the clock's time, the
clock's rate and the run state, and a small ES module (``_badge.js``, no build step)
counts the age itself. So the badge turns late and stale while a cell blocks the
kernel, a source hangs or the kernel is gone, and says "kernel not responding" when no
message came for ``silent_after``; each beat carries the kernel's wall time, so a
screen that runs behind its kernel says "screen N s behind the kernel"; a kernel that
restarted or died says so ("kernel restarted — run the cell again"). After its run
restarted (restored from a checkpoint, started again, or started without a checkpoint
over earlier data — then "restarted", never "fresh" on a partial window) it says so for
one window (``rtnb.widgets._restarts``). The data it shows ages by the screen's lag too
(a screen 20 s behind its kernel is not fresh), and the front-end acknowledges each
beat it has drawn (``acked_beat``), which is how a dashboard keeps its screen within a
frame or two of the kernel (``rtnb.runner.FrameAcks``). Each view of the badge (a tab, a
second view of the output) also says when it is shown or hidden, and when it leaves
the page (``hidden``): while none is shown the dashboard draws no frames for it, and a
view shown again acknowledges the beat it shows, so the next frame is the current one.
Without anywidget the badge falls back to HTML
ticked by the kernel at each frame (honest while the kernel runs frames, frozen when
it does not). Both say "paused" and "stopped" when the run is.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
import traitlets

from .._checks import check_number
from .._errors import ParameterError
from .._time import DurationLike, to_duration
from ..clock import WallClock
from ..health import Snapshot, describe_age, freshness
from ._base import StoreView
from ._restarts import RestartWatch

try:  # an optional extra: the badge that ages in the browser
    from anywidget import AnyWidget as _Widget

    AGES_IN_BROWSER = True
except ImportError:  # pragma: no cover - depends on the environment
    _Widget = widgets.HTML
    AGES_IN_BROWSER = False

__all__ = ["FreshnessBadge", "AGES_IN_BROWSER"]

_COLOURS = {"fresh": "#009E73", "late": "#E69F00", "stale": "#D55E00", "paused": "#6b6b6b", "stopped": "#6b6b6b",
            "restarted": "#6b6b6b"}


def _span(td: pd.Timedelta) -> str:
    s = td.total_seconds()
    return f"{s:g} s" if s < 120 else f"{s / 60:g} min"


def _ms(t: pd.Timestamp | None) -> float | None:
    return None if t is None or pd.isna(t) else pd.Timestamp(t).value / 1e6


class FreshnessBadge(StoreView, _Widget):
    """The data age (processing time minus newest event time) as fresh / late / stale.

    It ticks on its own: every frame it recomputes the age at the clock's ``now``,
    so when a source stalls or the pipeline stops, the badge turns ``late`` and then
    ``stale`` although no snapshot arrives; in the browser (with anywidget) it keeps
    ageing between frames too, so a busy or dead kernel shows. ``limit`` is the
    metric's freshness limit (its latency tier); ``stale_after`` defaults to three
    times the limit. A dashboard tells the badge its runner (``badge.runner``): a
    paused or stopped run then reads "paused" / "stopped", never "fresh".

    >>> import rtnb
    >>> from rtnb.store import MemoryStore
    >>> store = MemoryStore()
    >>> badge = FreshnessBadge(store, "orders", limit="5s")
    >>> badge.state, badge.age_text
    ('stale', 'no data yet')
    >>> t = pd.Timestamp("2024-01-01 09:00")
    >>> store.put(rtnb.Snapshot(metric="orders", table=pd.DataFrame({"count": [1]}),
    ...     window=None, watermark=t, newest_event=t, processed_at=t))
    >>> _ = badge.refresh(t + pd.Timedelta("1s")); badge.state, badge.age_text
    ('fresh', '1.0 s old')
    >>> _ = badge.refresh(t + pd.Timedelta("30s")); badge.state   # stalled: no new data
    'stale'

    When the store is a serving layer that can go down (``rtnb.RedisStore`` has a
    ``status`` of ``"up"`` or ``"down"``), the badge says so, with the store's last
    error, while the data it shows keeps ageing:

    >>> store.status, store.last_error = "down", "Connection refused"
    >>> _ = badge.refresh(t + pd.Timedelta("31s")); badge.store_status
    'down'
    >>> "serving layer down" in badge.value
    True

    Each view of the badge on a page says whether it is shown; while none is (a hidden
    tab, a frozen or closed page), ``hidden`` is True and its dashboard draws no frames:

    >>> badge.hidden   # no view has said anything (no page, nbval): frames as ever
    False
    >>> badge._on_screen_message(badge, {"view": "tab1", "visible": False}, [])
    >>> badge._on_screen_message(badge, {"view": "tab2", "visible": True, "ack": 3}, [])
    >>> badge.hidden, badge.acked_beat
    (False, 3)
    >>> badge._on_screen_message(badge, {"view": "tab2", "gone": True}, [])   # tab 2 closed
    >>> badge.hidden, badge.views
    (True, {'tab1': False})
    """

    #: ``fresh``, ``late`` or ``stale``; observable (not sent to the browser by itself).
    state = traitlets.Unicode("stale")
    #: ``up`` or ``down``: the serving layer's status, for stores that report one.
    store_status = traitlets.Unicode("up").tag(sync=AGES_IN_BROWSER)
    #: The run's state as the badge shows it: ``running``, ``paused``, ``stopped``, ``idle``
    #: or ``""`` (no runner known).
    run_state = traitlets.Unicode("").tag(sync=AGES_IN_BROWSER)
    #: The newest restart of the run while its window has not passed ("" when none):
    #: restored from a checkpoint, started again, or started without a checkpoint over
    #: earlier data (then ``restarted`` is True: the window is partial, never "fresh").
    restart_note = traitlets.Unicode("").tag(sync=AGES_IN_BROWSER)
    restarted = traitlets.Bool(False).tag(sync=AGES_IN_BROWSER)

    if AGES_IN_BROWSER:
        # (a str: anywidget keeps a widget whose _esm is a file alive, connected to its change signal)
        _esm = Path(__file__).with_name("_badge.js").read_text(encoding="utf-8")
        #: The HTML the kernel would show (the fallback's value); not sent.
        value = traitlets.Unicode("")
        label = traitlets.Unicode("").tag(sync=True)
        newest_ms = traitlets.Float(None, allow_none=True).tag(sync=True)
        clock_ms = traitlets.Float(0.0).tag(sync=True)
        rate = traitlets.Float(0.0).tag(sync=True)
        limit_s = traitlets.Float(1.0).tag(sync=True)
        stale_s = traitlets.Float(3.0).tag(sync=True)
        silent_s = traitlets.Float(2.0).tag(sync=True)
        store_error = traitlets.Unicode("").tag(sync=True)
        beat = traitlets.Int(0).tag(sync=True)
        #: The front-end acknowledges every ``ack_every``-th beat at once, one in between
        #: once no newer beat has come for a moment (a dashboard sets it below its frames
        #: in flight: each acknowledgement costs the kernel and the page three messages).
        ack_every = traitlets.Int(1).tag(sync=True)
        #: The kernel's wall-clock time (ms since the epoch) when it sent this state: the
        #: browser compares it with its own clock, so a screen that runs behind its kernel
        #: (a loaded Jupyter server relaying a backlog, a page busy drawing) says by how much.
        sent_ms = traitlets.Float(0.0).tag(sync=True)

    def __init__(
        self,
        store: Any,
        metric: str,
        *,
        limit: DurationLike,
        stale_after: DurationLike | None = None,
        label: str | None = None,
        silent_after: float = 2.0,
    ) -> None:
        self._init_view(store, metric)
        self.limit = to_duration(limit, "limit")
        self.stale_after = None if stale_after is None else to_duration(stale_after, "stale_after")
        if self.stale_after is not None and self.stale_after < self.limit:  # in the user's words
            raise ParameterError("stale_after", stale_after, f"must be at least the limit ({_span(self.limit)})")
        self.silent_after = check_number("silent_after", silent_after, minimum=0, strict=True)
        self.age: pd.Timedelta | None = None
        self.age_text = describe_age(None)
        self.runner: Any = None
        self.wall_clock: Any = WallClock()  # stamps each beat with the kernel's wall time
        #: The newest beat a screen has drawn (its front-end acknowledges each one after
        #: the next paint); None until one has. A dashboard holds frames back while too
        #: many beats are unacknowledged (``rtnb.runner.FrameAcks``): no backlog.
        self.acked_beat: int | None = None
        self.acks_heard = 0  # acknowledgements received (messages: see ``ack_every``)
        #: The views of the badge on pages, by the token each sends, and whether each is
        #: shown (a view leaves when its page is closed or reloaded, or its output cleared).
        self.views: dict[str, bool] = {}
        self._heard_views = False  # True once some view has said whether it is shown
        self._snapshot: Snapshot | None = None
        self._restarts = RestartWatch()
        self._label = label if label is not None else metric
        stale = self.stale_after if self.stale_after is not None else 3 * self.limit
        if AGES_IN_BROWSER:
            super().__init__(label=self._label, limit_s=self.limit.total_seconds(),
                             stale_s=stale.total_seconds(), silent_s=self.silent_after)
            self.value = self._html("stale")
            self.on_msg(self._on_screen_message)
        else:
            super().__init__(value=self._html("stale"))
        self.add_class("rtnb-freshness-badge")

    def _on_screen_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """From a view of the badge: ``{"ack": beat}`` (the screen has drawn that beat);
        ``{"view": token, "visible": bool}`` (that view is shown or hidden; with an ``ack``
        when shown again) and ``{"view": token, "gone": True}`` (it has left its page)."""
        if not isinstance(content, dict):
            return
        ack = content.get("ack")
        if isinstance(ack, (int, float)) and not isinstance(ack, bool):
            self.acks_heard += 1
            self.acked_beat = int(ack) if self.acked_beat is None else max(self.acked_beat, int(ack))
        view = content.get("view")
        if isinstance(view, str) and view:
            if content.get("gone") is True:
                self.views.pop(view, None)
                self._heard_views = True
            elif isinstance(content.get("visible"), bool):
                self.views[view] = content["visible"]
                self._heard_views = True

    @property
    def hidden(self) -> bool:
        """True while no view of the badge is shown: each view that said so is hidden (a
        hidden tab, a frozen page) or has left (its page closed, its output cleared).
        False while one is shown, and before any view has said (no page: nbval, a test)."""
        return self._heard_views and not any(self.views.values())

    @property
    def ages_in_browser(self) -> bool:
        """True when the browser counts the age itself (anywidget installed)."""
        return AGES_IN_BROWSER

    def _apply(self, snapshot: Snapshot, now: pd.Timestamp | None) -> None:
        self._snapshot = snapshot

    def _tick(self, now: pd.Timestamp | None) -> None:
        self.tick(now)

    def _run(self) -> tuple[str, float]:
        """The run state and the clock's rate (clock seconds per wall second) right now."""
        r = self.runner
        if r is None:
            return "", 0.0
        state = str(getattr(r, "state", ""))
        if state != "running":
            return state, 0.0
        simulated = bool(getattr(getattr(r, "clock", None), "simulated", False))
        return state, float(getattr(r, "speedup", 1.0)) if simulated else 1.0

    def tick(self, now: pd.Timestamp | None) -> None:
        """Recompute the age at ``now`` (default: the snapshot's processing time)."""
        snap = self._snapshot
        if snap is None:
            age = None
        else:
            age = snap.age_at(now) if now is not None else snap.data_age
        state = freshness(age, self.limit, stale_after=self.stale_after)
        self.store_status = "down" if getattr(self.store, "status", "up") == "down" else "up"
        run_state, rate = self._run()
        note, partial = self._restarts.update(self.runner, run_state, now,
                                              newest=snap.newest_event if snap is not None else None,
                                              window=snap.window if snap is not None else None)
        self.age = age
        self.age_text = describe_age(age)
        shown = run_state if run_state in ("paused", "stopped") else "restarted" if partial else state
        if AGES_IN_BROWSER:
            newest = _ms(snap.newest_event) if snap is not None else None
            clock = _ms(now) if now is not None else (_ms(snap.processed_at) if snap is not None else 0.0)
            err = getattr(self.store, "last_error", None) if self.store_status == "down" else None
            with self.hold_sync():  # one message per frame
                self.newest_ms = newest
                self.clock_ms = clock or 0.0
                self.rate = rate
                self.run_state = run_state
                self.store_error = str(err)[:200] if err else ""
                self.restart_note, self.restarted = note, partial
                if run_state == "running":
                    self.beat += 1  # a running dashboard's heartbeat, even when nothing else changed
                self.sent_ms = self.wall_clock.now().value / 1e6
        self.run_state = run_state
        self.restart_note, self.restarted = note, partial
        self.value = self._html(shown)  # (fallback) one message, and only when the text changed
        self.state = state

    def _html(self, state: str) -> str:
        colour = _COLOURS[state]
        snap = self._snapshot
        newest = snap.newest_event if snap is not None else None
        # The newest event time shown, in ms since the epoch: lets a browser measure
        # the delay from an event to its display (benchmarks/bench_views.py).
        stamp = "" if newest is None or pd.isna(newest) else f' data-newest="{newest.value // 1_000_000}"'
        down = ""
        if self.store_status == "down":
            err = getattr(self.store, "last_error", None)
            down = " · serving layer down" + (f": {html.escape(str(err))[:80]}" if err else "")
        if state == "paused":
            words = f"paused — data {self.age_text} when paused"
        elif state == "stopped":
            words = f"stopped — data {self.age_text} at the stop"
        elif state == "restarted":
            words = f"restarted — data {self.age_text}"
        else:
            words = f"{state} — {self.age_text} (limit {_span(self.limit)})"
        if self.restart_note:
            words += f" · {self.restart_note}"
        mark = {"paused": "❚❚", "stopped": "■", "restarted": "↻"}.get(state, "●")
        return (
            f'<span class="rtnb-freshness rtnb-{state}" data-state="{state}" '
            f'data-store="{self.store_status}"{stamp} '
            f'style="display:inline-block;padding:2px 10px;border-radius:10px;color:white;white-space:nowrap;'
            f'background:{colour};font-size:13px">{mark} {html.escape(self._label)}: '
            f"{html.escape(words)}{down}</span>"
        )

    def __repr__(self) -> str:
        return f"FreshnessBadge(metric={self.metric!r}, state={self.state!r}, age={self.age_text!r})"
