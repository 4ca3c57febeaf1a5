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
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    host="127.0.0.1", dashboard_address=None)


@pytest.fixture(scope="module")
def client():
    cluster = _local_cluster()
    c = distributed.Client(cluster)
    yield c
    from rtnb.cluster._connect import close_quietly

    close_quietly(c, cluster)
