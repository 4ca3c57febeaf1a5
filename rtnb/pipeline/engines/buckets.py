"""Bucketed windows: pre-aggregates per (time bucket, key), whatever the event rate.

Buckets of ``resolution`` are aligned on the epoch. Each live bucket holds, per key,
count, sum, M2 (Chan), min, max, the sum of |x| (which bounds the running totals'
rounding) and — when a quantile is asked for — sparse sketch entries. The window's
per-key totals are running sums updated as buckets enter and leave.
"""

from __future__ import annotations

import bisect
from collections import deque

import numpy as np

from .._buckets import Stats, combine, compact_sketch, concat_stats, stats_from_rows
from .._buckets import take_stats as _take
from ..sketch import _mapping
from ._base import Needs, WindowEngine, WindowStats, stats_arrays, stats_from_arrays
from ._totals import RowSketch, Totals

__all__ = ["BucketEngine"]

_EMPTY_SKETCH = tuple(np.empty(0, dtype=np.int64) for _ in range(4))


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
        self.mapping = _mapping(relative_accuracy)
        self.lateness = lateness_ns
        self.keep_closed = keep_closed
        self.totals = Totals(n_meas)
        self.sketch = RowSketch(n_meas, relative_accuracy) if needs.sketch else None
        self.n_keys = 0
        self.slots = 0
        self.slot_of: dict[int, int] = {}
        self.free: list[int] = []
        self.order: list[int] = []  # live bucket indices, sorted
        self.slot_sketches: dict[int, list] = {}
        self.first_bucket: int | None = None  # first bucket index of the current window
        self.next_close: int | None = None  # end (ns) of the next window to close
        self.closed: deque = deque(maxlen=keep_closed)
        self._alloc(0, 16)

    def _fresh(self) -> BucketEngine:
        return type(self)(self.size, self.resolution, self.hop, self.n_meas, self.needs,
                          self.relative_accuracy, lateness_ns=self.lateness, keep_closed=self.keep_closed)

    # storage -------------------------------------------------------------
    def _alloc(self, keys: int, cap: int) -> None:
        k_old, c_old = self.n_keys, self.slots
        k, c = max(keys, k_old), max(cap, c_old)
        if (k, c) == (k_old, c_old) and c_old:
            return
        kc = max(k, 8) if k > k_old else k_old if c_old else max(k, 8)
        def grow(a, fill, dtype=np.float64, meas=True):
            shape = (c, kc, self.n_meas) if meas else (c, kc)
            new = np.full(shape, fill, dtype=dtype)
            if a is not None:
                new[: a.shape[0], : a.shape[1]] = a
            return new
        first = c_old == 0
        self.b_count = grow(None if first else self.b_count, 0, np.int64, meas=False)
        self.b_sum = grow(None if first else self.b_sum, 0.0)
        self.b_m2 = grow(None if first else self.b_m2, 0.0)
        self.b_min = grow(None if first else self.b_min, np.inf)
        self.b_max = grow(None if first else self.b_max, -np.inf)
        self.b_abs = grow(None if first else self.b_abs, 0.0)
        self.key_capacity = kc
        if c > c_old:
            self.free.extend(range(c - 1, c_old - 1, -1))
        self.slots = c

    def grow(self, k: int) -> None:
        if k > getattr(self, "key_capacity", 0):
            self._alloc(max(k, 2 * self.key_capacity), self.slots)
        self.n_keys = max(self.n_keys, k)
        self.totals.grow(k)

    def _slot(self, b: int) -> int:
        s = self.slot_of.get(b)
        if s is None:
            if not self.free:
                self._alloc(self.key_capacity, 2 * self.slots)
            s = self.free.pop()
            self.slot_of[b] = s
            if not self.order or b > self.order[-1]:
                self.order.append(b)
            else:
                bisect.insort(self.order, b)
        return s

    def _drop(self, b: int) -> None:
        s = self.slot_of.pop(b)
        self.b_count[s] = 0
        self.b_sum[s] = 0.0
        self.b_m2[s] = 0.0
        self.b_min[s] = np.inf
        self.b_max[s] = -np.inf
        self.b_abs[s] = 0.0
        self.slot_sketches.pop(s, None)
        self.free.append(s)

    def _slot_sketch(self, s: int):
        parts = self.slot_sketches.get(s)
        if not parts:
            e = np.empty(0, dtype=np.int64)
            return e, e, e, e
        if len(parts) > 1:
            g, m, k, c = (np.concatenate([p[i] for p in parts]) for i in range(4))
            parts[:] = [compact_sketch(g, m, k, c)]
        return parts[0]

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
        # 1. buckets leaving the window (they hold only rows of earlier batches)
        if new_lo > self.first_bucket:
            i0 = bisect.bisect_left(self.order, self.first_bucket)
            i1 = bisect.bisect_left(self.order, new_lo)
            for b in self.order[i0:i1]:
                self._leave(self.slot_of[b])
            self.first_bucket = new_lo
            if not self.closes:  # free their slots before new buckets need them
                while self.order and self.order[0] < new_lo:
                    self._drop(self.order.pop(0))
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
            self._merge_rows(b, codes, vals)
            inwin = b >= new_lo
            if inwin.all():
                wc, wv = codes, vals
            else:
                wc, wv = codes[inwin], vals[inwin]
            self.totals.add_rows(wc, wv, +1, std=self.needs.std)
            if self.sketch is not None and wc.size:
                self.sketch.add(wc, wv, self.n_keys, +1)
        # 3. windows that can no longer change
        if self.closes:
            self._close(watermark - self.lateness)
        # 4. forget buckets no window needs
        keep_lo = new_lo
        if self.closes:
            keep_lo = min(keep_lo, (self.next_close - self.size) // self.resolution)
        while self.order and self.order[0] < keep_lo:
            self._drop(self.order.pop(0))
        if self.totals.stale():
            self._rebuild()

    def _leave(self, s: int) -> None:
        k = self.n_keys
        n = self.b_count[s, :k]
        if not n.any():
            return
        self.totals.add_groups(np.arange(k), n, self.b_sum[s, :k], self.b_m2[s, :k] if self.needs.std else None,
                               -1, self.b_abs[s, :k])
        if self.sketch is not None:
            g, m, kk, c = self._slot_sketch(s)
            self.sketch.add_entries(g, m, kk, c, self.n_keys, -1)

    def _merge_rows(self, b, codes, vals) -> None:
        lo, hi = int(b.min()), int(b.max())
        if lo == hi:
            lb = np.zeros(b.size, dtype=np.int64)
            ub = [lo]
        else:
            ubs, lb = np.unique(b, return_inverse=True)
            ub = ubs.tolist()
        slots = np.array([self._slot(x) for x in ub], dtype=np.int64)
        k = self.n_keys
        gid = lb * k + codes
        G = len(ub) * k
        needs = self.needs
        st = stats_from_rows(gid, G, vals, minmax=needs.minmax, m2=needs.std)
        touched = np.flatnonzero(st.n)
        sl = slots[touched // k]
        kk = touched % k
        absv = np.abs(vals)
        for j in range(self.n_meas):
            self.b_abs[sl, kk, j] += np.bincount(gid, weights=absv[:, j], minlength=G)[touched]
        nb = st.n[touched]
        na = self.b_count[sl, kk]
        nt = na + nb
        sa = self.b_sum[sl, kk]
        sb = st.s[touched]
        if needs.std:
            da = sa / np.maximum(na, 1)[:, None]
            db = sb / nb[:, None]
            d = db - da
            w = (na * nb / nt)[:, None]
            self.b_m2[sl, kk] = self.b_m2[sl, kk] + st.m2[touched] + d * d * w
        self.b_sum[sl, kk] = sa + sb
        self.b_count[sl, kk] = nt
        if needs.minmax:
            self.b_min[sl, kk] = np.minimum(self.b_min[sl, kk], st.mn[touched])
            self.b_max[sl, kk] = np.maximum(self.b_max[sl, kk], st.mx[touched])
        if needs.sketch:
            keys = self.mapping.keys(vals)
            m = vals.shape[1]
            rs = np.repeat(slots[lb], m)
            g = np.repeat(codes, m)
            mm = np.tile(np.arange(m), codes.size)
            kr = keys.ravel()
            for s in np.unique(rs).tolist():
                sel = rs == s
                entry = (g[sel], mm[sel], kr[sel], np.ones(int(sel.sum()), dtype=np.int64))
                # parts[0] is the compacted (sorted) part, the rest raw entries
                parts = self.slot_sketches.setdefault(s, [_EMPTY_SKETCH])
                parts.append(entry)
                # compact once raw entries outgrow the compacted part: memory stays
                # ~keys x bins per bucket whatever the event rate, at O(1) amortised
                raw = sum(p[0].size for p in parts[1:])
                if raw > 16384 + parts[0][0].size:
                    self._slot_sketch(s)

    def bucket_stats(self, buckets: list[int], sketch: bool = True) -> Stats:
        """Pre-aggregates per (bucket position, key) for the given live buckets."""
        k = self.n_keys
        slots = np.array([self.slot_of[b] for b in buckets], dtype=np.int64)
        st = Stats(self.b_count[slots, :k].reshape(-1), self.b_sum[slots, :k].reshape(-1, self.n_meas),
                   self.b_m2[slots, :k].reshape(-1, self.n_meas), self.b_min[slots, :k].reshape(-1, self.n_meas),
                   self.b_max[slots, :k].reshape(-1, self.n_meas), None)
        if self.needs.sketch and sketch:
            parts = []
            for i, s in enumerate(slots.tolist()):
                g, m, kk, c = self._slot_sketch(s)
                parts.append((g + i * k, m, kk, c))
            if parts:
                st.sk = tuple(np.concatenate([p[j] for p in parts]) for j in range(4))
            else:
                e = np.empty(0, dtype=np.int64)
                st.sk = (e, e, e, e)
        return st

    def window_buckets(self, lo: int, hi: int) -> list[int]:
        i0 = bisect.bisect_left(self.order, lo)
        i1 = bisect.bisect_left(self.order, hi)
        return self.order[i0:i1]

    def per_key(self, buckets: list[int], sketch: bool = True) -> Stats:
        k = self.n_keys
        st = self.bucket_stats(buckets, sketch=sketch)
        target = np.tile(np.arange(k), len(buckets))
        return combine(st, target, k)

    def _rebuild(self) -> None:
        k = self.n_keys
        hi = self.order[-1] + 1 if self.order else 0
        buckets = self.window_buckets(self.first_bucket, hi) if self.order else []
        if buckets:
            st = self.per_key(buckets, sketch=False)
            absum = self.b_abs[[self.slot_of[b] for b in buckets], :k].sum(axis=0)
        else:
            z = np.zeros((k, self.n_meas))
            st = Stats(np.zeros(k, dtype=np.int64), z, z.copy(), None, None)
            absum = np.zeros((k, self.n_meas))
        self.totals.rebuild(st, absum)

    # reading -------------------------------------------------------------
    def bounds(self, watermark: int) -> tuple[int, int] | None:
        return self.window_lo(watermark) * self.resolution, self.window_hi(watermark) * self.resolution

    def _window_slots(self) -> list[int]:
        hi = self.order[-1] + 1 if self.order else 0
        return [self.slot_of[b] for b in self.window_buckets(self.first_bucket, hi)] if self.order else []

    def read(self, quantiles: tuple[float, ...] = ()) -> WindowStats:
        if self.needs.std and self.totals.shift_drifted():
            self._rebuild()
        present = np.flatnonzero(self.totals.n > 0)
        n, s, m2 = self.totals.read(present)
        mn = mx = None
        if self.needs.minmax:
            slots = self._window_slots()
            k = self.n_keys
            if slots:
                mn = self.b_min[slots, :k].min(axis=0)[present]
                mx = self.b_max[slots, :k].max(axis=0)[present]
            else:
                mn = mx = np.empty((0, self.n_meas))
        q = self.sketch.quantiles(quantiles, present) if quantiles else None
        return WindowStats(present, n, s, m2, mn, mx, q)

    def memory_rows(self) -> int:
        return len(self.slot_of) * self.n_keys

    # state ---------------------------------------------------------------
    def groups(self) -> tuple[np.ndarray, np.ndarray, Stats, np.ndarray]:
        """Live (bucket, key) groups with rows: bucket indices, key codes, stats, sum |x|."""
        k = self.n_keys
        buckets = list(self.order)
        if not buckets or k == 0:
            e = np.empty(0, dtype=np.int64)
            st = Stats(e.copy(), np.empty((0, self.n_meas)), np.empty((0, self.n_meas)),
                       np.empty((0, self.n_meas)), np.empty((0, self.n_meas)),
                       (e.copy(), e.copy(), e.copy(), e.copy()) if self.needs.sketch else None)
            return e, e.copy(), st, np.empty((0, self.n_meas))
        st = self.bucket_stats(buckets)
        keep = np.flatnonzero(st.n > 0)
        b = np.repeat(np.array(buckets, dtype=np.int64), k)[keep]
        codes = np.tile(np.arange(k), len(buckets))[keep]
        slots = np.array([self.slot_of[x] for x in buckets], dtype=np.int64)
        absum = self.b_abs[slots, :k].reshape(-1, self.n_meas)[keep]
        return b, codes, _take(st, keep), absum

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

    def _put_groups(self, b, codes, st: Stats, absum) -> None:
        """Write distinct (bucket, key) groups into their slots (buckets created as needed)."""
        if b.size == 0:
            return
        for x in np.unique(b).tolist():
            self._slot(x)
        sl = np.array([self.slot_of[x] for x in b.tolist()], dtype=np.int64)
        self.b_count[sl, codes] = st.n
        self.b_sum[sl, codes] = st.s
        self.b_m2[sl, codes] = st.m2
        self.b_min[sl, codes] = st.mn
        self.b_max[sl, codes] = st.mx
        self.b_abs[sl, codes] = absum
        if st.sk is not None:
            g, m, key, c = st.sk
            slot_of_g = sl[g]
            for s in np.unique(slot_of_g).tolist():
                z = slot_of_g == s
                self.slot_sketches[s] = [compact_sketch(codes[g[z]], m[z], key[z], c[z])]

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
        if self.sketch is not None:
            for s in self._window_slots():
                g, m, key, c = self._slot_sketch(s)
                self.sketch.add_entries(g, m, key, c, self.n_keys, +1)
