"""Finding 8: the advisor's statements are computed from its own simulated figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rtnb
from rtnb.tiers import EXAMPLES, advise, tier_costs


def test_a_max_age_the_tier_does_not_meet_is_not_ticked():
    # rtnb advise --max-age 1min --response-time 1D --value-per-minute 100 said "a maximum
    # age of 1 d is met" and ticked "max age 1 min" while recommending batch (p95 ~1.3 h)
    rec = advise(max_age="1min", response_time="1D", value_per_minute=100)
    assert rec.tier.name == "batch"
    p95 = pd.Timedelta(seconds=rec.age["p95"])
    assert p95 > pd.Timedelta("1min")
    assert not rec.meets_max_age and rec.shortfall == p95 - pd.Timedelta("1min")
    latency = rec.checklist[0]
    assert latency.item == "Latency requirement per metric" and not latency.done and "NOT met" in latency.note
    assert not any("is met" in r and "NOT" not in r for r in rec.reasons)
    assert any("NOT met" in r and "over" in r for r in rec.reasons)


def test_when_no_tier_meets_the_max_age_it_says_so_and_by_how_much():
    # one event a minute, max age 10 s: no delivery can show data younger than the gap
    rec = advise(max_age="10s", response_time="30s", event_rate=1 / 60, value_per_minute=10**6)
    assert not rec.meets_max_age
    assert rec.shortfall == pd.Timedelta(seconds=rec.age["p95"]) - pd.Timedelta("10s")
    text = " ".join(rec.reasons)
    assert "No tier meets the stated maximum age of 10 s" in text and "over" in text
    assert not rec.checklist[0].done


def test_a_met_max_age_is_backed_by_the_simulation():
    for name in ("fraud_alerts", "saas_signups", "weekly_revenue"):
        rec = advise(EXAMPLES[name])
        met = rec.age["p95"] <= EXAMPLES[name].max_age.total_seconds()
        assert rec.meets_max_age == met == rec.checklist[0].done


def test_break_even_depends_on_the_event_rate():
    # "real time pays for itself: 1.46 min saved" was the same whatever the event rate
    fast = advise(max_age="10s", response_time="30s", value_per_minute=None, event_rate=50.0)
    slow = advise(max_age="10s", response_time="30s", value_per_minute=None, event_rate=1 / 300)
    assert fast.minutes_saved is not None and slow.minutes_saved is not None
    assert abs(fast.minutes_saved - slow.minutes_saved) > 0.1
    assert fast.break_even_value != slow.break_even_value


def test_missing_required_fields_are_one_line_parameter_errors():
    with pytest.raises(rtnb.ParameterError) as e:
        advise(response_time="1D")
    assert e.value.param == "max_age" and "\n" not in str(e.value)
    with pytest.raises(rtnb.ParameterError) as e:
        advise(max_age="1D")
    assert e.value.param == "response_time"
    with pytest.raises(rtnb.ParameterError) as e:
        advise(max_age="1D", response_time="1D", seed=-1)
    assert e.value.param == "seed"
    with pytest.raises(rtnb.ParameterError) as e:
        advise(max_age="1D", response_time="1D", cost="cheap")
    assert e.value.param == "cost"


def _orders(n=2000):
    ts = pd.date_range("2011-09-01 08:00", periods=n, freq="7s")
    return pd.DataFrame({"time": ts, "amount": np.arange(n, dtype=float)})


def test_tier_costs_of_a_replay_anchored_elsewhere_reads_its_own_times():
    # tier_costs(replay(...)) without start= returned NaN ages without an error
    src = rtnb.replay(_orders(), time_col="time", speed=1, start="2024-06-01")
    df = tier_costs(src, viewers=5, hours=1)
    assert df["age_p95_s"].notna().all()


def test_a_source_without_events_over_the_horizon_is_an_error_not_nan():
    src = rtnb.replay(_orders(), time_col="time", speed=1, start="2024-06-01")
    with pytest.raises(rtnb.SourceError, match="gave no events"):
        tier_costs(src, viewers=5, hours=1, start="2020-01-01")


def test_advise_uses_a_sources_real_event_times_and_a_metric_definition():
    m = rtnb.Metric(name="orders", value="amount", window="5min")
    src = rtnb.replay(_orders(), time_col="time", speed=1, start="2024-06-01")
    rec = advise(m, max_age="30s", response_time="1min", events=src, value_per_minute=None)
    assert rec.metric.name == "orders"
    # events every 7 s: the real-time data age is about that gap, not a 10/s Poisson stream's
    poisson = advise(m, max_age="30s", response_time="1min", value_per_minute=None)
    assert rec.age["p50"] > 2 * poisson.age["p50"]


def test_cli_advise_with_a_real_data_set(capsys):
    from rtnb.cli import main

    assert main(["advise", "--max-age", "1min", "--response-time", "1D", "--value-per-minute", "100"]) == 0
    out = capsys.readouterr().out
    assert "NOT met" in out and "[ ] Latency requirement" in out
    assert main(["advise", "--max-age", "10s", "--response-time", "30s", "--event-rate", "0.0167"]) == 0
    assert "No tier meets" in capsys.readouterr().out
