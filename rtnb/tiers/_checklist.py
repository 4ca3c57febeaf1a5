"""The implementation checklist of a recommendation: each item done, or what is left.

:func:`_checklist` writes the five items for a metric and the tier chosen (latency
requirement, near-real-time polling evaluated first, budget, event capture at the
source, degradation strategy); :func:`_fmt` writes a duration in the words the checklist
and the advisor's reasons share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from ._tiers import Tier
    from .advisor import Metric
    from .cost import CostEstimate, Range

__all__ = ["ChecklistItem"]


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the implementation checklist: done, or what is left to do.

    >>> ChecklistItem("Degradation strategy", False, "decide what viewers see").mark
    '[ ]'
    """

    item: str
    done: bool
    note: str

    @property
    def mark(self) -> str:
        """``[x]`` when done, ``[ ]`` when not."""
        return "[x]" if self.done else "[ ]"

    def __str__(self) -> str:
        return f"{self.mark} {self.item}: {self.note}"


def _s(td: pd.Timedelta) -> float:
    return float(td / pd.Timedelta("1s"))


def _fmt(td: pd.Timedelta) -> str:
    s = _s(td)
    for unit, n in (("d", 86_400), ("h", 3600), ("min", 60), ("s", 1)):
        if s >= n:
            return f"{s / n:.3g} {unit}"
    return f"{s * 1000:.3g} ms"


def _checklist(m: Metric, tier: Tier, nrt_note: str, cost: CostEstimate, extra: Range | None,
               p95: pd.Timedelta, met: bool) -> tuple[ChecklistItem, ...]:
    need = f"max age {_fmt(m.max_age)}, response within {_fmt(m.response_time)}"
    items = [
        ChecklistItem("Latency requirement per metric", met,
                      f"{need}: met, data age p95 {_fmt(p95)} with {tier.label}" if met else
                      f"{need}: NOT met, data age p95 {_fmt(p95)} with {tier.label} "
                      f"({_fmt(p95 - m.max_age)} over)"),
        ChecklistItem("Near-real-time polling evaluated first", True, nrt_note),
    ]
    yearly = cost.per_year
    if m.budget_per_year is None:
        items.append(ChecklistItem("Budget", False, f"approve ${yearly:,.0f} per year "
                                   f"(build amortised over {cost.horizon_years:g} years + running)"))
    else:
        ok = yearly.high <= m.budget_per_year
        items.append(ChecklistItem("Budget", ok, f"${yearly:,.0f} per year against a budget of "
                                   f"${m.budget_per_year:,.0f}" + ("" if ok else ": over budget at the high end")))
    if m.source_latency is None:
        items.append(ChecklistItem("Event capture confirmed at the source", False,
                                   f"confirm the source emits events well within {_fmt(tier.slowest_age)}"))
    else:
        ok = m.source_latency < tier.slowest_age
        items.append(ChecklistItem("Event capture confirmed at the source", ok,
                                   f"events captured within {_fmt(m.source_latency)}"
                                   + ("" if ok else f": too slow for {tier.label} ({_fmt(tier.slowest_age)})")))
    if m.degradation:
        items.append(ChecklistItem("Degradation strategy", True, m.degradation))
    else:
        items.append(ChecklistItem("Degradation strategy", False,
                                   "decide what viewers see when the pipeline is late or down "
                                   "(a freshness badge, the last good value, a fallback to batch)"))
    return tuple(items)
