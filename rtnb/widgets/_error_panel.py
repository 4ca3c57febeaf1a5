"""ErrorPanel: rejected, late and duplicate rows, and the last reasons, never hidden."""

from __future__ import annotations

import html
import weakref
from collections import deque
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..health import Counters, Snapshot
from ._base import StoreView, check_count
from ._live_html import LiveHTML

__all__ = ["ErrorPanel", "describe_rejects"]


def describe_rejects(item: Any) -> list[str]:
    """Lines of text for one item of a dead-letter or error stream.

    A DataFrame of rejected rows with a ``reason`` column gives one line per reason
    (with its row count); an exception gives its type and message.

    >>> describe_rejects(pd.DataFrame({"reason": ["amount is NaN", "amount is NaN", "ts is missing"]}))
    ['2 rows: amount is NaN', '1 row: ts is missing']
    >>> describe_rejects(ValueError("bad batch"))
    ['ValueError: bad batch']

    An error the runner caught (:class:`rtnb.RunError`) gives its time of day to the
    second (the dashboard's clock says the day; "12:03:43.094954878" was noise):

    >>> from rtnb.health import RunError
    >>> describe_rejects(RunError(at=pd.Timestamp("2024-01-01 12:03:43.0949"), where="source", name="orders",
    ...                           kind="SourceUnavailable", message="outage"))
    ['12:03:43 source orders: SourceUnavailable: outage']
    """
    if isinstance(item, pd.DataFrame):
        if "reason" in item.columns and len(item):
            counts = item["reason"].astype(str).value_counts(sort=False)
            return [f"{n} row{'s' if n != 1 else ''}: {reason}" for reason, n in counts.items()]
        return [f"{len(item)} row{'s' if len(item) != 1 else ''} rejected"] if len(item) else []
    at = getattr(item, "at", None)
    if isinstance(at, pd.Timestamp) and all(hasattr(item, k) for k in ("where", "name", "kind", "message")):
        return [f"{at:%H:%M:%S} {item.where} {item.name}: {item.kind}: {item.message}"]  # rtnb.RunError
    if callable(getattr(item, "describe", None)):  # anything else that says itself in one line
        return [str(item.describe())]
    if isinstance(item, BaseException):
        return [f"{type(item).__name__}: {item}"]
    if isinstance(item, dict) and "reason" in item:
        return [str(item["reason"])]
    if isinstance(item, tuple) and item and isinstance(item[-1], BaseException):
        return describe_rejects(item[-1])
    return [str(item)]


class _WeakCall:
    """Calls a bound method while its object lives (a sink must not keep a view alive)."""

    def __init__(self, method: Any) -> None:
        self._ref = weakref.WeakMethod(method)

    def __call__(self, item: Any) -> None:
        method = self._ref()
        if method is not None:
            method(item)


class ErrorPanel(StoreView, LiveHTML):
    """Counters of rejected, late and duplicate rows, and the last reasons.

    Counters come from the metric's latest snapshot. ``dead_letter`` (the pipeline's
    stream of rejected rows, each a DataFrame with a ``reason`` column) and ``errors``
    (the runner's stream of errors) are buffered (the ``last`` newest reasons, bounded)
    and shown at the next frame, so stream errors are surfaced, never passed silently.

    >>> import rtnb
    >>> from rtnb.store import MemoryStore
    >>> store = MemoryStore()
    >>> panel = ErrorPanel(store, "orders", last=3)
    >>> t = pd.Timestamp("2024-01-01 09:00")
    >>> store.put(rtnb.Snapshot(metric="orders", table=pd.DataFrame({"count": [1]}),
    ...     window=None, watermark=t, newest_event=t, processed_at=t,
    ...     counters=rtnb.Counters(received=5, accepted=2, rejected=2, late=1)))
    >>> panel.add_rejects(pd.DataFrame({"reason": ["amount < 0", "amount < 0"]}))
    >>> panel.refresh(t)
    True
    >>> panel.counters.rejected, panel.reasons
    (2, ['2 rows: amount < 0'])
    """

    def __init__(
        self,
        store: Any,
        metric: str,
        *,
        dead_letter: Any = None,
        errors: Any = None,
        last: int = 5,
        title: str = "Rejected, late and duplicate rows",
    ) -> None:
        self._init_view(store, metric)
        self.last = check_count("last", last)
        self.title = title
        self.counters = Counters()
        self._reasons: deque[str] = deque(maxlen=self.last)
        self.rejects_seen = 0
        self._dirty = False
        super().__init__(value=self._html())
        self.add_class("rtnb-error-panel")
        # Streams only append to a bounded buffer; the widget changes at frame time,
        # on the kernel's loop, whatever thread the stream runs on.
        # The sinks hold the panel weakly (streamz keeps every sink in a module-level
        # set): a panel nobody shows can go; close() also takes the sinks away.
        self._sinks = []
        for stream in (dead_letter, errors):
            if stream is not None:
                self._sinks.append(stream.sink(_WeakCall(self.add_rejects)))

    def close(self) -> None:
        """Stop listening to the streams and close the widget."""
        for node in getattr(self, "_sinks", ()):
            node.destroy()
        self._sinks = []
        super().close()

    @property
    def reasons(self) -> list[str]:
        """The newest reasons, oldest first (at most ``last``)."""
        return list(self._reasons)

    def add_rejects(self, item: Any) -> None:
        """Record an item of a dead-letter or error stream; shown at the next frame."""
        lines = describe_rejects(item)
        if isinstance(item, pd.DataFrame):
            self.rejects_seen += len(item)
        self._reasons.extend(lines)
        if lines:
            self._dirty = True

    def _apply(self, snapshot: Snapshot, now: pd.Timestamp | None) -> None:
        self.counters = snapshot.counters
        self._dirty = True

    def _tick(self, now: pd.Timestamp | None) -> None:
        if self._dirty:
            self._dirty = False
            self.value = self._html()

    def _html(self) -> str:
        c = self.counters
        cells = "".join(
            f'<td class="rtnb-count-{name}" data-count="{getattr(c, name)}" style="padding:2px 10px">'
            f'<b style="font-size:18px;color:{"#D55E00" if getattr(c, name) and name != "received" else "#333"}">'
            f"{getattr(c, name):,}</b>"
            f"<br><span style='font-size:11px;color:#555'>{name}</span></td>"
            for name in ("received", "rejected", "late", "duplicates")
        )
        items = "".join(f"<li>{html.escape(r)}</li>" for r in reversed(self._reasons))
        reasons = (
            # (line-height: a reason wrapped in a half-width panel read as two entries)
            f'<ul class="rtnb-reasons" style="margin:4px 0;padding-left:18px;font-size:12px;'
            f'line-height:1.35">{items}</ul>'
            if items
            else '<div class="rtnb-reasons" style="font-size:12px;color:#777">no rejected rows</div>'
        )
        return (
            f'<div class="rtnb-errors" data-rejected="{c.rejected}" data-late="{c.late}" '
            f'data-duplicates="{c.duplicates}">'
            f'<div style="font-size:12px;color:#555">{html.escape(self.title)}</div>'
            f"<table><tr>{cells}</tr></table>{reasons}</div>"
        )

    def __repr__(self) -> str:
        return f"ErrorPanel(metric={self.metric!r}, counters={self.counters!r}, reasons={self.reasons!r})"
