"""A :class:`~rtnb.cluster.DaskRolling` as plain data: what a checkpoint holds of it.

The state is the driver's part — the global watermark, its counters and
de-duplication ids, the batch sequence number — and every partition's exported
:class:`rtnb.Rolling` state, all taken after the same batch (a consistent cut). It is
plain data (numbers, strings, numpy arrays), so :class:`rtnb.checkpoint.Checkpointer`
writes it like a Rolling's: a pipeline computed on a cluster is checkpointed and
restored with the same calls, and the event log's entries after the checkpoint are
read again after a restart.

Taking the state also makes it every partition's recovery point: a worker lost
later is replaced from the state the last checkpoint wrote plus the batches the
driver sent since (it keeps them until the next one), not from the beginning.

Restoring needs a fresh ``DaskRolling`` of the same configuration and the same number
of partitions (a key's partition is its hash modulo that number).
"""

from __future__ import annotations

from typing import Any

from .._errors import ParameterError
from ..pipeline.config import RollingConfig
from ..pipeline.watermark import Watermark

__all__ = ["FORMAT", "VERSION", "export_state", "load_state"]

FORMAT = "rtnb.dask_rolling"
VERSION = 1


def export_state(dr: Any) -> dict:
    """``dr``'s whole state after every batch so far (see the module docstring)."""
    parts = dr._gather("state")
    for part, state in zip(dr._parts, parts):
        part.state, part.since = state, []  # the new recovery point
    meta, arrays = dr._wm.export_state()
    meta.update(seq=int(dr._seq), snapshots=int(dr._version), zone=dr._zone)  # the driver owns the zone
    return {"format": FORMAT, "version": VERSION, "config": dr.config.plain(),
            "partitions": dr.n, "meta": meta, "arrays": arrays, "parts": parts}


def load_state(dr: Any, state: dict) -> None:
    """Check ``state`` against the fresh ``dr``, then load it (driver and partitions)."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ParameterError("state", type(state).__name__, "is not a state from DaskRolling.export_state()")
    if state.get("version") != VERSION:
        raise ParameterError("state", state.get("version"), f"this rtnb reads DaskRolling state version {VERSION}")
    if dr.counters.received:
        raise ParameterError("state", "DaskRolling.load_state", "loads into a fresh aggregator only "
                             f"(this one has received {dr.counters.received} rows)")
    theirs = RollingConfig(**dict(state["config"]))
    if not theirs.same_as(dr.config):
        raise ParameterError("state", theirs, f"was exported by a DaskRolling configured differently from {dr.config}")
    parts, meta = list(state["parts"]), state["meta"]
    if int(state["partitions"]) != dr.n or len(parts) != dr.n:
        raise ParameterError("partitions", dr.n, f"the state holds {int(state['partitions'])} partitions "
                             "(a key's partition depends on their number): build it with that many")
    seq = int(meta["seq"])
    behind = [i for i, p in enumerate(parts) if int(p.get("cluster_seq", -2)) != seq]
    if behind:
        raise ParameterError("state", f"partitions {behind}", f"were not exported after batch {seq} like the driver")
    dr._wm = Watermark.load_state(meta, state["arrays"], dedup=dr.config.id_col is not None)
    dr._seq = seq
    dr._version = int(meta["snapshots"])
    dr._zone = meta["zone"] if "zone" in meta else _zone_of_parts(parts)
    dr._replace_all(parts)


def _zone_of_parts(parts: list[dict]) -> str | None | bool:
    """The driver's zone from a state written before the driver kept one: the zone
    the partitions saw (their workers then read the batches' own times), aware first."""
    zones = [p.get("meta", {}).get("zone", False) for p in parts]
    aware = [z for z in zones if z is not None and z is not False]
    if aware:
        return aware[0]
    return None if any(z is None for z in zones) else False
