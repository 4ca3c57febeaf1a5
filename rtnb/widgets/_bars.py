"""LiveBars: the current value per key, sorted, top-k."""

from __future__ import annotations

from typing import Any

import bqplot as bq
import numpy as np
import pandas as pd

from .._checks import check_str
from .._errors import ParameterError
from ..health import Snapshot
from ._base import StoreView, check_count, check_name, key_labels, plot_array
from ._style import MARGINS, KeyColours, axis_label, show_value_range, value_axis

__all__ = ["LiveBars"]


class LiveBars(StoreView, bq.Figure):
    """The current value of ``column`` per key in the latest snapshot, largest first.

    Only the ``top_k`` largest keys are drawn, so the payload per frame is bounded by
    ``top_k`` whatever the number of keys. Each bar has its key's colour (``colours``,
    shared with the line chart of a dashboard, so a country is one colour in both);
    hovering a bar shows its key and value; the axis has SI ticks and the ``unit``.

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
    (['DE', 'IT'], array([9., 5.], dtype=float32))
    >>> len(set(bars.bars.colors)) == 2     # one colour per key
    True
    """

    def __init__(
        self,
        store: Any,
        metric: str,
        *,
        column: str,
        top_k: int = 10,
        title: str | None = None,
        unit: str = "",
        colours: KeyColours | None = None,
        height: str = "320px",
    ) -> None:
        self._init_view(store, metric)
        self.column = check_name("column", column)
        self.top_k = check_count("top_k", top_k)
        self.unit = check_str("unit", unit, empty=True)
        if colours is not None and not isinstance(colours, KeyColours):
            raise ParameterError("colours", colours, "must be a KeyColours (shared by the views of a dashboard) or None")
        self.colours = colours if colours is not None else KeyColours()
        x_sc, y_sc = bq.OrdinalScale(), bq.LinearScale(min=0.0)
        self.x_scale, self.y_scale = x_sc, y_sc
        self.bars = bq.Bars(
            x=np.array([], dtype=str),
            y=np.array([], dtype=np.float32),
            scales={"x": x_sc, "y": y_sc},
            colors=["#0072B2"],
            color_mode="no_group",
            padding=0.2,
            tooltip=bq.Tooltip(fields=["x", "y"], formats=["", ".4~s"], labels=["key", column]),
        )
        super().__init__(
            marks=[self.bars],
            axes=[
                bq.Axis(scale=x_sc, num_ticks=None),
                value_axis(y_sc, axis_label(column, self.unit)),
            ],
            title=title if title is not None else f"{metric} · {column} by key",
            animation_duration=0,
            display_toolbar=False,
            fig_margin=dict(MARGINS),
            layout={"height": height, "width": "auto", "min_width": "300px"},
        )
        self.add_class("rtnb-live-bars")

    def _apply(self, snapshot: Snapshot, now: pd.Timestamp | None) -> None:
        if self.column in snapshot.columns:  # the top k rows only, not the whole table
            top = snapshot.top(self.top_k, by=self.column)
            values, index = pd.to_numeric(top[self.column], errors="coerce"), top.index
        else:
            values, index = pd.Series([], dtype="float64"), pd.RangeIndex(0)
        keys = key_labels(index, list(values.index), self.metric)
        # The ordinal scale keeps the order keys first came in unless told the order.
        self.x_scale.domain = keys
        # Bars start at zero; a negative value (a refund, a loss, -5 °C) extends the axis
        # down instead of being drawn outside it (the domain, set by show_value_range,
        # moves in steps: sent only when a value crosses one).
        floor = min(0.0, float(values.min())) if len(values) else 0.0
        # (All negative: the domain ends at zero, so the bars hang from it: value_domain.)
        colours = self.colours.assign(list(values.index)) if len(values) else ["#0072B2"]
        with self.bars.hold_sync():
            self.bars.x = np.array(keys, dtype=str)
            self.bars.y = plot_array(values)
            self.bars.colors = colours
        show_value_range(self.axes[1], np.append(values.to_numpy(dtype=np.float64), 0.0))  # zero always a tick

    def __repr__(self) -> str:
        return f"LiveBars(metric={self.metric!r}, column={self.column!r}, keys={list(self.bars.x)!r})"
