"""Scale-out: the same rolling aggregates with events partitioned across Dask workers.

Keys are hashed into partitions; each partition's window engine lives on a
dask.distributed worker (as an actor) and the driver concatenates their tables into
one snapshot, equal to the single-process answer on the same events (property-tested
on a real ``LocalCluster``). Use :class:`DaskRolling` wherever a :class:`rtnb.Rolling`
goes — ``rtnb.Pipeline(batches, aggregate=DaskRolling(...))`` or
``build_pipeline(source, ..., cluster=client)``.

A pipeline on a cluster is checkpointed like any other (``DaskRolling.export_state``
is what :class:`rtnb.checkpoint.Checkpointer` saves: the driver's watermark and every
partition's state after the same batch); a killed worker is reported and its
partitions rebuilt from that checkpoint plus the batches since (``tests/cluster``).

Why actors and not streamz's ``scatter``/``gather``: the state of a window must stay
on one worker between batches; streamz's Dask nodes ship each item to any worker and
back (15-45 ms per item measured here), while an actor call is one message to the
worker that already holds the state (``benchmarks/bench_cluster.py``).

Needs the ``dask`` extra (``pip install 'rtnb[dask]'``).
"""

from __future__ import annotations

from ._connect import QUIET, close_quietly, local_cluster
from ._driver import DaskRolling, WorkerLost
from ._partition import partition_of

__all__ = ["QUIET", "DaskRolling", "WorkerLost", "close_quietly", "local_cluster", "partition_of"]
