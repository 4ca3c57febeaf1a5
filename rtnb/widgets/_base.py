"""What every live view shares: polling a store by version at frame time, the frame
pacer (the runner's :class:`~rtnb.runner.FramePacer`, also as ``FrameGate``), and turning pandas data into the numpy arrays bqplot sends in binary form.

A view never receives events. The runner calls ``view.refresh(now)`` once per frame
(at most ``fps`` times per wall second); the view asks the store for the metric's
version and, only when it changed, reads the latest snapshot (and its bounded history)
and applies every trait change of that frame inside one ``hold_sync()``. The cost per
frame is therefore views × points, whatever the event rate.
"""

from __future__ import annotations

from collections.abc import KeysView, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .._errors import ParameterError
from ..health import Snapshot
from ..runner import FramePacer

__all__ = ["SnapshotStore", "FrameGate", "StoreView", "TimeRing", "time_array", "float_array"]


@runtime_checkable
class SnapshotStore(Protocol):
    """The part of the store contract a view reads (``rtnb.MemoryStore`` follows it)."""

    def latest(self, metric: str) -> Snapshot | None: ...

    def history(self, metric: str, column: str) -> pd.DataFrame: ...

    def version(self, metric: str) -> int: ...


# The one frame pacer is the runner's; a view driven without a runner (a user's loop,
# a test) gates its frames with the same class under its old name.
FrameGate = FramePacer


def time_array(values: Any) -> np.ndarray:
    """Times as a ``datetime64[ns]`` numpy array (bqplot sends it as binary float64 ms).

    >>> time_array(pd.DatetimeIndex(["2024-01-01 09:00"])).dtype
    dtype('<M8[ns]')
    """
    return np.asarray(pd.DatetimeIndex(values).as_unit("ns").values, dtype="datetime64[ns]")


def float_array(values: Any) -> np.ndarray:
    """Numbers as a contiguous float64 array, missing values as NaN (binary in bqplot).

    >>> float_array(pd.Series([1, None, 3], dtype="Int64"))
    array([ 1., nan,  3.])
    """
    if isinstance(values, (pd.Series, pd.DataFrame)):
        values = values.astype("float64").to_numpy(na_value=np.nan)
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64))


def plot_array(values: Any) -> np.ndarray:
    """Values to draw, as float32 when that keeps them (half the bytes of float64).

    A chart needs about four significant digits; float32 keeps seven. Values beyond
    float32's range stay float64.

    >>> plot_array([1.5, None]).dtype, plot_array([1e300]).dtype
    (dtype('float32'), dtype('float64'))
    """
    a = float_array(values)
    finite = a[np.isfinite(a)]
    if finite.size and np.abs(finite).max() > 1e37:
        return a
    return np.ascontiguousarray(a.astype(np.float32))


def key_labels(index: pd.Index | None, keys: Sequence[Any], metric: str) -> list[str]:
    """Legend and axis labels: the keys, or the metric's name for a table without keys
    (``index``: the table's index, or ``None`` when it has several rows).

    >>> key_labels(pd.RangeIndex(1), [0], "amount"), key_labels(pd.Index(["FR"]), ["FR"], "amount")
    (['amount'], ['FR'])
    """
    if isinstance(index, pd.RangeIndex) and index.name is None and len(index) == 1:
        return [metric for _ in keys]
    return [str(k) for k in keys]


def check_name(param: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ParameterError(param, value, "must be a non-empty string")
    return value


def check_count(param: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(param, value, f"must be an integer >= {minimum}")
    return int(value)


def check_store(value: Any) -> SnapshotStore:
    if not isinstance(value, SnapshotStore):
        raise ParameterError(
            "store", value, "must be a store with latest(), history() and version() (e.g. rtnb.MemoryStore())"
        )
    return value


class StoreView:
    """Mixin of the views: ``refresh(now)`` polls the store and applies changes once.

    Subclasses implement ``_apply(snapshot, now)``, which makes all the trait changes of
    one frame inside a ``hold_sync()``; views that change with time alone (the
    freshness badge) also override ``_tick(now)``.
    """

    store: SnapshotStore
    metric: str

    def _init_view(self, store: Any, metric: Any) -> None:
        self.store = check_store(store)
        self.metric = check_name("metric", metric)
        self._seen_version: int | None = None
        self.frames_applied = 0

    def refresh(self, now: pd.Timestamp | None = None) -> bool:
        """Apply the metric's newest snapshot if the store has a new one; True if it did."""
        version = self.store.version(self.metric)
        changed = version != self._seen_version
        if changed:
            snap = self.store.latest(self.metric)
            self._seen_version = version
            if snap is not None:
                self._apply(snap, now)
                self.frames_applied += 1
            else:
                changed = False
        self._tick(now)
        return changed

    def _apply(self, snapshot: Snapshot, now: pd.Timestamp | None) -> None:
        raise NotImplementedError

    def _tick(self, now: pd.Timestamp | None) -> None:
        """Called every frame, new data or not; most views have nothing to do."""


class TimeRing:
    """A bounded time series per key: the newest ``capacity`` points, oldest dropped.

    A view appends the newest snapshot's values once per frame (O(keys)), instead of
    re-reading the store's whole history every frame (O(history × keys)); the store's
    history fills it once, when the view first sees the metric. An append at the same
    time as the last point replaces it, as the store does.

    >>> ring = TimeRing(capacity=3)
    >>> for i in range(5):
    ...     ring.append(pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=i), {"FR": float(i), "DE": 1.0})
    >>> x, y = ring.arrays(["FR", "IT"])
    >>> len(x), y
    (3, array([[ 2.,  3.,  4.],
           [nan, nan, nan]]))
    >>> ring.last_before(pd.Timestamp("2024-01-01 00:00:03"), "FR")
    3.0
    >>> sorted(ring.keys())
    ['DE', 'FR']
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = check_count("capacity", capacity)
        self._t = np.zeros(self.capacity, dtype="datetime64[ns]")
        self._cols: dict[Any, np.ndarray] = {}
        self._n = 0  # points ever appended

    def __len__(self) -> int:
        return min(self._n, self.capacity)

    def keys(self) -> KeysView[Any]:
        """The keys the ring records (a read-only live view): every key seen in the
        points kept; a key with no value left in them is forgotten once per lap."""
        return self._cols.keys()

    @property
    def last_time(self) -> pd.Timestamp | None:
        """The time of the newest point, or None when empty."""
        return pd.Timestamp(self._t[(self._n - 1) % self.capacity]) if self._n else None

    @property
    def first_seq(self) -> int:
        """The sequence number of the oldest point kept (points are numbered 0, 1, ...
        in the order they were appended; a point keeps its number as newer ones come)."""
        return self._n - len(self)

    @property
    def first_time(self) -> pd.Timestamp | None:
        """The time of the oldest point kept, or None when empty."""
        return pd.Timestamp(self._t[(self._n - len(self)) % self.capacity]) if self._n else None

    def append(self, t: pd.Timestamp, values: dict[Any, float]) -> None:
        """Add a point: ``values`` maps key -> value (keys absent are NaN)."""
        t64 = np.datetime64(pd.Timestamp(t).as_unit("ns").asm8, "ns")
        if self._n and self._t[(self._n - 1) % self.capacity] == t64:
            self._n -= 1  # same time as the newest point: the newer answer wins
        i = self._n % self.capacity
        self._t[i] = t64
        for key, col in self._cols.items():
            col[i] = values.get(key, np.nan)
        for key, v in values.items():
            if key not in self._cols:
                col = np.full(self.capacity, np.nan)
                col[i] = v
                self._cols[key] = col
        self._n += 1
        if i == 0 and self._n > self.capacity:  # once per lap: forget keys no longer seen
            for key in [k for k, c in self._cols.items() if np.isnan(c).all()]:
                del self._cols[key]

    def fill(self, history: pd.DataFrame) -> None:
        """Append the rows of a store history (index time, one column per key)."""
        tail = history.iloc[-self.capacity :]
        for t, row in zip(tail.index, tail.to_numpy(dtype=np.float64, na_value=np.nan)):
            self.append(t, {k: v for k, v in zip(tail.columns, row) if not np.isnan(v)})

    def _order(self) -> np.ndarray:
        n = len(self)
        return np.arange(self._n - n, self._n) % self.capacity

    def arrays(self, keys: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Times (``datetime64[ns]``) and a (keys × points) float64 array, oldest first."""
        order = self._order()
        nan = np.full(len(order), np.nan)
        y = np.array([self._cols[k][order] if k in self._cols else nan for k in keys], dtype=np.float64)
        return self._t[order].copy(), y.reshape(len(keys), len(order))

    def last_before(self, t: pd.Timestamp, key: Any) -> float | None:
        """The newest non-NaN value of ``key`` at a time <= ``t``; None if there is none."""
        if key not in self._cols:
            return None
        order = self._order()
        times, vals = self._t[order], self._cols[key][order]
        ok = (times <= np.datetime64(pd.Timestamp(t).as_unit("ns").asm8, "ns")) & ~np.isnan(vals)
        idx = np.flatnonzero(ok)
        return float(vals[idx[-1]]) if len(idx) else None
