"""A reader's decoded copy of one metric's history stream in Redis.

``RedisStore.history`` fetches only the stream entries written since its last call
(plus the id of the first entry, to follow trimming) and hands them to
:meth:`HistoryCache.update`; the pivot per column is cached until the entries change.
Entries are checked when read (sizes, row counts) and decoded only on demand: an
entry that does not decode is left out and reported, never allocated from.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._errors import StoreError
from ..codec import (
    _check_frame_spec,
    _decode_column,
    _decoding,
    _frame_from_spec,
    _label_from_json,
    _unpack,
    _value_from_json,
)
from ._history import empty_history, pivot_history, unknown_column

__all__ = ["HistoryCache"]


def stream_id(raw: bytes | str) -> tuple[int, int]:
    """A stream entry id ``b"1700000000000-3"`` as a comparable pair."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, seq = text.split("-")
    return int(ms), int(seq)


class _Entry:
    """One history entry as read: the table's spec and bytes, decoded only on demand.

    Building a DataFrame per entry would cost more than the whole pivot, so the pivot
    reads the key levels and the one column it needs straight from here.
    """

    __slots__ = ("spec", "body", "labels")

    def __init__(self, blob: bytes) -> None:
        header, self.body = _unpack(blob)
        spec = header.get("table") if "table" in header else header.get("frame")
        self.spec = _check_frame_spec(spec, len(self.body))
        self.labels = _decoding("history entry", lambda: [
            _label_from_json(c) for c in self.spec["labels"]])

    @property
    def plain(self) -> bool:
        """Whether the keys and columns need no pandas to read (the common case)."""
        return all(c["kind"] in ("np", "json") for c in self.spec["index"]) and \
            all(c["kind"] == "np" for c in self.spec["columns"])

    def frame(self) -> pd.DataFrame:
        return _decoding("history entry", _frame_from_spec, self.spec, self.body)

    def level(self, i: int) -> np.ndarray:
        spec = self.spec["index"][i]
        if spec["kind"] == "np":
            return _decode_column(spec, self.body)
        out = np.empty(len(spec["values"]), dtype=object)
        out[:] = [_value_from_json(v) for v in spec["values"]]
        return out

    def values(self, column: Any) -> np.ndarray:
        return _decode_column(self.spec["columns"][self.labels.index(column)], self.body)


@dataclasses.dataclass
class HistoryCache:
    """One metric's history as this reader last saw it (ids kept to follow trimming)."""

    history_length: int
    last_id: bytes = b"0-0"
    ids: list = dataclasses.field(default_factory=list)
    times: list = dataclasses.field(default_factory=list)
    tables: list = dataclasses.field(default_factory=list)  # _Entry per history entry
    frames: dict = dataclasses.field(default_factory=dict)  # column -> DataFrame

    def update(self, new: list, first: list) -> list[str]:
        """Apply the entries read after ``last_id`` and the stream's first entry;
        returns the problems of entries left out (bad bytes), one message each."""
        problems: list[str] = []
        changed = bool(new)
        if not first:
            changed = changed or bool(self.ids)
            self.ids.clear(), self.times.clear(), self.tables.clear()
            self.last_id = b"0-0"
        else:
            first_id = stream_id(first[0][0])
            drop = 0
            while drop < len(self.ids) and self.ids[drop] < first_id:
                drop += 1
            if drop:
                changed = True
                del self.ids[:drop], self.times[:drop], self.tables[:drop]
        for entry_id, fields in new:
            self.last_id = entry_id
            try:
                t = int(fields[b"t"])
                pd.Timestamp(t, unit="ns")
                entry = _Entry(fields[b"d"])
            except (KeyError, ValueError, TypeError, OverflowError, StoreError) as exc:
                problems.append(f"entry {entry_id.decode(errors='replace')}: {exc}")
                continue
            if self.times and self.times[-1] == t:  # a replaced entry: the newer wins
                del self.ids[-1], self.times[-1], self.tables[-1]
            self.ids.append(stream_id(entry_id))
            self.times.append(t)
            self.tables.append(entry)
        excess = len(self.ids) - self.history_length
        if excess > 0:
            del self.ids[:excess], self.times[:excess], self.tables[:excess]
        if changed:
            self.frames.clear()
        return problems

    def frame(self, metric: str, column: str) -> pd.DataFrame:
        """The same pivot as MemoryStore's, cached until new entries arrive."""
        frame = self.frames.get(column)
        if frame is not None:
            return frame
        if not self.tables:
            return empty_history()
        if not any(column in e.labels for e in self.tables):
            raise unknown_column(metric, column, list(self.tables[-1].labels))
        frame = _decoding("history", _pivot_entries, self.times, self.tables, column)
        self.frames[column] = frame
        return frame


def _pivot_entries(times: list, tables: list, column: Any) -> pd.DataFrame:
    index = pd.DatetimeIndex(np.asarray(times, dtype="datetime64[ns]"), name="newest_event")
    with_col = [(i, e) for i, e in enumerate(tables) if column in e.labels]
    if all(e.plain for _, e in with_col):
        keys, values = _plain_parts(with_col, column)
    else:  # categorical keys or extension-dtype columns: the general (slower) way
        frames = [e.frame() for _, e in with_col]
        keys = frames[0].index.append([t.index for t in frames[1:]]) \
            if len(frames) > 1 else frames[0].index
        keys = keys.set_names(frames[0].index.names)
        values = np.concatenate([t[column].to_numpy() for t in frames])
    rows = np.repeat([i for i, _ in with_col], [e.spec["nrows"] for _, e in with_col])
    return pivot_history(index, rows=rows, keys=keys, values=values)


def _plain_parts(with_col: list, column: Any) -> tuple[pd.Index, np.ndarray]:
    """The keys and values of ``column`` over the entries, from their raw arrays: one
    Index for all keys instead of one per entry."""
    first = with_col[0][1].spec
    levels = []
    for j in range(len(first["index"])):
        parts = [e.level(j) for _, e in with_col]
        spec = first["index"][j]
        arr = np.concatenate(parts) if len(parts) > 1 else parts[0]
        dtype = spec["dtype"] if spec["kind"] == "json" else None
        levels.append(pd.Index(arr, dtype=dtype if dtype != "object" else object))
    names = [_label_from_json(n) for n in first["index_names"]]
    keys = pd.MultiIndex.from_arrays(levels, names=names) if first["multi"] \
        else levels[0].rename(names[0])
    parts = [e.values(column) for _, e in with_col]
    return keys, (np.concatenate(parts) if len(parts) > 1 else parts[0])
