"""Counters and snapshots: what a custom aggregate may hand over."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rtnb


def test_counters_take_numpy_counts_as_plain_ints():
    # a custom aggregate counting with pandas gets numpy integers, e.g. Series.sum()
    c = rtnb.Counters(received=pd.Series([1, 2]).sum(), accepted=np.int32(3))
    assert c == rtnb.Counters(received=3, accepted=3)
    assert type(c.received) is int and c.conserved
    assert c.as_dict()["received"] == 3


@pytest.mark.parametrize("bad", [-1, np.int64(-1), 1.0, True, "3"])
def test_counters_refuse_what_is_not_a_count_naming_it(bad):
    with pytest.raises(rtnb.ParameterError, match="received="):
        rtnb.Counters(received=bad)


@pytest.mark.parametrize("seconds, words", [
    (9.96, "10 s old"), (59.6, "1 min old"), (3599.7, "1 h old"), (86399.8, "1 d old"), (0.4, "0.4 s old"),
])
def test_describe_age_never_says_60_of_a_unit(seconds, words):
    assert rtnb.health.describe_age(pd.Timedelta(seconds=seconds)) == words
