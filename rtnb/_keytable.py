"""A per-key answer held as column arrays: the table is built on first use, top-k and
one-key reads cost O(k) DataFrame work (plus a numpy pass over one column).

:class:`KeyTable` is what :class:`rtnb.Rolling` puts in its snapshots: the key codes
present in the window (ascending), one array per column aligned with them, and a view
of the key index as it was (labels by code and lookups; see
:class:`rtnb.pipeline.keys.KeyView`). Nothing in it changes after it is made, so a
snapshot stays immutable. ``frame()`` builds (once) the DataFrame a snapshot's
``table`` is; ``top(n, by)`` builds only the ``n`` rows with the largest (or smallest)
``by`` — the rows ``table.nlargest(n, by)`` gives, in that order, ties in table order —
and ``key(label)`` one row, as ``table.loc[label]``.

>>> import numpy as np, pandas as pd
>>> class Labels:                       # what a key index view provides
...     def index(self, codes, remember=True): return pd.Index(np.array(list("abcd"), dtype=object)[codes], name="k")
...     def code(self, label): return "abcd".index(label) if label in "abcd" else None
>>> kt = KeyTable(pd.Index(["count", "sum"]), [np.array([3, 1, 3]), np.array([9.0, 1.0, 4.0])],
...               np.array([0, 2, 3]), Labels())
>>> kt.top(2, "count")
   count  sum
k
a      3  9.0
d      3  4.0
>>> kt.key("c").tolist(), len(kt)
([1.0, 1.0], 3)
>>> kt.frame().equals(kt.frame().nlargest(3, "sum").sort_index())
True
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from ._errors import UnknownNameError

__all__ = ["KeyTable", "top_positions", "frame_of"]


class Labels(Protocol):
    def index(self, codes: np.ndarray, *, remember: bool = True) -> pd.Index: ...

    def code(self, label: Any) -> int | None: ...


class KeyTable:
    """Columns (arrays aligned with ``codes``, ascending key codes) and the key labels.

    A column may be given as a function ``make(at=None)`` making it (at the rows ``at``
    only, if given): it is called on the first read of that whole column, or for the
    rows a top-k or a key read builds (a top-k by ``sum`` computes ``mean`` for k rows).
    """

    __slots__ = ("columns", "arrays", "codes", "labels", "_frame")

    def __init__(self, columns: pd.Index, arrays: list, codes: np.ndarray, labels: Labels) -> None:
        self.columns = columns
        self.arrays = arrays
        self.codes = codes
        self.labels = labels
        self._frame: pd.DataFrame | None = None

    def __len__(self) -> int:
        return int(self.codes.size)

    def array(self, j: int) -> np.ndarray:
        a = self.arrays[j]
        if callable(a):
            a = self.arrays[j] = a()
        return a

    def frame(self) -> pd.DataFrame:
        """The whole table (built on the first call, then the same object)."""
        if self._frame is None:
            arrays = [self.array(j) for j in range(len(self.arrays))]
            self._frame = frame_of(arrays, self.labels.index(self.codes), self.columns)
        return self._frame

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """The table's rows at ``positions`` (in that order), built from those rows only."""
        if self._frame is not None:
            return self._frame.iloc[positions]
        if positions.size or not self.codes.size:
            index = self.labels.index(self.codes[positions], remember=False)
        else:  # no row: the index keeps the labels' dtype, as table.iloc[[]] does
            index = self.labels.index(self.codes[:1], remember=False)[:0]
        return frame_of([a(positions) if callable(a) else a[positions] for a in self.arrays], index, self.columns)

    def column(self, by: str | None) -> np.ndarray:
        if by is None:
            if not len(self.columns):
                raise UnknownNameError("by", by, [])
            by = self.columns[0]
        try:
            j = self.columns.get_loc(by)
        except (KeyError, TypeError, pd.errors.InvalidIndexError):
            raise UnknownNameError("by", by, [str(c) for c in self.columns]) from None
        return np.asarray(self.array(j))

    def top(self, n: int, by: str | None = None, ascending: bool = False) -> pd.DataFrame:
        """The ``n`` rows with the largest ``by`` (smallest if ``ascending``), NaN left out."""
        return self.rows(top_positions(self.column(by), n, ascending))

    def key(self, label: Any) -> pd.Series:
        """One key's row (``table.loc[label]``); ``KeyError`` when it has no row."""
        code = self.labels.code(label)
        if code is not None:
            pos = int(np.searchsorted(self.codes, code))
            if pos < self.codes.size and self.codes[pos] == code:
                return self.rows(np.array([pos])).iloc[0]
        raise KeyError(label)


def top_positions(values: np.ndarray, n: int, ascending: bool = False) -> np.ndarray:
    """Positions of the ``n`` largest values (smallest if ``ascending``), best first.

    NaN is left out; ties keep their order (the first position first), so the rows are
    those of ``Series.nlargest(n, keep="first")`` / ``sort_values(kind="stable")[:n]``.
    Costs one ``argpartition`` over the values plus a sort of ``n`` of them.
    (The index of the rows is inferred from their own labels: for keys of mixed types
    its dtype can differ from the whole table's, e.g. ``int64`` instead of ``object``.)

    >>> top_positions(np.array([1.0, 5.0, np.nan, 5.0, 3.0]), 2).tolist()
    [1, 3]
    >>> top_positions(np.array([1.0, 5.0, np.nan, 5.0, 3.0]), 9, ascending=True).tolist()
    [0, 4, 1, 3]
    """
    v = np.asarray(values)
    if v.dtype.kind == "b":
        v = v.astype(np.int64)
    elif v.dtype.kind not in "iuf":
        v = pd.to_numeric(pd.Series(v), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if v.dtype.kind == "u":
        v = v.astype(np.float64)
    m = v.size
    n = max(0, min(int(n), m))
    if 0 < n < m:
        sel = _partitioned(v, n, ascending)
        if sel is not None:
            return sel
    key = v if ascending else -v  # NaN among the best n: left out, then the rest sorted
    idx = None
    if v.dtype.kind == "f":
        ok = ~np.isnan(key)
        if not ok.all():
            idx = np.flatnonzero(ok)
            key = key[idx]
    m = key.size
    n = min(n, m)
    if n == 0:
        sel = np.empty(0, dtype=np.int64)
    elif n == m:
        sel = np.argsort(key, kind="stable")
    else:
        part = np.argpartition(key, n - 1)[:n]
        sel = _best(key, n, key[part].max())
    return sel if idx is None else idx[sel]


def _partitioned(v: np.ndarray, n: int, ascending: bool) -> np.ndarray | None:
    """The ``n`` best positions (``0 < n < len(v)``) by one ``argpartition`` of ``v``,
    ordered by value then position; ``None`` when a NaN is among them (NaN sorts last).

    When the value just past the cut differs from the worst one kept, the n kept are the
    answer; else (ties across the cut) one more pass picks the first of the ties.
    """
    m = v.size
    if ascending:
        part = np.argpartition(v, n)  # part[:n] the n smallest, part[n] the next one
        sel, nxt = part[:n], v[part[n]]
        t = v[sel].max()
        if t != t:  # NaN
            return None
        if not nxt <= t:  # nothing past the cut ties t (a NaN past it cannot)
            return sel[np.lexsort((sel, v[sel]))]
        sel = np.flatnonzero(v <= t)
        if sel.size > n:
            better = sel[v[sel] < t]
            sel = np.concatenate([better, sel[v[sel] == t][: n - better.size]])
        return sel[np.lexsort((sel, v[sel]))]
    part = np.argpartition(v, m - n - 1)  # part[m - n:] the n largest (NaN sorts as the largest)
    sel, nxt = part[m - n :], v[part[m - n - 1]]
    t = v[sel].min()
    if t != t:
        return None
    if not nxt >= t:
        return sel[np.lexsort((sel, -v[sel]))]
    sel = np.flatnonzero(v >= t)
    if sel.size > n:
        better = sel[v[sel] > t]
        sel = np.concatenate([better, sel[v[sel] == t][: n - better.size]])
    return sel[np.lexsort((sel, -v[sel]))]


def _best(key: np.ndarray, n: int, t) -> np.ndarray:
    """Positions of the n smallest keys given the n-th smallest ``t``: all below it, then
    the first ties; ordered by key, then position."""
    sel = np.flatnonzero(key <= t)  # one pass; more than n only when t has ties
    if sel.size > n:
        better = sel[key[sel] < t]
        sel = np.concatenate([better, sel[key[sel] == t][: n - better.size]])
    return sel[np.lexsort((sel, key[sel]))]


def frame_of(arrays: list, index: pd.Index, columns: pd.Index) -> pd.DataFrame:
    """A DataFrame over the given arrays (no copy; they must be owned by it only).

    ``DataFrame._from_arrays`` is 4x cheaper than the dict constructor on pandas 3
    (snapshots are taken after every batch); the public constructor is the fallback.
    """
    try:
        return pd.DataFrame._from_arrays(arrays, columns=columns, index=index, verify_integrity=False)
    except (AttributeError, TypeError, ValueError):  # a pandas without the private fast path
        return pd.DataFrame(dict(zip(columns, arrays)), index=index, copy=False)
