"""The streamz graph end to end: batches in → snapshots in the store equal pandas on the
accepted rows; rejected, late and duplicate rows are counted and never lost; stage
failures never escape into the runner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import streamz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtnb
from rtnb import MemoryStore, Pipeline, Schema

T0 = pd.Timestamp("2024-01-01 09:00")


def oracle(rows: pd.DataFrame, window: str, by: str = "key", value: str = "value") -> pd.DataFrame:
    """pandas on the accepted rows: the exact window (W - window, W] per key."""
    w = rows["ts"].max()
    inside = rows[(rows["ts"] > w - pd.Timedelta(window)) & (rows["ts"] <= w)]
    g = inside.groupby(by)[value]
    return pd.DataFrame({"count": g.count(), "sum": g.sum(), "mean": g.mean()}).sort_index()


def events(n: int, seed: int, start: pd.Timestamp = T0, keys=("a", "b", "c")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = start + pd.to_timedelta(np.sort(rng.integers(0, 30_000, n)), unit="ms")
    return pd.DataFrame({
        "ts": ts.as_unit("ns"),
        "key": rng.choice(list(keys), n),
        "value": rng.normal(10, 3, n).round(2),
        "id": np.arange(n) + seed * 10_000,
    })


def assert_table_equals(table: pd.DataFrame, expected: pd.DataFrame) -> None:
    got = table.sort_index()
    assert list(got.index) == list(expected.index)
    np.testing.assert_array_equal(got["count"].to_numpy(), expected["count"].to_numpy())
    np.testing.assert_allclose(got["sum"].to_numpy(), expected["sum"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["mean"].to_numpy(), expected["mean"].to_numpy(), rtol=1e-9)


def build(window="10s", **kw) -> tuple[streamz.Stream, Pipeline, rtnb.SimClock]:
    clock = rtnb.SimClock(start=T0)
    batches = streamz.Stream()
    pipe = rtnb.build_pipeline(batches, metric="value", by="key", window=window, lateness="1s", clock=clock, **kw)
    return batches, pipe, clock


# ----------------------------------------------------------------------------- end to end


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 300), cuts=st.lists(st.integers(0, 300), max_size=6), seed=st.integers(0, 10**6),
       bad=st.lists(st.integers(0, 299), max_size=10))
def test_snapshots_in_the_store_equal_pandas_on_the_accepted_rows(n, cuts, seed, bad):
    batches, pipe, clock = build(window="10s")
    df = events(n, seed)
    df["value"] = df["value"].astype(object)
    for i in bad:
        if i < n:
            df.at[i, "value"] = "n/a"  # malformed: must be rejected, not aggregated
    bounds = sorted({0, n, *[c for c in cuts if c < n]})
    seen = []
    for lo, hi in zip(bounds, bounds[1:]):
        part = df.iloc[lo:hi]
        clock.advance_to(max(clock.now(), part["ts"].max()))
        batches.emit(part)
        seen.append(part)
        so_far = pd.concat(seen)
        accepted = so_far[so_far["value"].map(lambda v: not isinstance(v, str))].astype({"value": float})
        snap = pipe.latest()
        assert snap.counters.conserved
        assert snap.counters.received == len(so_far)
        assert snap.counters.rejected == len(so_far) - len(accepted)
        assert snap.processed_at == clock.now()
        if len(accepted):
            assert_table_equals(snap.table, oracle(accepted, "10s"))
            assert snap.newest_event == accepted["ts"].max()
    assert pipe.store.version("value") == len(bounds) - 1  # one snapshot per batch
    assert pipe.dead_letter.total == pipe.counters.rejected
    assert set(pipe.dead_letter.rows["reason"]) <= {"value is not a number: 'n/a'"}


def test_the_builder_from_a_runner_runs_source_to_store():
    class Orders:
        name, keys, measures, id_col = "orders", ("key",), ("value",), "id"

        def read(self, start, end):
            ts = pd.date_range(start.ceil("100ms"), end, freq="100ms", inclusive="left").as_unit("ns")
            n = len(ts)
            out = pd.DataFrame({
                "ts": ts, "arrival": ts, "key": np.where(np.arange(n) % 3, "x", "y"),
                "value": (ts.second % 7).astype(float), "id": ts.asi8, "fault": "",
            })
            out["value"] = out["value"].astype(object)
            # every 50th event malformed, every 70th repeated (a duplicate)
            bad = (ts.asi8 // 100_000_000) % 50 == 0
            out.loc[bad, "value"] = "corrupt"
            out.loc[bad, "fault"] = "malformed"
            dup = out[((ts.asi8 // 100_000_000) % 70 == 0) & ~bad].assign(fault="duplicate")
            return pd.concat([out, dup], ignore_index=True)

    runner = rtnb.Runner(Orders(), clock=rtnb.SimClock(start=T0), tick="1s")
    pipe = rtnb.build_pipeline(runner, metric="value", by="key", window="30s", lateness="2s")
    conserved = pipe.snapshots.map(lambda s: s.counters.conserved).sink_to_list()
    rejected = pipe.rejected.sink_to_list()
    runner.run("1min")
    c, n = pipe.counters, 600
    assert all(conserved) and len(conserved) == 60
    faults = pd.concat(rejected)
    assert (faults["fault"] == "malformed").all() and c.rejected == n // 50
    assert c.duplicates == len([k for k in range(0, n, 70) if k % 50]) and c.late == 0
    assert c.received == n + c.duplicates and c.conserved
    assert pipe.dead_letter.counts.to_dict() == {"value is not a number": n // 50}
    assert runner.health.ok
    snap = pipe.latest()
    assert snap.metric == "value" and set(snap.table.index) == {"x", "y"}


def test_late_rows_go_to_the_late_stream_with_their_columns():
    batches, pipe, clock = build(window="10s")
    late = pipe.late.sink_to_list()
    batches.emit(events(20, 1))
    old = events(3, 2, start=T0 - pd.Timedelta("1min"))
    batches.emit(old)
    assert pipe.counters.late == 3 and pipe.counters.conserved
    assert len(late) == 1 and late[0]["id"].tolist() == old["id"].tolist()


def test_duplicates_are_dropped_when_an_id_column_is_given():
    batches, pipe, _ = build(id_col="id")
    b = events(10, 3).assign(ts=T0 + pd.to_timedelta(np.arange(10) * 50, unit="ms"))
    batches.emit(b)
    batches.emit(b.iloc[:4])
    assert pipe.counters.duplicates == 4 and pipe.latest().table["count"].sum() == 10


def test_bucketed_pipeline_gives_the_same_table_as_rolling_on_the_accepted_rows():
    batches, pipe, clock = build(window="10s", kind="bucketed", resolution="1s")
    alone = rtnb.Rolling("10s", by="key", value="value", kind="bucketed", resolution="1s", lateness="1s")
    for seed in range(5):
        b = events(200, seed, start=T0 + pd.Timedelta(seconds=30 * seed))
        batches.emit(b)
        alone.update(b)
    pd.testing.assert_frame_equal(pipe.latest().table, alone.snapshot().table)


# ----------------------------------------------------------------------------- failures


def test_what_is_not_a_dataframe_is_rejected_and_a_snapshot_still_follows():
    batches, pipe, _ = build()
    batches.emit(events(5, 1))
    for junk in (None, "oops", [1, 2, 3], pd.DataFrame()):
        batches.emit(junk)
    c = pipe.counters
    assert c.received == 5 + 1 + 1 + 3 and c.rejected == 5 and c.accepted == 5 and c.conserved
    assert pipe.store.version("value") == 5
    assert pipe.dead_letter.counts["batch is not a DataFrame"] == 5


class Exploding:
    metric = "boom"

    def __init__(self, fail_on: str):
        self.fail_on, self.n = fail_on, 0

    def update(self, batch):
        if self.fail_on == "update":
            raise RuntimeError("state corrupted")
        self.n += len(batch)

    def snapshot(self, processed_at=None):
        if self.fail_on == "snapshot":
            raise ValueError("cannot build table")
        return rtnb.Snapshot(metric="boom", table=pd.DataFrame({"count": [self.n]}), window=None,
                             watermark=None, newest_event=None, processed_at=processed_at,
                             counters=rtnb.Counters(received=self.n, accepted=self.n))


def test_a_failing_aggregate_reaches_the_error_streams_and_its_rows_are_rejected():
    runner = rtnb.Runner([], clock=rtnb.SimClock(start=T0))
    pipe = Pipeline(runner.stream, aggregate=Exploding("update"), clock=runner.clock, errors_to=runner.errors)
    mine, theirs = pipe.errors.sink_to_list(), runner.errors.sink_to_list()
    runner.stream.emit(events(4, 1))  # must not raise into the runner
    assert [e.kind for e in mine] == ["RuntimeError"] and theirs == mine
    assert mine[0].where == "pipeline" and "aggregate" in mine[0].name
    assert pipe.counters == rtnb.Counters(received=4, rejected=4)
    assert pipe.dead_letter.last_reasons(1) == ["aggregate failed: RuntimeError: state corrupted"]


def test_a_failing_snapshot_or_store_is_reported_and_the_stream_goes_on():
    batches = streamz.Stream()
    pipe = Pipeline(batches, aggregate=Exploding("snapshot"))
    errors = pipe.errors.sink_to_list()
    batches.emit(events(3, 1))
    batches.emit(events(3, 2))
    assert [e.message for e in errors] == ["cannot build table"] * 2
    assert pipe.store.metrics() == []

    class Down(MemoryStore):
        def put(self, snapshot):
            raise rtnb.StoreError("redis is down")

    batches2 = streamz.Stream()
    pipe2 = Pipeline(batches2, aggregate=Exploding("never"), store=Down())
    errors2 = pipe2.errors.sink_to_list()
    batches2.emit(events(3, 1))
    assert errors2[0].kind == "StoreError" and pipe2.counters.accepted == 3


def test_a_failing_user_sink_on_the_dead_letter_stream_is_reported():
    batches, pipe, _ = build()
    pipe.rejected.sink(lambda rows: 1 / 0)
    errors = pipe.errors.sink_to_list()
    batches.emit(pd.DataFrame({"ts": [T0], "key": ["a"], "value": ["x"]}))
    assert errors[0].kind == "ZeroDivisionError" and pipe.counters.rejected == 1


def test_close_disconnects_from_the_input():
    batches, pipe, _ = build()
    batches.emit(events(3, 1))
    pipe.close()
    batches.emit(events(3, 2))
    assert pipe.counters.received == 3


def test_users_can_attach_their_own_nodes():
    batches, pipe, _ = build()
    sizes = pipe.validated.map(len).sink_to_list()
    tables = pipe.snapshots.map(lambda s: s.counters.accepted).sink_to_list()
    batches.emit(events(7, 1))
    batches.emit(pd.DataFrame({"ts": [T0], "key": [None], "value": [1.0]}))
    assert sizes == [7, 0] and tables == [7, 7]


def test_builder_errors_name_the_parameter():
    with pytest.raises(rtnb.ParameterError, match="source="):
        rtnb.build_pipeline(object(), metric="value")
    with pytest.raises(rtnb.ParameterError, match="metric="):
        rtnb.build_pipeline(streamz.Stream(), metric="")
    with pytest.raises(rtnb.UnknownNameError, match="kind="):
        rtnb.build_pipeline(streamz.Stream(), metric="value", kind="hourly")
    with pytest.raises(rtnb.UnknownNameError, match="option='windw' is unknown"):
        rtnb.build_pipeline(streamz.Stream(), metric="value", windw="1min")  # a typo: not a TypeError
    with pytest.raises(rtnb.UnknownNameError, match="aggs='median' is unknown"):
        rtnb.build_pipeline(streamz.Stream(), metric="value", aggs="median")
    with pytest.raises(rtnb.ParameterError, match="aggregate="):
        Pipeline(streamz.Stream(), aggregate=object())
    with pytest.raises(rtnb.ParameterError, match="store="):
        Pipeline(streamz.Stream(), aggregate=Exploding("never"), store={})


def test_a_replay_keeping_its_own_times_is_not_rejected_as_too_old():
    data = pd.DataFrame({"ts": pd.date_range("2021-03-01", periods=100, freq="1min"),
                         "k": ["a", "b"] * 50, "v": np.arange(100.0)})
    runner = rtnb.Runner(rtnb.replay(data, speed=60, rebase=False), clock=rtnb.SimClock(), tick="1s")
    pipe = rtnb.build_pipeline(runner, metric="v", by="k", window="10min")
    runner.run("2min")
    assert pipe.counters == rtnb.Counters(received=100, accepted=100)
    # rebased (the default), the same data is on the clock's timeline and keeps the bounds
    assert rtnb.build_pipeline(rtnb.Runner(rtnb.replay(data)), metric="v").schema.fields[0].max_age is not None


def test_one_aggregate_may_be_named_alone():
    batches = streamz.Stream()
    pipe = rtnb.build_pipeline(batches, metric="value", aggs="sum", schema=None, lateness=0)
    batches.emit(pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 00:00:00", "2024-01-01 00:00:01"]),
                               "value": [1.0, 2.0]}))
    assert list(pipe.latest().table.columns) == ["sum"] and pipe.latest().table["sum"].iloc[0] == 3.0


# ----------------------------------------------------------------------------- fuzzing

JUNK = st.one_of(st.none(), st.text(max_size=5), st.floats(), st.integers(-5, 5), st.booleans(),
                 st.just(np.inf), st.lists(st.integers(), max_size=2))


@st.composite
def messy_streams(draw):
    out = []
    for b in range(draw(st.integers(1, 5))):
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(st.one_of(st.none(), st.text(max_size=3), st.lists(st.integers(), max_size=4))))
            continue
        n = draw(st.integers(0, 15))
        df = events(n, b, start=T0 + pd.Timedelta(seconds=draw(st.integers(-60, 60)))).astype(object)
        for _ in range(draw(st.integers(0, n))):
            df.iat[draw(st.integers(0, n - 1)), draw(st.integers(0, 3))] = draw(JUNK)
        if n and draw(st.booleans()):
            df = df.drop(columns=draw(st.sampled_from(["key", "value", "ts"])))
        out.append(df)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_streams())
def test_fuzzed_streams_never_escape_and_conserve_rows_after_every_batch(stream):
    batches, pipe, clock = build(id_col="id")
    errors = pipe.errors.sink_to_list()
    for batch in stream:
        clock.advance("1s")
        batches.emit(batch)  # must never raise
        c = pipe.counters
        assert c.conserved
        assert pipe.latest().counters == c
    assert errors == []  # bad data is rejected by validation, never a stage failure
    dl = pipe.dead_letter
    assert dl.total == pipe.counters.rejected
    assert int(dl.counts.sum()) == dl.total
    if dl.total:
        assert dl.rows["reason"].map(lambda r: isinstance(r, str) and r != "").all()


def test_the_dead_letter_keeps_the_newest_rows_and_counts_every_rule():
    batches = streamz.Stream()
    pipe = Pipeline(batches, aggregate=Exploding("never"), schema=Schema.infer(keys="key", measures="value"),
                    dead_letter=25)
    for i in range(40):
        b = events(10, i).astype({"value": object})
        b.loc[b.index[:3], "value"] = "bad"
        b.loc[b.index[3], "key"] = None
        batches.emit(b)
    dl = pipe.dead_letter
    assert dl.total == 160 and len(dl.rows) == 25
    assert dl.counts.to_dict() == {"value is not a number": 120, "key is missing": 40}
    assert dl.rows["id"].iloc[-1] == 39 * 10_000 + 3  # the newest rejected row is kept
    assert sum(len(f) for f in dl._frames) <= 25 + 4  # memory bounded, not only the answer


MALFORMED = ("missing_field", "wrong_type", "non_finite", "bad_timestamp")


def test_every_malformed_row_of_a_simulated_source_is_rejected_and_only_those():
    faults = rtnb.Faults(malformed=0.05, duplicates=0.02, late=0.02, max_delay="20s")
    source = rtnb.simulate("ecommerce_orders", rate=200, seed=7, faults=faults)
    runner = rtnb.Runner(source, clock=rtnb.SimClock(start="2024-01-01 12:00"), tick="2s")
    pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min", lateness="5s",
                         schema=rtnb.Schema.from_source(source))  # all columns: every fault shows
    rejected = pipe.rejected.sink_to_list()
    received = runner.stream.map(len).sink_to_list()
    malformed = runner.stream.map(lambda b: int(b["fault"].isin(MALFORMED).sum())).sink_to_list()
    runner.run("2min")
    c = pipe.counters
    assert c.conserved and c.received == sum(received) and c.late > 0 and c.duplicates > 0
    kinds = pd.concat(rejected)["fault"].astype(str)
    assert set(kinds) == set(MALFORMED)
    assert c.rejected == len(kinds) == sum(malformed)
    assert runner.health.ok


def test_a_runner_of_two_sources_feeds_one_pipeline_per_source():
    start = pd.Timestamp("2024-01-01 12:00")
    orders = rtnb.simulate("ecommerce_orders", rate=20, seed=1, start=start)
    signups = rtnb.simulate("saas_signups", rate=5, seed=2, start=start)
    runner = rtnb.Runner([orders, signups], clock=rtnb.SimClock(start=start), tick="1s")
    by_shop = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min",
                                  from_source=orders.name)
    by_plan = rtnb.build_pipeline(runner, metric=signups.measures[0], by=signups.keys[0],
                                  window="1min", from_source=signups.name)
    runner.run("2min")
    for pipe, src in ((by_shop, orders), (by_plan, signups)):
        c = pipe.counters
        assert c.rejected == 0 and c.conserved  # no batch of the other source reached it
        assert c.received == runner.health.sources[src.name].rows
    with pytest.raises(rtnb.UnknownNameError, match="from_source='nope'"):
        rtnb.build_pipeline(runner, metric="amount", from_source="nope")


def test_a_misspelt_metric_or_key_fails_at_build_time_naming_the_source_columns():
    start = pd.Timestamp("2024-01-01 12:00")
    orders = rtnb.simulate("ecommerce_orders", rate=5, seed=1, start=start)
    runner = rtnb.Runner(orders, clock=rtnb.SimClock(start=start))
    with pytest.raises(rtnb.UnknownNameError, match="metric='amout' is unknown") as err:
        rtnb.build_pipeline(runner, metric="amout", by="country")
    assert err.value.choices == ["amount", "items"]
    with pytest.raises(rtnb.UnknownNameError, match="by='Country' is unknown"):
        rtnb.build_pipeline(runner, metric="amount", by="Country")
    # a replay's keys and measures are inferred: any of its columns may still be used
    flights = rtnb.datasets.replay("flights")
    assert "tailnum" in flights.columns
    rtnb.build_pipeline(rtnb.Runner(flights), metric="dep_delay", by="tailnum")
    # sources that do not declare columns are not checked
    rtnb.build_pipeline(streamz.Stream(), metric="anything", by="whatever")


def test_a_misspelt_time_col_or_id_col_fails_at_build_time_naming_the_source_columns():
    """A new user's finding: time_col=/id_col= typos only showed as every row in the
    dead-letter ("missing column ..."), batch after batch."""
    start = pd.Timestamp("2024-01-01 12:00")
    runner = rtnb.Runner(rtnb.simulate("ecommerce_orders", rate=5, seed=1, start=start),
                         clock=rtnb.SimClock(start=start))
    with pytest.raises(rtnb.UnknownNameError, match=r"time_col='time' is unknown \(not a column of source 'ecommerce_orders'\); choose one of: 'ts'"):
        rtnb.build_pipeline(runner, metric="amount", by="country", time_col="time")
    with pytest.raises(rtnb.UnknownNameError, match=r"id_col='order_id' is unknown.*'event_id'"):
        rtnb.build_pipeline(runner, metric="amount", by="country", id_col="order_id")
    rtnb.build_pipeline(runner, metric="amount", by="country", id_col="event_id")
    rtnb.build_pipeline(runner, metric="amount", by="country", id_col=None)
    # a standalone Rolling (no source to ask) says so at its first batch, naming the parameter
    batch = pd.DataFrame({"ts": [start], "country": ["FR"], "amount": [1.0]})
    with pytest.raises(rtnb.ParameterError, match=r"time_col='time' is invalid: missing column 'time'; "
                                                   r"present: \['ts', 'country', 'amount'\]"):
        rtnb.Rolling("1min", by="country", value="amount", time_col="time").update(batch)


def test_a_closed_pipeline_is_freed_with_its_aggregate():
    # streamz keeps every sink in a module-level set: without close() taking the store
    # sink out, each pipeline (and its Rolling) stayed alive for ever
    import gc
    import weakref

    source = streamz.Stream()
    refs = []
    for _ in range(5):
        pipe = Pipeline(source, aggregate=rtnb.Rolling("10s", by="key", value="value"))
        source.emit(events(20, seed=1))
        refs.append((weakref.ref(pipe), weakref.ref(pipe.aggregate)))
        pipe.close()
        del pipe
    gc.collect()
    assert [r() for pair in refs for r in pair] == [None] * 10



def test_a_tuple_key_neither_fails_the_snapshot_nor_loses_its_rows():
    """Found by the public-API fuzz test: a key holding a tuple made the table's index a
    MultiIndex attempt, the snapshot failed and the pipeline's counters stayed behind."""
    import streamz

    batch = pd.DataFrame({"ts": [None, pd.Timestamp("2024-01-01 00:00:01"), pd.Timestamp("2024-01-01 00:00:02")],
                          "k": ["a", "a", ("t",)], "v": [0.0, 1.0, 2.0]})
    src = streamz.Stream()
    agg = rtnb.Rolling(window="1h", by="k", value="v", lateness="10min")
    pipe = rtnb.Pipeline(src, aggregate=agg, schema=None, clock=rtnb.SimClock(start="2024-01-01"))
    src.emit(batch)
    assert pipe.counters.conserved and pipe.counters.accepted == 2 and pipe.counters.rejected == 1
    assert pipe.latest().table.loc[[("t",)], "count"].tolist() == [1]


def test_build_pipeline_names_the_argument_that_clashes():
    """Found by a new user: dashboard(src, by='amount') said 'fields=... declared twice'."""
    import streamz

    src = streamz.Stream()
    with pytest.raises(rtnb.ParameterError, match="^by="):
        rtnb.build_pipeline(src, metric="amount", by="amount")
    with pytest.raises(rtnb.ParameterError, match="^metric="):
        rtnb.build_pipeline(src, metric="ts", by="country")
