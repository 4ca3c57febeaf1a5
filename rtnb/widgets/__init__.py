"""Live views: bqplot and ipywidgets widgets fed by snapshots from the store.

The only package of rtnb that imports ipywidgets or bqplot. Every view polls the store
by version at frame time (``refresh(now)``, called by the runner's ``on_frame``), so
what it sends to the browser depends on views × points × frame rate, never on the
event rate; its history is bounded; all trait changes of a frame go in one
``hold_sync()``.
"""

from __future__ import annotations

from ._bars import LiveBars
from ._base import FrameGate
from ._dashboard import Dashboard
from ._error_panel import ErrorPanel
from ._format import SI_TICKS, duration, linear_ticks, log_ticks, money, nice_ticks, si, tick_labels
from ._freshness import FreshnessBadge
from ._kpi import KpiTile
from ._line import LiveLine
from ._quick import dashboard
from ._style import KeyColours
from ._table import LiveTable

__all__ = [
    "Dashboard", "ErrorPanel", "FreshnessBadge", "FrameGate", "KeyColours", "KpiTile", "LiveBars", "LiveLine",
    "LiveTable", "dashboard",
    # formatting shared by every view (numbers, durations, money, tick values)
    "SI_TICKS", "duration", "linear_ticks", "log_ticks", "money", "nice_ticks", "si", "tick_labels",
]
