"""Value axes on data at float64's limits (what the public-API fuzz test feeds a
dashboard): subnormal spans and spans past float64's range. LiveBars.refresh raised
ZeroDivisionError (a tick step of 1e-320 / 4 underflowed to 0) and OverflowError
(-1e308..1e308: the span is inf); the frame failed and the chart stopped updating."""

from __future__ import annotations

import math

import bqplot as bq
import numpy as np
import pandas as pd
import pytest

import rtnb
from rtnb.widgets._format import linear_ticks
from rtnb.widgets._style import show_value_range, value_axis, value_domain

EXTREMES = [(-1e308, 1e308), (-1.7e308, 1.7e308), (1e-320, 2e-320), (0.0, 5e-324), (0.0, 1e-310),
            (-3.4e16, 1e308), (1e308, 1.7e308), (1e-238, 1.0), (1e-238, 2e-238)]


@pytest.mark.parametrize(("lo", "hi"), EXTREMES)
def test_the_domain_is_finite_and_holds_the_values(lo, hi):
    dlo, dhi = value_domain(lo, hi)
    assert math.isfinite(dlo) and math.isfinite(dhi) and dlo <= lo and dhi >= hi
    ticks = linear_ticks(dlo, dhi)
    assert ticks and all(math.isfinite(t) and dlo <= t <= dhi for t in ticks)


@pytest.mark.parametrize("values", [[1e308], [1.7e308, 0.0], [-1.7e308, 1.7e308], [5e-324, 0.0],
                                    [np.inf, 2.0, np.nan]])
def test_an_axis_shows_extreme_values_on_finite_ticks(values):
    axis = value_axis(bq.LinearScale(), "sum")
    show_value_range(axis, np.array(values))
    finite = [v for v in values if math.isfinite(v)]
    assert axis.scale.min <= min(finite) and axis.scale.max >= max(finite)
    assert np.isfinite(axis.tick_values).all() and len(axis.tick_values) >= 1


def test_a_dashboard_fed_values_at_float64s_limits_draws_every_frame():
    t0 = pd.Timestamp("2024-01-01 12:00")
    clock = rtnb.SimClock(start=t0)
    q = rtnb.QueueSource(clock=clock, keys=("k",), measures=("v",))
    dash = rtnb.dashboard(q, metric="v", by="k", window="1h", clock=clock, fps=5)
    try:
        for vals in ([-1e308, 1e308, 2.0], [1e-320, 2e-320, 1e-320], [1.7e308, 1.7e308, 1.0]):
            q.push(pd.DataFrame({"ts": [clock.now() - pd.Timedelta("1s")] * 3, "k": ["a", "b", "c"], "v": vals}))
            dash.runner.run("1s")
        assert [e.describe() for e in dash.runner.health.errors if e.where == "frame"] == []
        assert dash.pipeline.counters.accepted == 9
    finally:
        dash.close()
