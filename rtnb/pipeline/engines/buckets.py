"""Bucketed windows: pre-aggregates per (time bucket, key), whatever the event rate.

Buckets of ``resolution`` are aligned on the epoch. Each live bucket holds, only for
the keys it has rows of (:class:`~._store.BucketStore`), count, sum, the sum of |x|
(which bounds the running totals' rounding) and — when asked for — M2 (Chan), min,
max and sparse sketch entries. The window's per-key totals are running sums: a batch
adds its rows, a bucket leaving the window takes away its own keys' groups, so a batch
costs O(rows + groups leaving), never O(keys x buckets). Per-key min/max are running
too; only the keys whose min (max) was held by a leaving bucket are recomputed, from
the window's buckets.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .._buckets import Stats, combine, concat_stats
from .._buckets import take_stats as _take
from ._base import Needs, WindowEngine, WindowStats, stats_arrays, stats_from_arrays
from ._store import BucketStore, Part, _compact, small_counts, small_keys
from ._totals import RowSketch, Totals

__all__ = ["BucketEngine"]

_BIG = np.iinfo(np.int64).max


class BucketEngine(WindowEngine):
    """Pre-aggregated buckets per key; the window is the buckets in ``[lo, hi)``.

    With hop ``h`` (a multiple of the resolution ``r``), the window at watermark W ends
    at the first hop boundary after W, ``e = floor(W / h) * h + h``, and starts at
    ``e - size``. Bucketed windows use ``h = r``; tumbling ``h = size``; sliding
    ``h = every`` (those two close windows: :class:`~.closing.ClosingBucketEngine`).
    """

    kind = "bucketed"
    has_buckets = True

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
        present = np.flatnonzero(self.totals.n > 0)
        n, s, m2 = self.totals.read(present)
        mn = mx = None
        if self.needs.minmax:
            mn, mx = self.run_mn[present], self.run_mx[present]
        q = self.sketch.quantiles(quantiles, present) if quantiles else None
        return WindowStats(present, n, s, m2, mn, mx, q)

    def memory_rows(self) -> int:
        """(bucket, key) groups held: the keys each live bucket has rows of."""
        return self.store.groups(distinct=True)

    def nbytes(self) -> int:
        """Bytes of the bucket store (the per-key totals and sketches not included)."""
        return self.store.nbytes()

    # state ---------------------------------------------------------------
    def groups(self) -> tuple[np.ndarray, np.ndarray, Stats, np.ndarray]:
        """Live (bucket, key) groups with rows: bucket indices, key codes, stats, sum |x|."""
        bidx, flat = self.store.flat(list(self.order))
        st = self._full(flat)
        if not self.needs.sketch:
            st.sk = None
        return bidx, flat.keys, st, flat.absum

    def _meta(self) -> dict:
        return {"window_ns": int(self.size), "resolution_ns": int(self.resolution), "hop_ns": int(self.hop),
                "measures": int(self.n_meas), "keys": int(self.n_keys),
                "first_bucket": None if self.first_bucket is None else int(self.first_bucket),
                "next_close_ns": None if self.next_close is None else int(self.next_close)}

    def export_state(self) -> dict:
        b, codes, st, absum = self.groups()
        meta = self._meta()
        arrays = {"group_bucket": b, "group_key": codes, "group_abs": absum, **stats_arrays("group_", st)}
        m, a = self.totals.export(self.n_keys)
        meta.update(m)
        arrays.update(a)
        if self.sketch is not None:
            m, a = self.sketch.export()
            meta.update(m)
            arrays.update(a)
        self._export_closed(meta, arrays)
        return self._state(meta, arrays)

    def _export_closed(self, meta: dict, arrays: dict) -> None:
        """Closed windows (closing engines only)."""

    def _load_closed(self, meta: dict, arrays: dict) -> None:
        """Closed windows (closing engines only)."""

    def load_state(self, state: dict) -> None:
        meta, arrays = self._check_state(state)
        self.grow(int(meta["keys"]))
        self.first_bucket = meta["first_bucket"]
        self.next_close = meta["next_close_ns"]
        st = stats_from_arrays("group_", arrays)
        b = np.asarray(arrays["group_bucket"], dtype=np.int64)
        codes = np.asarray(arrays["group_key"], dtype=np.int64)
        absum = np.asarray(arrays["group_abs"], dtype=np.float64).reshape(-1, self.n_meas)
        self._put_groups(b, codes, st, absum)
        self.totals.load(meta, arrays)
        if self.sketch is not None:
            self.sketch.load(meta, arrays)
        self._load_closed(meta, arrays)
        self._rebuild_minmax()

    def _put_groups(self, b, codes, st: Stats, absum) -> None:
        """Distinct (bucket, key) groups into new buckets, one part each."""
        if b.size == 0:
            return
        order = np.lexsort((codes, b))
        b, codes = b[order], codes[order]
        st, absum = _take(st, order), absum[order]
        needs = self.needs
        cut = [0, *(np.flatnonzero(np.diff(b) != 0) + 1).tolist(), b.size]
        sk_of = None
        if st.sk is not None:
            g, m, key, c = st.sk
            sk_of = (b[g], codes[g], m, key, c)
        for i in range(len(cut) - 1):
            a, z = cut[i], cut[i + 1]
            sk = None
            if sk_of is not None:
                sel = sk_of[0] == b[a]
                sk = _compact([(sk_of[1][sel], sk_of[2][sel], sk_of[3][sel], sk_of[4][sel])])
            ab = None if np.array_equal(absum[a:z], st.s[a:z]) else absum[a:z].copy()
            part = Part(small_keys(codes[a:z]), small_counts(st.n[a:z]), st.s[a:z].copy(),
                        ab, st.m2[a:z].copy() if needs.std else None,
                        st.mn[a:z].copy() if needs.minmax else None, st.mx[a:z].copy() if needs.minmax else None,
                        sk)
            self.store.add_part(int(b[a]), part)

    def merge(self, other, self_codes, other_codes, n_keys: int, watermark: int) -> BucketEngine:
        """Both engines' buckets in one (equal (bucket, key) groups combined)."""
        out = self._fresh()
        out.grow(n_keys)
        out._merge_groups([(self, self_codes), (other, other_codes)], watermark)
        return out

    def _merge_groups(self, parts, watermark: int, keep_from: int | None = None) -> None:
        groups = [(*e.groups(), remap) for e, remap in parts]
        self.first_bucket = self.window_lo(watermark)
        keep_from = self.first_bucket if keep_from is None else keep_from
        b = np.concatenate([g[0] for g in groups])
        codes = np.concatenate([g[4][g[1]] if g[1].size else g[1] for g in groups])
        st = concat_stats([g[2] for g in groups])
        absum = np.concatenate([g[3] for g in groups])
        if b.size:
            k = max(self.n_keys, 1)
            ug, target = np.unique(b * k + codes, return_inverse=True)
            merged = combine(st, target, ug.size)
            absum = np.stack([np.bincount(target, weights=absum[:, j], minlength=ug.size)
                              for j in range(self.n_meas)], axis=1)
            ub, kk = ug // k, ug % k
            live = np.flatnonzero(ub >= keep_from)
            self._put_groups(ub[live], kk[live], _take(merged, live), absum[live])
        self._rebuild()
        self._rebuild_minmax()
        if self.sketch is not None:
            _, flat = self.store.flat(self.window_buckets(self.first_bucket, _BIG))
            g, m, key, c = flat.sk
            self.sketch.add_entries(flat.keys[g], m, key, c, self.n_keys, +1)
