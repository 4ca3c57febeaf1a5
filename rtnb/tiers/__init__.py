"""The tiers lab: latency tiers, delivery patterns, their simulation, cost and advice.

- :mod:`~rtnb.tiers._tiers` — :class:`Tier` objects and :func:`classify`;
- :mod:`~rtnb.tiers.delivery` — patterns (batch refresh, polling, SSE, WebSocket);
- :mod:`~rtnb.tiers.workload` — when data exists (a rate, event times, a Source);
- :mod:`~rtnb.tiers.simulation` — :func:`simulate_delivery` (also ``simulate``),
  vectorised in virtual time;
- :mod:`~rtnb.tiers.cost` — :class:`CostModel` with the published figures as defaults;
- :mod:`~rtnb.tiers.advisor` — :func:`advise` (the decision-change test and the
  implementation checklist) and :func:`break_even`.

Nothing here imports ipywidgets or bqplot: plots live in rtnb.widgets, and the widgets
below are imported on first call —

- :func:`explorer` — data age against cost, break-even and the advisor, with sliders;
- :func:`timeline` — one stream through the four tiers on one time axis, played live.

>>> from rtnb import tiers
>>> tiers.classify("30s").name
'real_time'
"""

from __future__ import annotations

import typing as _typing

from ._tiers import TIER_NAMES, TIERS, Tier, classify, get_tier
from .advisor import (
    DECISION_CHANGE_AGE,
    EXAMPLES,
    ChecklistItem,
    Metric,
    Recommendation,
    advise,
    advise_many,
    break_even,
    break_even_curve,
    tier_costs,
)
from .cost import PUBLISHED, CostEstimate, CostModel, Range
from .delivery import (
    LOAD_COLUMNS,
    PATTERN_NAMES,
    BatchRefresh,
    Polling,
    ServerSentEvents,
    WebSocketPush,
    get_pattern,
    pattern_for,
)
from .simulation import Simulation, compare, simulate, simulate_tiers

# The delivery simulation under a name of its own: ``rtnb.simulate`` is the event source.
# ``tiers.simulate`` stays as the same function, so nothing written before breaks.
simulate_delivery = simulate
from .workload import Workload



def explorer(**options: _typing.Any) -> _typing.Any:
    """The tiers explorer (a widget): sliders for viewers, polling interval, event rate,
    the cost model and the value of a minute of delay; charts of data age against cost
    and of the break-even; the tiers and the advisor in tables in words. Options as
    :class:`rtnb.widgets.TiersExplorer` (imported on first use).

    >>> ex = explorer(viewers=20, hours=0.25)
    >>> ex.event_rate.value = 100.0
    >>> ex.tier_table.columns[:3].tolist()
    ['delivery', 'data age p50', 'data age p95']
    """
    from ..widgets._tiers_explorer import TiersExplorer

    return TiersExplorer(**options)


def timeline(source: _typing.Any = None, **options: _typing.Any) -> _typing.Any:
    """One stream seen through the four tiers on one shared time axis, played live in
    simulated time, with pause, speed and replay (a widget). Options as
    :class:`rtnb.widgets.TierTimeline` (imported on first use).

    >>> import pandas as pd
    >>> tl = timeline(hours=1, viewers=5)
    >>> tl.show(tl.start + pd.Timedelta("30min"))
    >>> tl.updates["near_real_time"] >= 29
    True
    """
    from ..widgets._tiers_timeline import TierTimeline

    return TierTimeline(source, **options)


__all__ = [
    "BatchRefresh",
    "ChecklistItem",
    "CostEstimate",
    "CostModel",
    "DECISION_CHANGE_AGE",
    "EXAMPLES",
    "Metric",
    "PUBLISHED",
    "Range",
    "Recommendation",
    "advise",
    "advise_many",
    "break_even",
    "break_even_curve",
    "tier_costs",
    "LOAD_COLUMNS",
    "PATTERN_NAMES",
    "Polling",
    "ServerSentEvents",
    "Simulation",
    "TIERS",
    "TIER_NAMES",
    "Tier",
    "WebSocketPush",
    "Workload",
    "classify",
    "compare",
    "explorer",
    "timeline",
    "get_pattern",
    "get_tier",
    "pattern_for",
    "simulate",
    "simulate_delivery",
    "simulate_tiers",
]
