"""Buckets: pre-aggregates merge (workers, roll-ups) and equal pandas on all the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtnb
from tests.pipeline._oracle import aggregate, assert_table_matches

AGGS = ("count", "sum", "mean", "min", "max", "std", "p50", "p99")


def _events(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "ts": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 7_200_000, n), unit="ms")).astype("datetime64[ns]"),
        "k": rng.choice(["a", "b", "c"], n),
        "v": rng.normal(10, 5, n),
        "w": rng.integers(-3, 4, n).astype(float),
    })


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 400), st.integers(0, 10_000), st.integers(2, 5))
def test_partials_of_several_workers_merge_to_the_single_answer(n, seed, workers):
    df = _events(n, seed)
    worker = np.random.default_rng(seed).integers(0, workers, n)
    parts = [rtnb.Buckets.from_frame(df[worker == i], resolution="1min", by="k", value=["v", "w"])
             for i in range(workers)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged + p
    single = rtnb.Buckets.from_frame(df, resolution="1min", by="k", value=["v", "w"])
    pd.testing.assert_frame_equal(merged.table(AGGS[:5]).sort_index(), single.table(AGGS[:5]).sort_index(),
                                  rtol=1e-12)
    total = merged.total(AGGS)
    assert_table_matches(total, aggregate(df, ["k"], ["v", "w"], AGGS))


def test_minute_buckets_roll_into_hours_like_pandas_resample():
    df = _events(2000, 3)
    hours = rtnb.Buckets.from_frame(df, resolution="1min", by="k", value="v").rollup("1h")
    got = hours.table(("count", "sum", "std", "max"))
    want = df.groupby([df["ts"].dt.floor("1h").rename("bucket"), "k"])["v"].agg(["count", "sum", "std", "max"])
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_dtype=False, rtol=1e-9)


def test_between_selects_buckets_and_errors_name_the_parameter():
    df = _events(500, 4)
    b = rtnb.Buckets.from_frame(df, resolution="10min", value="v")
    first = b.between("2024-01-01 00:00", "2024-01-01 00:30")
    assert set(first.table().index) == set(pd.date_range("2024-01-01", periods=3, freq="10min"))
    with pytest.raises(rtnb.ParameterError, match="resolution='7min'"):
        b.rollup("7min")
    with pytest.raises(rtnb.ParameterError, match="missing column"):
        rtnb.Buckets.from_frame(df, resolution="1min", value="nope")
    other = rtnb.Buckets.from_frame(df, resolution="5min", value="v")
    with pytest.raises(rtnb.ParameterError, match="resolution differs"):
        b + other
    with pytest.raises(rtnb.UnknownNameError):
        b.table(("median",))
    no_sketch = rtnb.Buckets.from_frame(df, resolution="1min", value="v", sketch=False)
    with pytest.raises(rtnb.ParameterError, match="sketch=True"):
        no_sketch.total(("p50",))
