"""Session windows: per key, rows at most ``gap`` apart in event time form a session.

A session closes when no acceptable row can reach it any more: when
``W - lateness > end + gap``. Open sessions are kept as pre-aggregates (bounded by the
number of keys, whatever the event rate), so merging two sessions bridged by a late
row is a merge of their aggregates — and merging two partial engines is the same
operation over both engines' sessions, open and closed.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .._buckets import Stats, combine, concat_stats, sketch_quantiles, stats_from_rows
from .._buckets import take_stats as _take
from ..sketch import _mapping
from ._base import (ClosedWindows, Needs, WindowEngine, WindowStats, empty_stats, stats_arrays,
                    stats_from_arrays)

__all__ = ["SessionEngine"]


class SessionEngine(WindowEngine):
    """Per-key sessions; the snapshot shows each key's latest open session."""

    kind = "session"
    closes = True

    def __init__(self, gap_ns: int, lateness_ns: int, n_meas: int, needs: Needs,
                 relative_accuracy: float, *, keep_closed: int = 100) -> None:
        self.gap = gap_ns
        self.lateness = lateness_ns
        self.n_meas = n_meas
        self.needs = needs
        self.relative_accuracy = relative_accuracy
        self.keep_closed = keep_closed
        self.mapping = _mapping(relative_accuracy)
        e = np.empty(0, dtype=np.int64)
        self.key, self.start, self.end = e, e.copy(), e.copy()
        self.stats = empty_stats(n_meas, needs.sketch)
        self.closed: deque[ClosedWindows] = deque(maxlen=keep_closed)
        self.n_keys = 0

    def _fresh(self) -> SessionEngine:
        return SessionEngine(self.gap, self.lateness, self.n_meas, self.needs, self.relative_accuracy,
                             keep_closed=self.keep_closed)

    def grow(self, n_keys: int) -> None:
        self.n_keys = max(self.n_keys, n_keys)

    def insert(self, ts, codes, values, watermark: int) -> None:
        if ts.size:
            rows = stats_from_rows(np.arange(ts.size), ts.size, values, minmax=True, m2=True,
                                   sketch_keys=self.mapping.keys(values) if self.needs.sketch else None)
            self._merge(codes, ts, ts, rows)
        self._close(watermark - self.lateness)

    def _merge(self, codes, starts, ends, items: Stats) -> None:
        """Merge sessions (or rows) ``items`` into the open sessions of their keys."""
        touched = np.unique(codes)
        old = np.isin(self.key, touched)
        keep_idx, old_idx = np.flatnonzero(~old), np.flatnonzero(old)
        items = concat_stats([_take(self.stats, old_idx), items])
        ikey = np.concatenate([self.key[old_idx], codes])
        istart = np.concatenate([self.start[old_idx], starts])
        iend = np.concatenate([self.end[old_idx], ends])
        order = np.lexsort((istart, ikey))
        ikey, istart, iend = ikey[order], istart[order], iend[order]
        runmax = _segmented_cummax(iend, ikey)
        new = np.ones(order.size, dtype=bool)
        new[1:] = (ikey[1:] != ikey[:-1]) | (istart[1:] - runmax[:-1] > self.gap)
        seg = np.cumsum(new) - 1
        nseg = int(seg[-1]) + 1
        target = np.empty(order.size, dtype=np.int64)
        target[order] = seg
        merged = combine(items, target, nseg)
        first = np.flatnonzero(new)
        kept = _take(self.stats, keep_idx)
        self.stats = concat_stats([kept, merged])
        self.key = np.concatenate([self.key[keep_idx], ikey[first]])
        self.start = np.concatenate([self.start[keep_idx], istart[first]])
        self.end = np.concatenate([self.end[keep_idx], np.maximum.reduceat(iend, first)])

    def _close(self, horizon: int) -> None:
        done = self.end + self.gap < horizon
        if not done.any():
            return
        idx = np.flatnonzero(done)
        order = idx[np.lexsort((self.key[idx], self.start[idx]))]
        self.closed.append(ClosedWindows(self.start[order], self.end[order], self.key[order],
                                         _take(self.stats, order)))
        rest = np.flatnonzero(~done)
        self.stats = _take(self.stats, rest)
        self.key, self.start, self.end = self.key[rest], self.start[rest], self.end[rest]

    # reading -------------------------------------------------------------
    def bounds(self, watermark: int) -> tuple[int, int] | None:
        return None

    def latest(self) -> np.ndarray:
        """Index of each key's most recent open session, by key."""
        if self.key.size == 0:
            return np.empty(0, dtype=np.int64)
        order = np.lexsort((self.start, self.key))
        last = np.ones(order.size, dtype=bool)
        last[:-1] = self.key[order][1:] != self.key[order][:-1]
        return order[last]

    def read(self, quantiles: tuple[float, ...] = ()) -> WindowStats:
        idx = self.latest()
        st = _take(self.stats, idx)
        q = (sketch_quantiles(st, quantiles, self.n_meas, self.relative_accuracy)
             if quantiles else None)
        return WindowStats(self.key[idx], st.n, st.s, st.m2, st.mn, st.mx, q,
                           window_start=self.start[idx], window_end=self.end[idx])

    def closed_windows(self) -> list[ClosedWindows]:
        return list(self.closed)

    def memory_rows(self) -> int:
        return int(self.key.size)

    # state ---------------------------------------------------------------
    def export_state(self) -> dict:
        items = list(self.closed)
        closed = concat_stats([c.stats for c in items]) if items else empty_stats(self.n_meas, self.needs.sketch)
        arrays = {"open_key": self.key, "open_start": self.start, "open_end": self.end,
                  **stats_arrays("open_", self.stats),
                  "closed_rows": np.array([c.keys.size for c in items], dtype=np.int64),
                  "closed_key": _cat([c.keys for c in items]), "closed_start": _cat([c.start for c in items]),
                  "closed_end": _cat([c.end for c in items]), **stats_arrays("closed_", closed)}
        meta = {"gap_ns": int(self.gap), "measures": int(self.n_meas), "keys": int(self.n_keys)}
        return self._state(meta, arrays)

    def load_state(self, state: dict) -> None:
        meta, arrays = self._check_state(state)
        self.grow(int(meta["keys"]))
        self.key = np.asarray(arrays["open_key"], dtype=np.int64)
        self.start = np.asarray(arrays["open_start"], dtype=np.int64)
        self.end = np.asarray(arrays["open_end"], dtype=np.int64)
        self.stats = stats_from_arrays("open_", arrays)
        closed = stats_from_arrays("closed_", arrays)
        self.closed.clear()
        at = 0
        for rows in np.asarray(arrays["closed_rows"]).tolist():
            idx = np.arange(at, at + rows)
            self.closed.append(ClosedWindows(np.asarray(arrays["closed_start"])[idx],
                                             np.asarray(arrays["closed_end"])[idx],
                                             np.asarray(arrays["closed_key"])[idx], _take(closed, idx)))
            at += rows

    def merge(self, other, self_codes, other_codes, n_keys: int, watermark: int) -> SessionEngine:
        """Sessions of both partials, open and closed, merged where they overlap or touch.

        A session one partial closed may be bridged by rows the other saw, so the
        closed sessions are merged too and the result closed again at ``watermark``;
        the merged engine lists its closed sessions as one closing.
        """
        out = self._fresh()
        out.grow(n_keys)
        codes, starts, ends, stats = [], [], [], []
        for eng, remap in ((self, self_codes), (other, other_codes)):
            for c in [*eng.closed, ClosedWindows(eng.start, eng.end, eng.key, eng.stats)]:
                codes.append(remap[c.keys] if c.keys.size else c.keys)
                starts.append(c.start)
                ends.append(c.end)
                stats.append(c.stats)
        codes = _cat(codes)
        if codes.size:
            out._merge(codes, _cat(starts), _cat(ends), concat_stats(stats))
            out._close(watermark - self.lateness)
        return out


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _segmented_cummax(values: np.ndarray, seg_keys: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` restarting where ``seg_keys`` changes (sorted keys)."""
    if values.size == 0:
        return values
    rel = values - values.min()
    span = int(rel.max()) + 1
    starts = np.flatnonzero(np.r_[True, seg_keys[1:] != seg_keys[:-1]])
    nseg = starts.size
    if span * nseg < 2**62:
        segid = np.cumsum(np.r_[True, seg_keys[1:] != seg_keys[:-1]]) - 1
        out = np.maximum.accumulate(rel + segid * span) - segid * span
        return out + values.min()
    out = np.empty_like(values)
    bounds = np.append(starts, values.size)
    for a, b in zip(bounds[:-1], bounds[1:]):
        out[a:b] = np.maximum.accumulate(values[a:b])
    return out
