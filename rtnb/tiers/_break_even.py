"""What a faster tier costs and when it pays for itself.

:func:`tier_costs` simulates each tier's usual pattern on one workload and prices it
(:class:`~rtnb.tiers.CostModel`); :func:`break_even` is the value of a minute of delay
(per year) from which a faster tier pays off against a slower one, and
:func:`break_even_curve` the data of its plot. :func:`rtnb.tiers.advise` weighs the
tiers with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError
from ._tiers import TIER_NAMES, get_tier
from .cost import CostModel, Range
from .delivery import Pattern, pattern_for
from .simulation import simulate

__all__ = ["break_even", "break_even_curve", "minutes_and_extra", "tier_costs"]


def break_even(extra_per_year: Range | float | tuple[float, float], minutes_saved: float) -> Range:
    """The value of a minute of delay (per year) from which a faster tier pays off:
    extra cost per year / minutes of data age saved.

    >>> break_even(Range(3_000, 12_000), minutes_saved=1.5)
    Range(low=2000.0, high=8000.0)
    >>> break_even(1000, 0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: minutes_saved=0 is invalid: must be > 0 (the faster tier must save time)
    """
    if isinstance(minutes_saved, bool) or not isinstance(minutes_saved, (int, float)) or not minutes_saved > 0:
        raise ParameterError("minutes_saved", minutes_saved, "must be > 0 (the faster tier must save time)")
    return Range.of(extra_per_year, "extra_per_year") / minutes_saved


def minutes_and_extra(faster: Any, slower: Any, sims: Mapping[Any, Any], cost: CostModel) -> tuple[float, Range]:
    """What ``faster`` (a tier or its name) gives over ``slower`` on the same workload:
    the minutes of mean data age saved (never below 0) and the extra cost per year, from
    the two tiers' simulations in ``sims`` (keyed by tier name). The one computation the
    advisor's break-even and the explorer's verdict both use, so they say the same figures.

    >>> from rtnb.tiers import simulate_tiers
    >>> sims = simulate_tiers(10.0, viewers=50, hours=0.5)
    >>> saved, extra = minutes_and_extra("real_time", "near_real_time", sims, CostModel())
    >>> saved > 0, extra.low < extra.high   # minutes of mean age saved, dollars a year more
    (True, True)
    """
    f, s = get_tier(faster), get_tier(slower)
    fast, slow = sims[f.name], sims[s.name]
    saved = max(slow.age_mean - fast.age_mean, 0.0) / 60.0
    return float(saved), cost.extra(f, s, fast, slow).per_year


def break_even_curve(
    extra_per_year: Range | float | tuple[float, float],
    minutes_saved: float,
    values: Iterable[float] | None = None,
) -> pd.DataFrame:
    """Data for the break-even plot: for each value of a minute of delay, the yearly
    value of the minutes saved against the extra cost (low and high).

    >>> df = break_even_curve((3_000, 12_000), 1.5, values=[0, 2_000, 8_000])
    >>> df["pays_low"].tolist(), df["pays_high"].tolist()
    ([False, True, True], [False, False, True])
    """
    be = break_even(extra_per_year, minutes_saved)
    extra = Range.of(extra_per_year)
    v = np.linspace(0, 2.5 * be.high if be.high > 0 else 1.0, 51) if values is None else np.asarray(list(values), float)
    value = v * minutes_saved
    return pd.DataFrame({
        "value_per_minute": v,
        "yearly_value": value,
        "extra_low": extra.low,
        "extra_high": extra.high,
        "pays_low": value >= extra.low,
        "pays_high": value >= extra.high,
    })


def tier_costs(
    workload: Any = 10.0,
    *,
    viewers: int = 50,
    hours: float = 1.0,
    cost: CostModel | None = None,
    tiers: Iterable[str] = TIER_NAMES,
    patterns: Mapping[str, Pattern] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Per tier: its pattern, simulated data age and loads, and its cost ranges.

    ``patterns`` overrides a tier's usual pattern (e.g. a 10-second polling interval
    for near-real-time). Options as for :func:`~rtnb.tiers.simulate`.

    >>> df = tier_costs(5.0, viewers=100, hours=0.5)
    >>> df.index.tolist()
    ['batch', 'near_real_time', 'real_time', 'sub_second']
    >>> bool((df["age_p95_s"].diff().dropna() < 0).all())   # faster tiers, younger data
    True
    """
    cost = cost or CostModel()
    patterns = dict(patterns or {})
    rows = []
    for name in tiers:
        t = get_tier(name)
        pat = patterns.get(t.name) or pattern_for(t)
        sim = simulate(workload, pat, viewers=viewers, hours=hours, **options)
        est = cost.estimate(t, sim)
        row = {"tier": t.name, "pattern": pat.name, "age_p50_s": sim.age_p50, "age_p95_s": sim.age_p95,
               "age_max_s": sim.age_max}
        row.update(sim.load_mean)
        row["requests_peak_1s"] = sim.requests_peak_1s
        if sim.limit is not None:
            row["within_limit"] = sim.within_limit
            row["limit_kept"] = sim.limit_kept
        row.update({k: v for k, v in est.as_row().items() if k != "tier"})
        rows.append(row)
    return pd.DataFrame(rows).set_index("tier")
