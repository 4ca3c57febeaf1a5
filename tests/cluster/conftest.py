"""The cluster tests' real LocalCluster (2 worker processes on loopback), one per module."""

from __future__ import annotations

import pytest

from tests.conftest import require

try:
    import distributed
except ImportError:  # the 'dask' extra is missing: skipped here, a failure under CI=true
    distributed = None

#: The ``timeout`` (s) of these tests' DaskRollings: how long an actor may take to start
#: or answer. DaskRolling's default (30 s) is a bound for a cluster of its own; these
#: tests run under ``nice -n 19`` on a shared 2-core machine, where the kernel's
#: scheduler gives a niced process about 1/70 of a core beside normal-priority work, so
#: a second of CPU can take over a minute. Generous, and still under pytest's 600 s: a
#: worker that is gone is found within a second of waiting for a reply anyway (the
#: driver asks the scheduler between one-second waits); only an actor starting, or one
#: that is there and slow, can wait this long.
PATIENT = 120.0


def warm(client) -> None:
    """Every worker imports rtnb now, with no deadline: a fresh worker does it on its first
    task (measured: 2.3 of the 2.6 s of CPU both workers spend on a first DaskRolling's
    actors, 10.7 s wall at load 3), which otherwise counts against that DaskRolling's
    ``timeout`` (a fresh-actors test failed with no actor within 30 s on a loaded machine)."""
    client.run(exec, "import rtnb.cluster._worker")


def _local_cluster():
    require(distributed is not None, "dask.distributed", "install the extra: pip install 'rtnb[dask]'")
    from rtnb.cluster import local_cluster

    # rtnb's quiet settings (the in-process scheduler's ticks: ~15 ms CPU a second instead of ~65
    # on a loaded CI machine) and its dashboard on a free port (8787 may be another cluster's)
    return local_cluster(2)


@pytest.fixture(scope="module")
def client():
    cluster = _local_cluster()
    c = distributed.Client(cluster)
    warm(c)
    yield c
    from rtnb.cluster._connect import close_quietly

    close_quietly(c, cluster)
