"""What runs on a Dask worker: one partition's window engine, as a Dask actor.

A :class:`PartitionWorker` holds a :class:`rtnb.Rolling` for the keys that hash to its
partition. The driver has already classified every row (late, duplicate) against the
*global* watermark and sends only accepted rows, with that watermark, so each
partition's window ends where the single-process window would end even when its own
keys went quiet.

Calls may reach an actor out of order (each call is its own message); every call
carries a sequence number and the worker applies batches strictly in that order,
holding an early arrival until the gap before it is filled.

>>> import pandas as pd
>>> w = PartitionWorker({"window": "10s", "by": "k", "value": "v", "aggs": ("count",)})
>>> ts = pd.to_datetime(["2024-01-01 00:00:01", "2024-01-01 00:00:02"]).as_unit("ns")
>>> frame = pd.DataFrame({"ts": ts, "k": ["a", "b"], "v": [1.0, 2.0]})
>>> w.ingest(1, frame.iloc[1:], ts[1].value)   # arrives first, waits for batch 0
-1
>>> w.ingest(0, frame.iloc[:1], ts[0].value)   # fills the gap: both applied
1
>>> w.table()[1]["count"].to_dict()
{'a': 1, 'b': 1}
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..pipeline.rolling import Rolling
from ._partial import Delta, Part, Replier

__all__ = ["PartitionWorker"]


class PartitionWorker:
    """One partition's engine (see the module docstring)."""

    def __init__(self, options: dict[str, Any], state: dict | None = None) -> None:
        self.options = dict(options)
        self.rolling = Rolling(**self.options)
        if state is not None:
            # The driver owns the time zone (it sends naive UTC ns): a partition state
            # written when workers read aware times would refuse every batch.
            state = dict(state, meta=dict(state["meta"], zone=False))
            self.rolling = Rolling.from_state(state)
        self.applied = -1 if state is None else int(state.get("cluster_seq", -1))
        self._early: dict[int, tuple[pd.DataFrame, int]] = {}
        self._replier = Replier()

    def ingest(self, seq: int, frame: pd.DataFrame, watermark: int) -> int:
        """Apply batch ``seq`` (accepted rows and the global watermark, ns) in order.

        Returns the last sequence number applied (``-1`` before any).
        """
        if seq <= self.applied:  # a replay after recovery: already in the state
            return self.applied
        self._early[seq] = (frame, watermark)
        while self.applied + 1 in self._early:
            rows, wm = self._early.pop(self.applied + 1)
            if len(rows):
                self.rolling.update(rows if isinstance(rows, pd.DataFrame) else rows.frame(self.rolling.config))
            self.rolling.advance(wm)
            self.applied += 1
        return self.applied

    def apply(self, items: list[tuple[int, pd.DataFrame, int]], want: Any = None) -> tuple[int, Any]:
        """Apply several batches (``(seq, rows, watermark)``) in one call.

        Returns the last sequence number applied and, if asked, what follows them:
        ``want=("table", have)`` the partition's table as a :class:`~._partial.Part`, or
        as a :class:`~._partial.Delta` against reply ``have`` when that is the last one
        this worker sent (:mod:`rtnb.cluster._partial`); ``want="state"`` its exported state.
        """
        for seq, rows, wm in items:
            self.ingest(seq, rows, wm)
        if isinstance(want, tuple) and want[0] == "table":
            return self.applied, self.reply(int(want[1]))
        if want == "state":
            return self.applied, self.export()
        return self.applied, None

    def reply(self, have: int = -1) -> Part | Delta:
        """The partition's table for the driver, whole or as a delta against reply ``have``."""
        return self._replier.reply(self.rolling, self.applied, have)

    def table(self) -> tuple[int, pd.DataFrame]:
        """The last sequence number applied and the partition's current table."""
        return self.applied, self.rolling.value

    def closed_windows(self) -> pd.DataFrame:
        return self.rolling.closed_windows()

    def export(self) -> dict:
        """The partition's whole state (pickle-free), for recovery elsewhere."""
        state = self.rolling.export_state()
        state["cluster_seq"] = self.applied
        return state

    def memory_rows(self) -> int:
        return len(self.rolling.value)
