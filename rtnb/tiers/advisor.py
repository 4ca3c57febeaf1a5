"""Which tier a metric needs: the decision-change test, break-even and a checklist.

:func:`advise` takes a metric's description (:class:`Metric`: the maximum acceptable
data age, how fast anyone can respond to a change, the decision it feeds and what a
minute of delay is worth) and recommends a tier and a delivery pattern, with reasons,
the cost range and the implementation checklist. The rules, in order:

1. **Decision-change test** — "what would I do differently if this were 10 minutes old
   instead of 1 second?" Nothing, when the response to a change takes longer than 10
   minutes: then data fresher than the response time is wasted, and the effective maximum
   age becomes the response time.
2. **Classify** the effective maximum age into the cheapest tier that meets it
   (:func:`~rtnb.tiers.classify`).
3. **Break-even, near-real-time polling evaluated first** — with a value of a minute
   of delay, a faster tier must pay for itself against the next slower one: value per
   minute x minutes of data age saved >= extra cost per year (low end). Otherwise the
   advisor steps down and says why.

The decision follows the inputs, never the metric's name; :data:`EXAMPLES` is a
catalogue of the metrics of the published guidance with realistic inputs.

>>> advise(EXAMPLES["fraud_alerts"]).tier.name
'real_time'
>>> advise(max_age="1D", response_time="7D").tier.name
'batch'

The break-even (:func:`break_even`, :func:`break_even_curve`) and the costs of each
tier (:func:`tier_costs`) are defined in :mod:`rtnb.tiers._break_even`, the
implementation checklist (:class:`ChecklistItem`) in :mod:`rtnb.tiers._checklist`;
all are importable from here as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_int
from .._errors import ParameterError
from .._time import to_duration
from ._break_even import break_even, break_even_curve, minutes_and_extra, tier_costs
from ._checklist import ChecklistItem, _checklist, _fmt
from ._tiers import TIER_NAMES, Tier, classify, get_tier
from .cost import CostEstimate, CostModel, Range
from .delivery import Pattern, pattern_for
from .simulation import Simulation, simulate


__all__ = [
    "Metric",
    "EXAMPLES",
    "ChecklistItem",
    "Recommendation",
    "advise",
    "advise_many",
    "break_even",
    "break_even_curve",
    "tier_costs",
    "DECISION_CHANGE_AGE",
]

#: The decision-change test compares data this old with data one second old.
DECISION_CHANGE_AGE = pd.Timedelta("10min")


@dataclass(frozen=True, kw_only=True)
class Metric:
    """What the advisor needs to know about a metric.

    ``max_age`` — the oldest data anyone may act on; ``response_time`` — how fast the
    response to a change can happen (a machine: seconds; an on-call engineer: minutes;
    a weekly review: a week); ``decision`` — the decision it feeds, in words;
    ``value_per_minute`` — what one minute less of data age is worth per year to that
    decision, in money (None: unknown, no break-even check); ``viewers`` and
    ``event_rate`` — for the load-driven costs; ``budget_per_year``,
    ``source_latency`` (how soon events are captured at the source; None: not
    confirmed) and ``degradation`` (what viewers see when the pipeline is late or down)
    — for the checklist.

    >>> Metric(name="orders", max_age="5min", response_time="10min").max_age
    Timedelta('0 days 00:05:00')
    >>> Metric(name="orders", max_age="5min", response_time="10min", viewers=-1)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: viewers=-1 is invalid: must be an integer >= 1
    """

    name: str = "metric"
    max_age: pd.Timedelta
    response_time: pd.Timedelta
    decision: str = ""
    value_per_minute: float | None = None
    viewers: int = 50
    event_rate: float = 10.0
    budget_per_year: float | None = None
    source_latency: pd.Timedelta | None = None
    degradation: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_age", to_duration(self.max_age, "max_age"))
        object.__setattr__(self, "response_time", to_duration(self.response_time, "response_time"))
        if self.source_latency is not None:
            object.__setattr__(self, "source_latency",
                               to_duration(self.source_latency, "source_latency", allow_zero=True))
        for name in ("value_per_minute", "budget_per_year"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0):
                raise ParameterError(name, v, "must be a number >= 0 or None")
        if isinstance(self.viewers, bool) or not isinstance(self.viewers, (int, np.integer)) or self.viewers < 1:
            raise ParameterError("viewers", self.viewers, "must be an integer >= 1")
        if isinstance(self.event_rate, bool) or not isinstance(self.event_rate, (int, float)) or not self.event_rate > 0:
            raise ParameterError("event_rate", self.event_rate, "must be > 0 events per second")


def _m(name: str, max_age: str, response: str, decision: str, value: float, viewers: int,
       rate: float, source: str | None = None, degradation: str | None = None) -> Metric:
    return Metric(name=name, max_age=max_age, response_time=response, decision=decision,
                  value_per_minute=value, viewers=viewers, event_rate=rate,
                  source_latency=source, degradation=degradation)


#: The metrics of the published guidance, with realistic inputs (values are yearly
#: money per minute of data age saved, illustrative orders of magnitude).
EXAMPLES: dict[str, Metric] = {m.name: m for m in (
    _m("fraud_alerts", "10s", "30s", "block a card or hold a transaction before more fraud goes through",
       250_000, 20, 50.0, "1s", "fall back to rule-based blocking at the payment gateway"),
    _m("system_health", "30s", "1min", "page on-call, fail over, scale out",
       100_000, 30, 200.0, "5s", "alert on missing heartbeats; show the last good value as stale"),
    _m("manufacturing_floor", "10s", "2min", "stop the line or retune a machine before scrap piles up",
       150_000, 15, 100.0, "1s", "local PLC alarms keep working; dashboard shows stale badge"),
    _m("live_broadcast_audience", "15s", "1min", "switch content, insert ads, scale the CDN during the show",
       50_000, 40, 500.0, "5s", "show the last count with its age"),
    _m("saas_signups", "15min", "30min", "fix a broken signup flow or pause a campaign",
       2_000, 20, 0.05),
    _m("support_ticket_volume", "5min", "15min", "move agents between queues",
       5_000, 30, 0.2),
    _m("ecommerce_order_rate", "5min", "10min", "roll back a release or fix checkout when orders drop",
       10_000, 50, 2.0),
    _m("weekly_revenue", "1D", "7D", "weekly business review", 0, 20, 2.0),
    _m("monthly_growth", "1D", "30D", "monthly planning and board reporting", 0, 10, 0.05),
    _m("marketing_attribution", "1D", "1D", "move budget between channels", 0, 10, 1.0),
    _m("customer_satisfaction", "1D", "7D", "change support processes", 0, 15, 0.01),
)}


@dataclass(frozen=True, kw_only=True)
class Recommendation:
    """The advisor's answer for one metric.

    ``tier`` and ``pattern`` to build; ``reasons`` in order; ``decision_changes``
    (the decision-change test); ``cost`` of the tier (build, monthly, total);
    ``extra_per_year`` over the next slower tier; ``break_even_value`` — the value of a
    minute of delay (per year) from which the tier pays for itself against it;
    ``checklist``; ``age`` — the simulated data age of the pattern (seconds);
    ``meets_max_age`` — whether that p95 age is within the stated ``max_age``, and
    ``shortfall`` by how much it is not (None when met); ``minutes_saved`` — the
    simulated mean data age the tier saves over the next slower one.

    >>> r = advise(EXAMPLES["weekly_revenue"])
    >>> r.tier.name, r.decision_changes, r.as_row()["pattern"]
    ('batch', False, 'batch_refresh')
    >>> print(r.checklist[0])
    [x] Latency requirement per metric: max age 1 d, response within 7 d: met, data age p95 1.28 h with Batch
    """

    metric: Metric
    tier: Tier
    pattern: Pattern
    reasons: tuple[str, ...]
    decision_changes: bool
    cost: CostEstimate
    extra_per_year: Range | None
    break_even_value: Range | None
    checklist: tuple[ChecklistItem, ...]
    age: dict[str, float] = field(default_factory=dict)
    meets_max_age: bool = True
    shortfall: pd.Timedelta | None = None
    minutes_saved: float | None = None

    def as_row(self) -> dict[str, Any]:
        """One row for a table."""
        return {
            "metric": self.metric.name,
            "max_age": self.metric.max_age,
            "response_time": self.metric.response_time,
            "decision_changes": self.decision_changes,
            "tier": self.tier.name,
            "pattern": self.pattern.name,
            "age_p95_s": self.age.get("p95"),
            "meets_max_age": self.meets_max_age,
            "build": f"${self.cost.build}",
            "monthly": f"${self.cost.monthly}",
            "break_even_per_min": None if self.break_even_value is None else f"${self.break_even_value}",
            "todo": sum(not c.done for c in self.checklist),
            "why": self.reasons[-1],
        }

    def __str__(self) -> str:
        lines = [f"{self.metric.name}: {self.tier.label} via {self.pattern.label}"]
        lines += [f"  - {r}" for r in self.reasons]
        c = self.cost  # under the tier's own line: not its name again ("cost: real_time: build ...")
        lines.append(f"  cost: build ${c.build:,.0f}, then ${c.monthly:,.0f}/month "
                     f"(${c.total:,.0f} over {c.horizon_years:g} years)")
        lines += [f"  {c}" for c in self.checklist]
        return "\n".join(lines)


def _fields_of(metric: Any, fields: dict[str, Any]) -> Metric:
    names = list(Metric.__dataclass_fields__)
    for k in fields:
        if k not in names:
            raise ParameterError(k, fields[k], "is not a field of Metric; fields: " + ", ".join(names))
    if metric is not None:  # an rtnb.Metric definition: its name, the advice fields given
        fields = {"name": metric.name, **fields}
    for k, what in (("max_age", "the oldest data anyone may act on, e.g. '5min'"),
                    ("response_time", "how fast a change can be acted on, e.g. '10min'")):
        if fields.get(k) is None:
            raise ParameterError(k, None, f"is required: {what}")
    return Metric(**fields)


def advise(metric: Any = None, *, cost: CostModel | None = None, seed: int = 0,
           events: Any = None, patterns: Mapping[str, Pattern] | None = None,
           simulations: Mapping[str, Simulation] | None = None, **fields: Any) -> Recommendation:
    """Recommend a tier and pattern for a metric (a :class:`Metric`, or its fields).

    ``metric`` may also be an :class:`rtnb.Metric` definition, with the advice fields
    (``max_age``, ``response_time``, ...) given alongside. ``events`` — a Source (a
    replay of real data), an array of event times or a :class:`~rtnb.tiers.Workload` —
    makes the simulations use those real event times instead of a Poisson stream at
    ``event_rate``. Every statement of the answer is computed from the simulated
    data ages: when no tier meets ``max_age``, it says so and by how much.
    ``patterns`` overrides a tier's usual pattern (by tier name), e.g. near-real-time
    polling every 10 s instead of every minute, as for :func:`tier_costs`.
    ``simulations`` (by tier name) are tiers already simulated on this metric's workload
    (its viewers and event rate, those patterns): the advice uses them instead of
    simulating an hour again, so a view that shows them (the explorer) and the advice
    agree to the dollar.

    >>> r = advise(name="orders", max_age="5min", response_time="10min", value_per_minute=10_000)
    >>> r.tier.name, r.pattern.name, r.decision_changes, r.meets_max_age
    ('near_real_time', 'polling', True, True)
    >>> advise(max_age="30s", response_time="1min", value_per_minute=10).tier.name   # does not pay
    'near_real_time'
    >>> r = advise(max_age="10s", response_time="30s", event_rate=1 / 60)   # one event a minute
    >>> r.meets_max_age, r.shortfall > pd.Timedelta("1min")
    (False, True)
    >>> fast = {"near_real_time": pattern_for("near_real_time", interval="10s")}   # poll every 10 s
    >>> r10 = advise(max_age="30s", response_time="1min", value_per_minute=10, patterns=fast)
    >>> slow = advise(max_age="30s", response_time="1min", value_per_minute=10)
    >>> r10.pattern.interval, r10.age["p95"] < slow.age["p95"]
    (Timedelta('0 days 00:00:10'), True)
    >>> advise(response_time="1D")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: max_age=None is invalid: is required: the oldest data anyone may act on, e.g. '5min'
    >>> advise(max_age="30s", response_time="1min", value_per_minute=10, tier="x")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: tier='x' is invalid: is not a field of Metric; fields: name, max_age, response_time, decision, value_per_minute, viewers, event_rate, budget_per_year, source_latency, degradation
    """
    from ..pipeline.metric import Metric as Definition
    from .workload import Workload, as_workload

    if metric is None or isinstance(metric, Definition):
        metric = _fields_of(metric, fields)
    elif fields:
        raise ParameterError("fields", sorted(fields), "give either a Metric or its fields, not both")
    if not isinstance(metric, Metric):
        raise ParameterError("metric", metric, "must be an rtnb.tiers.Metric (or an rtnb.Metric with max_age= "
                             "and response_time=)")
    if cost is not None and not isinstance(cost, CostModel):
        raise ParameterError("cost", cost, "must be an rtnb.tiers.CostModel")
    check_int("seed", seed, minimum=0)
    cost = cost or CostModel()
    chosen = {get_tier(k).name: v for k, v in (patterns or {}).items()}

    def pattern_of(t: Tier) -> Pattern:
        return chosen.get(t.name) or pattern_for(t)
    m = metric
    workload: Any = m.event_rate
    if events is not None:
        workload = events if isinstance(events, Workload) else as_workload(events, hours=1.0)
        if workload.arrival is not None and workload.arrival.size == 0:
            raise ParameterError("events", getattr(events, "name", type(events).__name__),
                                 "gave no events over the hour simulated (a replay may need start=)")
    reasons: list[str] = []

    changes = m.response_time <= DECISION_CHANGE_AGE
    effective = m.max_age
    if changes:
        reasons.append(f"Decision-change test: the response can happen within {_fmt(m.response_time)}, "
                       f"so data {_fmt(DECISION_CHANGE_AGE)} old instead of 1 s would change what is done.")
    else:
        effective = max(m.max_age, m.response_time)
        reasons.append(f"Decision-change test: the response takes {_fmt(m.response_time)}, so data "
                       f"{_fmt(DECISION_CHANGE_AGE)} old instead of 1 s changes nothing; "
                       f"data fresher than {_fmt(effective)} would be wasted.")
    tier = classify(effective)
    sims: dict[str, Simulation] = {get_tier(k).name: v for k, v in (simulations or {}).items()}

    def sim(t: Tier) -> Simulation:
        if t.name not in sims:
            sims[t.name] = simulate(workload, pattern_of(t), viewers=m.viewers, hours=1.0,
                                    resolution="1min", seed=seed)
        return sims[t.name]

    def p95(t: Tier) -> pd.Timedelta:
        return pd.Timedelta(seconds=sim(t).age_p95)

    reasons.append(f"{tier.label} is the cheapest tier built for a maximum age of {_fmt(effective)} "
                   f"({_fmt(tier.fastest_age)}–{_fmt(tier.slowest_age)}); simulated data age p95 "
                   f"{_fmt(p95(tier))}.")

    def step(t: Tier) -> tuple[Tier, float, Range]:
        slower = get_tier(TIER_NAMES[TIER_NAMES.index(t.name) - 1])
        # minutes of data age saved, from the two simulations on this workload
        sim(t), sim(slower)
        saved, extra = minutes_and_extra(t, slower, sims, cost)
        return slower, saved, extra

    extra = be = None
    minutes = None
    nrt_note = "not needed: the tier is batch"
    slower = None
    if tier.name != "batch":
        while True:
            slower, saved, extra = step(tier)
            minutes = saved
            if saved <= 0:
                be = None
                reasons.append(f"{tier.label} saves no data age over {slower.label} on this workload "
                               f"(simulated mean age {_fmt(pd.Timedelta(seconds=sim(tier).age_mean))} against "
                               f"{_fmt(pd.Timedelta(seconds=sim(slower).age_mean))}); step down to {slower.label}.")
                tier = slower
                if tier.name == "batch":
                    extra = minutes = None
                    break
                continue
            be = break_even(extra, saved) if extra.high > 0 else Range(0, 0)
            if tier.name == "near_real_time":
                every = _fmt(pattern_of(tier).interval)
                ok = p95(tier) <= effective
                nrt_note = (f"chosen: short polling every {every} gives data age p95 {_fmt(p95(tier))}, "
                            + (f"within {_fmt(effective)}" if ok else f"over {_fmt(effective)}"))
            elif slower.name == "near_real_time" and nrt_note.startswith("not needed"):
                nrt_note = (f"near-real-time polling gives data age p95 {_fmt(p95(slower))}; "
                            f"{tier.label} saves {saved:.3g} min for ${extra:,.0f} more per year")
            if m.value_per_minute is None:
                reasons.append(f"No value of a minute of delay given: {tier.label} pays off above "
                               f"${be:,.0f} per minute per year; give one to check.")
                break
            value = m.value_per_minute * saved
            if value >= extra.high:
                reasons.append(f"{tier.label} pays for itself: {saved:.3g} min saved (simulated) × "
                               f"${m.value_per_minute:,.0f} = ${value:,.0f}/year ≥ ${extra.high:,.0f}/year "
                               f"extra over {slower.label}.")
                break
            if value >= extra.low:
                reasons.append(f"{tier.label} pays for itself only at the low end of its cost: ${value:,.0f}/year "
                               f"against ${extra:,.0f}/year extra over {slower.label}.")
                break
            reasons.append(f"{tier.label} does not pay: {saved:.3g} min saved (simulated) × "
                           f"${m.value_per_minute:,.0f} = ${value:,.0f}/year < ${extra.low:,.0f}/year extra "
                           f"over {slower.label}; step down to {slower.label} (or relax the "
                           f"{_fmt(m.max_age)} requirement).")
            tier = slower
            if tier.name == "batch":
                extra = be = minutes = None
                break

    if tier.name != "batch" and nrt_note.startswith("not needed"):
        nrt = get_tier("near_real_time")
        nrt_note = (f"near-real-time polling gives data age p95 {_fmt(p95(nrt))}, "
                    + (f"too old for {_fmt(effective)}" if p95(nrt) > effective else f"within {_fmt(effective)}")
                    + (f"; {tier.label} weighed against {slower.label}" if slower is not None else ""))
    pattern = pattern_of(tier)
    s = sim(tier)
    age95 = p95(tier)
    met = age95 <= m.max_age
    shortfall = None if met else age95 - m.max_age
    if not met:
        best = min((get_tier(n) for n in TIER_NAMES), key=lambda t: sim(t).age_p95)
        best95 = p95(best)
        if best95 > m.max_age:
            rate = workload if isinstance(workload, float) else getattr(workload, "rate", 0.0)
            why = (f"; events arrive about every {_fmt(pd.Timedelta(seconds=1.0 / rate))}, so the newest one "
                   "is often that old whatever the delivery" if rate else "")
            best_too = ("" if best.name == tier.name else
                        f" and the best, {best.label}, {_fmt(best95)} ({_fmt(best95 - m.max_age)} over)")
            reasons.append(f"No tier meets the stated maximum age of {_fmt(m.max_age)}: {tier.label} gives data "
                           f"age p95 {_fmt(age95)} ({_fmt(shortfall)} over){best_too}{why}.")
        else:
            faster = next(get_tier(n) for n in TIER_NAMES if p95(get_tier(n)) <= m.max_age)
            because = ("the decision-change test says fresher data changes nothing" if not changes
                       else "the faster tier does not pay at the value given")
            reasons.append(f"The stated maximum age of {_fmt(m.max_age)} is NOT met: {tier.label} gives data age "
                           f"p95 {_fmt(age95)} ({_fmt(shortfall)} over); {faster.label} would meet it "
                           f"(p95 {_fmt(p95(faster))}) but {because}.")
    else:
        reasons.append(f"The stated maximum age of {_fmt(m.max_age)} is met: data age p95 {_fmt(age95)}.")
    est = cost.estimate(tier, s)
    reasons.append(f"Recommended: {tier.label} via {pattern.label}, data age p95 "
                   f"{_fmt(age95)}, ${est.build:,.0f} to build and "
                   f"${est.monthly:,.0f}/month.")
    return Recommendation(
        metric=m, tier=tier, pattern=pattern, reasons=tuple(reasons), decision_changes=changes,
        cost=est, extra_per_year=extra, break_even_value=be,
        checklist=_checklist(m, tier, nrt_note, est, extra, age95, met),
        age={"p50": s.age_p50, "p95": s.age_p95, "max": s.age_max},
        meets_max_age=met, shortfall=shortfall, minutes_saved=minutes,
    )


def advise_many(metrics: Iterable[Metric] | Mapping[str, Metric] | None = None, *,
                cost: CostModel | None = None, patterns: Mapping[str, Pattern] | None = None) -> pd.DataFrame:
    """The advisor applied to a list of metrics (default: :data:`EXAMPLES`), as a table
    (``cost`` and ``patterns`` as for :func:`advise`).

    >>> sorted(advise_many()["tier"].value_counts().items())
    [('batch', 4), ('near_real_time', 3), ('real_time', 4)]
    """
    items = EXAMPLES.values() if metrics is None else (
        metrics.values() if isinstance(metrics, Mapping) else metrics)
    items = list(items)
    if not items:
        raise ParameterError("metrics", [], "give at least one metric (or None for the catalogue)")
    return pd.DataFrame([advise(m, cost=cost, patterns=patterns).as_row() for m in items]).set_index("metric")
