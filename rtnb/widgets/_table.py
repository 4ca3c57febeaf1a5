"""LiveTable: the current snapshot as a table, sortable, the top rows only.

A plain HTML table in one ipywidgets message per frame (bounded by ``rows``), with a
"sort by" control: no extra front-end to install, and cheaper per frame than a data
grid widget for the few dozen rows a dashboard shows (``benchmarks/bench_views.py``
measures its per-frame cost).
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from .._checks import check_bool, check_int, check_str
from .._errors import UnknownNameError
from ..health import Snapshot
from ._base import StoreView
from ._format import si
from ._live_html import LiveHTML

__all__ = ["LiveTable"]


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "–"
        return si(float(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    return html.escape(str(value))


class LiveTable(StoreView, widgets.VBox):
    """The latest snapshot's table (one row per key), sorted by a column, top ``rows``.

    ``sort_by`` (a column of the table, or ``"key"``) and ``ascending`` can be changed
    by the user (the controls above the table) or in code; the table is rebuilt at the
    next frame, or at once when changed. Numbers are shown in SI form (``12.3k``).

    >>> import rtnb
    >>> from rtnb.store import MemoryStore
    >>> store = MemoryStore()
    >>> table = LiveTable(store, "orders", sort_by="sum", rows=2)
    >>> t = pd.Timestamp("2024-01-01 09:00")
    >>> store.put(rtnb.Snapshot(metric="orders",
    ...     table=pd.DataFrame({"count": [3, 9, 5], "sum": [30.0, 12_000.0, 50.0]}, index=["FR", "DE", "IT"]),
    ...     window=pd.Timedelta("5min"), watermark=t, newest_event=t, processed_at=t))
    >>> table.refresh(t)
    True
    >>> table.shown_keys
    ['DE', 'IT']
    >>> table.sort_by, table.ascending = "count", True
    >>> table.shown_keys
    ['FR', 'IT']
    """

    def __init__(
        self,
        store: Any,
        metric: str,
        *,
        sort_by: str = "key",
        ascending: bool = False,
        rows: int = 20,
        title: str | None = None,
    ) -> None:
        self._init_view(store, metric)
        self.rows = check_int("rows", rows, minimum=1)
        sort_by = check_str("sort_by", sort_by)
        self._snapshot: Snapshot | None = None
        self.shown_keys: list[Any] = []
        self.title = title if title is not None else f"{metric} · now"
        self.sort_control = widgets.Dropdown(options=[sort_by] if sort_by != "key" else ["key"], value=sort_by,
                                             description="sort by", layout={"width": "200px"})
        self.order_control = widgets.ToggleButton(value=check_bool("ascending", ascending),
                                                  description="ascending" if ascending else "descending",
                                                  icon="sort-amount-asc" if ascending else "sort-amount-desc")
        self.html = LiveHTML(value=self._render())  # (patched in the page, not re-set)
        self.sort_control.observe(self._on_control, names="value")
        self.order_control.observe(self._on_control, names="value")
        super().__init__(
            [widgets.HBox([self.sort_control, self.order_control]), self.html],
            layout={"border": "1px solid #ddd", "padding": "6px", "min_width": "300px", "overflow": "auto"},
        )
        self.add_class("rtnb-live-table")

    @property
    def sort_by(self) -> str:
        """The column the rows are sorted by (``"key"``: by key)."""
        return self.sort_control.value

    @sort_by.setter
    def sort_by(self, value: str) -> None:
        options = list(self.sort_control.options)
        if value not in options:
            raise UnknownNameError("sort_by", value, options)
        self.sort_control.value = value

    @property
    def ascending(self) -> bool:
        """True: smallest first."""
        return self.order_control.value

    @ascending.setter
    def ascending(self, value: bool) -> None:
        self.order_control.value = check_bool("ascending", value)

    def _on_control(self, change: dict) -> None:
        self.order_control.description = "ascending" if self.ascending else "descending"
        self.order_control.icon = "sort-amount-asc" if self.ascending else "sort-amount-desc"
        self.html.value = self._render()

    def _apply(self, snapshot: Snapshot, now: pd.Timestamp | None) -> None:
        self._snapshot = snapshot
        options = ["key", *[str(c) for c in snapshot.columns]]
        if list(self.sort_control.options) != options:
            current = self.sort_by
            self.sort_control.unobserve(self._on_control, names="value")
            try:
                self.sort_control.options = options  # (resets the value to the first option)
                self.sort_control.value = current if current in options else "key"
            finally:
                self.sort_control.observe(self._on_control, names="value")
        self.html.value = self._render()

    def _sorted(self) -> pd.DataFrame:
        snap = self._snapshot
        if (snap is not None and self.sort_by != "key" and self.sort_by in snap.columns
                and (snap.key_table is not None or pd.api.types.is_numeric_dtype(snap.table[self.sort_by]))):
            top = snap.top(self.rows, by=self.sort_by, ascending=self.ascending)  # the shown rows only
            if len(top) == min(self.rows, snap.n_keys):  # else NaN rows fill the page: sort them all
                return top
        table = snap.table if snap is not None else pd.DataFrame()
        if self.sort_by == "key" or self.sort_by not in table.columns:
            try:
                ordered = table.sort_index(ascending=self.ascending, kind="stable")
            except TypeError:  # keys of mixed types
                ordered = table
        else:
            ordered = table.sort_values(self.sort_by, ascending=self.ascending, kind="stable", na_position="last")
        return ordered.iloc[: self.rows]

    def _render(self) -> str:
        if self._snapshot is None:
            self.shown_keys = []
            return '<div class="rtnb-table-empty" style="color:#777;font-size:12px">no data yet</div>'
        top = self._sorted()
        self.shown_keys = list(top.index)
        name = html.escape(str(top.index.name or "key"))
        head = "".join(f'<th style="text-align:right;padding:2px 8px">{html.escape(str(c))}</th>' for c in top.columns)
        # One column at a time, as plain Python lists (iterating pandas rows costs 10x).
        cells = [[_cell(v) for v in top[c].tolist()] for c in top.columns]
        td = '<td style="text-align:right;padding:2px 8px">'
        body = "".join(
            f'<tr><td style="padding:2px 8px">{html.escape(str(k))}</td>'
            + "".join(f"{td}{col[i]}</td>" for col in cells)
            + "</tr>"
            for i, k in enumerate(top.index.tolist())
        )
        more = self._snapshot.n_keys - len(top)
        foot = f'<div style="font-size:11px;color:#777">{more:,} more rows</div>' if more > 0 else ""
        return (
            f'<div style="font-size:12px;color:#555">{html.escape(self.title)}</div>'
            f'<table class="rtnb-table" data-rows="{len(top)}" style="border-collapse:collapse;font-size:12px">'
            f'<tr><th style="text-align:left;padding:2px 8px">{name}</th>{head}</tr>{body}</table>{foot}'
        )

    def __repr__(self) -> str:
        return f"LiveTable(metric={self.metric!r}, sort_by={self.sort_by!r}, rows={len(self.shown_keys)})"
