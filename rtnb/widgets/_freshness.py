"""FreshnessBadge: how old the data shown is, against the metric's limit (its tier)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import pandas as pd
import traitlets

from .._errors import ParameterError
from .._time import DurationLike, to_duration
from ..health import Snapshot, describe_age, freshness
from ._base import StoreView

__all__ = ["FreshnessBadge"]

_COLOURS = {"fresh": "#009E73", "late": "#E69F00", "stale": "#D55E00"}


def _span(td: pd.Timedelta) -> str:
    s = td.total_seconds()
    return f"{s:g} s" if s < 120 else f"{s / 60:g} min"


class FreshnessBadge(StoreView, widgets.HTML):
    """The data age (processing time minus newest event time) as fresh / late / stale.

    It ticks on its own: every frame it recomputes the age at the clock's ``now``,
    so when a source stalls or the pipeline stops, the badge turns ``late`` and then
    ``stale`` although no snapshot arrives. ``limit`` is the metric's freshness limit
    (its latency tier); ``stale_after`` defaults to three times the limit.

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
    """

    #: ``fresh``, ``late`` or ``stale``; observable (not sent to the browser by itself).
    state = traitlets.Unicode("stale")
    #: ``up`` or ``down``: the serving layer's status, for stores that report one.
    store_status = traitlets.Unicode("up")

    def __init__(
        self,
        store: Any,
        metric: str,
        *,
        limit: DurationLike,
        stale_after: DurationLike | None = None,
        label: str | None = None,
    ) -> None:
        self._init_view(store, metric)
        self.limit = to_duration(limit, "limit")
        self.stale_after = None if stale_after is None else to_duration(stale_after, "stale_after")
        if self.stale_after is not None and self.stale_after < self.limit:  # in the user's words
            raise ParameterError("stale_after", stale_after, f"must be at least the limit ({_span(self.limit)})")
        self.label = label if label is not None else metric
        self.age: pd.Timedelta | None = None
        self.age_text = describe_age(None)
        self._snapshot: Snapshot | None = None
        super().__init__(value=self._html("stale"))
        self.add_class("rtnb-freshness-badge")

    def _apply(self, snapshot: Snapshot, now: pd.Timestamp | None) -> None:
        self._snapshot = snapshot

    def _tick(self, now: pd.Timestamp | None) -> None:
        self.tick(now)

    def tick(self, now: pd.Timestamp | None) -> None:
        """Recompute the age at ``now`` (default: the snapshot's processing time)."""
        snap = self._snapshot
        if snap is None:
            age = None
        else:
            age = snap.age_at(now) if now is not None else snap.data_age
        state = freshness(age, self.limit, stale_after=self.stale_after)
        self.store_status = "down" if getattr(self.store, "status", "up") == "down" else "up"
        self.age = age
        self.age_text = describe_age(age)
        self.value = self._html(state)  # one message, and only when the text changed
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
        return (
            f'<span class="rtnb-freshness rtnb-{state}" data-state="{state}" '
            f'data-store="{self.store_status}"{stamp} '
            f'style="display:inline-block;padding:2px 10px;border-radius:10px;color:white;'
            f'background:{colour};font-size:13px">● {html.escape(self.label)}: {state} — '
            f"{html.escape(self.age_text)} (limit {_span(self.limit)}){down}</span>"
        )

    def __repr__(self) -> str:
        return f"FreshnessBadge(metric={self.metric!r}, state={self.state!r}, age={self.age_text!r})"
