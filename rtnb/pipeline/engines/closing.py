"""Tumbling and sliding windows: bucket engines that close windows.

A window ``[start, end)`` is *closed* once ``W - lateness`` has passed ``end``: no
acceptable row can change it. Closed windows are kept (the most recent
``keep_closed``) as per-key pre-aggregates of the keys with rows.

**Merging.** Two partials of the same configuration merge into what one engine fed
both streams would hold (the events split between them in any way, provided no row
that one of them accepted would have been late for the single run — e.g. events in
event-time order): windows closed by both add up; a window closed by one but still
open in the other gets the other's buckets for it; open buckets merge group by group.
"""

from __future__ import annotations

import bisect
from collections import deque

import numpy as np

from .._buckets import Stats, combine, concat_stats
from .._buckets import take_stats as _take
from ._base import INT64_MIN, ClosedWindows, stats_arrays, stats_from_arrays
from .buckets import BucketEngine

__all__ = ["ClosingBucketEngine", "TumblingEngine", "SlidingEngine"]


class ClosingBucketEngine(BucketEngine):
    """A :class:`~.buckets.BucketEngine` whose windows hop by ``hop`` and close."""

    closes = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.last_watermark = INT64_MIN

    def insert(self, ts, codes, values, watermark: int) -> None:
        self.last_watermark = max(self.last_watermark, watermark)
        super().insert(ts, codes, values, watermark)

    def _close(self, horizon: int) -> None:
        due, self.next_close = self._due(self.next_close, horizon)
        for start, end, buckets in due:
            self._append_closed(start, end, self.per_key(buckets))

    def _first_end_after(self, t: int) -> int:
        """The end of the earliest window ending after ``t`` (ns)."""
        return ((t - self.size) // self.hop + 1) * self.hop + self.size

    def _due(self, next_close: int | None, horizon: int) -> tuple[list[tuple[int, int, list[int]]], int | None]:
        """The windows with rows from ``next_close`` up to ``horizon`` — ``(start, end,
        live buckets)`` each — and the next window end to look at after them.

        Empty windows are jumped over, but never past a window ending after ``horizon``:
        rows still acceptable (event time >= ``horizon``) may reach it.
        """
        due = []
        while next_close is not None and next_close <= horizon:
            end = next_close
            start = end - self.size
            lo, hi = start // self.resolution, end // self.resolution
            buckets = self.window_buckets(lo, hi)
            if buckets:
                due.append((start, end, buckets))
                next_close = end + self.hop
                continue
            # jump to the first window holding a live bucket, or to the first one
            # that can still get rows, whichever comes first
            jump = self._first_end_after(horizon)
            i = bisect.bisect_left(self.order, hi)
            if i < len(self.order):
                jump = min(jump, self._first_end_after(self.order[i] * self.resolution))
            next_close = max(end + self.hop, jump)
        return due, next_close

    def _append_closed(self, start: int, end: int, per_key: Stats) -> None:
        codes = np.flatnonzero(per_key.n > 0)
        self.closed.append(ClosedWindows(np.full(codes.size, start, dtype=np.int64),
                                         np.full(codes.size, end, dtype=np.int64), codes,
                                         _take(per_key, codes)))

    def closed_windows(self) -> list[ClosedWindows]:
        return list(self.closed)

    def _held_keys(self) -> np.ndarray:
        """Keys of the buckets kept before the window (for windows not closed yet) and of
        the closed windows kept: their labels are still read."""
        below = self.store.between(np.iinfo(np.int64).min, self.first_bucket) if self.first_bucket is not None else []
        keys = [self.store.part(b).keys.astype(np.int64) for b in below]
        keys += [c.keys for c in self.closed]
        return np.unique(np.concatenate(keys)) if keys else np.empty(0, dtype=np.int64)

    def keep_keys(self, live: np.ndarray, remap: np.ndarray) -> None:
        super().keep_keys(live, remap)
        self.closed = deque((ClosedWindows(c.start, c.end, remap[c.keys], c.stats) for c in self.closed),
                            maxlen=self.closed.maxlen)

    def _export_closed(self, meta: dict, arrays: dict) -> None:
        meta["last_watermark_ns"] = int(self.last_watermark)
        items = list(self.closed)
        arrays["closed_start"] = np.array([int(c.start[0]) if c.start.size else 0 for c in items], dtype=np.int64)
        arrays["closed_end"] = np.array([int(c.end[0]) if c.end.size else 0 for c in items], dtype=np.int64)
        arrays["closed_rows"] = np.array([c.keys.size for c in items], dtype=np.int64)
        arrays["closed_key"] = (np.concatenate([c.keys for c in items]) if items
                                else np.empty(0, dtype=np.int64))
        st = concat_stats([c.stats for c in items]) if items else self._empty_stats()
        arrays.update(stats_arrays("closed_", st))

    def _empty_stats(self) -> Stats:
        from ._base import empty_stats

        return empty_stats(self.n_meas, self.needs.sketch)

    def _load_closed(self, meta: dict, arrays: dict) -> None:
        self.last_watermark = int(meta["last_watermark_ns"])
        st = stats_from_arrays("closed_", arrays)
        keys = np.asarray(arrays["closed_key"], dtype=np.int64)
        self.closed.clear()
        at = 0
        for start, end, rows in zip(*(np.asarray(arrays[n]).tolist() for n in ("closed_start", "closed_end", "closed_rows"))):
            idx = np.arange(at, at + rows)
            self.closed.append(ClosedWindows(np.full(rows, start, dtype=np.int64), np.full(rows, end, dtype=np.int64),
                                             keys[idx], _take(st, idx)))
            at += rows

    def merge(self, other, self_codes, other_codes, n_keys: int, watermark: int) -> ClosingBucketEngine:
        out = self._fresh()
        out.grow(n_keys)
        parts = [(self, self_codes), (other, other_codes)]
        out.last_watermark = max(self.last_watermark, other.last_watermark)
        horizon = out.last_watermark - self.lateness
        windows: dict[tuple[int, int], list[tuple[np.ndarray, Stats]]] = {}
        nexts = []
        for eng, remap in parts:
            for c in eng.closed:
                if c.keys.size:
                    windows.setdefault((int(c.start[0]), int(c.end[0])), []).append((remap[c.keys], c.stats))
            # windows the merged watermark closes that this partial has not closed yet
            # (its own watermark is behind): its buckets for them, as its close would
            due, nxt = eng._due(eng.next_close, horizon)
            for start, end, buckets in due:
                st = eng.per_key(buckets)
                codes = np.flatnonzero(st.n > 0)
                windows.setdefault((start, end), []).append((remap[codes], _take(st, codes)))
            if nxt is not None:
                nexts.append(nxt)
        for start, end in sorted(windows, key=lambda w: (w[1], w[0]))[-self.keep_closed or len(windows):]:
            got = windows[(start, end)]
            codes = np.concatenate([g[0] for g in got])
            uk, target = np.unique(codes, return_inverse=True)
            st = combine(concat_stats([g[1] for g in got]), target, uk.size)
            out.closed.append(ClosedWindows(np.full(uk.size, start, dtype=np.int64),
                                            np.full(uk.size, end, dtype=np.int64), uk, st))
        if not self.keep_closed:
            out.closed.clear()
        keep_from = None
        if nexts:
            out.next_close = min(nexts)
            keep_from = min(self.window_lo(watermark), (out.next_close - self.size) // self.resolution)
        out._merge_groups(parts, watermark, keep_from)
        return out


class TumblingEngine(ClosingBucketEngine):
    """Windows ``[k * size, (k + 1) * size)``."""

    kind = "tumbling"


class SlidingEngine(ClosingBucketEngine):
    """Hopping windows ``[k * every, k * every + size)``."""

    kind = "sliding"
