"""Finding 9 at the sources: replay's and simulate's arguments, one error tree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rtnb


def _df(n=10):
    return pd.DataFrame({"time": pd.date_range("2024-01-01", periods=n, freq="1h"), "v": np.arange(n, dtype=float)})


def test_duplicate_column_names_are_named():
    df = pd.concat([_df(), _df()[["v"]]], axis=1)   # two 'v' columns
    with pytest.raises(rtnb.ParameterError) as e:
        rtnb.replay(df, time_col="time")
    assert e.value.param == "data" and "duplicate column names" in str(e.value) and "'v'" in str(e.value)


@pytest.mark.parametrize("speed", [1e30, 1e-9, 1e13, float("inf"), -1, 0, True, "fast", np.nan])
def test_speeds_that_cannot_work_are_parameter_errors(speed):
    # 1e30 raised OverflowError; 1e-9 was accepted (the clock times overflow nanoseconds)
    with pytest.raises(rtnb.ParameterError) as e:
        rtnb.replay(_df(), time_col="time", speed=speed)
    assert e.value.param == "speed"


def test_a_slow_but_possible_speed_is_fine():
    src = rtnb.replay(_df(), time_col="time", speed=1e-3, start="2024-01-01")
    assert src.duration == pd.Timedelta("9h") * 1000


@pytest.mark.parametrize("time_col", ["", 5, None])
def test_time_col_must_name_a_time_column(time_col):
    df = _df().assign(other=pd.Timestamp("2024-01-01"))   # two datetime columns: None is ambiguous
    with pytest.raises(rtnb.ParameterError) as e:
        rtnb.replay(df, time_col=time_col)
    assert e.value.param == "time_col"


@pytest.mark.parametrize("window", [1e12, "1e12s", -5, float("nan")])
def test_rolling_window_out_of_range_is_a_parameter_error(window):
    # Rolling(window=1e12) raised OverflowError
    with pytest.raises(rtnb.ParameterError) as e:
        rtnb.Rolling(window=window, value="v")
    assert e.value.param == "window"
