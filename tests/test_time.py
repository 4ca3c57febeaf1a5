"""Durations and instants given by users: parsed, or a ParameterError naming them."""

from __future__ import annotations

import pandas as pd
import pytest

import rtnb
from rtnb._time import to_duration


@pytest.mark.parametrize("text", ["60", " 3 ", "1.5", "-1", "1e3"])
def test_a_number_as_text_is_refused_not_read_as_nanoseconds(text):
    # pd.Timedelta("60") is 60 ns: a window of nothing, or a tick that never ends a run
    with pytest.raises(rtnb.ParameterError, match=r"window=.* has no unit"):
        to_duration(text, "window")
    with pytest.raises(rtnb.ParameterError, match="tick"):
        rtnb.Runner([], tick=text)


def test_numbers_are_seconds_and_text_needs_a_unit():
    assert to_duration(60, "window") == pd.Timedelta("60s")
    assert to_duration("60s", "window") == pd.Timedelta("60s")
    assert to_duration("1 days 00:00:01", "window") == pd.Timedelta("1 day 1s")


def test_days_in_either_case_without_a_pandas_deprecation_warning():
    import warnings

    from rtnb._time import to_duration

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert to_duration("400d", "max_age") == pd.Timedelta(days=400)
        assert to_duration("1 d", "max_age") == pd.Timedelta(days=1)
        assert to_duration("1.5d", "max_age") == pd.Timedelta(hours=36)
        assert to_duration("2 days", "max_age") == pd.Timedelta(days=2)
        assert to_duration("1D", "max_age") == pd.Timedelta(days=1)
