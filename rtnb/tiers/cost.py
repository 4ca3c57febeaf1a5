"""What a tier costs: build, fixed monthly infrastructure and load, as low-high ranges.

Every parameter of :class:`CostModel` is visible and changeable; the defaults are the
published figures of the guidance on dashboard latency tiers, each marked
*published*, or an *assumption* where the guidance says nothing (then change it to your
own prices):

- real-time dashboards cost **40–80% more to build** than near-real-time ones;
- streaming infrastructure (managed stream, stream processing, cache) adds
  **$200–$800 per month**;
- a tier-2 dashboard at **$8,000** with batch refresh becomes **$11,000–$14,000** in
  real time;
- over **3 years** real time costs **$15,000–$32,000** extra;
- retrofitting real time into a batch dashboard costs **60–80%** of the original build.

Load-driven costs (requests, connections, messages, bytes, store queries) come from a
:class:`~rtnb.tiers.delivery.Simulation` times unit prices.

>>> m = CostModel()
>>> m.build("real_time")
Range(low=11200.0, high=14400.0)
>>> m.build("real_time").rounded(-3)       # the published $11,000–$14,000
Range(low=11000.0, high=14000.0)
>>> m.infra_monthly("real_time")
Range(low=200.0, high=800.0)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .._errors import ParameterError
from ._tiers import Tier, get_tier

__all__ = ["Range", "CostModel", "CostEstimate", "PUBLISHED", "SECONDS_PER_MONTH"]

SECONDS_PER_MONTH = 365.25 / 12 * 86_400


@dataclass(frozen=True)
class Range:
    """A low-high range of money (or anything); arithmetic pairs low with low and high
    with high, so the low end is one consistent scenario and the high end another.

    >>> Range(200, 800) * 12
    Range(low=2400.0, high=9600.0)
    >>> Range(1, 2) + Range(10, 20), Range(11, 14) - 8
    (Range(low=11.0, high=22.0), Range(low=3.0, high=6.0))
    >>> f"${Range(11_200, 14_400)} or ${Range(8_000, 8_000)}"
    '$11,200–14,400 or $8,000'

    >>> Range(5, 1)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: high=1.0 is invalid: must be >= low=5.0
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
                raise ParameterError(name, v, "must be a number")
            object.__setattr__(self, name, float(v))
        if self.high < self.low:
            raise ParameterError("high", self.high, f"must be >= low={self.low}")

    @classmethod
    def of(cls, value: Any, param: str = "value") -> Range:
        """A Range from a Range, a (low, high) pair or one number (low = high)."""
        if isinstance(value, Range):
            return value
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return cls(*value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(value, value)
        raise ParameterError(param, value, "must be a number or a (low, high) pair")

    @property
    def mid(self) -> float:
        """The midpoint."""
        return (self.low + self.high) / 2

    def rounded(self, ndigits: int = 0) -> Range:
        """Both ends rounded (``-3``: to the nearest thousand)."""
        return Range(round(self.low, ndigits), round(self.high, ndigits))

    def contains(self, other: Range | float) -> bool:
        """Whether a number or another range lies within this one."""
        o = Range.of(other)
        return self.low <= o.low and o.high <= self.high

    def _pair(self, other: Any) -> tuple[float, float]:
        o = other if isinstance(other, Range) else Range(other, other)
        return o.low, o.high

    def __add__(self, other: Any) -> Range:
        lo, hi = self._pair(other)
        return Range(self.low + lo, self.high + hi)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Range:
        lo, hi = self._pair(other)
        a, b = self.low - lo, self.high - hi
        return Range(min(a, b), max(a, b))

    def __mul__(self, other: Any) -> Range:
        lo, hi = self._pair(other)
        a, b = self.low * lo, self.high * hi
        return Range(min(a, b), max(a, b))

    __rmul__ = __mul__

    def __truediv__(self, other: float) -> Range:
        if isinstance(other, Range) or not other:
            raise ParameterError("divisor", other, "must be a non-zero number")
        a, b = self.low / other, self.high / other
        return Range(min(a, b), max(a, b))

    def __iter__(self):
        return iter((self.low, self.high))

    def __format__(self, spec: str) -> str:
        spec = spec or ",.0f"
        lo, hi = format(self.low, spec), format(self.high, spec)
        return lo if lo == hi else f"{lo}–{hi}"  # an en dash: a range, not a minus


# The published figures, for reference and for the tests that check the defaults.
PUBLISHED: dict[str, Range] = {
    "real_time_build_premium_vs_near_real_time": Range(0.40, 0.80),
    "streaming_infra_monthly": Range(200, 800),
    "tier2_batch_build": Range(8_000, 8_000),
    "tier2_real_time_build": Range(11_000, 14_000),
    "three_year_extra": Range(15_000, 32_000),
    "retrofit_fraction": Range(0.60, 0.80),
}

_RANGES = (
    "near_real_time_build_premium", "real_time_build_premium", "sub_second_build_premium",
    "near_real_time_infra_monthly", "streaming_infra_monthly", "sub_second_infra_monthly",
    "maintenance_per_year", "retrofit_fraction", "price_per_million_requests", "price_per_gb",
    "price_per_million_messages", "price_per_million_connection_minutes",
    "price_per_million_store_queries",
)


@dataclass(frozen=True, kw_only=True)
class CostModel:
    """Every price and premium, as (low, high) ranges; pass numbers or pairs.

    Build (one-off):

    - ``batch_build`` — $8,000: a tier-2 dashboard with batch refresh (*published*).
    - ``near_real_time_build_premium`` — 0–0% over batch. *Implied by the published
      figures*: $11,000–$14,000 real time / 1.4–1.8 = $7,800–$7,900, i.e. about the
      batch build (near-real-time polling reuses the batch stack).
    - ``real_time_build_premium`` — 40–80% over near-real-time (*published*).
    - ``sub_second_build_premium`` — 20–50% over real time (*assumption*).

    Fixed monthly infrastructure, on top of what batch already runs:

    - ``near_real_time_infra_monthly`` — $0 (*assumption*: micro-batches on the batch
      stack's scheduler and warehouse).
    - ``streaming_infra_monthly`` — $200–$800 for real time: managed stream, stream
      processing, cache (*published*).
    - ``sub_second_infra_monthly`` — $400–$1,600 (*assumption*: twice the streaming
      figure, for in-memory state and WebSocket fan-out servers).
    - ``maintenance_per_year`` — $0 extra per year for the streaming tiers
      (*assumption*; the published 3-year figure leaves no room for more, see
      :meth:`three_year_extra`).

    Load (from a simulation; *assumptions*, typical cloud list prices): requests
    $0.40–$1.00 per million (load balancer / API gateway), egress $0.05–$0.09 per GB,
    pushed messages $0.25–$1.00 per million, connections $0.10–$0.25 per million
    connection-minutes, store reads $0.10–$0.50 per million.

    Others: ``retrofit_fraction`` 60–80% of the original build (*published*),
    ``horizon_years`` 3 (*published* comparison horizon).

    >>> CostModel(streaming_infra_monthly=(300, 500)).infra_monthly("real_time")
    Range(low=300.0, high=500.0)
    >>> CostModel(batch_build=-1)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: batch_build=-1 is invalid: must be a number >= 0
    """

    batch_build: float = 8_000.0
    near_real_time_build_premium: Range = Range(0.0, 0.0)
    real_time_build_premium: Range = Range(0.40, 0.80)
    sub_second_build_premium: Range = Range(0.20, 0.50)
    near_real_time_infra_monthly: Range = Range(0.0, 0.0)
    streaming_infra_monthly: Range = Range(200.0, 800.0)
    sub_second_infra_monthly: Range = Range(400.0, 1_600.0)
    maintenance_per_year: Range = Range(0.0, 0.0)
    retrofit_fraction: Range = Range(0.60, 0.80)
    horizon_years: float = 3.0
    price_per_million_requests: Range = Range(0.40, 1.00)
    price_per_gb: Range = Range(0.05, 0.09)
    price_per_million_messages: Range = Range(0.25, 1.00)
    price_per_million_connection_minutes: Range = Range(0.10, 0.25)
    price_per_million_store_queries: Range = Range(0.10, 0.50)

    def __post_init__(self) -> None:
        for name in _RANGES:
            r = Range.of(getattr(self, name), name)
            if r.low < 0:
                raise ParameterError(name, getattr(self, name), "must not be negative")
            object.__setattr__(self, name, r)
        for name in ("batch_build", "horizon_years"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ParameterError(name, v, "must be a number >= 0")
        if not self.horizon_years > 0:
            raise ParameterError("horizon_years", self.horizon_years, "must be > 0")

    def with_(self, **changes: Any) -> CostModel:
        """A copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ---- fixed parts
    def build(self, tier: str | Tier) -> Range:
        """One-off build cost of a dashboard of ``tier``."""
        name = get_tier(tier).name
        b = Range(self.batch_build, self.batch_build)
        if name == "batch":
            return b
        nrt = b * (1 + self.near_real_time_build_premium)
        if name == "near_real_time":
            return nrt
        rt = nrt * (1 + self.real_time_build_premium)
        return rt if name == "real_time" else rt * (1 + self.sub_second_build_premium)

    def infra_monthly(self, tier: str | Tier) -> Range:
        """Fixed monthly infrastructure on top of batch, plus maintenance spread per month."""
        name = get_tier(tier).name
        fixed = {
            "batch": Range(0, 0),
            "near_real_time": self.near_real_time_infra_monthly,
            "real_time": self.streaming_infra_monthly,
            "sub_second": self.sub_second_infra_monthly,
        }[name]
        if name in ("real_time", "sub_second"):
            fixed = fixed + self.maintenance_per_year / 12
        return fixed

    def retrofit(self, original_build: float | None = None) -> Range:
        """Cost of retrofitting real time into an existing batch dashboard.

        >>> CostModel().retrofit()
        Range(low=4800.0, high=6400.0)
        """
        base = self.batch_build if original_build is None else original_build
        if isinstance(base, bool) or not isinstance(base, (int, float)) or base < 0:
            raise ParameterError("original_build", original_build, "must be a number >= 0")
        return self.retrofit_fraction * base

    # ---- load
    def load_monthly(self, loads: Any) -> Range:
        """Monthly cost of the mean loads of a simulation (or a mapping of
        :data:`~rtnb.tiers.delivery.LOAD_COLUMNS` to mean values).

        >>> CostModel().load_monthly({"requests_per_s": 10.0, "bytes_per_s": 0.0,
        ...     "messages_per_s": 0.0, "open_connections": 0.0, "store_queries_per_s": 0.0})
        Range(low=10.5192, high=26.298)
        """
        m = loads.load_mean if hasattr(loads, "load_mean") else dict(loads)
        try:
            req, byt = float(m["requests_per_s"]), float(m["bytes_per_s"])
            msg, con = float(m["messages_per_s"]), float(m["open_connections"])
            qry = float(m["store_queries_per_s"])
        except KeyError as e:
            raise ParameterError("loads", sorted(m), f"misses {e.args[0]!r}") from None
        s = SECONDS_PER_MONTH
        total = (
            self.price_per_million_requests * (req * s / 1e6)
            + self.price_per_gb * (byt * s / 1e9)
            + self.price_per_million_messages * (msg * s / 1e6)
            + self.price_per_million_connection_minutes * (con * s / 60 / 1e6)
            + self.price_per_million_store_queries * (qry * s / 1e6)
        )
        return Range(round(total.low, 4), round(total.high, 4))

    def estimate(self, tier: str | Tier, loads: Any = None) -> CostEstimate:
        """Build, monthly infrastructure and monthly load of ``tier`` (loads optional).

        >>> e = CostModel().estimate("real_time")
        >>> e.build, e.monthly
        (Range(low=11200.0, high=14400.0), Range(low=200.0, high=800.0))
        """
        t = get_tier(tier)
        load = Range(0, 0) if loads is None else self.load_monthly(loads)
        return CostEstimate(tier=t.name, build=self.build(t), infra_monthly=self.infra_monthly(t),
                            load_monthly=load, horizon_years=self.horizon_years)

    def extra(self, tier: str | Tier, versus: str | Tier = "batch",
              loads: Any = None, versus_loads: Any = None) -> CostEstimate:
        """What ``tier`` costs on top of ``versus`` (pairwise low/high differences)."""
        a, b = self.estimate(tier, loads), self.estimate(versus, versus_loads)
        return CostEstimate(tier=f"{a.tier} - {b.tier}", build=a.build - b.build,
                            infra_monthly=a.infra_monthly - b.infra_monthly,
                            load_monthly=a.load_monthly - b.load_monthly,
                            horizon_years=self.horizon_years)

    def three_year_extra(self) -> Range:
        """Real time over batch across ``horizon_years``: the build premium plus the
        streaming infrastructure every month (no load).

        With the defaults this is $10,400–$35,200, which contains the published
        $15,000–$32,000 with about the same midpoint ($22,800 against $23,500): the
        published range pairs its ends less extremely than low-with-low and
        high-with-high.

        >>> CostModel().three_year_extra()
        Range(low=10400.0, high=35200.0)
        """
        return self.extra("real_time", "batch").total

    def published_check(self) -> dict[str, tuple[Range, Range]]:
        """Each published figure next to what this model gives for it."""
        return {
            "real_time_build_premium_vs_near_real_time": (
                PUBLISHED["real_time_build_premium_vs_near_real_time"],
                self.build("real_time") / self.build("near_real_time").low - 1
                if self.build("near_real_time").low else Range(0, 0)),
            "streaming_infra_monthly": (PUBLISHED["streaming_infra_monthly"], self.infra_monthly("real_time")),
            "tier2_batch_build": (PUBLISHED["tier2_batch_build"], self.build("batch")),
            "tier2_real_time_build": (PUBLISHED["tier2_real_time_build"], self.build("real_time")),
            "three_year_extra": (PUBLISHED["three_year_extra"], self.three_year_extra()),
            "retrofit_fraction": (PUBLISHED["retrofit_fraction"], self.retrofit() / self.batch_build
                                  if self.batch_build else Range(0, 0)),
        }


@dataclass(frozen=True, kw_only=True)
class CostEstimate:
    """Cost of one tier (or a difference of two): build once, then monthly costs.

    >>> e = CostEstimate(tier="x", build=Range(100, 200), infra_monthly=Range(10, 20),
    ...                  load_monthly=Range(0, 0), horizon_years=1)
    >>> e.total, e.per_year
    (Range(low=220.0, high=440.0), Range(low=220.0, high=440.0))
    """

    tier: str
    build: Range
    infra_monthly: Range
    load_monthly: Range
    horizon_years: float = 3.0

    @property
    def monthly(self) -> Range:
        """Infrastructure plus load, per month."""
        return self.infra_monthly + self.load_monthly

    @property
    def total(self) -> Range:
        """Build plus ``horizon_years`` of monthly costs."""
        return self.build + self.monthly * (12 * self.horizon_years)

    @property
    def per_year(self) -> Range:
        """The total spread over the horizon: build amortised plus a year of running."""
        return self.total / self.horizon_years

    def as_row(self) -> dict[str, Any]:
        """Plain numbers for a table."""
        return {
            "tier": self.tier,
            "build_low": self.build.low, "build_high": self.build.high,
            "monthly_low": self.monthly.low, "monthly_high": self.monthly.high,
            "per_year_low": self.per_year.low, "per_year_high": self.per_year.high,
        }

    def __format__(self, spec: str) -> str:
        return (f"{self.tier}: build ${self.build:{spec}}, then ${self.monthly:{spec}}/month "
                f"(${self.total:{spec}} over {self.horizon_years:g} years)")
