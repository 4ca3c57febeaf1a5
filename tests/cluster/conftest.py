"""The cluster tests' real LocalCluster (2 worker processes on loopback), one per module."""

from __future__ import annotations

import pytest

from tests.conftest import require

try:
    import distributed
except ImportError:  # the 'dask' extra is missing: skipped here, a failure under CI=true
    distributed = None


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
    yield c
    from rtnb.cluster._connect import close_quietly

    close_quietly(c, cluster)
