"""The driver's answer: the partitions' tables put together only as far as it is read.

Keys never span partitions, so the whole table is the partitions' tables one after
the other, sorted by key — what :attr:`rtnb.cluster.DaskRolling.value` returns. A
snapshot does not build it: :class:`Merged` is the snapshot's ``key_table`` (as a
:class:`rtnb.Rolling` snapshot's is), over the partitions' tables as column arrays
(:class:`rtnb.cluster._partial.Part`), so ``snap.table`` concatenates and sorts on its
first read, while ``snap.top(n, by)``, ``snap.key(label)`` and ``snap.n_keys`` — what
the views read each frame — look at one numpy column of each partition and build only
the rows they return. The rows are those the sorted table gives
(``table.nlargest(n, by)``, ties in key order; ``table.loc[label]``).

>>> import pandas as pd
>>> from rtnb.cluster._partial import Part
>>> a = pd.DataFrame({"sum": [5.0, 1.0]}, index=pd.Index(["DE", "IT"], name="k"))
>>> b = pd.DataFrame({"sum": [5.0, 7.0]}, index=pd.Index(["AT", "FR"], name="k"))
>>> m = Merged([Part.of_frame(a), Part.of_frame(b)], a.iloc[:0])
>>> m.top(2, "sum")
    sum
k
FR  7.0
AT  5.0
>>> m.key("IT").tolist(), len(m), m.frame().index.tolist()
([1.0], 4, ['AT', 'DE', 'FR', 'IT'])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import UnknownNameError
from .._keytable import frame_of, top_positions
from ._partial import Part, any_missing, index_of

__all__ = ["Merged"]


class Merged:
    """The partitions' tables as a snapshot's ``key_table`` (see the module docstring)."""

    __slots__ = ("parts", "empty", "columns", "_frame")

    def __init__(self, parts: list[Part], empty: pd.DataFrame) -> None:
        self.parts = [p for p in parts if len(p)]
        self.empty = empty
        self.columns = self.parts[0].columns if self.parts else empty.columns
        self._frame: pd.DataFrame | None = None

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def frame(self) -> pd.DataFrame:
        """The whole table, sorted by key (built on the first call, then the same object)."""
        if self._frame is None:
            self._frame = self._rows([np.arange(len(p)) for p in self.parts]) if self.parts else self.empty.copy()
        return self._frame

    def _gather(self, at: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The labels and columns at positions ``at`` of each part, concatenated (fresh arrays)."""
        labels = np.concatenate([p.labels[a] for p, a in zip(self.parts, at)])
        arrays = [np.concatenate([p.arrays[j][a] for p, a in zip(self.parts, at)]) for j in range(len(self.columns))]
        return labels, arrays

    def _rows(self, at: list[np.ndarray]) -> pd.DataFrame:
        """The rows at positions ``at`` of each part, as one frame sorted by key."""
        labels, arrays = self._gather(at)
        return frame_of(arrays, index_of(labels, self.parts[0].names), self.columns).sort_index(kind="stable")

    def _position(self, by: str | None) -> int:
        if by is None:
            if not len(self.columns):
                raise UnknownNameError("by", by, [])
            return 0
        try:
            return int(self.columns.get_loc(by))
        except (KeyError, TypeError, pd.errors.InvalidIndexError):
            raise UnknownNameError("by", by, [str(c) for c in self.columns]) from None

    def top(self, n: int, by: str | None = None, ascending: bool = False) -> pd.DataFrame:
        """The ``n`` rows with the largest ``by`` (smallest if ``ascending``), NaN left
        out, ties in key order: ``frame().nlargest(n, by)`` without building the frame."""
        j = self._position(by)
        if self._frame is not None or not self.parts or n <= 0:
            return _pick(self.frame(), n, self.columns[j], ascending)
        values = [_numeric(p.arrays[j]) for p in self.parts]
        every = np.concatenate(values)
        every = every[~np.isnan(every)]
        if every.size <= n:
            at = [np.arange(v.size) for v in values]
        else:  # the n-th best value: every row at least as good is a candidate (ties included)
            cut = (np.partition(every, n - 1)[n - 1] if ascending
                   else np.partition(every, every.size - n)[every.size - n])
            at = [np.flatnonzero(v <= cut if ascending else v >= cut) for v in values]
        labels, arrays = self._gather(at)
        if any_missing(labels):  # NaN compares False with everything: pandas sorts
            return _pick(self._rows(at), n, self.columns[j], ascending)
        try:  # the candidates in key order (a few labels), as the sorted table has them
            order = np.argsort(labels, kind="stable")
        except TypeError:  # labels that do not compare (mixed types, a missing key): pandas sorts
            return _pick(self._rows(at), n, self.columns[j], ascending)
        pick = order[top_positions(_numeric(arrays[j])[order], n, ascending)]
        return frame_of([a[pick] for a in arrays], index_of(labels[pick], self.parts[0].names), self.columns)

    def key(self, label: Any) -> pd.Series:
        """One key's row (``frame().loc[label]``); ``KeyError`` when it has no row."""
        for p in self.parts:
            loc = p.position(label)
            if loc is not None:
                return frame_of([a[loc:loc + 1].copy() for a in p.arrays], index_of(p.labels[loc:loc + 1], p.names),
                                self.columns).iloc[0]
        raise KeyError(label)


def _numeric(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "fiub":
        return a.astype(np.float64, copy=False)
    return pd.to_numeric(pd.Series(a), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _pick(table: pd.DataFrame, n: int, by: str, ascending: bool) -> pd.DataFrame:
    return table.iloc[top_positions(table[by].to_numpy(), n, ascending)]
