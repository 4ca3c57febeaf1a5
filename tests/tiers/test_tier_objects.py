"""Tier objects, classify, and the public surface of rtnb.tiers."""

from __future__ import annotations

import inspect
import types

import pandas as pd
import pytest

import rtnb
from rtnb import tiers


@pytest.mark.parametrize(
    "max_age, tier",
    [
        ("2D", "batch"), ("1h", "batch"), ("59min", "near_real_time"), ("1min", "near_real_time"),
        ("59s", "real_time"), ("1s", "real_time"), ("999ms", "sub_second"), ("1ms", "sub_second"),
    ],
)
def test_classify_maps_max_age_to_the_cheapest_tier_that_meets_it(max_age, tier):
    assert tiers.classify(max_age).name == tier
    assert tiers.classify(pd.Timedelta(max_age)).name == tier


def test_tier_ranges_tile_the_age_axis_without_gaps():
    ordered = [tiers.TIERS[n] for n in reversed(tiers.TIER_NAMES)]  # fastest first
    assert ordered[0].fastest_age == pd.Timedelta(0)
    for faster, slower in zip(ordered, ordered[1:]):
        assert faster.slowest_age == slower.fastest_age


@pytest.mark.parametrize("bad", [0, -5, "-1s", "soon", None, True])
def test_classify_rejects_non_positive_or_unparseable_ages(bad):
    with pytest.raises(rtnb.ParameterError) as e:
        tiers.classify(bad)
    assert e.value.param == "max_age"


def test_unknown_tier_names_the_value_and_choices():
    with pytest.raises(rtnb.UnknownNameError) as e:
        tiers.get_tier("instant")
    assert e.value.param == "tier" and e.value.value == "instant"
    assert e.value.choices == list(tiers.TIER_NAMES)
    with pytest.raises(rtnb.UnknownNameError):
        tiers.pattern_for("instant")


def test_tiers_are_frozen():
    with pytest.raises(Exception):
        tiers.TIERS["batch"].label = "x"  # type: ignore[misc]


def test_tiers_all_equals_public_names_and_each_has_an_example():
    public = {n for n, v in vars(tiers).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"}
    assert set(tiers.__all__) == public
    missing = [n for n in tiers.__all__
               if (inspect.isclass(getattr(tiers, n)) or inspect.isfunction(getattr(tiers, n)))
               and ">>>" not in (inspect.getdoc(getattr(tiers, n)) or "")]
    assert not missing


def test_nothing_under_tiers_imports_widgets():
    import pathlib

    root = pathlib.Path(tiers.__file__).parent
    for f in root.glob("*.py"):
        text = f.read_text()
        assert "ipywidgets" not in text.replace("Nothing here imports ipywidgets", "")
        assert "import bqplot" not in text and "from bqplot" not in text
        assert "Timestamp.now" not in text and "time.time" not in text
