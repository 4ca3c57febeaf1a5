"""Simulated workloads: catalogue, schema, determinism, seasonality, bursts, rate, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import rtnb
from rtnb import ParameterError, SourceUnavailable, UnknownNameError
from rtnb.sources.simulate import SimulatedSource, scenarios, simulate

T0 = pd.Timestamp("2024-01-01")  # a Monday
NAMES = list(scenarios())


def read_split(src, start, end, step):
    """Read [start, end) in steps of ``step``, retrying from the last success when the
    source is down (what the runner does)."""
    start, end, step = pd.Timestamp(start), pd.Timestamp(end), pd.Timedelta(step)
    parts, done, t = [], start, start
    while t < end:
        t = min(t + step, end)
        try:
            parts.append(src.read(done, t))
            done = t
        except SourceUnavailable:
            pass
    assert done == end
    return pd.concat(parts, ignore_index=True)


def assert_same(a, b):
    """Frames equal in columns, dtypes and values (assert_frame_equal is slow on 100k rows)."""
    assert list(a.columns) == list(b.columns)
    assert a.dtypes.to_dict() == b.dtypes.to_dict()
    assert len(a) == len(b)
    assert a.equals(b)


def normalised(df, measures):
    """Measures as objects, so a batch split that changed dtypes compares by value."""
    return df.astype({m: object for m in measures})


# ---------------------------------------------------------------- catalogue and schema


def test_catalogue_lists_nine_documented_scenarios():
    cat = rtnb.scenarios()
    assert NAMES == sorted(NAMES) and len(NAMES) == 9
    assert set(NAMES) == {
        "ecommerce_orders", "saas_signups", "support_queue", "ad_spend", "fraud_alerts",
        "system_health", "manufacturing_floor", "trading_ticks", "broadcast_audience",
    }
    table = cat.table()
    assert list(table.index) == NAMES
    for name in NAMES:
        s = cat[name]
        text = s.describe()
        for col in (*s.keys, *s.measures):
            assert col in text and col in s.columns
        for p in s.params:
            assert p.name in text
        assert s.bursts and all(b.name in text for b in s.bursts)
        assert len(s.daily) == 24 and len(s.weekly) == 7
    assert "trading_ticks" in repr(cat)
    with pytest.raises(UnknownNameError) as err:
        cat["shop"]
    assert err.value.choices == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_scenario_batch_has_its_columns_and_dtypes(name):
    src = simulate(name, rate=300, seed=5)
    assert isinstance(src, rtnb.Source) and isinstance(src, SimulatedSource)
    start = pd.Timestamp("2024-01-03 15:00")
    b = src.read(start, start + pd.Timedelta("2min"))
    assert len(b) > 1000
    expected = src.dtypes
    assert list(b.columns) == list(expected)
    assert {c: str(t) for c, t in b.dtypes.items()} == expected
    assert list(expected)[3: 3 + len(src.keys)] == list(src.keys)
    for key in src.keys:
        assert list(b[key].cat.categories) == list(src.scenario.categories(src.params)[key][0])
        assert b[key].notna().all()
    for m in src.measures:
        assert np.isfinite(b[m].to_numpy(dtype=float)).all()
    assert b.event_id.is_unique
    assert b.arrival.is_monotonic_increasing
    assert b.arrival.min() >= start and b.arrival.max() < start + pd.Timedelta("2min")
    delay = b.arrival - b.ts
    assert delay.min() >= pd.Timedelta(0) and delay.max() <= pd.Timedelta("1s")  # 5 x 200 ms
    assert (b.fault == "").all()
    # an empty batch (before the source's start) has the same schema
    empty = src.read("2023-12-31", "2023-12-31 00:01")
    assert empty.empty and {c: str(t) for c, t in empty.dtypes.items()} == expected


def test_clean_ingest_delay_is_small_and_documented():
    b = simulate("ecommerce_orders", rate=200, seed=1).read("2024-01-02 12:00", "2024-01-02 12:10")
    d = (b.arrival - b.ts).dt.total_seconds()
    assert 0.17 < d.mean() < 0.23 and d.max() <= 1.0
    b0 = simulate("ecommerce_orders", rate=200, seed=1, ingest_delay=0).read(
        "2024-01-02 12:00", "2024-01-02 12:01"
    )
    assert (b0.arrival == b0.ts).all()


# ---------------------------------------------------------------- determinism


def test_same_seed_same_events_whatever_the_batch_boundaries():
    src = lambda: simulate("ecommerce_orders", rate=5, seed=42)  # noqa: E731
    start, end = "2024-01-01 10:00", "2024-01-01 11:00"
    whole = src().read(start, end)
    assert len(whole) > 10_000
    for step in ("1s", "7.3s"):
        split = read_split(src(), start, end, step)
        assert_same(split, whole)
    other = simulate("ecommerce_orders", rate=5, seed=43).read(start, end)
    assert not other.event_id.equals(whole.event_id) or not other.amount.equals(whole.amount)


def test_determinism_holds_with_every_fault_kind():
    faults = dict(late=0.05, duplicates=0.03, malformed=0.04, max_delay="90s",
                  stalls=[("10h10min", "3min")], outages=[("10h30min", "2min")])
    src = lambda: simulate("system_health", rate=30, seed=9, faults=faults)  # noqa: E731
    start, end = "2024-01-01 10:00", "2024-01-01 11:00"
    whole = src().read(start, end)
    assert set(whole.fault) == {"", "late", "duplicate", "missing_field", "wrong_type",
                                "non_finite", "bad_timestamp", "stall", "outage"}
    measures = src().measures
    for step in ("1s", "7.3s"):
        split = read_split(src(), start, end, step)
        assert_same(normalised(split, measures), normalised(whole, measures))


@pytest.mark.parametrize("name", ["trading_ticks", "broadcast_audience", "manufacturing_floor"])
def test_determinism_of_stateful_scenarios(name):
    src = lambda: simulate(name, rate=50, seed=3)  # noqa: E731
    start, end = "2024-01-02 14:00", "2024-01-02 14:10"
    assert_same(read_split(src(), start, end, "7.3s"), src().read(start, end))


# ---------------------------------------------------------------- rate, seasonality, bursts


def test_rate_is_the_mean_over_a_week():
    b = simulate("ecommerce_orders", rate=1, seed=2, bursts=0).read(T0, T0 + pd.Timedelta("7D"))
    assert abs(len(b) / (7 * 86_400) - 1.0) < 0.01


def test_daily_seasonality_evening_vs_night():
    b = simulate("ecommerce_orders", rate=20, seed=2, bursts=0).read("2024-01-02", "2024-01-03")
    hours = b.ts.dt.hour
    evening, night = (hours.isin([19, 20])).sum(), (hours.isin([2, 3])).sum()
    # the daily curve is 1.7-1.8 at 19-21h and 0.18-0.25 at 2-4h
    assert 5.0 < evening / night < 12.0


def test_weekly_seasonality_weekday_vs_weekend():
    src = simulate("saas_signups", rate=2, seed=2, bursts=0)
    monday = len(src.read("2024-01-01", "2024-01-02"))
    saturday = len(src.read("2024-01-06", "2024-01-07"))
    assert monday / saturday == pytest.approx(1.15 / 0.6, rel=0.17)  # weekly weights 1.15 vs 0.6


def test_bursts_raise_the_rate_and_are_seeded():
    src = simulate("ecommerce_orders", rate=20, seed=11)
    sched = src.burst_schedule("2024-01-01", "2024-01-31")
    sales = sched[sched.kind == "flash_sale"]
    assert len(sales) >= 3
    assert sched.equals(simulate("ecommerce_orders", rate=20, seed=11).burst_schedule("2024-01-01", "2024-01-31"))
    quiet = simulate("ecommerce_orders", rate=20, seed=11, bursts=0)
    ratios = []
    for _, burst in sales.iterrows():
        mid = burst.start + (burst.end - burst.start) * 0.3
        window = (mid, mid + pd.Timedelta("10min"))
        if sched[(sched.start < window[1]) & (sched.end > window[0])].shape[0] > 1:
            continue  # overlapping bursts: skip
        ratios.append(len(src.read(*window)) / len(quiet.read(*window)))
    assert ratios and all(3.0 < r < 5.0 for r in ratios)  # intensity 4, same seasonal profile


def test_an_incident_degrades_its_target_service():
    src = simulate("system_health", rate=50, seed=1)
    sched = src.burst_schedule("2024-01-01", "2024-01-15")
    inc = sched[sched.kind == "incident"].iloc[0]
    b = src.read(inc.start, inc.end)
    b = b[(b.ts >= inc.start) & (b.ts < inc.end)]
    hit = b[b.service == inc.target]
    rest = b[b.service != inc.target]
    assert hit.error.mean() > 10 * max(rest.error.mean(), 0.001)
    base = rtnb.scenarios()["system_health"]
    assert base.bursts[0].name == "incident"
    # about (1.5 - 1) / 1.5 of the extra traffic goes to the target
    assert len(hit) / len(b) > 0.3


def test_keys_are_skewed_and_values_heavy_tailed():
    b = simulate("ecommerce_orders", rate=100, seed=4, bursts=0).read("2024-01-02", "2024-01-02 06:00")
    share = b.country.value_counts(normalize=True)
    assert share.iloc[0] > 5 * share.median()
    amount = b.amount
    assert amount.max() > 15 * amount.median() and amount.mean() > 1.2 * amount.median()
    seats = simulate("saas_signups", rate=5, seed=4, bursts=0).read("2024-01-02", "2024-01-03").seats
    assert seats.max() >= 50 and seats.median() <= 3


def test_trading_prices_are_a_random_walk_independent_of_the_rate():
    slow = simulate("trading_ticks", rate=20, seed=8, bursts=0)
    fast = simulate("trading_ticks", rate=200, seed=8, bursts=0)
    window = ("2024-01-02 15:00", "2024-01-02 15:05")
    a, b = slow.read(*window), fast.read(*window)
    pa = a[a.symbol == "AAPL"].price.mean()
    pb = b[b.symbol == "AAPL"].price.mean()
    assert abs(pa / pb - 1) < 0.002  # same Brownian path, sampled at different times
    day = simulate("trading_ticks", rate=5, seed=8, bursts=0).read("2024-01-02 14:00", "2024-01-02 20:00")
    aapl = day[day.symbol == "AAPL"].set_index("ts").price.sort_index()
    minute = aapl.resample("1min").last().dropna()
    r = np.log(minute).diff().dropna()
    expected = 0.3 / math.sqrt(365.25 * 24 * 60)  # per-minute volatility of 30 %/year
    assert 0.6 * expected < r.std() < 1.6 * expected
    assert (day.price > 0).all()


# ---------------------------------------------------------------- rate changes


def test_rate_change_applies_from_the_next_second_and_keeps_what_was_delivered():
    faults = {"late": 0.2, "max_delay": "60s"}
    src = simulate("system_health", rate=20, seed=6, bursts=0, faults=faults)
    ref = simulate("system_health", rate=20, seed=6, bursts=0, faults=faults)
    t = pd.Timestamp("2024-01-02 12:00")
    switch = t + pd.Timedelta("10min")
    first = src.read(t, switch)
    assert_same(first, ref.read(t, switch))
    src.rate = 200
    assert src.rate == 200
    second = src.read(switch, switch + pd.Timedelta("10min"))
    assert 7 < len(second) / len(first) < 13
    assert pd.concat([first, second]).event_id.is_unique
    # late events of the old rate still in flight at the switch arrive, unchanged
    in_flight = ref.read(switch, switch + pd.Timedelta("60s"))
    old = in_flight[(in_flight.fault == "late") & (in_flight.ts < switch - pd.Timedelta("1s"))]
    assert len(old) > 20
    assert set(old.event_id) <= set(second.event_id)
    with pytest.raises(ParameterError):
        src.rate = 0


def test_a_dragged_slider_neither_loses_nor_repeats_events():
    faults = {"late": 0.1, "duplicates": 0.02, "max_delay": "30s"}
    src = simulate("support_queue", rate=50, seed=12, bursts=0, faults=faults)
    t = pd.Timestamp("2024-01-02 12:00")
    batches = []
    for i in range(120):  # a new rate every second, like a slider being dragged
        batches.append(src.read(t, t + pd.Timedelta("1s")))
        t += pd.Timedelta("1s")
        src.rate = 50 + 10 * (i % 7)
    got = pd.concat(batches)
    firsts = got[got.fault != "duplicate"]
    assert firsts.event_id.is_unique
    assert set(got[got.fault == "duplicate"].event_id) <= set(firsts.event_id) | set(
        src.read(pd.Timestamp("2024-01-02 11:59"), pd.Timestamp("2024-01-02 12:00")).event_id
    )
    assert 0.8 < len(firsts) / (120 * 80 * src._profile(np.array([t.value]))[0]) < 1.25


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, param",
    [
        (dict(rate=0), "rate"), (dict(rate=-5), "rate"), (dict(rate=float("nan")), "rate"),
        (dict(rate="fast"), "rate"), (dict(rate=True), "rate"), (dict(rate=1e9), "rate"),
        (dict(seed=-1), "seed"), (dict(seed=1.5), "seed"),
        (dict(start="someday"), "start"), (dict(ingest_delay="-1s"), "ingest_delay"),
        (dict(bursts=-1), "bursts"), (dict(hosts=0), "hosts"), (dict(error_rate=0.5), "error_rate"),
        (dict(hosts=2.5), "hosts"),
        (dict(faults={"late": 1.5}), "late"), (dict(faults={"duplicates": -0.1}), "duplicates"),
        (dict(faults={"malformed": float("nan")}), "malformed"),
        (dict(faults={"max_delay": "-5s"}), "max_delay"),
        (dict(faults={"late": 0.1, "max_delay": "500ms"}), "max_delay"),
        (dict(faults={"stalls": [("2024-01-01 10:00", "2024-01-01 09:00")]}), "stalls"),
        (dict(faults={"outages": [("1h", "-5min")]}), "outages"),
        (dict(faults={"outages": [("1h",)]}), "outages"),
        (dict(faults={"outages": "1h"}), "outages"),
        (dict(faults=0.3), "faults"),
    ],
)
def test_bad_parameters_name_the_parameter_and_value(kwargs, param):
    with pytest.raises(ParameterError) as err:
        simulate("system_health", **kwargs)
    assert err.value.param == param
    assert param in str(err.value)


def test_unknown_names_list_the_choices():
    with pytest.raises(UnknownNameError) as err:
        simulate("ecommerce")
    assert err.value.value == "ecommerce" and "ecommerce_orders" in err.value.choices
    with pytest.raises(UnknownNameError) as err:
        simulate("ecommerce_orders", hosts=3)
    assert err.value.choices == ["countries", "mean_amount", "skew"]
    with pytest.raises(UnknownNameError) as err:
        simulate("ecommerce_orders", faults={"lateness": 0.1})
    assert "late" in err.value.choices
    with pytest.raises(UnknownNameError):
        simulate("ecommerce_orders", faults={"malformed": 0.1, "malformed_kinds": ["garbage"]})


def test_read_rejects_an_interval_that_ends_before_it_starts():
    src = simulate("ad_spend", seed=1)
    with pytest.raises(ParameterError) as err:
        src.read("2024-01-01 10:00", "2024-01-01 09:00")
    assert err.value.param == "end"
    assert src.read("2024-01-01 10:00", "2024-01-01 10:00").empty


def test_describe_and_repr_show_the_settings():
    src = simulate("fraud_alerts", rate=12, seed=3, faults={"late": 0.02}, amount_alpha=2.0)
    text = src.describe()
    assert "rate=12/s" in text and "amount_alpha" in text and "late=0.02" in text
    assert repr(src).startswith("SimulatedSource('fraud_alerts', rate=12, seed=3")


# ---------------------------------------------------------------- property: any split


from hypothesis import given, settings, strategies as st  # noqa: E402

_PROP_FAULTS = dict(late=0.1, duplicates=0.05, malformed=0.02, max_delay="20s",
                    stalls=[("12h01min", "30s")], outages=[("12h03min", "20s")])
_PROP_START, _PROP_END = pd.Timestamp("2024-01-01 12:00"), pd.Timestamp("2024-01-01 12:05")
_PROP_WHOLE = simulate("ad_spend", rate=40, seed=17, faults=_PROP_FAULTS).read(_PROP_START, _PROP_END)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=299_999), min_size=1, max_size=40, unique=True))
def test_any_split_gives_the_same_events(cuts_ms):
    src = simulate("ad_spend", rate=40, seed=17, faults=_PROP_FAULTS)
    edges = [_PROP_START, *(_PROP_START + pd.Timedelta(milliseconds=c) for c in sorted(cuts_ms)), _PROP_END]
    parts, done = [], _PROP_START
    for t in edges[1:]:
        try:
            parts.append(src.read(done, t))
            done = t
        except SourceUnavailable:
            pass
    split = pd.concat(parts, ignore_index=True)
    measures = src.measures
    assert_same(normalised(split, measures), normalised(_PROP_WHOLE, measures))
