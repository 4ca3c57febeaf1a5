"""Checkpoints: the file format round-trips any state tree and refuses damage; a
restore resumes exactly (same answers as a run that never stopped), refuses another
configuration naming what differs, and shows on the runner's errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rtnb
from rtnb.checkpoint import Checkpointer, read_checkpoint, write_checkpoint

T0 = pd.Timestamp("2024-01-01")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**62, 2**62),
                    st.floats(allow_nan=False), st.text(max_size=8),
                    st.integers(0, 2**60).map(lambda n: pd.Timestamp(n, unit="ns")),
                    st.integers(-2**40, 2**40).map(lambda n: pd.Timedelta(n, unit="ns")))
arrays = hnp.arrays(dtype=st.sampled_from([np.int64, np.float64, np.bool_, np.uint8, "<U3",
                                           "datetime64[ns]"]),
                    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
trees = st.recursive(
    st.one_of(scalars, arrays),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(st.text(st.characters(blacklist_characters="$"),
                                                    max_size=5), inner, max_size=4)),
    max_leaves=12)


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and \
            a.tobytes() == b.tobytes()  # bit for bit (NaN and NaT included)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees)
def test_any_state_tree_round_trips(tmp_path, tree):
    path = tmp_path / "t.ckpt"
    write_checkpoint(path, config={"k": 1}, state={"x": tree})
    assert same(read_checkpoint(path)["state"]["x"], tree)


def test_frames_round_trip_and_objects_are_refused(tmp_path):
    df = pd.DataFrame({"amount": [1.5, None], "reason": ["x", "y"]}, index=pd.Index(["a", "b"], name="k"))
    write_checkpoint(tmp_path / "f.ckpt", config={}, state={"rows": df})
    pd.testing.assert_frame_equal(read_checkpoint(tmp_path / "f.ckpt")["state"]["rows"], df)
    with pytest.raises(rtnb.CheckpointError, match="an array of object"):
        write_checkpoint(tmp_path / "o.ckpt", config={}, state={"x": np.array([{}, 1], dtype=object)})
    with pytest.raises(rtnb.CheckpointError, match="a set"):
        write_checkpoint(tmp_path / "o.ckpt", config={}, state={"x": {1, 2}})
    assert not (tmp_path / "o.ckpt").exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1, exclude_max=True), flip=st.integers(0, 255), damage=st.sampled_from(["cut", "flip"]))
def test_a_truncated_or_altered_file_is_a_clear_error(tmp_path, cut, flip, damage):
    path = tmp_path / "d.ckpt"
    write_checkpoint(path, config={"metric": "m"}, state={"a": np.arange(50), "t": "text"})
    blob = bytearray(path.read_bytes())
    i = int(cut * len(blob))
    if damage == "cut":
        blob = blob[:i]
    else:
        blob[i] ^= flip or 1
    path.write_bytes(bytes(blob))
    with pytest.raises(rtnb.CheckpointError, match="d.ckpt"):
        read_checkpoint(path)


def test_a_missing_or_foreign_file_is_a_clear_error(tmp_path):
    with pytest.raises(rtnb.CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "none.ckpt")
    (tmp_path / "x.ckpt").write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(rtnb.CheckpointError, match="not an rtnb checkpoint"):
        read_checkpoint(tmp_path / "x.ckpt")


def test_a_crash_mid_write_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "c.ckpt"
    write_checkpoint(path, config={}, state={"n": 1})
    (tmp_path / ".c.ckpt.999.tmp").write_bytes(b"half a checkpoint")  # a killed writer's
    assert read_checkpoint(path)["state"] == {"n": 1}
    write_checkpoint(path, config={}, state={"n": 2})
    assert read_checkpoint(path)["state"] == {"n": 2}


# --------------------------------------------------------------------------- restoring

def build(path, *, kind="exact", window="30s", **options):
    src = rtnb.simulate("ecommerce_orders", seed=3, rate=20,
                        faults=rtnb.Faults(late=0.05, duplicates=0.05, malformed=0.03, max_delay="20s"))
    runner = rtnb.Runner(src, clock=rtnb.SimClock(start=T0), tick="1s")
    extra = {"bucketed": {"resolution": "5s"}, "sliding": {"every": "10s"},
             "session": {"gap": "2s"}}.get(kind, {})
    if kind == "session":
        window = None
    pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window=window, kind=kind,
                               lateness="3s", aggs=("count", "sum", "max", "std", "p90"), **extra, **options)
    return runner, pipe, Checkpointer(pipe, path, runner=runner, every="4s")


@pytest.mark.parametrize("kind", ["exact", "bucketed", "tumbling", "sliding", "session"])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stop=st.integers(1, 59))
def test_a_restored_run_ends_where_an_uninterrupted_one_does(tmp_path, stop, kind):
    path = tmp_path / f"{kind}-{stop}.ckpt"
    calm, calm_pipe, _ = build(path.with_suffix(".calm"), kind=kind)
    calm.run("60s")
    first, _, ckpt = build(path, kind=kind)
    ckpt.restore()
    first.run(f"{stop}s")  # then the process dies: what it did after its checkpoint is lost
    runner, pipe, ckpt = build(path, kind=kind)
    assert ckpt.restore()
    runner.run(calm.clock.now() - runner.clock.now())
    a, b = calm_pipe.latest(), pipe.latest()
    assert b.counters == a.counters and b.counters.conserved
    assert (b.watermark, b.version) == (a.watermark, a.version)
    pd.testing.assert_frame_equal(b.table, a.table, check_exact=False, rtol=1e-9)
    assert pipe.dead_letter.counts.equals(calm_pipe.dead_letter.counts)
    if kind in ("tumbling", "sliding", "session"):
        pd.testing.assert_frame_equal(pipe.aggregate.closed_windows(), calm_pipe.aggregate.closed_windows(),
                                      check_exact=False, rtol=1e-9)


def test_a_restore_shows_on_the_runners_errors(tmp_path):
    runner, _, ckpt = build(tmp_path / "r.ckpt")
    assert not ckpt.restore()  # no file yet: the first checkpoint is written
    runner.run("10s")
    ckpt.save()
    runner, pipe, ckpt = build(tmp_path / "r.ckpt")
    assert ckpt.restore()
    [err] = runner.health.errors
    assert err.where == "pipeline" and "restarted from the checkpoint of 00:00:10, Mon 01 Jan (" in err.message
    assert ckpt.restored_counters == pipe.counters and pipe.counters.received > 0


def test_the_restart_message_says_the_time_and_the_rows_in_words_and_keeps_the_full_time_as_data(tmp_path):
    runner, _, ckpt = build(tmp_path / "r.ckpt")
    ckpt.restore()
    runner.run("150s")  # past a thousand rows
    ckpt.save()
    runner, pipe, ckpt = build(tmp_path / "r.ckpt")
    assert ckpt.restore()
    [err] = runner.health.errors
    n = ckpt.restored_counters.received
    assert n >= 1_000
    # "restarted from the checkpoint of 00:02:30, Mon 01 Jan (1,243 rows)": the clock's
    # reading as the dashboards say it, a thousands separator; not "2024-01-01 00:02:30 (1243 rows)".
    assert f"the checkpoint of 00:02:30, Mon 01 Jan ({n:,} rows)" in err.message
    assert "2024-01-01" not in err.message
    assert ckpt.restored_from == pd.Timestamp(T0) + pd.Timedelta("150s")  # the data keeps the full time
    assert f"last_saved_at={ckpt.restored_from}" in repr(ckpt)


@pytest.mark.parametrize("change, named", [
    ({"window": "1min"}, "aggregate.size: 30000000000 in the checkpoint, 60000000000 here"),
    ({"kind": "bucketed"}, "aggregate.kind: 'exact' in the checkpoint, 'bucketed' here"),
    ({"name": "revenue"}, "metric: 'amount' in the checkpoint, 'revenue' here"),
])
def test_a_restore_of_another_configuration_is_refused_naming_what_differs(tmp_path, change, named):
    runner, _, ckpt = build(tmp_path / "m.ckpt")
    runner.run("5s")
    ckpt.save()
    runner, pipe, ckpt = build(tmp_path / "m.ckpt", **change)
    with pytest.raises(rtnb.CheckpointError, match="another configuration") as err:
        ckpt.restore()
    assert named in str(err.value)
    assert pipe.counters.received == 0 and runner.clock.now() == T0  # nothing changed


def test_a_restore_into_a_pipeline_that_already_ran_is_refused(tmp_path):
    runner, _, ckpt = build(tmp_path / "f.ckpt")
    runner.run("5s")
    ckpt.save()
    with pytest.raises(rtnb.CheckpointError, match="fresh pipeline"):
        ckpt.restore()


def test_a_damaged_checkpoint_is_refused_and_the_pipeline_untouched(tmp_path):
    runner, _, ckpt = build(tmp_path / "d.ckpt")
    runner.run("5s")
    ckpt.save()
    path = tmp_path / "d.ckpt"
    path.write_bytes(path.read_bytes()[:100])
    runner, pipe, ckpt = build(path)
    with pytest.raises(rtnb.CheckpointError, match="damaged"):
        ckpt.restore()
    assert pipe.counters.received == 0


def test_a_failing_scheduled_write_is_reported_and_the_run_goes_on(tmp_path):
    runner, pipe, ckpt = build(tmp_path / "missing-dir" / "x.ckpt")
    runner.run("10s")
    assert ckpt.saved == 0 and ckpt.failures >= 1 and "cannot write checkpoint" in ckpt.last_error
    assert any("checkpoint" in e.name for e in runner.health.errors)
    assert pipe.counters.received > 0


def test_pipeline_checkpoint_and_restore_on_demand(tmp_path):
    runner, pipe, _ = build(tmp_path / "unused.ckpt")
    runner.run("8s")
    assert pipe.checkpoint(tmp_path / "p.ckpt", runner=runner) > 0
    again, pipe2, _ = build(tmp_path / "unused.ckpt")
    pipe2.restore(tmp_path / "p.ckpt", runner=again)
    assert pipe2.counters == pipe.counters and again.clock.now() == runner.clock.now()
    pd.testing.assert_frame_equal(pipe2.aggregate.value, pipe.aggregate.value)
    with pytest.raises(rtnb.CheckpointError, match="does not exist"):
        build(tmp_path / "u")[1].restore(tmp_path / "none.ckpt")


def test_a_restored_pipeline_still_refuses_aware_times_after_naive_ones(tmp_path):
    """The naive/aware check state is part of the checkpoint: before, a restored pipeline
    took a tz-aware batch after naive ones (read 1-2 h off) that the original refused."""
    runner, pipe, _ = build(tmp_path / "unused.ckpt")
    runner.run("5s")
    pipe.checkpoint(tmp_path / "p.ckpt", runner=runner)
    again, pipe2, _ = build(tmp_path / "unused.ckpt")
    pipe2.restore(tmp_path / "p.ckpt", runner=again)
    aware = pd.DataFrame({"ts": [again.clock.now().tz_localize("Europe/Paris")], "order_id": [10**9],
                          "country": ["FR"], "amount": [1.0]})
    before = pipe2.counters.rejected
    again.stream.emit(aware)
    assert pipe2.counters.rejected == before + 1
    assert "naive" in pipe2.dead_letter.last_reasons(1)[0]


def test_a_fresh_start_over_earlier_data_says_the_window_is_partial(tmp_path):
    store = rtnb.MemoryStore()
    runner, _, ckpt = build(tmp_path / "a.ckpt", store=store)
    runner.run("5s")
    runner, _, ckpt = build(tmp_path / "b.ckpt", store=store)  # another file: no checkpoint
    assert not ckpt.restore()
    [err] = runner.health.errors
    assert "started without a checkpoint" in err.message
