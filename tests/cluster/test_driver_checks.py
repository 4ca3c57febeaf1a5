"""The driver's own checks, on a real LocalCluster: what it refuses changes nothing.

The workers get decoded rows (naive UTC nanoseconds), so the time-zone check and the
key hashing happen on the driver, before the global watermark counts a row.
"""

from __future__ import annotations

import multiprocessing

import numpy as np
import pandas as pd
import pytest

import rtnb
from rtnb.cluster import DaskRolling
from rtnb.cluster._connect import close_quietly
from rtnb.cluster._partition import split_rows
from rtnb.cluster._worker import PartitionWorker
from rtnb.pipeline._input import read_batch
from rtnb.pipeline.rolling import RollingConfig

OPTS = dict(window="1h", by="k", value="v", aggs=("count", "sum"))
AWARE = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 10:00"]).tz_localize("Europe/Paris"),
                      "k": ["a"], "v": [1.0]})
NAIVE = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 10:00:01"]), "k": ["b"], "v": [2.0]})


def test_naive_times_after_aware_ones_are_refused_naming_the_zone_and_nothing_is_admitted(client):
    with DaskRolling(client=client, partitions=2, **OPTS) as dr:
        dr.update(AWARE)
        before = dr.counters
        with pytest.raises(rtnb.ParameterError, match=r"^batch='ts' .*naive.*Europe/Paris"):
            dr.update(NAIVE)
        assert dr.counters == before
        assert dr.value["count"].to_dict() == {"a": 1}
        dr.update(AWARE.assign(ts=AWARE.ts + pd.Timedelta("1s")))  # aware batches go on
        assert dr.value["count"].to_dict() == {"a": 2}
    with DaskRolling(client=client, **OPTS) as dr:  # and the other way round
        dr.update(NAIVE)
        with pytest.raises(rtnb.ParameterError, match="Europe/Paris but earlier batches' were naive"):
            dr.update(AWARE)
        assert dr.counters.received == 1


def test_the_zone_survives_a_checkpoint(client):
    with DaskRolling(client=client, partitions=2, **OPTS) as dr:
        dr.update(AWARE)
        state = dr.export_state()
    assert state["version"] == 1 and state["meta"]["zone"] == "Europe/Paris"
    with DaskRolling(client=client, partitions=2, **OPTS) as back:
        back.load_state(state)
        with pytest.raises(rtnb.ParameterError, match="Europe/Paris"):
            back.update(NAIVE)


def _old_partition_state() -> dict:
    """A partition state as workers wrote it before the driver sent decoded rows: the
    worker read the aware times itself, so its Rolling kept their zone."""
    w = PartitionWorker(OPTS)
    w.apply([(0, AWARE, AWARE.ts.iloc[0].value)])
    state = w.export()
    assert state["meta"]["zone"] == "Europe/Paris"
    return state


def test_a_partition_state_from_aware_times_takes_the_drivers_naive_rows():
    w = PartitionWorker(OPTS, _old_partition_state())
    later = AWARE.assign(ts=AWARE.ts + pd.Timedelta("5s"), v=[2.0])
    ts, vals, keycols, _ = read_batch(later, RollingConfig(**OPTS))
    rows = split_rows(ts, vals, keycols, np.zeros(1, dtype=np.int64), 1)[0]
    w.apply([(1, rows, int(ts.max()))])
    assert w.table()[1]["sum"].to_dict() == {"a": 3.0}


def test_an_old_cluster_state_gives_the_driver_its_partitions_zone(client):
    with DaskRolling(client=client, partitions=1, **OPTS) as dr:
        dr.update(AWARE)
        state = dr.export_state()
    del state["meta"]["zone"]  # written before the driver kept it
    state["parts"] = [dict(_old_partition_state(), cluster_seq=state["meta"]["seq"])]
    with DaskRolling(client=client, partitions=1, **OPTS) as back:
        back.load_state(state)
        with pytest.raises(rtnb.ParameterError, match="Europe/Paris"):
            back.update(NAIVE)
        back.update(AWARE.assign(ts=AWARE.ts + pd.Timedelta("1s")))
        assert back.value["count"].to_dict() == {"a": 2}


def test_unhashable_key_values_are_a_parameter_error_and_nothing_is_admitted(client):
    with DaskRolling(client=client, partitions=2, **OPTS) as dr:
        dr.update(NAIVE)
        before = dr.counters
        bad = NAIVE.assign(k=[["x", "y"]], ts=NAIVE.ts + pd.Timedelta("1s"))
        with pytest.raises(rtnb.ParameterError, match=r"^by='k' .*hashable.*list"):
            dr.update(bad)
        assert dr.counters == before
        assert dr.value["count"].to_dict() == {"b": 1}


def test_a_bad_partitions_value_starts_no_cluster():
    children = {p.pid for p in multiprocessing.active_children()}
    with pytest.raises(rtnb.ParameterError, match="^partitions=0"):
        DaskRolling(workers=1, partitions=0, **OPTS)
    assert {p.pid for p in multiprocessing.active_children()} <= children


class _Closing:
    def __init__(self, fail: bool) -> None:
        self.fail, self.closed = fail, False

    def close(self) -> None:
        self.closed = True
        if self.fail:
            raise OSError("client close failed")


def test_the_cluster_is_closed_even_when_the_clients_close_raises():
    client, cluster = _Closing(fail=True), _Closing(fail=False)
    with pytest.raises(OSError):
        close_quietly(client, cluster)
    assert client.closed and cluster.closed
