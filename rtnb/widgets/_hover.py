"""Hover dots: invisible points under a line chart's lines whose tooltip shows the
key, the time and the value of the point under the mouse.

At most :data:`HOVER_DOTS` per line, on every ``stride``-th point *by the point's
number*, so the same points keep their dots as new ones come and the dots are sent
only when they change (they were 56 % of a frame's bytes when sent every frame).

In a dashboard shown on a page, the dots exist only while the mouse is over the chart
(:class:`HoverWatch`, a small front-end that tells the kernel when the mouse enters or
leaves each line chart): bqplot repositions every dot on every change of the time
axis's domain — every frame, as the axis ends at now — and that was about half of the
page's work per frame with four dashboards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import traitlets

from ._base import plot_array

try:  # an optional extra (the test extra has it): without it, dots are always there
    from anywidget import AnyWidget as _Widget

    WATCHES_HOVER = True
except ImportError:  # pragma: no cover - depends on the environment
    _Widget = widgets.DOMWidget
    WATCHES_HOVER = False

__all__ = ["HOVER_DOTS", "hover_mark", "show_hover_dots", "clear_hover_dots", "HoverWatch", "WATCHES_HOVER"]

#: The class a line chart carries so the page's :class:`HoverWatch` can name it.
LINE_ID_CLASS = "rtnb-line-id-"

#: Hover dots per line at most (each shows key, time and value in its tooltip).
HOVER_DOTS = 60

#: Seconds (the watch's clock) a view's hover lasts without news of it: a view that
#: points at a chart says so again every 2 s (``_hover.js``), so a page that died without
#: its bye (a crash, a killed tab) stops costing dots for a viewer who is gone.
HOVER_TTL = 6.0

#: Seconds the live views have to answer a new view's "ask" before their hovers go.
ASK_TTL = 2.0


def hover_mark(x_scale: bq.Scale, y_scale: bq.Scale, column: str) -> bq.Scatter:
    """The dots' mark: invisible, kept out of the scales' domain, with a tooltip.

    >>> import bqplot as bq
    >>> dots = hover_mark(bq.DateScale(), bq.LinearScale(), "sum")
    >>> dots.tooltip.labels, dots.preserve_domain
    (['key', 'time', 'sum'], {'x': True, 'y': True})
    """
    # (bqplot takes a tooltip format as a date format only if it matches its pattern,
    # which allows no ':' — "%H:%M:%S" fails to render; "%c" is the locale's date and
    # time.) names_unique=False: the names are the keys, shared by every dot of a line,
    # and bqplot joins its dots to the data by name when names are "unique": the dots
    # of one name collapse onto a few elements and the rest enter unstyled, drawn as
    # black SVG defaults (the thick black trails on the lines). Joined by index, every
    # dot gets the invisible style.
    return bq.Scatter(
        x=np.array([], dtype="datetime64[ns]"), y=np.array([], dtype=np.float32),
        scales={"x": x_scale, "y": y_scale}, names=[], display_names=False, names_unique=False,
        default_size=30, opacities=[0.0], colors=["transparent"], stroke="transparent",
        # a copy of the lines' points: the domain follows the lines alone, so a dot
        # update never moves the scale (a second rewrite of every line's path)
        preserve_domain={"x": True, "y": True},
        tooltip=bq.Tooltip(fields=["name", "x", "y"], formats=["", "%c", ".4~s"],
                           labels=["key", "time", column]),
    )


def show_hover_dots(mark: bq.Scatter, x: np.ndarray, y: np.ndarray, labels: list[str], first: int) -> bool:
    """Put the dots on the (keys x points) ``y`` over times ``x``, whose oldest point
    is number ``first``; returns False (nothing sent) when the dots are unchanged.

    Sent when a numbered point arrives, the keys change, or the stride grows with the
    history: once every ``points / HOVER_DOTS`` frames at a full history, not every
    frame. A dot per point (300 x 5 keys) made the browser restyle 1,500 SVG paths per
    chart per frame; a few px apart on the screen, more dots add nothing to hover.
    The newest point is at most a stride from a dot.

    >>> import bqplot as bq
    >>> dots = hover_mark(bq.DateScale(), bq.LinearScale(), "sum")
    >>> t = np.arange(4).astype("datetime64[s]").astype("datetime64[ns]")
    >>> show_hover_dots(dots, t, np.array([[1.0, 2.0, np.nan, 4.0]]), ["FR"], first=0)
    True
    >>> dots.names.tolist(), dots.y.tolist()
    (['FR', 'FR', 'FR'], [1.0, 2.0, 4.0])
    >>> show_hover_dots(dots, t, np.array([[1.0, 2.0, np.nan, 4.0]]), ["FR"], first=0)
    False
    """
    n = len(x)
    stride = max(1, -(-n // HOVER_DOTS))
    if n:
        pick = np.flatnonzero((first + np.arange(n)) % stride == 0)
        x, y = x[pick], y[:, pick]
        n = len(x)
    ok = ~np.isnan(y)
    names = np.repeat(np.array(labels, dtype=str), n).reshape(len(labels), n)[ok]
    dx = np.tile(x, len(labels)).reshape(len(labels), n)[ok] if n else x
    dy = plot_array(y[ok]) if n else plot_array([])
    if (mark.names is not None and np.array_equal(mark.names, names) and np.array_equal(mark.x, dx)
            and np.array_equal(mark.y, dy)):
        return False  # the same dots: nothing to send
    with mark.hold_sync():
        if not np.array_equal(mark.x, dx):
            mark.x = dx
        if not np.array_equal(mark.y, dy):
            mark.y = dy
        if mark.names is None or not np.array_equal(mark.names, names):  # the names change only with the keys
            mark.names = names
    return True


def clear_hover_dots(mark: bq.Scatter) -> bool:
    """Remove every dot (one message; nothing sent when there are none). True if sent.

    >>> import bqplot as bq
    >>> dots = hover_mark(bq.DateScale(), bq.LinearScale(), "sum")
    >>> t = np.arange(2).astype("datetime64[s]").astype("datetime64[ns]")
    >>> _ = show_hover_dots(dots, t, np.array([[1.0, 2.0]]), ["FR"], first=0)
    >>> clear_hover_dots(dots), len(dots.x), clear_hover_dots(dots)
    (True, 0, False)
    """
    if len(mark.x) == 0 and (mark.names is None or len(mark.names) == 0):
        return False
    with mark.hold_sync():
        mark.x = np.array([], dtype="datetime64[ns]")
        mark.y = plot_array([])
        mark.names = np.array([], dtype=str)
    return True


class HoverWatch(_Widget):
    """A dashboard's hidden front-end that says which of its line charts the mouse is
    over: ``on_hover(model_id, on)`` is called when the mouse enters (``on`` True) the
    chart whose model is ``model_id`` in any view of the page, or has left it (False,
    after 300 ms away) in every view; ``on_ready()`` once a page has loaded it (then the
    dashboard's charts show their hover dots only while hovered; without a page — nbval,
    a test — nothing changes) and ``on_gone()`` when the last page has said bye.
    ``lines`` are the model ids of the charts it watches, wherever they are in the page.

    Each view (a tab, a second view of the output) sends a token of its own with each
    message, so one view's late leave does not empty the dots another view points at.
    A view's ``ready`` asks the live views what they point at (``here``): a hover not
    confirmed within :data:`ASK_TTL` goes (a reloaded page had no time to tell its
    leave), the others stay (emptied at once, every other view's dots blinked). A hover
    not heard of for :data:`HOVER_TTL` goes too (a page that died without a bye):
    checked on each message and by :meth:`expire`. ``monotonic`` is the watch's clock
    (seconds; the wall clock's by default).

    >>> seen = []
    >>> watch = HoverWatch(on_hover=lambda i, on: seen.append((i, on)), on_ready=lambda: seen.append("ready"),
    ...                    on_gone=lambda: seen.append("gone"), lines=["abc"])
    >>> watch._from_page(watch, {"ready": True, "token": "A"}, [])
    >>> watch._from_page(watch, {"ready": True, "token": "B"}, [])
    >>> watch._from_page(watch, {"here": True, "token": "A", "hover": None}, [])
    >>> watch._from_page(watch, {"hover": "abc", "on": True, "token": "A"}, [])
    >>> watch._from_page(watch, {"hover": "abc", "on": True, "token": "B"}, [])
    >>> watch._from_page(watch, {"hover": "abc", "on": False, "token": "A"}, [])  # B still points
    >>> watch.ready, watch.hovered, seen
    (True, {'abc'}, ['ready', 'ready', ('abc', True)])
    >>> watch._from_page(watch, {"bye": True, "token": "B"}, [])
    >>> watch._from_page(watch, {"bye": True, "token": "A"}, [])
    >>> watch.ready, watch.hovered, seen[-2:]
    (False, set(), [('abc', False), 'gone'])
    """

    if WATCHES_HOVER:
        # (a str: anywidget keeps a widget whose _esm is a file alive, connected to its change signal)
        _esm = Path(__file__).with_name("_hover.js").read_text(encoding="utf-8")
    #: The model ids of the line charts the page watches (anywhere in the document).
    lines = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(self, *, on_hover: Callable[[str, bool], Any], on_ready: Callable[[], Any],
                 on_gone: Callable[[], Any] | None = None, lines: Iterable[str] = (),
                 monotonic: Callable[[], float] | None = None) -> None:
        super().__init__(layout={"display": "none"}, lines=list(lines))
        self._on_hover, self._on_ready, self._on_gone = on_hover, on_ready, on_gone
        if monotonic is None:
            from ..clock import WallClock  # the only module allowed to read the time

            monotonic = WallClock().monotonic
        self._monotonic = monotonic
        self._due: dict[str, float] = {}  # token -> when its hover goes without news of it
        #: True while a page has the watch loaded (from its ready to its last bye).
        self.ready = False
        self._pages: set[str] = set()  # the tokens of the views heard from since the last ready
        self._over: dict[str, str] = {}  # token -> the chart that view points at
        self.on_msg(self._from_page)

    @property
    def hovered(self) -> set[str]:
        """The model ids of the charts some view points at."""
        return set(self._over.values())

    def _from_page(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        token = content.get("token", "")
        if not isinstance(token, str):
            return
        self.expire()
        before = self.hovered
        now = self._monotonic()
        if content.get("ready") is True:
            # A new view (or one rendered again: its own hover goes): ask the live views
            # what they point at; a hover not confirmed soon goes (a reloaded or closed
            # page may not have told its leave).
            self._over.pop(token, None)
            self._due.pop(token, None)
            for other in self._due:
                self._due[other] = min(self._due[other], now + ASK_TTL)
            self._pages = {token}
            self._changed(before)
            self.ready = True
            self._on_ready()
            self.send({"ask": True})
            return
        if content.get("bye") is True:
            self._pages.discard(token)
            self._over.pop(token, None)
            self._due.pop(token, None)
            self._changed(before)
            if not self._pages and self.ready:
                self.ready = False
                if self._on_gone is not None:
                    self._on_gone()
            return
        hover = content.get("hover")
        if content.get("here") is True:
            self._pages.add(token)
            if isinstance(hover, str):
                self._over[token], self._due[token] = hover, now + HOVER_TTL
            else:
                self._over.pop(token, None)
                self._due.pop(token, None)
        elif isinstance(hover, str):
            self._pages.add(token)
            if content.get("on"):  # (also a view pointing still, saying so again)
                self._over[token], self._due[token] = hover, now + HOVER_TTL
            elif self._over.get(token) == hover:
                del self._over[token]
                self._due.pop(token, None)
        self._changed(before)

    def expire(self) -> None:
        """Forget the hovers not heard of in time (:data:`HOVER_TTL`, or :data:`ASK_TTL`
        after a new view asked): their charts' dots go unless another view points there."""
        now = self._monotonic()
        late = [token for token, due in self._due.items() if due <= now]
        if not late:
            return
        before = self.hovered
        for token in late:
            del self._due[token]
            self._over.pop(token, None)
        self._changed(before)

    def _changed(self, before: set[str]) -> None:
        after = self.hovered
        for model_id in sorted(before - after):
            self._on_hover(model_id, False)
        for model_id in sorted(after - before):
            self._on_hover(model_id, True)

    def __repr__(self) -> str:
        return f"HoverWatch(ready={self.ready})"
