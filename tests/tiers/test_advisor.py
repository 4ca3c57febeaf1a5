"""The advisor: published examples, decisions driven by inputs, break-even, checklist."""

from __future__ import annotations

import dataclasses

import pytest

import rtnb
from rtnb.tiers import EXAMPLES, CostModel, Metric, advise, advise_many, break_even, break_even_curve, tier_costs

PUBLISHED_EXAMPLES = {
    "fraud_alerts": "real_time",
    "system_health": "real_time",
    "manufacturing_floor": "real_time",
    "live_broadcast_audience": "real_time",
    "saas_signups": "near_real_time",
    "support_ticket_volume": "near_real_time",
    "ecommerce_order_rate": "near_real_time",
    "weekly_revenue": "batch",
    "monthly_growth": "batch",
    "marketing_attribution": "batch",
    "customer_satisfaction": "batch",
}


@pytest.mark.parametrize("name, tier", sorted(PUBLISHED_EXAMPLES.items()))
def test_published_examples_come_out_right(name, tier):
    rec = advise(EXAMPLES[name])
    assert rec.tier.name == tier
    assert rec.pattern.name == {"real_time": "sse", "near_real_time": "polling", "batch": "batch_refresh"}[tier]
    assert rec.reasons and rec.reasons[0].startswith("Decision-change test")


def test_the_catalogue_is_exactly_the_published_examples():
    assert set(EXAMPLES) == set(PUBLISHED_EXAMPLES)


def test_the_decision_follows_the_inputs_not_the_name():
    fraud = EXAMPLES["fraud_alerts"]
    renamed = dataclasses.replace(fraud, name="weekly_revenue")
    assert advise(renamed).tier.name == "real_time"
    slow_response = dataclasses.replace(fraud, response_time="2D")
    rec = advise(slow_response)
    assert rec.tier.name == "batch" and rec.decision_changes is False
    not_worth_it = dataclasses.replace(fraud, value_per_minute=100)
    rec = advise(not_worth_it)
    assert rec.tier.name == "near_real_time"
    assert any("does not pay" in r for r in rec.reasons)
    unknown_value = dataclasses.replace(fraud, value_per_minute=None)
    rec = advise(unknown_value)
    assert rec.tier.name == "real_time" and any("No value" in r for r in rec.reasons)
    sub_second = dataclasses.replace(fraud, max_age="200ms", response_time="100ms", value_per_minute=10**7)
    assert advise(sub_second).tier.name == "sub_second"


def test_break_even_is_where_the_value_of_minutes_saved_meets_the_extra_cost():
    be = break_even((3_000, 12_000), minutes_saved=1.5)
    assert be == rtnb.tiers.Range(2_000, 8_000)
    curve = break_even_curve((3_000, 12_000), 1.5)
    first_paying = curve.loc[curve["pays_high"], "value_per_minute"].min()
    assert first_paying >= 8_000 and curve["yearly_value"].is_monotonic_increasing
    rec = advise(EXAMPLES["fraud_alerts"])
    saved_value = rec.break_even_value.high * 1.46
    assert saved_value == pytest.approx(rec.extra_per_year.high, rel=0.01)


def test_value_exactly_at_break_even_keeps_the_faster_tier():
    rec = advise(EXAMPLES["system_health"])
    at = dataclasses.replace(EXAMPLES["system_health"], value_per_minute=rec.break_even_value.low * 1.001)
    below = dataclasses.replace(EXAMPLES["system_health"], value_per_minute=rec.break_even_value.low * 0.9)
    assert advise(at).tier.name == "real_time"
    assert advise(below).tier.name == "near_real_time"


def test_the_checklist_has_the_five_items_and_says_what_is_left():
    rec = advise(EXAMPLES["saas_signups"])
    items = [c.item for c in rec.checklist]
    assert items == [
        "Latency requirement per metric",
        "Near-real-time polling evaluated first",
        "Budget",
        "Event capture confirmed at the source",
        "Degradation strategy",
    ]
    todo = {c.item for c in rec.checklist if not c.done}
    assert todo == {"Budget", "Event capture confirmed at the source", "Degradation strategy"}
    fraud = advise(dataclasses.replace(EXAMPLES["fraud_alerts"], budget_per_year=1_000))
    budget = next(c for c in fraud.checklist if c.item == "Budget")
    assert not budget.done and "over budget" in budget.note
    slow_source = advise(dataclasses.replace(EXAMPLES["fraud_alerts"], source_latency="5min"))
    capture = next(c for c in slow_source.checklist if c.item.startswith("Event capture"))
    assert not capture.done and "too slow" in capture.note



@pytest.mark.parametrize("value", [None, 1e9])
def test_a_sub_second_checklist_does_not_say_the_tier_is_batch(value):
    # sub-second is weighed against real time only; its note used to read "not needed:
    # the tier is batch".
    rec = advise(name="x", max_age="500ms", response_time="1s", value_per_minute=value)
    assert rec.tier.name == "sub_second"
    nrt = next(c for c in rec.checklist if c.item == "Near-real-time polling evaluated first")
    assert "batch" not in nrt.note and "near-real-time polling gives" in nrt.note

def test_advise_many_gives_a_table():
    df = advise_many()
    assert list(df.index) == list(EXAMPLES)
    assert df.loc["fraud_alerts", "tier"] == "real_time"
    assert {"tier", "pattern", "build", "monthly", "why"} <= set(df.columns)


def test_tier_costs_table_orders_age_and_cost():
    df = tier_costs(20.0, viewers=100, hours=1, cost=CostModel())
    assert df["age_p50_s"].is_monotonic_decreasing
    assert df["build_high"].is_monotonic_increasing


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"max_age": "0s", "response_time": "1min"}, "max_age"),
        ({"max_age": "1min", "response_time": "soon"}, "response_time"),
        ({"max_age": "1min", "response_time": "1min", "value_per_minute": -5}, "value_per_minute"),
        ({"max_age": "1min", "response_time": "1min", "viewers": -1}, "viewers"),
        ({"max_age": "1min", "response_time": "1min", "colour": "red"}, "colour"),
    ],
)
def test_bad_metric_descriptions_are_named(kwargs, param):
    with pytest.raises(rtnb.ParameterError) as e:
        advise(**kwargs)
    assert e.value.param == param


def test_metric_is_frozen_and_keyword_only():
    with pytest.raises(TypeError):
        Metric("x", "1min", "1min")  # type: ignore[misc]


def test_advise_many_of_nothing_is_a_clear_error():
    import pytest

    import rtnb

    with pytest.raises(rtnb.ParameterError, match="metrics=\\[\\] is invalid"):
        rtnb.tiers.advise_many([])


# A range written with a hyphen ("1 s-1 min", "$11,200-14,400"): shown text takes an en dash.
HYPHEN_RANGE = r"\d[\d,.]*%?\s?(s|min|h|d)?-\$?\d"


@pytest.mark.parametrize("name", sorted(PUBLISHED_EXAMPLES))
def test_the_advice_says_the_delivery_in_words_and_ranges_with_an_en_dash(name):
    import re

    rec = advise(EXAMPLES[name])
    text = str(rec)
    words = {"batch_refresh": "batch refresh", "polling": "short polling", "sse": "Server-Sent Events",
             "websocket": "WebSockets"}[rec.pattern.name]
    assert rec.pattern.label == words
    assert text.splitlines()[0] == f"{name}: {rec.tier.label} via {words}"  # not "Real-time via sse"
    assert f"Recommended: {rec.tier.label} via {words}," in text
    assert not re.search(r"via (sse|polling|websocket|batch_refresh)\b", text)
    assert not re.search(HYPHEN_RANGE, text), re.search(HYPHEN_RANGE, text)
    assert "–" in text  # the cost ranges, the tier's age range
    assert f"cost: build $" in text and "cost: real_time" not in text  # the tier's code name is not repeated


def test_the_tiers_descriptions_write_ranges_with_an_en_dash():
    import re

    from rtnb.tiers import TIER_NAMES, get_tier

    for name in TIER_NAMES:
        assert not re.search(r"\d-\$?\d", get_tier(name).description), get_tier(name).description
    assert "1–15 minutes" in get_tier("near_real_time").description
