"""The tiers lab: latency tiers, delivery patterns, their simulation, cost and advice.

- :mod:`~rtnb.tiers._tiers` — :class:`Tier` objects and :func:`classify`;
- :mod:`~rtnb.tiers.delivery` — patterns (batch refresh, polling, SSE, WebSocket);
- :mod:`~rtnb.tiers.workload` — when data exists (a rate, event times, a Source);
- :mod:`~rtnb.tiers.simulation` — :func:`simulate_delivery` (also ``simulate``),
  vectorised in virtual time;
- :mod:`~rtnb.tiers.cost` — :class:`CostModel` with the published figures as defaults;
- :mod:`~rtnb.tiers.advisor` — :func:`advise` (the decision-change test and the
  implementation checklist) and :func:`break_even`.

Nothing here imports ipywidgets or bqplot: plots live in notebooks and rtnb.widgets.

>>> from rtnb import tiers
>>> tiers.classify("30s").name
'real_time'
"""

from __future__ import annotations

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
    "get_pattern",
    "get_tier",
    "pattern_for",
    "simulate",
    "simulate_delivery",
    "simulate_tiers",
]
