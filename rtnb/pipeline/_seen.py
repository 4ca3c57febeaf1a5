"""Bounded memory of accepted event ids, looked up a batch at a time (vectorised).

Ids are kept as sorted int64 arrays (levels) with the event time each was accepted
at. Integer and datetime ids are their own keys; any other id is keyed by its 64-bit
hash (:func:`pandas.util.hash_array`) and its original value kept beside it, so a hash
match is confirmed by equality — a collision can never drop a row. A lookup is one
``searchsorted`` per level; a batch's ids become a new level, and levels of similar
size merge (dropping ids too old to matter), so each id is copied O(log n) times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import ParameterError

__all__ = ["SeenIds"]

INT64_MIN = np.iinfo(np.int64).min


class SeenIds:
    """Accepted ids with their event times; ids older than a limit are forgotten."""

    def __init__(self) -> None:
        self._levels: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []  # keys, ts, originals
        self._size_after_compaction = 0

    def __len__(self) -> int:
        return sum(lv[0].size for lv in self._levels)

    @staticmethod
    def encode(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(int64 keys, originals or None)`` for a batch's id column."""
        ids = np.asarray(ids)
        kind = ids.dtype.kind
        if kind in "iu" or kind in "Mm":
            return ids.astype(np.int64, copy=False) if kind in "iu" else ids.view(np.int64), None
        if kind == "b":
            return ids.astype(np.int64), None
        keys = pd.util.hash_array(ids).view(np.int64)
        return keys, ids

    def lookup(self, keys: np.ndarray, originals: np.ndarray | None) -> np.ndarray:
        """Per id, the event time it was accepted at (INT64_MIN when never)."""
        out = np.full(keys.size, INT64_MIN, dtype=np.int64)
        for lk, lt, lo in self._levels:
            if lk.size == 0:
                continue
            pos = np.searchsorted(lk, keys)
            pos[pos == lk.size] = lk.size - 1
            hit = lk[pos] == keys
            if originals is not None and lo is not None and hit.any():
                idx = np.flatnonzero(hit)
                same = np.asarray(lo[pos[idx]] == originals[idx], dtype=bool)
                hit[idx[~same]] = False
            np.maximum(out, np.where(hit, lt[pos], INT64_MIN), out=out)
        return out

    def add(self, keys: np.ndarray, ts: np.ndarray, originals: np.ndarray | None, limit: int) -> None:
        """Remember accepted ids; ids accepted before ``limit`` may be forgotten."""
        if keys.size:
            self._levels.append(_level(keys, ts, originals))
        while len(self._levels) > 1 and self._levels[-2][0].size <= 2 * self._levels[-1][0].size:
            b, a = self._levels.pop(), self._levels.pop()
            self._levels.append(_merge([a, b], limit))
        self._levels = [lv for lv in self._levels if lv[1].size and lv[1].max() >= limit]
        total = len(self)
        if total > 2 * self._size_after_compaction + 1024:
            self._levels = [_merge(self._levels, limit)] if self._levels else []
            self._size_after_compaction = len(self)

    def merged(self, other: SeenIds, limit: int) -> SeenIds:
        out = SeenIds()
        levels = self._levels + other._levels
        if levels:
            out._levels = [_merge(levels, limit)]
        out._size_after_compaction = len(out)
        return out

    # ------------------------------------------------------------------ state
    def export(self) -> dict[str, np.ndarray]:
        merged = _merge(self._levels, INT64_MIN) if self._levels else (
            np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), None)
        keys, ts, orig = merged
        arrays = {"seen_key": keys, "seen_ts": ts}
        if orig is not None:
            if orig.dtype == object:
                vals = orig.tolist()
                if not all(isinstance(v, str) for v in vals):
                    raise ParameterError("id_col", "ids", "holds ids that are neither integers, floats, "
                                         "datetimes nor strings; they cannot be exported as plain arrays")
                orig = np.array(vals, dtype=str)
            arrays["seen_id"] = orig
        return arrays

    @classmethod
    def load(cls, arrays: dict) -> SeenIds:
        out = cls()
        keys = np.asarray(arrays["seen_key"], dtype=np.int64)
        if keys.size:
            orig = arrays.get("seen_id")
            if orig is not None:
                orig = np.asarray(orig)
                orig = orig.astype(object) if orig.dtype.kind == "U" else orig
            out._levels = [(keys, np.asarray(arrays["seen_ts"], dtype=np.int64), orig)]
        out._size_after_compaction = len(out)
        return out


def _level(keys, ts, originals):
    """A level sorted by key; of equal ids the last (latest accepted) is kept."""
    order = np.argsort(keys, kind="stable")
    keys, ts = keys[order], ts[order]
    orig = originals[order] if originals is not None else None
    last = np.ones(keys.size, dtype=bool)
    last[:-1] = keys[1:] != keys[:-1]
    if orig is not None and not last.all():
        # equal hashes of different ids (a collision) are kept apart
        same_next = np.zeros(keys.size, dtype=bool)
        same_next[:-1] = (~last[:-1]) & np.asarray(orig[1:] == orig[:-1], dtype=bool)
        last = ~same_next
    return keys[last], ts[last], (orig[last] if orig is not None else None)


def _merge(levels, limit: int):
    """Levels (oldest first) in one, without the ids accepted before ``limit``."""
    parts = []
    for k, t, o in levels:
        keep = t >= limit
        parts.append((k, t, o) if keep.all() else (k[keep], t[keep], None if o is None else o[keep]))
    keys = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts])
    orig = None
    if any(p[2] is not None for p in parts):
        orig = np.concatenate([p[2] if p[2] is not None else p[0].astype(object) for p in parts])
    return _level(keys, ts, orig)  # a stable sort of sorted runs: O(n)
