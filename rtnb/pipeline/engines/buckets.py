"""Bucketed windows: pre-aggregates per (time bucket, key), whatever the event rate.

Buckets of ``resolution`` are aligned on the epoch. Each live bucket holds, only for
the keys it has rows of (:class:`~._store.BucketStore`), count, sum, the sum of |x|
(which bounds the running totals' rounding) and — when asked for — M2 (Chan), min,
max and sparse sketch entries. The window's per-key totals are running sums: a batch
adds its rows, a bucket leaving the window takes away its own keys' groups, so a batch
costs O(rows + groups leaving), never O(keys x buckets). Per-key min/max are running
too; only the keys whose min (max) was held by a leaving bucket are recomputed, from
the window's buckets. Export, load and merge of the buckets: :mod:`._bucket_state`.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .._buckets import Stats, combine
from ._base import Needs, WindowEngine, WindowStats
from ._bucket_state import _BucketState
from ._store import BucketStore, Part
from ._totals import RowSketch, Totals

__all__ = ["BucketEngine"]

_BIG = np.iinfo(np.int64).max


class BucketEngine(_BucketState, WindowEngine):
    """Pre-aggregated buckets per key; the window is the buckets in ``[lo, hi)``.

    With hop ``h`` (a multiple of the resolution ``r``), the window at watermark W ends
    at the first hop boundary after W, ``e = floor(W / h) * h + h``, and starts at
    ``e - size``. Bucketed windows use ``h = r``; tumbling ``h = size``; sliding
    ``h = every`` (those two close windows: :class:`~.closing.ClosingBucketEngine`).
    """

    kind = "bucketed"
    has_buckets = True
    evicts = True

    def __init__(self, size_ns: int, res_ns: int, hop_ns: int, n_meas: int, needs: Needs,
                 relative_accuracy: float, *, lateness_ns: int = 0, keep_closed: int = 100) -> None:
        self.size, self.resolution, self.hop = size_ns, res_ns, hop_ns
        self.n_meas = n_meas
        self.needs = needs
        self.relative_accuracy = relative_accuracy
        self.lateness = lateness_ns
        self.keep_closed = keep_closed
        self.totals = Totals(n_meas)
        self.sketch = RowSketch(n_meas, relative_accuracy) if needs.sketch else None
        self.store = BucketStore(n_meas, needs, relative_accuracy)
        self.n_keys = 0
        # running per-key min / max over the window (only when asked for)
        self.run_mn = np.zeros((0, n_meas))
        self.run_mx = np.zeros((0, n_meas))
        self.first_bucket: int | None = None  # first bucket index of the current window
        self.next_close: int | None = None  # end (ns) of the next window to close
        self.closed: deque = deque(maxlen=keep_closed)

    def _fresh(self) -> BucketEngine:
        return type(self)(self.size, self.resolution, self.hop, self.n_meas, self.needs,
                          self.relative_accuracy, lateness_ns=self.lateness, keep_closed=self.keep_closed)

    # storage -------------------------------------------------------------
    @property
    def order(self) -> list[int]:
        """Live bucket indices, ascending."""
        return self.store.order

    @property
    def slots(self) -> int:
        """Live buckets."""
        return len(self.store)

    def grow(self, k: int) -> None:
        self.n_keys = max(self.n_keys, k)
        self.totals.grow(k)
        if self.needs.minmax and k > self.run_mn.shape[0]:
            pad = max(k, 2 * self.run_mn.shape[0], 8) - self.run_mn.shape[0]
            self.run_mn = np.concatenate([self.run_mn, np.full((pad, self.n_meas), np.inf)])
            self.run_mx = np.concatenate([self.run_mx, np.full((pad, self.n_meas), -np.inf)])

    def window_lo(self, watermark: int) -> int:
        end = (watermark // self.hop) * self.hop + self.hop
        return (end - self.size) // self.resolution

    def window_hi(self, watermark: int) -> int:
        return ((watermark // self.hop) * self.hop + self.hop) // self.resolution

    # updates -------------------------------------------------------------
    def insert(self, ts, codes, vals, watermark: int) -> None:
        new_lo = self.window_lo(watermark)
        if self.first_bucket is None:
            self.first_bucket = new_lo
        recheck = []  # keys whose min or max left with a bucket
        # 1. buckets leaving the window (they hold only rows of earlier batches)
        if new_lo > self.first_bucket:
            for b in self.store.between(self.first_bucket, new_lo):
                self._leave(self.store.part(b), recheck)
            self.first_bucket = new_lo
            if not self.closes:  # forget them before new rows come
                self.store.drop_before(new_lo)
        if self.closes and self.next_close is None and ts.size:
            # the earliest window any acceptable row can reach: rows to come have
            # event time >= W - lateness
            t = min(int(ts.min()), watermark - self.lateness)
            k = (t - self.size) // self.hop + 1
            self.next_close = k * self.hop + self.size
        keep_lo = new_lo
        if self.closes:
            keep_lo = min(keep_lo, (self.next_close - self.size) // self.resolution)
        # 2. rows into their buckets
        b = ts // self.resolution
        keep = b >= keep_lo
        if not keep.all():
            ts, codes, vals, b = ts[keep], codes[keep], vals[keep], b[keep]
        if ts.size:
            self.store.add_rows(b, codes, vals)
            inwin = b >= new_lo
            if inwin.all():
                wc, wv = codes, vals
            else:
                wc, wv = codes[inwin], vals[inwin]
            self.totals.add_rows(wc, wv, +1, std=self.needs.std)
            if self.sketch is not None and wc.size:
                self.sketch.add(wc, wv, self.n_keys, +1)
            if self.needs.minmax and wc.size:
                for j in range(self.n_meas):
                    np.minimum.at(self.run_mn[:, j], wc, wv[:, j])
                    np.maximum.at(self.run_mx[:, j], wc, wv[:, j])
        if recheck:
            self._recompute_minmax(np.unique(np.concatenate(recheck)))
        # 3. windows that can no longer change
        if self.closes:
            self._close(watermark - self.lateness)
        # 4. forget buckets no window needs
        keep_lo = new_lo
        if self.closes:
            keep_lo = min(keep_lo, (self.next_close - self.size) // self.resolution)
        self.store.drop_before(keep_lo)
        self.store.settle((watermark - self.lateness) // self.resolution, new_lo)
        if self.totals.stale():
            self._rebuild()

    def _leave(self, p: Part, recheck: list) -> None:
        """Take a bucket's groups out of the window totals (its keys only)."""
        if p.size == 0:
            return
        keys = p.keys.astype(np.int64)
        self.totals.add_groups(keys, p.n, p.s, p.m2 if self.needs.std else None, -1, p.absum)
        if self.sketch is not None:
            g, m, kk, c = p.sk
            self.sketch.add_entries(g.astype(np.int64), m.astype(np.int64), kk.astype(np.int64), c,
                                    self.n_keys, -1)
        if self.needs.minmax:
            held = ((p.mn <= self.run_mn[keys]) | (p.mx >= self.run_mx[keys])).any(axis=1)
            if held.any():
                recheck.append(keys[held])

    def _recompute_minmax(self, keys: np.ndarray) -> None:
        """Min and max of ``keys`` (sorted, distinct) over the window's buckets."""
        self.run_mn[keys], self.run_mx[keys] = self.store.extremes(keys, self.first_bucket)

    def _rebuild_minmax(self) -> None:
        if not self.needs.minmax:
            return
        self.run_mn[:] = np.inf
        self.run_mx[:] = -np.inf
        if self.first_bucket is None:
            return
        _, flat = self.store.flat(self.window_buckets(self.first_bucket, _BIG))
        for j in range(self.n_meas):
            np.minimum.at(self.run_mn[:, j], flat.keys, flat.mn[:, j])
            np.maximum.at(self.run_mx[:, j], flat.keys, flat.mx[:, j])

    def _full(self, flat: Part) -> Stats:
        """A flat part as :class:`Stats` (absent pre-aggregates at their empty values)."""
        g, m = flat.size, self.n_meas
        return Stats(flat.n, flat.s, flat.m2 if flat.m2 is not None else np.zeros((g, m)),
                     flat.mn if flat.mn is not None else np.full((g, m), np.inf),
                     flat.mx if flat.mx is not None else np.full((g, m), -np.inf), flat.sk)

    def bucket_stats(self, buckets: list[int], sketch: bool = True) -> Stats:
        """Pre-aggregates per (bucket position, key) for the given live buckets (dense)."""
        k = self.n_keys
        bidx, flat = self.store.flat(buckets)
        pos = np.searchsorted(np.array(buckets, dtype=np.int64), bidx)
        gid = pos * k + flat.keys
        G = len(buckets) * k
        m = self.n_meas
        n = np.zeros(G, dtype=np.int64)
        n[gid] = flat.n
        full = self._full(flat)
        out = Stats(n, np.zeros((G, m)), np.zeros((G, m)), np.full((G, m), np.inf), np.full((G, m), -np.inf), None)
        out.s[gid], out.m2[gid], out.mn[gid], out.mx[gid] = full.s, full.m2, full.mn, full.mx
        if self.needs.sketch and sketch:
            g, mm, kk, c = flat.sk
            out.sk = (gid[g], mm, kk, c)
        return out

    def window_buckets(self, lo: int, hi: int) -> list[int]:
        return self.store.between(lo, hi)

    def per_key(self, buckets: list[int], sketch: bool = True) -> Stats:
        """Pre-aggregates per key (dense over the keys) of the given live buckets."""
        _, flat = self.store.flat(buckets)
        st = self._full(flat)
        if not sketch:
            st.sk = None
        return combine(st, flat.keys, self.n_keys)

    def _rebuild(self) -> None:
        k = self.n_keys
        buckets = self.window_buckets(self.first_bucket, _BIG) if self.first_bucket is not None else []
        _, flat = self.store.flat(buckets)
        st = combine(self._full(flat), flat.keys, k) if flat.size else None
        if st is None:
            z = np.zeros((k, self.n_meas))
            st = Stats(np.zeros(k, dtype=np.int64), z, z.copy(), None, None)
        absum = np.zeros((k, self.n_meas))
        for j in range(self.n_meas):
            absum[:, j] = np.bincount(flat.keys, weights=flat.absum[:, j], minlength=k)[:k]
        self.totals.rebuild(st, absum)

    # reading -------------------------------------------------------------
    def bounds(self, watermark: int) -> tuple[int, int] | None:
        return self.window_lo(watermark) * self.resolution, self.window_hi(watermark) * self.resolution

    def read(self, quantiles: tuple[float, ...] = ()) -> WindowStats:
        if self.needs.std and self.totals.shift_drifted():
            self._rebuild()
        present = np.flatnonzero(self.totals.n[: self.n_keys] > 0)  # slots past n_keys: empty
        n, s, lease = self.totals.lend()  # by key code: a reader gathers the rows it reads
        m2 = self.totals.m2(present) if self.needs.std else None
        mn = mx = None
        if self.needs.minmax:
            mn, mx = self.run_mn[present], self.run_mx[present]
        q = self.sketch.quantiles(quantiles, present) if quantiles else None
        return WindowStats(present, n, s, m2, mn, mx, q, by_code=True, lease=lease)

    def live_keys(self) -> np.ndarray:
        """Codes of the keys with rows in the window (ascending); a closing engine's
        buckets kept for windows not closed yet count too (:meth:`_held_keys`)."""
        live = np.flatnonzero(self.totals.n[: self.n_keys] > 0)
        held = self._held_keys()
        return np.union1d(live, held) if held.size else live

    def _held_keys(self) -> np.ndarray:
        """Keys held outside the window's totals (none: the store holds the window only)."""
        return np.empty(0, dtype=np.int64)

    def keep_keys(self, live: np.ndarray, remap: np.ndarray) -> None:
        """Renumber every key-indexed part by ``remap`` (every group belongs to a live key):
        the totals, the window's sketches, the running min/max, the buckets' parts and
        their cached block extremes; O(live keys + groups held)."""
        self.totals.keep(live, remap)
        if self.sketch is not None:
            self.sketch.keep(live)
        if self.needs.minmax:
            self.run_mn, self.run_mx = self.run_mn[live], self.run_mx[live]
        self.store.renumber(remap)
        self.n_keys = int(live.size)

    def memory_rows(self) -> int:
        """(bucket, key) groups held: the keys each live bucket has rows of."""
        return self.store.groups(distinct=True)

    def nbytes(self) -> int:
        """Bytes of the bucket store (the per-key totals and sketches not included)."""
        return self.store.nbytes()
