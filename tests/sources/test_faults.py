"""Fault injection of simulated sources: rates, marking, delays, stalls and outages."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rtnb import Faults, ParameterError, SourceUnavailable, UnknownNameError, simulate
from rtnb.sources._faults import FAULT_LABELS, MALFORMED_KINDS

T = pd.Timestamp("2024-01-02 12:00")
CAP = pd.Timedelta("1s")  # the ingest cap: 5 x the default 200 ms ingest delay


def within(observed: int, total: int, p: float, sigmas: float = 5.0) -> bool:
    """``observed / total`` is within ``sigmas`` binomial standard deviations of ``p``."""
    sd = math.sqrt(p * (1 - p) / total)
    return abs(observed / total - p) <= sigmas * sd + 1e-12


@pytest.fixture(scope="module")
def faulty():
    faults = Faults(late=0.05, duplicates=0.03, malformed=0.08, max_delay="30s")
    src = simulate("system_health", rate=2000, seed=21, faults=faults, bursts=0)
    return faults, src.read(T, T + pd.Timedelta("90s"))


# ---------------------------------------------------------------- configuration


def test_faults_validate_on_construction():
    with pytest.raises(ParameterError, match="late=1.5"):
        Faults(late=1.5)
    with pytest.raises(ParameterError) as err:
        Faults(late=0.5, malformed=0.6)
    assert err.value.param == "late+duplicates+malformed"
    with pytest.raises(ParameterError) as err:
        Faults(max_delay="-1s")
    assert err.value.param == "max_delay"
    with pytest.raises(ParameterError) as err:
        Faults(duplicates="some")
    assert err.value.param == "duplicates"
    with pytest.raises(UnknownNameError) as err:
        Faults(malformed=0.1, malformed_kinds={"typo": 1})
    assert err.value.choices == list(MALFORMED_KINDS)
    with pytest.raises(ParameterError):
        Faults(malformed=0.1, malformed_kinds={"wrong_type": -1})
    with pytest.raises(ParameterError):
        Faults(malformed=0.1, malformed_kinds=[])
    for bad in ([("2024-01-01 10:00", "2024-01-01 09:00")], [("1h", "2024-01-01 09:00")],
                [("1h", 0)], [("-1h", "5min")], [("1h",)], "1h", [("soon", "5min")]):
        with pytest.raises(ParameterError) as err:
            Faults(stalls=bad)
        assert err.value.param == "stalls"
    f = Faults(malformed=0.1, malformed_kinds={"wrong_type": 3, "missing_field": 1})
    assert f.rates()["wrong_type"] == pytest.approx(0.075)
    assert f.rates()["non_finite"] == 0.0
    assert Faults.coerce(None) == Faults() and Faults.coerce(f) is f
    assert Faults.coerce({"late": 0.1}) == Faults(late=0.1)
    hash(f)  # frozen and hashable: usable as a widget value or a cache key


def test_offsets_and_absolute_intervals_agree():
    a = simulate("support_queue", rate=5, seed=2, faults={"stalls": [("10h", "5min")]})
    b = simulate("support_queue", rate=5, seed=2,
                 faults={"stalls": [("2024-01-01 10:00", "2024-01-01 10:05")]})
    c = simulate("support_queue", rate=5, seed=2, faults={"stalls": [(36_000, 300)]})
    window = ("2024-01-01 09:50", "2024-01-01 10:20")
    ra, rb, rc = a.read(*window), b.read(*window), c.read(*window)
    assert ra.equals(rb) and ra.equals(rc) and (ra.fault == "stall").any()


# ---------------------------------------------------------------- row faults


def test_each_fault_kind_appears_at_its_rate_and_is_marked(faulty):
    faults, b = faulty
    assert set(b.fault.cat.categories) == set(FAULT_LABELS)
    counts = b.fault.value_counts()
    events = len(b) - counts["duplicate"]  # distinct events delivered
    assert events > 150_000
    for kind, p in faults.rates().items():
        assert within(int(counts[kind]), events, p), (kind, counts[kind] / events, p)
    assert counts["stall"] == 0 and counts["outage"] == 0


def test_clean_rows_are_clean(faulty):
    _, b = faulty
    clean = b[b.fault == ""]
    delay = clean.arrival - clean.ts
    assert delay.min() >= pd.Timedelta(0) and delay.max() <= CAP
    assert clean.host.notna().all() and clean.service.notna().all()
    for m in ("latency_ms", "cpu", "error"):
        v = pd.to_numeric(clean[m], errors="coerce")
        assert np.isfinite(v.to_numpy(dtype=float)).all()


def test_late_events_arrive_after_newer_ones_within_max_delay(faulty):
    faults, b = faulty
    late = b[b.fault == "late"]
    delay = late.arrival - late.ts
    assert delay.min() > CAP and delay.max() <= faults.max_delay
    # out of order: each late row arrives after rows whose event time is newer than its own
    ts = b.ts.to_numpy()
    pos = np.flatnonzero((b.fault == "late").to_numpy())
    newer_first = [(ts[:i] > ts[i]).any() for i in pos[pos > 1000][:200]]
    assert all(newer_first)
    assert not b.ts.is_monotonic_increasing


def test_duplicates_repeat_an_event_later_with_the_same_values(faulty):
    faults, b = faulty
    dups = b[b.fault == "duplicate"]
    firsts = b[b.fault != "duplicate"]
    assert firsts.event_id.is_unique
    # a copy arriving max_delay after the window opened has its first delivery inside it
    dups = dups[dups.arrival >= T + faults.max_delay]
    pairs = dups.merge(firsts, on="event_id", suffixes=("_dup", ""))
    assert len(dups) > 3000 and len(pairs) == len(dups)
    assert (pairs.fault == "").all()
    lag = pairs.arrival_dup - pairs.arrival
    assert (lag > pd.Timedelta(0)).all() and (lag <= faults.max_delay).all()
    for col in ("ts", "host", "service", "latency_ms", "cpu", "error"):
        assert (pairs[f"{col}_dup"].astype(object) == pairs[col].astype(object)).all(), col


def test_malformed_rows_are_malformed_in_their_own_way(faulty):
    _, b = faulty
    measures = ["latency_ms", "cpu", "error"]
    # a batch with a string in a measure has an object column, as real data would
    assert any(b[m].dtype == object for m in measures)
    num = {m: pd.to_numeric(b[m], errors="coerce").to_numpy(dtype=float) for m in measures}

    missing = (b.fault == "missing_field").to_numpy()
    has_missing = b.ts.isna().to_numpy() | b.host.isna().to_numpy() | b.service.isna().to_numpy()
    for m in measures:
        has_missing |= pd.isna(b[m]).to_numpy()
    assert has_missing[missing].all()
    assert b.ts.isna().any() and b.host.isna().any()

    wrong = (b.fault == "wrong_type").to_numpy()
    has_str = np.zeros(len(b), dtype=bool)
    for m in measures:
        has_str |= b[m].map(lambda v: isinstance(v, str)).to_numpy()
    assert has_str[wrong].all() and not has_str[~wrong].any()

    nonfinite = (b.fault == "non_finite").to_numpy()
    bad_value = np.zeros(len(b), dtype=bool)
    for m in measures:
        bad_value |= ~np.isfinite(num[m]) & ~has_str
    assert bad_value[nonfinite].all()
    assert np.isinf(num["latency_ms"]).any()

    odd_ts = (b.fault == "bad_timestamp").to_numpy()
    off = (b.ts - b.arrival).abs()
    assert (off[odd_ts] >= pd.Timedelta("1D")).all()
    assert (b.ts[odd_ts] > b.arrival[odd_ts]).any() and (b.ts[odd_ts] < b.arrival[odd_ts]).any()
    assert (off[b.fault == ""] < pd.Timedelta("2s")).all()


def test_a_clean_batch_keeps_numeric_dtypes_and_a_missing_count_becomes_float():
    src = simulate("broadcast_audience", rate=50, seed=5,
                   faults={"malformed": 0.2, "malformed_kinds": ["missing_field"]})
    dtypes = {str(t) for t in src.read(T, T + pd.Timedelta("10min")).dtypes[["viewers", "joins"]]}
    assert dtypes <= {"int64", "float64"} and "float64" in dtypes


def test_without_row_faults_the_events_are_the_same():
    """Faults perturb delivery, they do not change what happened."""
    window = (T, T + pd.Timedelta("2min"))
    clean = simulate("ad_spend", rate=300, seed=3).read(*window)
    late = simulate("ad_spend", rate=300, seed=3, faults={"late": 0.1}).read(*window)
    on_time = late[late.fault == ""]
    assert set(on_time.event_id) <= set(clean.event_id)
    merged = on_time.merge(clean, on="event_id", suffixes=("", "_c"))
    assert (merged.spend == merged.spend_c).all() and (merged.ts == merged.ts_c).all()


# ---------------------------------------------------------------- stalls and outages


def read_steps(src, start, end, step="1s", retry=True):
    """Poll like the runner; on an outage either retry the same start or skip ahead."""
    start, end, step = pd.Timestamp(start), pd.Timestamp(end), pd.Timedelta(step)
    batches, failures, done, t = [], 0, start, start
    while t < end:
        t = min(t + step, end)
        try:
            batches.append((t, src.read(done, t)))
            done = t
        except SourceUnavailable:
            failures += 1
            if not retry:
                done = t
    return batches, failures


def test_a_stall_delivers_nothing_then_the_backlog():
    stall = ("2024-01-02 12:05", "2024-01-02 12:08")
    src = simulate("ecommerce_orders", rate=40, seed=8, faults={"stalls": [stall]})
    ref = simulate("ecommerce_orders", rate=40, seed=8)
    batches, failures = read_steps(src, "2024-01-02 12:00", "2024-01-02 12:15")
    assert failures == 0
    during = [b for t, b in batches if pd.Timestamp(stall[0]) < t <= pd.Timestamp(stall[1])]
    assert len(during) == 180 and all(b.empty for b in during)
    after = next(b for t, b in batches if t > pd.Timestamp(stall[1]))
    held = after[after.fault == "stall"]
    assert len(held) > 2000 and (held.arrival == pd.Timestamp(stall[1])).all()
    everything = pd.concat([b for _, b in batches])
    expected = ref.read("2024-01-02 12:00", "2024-01-02 12:15")
    assert sorted(everything.event_id) == sorted(expected.event_id)


@pytest.mark.parametrize("retry", [True, False])
def test_an_outage_raises_then_delivers_everything(retry):
    outage = ("2024-01-02 12:05", "2024-01-02 12:07")
    src = simulate("fraud_alerts", rate=30, seed=4, faults={"outages": [outage]})
    ref = simulate("fraud_alerts", rate=30, seed=4)
    batches, failures = read_steps(src, "2024-01-02 12:00", "2024-01-02 12:12", retry=retry)
    assert failures == 120  # every 1 s poll that falls inside the 2 min outage
    everything = pd.concat([b for _, b in batches])
    expected = ref.read("2024-01-02 12:00", "2024-01-02 12:12")
    assert len(everything) == len(expected)
    assert sorted(everything.event_id) == sorted(expected.event_id)
    held = everything[everything.fault == "outage"]
    assert len(held) > 1000 and (held.arrival == pd.Timestamp(outage[1])).all()
    with pytest.raises(SourceUnavailable, match="fraud_alerts"):
        src.read("2024-01-02 12:06", "2024-01-02 12:06:01")


def test_late_events_held_by_a_stall_keep_their_own_mark():
    src = simulate("system_health", rate=100, seed=2,
                   faults={"late": 0.2, "max_delay": "20s", "stalls": [("12h01min", "1min")]})
    b = src.read("2024-01-01 12:00", "2024-01-01 12:05")
    at_end = b[b.arrival == pd.Timestamp("2024-01-01 12:02")]
    assert set(at_end.fault) == {"stall", "late"}


def test_the_runner_rides_through_an_outage_without_losing_events():
    import rtnb

    src = simulate("fraud_alerts", rate=30, seed=4, faults={"outages": [("12h05min", "2min")]})
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start="2024-01-01 12:00"), tick="1s")
    got = []
    runner.stream.sink(got.append)
    runner.run("12min")
    delivered = pd.concat(got)
    expected = simulate("fraud_alerts", rate=30, seed=4).read("2024-01-01 12:00", "2024-01-01 12:12")
    assert sorted(delivered.event_id) == sorted(expected.event_id)
    assert runner.health.sources["fraud_alerts"].failures == 120
