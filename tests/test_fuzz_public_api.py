"""Fuzzing the public API: whatever the batch or argument, nothing but an RtnbError
escapes, and every row is accounted for (received = accepted + rejected + late +
duplicates).

Frames have duplicate column names, mixed objects, Decimal, complex, extreme and
zone-aware timestamps of every unit, Arrow-backed columns, empty and huge values.
"""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pytest
import streamz
from hypothesis import HealthCheck, given, settings, strategies as st

import rtnb

NOW = pd.Timestamp("2024-01-01 12:00")

times = st.one_of(
    st.datetimes(min_value=pd.Timestamp("2023-12-31").to_pydatetime(),
                 max_value=pd.Timestamp("2024-01-02").to_pydatetime()),
    st.datetimes(),   # year 1 to 9999
    st.sampled_from([None, pd.NaT, "2024-01-01 11:00", "yesterday", 3.5, np.datetime64("2300-01-01", "s")]),
)
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.sampled_from([None, "2", "abc", True, decimal.Decimal("1.1"), 1 + 2j, b"x", [1], pd.NA, 1e308, -1e308]),
)
keys = st.one_of(st.sampled_from(["a", "b", "", None, 1, True, ("t",), np.nan]), st.text(max_size=3))


@st.composite
def frames(draw):
    n = draw(st.integers(0, 12))
    ts = draw(st.lists(times, min_size=n, max_size=n))
    v = draw(st.lists(values, min_size=n, max_size=n))
    k = draw(st.lists(keys, min_size=n, max_size=n))
    df = pd.DataFrame({"ts": pd.Series(ts, dtype=object), "k": pd.Series(k, dtype=object),
                       "v": pd.Series(v, dtype=object)})
    how = draw(st.sampled_from(["objects", "typed", "unit", "zone", "arrow", "dup", "drop"]))
    if how in ("typed", "unit", "zone", "arrow"):
        t = pd.to_datetime(pd.Series(ts, dtype=object), errors="coerce", format="mixed")
        if not isinstance(t.dtype, pd.DatetimeTZDtype) and t.dtype.kind != "M":
            t = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        try:
            t = t.dt.as_unit(unit)
        except Exception:
            pass
        if how == "zone":
            t = t.dt.tz_localize(draw(st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata"])),
                                 ambiguous="NaT", nonexistent="NaT")
        num = pd.to_numeric(pd.Series(v, dtype=object), errors="coerce")
        if num.dtype.kind == "c":  # a complex value drawn: typed frames hold real parts (said, not warned)
            num = num.map(lambda z: z.real)
        num = num.astype(float)
        df = pd.DataFrame({"ts": t, "k": df["k"].astype(str), "v": num})
        if how == "arrow":
            df = df.convert_dtypes(dtype_backend="pyarrow")
    elif how == "dup":
        df = pd.concat([df, df[["v"]]], axis=1)
    elif how == "drop":
        df = df.drop(columns=draw(st.sampled_from(["ts", "k", "v"])))
    return df


def _escapes(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except rtnb.RtnbError:
        return None
    except Exception as exc:  # what the fuzz test exists to catch
        return exc
    return None


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(batches=st.lists(frames(), min_size=1, max_size=4))
def test_rolling_lets_only_rtnb_errors_out_and_conserves(batches):
    agg = rtnb.Rolling(window="1h", by="k", value="v", lateness="10min", keep_late=0)
    for b in batches:
        before = agg.counters
        exc = _escapes(agg.update, b)
        assert exc is None, repr(exc)
        assert agg.counters.conserved
        assert agg.counters.received - before.received in (0, len(b))


@SETTINGS
@given(batches=st.lists(frames(), min_size=1, max_size=4), schema=st.sampled_from([None, "infer"]),
       metric=st.booleans())
def test_a_pipeline_never_raises_and_accounts_for_every_row(batches, schema, metric):
    src = streamz.Stream()
    if metric:
        agg = rtnb.Metric(name="m", value="v", by="k", window="1h", lateness="10min",
                          derived={"r": "v_sum / count"}).aggregate()
    else:
        agg = rtnb.Rolling(window="1h", by="k", value="v", lateness="10min")
    sch = rtnb.Schema.infer(keys="k", measures="v") if schema == "infer" else None
    pipe = rtnb.Pipeline(src, aggregate=agg, schema=sch, clock=rtnb.SimClock(start=NOW))
    errors = pipe.errors.sink_to_list()
    sent = 0
    for b in batches:
        src.emit(b)   # must not raise
        sent += len(b)
        c = pipe.counters
        assert c.conserved, c
        assert c.received == sent
    assert pipe.dead_letter.total == pipe.counters.rejected - agg.counters.rejected + \
        (agg.counters.rejected if hasattr(agg, "take_rejected") else 0)
    for e in errors:   # a stage failure is reported, never a crash
        assert e.kind


@SETTINGS
@given(batch=frames())
def test_schema_validate_never_raises_on_data(batch):
    out = rtnb.Schema.infer(keys="k", measures="v").validate(batch, now=NOW)
    assert out.received == len(batch)


@SETTINGS
@given(batch=frames(), speed=st.one_of(st.floats(), st.integers(-5, 10**40), st.sampled_from([None, "x", True])),
       time_col=st.sampled_from(["ts", "", "v", None, 3]))
def test_replay_lets_only_rtnb_errors_out(batch, speed, time_col):
    exc = _escapes(rtnb.replay, batch, time_col=time_col, speed=speed)
    assert exc is None, repr(exc)


anything = st.one_of(st.none(), st.booleans(), st.integers(-(2**65), 2**65), st.floats(), st.text(max_size=6),
                     st.sampled_from(["60s", "1min", "0s", "-1s", "1e12s", "5 parsecs", "", "ts", "k"]),
                     st.lists(st.sampled_from(["k", "v", "ts", ""]), max_size=3))


@SETTINGS
@given(window=anything, by=anything, value=anything, aggs=anything, lateness=anything, kind=anything,
       time_col=anything)
def test_rolling_arguments_only_raise_rtnb_errors(window, by, value, aggs, lateness, kind, time_col):
    exc = _escapes(rtnb.Rolling, window, by=by, value=value, aggs=aggs, lateness=lateness, kind=kind,
                   time_col=time_col)
    assert exc is None, repr(exc)


@SETTINGS
@given(name=anything, value=anything, by=anything, window=anything, tz=anything, derived=anything,
       filt=anything)
def test_metric_arguments_only_raise_rtnb_errors(name, value, by, window, tz, derived, filt):
    exc = _escapes(rtnb.Metric, name=name, value=value, by=by, window=window, tz=tz,
                   derived={"d": derived} if isinstance(derived, str) else derived, filter=filt)
    assert exc is None, repr(exc)


@settings(max_examples=60, deadline=None)
@given(rate=anything, seed=anything, scenario=st.sampled_from(["ecommerce_orders", "nope", 5]))
def test_simulate_arguments_only_raise_rtnb_errors(rate, seed, scenario):
    exc = _escapes(rtnb.simulate, scenario, rate=rate, seed=seed)
    assert exc is None, repr(exc)


@settings(max_examples=40, deadline=None)
@given(max_age=anything, response_time=anything, value=anything, viewers=anything)
def test_advise_arguments_only_raise_rtnb_errors(max_age, response_time, value, viewers):
    exc = _escapes(rtnb.tiers.advise, max_age=max_age, response_time=response_time, value_per_minute=value,
                   viewers=viewers)
    assert exc is None, repr(exc)


# ----------------------------------------------------------------- row by row, never wrapped


def _instants(col: pd.Series) -> set:
    """Every instant the column's values can honestly mean (UTC, naive, nanoseconds)."""
    out = set()
    for x in col:
        try:
            t = pd.Timestamp(x)
            if t is pd.NaT:
                continue
            out.add((t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t).as_unit("ns"))
        except Exception:
            continue
    return out


@SETTINGS
@given(batches=st.lists(frames(), min_size=1, max_size=4))
def test_rolling_rejects_exactly_the_rows_bad_on_their_own_and_wraps_no_time(batches):
    """One bad row never rejects its neighbours: a batch's rejected rows are exactly
    those a fresh Rolling rejects when each row comes alone; a batch refused whole
    (no row readable, naive after aware) changes nothing; and the newest event time is
    always one of the input's instants — a year-2300 time is rejected, never wrapped."""
    agg = rtnb.Rolling(window="1h", by="k", value="v", lateness="10min", keep_late=0)
    seen: set = set()
    for b in batches:
        before = agg.counters
        try:
            agg.update(b)
        except rtnb.RtnbError:
            assert agg.counters == before  # refused whole, nothing half-applied
            continue
        rows = agg.take_rejected()
        got = [] if rows is None else list(rows.index)
        alone = []
        for i in range(len(b)):
            one = rtnb.Rolling(window="1h", by="k", value="v", lateness="10min", keep_late=0)
            try:
                one.update(b.iloc[[i]])
            except rtnb.RtnbError:
                alone.append(b.index[i])  # unreadable alone (cannot be readable in the batch)
                continue
            if one.counters.rejected:
                alone.append(b.index[i])
        assert got == alone
        assert agg.counters.rejected - before.rejected == len(got) and agg.counters.conserved
        seen |= _instants(b["ts"])
        if agg.newest_event is not None:
            assert agg.newest_event in seen, agg.newest_event


@SETTINGS
@given(batches=st.lists(frames(), min_size=1, max_size=4), tz=st.sampled_from([None, "Europe/Paris"]))
def test_a_metric_alone_lets_only_rtnb_errors_out_and_conserves(batches, tz):
    m = rtnb.Metric(name="m", value="v", by="k", window="1h", lateness="10min", tz=tz,
                    derived={"r": "v_sum / count"})
    agg = m.aggregate()
    for b in batches:
        exc = _escapes(agg.update, b)
        assert exc is None, repr(exc)
        assert agg.counters.conserved, agg.counters
        exc = _escapes(agg.snapshot)
        assert exc is None, repr(exc)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(frames(), min_size=1, max_size=3))
def test_a_dashboard_fed_fuzzed_batches_counts_every_row_and_no_view_fails(batches):
    """The one-liner end to end (source → pipeline → store → every view, frame by frame)."""
    pytest.importorskip("ipywidgets")
    clock = rtnb.SimClock(start=NOW)
    q = rtnb.QueueSource(clock=clock, keys=("k",), measures=("v",))
    dash = rtnb.dashboard(q, metric="v", by="k", window="1h", clock=clock, fps=5)
    try:
        sent = 0
        for b in batches:
            exc = _escapes(q.push, b)
            assert exc is None, repr(exc)
            sent += len(b)
            dash.runner.run("1s")
        c = dash.pipeline.counters
        assert c.conserved and c.received == sent, c
        assert [e.describe() for e in dash.runner.health.errors if e.where == "frame"] == []
    finally:
        dash.close()
