"""The one-liner: rtnb.dashboard(source, metric=..., by=..., window=...)."""

from __future__ import annotations

import pandas as pd
import pytest

import rtnb

START = "2024-01-01 12:00"


def run(dash, duration="20s"):
    # frames by simulated time, so the frame count does not depend on the machine
    dash.runner.frames = "sim"
    dash.runner.run(duration)


def test_one_liner_builds_pipeline_views_and_runner_and_surfaces_bad_rows():
    src = rtnb.simulate("ecommerce_orders", rate=100, seed=3, start=START, faults={"malformed": 0.05})
    dash = rtnb.dashboard(src, metric="amount", by="country", window="1min", top_k=3,
                          clock=rtnb.SimClock(start=START))
    run(dash)
    badge, line, bars, kpi_sum, kpi_count, panel = dash.views
    assert isinstance(dash, rtnb.Dashboard) and dash.runner.sources == [src]
    assert badge.state == "fresh"
    assert len(line.lines.labels) == 3 and line.lines.y.shape[0] == 3
    latest = dash.store.latest("amount")
    assert kpi_count.value == latest.table["count"].sum()
    # Bad rows are counted and explained, as the pipeline saw them.
    assert panel.counters == dash.pipeline.counters and panel.counters.rejected > 0
    assert panel.reasons and all("row" in r for r in panel.reasons)
    assert 'data-rejected="%d"' % panel.counters.rejected in panel.value
    # The rate control drives the simulated source.
    dash.rate_slider.value = 400.0
    assert src.rate == 400.0


def test_one_liner_without_keys_labels_the_metric():
    src = rtnb.simulate("ecommerce_orders", rate=20, seed=1, start=START)
    dash = rtnb.dashboard(src, metric="amount", by=None, window="1min", clock=rtnb.SimClock(start=START))
    run(dash, "5s")
    assert dash.views[1].lines.labels == ["amount"]
    assert dash.views[2].bars.x.tolist() == ["amount"]


@pytest.mark.parametrize("kwargs, param", [({"limit": "soon"}, "limit"), ({"window": "-1s"}, "window"),
                                           ({"fps": 0}, "fps"), ({"top_k": 0}, "top_k")])
def test_one_liner_parameters_are_checked(kwargs, param):
    src = rtnb.simulate("ecommerce_orders", rate=20, seed=1, start=START)
    with pytest.raises(rtnb.ParameterError) as err:
        rtnb.dashboard(src, **kwargs)
    assert err.value.param == param


@pytest.mark.parametrize("kwargs, param", [({"metric": "amout"}, "metric"), ({"by": "contry"}, "by")])
def test_one_liner_names_a_misspelt_column_instead_of_dead_lettering_every_row(kwargs, param):
    src = rtnb.simulate("ecommerce_orders", rate=20, seed=1, start=START)
    with pytest.raises(rtnb.UnknownNameError, match=param) as err:
        rtnb.dashboard(src, **{"metric": "amount", "by": "country", **kwargs})
    assert err.value.param == param and ("amount" in err.value.choices or "country" in err.value.choices)


def test_one_liner_checks_a_replayed_frame_against_all_its_columns():
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({"time": pd.date_range(START, periods=150, freq="s"),
                       "tail": [f"N{i}" for i in range(150)],  # too many values to be inferred a key
                       "delay": np.arange(150.0)})
    src = rtnb.replay(df, time_col="time", start=START)
    with pytest.raises(rtnb.UnknownNameError, match="metric='dealy'"):
        rtnb.dashboard(src, metric="dealy", by=None)
    dash = rtnb.dashboard(src, metric="delay", by="tail", window="1min", clock=rtnb.SimClock(start=START))
    run(dash, "30s")
    assert dash.pipeline.counters.rejected == 0 and dash.pipeline.counters.accepted > 0


def test_one_liner_picks_bucketed_for_long_windows_and_high_rates_and_takes_kind():
    def kind(**kw):
        src = rtnb.simulate("ecommerce_orders", rate=kw.pop("rate", 100), seed=3, start=START)
        dash = rtnb.dashboard(src, metric="amount", by="country", clock=rtnb.SimClock(start=START), **kw)
        return dash.pipeline.aggregate.config.kind, dash.pipeline.aggregate.config.res

    assert kind(window="1min") == ("exact", None)
    assert kind(window="1h") == ("bucketed", pd.Timedelta("1s"))
    assert kind(window="5min", rate=10_000) == ("bucketed", pd.Timedelta("1s"))  # 3 M events a window
    assert kind(window="1h", kind="exact") == ("exact", None)
    assert kind(window="1min", kind="bucketed", resolution="10s") == ("bucketed", pd.Timedelta("10s"))
