"""QuantileSketch: relative error against the exact "lower" quantile, merging, edge values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtnb
from rtnb.pipeline.sketch import _DenseSketches

QS = (0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0)


def _check(sk: rtnb.QuantileSketch, values) -> None:
    s = pd.Series(values, dtype=float)
    for q in QS:
        want = s.quantile(q, interpolation="lower")
        got = sk.quantile(q)
        assert abs(got - want) <= sk.relative_accuracy * (1 + 1e-9) * abs(want), (q, got, want)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e9, 1e9, allow_nan=False, allow_subnormal=False),
                          st.just(0.0), st.integers(-5, 5).map(float)), min_size=1, max_size=300))
def test_quantiles_within_relative_accuracy_of_pandas_lower(values):
    _check(rtnb.QuantileSketch().update(values), values)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=200),
       st.integers(0, 200))
def test_merged_partials_equal_one_sketch_on_all_values(values, cut):
    cut = min(cut, len(values))
    whole = rtnb.QuantileSketch().update(values)
    merged = rtnb.QuantileSketch().update(values[:cut]) + rtnb.QuantileSketch().update(values[cut:])
    assert merged.count == whole.count == len(values)
    for q in QS:
        assert merged.quantile(q) == whole.quantile(q)


def test_extreme_magnitudes_zero_and_negatives():
    values = [-1e300, -3.5, -1e-300, 0.0, 0.0, 1e-300, 2.0, 1e300, 5e-324, -5e-324]
    _check(rtnb.QuantileSketch().update(values), values)
    assert rtnb.QuantileSketch().update([0.0] * 5).quantile(0.5) == 0.0


def test_memory_is_bins_not_values():
    rng = np.random.default_rng(0)
    sk = rtnb.QuantileSketch().update(rng.lognormal(3, 1, 200_000))
    # values span ~e^10: about 10 / (2 * 0.005) = 1,000 bins, whatever the count
    assert sk.count == 200_000 and sk._keys.size < 1_500


def test_invalid_inputs_name_the_parameter():
    with pytest.raises(rtnb.ParameterError, match="relative_accuracy"):
        rtnb.QuantileSketch(relative_accuracy=0.7)
    with pytest.raises(rtnb.ParameterError, match="q=1.5"):
        rtnb.QuantileSketch().update([1.0]).quantile(1.5)
    with pytest.raises(rtnb.ParameterError, match="finite"):
        rtnb.QuantileSketch().update([1.0, float("nan")])
    with pytest.raises(rtnb.ParameterError, match="relative_accuracy differs"):
        rtnb.QuantileSketch(0.01).merge(rtnb.QuantileSketch(0.005))
    assert rtnb.QuantileSketch().quantile(0.5) is None
    assert rtnb.QuantileSketch().value == {"p50": None, "p90": None, "p95": None, "p99": None}


def test_dense_sketches_add_and_remove_exactly():
    """Rolling windows count values in and out; a row's answer equals a fresh sketch."""
    rng = np.random.default_rng(1)
    dense = _DenseSketches()
    vals = rng.normal(0, 100, 1000)
    rows = rng.integers(0, 3, 1000)
    keys = dense.map.keys(vals)
    dense.add(rows, keys, 3, +1)
    dense.add(rows[:400], keys[:400], 3, -1)
    got = dense.quantiles((0.5, 0.99), np.arange(3))
    for r in range(3):
        live = vals[400:][rows[400:] == r]
        ref = rtnb.QuantileSketch().update(live)
        assert got[r, 0] == pytest.approx(ref.quantile(0.5), rel=1e-12)
        assert got[r, 1] == pytest.approx(ref.quantile(0.99), rel=1e-12)
