"""The in-memory store: per metric the latest snapshot and a bounded history.

``put`` is O(1) (a deque append), so the pipeline can put a snapshot after every
batch; ``history`` builds the requested time series on read (views read at frame rate,
and only when ``version`` changed) and caches it until the next put.

>>> import pandas as pd
>>> from rtnb import Counters, Snapshot
>>> def snap(t, fr, de):
...     return Snapshot(metric="orders", window=pd.Timedelta("60s"),
...                     table=pd.DataFrame({"count": [fr, de]}, index=pd.Index(["FR", "DE"], name="country")),
...                     watermark=pd.Timestamp(t), newest_event=pd.Timestamp(t),
...                     processed_at=pd.Timestamp(t), counters=Counters())
>>> store = MemoryStore(history=2)
>>> for i, t in enumerate(["09:00", "09:01", "09:02"]):
...     store.put(snap("2024-01-01 " + t, i, 10 * i))
>>> store.version("orders"), store.metrics()
(3, ['orders'])
>>> store.history("orders", "count")
country               DE   FR
newest_event
2024-01-01 09:01:00 10.0  1.0
2024-01-01 09:02:00 20.0  2.0
>>> store.latest("orders").table.loc["FR", "count"]
np.int64(2)
>>> store.latest("refunds") is None
True
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import check_int
from .._errors import ParameterError, StoreError
from ..health import Snapshot
from ._history import empty_history, pivot_history, unknown_column

__all__ = ["MemoryStore"]


@dataclass
class _Metric:
    latest: Snapshot
    entries: deque  # (newest_event, snapshot), oldest first: a table is built when history reads it
    version: int = 0
    cache: dict = field(default_factory=dict)  # column -> (version, DataFrame)
    recent: deque = field(default_factory=deque)  # (version, Snapshot) of the last puts


class MemoryStore:
    """A store in this process's memory (the default store of a pipeline).

    Parameters
    ----------
    history
        How many snapshots of each metric the history keeps (older ones roll over).

    >>> MemoryStore(history=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: history=0 is invalid: must be an integer >= 1
    """

    def __init__(self, history: int = 1000) -> None:
        self.history_length = check_int("history", history, minimum=1)
        self._metrics: dict[str, _Metric] = {}
        self._closed = False

    # ------------------------------------------------------------------ writing
    def put(self, snapshot: Snapshot) -> None:
        """Record ``snapshot`` as its metric's latest and append it to the history."""
        self._check_open()
        if not isinstance(snapshot, Snapshot):
            raise ParameterError("snapshot", type(snapshot).__name__, "must be an rtnb.Snapshot")
        m = self._metrics.get(snapshot.metric)
        if m is None:
            m = _Metric(latest=snapshot, entries=deque(maxlen=self.history_length),
                        recent=deque(maxlen=self.history_length))
            self._metrics[snapshot.metric] = m
        m.latest = snapshot
        m.version += 1
        m.recent.append((m.version, snapshot))
        t = snapshot.newest_event
        if t is not None and not pd.isna(t):
            if m.entries and m.entries[-1][0] == t:
                m.entries[-1] = (t, snapshot)  # same event time: the newer answer wins
            else:
                m.entries.append((t, snapshot))
            m.cache.clear()

    def rewind(self, metric: str, newest_event: pd.Timestamp | None) -> int:
        """Drop the history entries newer than ``newest_event`` (all for ``None``).

        A pipeline restored from a checkpoint calls it: it writes those entries again
        as it re-reads the events that came after the checkpoint. Returns how many
        entries were dropped; the latest snapshot stays until the next put.
        """
        self._check_open()
        m = self._metrics.get(metric)
        if m is None:
            return 0
        n = 0
        while m.entries and (newest_event is None or m.entries[-1][0] > newest_event):
            m.entries.pop()
            n += 1
        if n:
            m.cache.clear()
        return n

    # ------------------------------------------------------------------ reading
    def latest(self, metric: str) -> Snapshot | None:
        """The last snapshot put for ``metric``, or ``None``."""
        self._check_open()
        m = self._metrics.get(metric)
        return None if m is None else m.latest

    def version(self, metric: str) -> int:
        """How many snapshots were put for ``metric`` (0 if none)."""
        self._check_open()
        m = self._metrics.get(metric)
        return 0 if m is None else m.version

    def snapshots_since(self, metric: str, version: int) -> list[tuple[int, Snapshot]]:
        """(version, snapshot) of every put after ``version`` still held (the last
        ``history`` puts), oldest first: what a server gives a client that resumes from
        ``version`` after it was stopped (:mod:`rtnb.serve`). Not part of the Store
        protocol: a store without it resumes from the latest with a gap."""
        self._check_open()
        m = self._metrics.get(metric)
        return [] if m is None else [(v, snap) for v, snap in list(m.recent) if v > version]  # a copy: put() may append meanwhile

    def metrics(self) -> list[str]:
        """The names of the metrics put so far, sorted."""
        self._check_open()
        return sorted(self._metrics)

    def history(self, metric: str, column: str) -> pd.DataFrame:
        """The time series of ``column``: one row per snapshot, one column per key.

        Keys absent from a snapshot (no event in its window) are NaN in that row.
        """
        self._check_open()
        m = self._metrics.get(metric)
        if m is None or not m.entries:
            return empty_history()
        cached = m.cache.get(column)
        if cached is not None:
            return cached
        frame = _history_frame(list(m.entries), column, m.latest)
        m.cache[column] = frame
        return frame

    def close(self) -> None:
        """Drop everything; later reads and writes raise :class:`rtnb.StoreError`."""
        self._metrics.clear()
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the MemoryStore is closed")

    def __repr__(self) -> str:
        return f"MemoryStore(history={self.history_length}, metrics={sorted(self._metrics)})"


def _history_frame(entries: list, column: str, latest: Snapshot) -> pd.DataFrame:
    """Pivot (time, snapshot) entries into one row per time and one column per key."""
    with_col = [(i, snap.table) for i, (_, snap) in enumerate(entries) if column in snap.columns]
    if not with_col:
        raise unknown_column(latest.metric, column, list(latest.columns))
    times = pd.DatetimeIndex([t for t, _ in entries], name="newest_event").as_unit("ns")
    tables = [tbl for _, tbl in with_col]
    keys = tables[0].index.append([t.index for t in tables[1:]]) if len(tables) > 1 else tables[0].index
    rows = np.repeat([i for i, _ in with_col], [len(tbl) for tbl in tables])
    values = np.concatenate([tbl[column].to_numpy() for tbl in tables])
    return pivot_history(times, rows=rows, keys=keys.set_names(tables[0].index.names), values=values)
