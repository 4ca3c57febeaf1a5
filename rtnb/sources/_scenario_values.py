"""The nine scenarios' value generators: for each, the categories of its keys (names and
popularity) and the function that draws what each event of a block holds from a
:class:`~rtnb.sources._scenario.Draw`; with the per-source tables some of them need
(see ``EXTRA`` in :mod:`rtnb.sources._scenarios`, the catalogue that describes them).
"""

from __future__ import annotations

import math

import numpy as np

from ._sampling import _beta_table, _lomax_counts, _poisson_table, _shares, brownian_at, poisson, zipf
from ._scenario import _DAY, SECOND, Draw


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


def _saas_extra(p, seed, origin_s):
    return {"seats": _lomax_counts(1.6, (p["mean_seats"] - 1) * 0.6 + 1e-9, 4999)}


def _factory_extra(p, seed, origin_s):
    return {"defects": _poisson_table(p["defect_rate"])}
