"""The shipped data sets: they load with the columns, dtypes, row counts and time spans
their datasheets document, are found in both install layouts, and replay."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

import rtnb
from rtnb import SourceError, UnknownNameError
from rtnb import datasets as ds

NAMES = ["flights", "online_retail"]


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {n: ds.load(n) for n in NAMES}


def documented_columns(sheet: str) -> dict[str, str]:
    """The ``| `column` | dtype | meaning |`` rows of a datasheet's column table."""
    return dict(re.findall(r"^\| `(\w+)` \| ([\w\[\]]+) \|", sheet, flags=re.M))


def test_names_and_unknown_names():
    assert ds.names() == NAMES
    for fn in (ds.info, ds.load, ds.datasheet, ds.replay):
        with pytest.raises(UnknownNameError) as err:
            fn("titanic")
        assert err.value.param == "name" and err.value.choices == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_loads_with_the_documented_columns_dtypes_and_rows(frames, name):
    df, meta, sheet = frames[name], ds.info(name), ds.datasheet(name)
    assert {c: str(t) for c, t in df.dtypes.items()} == meta.columns
    assert documented_columns(sheet) == meta.columns  # the datasheet tells the truth
    assert len(df) == meta.rows and f"{meta.rows:,}" in sheet
    assert isinstance(df.index, pd.RangeIndex)


@pytest.mark.parametrize("name", NAMES)
def test_time_span_and_order_are_as_documented(frames, name):
    df, meta, sheet = frames[name], ds.info(name), ds.datasheet(name)
    t = df[meta.time_col]
    assert t.dtype == "datetime64[ns]" and not t.isna().any()
    assert (t.min(), t.max()) == (meta.start, meta.end)
    assert str(meta.start) in sheet and str(meta.end) in sheet
    assert t.is_monotonic_increasing == meta.in_time_order


@pytest.mark.parametrize("name", NAMES)
def test_datasheets_give_source_licence_citation_and_changes(name):
    sheet, meta = ds.datasheet(name), ds.info(name)
    for heading in ("## Source", "## Citation", "## Columns", "## Changes made"):
        assert heading in sheet
    assert meta.licence.split()[0] in sheet and "make_datasets.py" in sheet
    path = ds.data_dir() / meta.file
    assert path.stat().st_size < 5_000_000
    assert f"{path.stat().st_size:,} bytes" in sheet


def test_keys_and_measures_are_columns_of_the_right_kind(frames):
    for name in NAMES:
        df, meta = frames[name], ds.info(name)
        for k in meta.keys:
            assert meta.columns[k] == "str" and df[k].nunique() <= 100
        for m in meta.measures:
            assert pd.api.types.is_numeric_dtype(df[m])


def test_flights_times_are_consistent(frames):
    f = frames["flights"]
    flown = ~f["cancelled"]
    assert f["dep"].isna().equals(f["cancelled"]) and f["dep_delay"].isna().equals(f["cancelled"])
    delay = (f.loc[flown, "dep"] - f.loc[flown, "sched_dep"]) / pd.Timedelta("1min")
    assert (delay == f.loc[flown, "dep_delay"]).all()
    assert sorted(f["origin"].unique()) == ["EWR", "JFK", "LGA"]
    # New York's first quarter: 1 January 05:15 EST to 31 March 23:59 EDT
    assert f["sched_dep"].min() == pd.Timestamp("2013-01-01 10:15")
    assert f["sched_dep"].max() == pd.Timestamp("2013-04-01 03:59")


def test_flights_disorder_is_as_documented(frames):
    s = frames["flights"]["sched_dep"].to_numpy()
    newest = np.maximum.accumulate(s)
    late = s < newest
    assert late.sum() == 72_917
    lag = pd.Series(newest[late] - s[late])
    assert lag.median() == pd.Timedelta("8h28min") and lag.max() == pd.Timedelta("18h59min")


def test_online_retail_values_are_consistent(frames):
    r = frames["online_retail"]
    assert np.allclose(r["amount"], (r["quantity"] * r["price"]).round(2))
    assert r["invoice"].str.startswith("C").eq(r["quantity"] < 0).mean() > 0.99
    assert (r["invoice_time"].dt.day_of_week != 5).all()  # the shop takes no orders on Saturdays
    assert r["customer_id"].isna().sum() == 38_564


def test_load_gives_a_fresh_frame_each_time(frames):
    a = ds.load("flights")
    a.loc[0, "carrier"] = "ZZ"
    assert ds.load("flights").loc[0, "carrier"] == frames["flights"].loc[0, "carrier"] == "UA"


def test_data_files_are_found_in_a_wheel_layout_first(tmp_path):
    wheel = tmp_path / "site-packages" / "rtnb" / "_datasets"
    shutil.copytree(ds.data_dir(), wheel)
    repo = tmp_path / "repo" / "datasets"
    repo.mkdir(parents=True)
    assert ds.data_dir([wheel, repo]) == wheel
    assert ds.data_dir([tmp_path / "missing", wheel]) == wheel
    with pytest.raises(SourceError, match="data sets are not installed: looked in .*missing"):
        ds.data_dir([tmp_path / "missing", repo])


def test_both_layouts_are_searched_by_default():
    here = ds.data_dir()
    assert here.name in {"datasets", "_datasets"}
    assert (here / "flights.md").is_file() and (here / "make_datasets.py").is_file()


def test_replay_a_data_set_in_declared_disorder(frames):
    src = ds.replay("flights", speed=3600, sort=False, start="2024-01-01")
    assert (src.time_col, src.keys, src.rows) == ("sched_dep", ("origin", "carrier"), 80_789)
    day = src.read(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:00:24"))
    # file order; the first day arrives in a burst once the after-midnight flights are in
    assert day["sched_dep"].tolist() == frames["flights"]["sched_dep"].iloc[: len(day)].tolist()
    assert (day["arrival"] >= day["ts"]).all() and day["arrival"].is_monotonic_increasing
    ordered = ds.replay("online_retail", speed=86400, start="2024-01-01")
    out = ordered.read(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01") + ordered.duration + pd.Timedelta(1))
    assert len(out) == 195_679 and ordered.exhausted
    assert (out["ts"] == out["arrival"]).all()
