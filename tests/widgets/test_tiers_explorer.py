"""The tiers explorer (notebook 03) without a browser: readable ticks, tables in words,
every slider changing what is shown, the advisor following the sliders."""

from __future__ import annotations

import re

import numpy as np
import pytest

import rtnb
from rtnb import tiers

AGE = re.compile(r"^\d[\d,]*(\.\d+)? (ns|µs|ms|s|min|h|d)$")


@pytest.fixture(scope="module")
def explorer():
    return tiers.explorer(viewers=50, hours=0.25)


def shown(ex):
    """Everything the explorer shows that a slider could change."""
    return (ex.tier_table.to_dict(), ex.advice.to_dict(), ex.verdict.value, ex.tiers_html.value,
            ex.advice_html.value, list(ex.points.x), list(ex.points.y))


def test_age_axis_is_labelled_in_words_at_round_times_and_the_points_sit_inside_it(explorer):
    ticks = list(explorer.age_xaxis.tick_values)
    assert 2 <= len(ticks) <= 7
    labels = explorer.age_xaxis.tick_labels
    # every tick labelled by the browser's spelling of its number, in words: 1 s, 1 min, 1 h, 1 d
    assert [labels[rtnb.widgets.tick_labels([t]).popitem()[0]] for t in ticks] == [
        rtnb.widgets.duration(t) for t in ticks]
    assert {"1 s", "1 min", "1 h"} <= set(labels.values()), labels
    assert all(AGE.match(v) and not re.search(r"\d{4}", v) for v in labels.values()), labels  # never '100,000'
    assert "seconds" not in explorer.age_xaxis.label
    ages = np.asarray(explorer.points.x, float)
    assert explorer.age_x.min <= ages.min() / 2 and explorer.age_x.max >= ages.max() * 2  # not on the border
    assert explorer.points.display_names and "Batch" in explorer.points.names
    assert explorer.age_yaxis.tick_format == "$~s" and len(explorer.age_yaxis.tick_values) <= 7
    assert explorer.age_yaxis.label_offset  # the label stands clear of the tick text
    assert len(explorer.be_xaxis.tick_values) <= 5 and len(explorer.be_yaxis.tick_values) <= 6


def test_tables_are_in_words(explorer):
    for table in (explorer.tier_table, explorer.advice):
        assert not any("_" in c for c in table.columns), list(table.columns)
        values = table.to_numpy().ravel().tolist()
        assert not any(str(v).lower() in ("nan", "none", "") for v in values)
    t = explorer.tier_table
    for col in ("data age p50", "data age p95", "data age max"):
        assert all(AGE.match(v) for v in t[col]), t[col].tolist()
    assert all(v.startswith("$") and " " not in v for v in t["build"])
    a = explorer.advice
    assert all(AGE.match(v) for v in a["data age p95"])
    batch = a[a["tier"] == "Batch"]
    assert len(batch) and set(batch["pays off above (per min of delay, per year)"]) == {"not needed (batch)"}  # not NaN
    # the why is the advisor's reasons in full, not cut at 50 characters
    for name, rec in explorer.recommendations.items():
        row = a.loc[name.replace("_", " ")]
        assert row["why"].endswith(rec.reasons[-2]) and len(row["why"]) > 60
    assert "…" not in explorer.advice_html.value and "..." not in explorer.advice_html.value


def test_the_verdict_and_the_advisor_say_the_same_break_even():
    # one computation (the same simulations, mean age saved) feeds both: notebook 03 showed
    # "$3,446–12,225" in the verdict beside "$3,488–12,372" in the advisor's table
    ex = tiers.explorer(viewers=200, hours=0.25)
    real_time = [r for r in ex.recommendations.values() if r.tier.name == "real_time"]
    assert real_time, "no example metric is advised real time"
    for rec in real_time:
        assert rec.break_even_value == ex.break_even_value
        shown = rtnb.widgets.money(rec.break_even_value)
        assert f"pays above <b>{shown}</b>" in ex.verdict.value
        assert ex.advice.loc[rec.metric.name.replace("_", " "), "pays off above (per min of delay, per year)"] == shown
        assert f"{rtnb.widgets.money(rec.extra_per_year)}</b> more per year" in ex.verdict.value
    rec = real_time[0]
    worth = rtnb.widgets.money(rec.metric.value_per_minute * rec.minutes_saved)
    assert f"worth {worth} a year" in ex.verdict.value and f"{worth}/year" in " ".join(rec.reasons)


def test_the_value_slider_shows_the_value_set(explorer):
    assert explorer.value.value == 5_000
    assert explorer.value.label == "5,000"
    assert explorer.batch_build.readout_format == ",d"


@pytest.mark.parametrize("slider, new", [
    ("viewers", 900), ("interval", 10), ("event_rate", 200), ("batch_build", 20_000),
    ("premium", (1.0, 1.5)), ("infra", (1_000, 2_000)), ("value", 200_000),
])
def test_every_slider_changes_the_charts_or_tables_and_the_advisor_follows(slider, new):
    ex = tiers.explorer(viewers=50, hours=0.25)
    before = shown(ex)
    advice_before = ex.advice.to_dict()
    getattr(ex, slider).value = new
    after = shown(ex)
    assert after != before, slider
    if slider in ("viewers", "interval", "event_rate", "value", "batch_build", "premium", "infra"):
        assert ex.advice.to_dict() != advice_before, f"the advisor table ignores {slider}"


def test_the_advisor_takes_the_sliders_workload_and_value():
    ex = tiers.explorer(viewers=50, hours=0.25)
    ex.interval.value = 10
    nrt = [r for r in ex.recommendations.values() if r.tier.name == "near_real_time"]
    assert nrt and all(r.pattern.interval.total_seconds() == 10 for r in nrt)
    assert all(r.metric.viewers == 50 and r.metric.value_per_minute == 5_000 for r in ex.recommendations.values())
    assert "short polling every 10 s" in ex.advice["delivery"].tolist()
    ex.metric.value = "weekly_revenue"
    assert "Batch" in ex.detail.value and "Implementation checklist" in ex.detail.value


def test_bad_parameters_name_the_parameter():
    with pytest.raises(rtnb.ParameterError, match="event_rate"):
        tiers.explorer(event_rate=0)
    with pytest.raises(rtnb.ParameterError, match="cost"):
        tiers.explorer(cost="cheap")


def test_one_call_builds_it_and_the_tiers_modules_import_no_widgets():
    from rtnb.widgets._tiers_explorer import TiersExplorer

    assert isinstance(tiers.explorer(viewers=10, hours=0.1), TiersExplorer)
    for mod in ("__init__", "simulation", "advisor", "cost", "delivery", "workload", "_tiers"):
        text = open(tiers.__file__.replace("__init__.py", f"{mod}.py")).read()
        imports = [ln for ln in text.splitlines() if ln.lstrip().startswith(("import ", "from "))]
        assert not any("ipywidgets" in ln or "bqplot" in ln for ln in imports), mod


def test_numeric_columns_are_right_aligned_with_their_headers_words_left(explorer):
    import html as _html

    from rtnb.widgets._tiers_tables import numeric_columns

    t = explorer.tier_table
    numeric = numeric_columns(t)
    assert {"data age p95", "build", "per month", "requests/s", "traffic"} <= set(numeric)
    assert "delivery" not in numeric
    page = explorer.tiers_html.value
    for col in t.columns:
        header = re.search(r'<th style="([^"]*)">' + re.escape(_html.escape(col)) + "</th>", page)
        assert header, col
        right = "text-align:right" in header.group(1)
        assert right == (col in numeric), (col, header.group(1))
    first_build = re.search(r'<td style="([^"]*)">\$8,000</td>', page)
    assert first_build and "text-align:right" in first_build.group(1)
