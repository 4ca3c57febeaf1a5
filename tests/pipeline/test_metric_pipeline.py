"""A Metric through build_pipeline and dashboard: the KPI tile shows the true overall ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rtnb


def _lots(n=3600, seed=0):
    rng = np.random.default_rng(seed)
    lot = rng.choice(["big", "small", "mid"], n, p=[0.2, 0.5, 0.3])
    cap = np.select([lot == "big", lot == "small"], [2000.0, 40.0], 300.0)
    rate = np.select([lot == "big", lot == "small"], [0.3, 0.95], 0.7)
    occ = np.floor(cap * np.clip(rng.normal(rate, 0.05), 0, 1))
    return pd.DataFrame({"time": pd.date_range("2024-05-01 08:00", periods=n, freq="s"), "lot": lot,
                         "occupied": occ, "capacity": cap})


OCC = rtnb.Metric(name="occupancy", value=("occupied", "capacity"), by="lot", window="10min", kind="tumbling",
                  aggs=("sum",), derived={"occupancy": "occupied_sum / capacity_sum"})


def test_build_pipeline_takes_a_metric_and_keeps_conservation():
    df = _lots()
    src = rtnb.replay(df, time_col="time", speed=60, start="2024-01-01")
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start="2024-01-01"), tick="1s")
    m = rtnb.Metric(name="occupancy", value=("occupied", "capacity"), by="lot", window="10s", kind="tumbling",
                    aggs=("sum",), derived={"occupancy": "occupied_sum / capacity_sum"})
    pipe = rtnb.build_pipeline(runner, metric=m)
    runner.run("30s")
    snap = pipe.latest()
    assert pipe.counters.conserved and pipe.counters.accepted > 0
    assert list(snap.table.columns) == list(m.columns)
    assert snap.overall["occupancy"] == pytest.approx(snap.table["occupied_sum"].sum() / snap.table["capacity_sum"].sum())


def test_dashboard_kpi_tile_shows_the_ratio_of_sums_not_the_mean_of_ratios():
    """Finding 6: the KPI tile could only sum/mean/max/min per-key values, so the
    overall occupancy it showed was the mean of the per-lot ratios."""
    df = _lots()
    src = rtnb.replay(df, time_col="time", speed=60, start="2024-01-01")
    m = rtnb.Metric(name="occupancy", value=("occupied", "capacity"), by="lot", window="1h", kind="exact",
                    aggs=("sum",), derived={"occupancy": "occupied_sum / capacity_sum"})
    dash = rtnb.dashboard(src, metric=m, clock=rtnb.SimClock(start="2024-01-01"), limit="5s")
    dash.runner.run("70s")   # 70 minutes of data at speed 60
    tile = next(v for v in dash.views if isinstance(v, rtnb.KpiTile) and v.column == "occupancy")
    tile.refresh(dash.runner.clock.now())
    snap = dash.pipeline.latest()
    seen = df[(pd.Timestamp("2024-01-01") + (df.time - df.time.iloc[0]) / 60) <= snap.newest_event]
    seen = seen[seen.time > seen.time.max() - pd.Timedelta("1h")]
    truth = seen.occupied.sum() / seen.capacity.sum()
    assert tile.value == pytest.approx(truth, rel=1e-9)
    per_key = seen.groupby("lot")[["occupied", "capacity"]].sum()
    assert abs((per_key.occupied / per_key.capacity).mean() - truth) > 0.05   # what it used to show


def test_dashboard_and_pipeline_arguments_name_what_the_user_wrote():
    """Finding 9: a DataFrame to dashboard() dumped the frame; metric=123 was accepted;
    build_pipeline(dead_letter=-1) was reported as keep=."""
    df = _lots(10)
    with pytest.raises(rtnb.ParameterError, match=r"source=.*DataFrame of 10 rows.*rtnb.replay"):
        rtnb.dashboard(df, metric="occupied", by="lot")
    src = rtnb.replay(df, time_col="time")
    with pytest.raises(rtnb.ParameterError) as e:
        rtnb.dashboard(src, metric=123)
    assert e.value.param == "metric"
    with pytest.raises(rtnb.ParameterError) as e:
        rtnb.dashboard(src, metric="occupied", by="")
    assert e.value.param == "by"
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start="2024-01-01"))
    with pytest.raises(rtnb.ParameterError) as e:
        rtnb.build_pipeline(runner, metric="occupied", dead_letter=-1)
    assert e.value.param == "dead_letter"
    with pytest.raises(rtnb.ParameterError) as e:
        rtnb.build_pipeline(runner, metric=123)
    assert e.value.param == "metric"
    with pytest.raises(rtnb.UnknownNameError) as e:
        rtnb.build_pipeline(runner, metric=rtnb.Metric(name="x", value="nope"))
    assert e.value.param == "metric"
    with pytest.raises(rtnb.ParameterError) as e:
        rtnb.build_pipeline(runner, metric=OCC, window="1h")
    assert e.value.param == "window"


def test_the_readme_metric_example_runs():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "rtnb.Metric(" in b)
    rng = np.random.default_rng(1)
    n = 2000
    rows = pd.DataFrame({"ts": pd.date_range("2024-03-30", "2024-04-01", periods=n).as_unit("ns"),
                         "district": rng.choice(["a", "b"], n), "occupied": rng.integers(0, 50, n).astype(float),
                         "capacity": 50.0})
    src = rtnb.replay(rows, time_col="ts", speed=1, start=rows.ts.min(), rebase=False)
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start=rows.ts.min()), tick="6h")
    ns = {"rtnb": rtnb, "runner": runner, "rows": rows}
    built = "pipe = rtnb.build_pipeline(runner, metric=occupancy)"
    assert built in block
    exec(block.replace(built, built + '; runner.run("2D")'), ns)
    pipe, occ = ns["pipe"], ns["occupancy"]
    snap = pipe.latest()
    assert snap.overall["rate"] == pytest.approx(snap.table["occupied_sum"].sum() / snap.table["capacity_sum"].sum())
    assert "time_bucket" not in occ.to_sql(table="parking") and "parking" in occ.to_sql(table="parking")
