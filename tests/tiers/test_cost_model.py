"""The cost model: the published figures come out of the default parameters."""

from __future__ import annotations

import dataclasses

import pytest

import rtnb
from rtnb.tiers import PUBLISHED, CostModel, Range, simulate, pattern_for


def test_real_time_costs_40_to_80_percent_more_to_build_than_near_real_time():
    m = CostModel()
    premium = m.build("real_time") / m.build("near_real_time").low - 1
    assert premium.low == pytest.approx(0.40) and premium.high == pytest.approx(0.80)


def test_streaming_infrastructure_adds_200_to_800_per_month():
    m = CostModel()
    assert m.infra_monthly("real_time") == Range(200, 800)
    assert m.infra_monthly("batch") == Range(0, 0)


def test_a_tier2_batch_dashboard_at_8000_becomes_11000_to_14000_in_real_time():
    m = CostModel()
    assert m.build("batch") == Range(8_000, 8_000)
    rt = m.build("real_time")
    assert rt.rounded(-3) == PUBLISHED["tier2_real_time_build"]  # published figures are rounded
    assert rt.low == pytest.approx(11_000, rel=0.03) and rt.high == pytest.approx(14_000, rel=0.03)


def test_retrofitting_costs_60_to_80_percent_of_the_original_build():
    assert CostModel().retrofit() == Range(4_800, 6_400)
    assert CostModel().retrofit(20_000) == Range(12_000, 16_000)


def test_three_year_extra_brackets_the_published_15000_to_32000():
    extra = CostModel().three_year_extra()
    assert extra.contains(PUBLISHED["three_year_extra"])
    assert extra.mid == pytest.approx(PUBLISHED["three_year_extra"].mid, rel=0.05)


def test_published_check_lists_every_published_figure():
    assert set(CostModel().published_check()) == set(PUBLISHED)


def test_every_parameter_is_visible_and_changeable():
    base = CostModel()
    for f in dataclasses.fields(CostModel):
        assert f.kw_only
    changed = base.with_(batch_build=10_000, streaming_infra_monthly=(100, 100), real_time_build_premium=0.5)
    assert changed.build("real_time") == Range(15_000, 15_000)
    assert changed.infra_monthly("real_time") == Range(100, 100)
    assert base.build("batch") == Range(8_000, 8_000)  # frozen: the original is unchanged


def test_load_costs_come_from_the_simulation_and_grow_with_viewers():
    m = CostModel()
    small = simulate(10.0, pattern_for("real_time"), viewers=10, hours=1)
    large = simulate(10.0, pattern_for("real_time"), viewers=1000, hours=1)
    lo, hi = m.load_monthly(small), m.load_monthly(large)
    assert 0 < lo.low < hi.low and lo.high < hi.high
    assert hi.high / lo.high == pytest.approx(100, rel=0.1)  # nearly all per-viewer traffic
    est = m.estimate("real_time", large)
    assert est.monthly == est.infra_monthly + est.load_monthly
    assert est.total == est.build + est.monthly * 36


def test_ranges_pair_low_with_low_and_reject_inverted_ends():
    assert Range(1, 2) * Range(10, 20) == Range(10, 40)
    assert Range(11, 14) - Range(8, 8) == Range(3, 6)
    assert f"{Range(1200, 3400)}" == "1,200–3,400"  # an en dash: a range, not a minus
    with pytest.raises(rtnb.ParameterError) as e:
        Range(5, 1)
    assert e.value.param == "high"


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"batch_build": -1}, "batch_build"),
        ({"price_per_gb": (-0.1, 0.1)}, "price_per_gb"),
        ({"streaming_infra_monthly": "lots"}, "streaming_infra_monthly"),
        ({"horizon_years": 0}, "horizon_years"),
    ],
)
def test_bad_cost_parameters_are_named(kwargs, param):
    with pytest.raises(rtnb.ParameterError) as e:
        CostModel(**kwargs)
    assert e.value.param == param


def test_unknown_tier_in_the_cost_model():
    with pytest.raises(rtnb.UnknownNameError):
        CostModel().build("instant")
