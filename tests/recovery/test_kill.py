"""Kill -9 a worker (event log → pipeline → Redis store) at 20 seeded random moments,
restart it from its checkpoint each time, and compare with an uninterrupted run.

The workers are forked from the test process (so each start costs no import), each
a real process killed with SIGKILL wherever it is: reading the log, in the pipeline,
writing the store, or in the middle of writing a checkpoint. The interrupted run's
final snapshot and history must equal the uninterrupted run's, its counters must be
exact (every row of the log received once: nothing lost, nothing counted twice), and
nothing may stay pending in its consumer group.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal

import pandas as pd
import pytest
import redis

import rtnb
from tests.recovery import _worker

_fork = multiprocessing.get_context("fork")


def _run(url, prefix, path, kind, kill_at=None):
    """One worker life; killed with SIGKILL once it reported ``kill_at`` (if given)."""
    parent, child = _fork.Pipe(duplex=False)
    proc = _fork.Process(target=_worker.work, args=(url, prefix, path, kind, child))
    proc.start()
    child.close()
    killed = False
    try:
        while True:
            try:
                second = parent.recv()
            except EOFError:  # it exited (or died) without saying it finished
                break
            if second == -1:
                break
            if kill_at is not None and second >= kill_at:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
    finally:
        proc.join()
        parent.close()
    if not killed:
        assert proc.exitcode == 0, f"worker failed (exit code {proc.exitcode})"
    return killed


@pytest.mark.parametrize("kind", ["exact", "bucketed", "session"])
def test_kill_minus_nine_twenty_times_loses_and_doubles_nothing(redis_server, tmp_path, kind):
    url = redis_server.url
    rows = _worker.fill_log(url)
    _run(url, "calm", str(tmp_path / "calm.ckpt"), kind)

    rng = random.Random(20240101 + len(kind))
    moments = sorted(rng.randint(1, _worker.SECONDS // 2) for _ in range(10))
    path = str(tmp_path / "killed.ckpt")
    kills = 0
    for m in moments * 2:  # 20 kills: each moment twice, the second life resumes past it
        kills += _run(url, "killed", path, kind, kill_at=m)
    _run(url, "killed", path, kind)
    assert kills == 20

    calm = rtnb.RedisStore(url, prefix="calm")
    hurt = rtnb.RedisStore(url, prefix="killed")
    a, b = calm.latest(_worker.METRIC), hurt.latest(_worker.METRIC)
    assert a.counters.received == rows  # every row of the log, once
    assert b.counters == a.counters  # exact: nothing lost, nothing counted twice
    assert b.counters.conserved
    assert (b.watermark, b.newest_event, b.processed_at, b.version) == \
        (a.watermark, a.newest_event, a.processed_at, a.version)
    pd.testing.assert_frame_equal(b.table, a.table, check_exact=False, rtol=1e-12)
    for column in ("count", "sum"):
        ha, hb = calm.history(_worker.METRIC, column), hurt.history(_worker.METRIC, column)
        pd.testing.assert_frame_equal(hb, ha, check_exact=(column == "count"), rtol=1e-12)
    assert len(ha) >= _worker.SECONDS // 2 - 2
    client = redis.Redis.from_url(url)
    assert client.xpending(_worker.STREAM, "killed")["pending"] == 0
