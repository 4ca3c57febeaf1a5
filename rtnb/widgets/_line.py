"""LiveLine: a metric over time, one line per key, with a bounded history (rollover)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bqplot as bq
import numpy as np
import pandas as pd

from .._errors import ParameterError, UnknownNameError
from ..health import Snapshot
from ._base import StoreView, TimeRing, check_count, check_name, float_array, key_labels

__all__ = ["LiveLine", "PALETTE"]

#: Colours of the lines, in key order (colour-blind safe, Okabe–Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def _drawable(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nothing to draw until there are two points: one point makes no line, and bqplot
    squeezes a (keys x 1) array to 1-D (one key: 0-D, a TraitError)."""
    return (x, y) if len(x) >= 2 else (x[:0], y[:, :0])


class LiveLine(StoreView, bq.Figure):
    """A metric over time (``DateScale`` x axis): one line per key, with a legend.

    Shows the top ``top_k`` keys by their current value of ``column`` (or the chosen
    ``keys``), over the last ``points`` frames: the view fills its own bounded history
    (rollover) from the store's history once, then appends the newest snapshot at each
    frame, so a frame costs O(keys) in the kernel and keys × points in the payload,
    whatever the event rate and the run time. ``band=("p05", "p95")`` shades the range
    between two columns for the first key.

    >>> import rtnb
    >>> from rtnb.store import MemoryStore
    >>> store = MemoryStore(history=100)
    >>> line = LiveLine(store, "orders", column="sum", top_k=2, points=50)
    >>> for i, t in enumerate(pd.date_range("2024-01-01 09:00", periods=3, freq="s")):
    ...     store.put(rtnb.Snapshot(metric="orders",
    ...         table=pd.DataFrame({"sum": [10.0 + i, 5.0, 1.0]}, index=["FR", "DE", "IT"]),
    ...         window=pd.Timedelta("5min"), watermark=t, newest_event=t, processed_at=t))
    >>> line.refresh(pd.Timestamp("2024-01-01 09:00:03"))
    True
    >>> line.refresh(pd.Timestamp("2024-01-01 09:00:03"))  # no new snapshot: nothing sent
    False
    >>> line.lines.labels, line.lines.y.shape, line.lines.x.dtype
    (['FR', 'DE'], (2, 3), dtype('<M8[ns]'))
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
        height: str = "320px",
    ) -> None:
        self._init_view(store, metric)
        self.column = check_name("column", column)
        self.top_k = check_count("top_k", top_k)
        self.points = check_count("points", points, minimum=2)
        if keys is not None:
            if isinstance(keys, (str, bytes)) or len(keys) == 0:
                raise ParameterError("keys", keys, "must be a non-empty list of keys, or None for the top keys")
            keys = list(keys)
        self.chosen_keys = keys
        if band is not None:
            if not (isinstance(band, (tuple, list)) and len(band) == 2 and all(isinstance(c, str) for c in band)):
                raise ParameterError("band", band, "must be a pair of column names such as ('p05', 'p95')")
            band = (band[0], band[1])
        self.band = band
        self.ring = TimeRing(self.points)
        self._colour_of: dict[Any, str] = {}  # a key keeps its colour when the ranking changes
        self._band_rings = (TimeRing(self.points), TimeRing(self.points)) if band is not None else None

        x_sc, y_sc = bq.DateScale(), bq.LinearScale()
        self.lines = bq.Lines(
            x=np.array([], dtype="datetime64[ns]"),
            y=np.array([], dtype=np.float64),
            scales={"x": x_sc, "y": y_sc},
            colors=PALETTE,
            display_legend=True,
            labels=[],
        )
        marks = [self.lines]
        self.band_mark: bq.Lines | None = None
        if band is not None:
            self.band_mark = bq.Lines(
                x=np.array([], dtype="datetime64[ns]"),
                y=np.array([], dtype=np.float64),
                scales={"x": x_sc, "y": y_sc},
                fill="between",
                colors=["#9ecae1"],
                fill_colors=["#9ecae1"],
                fill_opacities=[0.35],
                stroke_width=0.5,
            )
            marks.insert(0, self.band_mark)
        axes = [
            bq.Axis(scale=x_sc, label="event time"),
            bq.Axis(scale=y_sc, side="left", label=column, tick_format=".3s"),
        ]
        super().__init__(
            marks=marks,
            axes=axes,
            title=title if title is not None else f"{metric} · {column}",
            legend_location="top-left",
            animation_duration=0,
            fig_margin={"top": 40, "bottom": 40, "left": 60, "right": 20},
            layout={"height": height, "width": "auto", "min_width": "300px"},
        )
        self.add_class("rtnb-live-line")

    def shown_keys(self, snapshot: Snapshot) -> list[Any]:
        """The keys drawn for ``snapshot``: the chosen ones, or the top ``top_k``."""
        if self.chosen_keys is not None:
            return list(self.chosen_keys)
        table = snapshot.table
        if self.column not in table.columns or table.empty:
            return []
        values = pd.to_numeric(table[self.column], errors="coerce").dropna()  # no line to draw for NaN
        return list(values.sort_values(ascending=False, kind="stable").index[: self.top_k])

    def _record(self, ring: TimeRing, column: str, snapshot: Snapshot) -> None:
        if len(ring) == 0:  # first sight of the metric: start from the store's history
            try:
                ring.fill(self.store.history(self.metric, column))
            except UnknownNameError:
                pass
        t = snapshot.newest_event
        if t is not None and column in snapshot.table.columns:
            values = pd.to_numeric(snapshot.table[column], errors="coerce").dropna()
            ring.append(t, dict(zip(values.index, values.to_numpy(dtype=np.float64))))

    def _apply(self, snapshot: Snapshot, now: pd.Timestamp | None) -> None:
        self._record(self.ring, self.column, snapshot)
        keys = self.shown_keys(snapshot)
        x, y = _drawable(*self.ring.arrays(keys))
        for k in keys:
            if k not in self._colour_of:
                used = set(self._colour_of.values()) & {self._colour_of.get(j) for j in keys}
                free = [c for c in PALETTE if c not in used] or PALETTE
                self._colour_of[k] = free[0]
        if len(self._colour_of) > 4 * len(PALETTE):  # bounded: forget keys not shown now
            self._colour_of = {k: self._colour_of[k] for k in keys}
        with self.lines.hold_sync():
            self.lines.x = x
            self.lines.y = y
            self.lines.labels = key_labels(snapshot.table.index, keys, self.metric)
            self.lines.colors = [self._colour_of[k] for k in keys]
        if self._band_rings is not None:
            lo, hi = self._band_rings
            self._record(lo, self.band[0], snapshot)
            self._record(hi, self.band[1], snapshot)
            if keys:
                bx, lo_y = _drawable(*lo.arrays(keys[:1]))
                _, hi_y = _drawable(*hi.arrays(keys[:1]))
                with self.band_mark.hold_sync():
                    self.band_mark.x = bx
                    self.band_mark.y = float_array(np.vstack([lo_y, hi_y]))

    def __repr__(self) -> str:
        return f"LiveLine(metric={self.metric!r}, column={self.column!r}, keys={list(self.lines.labels)!r})"

