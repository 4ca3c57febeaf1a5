"""LiveBars: the current value per key, sorted, top-k."""

from __future__ import annotations

from typing import Any

import bqplot as bq
import numpy as np
import pandas as pd

from ..health import Snapshot
from ._base import StoreView, check_count, check_name, float_array, key_labels

__all__ = ["LiveBars"]


class LiveBars(StoreView, bq.Figure):
    """The current value of ``column`` per key in the latest snapshot, largest first.

    Only the ``top_k`` largest keys are drawn, so the payload per frame is bounded by
    ``top_k`` whatever the number of keys.

    >>> import rtnb
    >>> from rtnb.store import MemoryStore
    >>> store = MemoryStore()
    >>> bars = LiveBars(store, "orders", column="count", top_k=2)
    >>> t = pd.Timestamp("2024-01-01 09:00")
    >>> store.put(rtnb.Snapshot(metric="orders",
    ...     table=pd.DataFrame({"count": [3, 9, 5]}, index=["FR", "DE", "IT"]),
    ...     window=pd.Timedelta("5min"), watermark=t, newest_event=t, processed_at=t))
    >>> bars.refresh(t)
    True
    >>> bars.bars.x.tolist(), bars.bars.y
    (['DE', 'IT'], array([9., 5.]))
    """

    def __init__(
        self,
        store: Any,
        metric: str,
        *,
        column: str,
        top_k: int = 10,
        title: str | None = None,
        color: str = "#0072B2",
        height: str = "320px",
    ) -> None:
        self._init_view(store, metric)
        self.column = check_name("column", column)
        self.top_k = check_count("top_k", top_k)
        x_sc, y_sc = bq.OrdinalScale(), bq.LinearScale(min=0.0)
        self.x_scale, self.y_scale = x_sc, y_sc
        self.bars = bq.Bars(
            x=np.array([], dtype=str),
            y=np.array([], dtype=np.float64),
            scales={"x": x_sc, "y": y_sc},
            colors=[color],
            padding=0.2,
        )
        super().__init__(
            marks=[self.bars],
            axes=[
                bq.Axis(scale=x_sc),
                bq.Axis(scale=y_sc, side="left", label=column, tick_format=".3s"),
            ],
            title=title if title is not None else f"{metric} · {column} by key",
            animation_duration=0,
            fig_margin={"top": 40, "bottom": 40, "left": 60, "right": 20},
            layout={"height": height, "width": "auto", "min_width": "300px"},
        )
        self.add_class("rtnb-live-bars")

    def _apply(self, snapshot: Snapshot, now: pd.Timestamp | None) -> None:
        table = snapshot.table
        if self.column in table.columns:
            values = pd.to_numeric(table[self.column], errors="coerce").dropna()
            values = values.sort_values(ascending=False, kind="stable").iloc[: self.top_k]
        else:
            values = pd.Series([], dtype="float64")
        keys = key_labels(table.index, list(values.index), self.metric)
        # The ordinal scale keeps the order keys first came in unless told the order.
        self.x_scale.domain = keys
        # Bars start at zero; a negative value (a refund, a loss, -5 °C) extends the axis
        # down instead of being drawn outside it. Sent only when the floor changes.
        floor = min(0.0, float(values.min())) if len(values) else 0.0
        if self.y_scale.min != floor:
            self.y_scale.min = floor
        with self.bars.hold_sync():
            self.bars.x = np.array(keys, dtype=str)
            self.bars.y = float_array(values)

    def __repr__(self) -> str:
        return f"LiveBars(metric={self.metric!r}, column={self.column!r}, keys={list(self.bars.x)!r})"
