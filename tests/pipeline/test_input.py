"""Batch decoding (pipeline/_input.py) and row-level rejection through the pipeline.

Findings 1, 2, 4 (mixing), 5 and 9 of issue 14: times of any unit, zone and backend are
converted safely, bad rows are rejected one by one with a reason in words, and
neither the standalone Rolling nor the pipeline lets a raw exception or a wrapped date
through.
"""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pytest
import streamz

import rtnb
from rtnb.pipeline._input import decode, read_batch

NOW = pd.Timestamp("2024-01-01 09:05")


def _cfg(**kw):
    return rtnb.Rolling(window="1h", by="k", value="v", **kw).config


def _pipe(schema="auto", **kw):
    src = streamz.Stream()
    agg = rtnb.Rolling(window="1h", by="k", value="v", **kw)
    if schema == "auto":
        schema = rtnb.Schema.infer(keys="k", measures="v")
    pipe = rtnb.Pipeline(src, aggregate=agg, schema=schema, clock=rtnb.SimClock(start=NOW))
    return src, pipe


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
@pytest.mark.parametrize("when", ["2300-01-01 00:00", "9999-12-31 00:00", "0001-01-01 00:00"])
def test_rolling_never_wraps_times_outside_the_nanosecond_range(unit, when):
    """Finding 1: year 2300 became 1715-06-13, 9999 became 1815, 0001 became 1754."""
    ts = pd.to_datetime(["2024-01-01 09:00", when]).as_unit(unit)
    batch = pd.DataFrame({"ts": ts, "k": ["a", "b"], "v": [1.0, 2.0]})
    d = decode(batch, _cfg())
    assert d.ts.tolist() == [pd.Timestamp("2024-01-01 09:00").value]
    assert "outside the range of nanosecond times" in d.rejected["reason"].iloc[0]
    agg = rtnb.Rolling(window="1h", by="k", value="v").update(batch)  # the bad row alone is rejected
    assert agg.counters == rtnb.Counters(received=2, accepted=1, rejected=1)   # nothing wrapped
    assert "outside the range" in agg.rejected_rows["reason"].iloc[0]
    assert agg.newest_event == pd.Timestamp("2024-01-01 09:00")
    src, pipe = _pipe(schema=None)
    src.emit(batch)
    assert pipe.counters == rtnb.Counters(received=2, accepted=1, rejected=1)
    assert "outside the range" in pipe.dead_letter.last_reasons(1)[0]
    assert pipe.latest().newest_event == pd.Timestamp("2024-01-01 09:00")


def test_one_nan_rejects_one_row_not_its_batch_without_a_schema():
    """Finding 2: with schema=None one NaN rejected 100 of 100 rows ('aggregate failed')."""
    src, pipe = _pipe(schema=None)
    v = np.arange(100.0)
    v[7] = np.nan
    src.emit(pd.DataFrame({"ts": pd.date_range("2024-01-01 09:00", periods=100, freq="s"), "k": "a", "v": v}))
    assert pipe.counters == rtnb.Counters(received=100, accepted=99, rejected=1)
    assert pipe.dead_letter.last_reasons() == ["v is missing or NaN, not a finite number"]
    assert pipe.latest().table.loc["a", "sum"] == np.nansum(v)


def test_a_year_1700_row_rejects_only_itself_with_a_reason_in_words():
    """Finding 2: with the default schema one year-1700 row rejected all 6 rows with a
    raw pandas message (OutOfBoundsTimedelta...)."""
    src, pipe = _pipe()
    ts = pd.to_datetime(["2024-01-01 09:00", "1700-01-01 00:00", "2024-01-01 09:01", "2024-01-01 09:02",
                         "2024-01-01 09:03", "2024-01-01 09:04"])
    src.emit(pd.DataFrame({"ts": ts, "k": list("abcdef"), "v": np.arange(6.0)}))
    assert pipe.counters == rtnb.Counters(received=6, accepted=5, rejected=1)
    (reason,) = pipe.dead_letter.last_reasons()
    assert reason.startswith("ts is ") and "days old" in reason and "Timedelta" not in reason


def test_object_decimal_and_complex_values_are_rejected_per_row_not_cast():
    """Finding 9: [1, '2', 3.0] summed to 6.0; Decimal and complex silently cast."""
    batch = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 09:00"] * 5), "k": list("abcde"),
                          "v": pd.Series([1, "2", 3.0, decimal.Decimal("1.1"), 1 + 2j], dtype=object)})
    d = decode(batch, _cfg())
    assert d.vals.ravel().tolist() == [1.0, 3.0]
    reasons = d.rejected["reason"].tolist()
    assert reasons[0] == "v is text, not a number: '2'"
    assert "Decimal" in reasons[1] and "complex" in reasons[2]
    src, pipe = _pipe(schema=None)
    src.emit(batch)
    assert pipe.latest().table["sum"].sum() == 4.0 and pipe.counters.rejected == 3
    src, pipe = _pipe()   # the schema says the same
    src.emit(batch)
    assert pipe.counters.rejected == 3 and pipe.latest().table["sum"].sum() == 4.0


@pytest.mark.parametrize("schema", [None, "auto"])
def test_arrow_backed_frames_are_aggregated(schema):
    """Finding 5: dtype_backend='pyarrow' was refused ('must hold datetimes, not
    timestamp[ns][pyarrow]'); the pipeline rejected 5,000 of 5,000 rows."""
    rng = np.random.default_rng(0)
    n = 3000   # 50 minutes: all in the 1-hour window
    df = pd.DataFrame({"ts": pd.date_range("2024-01-01 08:10", periods=n, freq="s"),
                       "k": rng.choice(["x", "y"], n), "v": rng.normal(size=n)})
    arrow = df.convert_dtypes(dtype_backend="pyarrow")
    assert "pyarrow" in str(arrow.dtypes["ts"])
    src, pipe = _pipe(schema=schema)
    src.emit(arrow)
    assert pipe.counters == rtnb.Counters(received=n, accepted=n)
    ref = df.groupby("k")["v"].sum()
    np.testing.assert_allclose(pipe.latest().table["sum"].sort_index(), ref.sort_index(), rtol=1e-12)
    agg = rtnb.Rolling(window="1h", by="k", value="v").update(arrow)
    np.testing.assert_allclose(agg.value["sum"].sort_index(), ref.sort_index(), rtol=1e-12)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", [None, "UTC", "Europe/Paris", "America/New_York"])
def test_any_unit_and_zone_gives_the_same_utc_instants(unit, tz):
    utc = pd.date_range("2024-03-31 00:30", periods=4, freq="30min")
    ts = utc.tz_localize("UTC").tz_convert(tz) if tz else utc
    d = decode(pd.DataFrame({"ts": ts.as_unit(unit), "k": "a", "v": 1.0}), _cfg())
    assert d.ts.tolist() == utc.as_unit("ns").asi8.tolist() and len(d.rejected) == 0
    assert d.zone == tz


def test_naive_after_aware_batches_is_refused_naming_both():
    """Finding 4: a naive batch followed by a tz-aware one was accepted without a word."""
    ts = pd.date_range("2024-01-01 09:00", periods=3, freq="s")
    src, pipe = _pipe()
    src.emit(pd.DataFrame({"ts": ts, "k": "a", "v": 1.0}))
    src.emit(pd.DataFrame({"ts": ts.tz_localize("Europe/Paris"), "k": "a", "v": 1.0}))
    assert pipe.counters == rtnb.Counters(received=6, accepted=3, rejected=3)
    reason = pipe.dead_letter.last_reasons(1)[0]
    assert "Europe/Paris" in reason and "naive" in reason
    m = rtnb.Metric(name="m", value="v", by="k", window="1h")
    agg = m.aggregate().update(pd.DataFrame({"ts": ts.tz_localize("Europe/Paris"), "k": "a", "v": 1.0}))
    with pytest.raises(rtnb.ParameterError, match="naive.*Europe/Paris"):
        agg.update(pd.DataFrame({"ts": ts, "k": "a", "v": 1.0}))
    alone = rtnb.Rolling(window="1h", by="k", value="v").update(pd.DataFrame({"ts": ts, "k": "a", "v": 1.0}))
    with pytest.raises(rtnb.ParameterError, match="Europe/Paris but earlier batches' were naive"):
        alone.update(pd.DataFrame({"ts": ts.tz_localize("Europe/Paris"), "k": "a", "v": 1.0}))
    assert alone.counters.received == 3
    mixed = pd.Series([pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01", tz="Asia/Tokyo")], dtype=object)
    with pytest.raises(rtnb.ParameterError, match="mixes naive times and times in Asia/Tokyo"):
        decode(pd.DataFrame({"ts": mixed, "k": "a", "v": 1.0}), _cfg())


def test_the_time_zone_of_earlier_batches_survives_export_and_load():
    """A reviewer's item: Rolling's naive/aware check state was not in export_state, so
    an aggregator restored from a checkpoint took naive times after aware ones (1-2 h off)."""
    ts = pd.date_range("2024-01-01 09:00", periods=3, freq="s")
    aware = rtnb.Rolling(window="1h", by="k", value="v").update(
        pd.DataFrame({"ts": ts.tz_localize("Europe/Paris"), "k": "a", "v": 1.0}))
    restored = rtnb.Rolling.from_state(aware.export_state())
    with pytest.raises(rtnb.ParameterError, match="naive but earlier batches' were in Europe/Paris"):
        restored.update(pd.DataFrame({"ts": ts + pd.Timedelta("1s"), "k": "a", "v": 1.0}))
    assert restored.counters == aware.counters  # refused before any change
    naive = rtnb.Rolling(window="1h", by="k", value="v").update(pd.DataFrame({"ts": ts, "k": "a", "v": 1.0}))
    state = naive.export_state()
    assert state["meta"]["zone"] is None
    with pytest.raises(rtnb.ParameterError, match="Europe/Paris but earlier batches' were naive"):
        rtnb.Rolling.from_state(state).update(pd.DataFrame({"ts": ts.tz_localize("Europe/Paris"), "k": "a", "v": 1.0}))
    del state["meta"]["zone"]  # a state written before the zone was kept loads as "no batch yet"
    rtnb.Rolling.from_state(state).update(pd.DataFrame({"ts": (ts + pd.Timedelta("1h")).tz_localize("UTC"),
                                                        "k": "a", "v": 1.0}))


def test_duplicate_column_names_are_a_parameter_error_or_a_rejection():
    """Finding 9: duplicate column names in Rolling.update raised AttributeError."""
    batch = pd.DataFrame([[pd.Timestamp("2024-01-01 09:00"), "a", 1.0, 2.0]], columns=["ts", "k", "v", "v"])
    with pytest.raises(rtnb.ParameterError, match="duplicate column names"):
        rtnb.Rolling(window="1h", by="k", value="v").update(batch)
    for schema in (None, "auto"):
        src, pipe = _pipe(schema=schema)
        src.emit(batch)
        assert pipe.counters == rtnb.Counters(received=1, rejected=1)
        assert "duplicate column names" in pipe.dead_letter.last_reasons(1)[0]


def test_read_batch_is_strict_and_names_the_rows():
    batch = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01", None]), "k": ["a", "b"], "v": [1.0, np.inf]})
    with pytest.raises(rtnb.ParameterError, match=r"ts is missing \(NaT\); v is not finite: inf"):
        read_batch(batch, _cfg())
