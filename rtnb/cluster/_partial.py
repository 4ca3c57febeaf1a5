"""What a partition sends the driver for a snapshot: its table as arrays, whole or as a delta.

A :class:`Part` is one partition's table as plain arrays: the worker's key codes
(ascending; its own numbering), the key labels aligned with them (an object array) and
one numpy array per column. No DataFrame crosses the wire, and none is built on the
driver until a reader asks for rows (:class:`rtnb.cluster._merge.Merged`): the index is
then made from the labels as :class:`rtnb.Rolling` makes its table's (:func:`index_of`),
so the table is the same, dtype included.

The worker keeps the codes and columns of the last reply it sent (:class:`Replier`);
the next reply is a :class:`Delta` — the rows of the keys that are new or whose row
changed in any column (compared bit for bit), and the codes of the keys that left —
when the driver says it holds that last reply. The driver applies it to its copy
(:func:`absorb`) and gets exactly the Part a whole reply would have carried. A reply is
whole when the driver holds something else (a reply lost or overtaken, a new actor
after a recovery) or when the worker renumbered its keys (an eviction, or its key
index reallocated): then codes of the old reply mean other keys.

>>> import pandas as pd, rtnb
>>> ts = pd.to_datetime(["2024-01-01 00:00:01", "2024-01-01 00:00:02"]).as_unit("ns")
>>> agg = rtnb.Rolling("1min", by="k", value="v", aggs=("count", "sum")).update(
...     pd.DataFrame({"ts": ts, "k": ["a", "b"], "v": [1.0, 2.0]}))
>>> replier = Replier()
>>> first = replier.reply(agg, seq=0, have=-1)              # the driver holds nothing: whole
>>> _ = agg.update(pd.DataFrame({"ts": ts[1:], "k": ["b"], "v": [5.0]}))   # only "b" changes
>>> second = replier.reply(agg, seq=1, have=first.number)
>>> type(second).__name__, second.labels.tolist(), second.gone.tolist()
('Delta', ['b'], [])
>>> absorb(first, second).frame().equals(agg.value)
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._keytable import frame_of
from ..pipeline.keys import _str_index

__all__ = ["Part", "Delta", "Replier", "absorb", "index_of"]


def index_of(labels: np.ndarray, names: tuple) -> pd.Index:
    """The table index of key ``labels`` (an object array; tuples for several key
    columns), as :class:`rtnb.Rolling` makes it: pandas infers the dtype (``str`` for text)."""
    values = labels.tolist()
    if len(names) > 1:
        return pd.MultiIndex.from_tuples(values, names=list(names))
    if values and all(type(v) is str for v in values):
        index = _str_index(values, names[0])  # through Arrow, as Rolling makes a text index
        if index is not None:
            return index
    return pd.Index(values, name=names[0], tupleize_cols=False)


@dataclasses.dataclass(frozen=True, eq=False)
class Part:
    """One partition's table: ``codes`` (ascending), ``labels`` (their keys, an object
    array), ``arrays`` (one per column of ``columns``), ``names`` (the key columns), from
    reply ``number`` after batch ``seq``."""

    number: int
    seq: int
    codes: np.ndarray
    labels: np.ndarray
    arrays: tuple
    columns: pd.Index
    names: tuple
    _lookup: dict | None = dataclasses.field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.codes.size)

    def frame(self) -> pd.DataFrame:
        """The partition's table as a DataFrame of its own (fresh arrays)."""
        return frame_of([a.copy() for a in self.arrays], index_of(self.labels, self.names), self.columns)

    def position(self, label: Any) -> int | None:
        """The row of key ``label`` (``None``: not in this part); a dict made on first use."""
        if self._lookup is None:
            object.__setattr__(self, "_lookup", dict(zip(self.labels.tolist(), range(self.codes.size))))
        try:
            loc = self._lookup.get(label)
        except TypeError:  # unhashable: no such key
            return None
        if loc is None and _has_missing(label):  # NaN != NaN (and unpickled NaNs are new objects)
            return _missing_position(self.labels, label)
        return loc

    @classmethod
    def of_frame(cls, table: pd.DataFrame, number: int = 0, seq: int = 0) -> Part:
        """A Part holding a DataFrame's rows (codes 0..n-1 in its order; tests and tools)."""
        labels = np.empty(len(table), dtype=object)
        labels[:] = table.index.tolist()
        return cls(number, seq, np.arange(len(table), dtype=np.int64), labels,
                   tuple(table[c].to_numpy() for c in table.columns), table.columns, tuple(table.index.names))


@dataclasses.dataclass(frozen=True, eq=False)
class Delta:
    """The rows of reply ``number`` that differ from reply ``base``: keys new or changed
    (``codes`` ascending, their ``labels`` and ``arrays``) and the codes ``gone``."""

    number: int
    base: int
    seq: int
    gone: np.ndarray
    codes: np.ndarray
    labels: np.ndarray
    arrays: tuple
    columns: pd.Index

    def __len__(self) -> int:
        return int(self.codes.size)


def absorb(held: Part | None, reply: Part | Delta) -> Part | None:
    """What the driver holds after ``reply``: a whole reply newer than ``held`` replaces
    it; a delta applies to the reply it was made against and is ignored otherwise (the
    driver's next request then says what it holds, and the worker answers whole)."""
    if isinstance(reply, Part):
        return reply if held is None or reply.number > held.number else held
    if held is None or held.number != reply.base:
        return held
    keep = ~np.isin(held.codes, np.concatenate([reply.gone, reply.codes]))
    codes = np.concatenate([held.codes[keep], reply.codes])
    order = np.argsort(codes, kind="stable")
    labels = np.concatenate([held.labels[keep], reply.labels])[order]
    arrays = tuple(np.concatenate([a[keep], b])[order] for a, b in zip(held.arrays, reply.arrays))
    return Part(reply.number, reply.seq, codes[order], labels, arrays, held.columns, held.names)


class Replier:
    """The worker's side: the last reply's codes and columns, to answer with a delta."""

    def __init__(self) -> None:
        self.number = 0
        self._codes: np.ndarray | None = None
        self._arrays: tuple = ()
        self._space: Any = None  # the key index's label array the codes referred to

    def reply(self, rolling: Any, seq: int, have: int) -> Part | Delta:
        """The table of ``rolling`` (a :class:`rtnb.Rolling`) after batch ``seq``, as a
        delta against the last reply when the driver holds it (``have``), else whole."""
        kt = rolling._key_table()
        columns = kt.columns
        arrays = tuple(np.asarray(kt.array(j)) for j in range(len(columns)))
        codes = np.asarray(kt.codes, dtype=np.int64)
        space = rolling._keys._labels  # a new array after an eviction (or growth): codes renumbered
        prev, prev_arrays = self._codes, self._arrays
        delta = (prev is not None and have == self.number and space is self._space
                 and len(prev_arrays) == len(arrays))
        self.number += 1
        self._codes, self._arrays, self._space = codes, arrays, space
        labels = rolling._keys.labels
        if not delta:
            return Part(self.number, seq, codes, labels[codes], arrays, columns, tuple(rolling.config.keys))
        pos = np.searchsorted(prev, codes)
        if prev.size:
            at = np.minimum(pos, prev.size - 1)
            was = prev[at] == codes
        else:
            at = pos
            was = np.zeros(codes.size, dtype=bool)
        w = np.flatnonzero(was)
        old = at[w]
        same = np.ones(w.size, dtype=bool)
        for a, b in zip(arrays, prev_arrays):
            same &= _same_bits(a[w], b[old])
        changed = ~was
        changed[w[~same]] = True
        still = np.zeros(prev.size, dtype=bool)
        still[old] = True
        sel = np.flatnonzero(changed)
        return Delta(self.number, have, seq, prev[~still], codes[sel], labels[codes[sel]],
                     tuple(a[sel] for a in arrays), columns)


def _same_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise: the same value, bit for bit (NaN equal to the same NaN, -0.0 not 0.0);
    arrays of objects compare as different (sent again: never wrong, only larger)."""
    if a.dtype != b.dtype or a.dtype.kind not in "biufmM":
        return np.zeros(a.shape, dtype=bool)
    if a.dtype.kind in "fmM":
        width = {2: np.int16, 4: np.int32, 8: np.int64}.get(a.dtype.itemsize)
        if width is None:
            return np.zeros(a.shape, dtype=bool)
        return a.view(width) == b.view(width)
    return a == b


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # an array-like label: not a missing value
        return False


def _has_missing(label: Any) -> bool:
    """Whether a key label is missing, or a tuple with a missing part (as
    :meth:`rtnb.pipeline.keys.KeyView.code` treats them: every missing value is one key)."""
    if isinstance(label, tuple):
        return any(_isna(v) for v in label)
    return _isna(label)


def _missing_position(labels: np.ndarray, label: Any) -> int | None:
    """The row of a label with missing parts: every missing value matches every other."""
    if not isinstance(label, tuple):
        at = np.flatnonzero(pd.isna(labels)) if labels.size else np.empty(0, dtype=np.int64)
        return int(at[0]) if at.size else None
    for i, have in enumerate(labels.tolist()):
        if (isinstance(have, tuple) and len(have) == len(label)
                and all(a == b or (_isna(a) and _isna(b)) for a, b in zip(have, label))):
            return i
    return None


def any_missing(labels: np.ndarray) -> bool:
    """Whether an object array of key labels holds a missing key (or a tuple with one)."""
    if not labels.size:
        return False
    if pd.isna(labels).any():
        return True
    return isinstance(labels[0], tuple) and any(_has_missing(v) for v in labels.tolist())
