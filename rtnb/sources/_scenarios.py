"""The catalogue of simulated workloads: what each scenario's events look like.

A :class:`Scenario` is a description (columns, keys, measures, parameters, seasonal
profile, bursts) plus a vectorised value generator. The simulator
(``rtnb.sources.simulate``) decides *when* events happen (seasonal Poisson intensity,
bursts); the scenario decides *what* each event holds, from a :class:`Draw` of one
block of event time.

Common to all scenarios:

- **seasonality**: an hourly daily curve (interpolated linearly) times a day-of-week
  weight, both normalised to mean 1, so ``rate`` is the mean over a week (bursts come
  on top). Times are UTC and treated as the audience's local time.
- **bursts**: each kind happens on average ``per_day`` times a day (scaled by the
  source's ``bursts`` parameter), starts at a seeded random time, lasts between
  ``minutes[0]`` and ``minutes[1]``, multiplies the event rate by ``intensity`` (with
  10 % ramps) and may concentrate on one key value (``target``) and change values.
- **skewed keys**: key values are drawn with Zipf-like popularity (weight of the
  k-th value ∝ 1/k**skew) unless the scenario gives explicit shares.
- **heavy tails**: amounts, sizes and durations are lognormal or Pareto.

>>> sorted(CATALOGUE)[:3]
['ad_spend', 'broadcast_audience', 'ecommerce_orders']
>>> CATALOGUE["trading_ticks"].measures
('price', 'size')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .._checks import check_int, check_number

__all__ = ["Scenario", "Param", "Burst", "Draw", "CATALOGUE", "SECOND"]

SECOND = 1_000_000_000
_DAY = 86_400 * SECOND
_TABLE = 1 << 16  # slots of a key-popularity lookup table


# ---------------------------------------------------------------- descriptions


@dataclass(frozen=True, kw_only=True)
class Param:
    """A scenario parameter: name, default, meaning and valid range.

    >>> p = Param(name="hosts", default=40, doc="number of hosts", lo=1, hi=10_000, integer=True)
    >>> p.check(12)
    12
    >>> p.check(0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: hosts=0 is invalid: must be an integer between 1 and 10000
    """

    name: str
    default: Any
    doc: str
    lo: float = 0.0
    hi: float = math.inf
    integer: bool = False

    def check(self, value: Any) -> Any:
        """``value`` if valid for this parameter, else :class:`ParameterError`."""
        hi = None if self.hi == math.inf else self.hi
        if self.integer:
            return check_int(self.name, value, minimum=int(self.lo), maximum=None if hi is None else int(hi))
        return check_number(self.name, value, minimum=self.lo, maximum=hi)


@dataclass(frozen=True, kw_only=True)
class Burst:
    """A kind of burst: a launch, an incident, a live event.

    ``target`` names the key column the burst concentrates on and ``target_value`` the
    value (or ``None``: a value drawn by popularity for each occurrence); a fraction
    ``(intensity - 1) / intensity`` of the events during the burst is steered to it,
    which is exactly the extra traffic.

    >>> b = Burst(name="incident", doc="an outage of one service", per_day=0.5,
    ...           minutes=(10, 60), intensity=2.0, target="service")
    >>> b.steer_share
    0.5
    """

    name: str
    doc: str
    per_day: float
    minutes: tuple[float, float]
    intensity: float
    target: str | None = None
    target_value: str | None = None

    @property
    def steer_share(self) -> float:
        """Fraction of the burst's events steered to its target."""
        return (self.intensity - 1.0) / self.intensity if self.target else 0.0


@dataclass(frozen=True, kw_only=True, eq=False)
class Scenario:
    """One workload of the catalogue: its story, columns, parameters and behaviour.

    >>> s = CATALOGUE["system_health"]
    >>> s.keys, s.measures
    (('host', 'service'), ('latency_ms', 'cpu', 'error'))
    >>> s.dtypes["error"], s.dtypes["host"]
    ('int64', 'category')
    >>> [p.name for p in s.params]
    ['hosts', 'p50_latency_ms', 'error_rate']
    >>> print(s.describe().splitlines()[0])
    system_health: request metrics from a fleet of hosts running services (default rate 200/s)
    """

    name: str
    description: str
    default_rate: float
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    columns: Mapping[str, str]  # measure/key column -> meaning (with unit)
    integer_measures: tuple[str, ...]
    params: tuple[Param, ...]
    daily: tuple[float, ...]
    weekly: tuple[float, ...]
    bursts: tuple[Burst, ...]
    categories: Callable[[Mapping[str, Any]], dict[str, tuple[tuple[str, ...], np.ndarray]]]
    generate: Callable[[Draw], dict[str, np.ndarray]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))

    @property
    def dtypes(self) -> dict[str, str]:
        """The dtype of every column of a clean batch."""
        out = {"ts": "datetime64[ns]", "arrival": "datetime64[ns]", "event_id": "int64"}
        out.update({k: "category" for k in self.keys})
        out.update({m: "int64" if m in self.integer_measures else "float64" for m in self.measures})
        out["fault"] = "category"
        return out

    def defaults(self) -> dict[str, Any]:
        """The default value of every scenario parameter."""
        return {p.name: p.default for p in self.params}

    def describe(self) -> str:
        """A few lines: story, columns, parameters and bursts."""
        lines = [f"{self.name}: {self.description} (default rate {self.default_rate:g}/s)"]
        lines.append("  columns: ts, arrival, event_id, fault, and")
        for col, doc in self.columns.items():
            role = "key" if col in self.keys else "measure"
            lines.append(f"    {col} ({role}, {self.dtypes[col]}): {doc}")
        lines.append("  parameters:")
        for p in self.params:
            lines.append(f"    {p.name}={p.default!r}: {p.doc}")
        lines.append("  bursts:")
        for b in self.bursts:
            lines.append(
                f"    {b.name} (~{b.per_day:g}/day, {b.minutes[0]:g}-{b.minutes[1]:g} min, "
                f"x{b.intensity:g} rate): {b.doc}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, keys={self.keys}, measures={self.measures})"


# ---------------------------------------------------------------- block context


@dataclass(frozen=True)
class BurstHit:
    """One occurrence of a burst: kind, [start, end) in ns, target value code (or -1)."""

    kind: Burst
    start: int
    end: int
    target: int


class Draw:
    """What a value generator gets for one block of events.

    ``rng`` is the block's value generator, ``ts`` the event times (int64 ns, in
    generation order), ``params`` the resolved scenario parameters, ``hits`` the bursts
    overlapping the block, ``t0``/``t1`` the block's bounds in whole seconds.

    >>> d = Draw(np.random.default_rng(0), np.array([0, SECOND]), {}, {}, [], None, 0, 0, 1)
    >>> d.n, d.during("incident") is None
    (2, True)
    """

    __slots__ = ("rng", "ts", "n", "params", "tables", "hits", "profile", "seed", "t0", "t1", "extra")

    def __init__(self, rng, ts, params, tables, hits, profile, seed, t0, t1, extra=None):
        self.rng = rng
        self.ts = ts
        self.n = len(ts)
        self.params = params
        self.tables = tables
        self.hits = hits
        self.profile = profile
        self.seed = seed
        self.t0 = t0
        self.t1 = t1
        self.extra = extra if extra is not None else {}

    def key(self, name: str) -> np.ndarray:
        """Codes of key ``name`` drawn by popularity (int16)."""
        table = self.tables[name]
        return table[self.rng.integers(0, _TABLE, self.n, dtype=np.uint16)]

    def during(self, kind: str) -> np.ndarray | None:
        """Mask of events inside a burst of ``kind`` (None when there is none)."""
        mask = None
        for h in self.hits:
            if h.kind.name == kind:
                m = (self.ts >= h.start) & (self.ts < h.end)
                mask = m if mask is None else (mask | m)
        return mask

    def steer(self, kind: str, codes: np.ndarray) -> np.ndarray | None:
        """Steer a share of the events of each ``kind`` burst to its target value.

        Returns the mask of events that now carry a burst's target (including events
        that had it by chance), or None when no such burst overlaps the block.
        """
        hit_mask = None
        for h in self.hits:
            if h.kind.name != kind or h.target < 0:
                continue
            inside = (self.ts >= h.start) & (self.ts < h.end)
            u = self.rng.random(self.n)  # drawn for every event: independent of the mask
            codes[inside & (u < h.kind.steer_share)] = h.target
            m = inside & (codes == h.target)
            hit_mask = m if hit_mask is None else (hit_mask | m)
        return hit_mask

    def sample(self, table: np.ndarray) -> np.ndarray:
        """Values drawn from a quantile table (see :func:`quantile_table`)."""
        return table[self.rng.integers(0, _TABLE, self.n, dtype=np.uint16)]

    def lognormal(self, mean: float, sigma: float) -> np.ndarray:
        """Lognormal values with the given *mean* (not median)."""
        return self.rng.lognormal(math.log(mean) - sigma * sigma / 2, sigma, self.n)


# ---------------------------------------------------------------- helpers


def zipf(n: int, skew: float) -> np.ndarray:
    """Zipf-like popularity weights of ``n`` values (the first is the most popular).

    >>> zipf(3, 1.0).round(3)
    array([0.545, 0.273, 0.182])
    """
    w = 1.0 / np.arange(1, n + 1, dtype=float) ** skew
    return w / w.sum()


def _shares(*w: float) -> np.ndarray:
    a = np.asarray(w, dtype=float)
    return a / a.sum()


def key_table(weights: np.ndarray) -> np.ndarray:
    """A lookup table of codes whose frequencies follow ``weights`` (every value >= 1 slot).

    >>> np.bincount(key_table(np.array([0.75, 0.25]))) / (1 << 16)
    array([0.75, 0.25])
    """
    w = np.asarray(weights, dtype=float)
    slots = np.maximum(np.floor(w / w.sum() * _TABLE).astype(np.int64), 1)
    while slots.sum() > _TABLE:  # only when many values were lifted to 1 slot
        slots[np.argmax(slots)] -= 1
    rest = _TABLE - int(slots.sum())
    if rest:
        slots[np.argsort(-(w / w.sum() * _TABLE - slots), kind="stable")[:rest]] += 1
    return np.repeat(np.arange(len(w), dtype=np.int16), slots)


_P_MID = (np.arange(_TABLE) + 0.5) / _TABLE


def quantile_table(x: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """65536 evenly spaced quantiles of a distribution given on a grid (``x``, ``cdf``).

    Drawing ``table[uniform 16-bit integer]`` samples the distribution at a resolution
    of 1/65536 in probability: far cheaper than numpy's beta or Pareto samplers, for
    bounded values and counts. Continuous heavy tails (amounts) use numpy's samplers.

    >>> t = quantile_table(np.array([0.0, 1.0]), np.array([0.0, 1.0]))  # uniform on [0, 1]
    >>> round(float(t.mean()), 6), float(t.min()) > 0
    (0.5, True)
    """
    return np.interp(_P_MID, cdf, x)


def count_table(survival: np.ndarray) -> np.ndarray:
    """A quantile table of a count ``k >= 0`` given ``P(K > k)`` for k = 0, 1, ...

    >>> np.bincount(count_table(np.array([0.5, 0.0])))[:2] / (1 << 16)  # P(0) = P(1) = 1/2
    array([0.5, 0.5])
    """
    cdf = 1.0 - np.asarray(survival, dtype=float)
    return np.minimum(np.searchsorted(cdf, _P_MID, side="right"), len(cdf) - 1).astype(np.int64)


def _lomax_counts(alpha: float, scale: float, cap: int) -> np.ndarray:
    """Table of ``floor(Pareto(alpha) x scale)`` (numpy's Lomax), capped at ``cap``."""
    k = np.arange(cap + 1, dtype=float)
    surv = (1.0 + (k + 1.0) / scale) ** -alpha  # P(floor(X) > k) = P(X >= k + 1)
    surv[-1] = 0.0
    return count_table(surv)


def _beta_table(a: float, b: float) -> np.ndarray:
    x = np.linspace(0.0, 1.0, 100_001)
    pdf = x ** (a - 1) * (1 - x) ** (b - 1)
    cdf = np.concatenate(([0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2)))
    return quantile_table(x, cdf / cdf[-1])


def _poisson_table(lam: float) -> np.ndarray:
    k = np.arange(64)
    pmf = np.exp(-lam + k * math.log(lam) - np.array([math.lgamma(i + 1) for i in k])) if lam > 0 else (k == 0) * 1.0
    return count_table(np.clip(1.0 - np.cumsum(pmf), 0.0, 1.0))


_POISSON_STEP = 0.25
_POISSON_GRID = np.arange(0.0, 10.0 + _POISSON_STEP / 2, _POISSON_STEP)
_POISSON_TABLES = np.stack([_poisson_table(lam) for lam in _POISSON_GRID]).astype(np.int8)


def poisson(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """Poisson counts with per-value means ``lam``, fast.

    Below a mean of 10: a mixture of the two neighbouring tabulated Poisson laws on a
    0.25 grid, weighted so the mean is exactly ``lam`` (numpy's exact sampler costs
    ~100 ns per value here). From 10 up: a rounded normal approximation.

    >>> rng = np.random.default_rng(0)
    >>> c = poisson(rng, np.full(200_000, 2.6))
    >>> round(float(c.mean()), 2), round(float(c.var()), 1)
    (2.6, 2.6)
    >>> int(poisson(rng, np.array([0.0]))[0]), abs(int(poisson(rng, np.array([1e6]))[0]) - 10**6) < 10_000
    (0, True)
    """
    lam = np.asarray(lam, dtype=np.float64)
    big = lam >= 10.0
    n_big = int(np.count_nonzero(big))
    if n_big == 0:
        return _poisson_small(rng, lam)
    if n_big == len(lam):
        return _poisson_big(rng, lam)
    out = np.empty(len(lam), dtype=np.int64)
    out[~big] = _poisson_small(rng, lam[~big])
    out[big] = _poisson_big(rng, lam[big])
    return out


def _poisson_small(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    x = lam * (1.0 / _POISSON_STEP)
    lo = np.floor(x)
    grid = (lo + (rng.random(len(lam)) < (x - lo))).astype(np.intp)  # stochastic rounding keeps the mean
    return _POISSON_TABLES[grid, rng.integers(0, _TABLE, len(lam), dtype=np.uint16)].astype(np.int64)


def _poisson_big(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    return np.maximum(np.rint(lam + np.sqrt(lam) * rng.standard_normal(len(lam))), 0).astype(np.int64)


_BETA_2_5 = _beta_table(2.0, 5.0)
_ITEMS = _lomax_counts(2.2, 1.6, 99) + 1
_ITEMS_POW = np.arange(101, dtype=float) ** 0.8
_LOT_SIZES = np.maximum(_lomax_counts(1.3, 60.0, 1_000_000), 1)


def _names(prefix: str, n: int, width: int = 2) -> tuple[str, ...]:
    return tuple(f"{prefix}{i:0{width}d}" for i in range(1, n + 1))


def _effect(mask: np.ndarray | None, values: np.ndarray, factor: float) -> None:
    if mask is not None:
        values[mask] *= factor


# ---------------------------------------------------------------- the nine scenarios

_COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT", "SE", "PL", "BR", "JP",
              "IN", "MX", "BE", "CH", "AT", "DK", "IE", "NO", "FI", "PT", "NZ", "SG")


def _ecommerce_categories(p):
    return {
        "country": (_COUNTRIES[: p["countries"]], zipf(p["countries"], p["skew"])),
        "channel": (("web", "app", "marketplace", "social", "store"), _shares(50, 30, 12, 5, 3)),
    }


def _ecommerce(d: Draw):
    country = d.key("country")
    d.steer("influencer_post", country)
    channel = d.key("channel")
    items = d.sample(_ITEMS)  # 1 + Pareto, capped at 100
    unit = d.lognormal(d.params["mean_amount"] / 1.9, 0.9)
    amount = unit * _ITEMS_POW[items]
    _effect(d.during("flash_sale"), amount, 0.75)
    return {"country": country, "channel": channel, "amount": np.round(amount, 2), "items": items}


_PLANS = ("free", "starter", "pro", "business", "enterprise")
_PRICE = np.array([0.0, 12.0, 29.0, 59.0, 99.0])


def _saas_categories(p):
    return {
        "plan": (_PLANS, _shares(55, 20, 15, 7, 3)),
        "source": (("organic", "google_ads", "referral", "linkedin", "partner", "newsletter",
                    "product_hunt"), zipf(7, p["skew"])),
    }


def _saas(d: Draw):
    plan = d.key("plan")
    source = d.key("source")
    d.steer("product_launch", source)
    d.steer("newsletter", source)
    seats = 1 + d.sample(d.extra["seats"])  # 1 + Pareto(1.6), capped at 5000
    seats = np.where(plan == 0, 1, seats)  # free plans are single-seat
    seats = np.where(plan == 4, seats * 10, seats)  # enterprise deals are bigger
    mrr = np.round(seats * _PRICE[plan], 2)
    return {"plan": plan, "source": source, "seats": seats, "mrr": mrr}


def _support_categories(p):
    return {
        "priority": (("low", "normal", "high", "urgent"), _shares(30, 50, 15, 5)),
        "channel": (("email", "chat", "phone", "web_form", "social"), zipf(5, 0.8)),
    }


def _support(d: Draw):
    priority = d.key("priority")
    channel = d.key("channel")
    speed = np.array([1.6, 1.0, 0.5, 0.2])[priority]  # urgent tickets are picked up first
    wait = d.rng.lognormal(math.log(d.params["median_wait_s"]), 1.0, d.n) * speed
    _effect(d.during("incident"), wait, 4.0)
    handle = d.rng.lognormal(math.log(420.0), 0.7, d.n) * np.array([0.7, 1.0, 1.4, 1.8])[priority]
    return {"priority": priority, "channel": channel, "wait_s": np.round(wait, 1),
            "handle_s": np.round(handle, 1)}


def _ads_categories(p):
    return {
        "campaign": (_names("cmp-", p["campaigns"], 3), zipf(p["campaigns"], 1.1)),
        "platform": (("google", "meta", "tiktok", "linkedin", "x", "reddit"),
                     _shares(40, 32, 14, 7, 4, 3)),
    }


def _ads(d: Draw):
    campaign = d.key("campaign")
    d.steer("campaign_launch", campaign)
    viral = d.steer("viral_post", campaign)
    platform = d.key("platform")
    impressions = np.maximum(d.rng.lognormal(math.log(800.0), 1.1, d.n).astype(np.int64), 1)
    ctr = d.params["ctr"] * np.array([1.0, 0.9, 0.7, 0.45, 0.6, 0.8])[platform]
    _effect(viral, ctr, 3.0)
    clicks = poisson(d.rng, impressions * ctr)
    cpm = d.rng.lognormal(math.log(d.params["cpm"]), 0.35, d.n) * np.array([1.1, 1.0, 0.7, 3.0, 0.8, 0.9])[platform]
    spend = np.round(impressions / 1000.0 * cpm, 2)
    return {"campaign": campaign, "platform": platform, "impressions": impressions,
            "clicks": clicks, "spend": spend}


_RULES = ("velocity", "amount_spike", "geo_mismatch", "new_device", "card_testing", "blacklist_bin")
_MCC = ("grocery", "electronics", "travel", "restaurants", "fashion", "digital_goods", "fuel",
        "gaming", "gift_cards", "crypto")


def _fraud_categories(p):
    return {"rule": (_RULES, zipf(6, 0.9)), "merchant_category": (_MCC, zipf(10, 1.0))}


def _fraud(d: Draw):
    rule = d.key("rule")
    testing = d.steer("card_testing", rule)
    mcc = d.key("merchant_category")
    amount = (d.rng.pareto(d.params["amount_alpha"], d.n) + 1.0) * 15.0
    amount = np.minimum(amount, 50_000.0)
    score = d.sample(_BETA_2_5)
    if testing is not None:  # card testers probe with tiny amounts; models score them high
        amount[testing] = 0.5 + d.rng.random(int(testing.sum())) * 4.5
        score[testing] = np.minimum(score[testing] + 0.45, 1.0)
    return {"rule": rule, "merchant_category": mcc, "amount": np.round(amount, 2),
            "score": np.round(score, 4)}


_SERVICES = ("api", "auth", "db", "cache", "search", "payments", "queue", "cdn")
_SERVICE_LATENCY = np.array([1.0, 0.6, 1.5, 0.15, 2.0, 2.5, 0.4, 0.3])


def _health_categories(p):
    return {"host": (_names("host-", p["hosts"], 3), zipf(p["hosts"], 0.6)),
            "service": (_SERVICES, zipf(8, 0.9))}


def _health(d: Draw):
    host = d.key("host")
    service = d.key("service")
    hit = d.steer("incident", service)
    latency = d.rng.lognormal(math.log(d.params["p50_latency_ms"]), 0.6, d.n) * _SERVICE_LATENCY[service]
    p_err = np.full(d.n, d.params["error_rate"])
    _effect(hit, latency, 6.0)
    _effect(hit, p_err, 30.0)
    cpu = d.sample(_BETA_2_5) * 100.0
    deploy = d.during("deploy")
    if deploy is not None:
        cpu[deploy] = np.minimum(cpu[deploy] + 25.0, 100.0)
    error = (d.rng.random(d.n) < p_err).astype(np.int64)
    return {"host": host, "service": service, "latency_ms": np.round(latency, 2),
            "cpu": np.round(cpu, 1), "error": error}


def _factory_categories(p):
    lines, per = p["lines"], p["machines_per_line"]
    machines = tuple(f"L{li}-M{m:02d}" for li in range(1, lines + 1) for m in range(1, per + 1))
    return {"line": (tuple(f"L{i}" for i in range(1, lines + 1)), np.full(lines, 1.0 / lines)),
            "machine": (machines, np.full(len(machines), 1.0 / len(machines)))}


_HOURS = np.arange(25, dtype=float)
_AMBIENT = 2.0 * np.sin((_HOURS - 9.0) / 24.0 * 2 * np.pi)


def _factory(d: Draw):
    per = d.params["machines_per_line"]
    machine = d.key("machine")
    line = machine // per  # a machine belongs to one line
    faulty = d.steer("machine_fault", machine)
    hour = (d.ts % _DAY) * (1.0 / (3600 * SECOND))
    ambient = np.interp(hour, _HOURS, _AMBIENT)  # the hall warms up by day
    offset = (np.arange(machine.max(initial=0) + 1) % 7 - 3) * 1.2  # each machine runs a bit differently
    temperature = 62.0 + ambient + offset[machine] + d.rng.normal(0.0, 1.5, d.n)
    vibration = d.rng.lognormal(math.log(2.5), 0.4, d.n)
    defects = d.sample(d.extra["defects"])
    if faulty is not None:
        temperature[faulty] += 15.0
        vibration[faulty] *= 4.0
        defects[faulty] = d.rng.poisson(d.params["defect_rate"] * 10.0, int(faulty.sum()))
    return {"line": line, "machine": machine, "temperature": np.round(temperature, 2),
            "vibration": np.round(vibration, 3), "defects": defects}


_SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B", "JPM", "V", "UNH",
            "XOM", "JNJ", "WMT", "MA", "PG", "AVGO", "HD", "CVX", "KO", "PEP", "COST", "MRK",
            "ABBV", "ADBE", "CRM", "NFLX", "AMD", "INTC", "ORCL")
_PRICES = np.array([190, 410, 480, 175, 150, 480, 180, 410, 195, 275, 490, 115, 155, 60, 460, 165,
                    1300, 360, 155, 60, 170, 720, 125, 170, 520, 280, 610, 160, 30, 125], dtype=float)


def _trading_categories(p):
    n = p["symbols"]
    return {"symbol": (_SYMBOLS[:n], zipf(n, 1.0)), "side": (("buy", "sell"), _shares(1, 1))}


_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrap-around arithmetic)."""
    x = x + _GOLD
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _hash_normal(seed: int, syms: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Standard normals keyed by (seed, symbol, node), shape ``syms x nodes``."""
    h = _mix(_mix(np.full(len(syms), seed, dtype=np.uint64)) ^ syms.astype(np.uint64))
    h1 = _mix(h[:, None] ^ nodes.astype(np.uint64)[None, :])
    h2 = _mix(h1)
    u1 = ((h1 >> np.uint64(11)).astype(np.float64) + 1.0) * 2.0**-53
    u2 = (h2 >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


_LEVELS = 36  # the walk is defined on [0, 2**36) seconds since 1970 (to year 4147)


def brownian_at(seed: int, syms: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """A standard Brownian motion per symbol at whole ``seconds``, in random access.

    Lévy's midpoint construction: the value at a dyadic point is the mean of its
    interval's ends plus a normal keyed by (seed, symbol, point), so any second can be
    computed without the past, and the same second always gives the same value.
    Returns an array ``len(syms) x len(seconds)``.

    >>> syms, t = np.arange(3), np.array([0, 1_700_000_000, 1_700_000_001])
    >>> w = brownian_at(7, syms, t)
    >>> w.shape, bool((w[:, 0] == 0).all())
    ((3, 3), True)
    >>> np.array_equal(w[:, 1:], brownian_at(7, syms, t[1:]))
    True
    """
    t = np.asarray(seconds, dtype=np.int64)[None, :]
    shape = (len(syms), t.shape[1])
    a = np.zeros(shape, dtype=np.int64)
    b = np.full(shape, 1 << _LEVELS, dtype=np.int64)
    wa = np.zeros(shape)
    wb = math.sqrt(1 << _LEVELS) * _hash_normal(seed, syms, np.array([1 << _LEVELS]))
    wb = np.broadcast_to(wb, shape).copy()
    for _ in range(_LEVELS):
        m = (a + b) >> 1
        # every element of a column follows the same path; key the normals per column
        z = _hash_normal(seed, syms, m[0])
        wm = 0.5 * (wa + wb) + np.sqrt((b - a) / 4.0) * z
        left = t < m
        b = np.where(left, m, b)
        wb = np.where(left, wm, wb)
        a = np.where(left, a, m)
        wa = np.where(left, wa, wm)
    return wa


def _trading(d: Draw):
    symbol = d.key("symbol")
    d.steer("news", symbol)
    side = d.key("side")
    n_sym = len(d.extra["symbol_prices"])
    if d.n == 0:
        return {"symbol": symbol, "side": side, "price": np.zeros(0), "size": np.zeros(0, np.int64)}
    # exact Brownian values at whole seconds, a Brownian bridge within each second
    g0 = int(d.ts.min()) // SECOND
    g1 = int(d.ts.max()) // SECOND + 1
    grid = brownian_at(d.seed, np.arange(n_sym), np.arange(g0, g1 + 1))
    rel = d.ts - g0 * SECOND
    sec = rel // SECOND
    frac = (rel - sec * SECOND) / SECOND
    w = grid[symbol, sec] * (1.0 - frac) + grid[symbol, sec + 1] * frac
    w += np.sqrt(frac * (1.0 - frac)) * d.rng.standard_normal(d.n)
    sigma = d.params["volatility"] / math.sqrt(365.25 * 86_400)
    log_ref = d.extra["symbol_log_ref"]
    price = d.extra["symbol_prices"][symbol] * np.exp(sigma * (w - log_ref[symbol]))
    size = d.sample(_LOT_SIZES)  # Pareto(1.3) x 60 shares
    round_lot = d.rng.random(d.n) < 0.35
    size[round_lot] = np.maximum(size[round_lot] // 100, 1) * 100
    return {"symbol": symbol, "side": side, "price": np.round(price, 2), "size": size}


def _trading_extra(p, seed, origin_s):
    syms = np.arange(p["symbols"])
    return {"symbol_prices": _PRICES[: p["symbols"]], "symbol_log_ref": brownian_at(seed, syms, np.array([origin_s]))[:, 0]}


_REGIONS = ("NA", "EU", "APAC", "LATAM", "MEA")
_CHANNELS = ("news", "sports", "movies", "kids", "music", "docs", "comedy", "local")


def _broadcast_categories(p):
    return {"channel": (_CHANNELS, zipf(8, 0.9)), "region": (_REGIONS, _shares(35, 30, 20, 10, 5))}


_AUDIENCE_SHARE = np.outer(zipf(8, 0.9), _shares(35, 30, 20, 10, 5)).ravel()  # channel x region


def _broadcast(d: Draw):
    channel = d.key("channel")
    live = d.steer("live_event", channel)
    region = d.key("region")
    # the seasonal profile at each event's second (evaluated once per second, not per event)
    s0 = int(d.ts.min()) // SECOND if d.n else 0
    sec = d.ts // SECOND - s0
    profile = d.profile(np.arange(s0, s0 + int(sec.max(initial=0)) + 1) * SECOND + SECOND // 2)
    share = _AUDIENCE_SHARE[channel * len(_REGIONS) + region]
    viewers = (d.params["base_viewers"] * share) * profile[sec] * d.rng.lognormal(0.0, 0.08, d.n)
    joins_mean = viewers * 0.002
    leaves_mean = viewers * 0.002
    if live is not None:
        viewers[live] *= 5.0
        joins_mean[live] *= 3.0
    return {"channel": channel, "region": region, "viewers": viewers.astype(np.int64),
            "joins": poisson(d.rng, joins_mean), "leaves": poisson(d.rng, leaves_mean)}


def _P(name, default, doc, lo=0.0, hi=math.inf, integer=False):
    return Param(name=name, default=default, doc=doc, lo=lo, hi=hi, integer=integer)


def _B(name, doc, per_day, minutes, intensity, target=None, target_value=None):
    return Burst(name=name, doc=doc, per_day=per_day, minutes=minutes, intensity=intensity,
                 target=target, target_value=target_value)


_SKEW = "Zipf exponent of key popularity (0 = uniform)"

CATALOGUE: Mapping[str, Scenario] = MappingProxyType({s.name: s for s in [
    Scenario(
        name="ecommerce_orders",
        description="orders placed in an online shop",
        default_rate=20.0,
        keys=("country", "channel"), measures=("amount", "items"), integer_measures=("items",),
        columns={"country": "ISO country of the buyer", "channel": "where the order was placed",
                 "amount": "order value (currency units, lognormal)",
                 "items": "items in the order (Pareto)"},
        params=(_P("countries", 20, "number of countries", 1, len(_COUNTRIES), True),
                _P("mean_amount", 60.0, "mean order value", 0.01, 1e7),
                _P("skew", 1.2, _SKEW, 0.0, 5.0)),
        daily=(0.35, 0.25, 0.2, 0.18, 0.2, 0.3, 0.5, 0.75, 0.95, 1.05, 1.1, 1.2, 1.3, 1.2, 1.15,
               1.15, 1.2, 1.3, 1.5, 1.7, 1.8, 1.6, 1.1, 0.6),
        weekly=(1.0, 0.95, 0.95, 1.0, 1.05, 1.1, 1.2),
        bursts=(_B("flash_sale", "a site-wide sale: 4x orders, amounts 25 % lower", 0.3, (60, 180), 4.0),
                _B("influencer_post", "a post drives buyers from one country", 0.5, (10, 40), 3.0,
                   target="country")),
        categories=_ecommerce_categories, generate=_ecommerce),
    Scenario(
        name="saas_signups",
        description="sign-ups to a SaaS product",
        default_rate=0.5,
        keys=("plan", "source"), measures=("seats", "mrr"), integer_measures=("seats",),
        columns={"plan": "plan chosen", "source": "acquisition source (utm)",
                 "seats": "seats bought (Pareto; free plans 1)",
                 "mrr": "monthly recurring revenue added (currency units)"},
        params=(_P("mean_seats", 4.0, "typical number of seats of a paid sign-up", 1.0, 1e4),
                _P("skew", 1.0, _SKEW, 0.0, 5.0)),
        daily=(0.3, 0.25, 0.2, 0.2, 0.25, 0.35, 0.5, 0.8, 1.2, 1.5, 1.7, 1.7, 1.6, 1.7, 1.8, 1.8,
               1.6, 1.3, 1.0, 0.8, 0.6, 0.5, 0.4, 0.35),
        weekly=(1.15, 1.2, 1.2, 1.15, 1.0, 0.6, 0.5),
        bursts=(_B("product_launch", "a launch day on Product Hunt: 6x sign-ups for 6-12 h",
                   1 / 14, (360, 720), 6.0, target="source", target_value="product_hunt"),
                _B("newsletter", "a newsletter goes out: 3x sign-ups for 1-2 h", 0.15, (60, 120), 3.0,
                   target="source", target_value="newsletter")),
        categories=_saas_categories, generate=_saas),
    Scenario(
        name="support_queue",
        description="support tickets taken from a queue",
        default_rate=2.0,
        keys=("priority", "channel"), measures=("wait_s", "handle_s"), integer_measures=(),
        columns={"priority": "ticket priority", "channel": "how the customer got in touch",
                 "wait_s": "seconds waited before an agent picked it up (lognormal)",
                 "handle_s": "seconds an agent spent on it (lognormal)"},
        params=(_P("median_wait_s", 180.0, "median wait of a normal-priority ticket (s)", 0.1, 1e6),),
        daily=(0.2, 0.15, 0.15, 0.15, 0.2, 0.3, 0.6, 1.0, 1.5, 1.8, 1.9, 1.8, 1.6, 1.7, 1.8, 1.7,
               1.5, 1.2, 0.9, 0.7, 0.5, 0.4, 0.3, 0.25),
        weekly=(1.3, 1.15, 1.1, 1.05, 1.0, 0.55, 0.45),
        bursts=(_B("incident", "a product incident: 5x tickets, waits 4x longer", 0.2, (30, 180), 5.0),),
        categories=_support_categories, generate=_support),
    Scenario(
        name="ad_spend",
        description="delivery reports of advertising campaigns",
        default_rate=50.0,
        keys=("campaign", "platform"), measures=("impressions", "clicks", "spend"),
        integer_measures=("impressions", "clicks"),
        columns={"campaign": "campaign id", "platform": "ad platform",
                 "impressions": "impressions in the report (lognormal)",
                 "clicks": "clicks in the report (Poisson of impressions x CTR)",
                 "spend": "money spent (impressions/1000 x CPM)"},
        params=(_P("campaigns", 25, "number of campaigns", 1, 999, True),
                _P("ctr", 0.015, "mean click-through rate", 0.0, 1.0),
                _P("cpm", 6.0, "median cost per thousand impressions", 0.0, 1e4)),
        daily=(0.5, 0.4, 0.35, 0.3, 0.35, 0.45, 0.6, 0.8, 1.0, 1.1, 1.15, 1.2, 1.25, 1.2, 1.2, 1.2,
               1.25, 1.3, 1.4, 1.5, 1.5, 1.4, 1.1, 0.8),
        weekly=(1.05, 1.05, 1.0, 1.0, 0.95, 0.95, 1.0),
        bursts=(_B("campaign_launch", "a new campaign ramps up: 3x reports, mostly one campaign",
                   0.3, (120, 360), 3.0, target="campaign"),
                _B("viral_post", "an ad goes viral: 4x reports, its CTR triples", 0.1, (30, 90), 4.0,
                   target="campaign")),
        categories=_ads_categories, generate=_ads),
    Scenario(
        name="fraud_alerts",
        description="alerts raised by a card-fraud detection system",
        default_rate=5.0,
        keys=("rule", "merchant_category"), measures=("amount", "score"), integer_measures=(),
        columns={"rule": "detection rule that fired", "merchant_category": "merchant category",
                 "amount": "transaction amount (Pareto)", "score": "model risk score in [0, 1]"},
        params=(_P("amount_alpha", 1.6, "Pareto tail index of amounts (smaller = heavier tail)",
                   0.5, 10.0),),
        daily=(1.2, 1.3, 1.3, 1.2, 1.0, 0.8, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
               1.0, 1.0, 1.05, 1.1, 1.1, 1.1, 1.1, 1.15),
        weekly=(1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 1.1),
        bursts=(_B("card_testing", "a card-testing attack: 10x alerts, tiny amounts, high scores",
                   0.5, (15, 60), 10.0, target="rule", target_value="card_testing"),),
        categories=_fraud_categories, generate=_fraud),
    Scenario(
        name="system_health",
        description="request metrics from a fleet of hosts running services",
        default_rate=200.0,
        keys=("host", "service"), measures=("latency_ms", "cpu", "error"), integer_measures=("error",),
        columns={"host": "host name", "service": "service that handled the request",
                 "latency_ms": "request latency in ms (lognormal)", "cpu": "host CPU use in %",
                 "error": "1 when the request failed, else 0"},
        params=(_P("hosts", 40, "number of hosts", 1, 9999, True),
                _P("p50_latency_ms", 40.0, "median latency of the api service (ms)", 0.001, 1e6),
                _P("error_rate", 0.005, "baseline fraction of failed requests", 0.0, 1.0 / 30)),
        daily=(0.6, 0.55, 0.5, 0.5, 0.55, 0.65, 0.8, 1.0, 1.2, 1.3, 1.35, 1.35, 1.3, 1.3, 1.35,
               1.35, 1.3, 1.25, 1.2, 1.15, 1.05, 0.9, 0.8, 0.7),
        weekly=(1.05, 1.05, 1.05, 1.05, 1.0, 0.9, 0.9),
        bursts=(_B("incident", "one service degrades: latency x6, errors x30 (and retries, 1.5x traffic)",
                   0.5, (10, 60), 1.5, target="service"),
                _B("deploy", "a deploy: CPU +25 points for a few minutes", 2.0, (5, 15), 1.1)),
        categories=_health_categories, generate=_health),
    Scenario(
        name="manufacturing_floor",
        description="sensor readings from machines on production lines",
        default_rate=100.0,
        keys=("line", "machine"), measures=("temperature", "vibration", "defects"),
        integer_measures=("defects",),
        columns={"line": "production line", "machine": "machine (belongs to one line)",
                 "temperature": "spindle temperature in degrees C",
                 "vibration": "vibration velocity in mm/s (lognormal)",
                 "defects": "defective parts since the last reading (Poisson)"},
        params=(_P("lines", 4, "number of production lines", 1, 99, True),
                _P("machines_per_line", 6, "machines on each line", 1, 99, True),
                _P("defect_rate", 0.02, "mean defects per reading", 0.0, 100.0)),
        daily=(0.9, 0.9, 0.9, 0.9, 0.9, 0.6, 0.6, 1.0, 1.05, 1.05, 1.05, 1.05, 1.05, 0.6, 0.6, 1.0,
               1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.6, 0.9),
        weekly=(1.1, 1.1, 1.1, 1.1, 1.1, 0.8, 0.7),
        bursts=(_B("machine_fault", "one machine runs hot: +15 C, vibration x4, defects x10",
                   0.5, (20, 90), 1.0, target="machine"),),
        categories=_factory_categories, generate=_factory),
    Scenario(
        name="trading_ticks",
        description="trades on a stock exchange (US hours, 13:30-20:00 UTC)",
        default_rate=1000.0,
        keys=("symbol", "side"), measures=("price", "size"), integer_measures=("size",),
        columns={"symbol": "ticker", "side": "aggressor side",
                 "price": "trade price (geometric Brownian motion per symbol)",
                 "size": "shares traded (Pareto, some round lots)"},
        params=(_P("symbols", 20, "number of symbols", 1, len(_SYMBOLS), True),
                _P("volatility", 0.3, "annualised volatility of prices", 0.0, 10.0)),
        daily=(0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.05, 0.1, 0.1, 0.1, 0.15, 0.5,
               3.0, 2.0, 1.6, 1.5, 1.6, 2.2, 2.8, 0.2, 0.05, 0.02),
        weekly=(1.0, 1.0, 1.0, 1.0, 1.0, 0.03, 0.03),
        bursts=(_B("news", "news on one symbol: 6x trades, mostly that symbol", 1.0, (5, 30), 6.0,
                   target="symbol"),),
        categories=_trading_categories, generate=_trading),
    Scenario(
        name="broadcast_audience",
        description="audience pings of a live TV / streaming broadcaster",
        default_rate=20.0,
        keys=("channel", "region"), measures=("viewers", "joins", "leaves"),
        integer_measures=("viewers", "joins", "leaves"),
        columns={"channel": "channel watched", "region": "viewer region",
                 "viewers": "concurrent viewers of the channel in the region",
                 "joins": "viewers who joined since the last ping (Poisson)",
                 "leaves": "viewers who left since the last ping (Poisson)"},
        params=(_P("base_viewers", 200_000.0, "typical total audience", 1.0, 1e10),),
        daily=(0.6, 0.4, 0.3, 0.2, 0.2, 0.25, 0.4, 0.6, 0.7, 0.7, 0.7, 0.75, 0.85, 0.85, 0.8, 0.8,
               0.9, 1.1, 1.5, 1.9, 2.2, 2.1, 1.6, 1.0),
        weekly=(0.95, 0.95, 0.95, 1.0, 1.1, 1.25, 1.2),
        bursts=(_B("live_event", "a live match: sports audience x5, 4x pings, joins x3", 0.3,
                   (120, 180), 4.0, target="channel", target_value="sports"),),
        categories=_broadcast_categories, generate=_broadcast),
]})

def _saas_extra(p, seed, origin_s):
    return {"seats": _lomax_counts(1.6, (p["mean_seats"] - 1) * 0.6 + 1e-9, 4999)}


def _factory_extra(p, seed, origin_s):
    return {"defects": _poisson_table(p["defect_rate"])}


#: per-scenario tables computed once per source: f(params, seed, origin second) -> dict
EXTRA: Mapping[str, Callable[..., dict]] = MappingProxyType(
    {"trading_ticks": _trading_extra, "saas_signups": _saas_extra, "manufacturing_floor": _factory_extra}
)
