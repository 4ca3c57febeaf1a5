"""The exact rolling window ``(W - size, W]`` over the raw rows, kept in time cells.

An update costs O(batch): rows go to the cell of their event time (cells are 1/32 of
the window, at most a second), whole cells leave the window at once and the one cell
straddling its start is cut by a binary search. Per-key totals are running sums
(:class:`~._totals.Totals`); min/max are cached per cell; quantiles come from one
dense sketch per key and measure.
"""

from __future__ import annotations

import bisect

import numpy as np

from .._buckets import stats_from_rows
from ._base import INT64_MIN, Needs, WindowEngine, WindowStats
from ._totals import RowSketch, Totals

__all__ = ["ExactEngine"]


class _Cell:
    """Raw rows whose event time falls in one cell of the time grid."""

    __slots__ = ("chunks", "ts", "codes", "vals", "ptr", "cache", "pending")

    def __init__(self) -> None:
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.ts = None
        self.codes = None
        self.vals = None
        self.ptr = 0
        self.cache = None  # per-key (min, max) of the live rows, minus ``pending``
        self.pending: list = []  # chunks appended since the cache was made

    def append(self, chunk) -> None:
        self.chunks.append(chunk)
        if self.cache is not None:
            self.pending.append(chunk)

    def settle(self) -> None:
        """Sort the live rows by event time (once per change), dropping evicted ones."""
        if not self.chunks and self.ts is not None:
            return
        parts = self.chunks
        if self.ts is not None:
            parts = [(self.ts[self.ptr :], self.codes[self.ptr :], self.vals[self.ptr :]), *parts]
        ts = np.concatenate([p[0] for p in parts])
        order = np.argsort(ts, kind="stable")
        self.ts = ts[order]
        self.codes = np.concatenate([p[1] for p in parts])[order]
        self.vals = np.concatenate([p[2] for p in parts])[order]
        self.ptr = 0
        self.chunks = []

    def live(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.settle()
        return self.ts[self.ptr :], self.codes[self.ptr :], self.vals[self.ptr :]

    def size(self) -> int:
        n = sum(p[0].size for p in self.chunks)
        if self.ts is not None:
            n += self.ts.size - self.ptr
        return n


class ExactEngine(WindowEngine):
    """Window ``(W - size, W]`` over the raw rows; merges exactly (rows are kept)."""

    kind = "exact"
    evicts = True

    def __init__(self, size_ns: int, n_meas: int, needs: Needs, relative_accuracy: float) -> None:
        self.size = size_ns
        self.cell_width = max(1, min(size_ns // 32, 1_000_000_000))
        self.n_meas = n_meas
        self.needs = needs
        self.relative_accuracy = relative_accuracy
        self.totals = Totals(n_meas)
        self.sketch = RowSketch(n_meas, relative_accuracy) if needs.sketch else None
        self.cells: dict[int, _Cell] = {}
        self.order: list[int] = []
        self.cutoff = INT64_MIN
        self.n_keys = 0

    def _fresh(self) -> ExactEngine:
        return ExactEngine(self.size, self.n_meas, self.needs, self.relative_accuracy)

    def grow(self, n_keys: int) -> None:
        self.n_keys = max(self.n_keys, n_keys)
        self.totals.grow(n_keys)

    # updates -------------------------------------------------------------
    def insert(self, ts, codes, values, watermark: int) -> None:
        cutoff = watermark - self.size
        keep = ts > cutoff
        if not keep.all():
            ts, codes, values = ts[keep], codes[keep], values[keep]
        self.totals.add_rows(codes, values, +1, std=self.needs.std)
        if self.sketch is not None and codes.size:
            self.sketch.add(codes, values, self.n_keys, +1)
        if ts.size:
            if ts.base is not None:  # a view of the caller's batch: the window keeps rows of its own
                ts = ts.copy()
            if values.base is not None:
                values = values.copy()
            cid = ts // self.cell_width
            lo, hi = int(cid.min()), int(cid.max())
            if lo == hi:
                self._cell(lo).append((ts, codes, values))
            elif hi - lo < 8:  # a few cells (late rows reach back a little): one mask each, no sort
                for c in range(lo, hi + 1):
                    at = np.flatnonzero(cid == c)
                    if at.size:
                        self._cell(c).append((ts[at], codes[at], values[at]))
            else:
                order = np.argsort(cid, kind="stable")
                cs = cid[order]
                cuts = np.flatnonzero(cs[1:] != cs[:-1]) + 1
                for part in np.split(order, cuts):
                    self._cell(int(cid[part[0]])).append((ts[part], codes[part], values[part]))
        self._evict(cutoff)

    def _cell(self, cid: int) -> _Cell:
        cell = self.cells.get(cid)
        if cell is None:
            cell = self.cells[cid] = _Cell()
            if not self.order or cid > self.order[-1]:
                self.order.append(cid)
            else:
                bisect.insort(self.order, cid)
        return cell

    def _remove(self, codes, values) -> None:
        if codes.size == 0:
            return
        self.totals.add_rows(codes, values, -1, std=self.needs.std)
        if self.sketch is not None:
            self.sketch.add(codes, values, self.n_keys, -1)

    def _evict(self, cutoff: int) -> None:
        self.cutoff = max(self.cutoff, cutoff)
        cutoff = self.cutoff
        while self.order:
            cid = self.order[0]
            cell = self.cells[cid]
            start = cid * self.cell_width
            if start + self.cell_width - 1 <= cutoff:
                _, codes, values = cell.live()
                self._remove(codes, values)
                del self.cells[cid]
                self.order.pop(0)
                continue
            if start <= cutoff:
                cell.settle()
                i = int(np.searchsorted(cell.ts, cutoff, side="right"))
                if i > cell.ptr:
                    self._remove(cell.codes[cell.ptr : i], cell.vals[cell.ptr : i])
                    cell.ptr = i
                    cell.cache = None
                    cell.pending = []
            break
        if self.totals.stale():
            self._rebuild()

    def live_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ts, codes, values)`` of the rows in the window, cell by cell."""
        parts = [self.cells[c].live() for c in self.order]
        if not parts:
            e = np.empty(0, dtype=np.int64)
            return e, e.copy(), np.empty((0, self.n_meas))
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))

    def _rebuild(self) -> None:
        _, codes, values = self.live_rows()
        k = self.totals.keys
        st = stats_from_rows(codes, k, values, minmax=False)
        absum = np.stack([np.bincount(codes, weights=np.abs(values[:, j]), minlength=k)
                          for j in range(self.n_meas)], axis=1) if codes.size else np.zeros((k, self.n_meas))
        self.totals.rebuild(st, absum)

    # reading -------------------------------------------------------------
    def bounds(self, watermark: int) -> tuple[int, int] | None:
        return watermark - self.size, watermark

    def read(self, quantiles: tuple[float, ...] = ()) -> WindowStats:
        if self.needs.std and self.totals.shift_drifted():
            self._rebuild()
        present = np.flatnonzero(self.totals.n[: self.n_keys] > 0)  # slots past n_keys: empty
        n, s, lease = self.totals.lend()  # by key code: a reader gathers the rows it reads
        m2 = self.totals.m2(present) if self.needs.std else None
        mn = mx = None
        if self.needs.minmax:
            mn, mx = self._minmax(present)
        q = self.sketch.quantiles(quantiles, present) if quantiles else None
        return WindowStats(present, n, s, m2, mn, mx, q, by_code=True, lease=lease)

    def _minmax(self, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = self.totals.keys
        m = self.n_meas
        mins, maxs = [np.full((k, m), np.inf)], [np.full((k, m), -np.inf)]
        for c in self.order:
            cell = self.cells[c]
            if cell.cache is None or cell.cache[0].shape[0] != k:
                parts = [cell.live()]
                cell.cache = (np.full((k, m), np.inf), np.full((k, m), -np.inf))
            else:
                parts = cell.pending
            mn, mx = cell.cache
            for _, codes, values in parts:
                for j in range(m):
                    np.minimum.at(mn[:, j], codes, values[:, j])
                    np.maximum.at(mx[:, j], codes, values[:, j])
            cell.pending = []
            mins.append(mn)
            maxs.append(mx)
        return np.min(mins, axis=0)[present], np.max(maxs, axis=0)[present]

    def live_keys(self) -> np.ndarray:
        return np.flatnonzero(self.totals.n[: self.n_keys] > 0)

    def keep_keys(self, live: np.ndarray, remap: np.ndarray) -> None:
        """Renumber the rows' keys (every live row belongs to a live key); O(window rows)."""
        self.totals.keep(live, remap)
        if self.sketch is not None:
            self.sketch.keep(live)
        for cell in self.cells.values():
            if cell.codes is not None:
                cell.codes = remap[cell.codes]
            cell.chunks = [(t, remap[c], v) for t, c, v in cell.chunks]
            cell.cache, cell.pending = None, []  # per-key min/max: made again on the next read
        self.n_keys = int(live.size)

    def memory_rows(self) -> int:
        return sum(c.size() for c in self.cells.values())

    # state ---------------------------------------------------------------
    def export_state(self) -> dict:
        sizes, parts = [], []
        for c in self.order:
            parts.append(self.cells[c].live())
            sizes.append(parts[-1][0].size)
        ts, codes, values = self.live_rows()
        meta = {"window_ns": int(self.size), "measures": int(self.n_meas), "keys": int(self.n_keys),
                "cutoff_ns": int(self.cutoff)}
        arrays = {"cell_ids": np.array(self.order, dtype=np.int64),
                  "cell_rows": np.array(sizes, dtype=np.int64),
                  "row_ts": ts, "row_keys": codes, "row_values": values}
        self._add_totals(meta, arrays)
        return self._state(meta, arrays)

    def load_state(self, state: dict) -> None:
        meta, arrays = self._check_state(state)
        self.grow(int(meta["keys"]))
        self.cutoff = int(meta["cutoff_ns"])
        ts = np.asarray(arrays["row_ts"], dtype=np.int64)
        codes = np.asarray(arrays["row_keys"], dtype=np.int64)
        values = np.asarray(arrays["row_values"], dtype=np.float64).reshape(-1, self.n_meas)
        self.cells, self.order = {}, []
        at = 0
        for cid, size in zip(np.asarray(arrays["cell_ids"]).tolist(), np.asarray(arrays["cell_rows"]).tolist()):
            cell = self._cell(cid)
            cell.ts, cell.codes, cell.vals = ts[at : at + size], codes[at : at + size], values[at : at + size]
            at += size
        self.totals.load(meta, arrays)
        if self.sketch is not None:
            self.sketch.load(meta, arrays)

    def merge(self, other, self_codes, other_codes, n_keys: int, watermark: int) -> ExactEngine:
        """Both windows' rows in one engine (keys renumbered by ``*_codes``)."""
        out = self._fresh()
        out.grow(n_keys)
        out.cutoff = max(self.cutoff, other.cutoff)
        parts = []
        for eng, remap in ((self, self_codes), (other, other_codes)):
            ts, codes, values = eng.live_rows()
            parts.append((ts, remap[codes] if codes.size else codes, values))
        if watermark != INT64_MIN:
            out.insert(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                       np.concatenate([p[2] for p in parts]), watermark)
        return out
