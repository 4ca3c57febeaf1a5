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
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType

import pandas as pd

from .._errors import UnknownNameError

# what a scenario is, the samplers and the nine value generators live in their own
# modules; the names this module had stay importable here (and pickled references)
from ._sampling import (  # noqa: F401
    _TABLE,
    brownian_at,
    count_table,
    key_table,
    poisson,
    quantile_table,
    zipf,
)
from ._scenario import _DAY, SECOND, Burst, BurstHit, Draw, Param, Scenario  # noqa: F401
from ._scenario_values import (  # noqa: F401
    _COUNTRIES,
    _SYMBOLS,
    _ads,
    _ads_categories,
    _broadcast,
    _broadcast_categories,
    _ecommerce,
    _ecommerce_categories,
    _factory,
    _factory_categories,
    _factory_extra,
    _fraud,
    _fraud_categories,
    _health,
    _health_categories,
    _saas,
    _saas_categories,
    _saas_extra,
    _support,
    _support_categories,
    _trading,
    _trading_categories,
    _trading_extra,
)

__all__ = ["Scenario", "Param", "Burst", "Draw", "CATALOGUE", "SECOND", "Catalogue", "scenarios"]


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


#: per-scenario tables computed once per source: f(params, seed, origin second) -> dict
EXTRA: Mapping[str, Callable[..., dict]] = MappingProxyType(
    {"trading_ticks": _trading_extra, "saas_signups": _saas_extra, "manufacturing_floor": _factory_extra}
)


# ---------------------------------------------------------------- the catalogue users see


class Catalogue(Mapping):
    """The scenarios, by name: a read-only mapping of name to :class:`Scenario`.

    >>> cat = scenarios()
    >>> "trading_ticks" in cat, len(cat)
    (True, 9)
    >>> cat["support_queue"].measures
    ('wait_s', 'handle_s')
    >>> cat.table().loc["ad_spend", "keys"]
    'campaign, platform'
    >>> cat["shop"]
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: scenario='shop' is unknown; choose one of: 'ad_spend', 'broadcast_audience', 'ecommerce_orders', 'fraud_alerts', 'manufacturing_floor', 'saas_signups', 'support_queue', 'system_health', 'trading_ticks'
    """

    def __init__(self, entries: Mapping[str, Scenario]) -> None:
        self._entries = dict(sorted(entries.items()))

    def __getitem__(self, name: str) -> Scenario:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownNameError("scenario", name, list(self._entries)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def table(self) -> pd.DataFrame:
        """One row per scenario: description, default rate, keys, measures, parameters."""
        rows = [
            {
                "scenario": s.name,
                "description": s.description,
                "default_rate": s.default_rate,
                "keys": ", ".join(s.keys),
                "measures": ", ".join(s.measures),
                "params": ", ".join(f"{p.name}={p.default!r}" for p in s.params),
                "bursts": ", ".join(b.name for b in s.bursts),
            }
            for s in self._entries.values()
        ]
        return pd.DataFrame(rows).set_index("scenario")

    def __repr__(self) -> str:
        width = max(map(len, self._entries))
        lines = [f"{len(self)} scenarios (rtnb.scenarios()[name].describe() for details):"]
        lines += [f"  {n:<{width}}  {s.description}" for n, s in self._entries.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.table().to_html()


_CATALOGUE = Catalogue(CATALOGUE)


def scenarios() -> Catalogue:
    """The catalogue of simulated workloads (a mapping of name to :class:`Scenario`).

    >>> list(scenarios())
    ['ad_spend', 'broadcast_audience', 'ecommerce_orders', 'fraud_alerts', 'manufacturing_floor', 'saas_signups', 'support_queue', 'system_health', 'trading_ticks']
    >>> print(scenarios()["saas_signups"].describe())  # doctest: +ELLIPSIS
    saas_signups: sign-ups to a SaaS product (default rate 0.5/s)
      columns: ts, arrival, event_id, fault, and
        plan (key, category): plan chosen
    ...
    """
    return _CATALOGUE
