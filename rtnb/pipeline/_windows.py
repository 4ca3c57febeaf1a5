"""Window engines behind :class:`rtnb.Rolling`: exact rolling, bucket ring, sessions.

Each engine receives accepted rows as arrays — event times (int64 ns), integer key
codes, values (N x M float64) — and answers per-key :class:`~._buckets.Stats`-like
columns. None of them reads a clock or imports pandas on the hot path.

Running totals (count, sum, shifted power sums for the variance) are kept per key and
updated in O(batch); they are rebuilt from the live data (O(window)) only when the rows
evicted since the last rebuild outnumber or outweigh the live ones, which bounds the
rounding error by the live window's own magnitude and costs O(1) amortised per row.
"""

from __future__ import annotations

import bisect
from collections import deque

import numpy as np

from ._buckets import Stats, combine, compact_sketch, concat_stats, finish, stats_from_rows
from ._buckets import take_stats as _take
from .sketch import _DenseSketches, _mapping

INT64_MIN = np.iinfo(np.int64).min


class Needs:
    """Which pre-aggregates the requested aggregates need."""

    def __init__(self, aggs: tuple[str, ...]) -> None:
        self.std = "std" in aggs
        self.minmax = "min" in aggs or "max" in aggs
        self.sketch = any(a.startswith("p") for a in aggs)


class Totals:
    """Per-key running totals over a window: n, sum, and power sums around a shift c."""

    def __init__(self, n_meas: int) -> None:
        self.m = n_meas
        self.n = np.zeros(0, dtype=np.int64)
        self.s = np.zeros((0, n_meas))
        self.d1 = np.zeros((0, n_meas))
        self.d2 = np.zeros((0, n_meas))
        self.c = np.zeros((0, n_meas))
        self.seen = np.zeros(0, dtype=bool)
        # sums of |x| per key and measure: live rows, and rows evicted since the last
        # rebuild; the running sums' rounding error is bounded by eps times their total
        self.live_abs = np.zeros((0, n_meas))
        self.ev_abs = np.zeros((0, n_meas))
        self.ev_n = 0

    @property
    def keys(self) -> int:
        return self.n.shape[0]

    def grow(self, k: int) -> None:
        old = self.keys
        if k <= old:
            return
        cap = max(k, 2 * old, 8)
        pad = cap - old
        self.n = np.concatenate([self.n, np.zeros(pad, dtype=np.int64)])
        for name in ("s", "d1", "d2", "c", "live_abs", "ev_abs"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros((pad, self.m))]))
        self.seen = np.concatenate([self.seen, np.zeros(pad, dtype=bool)])

    def _shift_new_keys(self, codes: np.ndarray, vals: np.ndarray) -> None:
        fresh = ~self.seen[codes]
        if fresh.any():
            idx = np.flatnonzero(fresh)
            u, first = np.unique(codes[idx], return_index=True)
            self.c[u] = vals[idx[first]]
            self.seen[u] = True

    def add_rows(self, codes: np.ndarray, vals: np.ndarray, sign: int, *, std: bool) -> None:
        if codes.size == 0:
            return
        k = self.keys
        self.n += sign * np.bincount(codes, minlength=k)
        if sign > 0:
            self._shift_new_keys(codes, vals)
        absum = np.empty((k, self.m))
        for j in range(self.m):
            v = vals[:, j]
            self.s[:, j] += sign * np.bincount(codes, weights=v, minlength=k)
            if std:
                d = v - self.c[codes, j]
                self.d1[:, j] += sign * np.bincount(codes, weights=d, minlength=k)
                self.d2[:, j] += sign * np.bincount(codes, weights=d * d, minlength=k)
            absum[:, j] = np.bincount(codes, weights=np.abs(v), minlength=k)
        self._account(codes.size, absum, sign)

    def add_groups(self, n: np.ndarray, s: np.ndarray, m2: np.ndarray | None, sign: int,
                   absum: np.ndarray) -> None:
        """Add (or take away) whole groups, one per key: counts, sums and M2.

        ``absum`` (keys x measures) sums the absolute values of the groups' rows.
        """
        k = n.shape[0]
        self.n[:k] += sign * n
        self.s[:k] += sign * s
        if m2 is not None:
            fresh = (~self.seen[:k]) & (n > 0)
            if sign > 0 and fresh.any():
                self.c[:k][fresh] = s[fresh] / n[fresh, None]
                self.seen[:k][fresh] = True
            c = self.c[:k]
            safe = np.maximum(n, 1)[:, None]
            dm = s / safe - c
            self.d1[:k] += sign * (s - n[:, None] * c)
            self.d2[:k] += sign * (m2 + n[:, None] * dm * dm)
        self._account(int(n.sum()), absum, sign)

    def _account(self, rows: int, absum: np.ndarray, sign: int) -> None:
        k = absum.shape[0]
        if sign > 0:
            self.live_abs[:k] += absum
        else:
            self.live_abs[:k] -= absum
            self.ev_n += rows
            self.ev_abs[:k] += absum

    def stale(self) -> bool:
        """True when evicted rows outnumber or outweigh the live rows (rebuild due)."""
        live = int(self.n.sum())
        if self.ev_n == 0:
            return False
        if self.ev_n >= max(live, 256):
            return True
        return bool((self.ev_abs > 64.0 * np.maximum(self.live_abs, 0.0)).any())

    def shift_drifted(self) -> bool:
        """True when a key's mean moved so far from its shift that the variance loses digits."""
        n = self.n
        ok = n > 1
        if not ok.any():
            return False
        nn = n[ok][:, None]
        off = self.d1[ok] / nn
        var = np.maximum(self.d2[ok] / nn - off * off, 0.0)
        big = np.abs(off) > 1e3 * np.sqrt(var)
        big &= np.abs(off) > 1e-12 * np.abs(self.c[ok]) + 1e-300
        return bool(big.any())

    def rebuild(self, st: Stats, absum: np.ndarray) -> None:
        """Exact totals from pre-aggregates of the live rows (one group per key)."""
        k = st.groups
        self.grow(k)
        n = st.n
        self.n[:] = 0
        self.s[:] = 0.0
        self.d1[:] = 0.0
        self.d2[:] = 0.0
        self.n[:k] = n
        self.s[:k] = st.s
        has = n > 0
        self.c[:k][has] = st.s[has] / n[has, None]
        self.seen[:k] |= has
        c = self.c[:k]
        dm = st.s / np.maximum(n, 1)[:, None] - c
        self.d1[:k] = st.s - n[:, None] * c
        self.d2[:k] = st.m2 + n[:, None] * dm * dm
        self.live_abs[:] = 0.0
        self.live_abs[:k] = absum
        self.ev_n = 0
        self.ev_abs[:] = 0.0

    def columns(self, aggs, measures, single, present, extra: dict) -> dict[str, np.ndarray]:
        n = self.n[present]
        nn = np.maximum(n, 1)[:, None]
        d1 = self.d1[present]
        m2 = np.maximum(self.d2[present] - d1 * d1 / nn, 0.0)
        st = Stats(n, self.s[present], m2, extra.get("mn"), extra.get("mx"), None)
        cols = {}
        aggs_basic = tuple(a for a in aggs if not a.startswith("p"))
        if st.mn is None:
            st.mn = st.mx = np.zeros_like(st.s)
        base = finish(st, aggs_basic, measures, single=single) if aggs_basic else {}
        q = extra.get("q")  # [P x M x Q]
        qnames = [a for a in aggs if a.startswith("p")]
        for j, meas in enumerate(measures):
            for a in aggs:
                name = a if single else f"{meas}_{a}"
                if a in qnames:
                    cols[name] = q[:, j, qnames.index(a)]
                else:
                    cols[name] = base[name]
        return cols


class RowSketch:
    """Dense per-(key, measure) sketches; rows of the matrix are key * M + measure."""

    def __init__(self, n_meas: int, relative_accuracy: float) -> None:
        self.m = n_meas
        self.dense = _DenseSketches(relative_accuracy)
        self.map = _mapping(relative_accuracy)

    def add(self, codes: np.ndarray, vals: np.ndarray, n_keys: int, sign: int) -> None:
        rows = (codes[:, None] * self.m + np.arange(self.m)[None, :]).ravel()
        self.dense.add(rows, self.map.keys(vals).ravel(), n_keys * self.m, sign)

    def add_entries(self, g, m, k, c, n_keys: int, sign: int) -> None:
        self.dense.add(g * self.m + m, k, n_keys * self.m, sign, weights=c)

    def quantiles(self, qs, present: np.ndarray) -> np.ndarray:
        rows = (present[:, None] * self.m + np.arange(self.m)[None, :]).ravel()
        q = self.dense.quantiles(qs, rows)
        return q.reshape(present.size, self.m, len(qs))


# --------------------------------------------------------------------------- exact


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


class ExactWindow:
    """Window (W - size, W] over raw rows kept in time cells; O(batch) per update."""

    def __init__(self, size_ns: int, n_meas: int, needs: Needs, relative_accuracy: float) -> None:
        self.size = size_ns
        self.cw = max(1, min(size_ns // 32, 1_000_000_000))
        self.m = n_meas
        self.needs = needs
        self.totals = Totals(n_meas)
        self.sketch = RowSketch(n_meas, relative_accuracy) if needs.sketch else None
        self.cells: dict[int, _Cell] = {}
        self.order: list[int] = []
        self.cutoff = INT64_MIN
        self.n_keys = 0

    def grow(self, k: int) -> None:
        self.n_keys = max(self.n_keys, k)
        self.totals.grow(k)

    def insert(self, ts, codes, vals, watermark: int) -> None:
        cutoff = watermark - self.size
        keep = ts > cutoff
        if not keep.all():
            ts, codes, vals = ts[keep], codes[keep], vals[keep]
        self.totals.add_rows(codes, vals, +1, std=self.needs.std)
        if self.sketch is not None and codes.size:
            self.sketch.add(codes, vals, self.n_keys, +1)
        if ts.size:
            cid = ts // self.cw
            lo, hi = int(cid.min()), int(cid.max())
            if lo == hi:
                self._cell(lo).append((ts, codes, vals))
            else:
                order = np.argsort(cid, kind="stable")
                cs = cid[order]
                cuts = np.flatnonzero(cs[1:] != cs[:-1]) + 1
                for part in np.split(order, cuts):
                    self._cell(int(cid[part[0]])).append((ts[part], codes[part], vals[part]))
        self.evict(cutoff)

    def _cell(self, cid: int) -> _Cell:
        cell = self.cells.get(cid)
        if cell is None:
            cell = self.cells[cid] = _Cell()
            if not self.order or cid > self.order[-1]:
                self.order.append(cid)
            else:
                bisect.insort(self.order, cid)
        return cell

    def _remove(self, codes, vals) -> None:
        if codes.size == 0:
            return
        self.totals.add_rows(codes, vals, -1, std=self.needs.std)
        if self.sketch is not None:
            self.sketch.add(codes, vals, self.n_keys, -1)

    def evict(self, cutoff: int) -> None:
        self.cutoff = max(self.cutoff, cutoff)
        cutoff = self.cutoff
        while self.order:
            cid = self.order[0]
            cell = self.cells[cid]
            start = cid * self.cw
            if start + self.cw - 1 <= cutoff:
                ts, codes, vals = cell.live()
                self._remove(codes, vals)
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
            self.rebuild()

    def live_rows(self):
        parts = [self.cells[c].live() for c in self.order]
        if not parts:
            e = np.empty(0, dtype=np.int64)
            return e, e.copy(), np.empty((0, self.m))
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))

    def rebuild(self) -> None:
        _, codes, vals = self.live_rows()
        st = stats_from_rows(codes, self.totals.keys, vals, minmax=False)
        k = self.totals.keys
        absum = np.stack([np.bincount(codes, weights=np.abs(vals[:, j]), minlength=k)
                          for j in range(self.m)], axis=1) if codes.size else np.zeros((k, self.m))
        self.totals.rebuild(st, absum)

    def present(self) -> np.ndarray:
        return np.flatnonzero(self.totals.n > 0)

    def extra(self, qs, present) -> dict:
        out = {}
        if self.needs.std and self.totals.shift_drifted():
            self.rebuild()
        if self.needs.minmax:
            k = self.totals.keys
            mins, maxs = [], []
            for c in self.order:
                cell = self.cells[c]
                if cell.cache is None or cell.cache[0].shape[0] != k:
                    parts = [cell.live()]
                    cell.cache = (np.full((k, self.m), np.inf), np.full((k, self.m), -np.inf))
                else:
                    parts = cell.pending
                mn, mx = cell.cache
                for _, codes, vals in parts:
                    for j in range(self.m):
                        np.minimum.at(mn[:, j], codes, vals[:, j])
                        np.maximum.at(mx[:, j], codes, vals[:, j])
                cell.pending = []
                mins.append(cell.cache[0])
                maxs.append(cell.cache[1])
            out["mn"] = np.min(mins, axis=0)[present]
            out["mx"] = np.max(maxs, axis=0)[present]
        if qs:
            out["q"] = self.sketch.quantiles(qs, present)
        return out

    def memory_rows(self) -> int:
        return sum(c.size() for c in self.cells.values())


# --------------------------------------------------------------------------- buckets


class BucketRing:
    """Pre-aggregated buckets per key; the window is the buckets in [lo, hi).

    With hop ``h`` (a multiple of the resolution ``r``), the window at watermark W ends
    at the first hop boundary after W, ``e = floor(W / h) * h + h``, and starts at
    ``e - size``. Bucketed windows use ``h = r``; tumbling ``h = size``; sliding ``h = every``.
    """

    def __init__(self, size_ns: int, res_ns: int, hop_ns: int, n_meas: int, needs: Needs,
                 relative_accuracy: float, *, closes: bool, lateness_ns: int) -> None:
        self.size, self.r, self.h = size_ns, res_ns, hop_ns
        self.nb = size_ns // res_ns
        self.m = n_meas
        self.needs = needs
        self.rel = relative_accuracy
        self.map = _mapping(relative_accuracy)
        self.closes = closes
        self.lateness = lateness_ns
        self.totals = Totals(n_meas)
        self.sketch = RowSketch(n_meas, relative_accuracy) if needs.sketch else None
        self.n_keys = 0
        self.cap = 0
        self.slot_of: dict[int, int] = {}
        self.free: list[int] = []
        self.order: list[int] = []  # live bucket indices, sorted
        self.sk: dict[int, list] = {}
        self.win_lo: int | None = None  # first bucket index of the current window
        self.next_close: int | None = None  # end (ns) of the next window to close
        self.closed: deque = deque()
        self._alloc(0, 16)

    # storage -------------------------------------------------------------
    def _alloc(self, keys: int, cap: int) -> None:
        k_old, c_old = self.n_keys, self.cap
        k, c = max(keys, k_old), max(cap, c_old)
        if (k, c) == (k_old, c_old) and c_old:
            return
        kc = max(k, 8) if k > k_old else k_old if c_old else max(k, 8)
        def grow(a, fill, dtype=np.float64, meas=True):
            shape = (c, kc, self.m) if meas else (c, kc)
            new = np.full(shape, fill, dtype=dtype)
            if a is not None:
                new[: a.shape[0], : a.shape[1]] = a
            return new
        first = c_old == 0
        self.pn = grow(None if first else self.pn, 0, np.int64, meas=False)
        self.ps = grow(None if first else self.ps, 0.0)
        self.pm2 = grow(None if first else self.pm2, 0.0)
        self.pmn = grow(None if first else self.pmn, np.inf)
        self.pmx = grow(None if first else self.pmx, -np.inf)
        self.pabs = grow(None if first else self.pabs, 0.0)
        self.kcap = kc
        if c > c_old:
            self.free.extend(range(c - 1, c_old - 1, -1))
        self.cap = c

    def grow(self, k: int) -> None:
        if k > getattr(self, "kcap", 0):
            self._alloc(max(k, 2 * self.kcap), self.cap)
        self.n_keys = max(self.n_keys, k)
        self.totals.grow(k)

    def _slot(self, b: int) -> int:
        s = self.slot_of.get(b)
        if s is None:
            if not self.free:
                self._alloc(self.kcap, 2 * self.cap)
            s = self.free.pop()
            self.slot_of[b] = s
            if not self.order or b > self.order[-1]:
                self.order.append(b)
            else:
                bisect.insort(self.order, b)
        return s

    def _drop(self, b: int) -> None:
        s = self.slot_of.pop(b)
        self.pn[s] = 0
        self.ps[s] = 0.0
        self.pm2[s] = 0.0
        self.pmn[s] = np.inf
        self.pmx[s] = -np.inf
        self.pabs[s] = 0.0
        self.sk.pop(s, None)
        self.free.append(s)

    def _slot_sketch(self, s: int):
        parts = self.sk.get(s)
        if not parts:
            e = np.empty(0, dtype=np.int64)
            return e, e, e, e
        if len(parts) > 1:
            g, m, k, c = (np.concatenate([p[i] for p in parts]) for i in range(4))
            parts[:] = [compact_sketch(g, m, k, c)]
        return parts[0]

    def window_lo(self, watermark: int) -> int:
        end = (watermark // self.h) * self.h + self.h
        return (end - self.size) // self.r

    def window_hi(self, watermark: int) -> int:
        return ((watermark // self.h) * self.h + self.h) // self.r

    # updates -------------------------------------------------------------
    def insert(self, ts, codes, vals, watermark: int) -> None:
        new_lo = self.window_lo(watermark)
        if self.win_lo is None:
            self.win_lo = new_lo
        # 1. buckets leaving the window (they hold only rows of earlier batches)
        if new_lo > self.win_lo:
            i0 = bisect.bisect_left(self.order, self.win_lo)
            i1 = bisect.bisect_left(self.order, new_lo)
            for b in self.order[i0:i1]:
                self._leave(self.slot_of[b])
            self.win_lo = new_lo
            if not self.closes:  # free their slots before new buckets need them
                while self.order and self.order[0] < new_lo:
                    self._drop(self.order.pop(0))
        if self.closes and self.next_close is None and ts.size:
            # the earliest window any acceptable row can reach: rows to come have
            # event time >= W - lateness
            t = min(int(ts.min()), watermark - self.lateness)
            k = (t - self.size) // self.h + 1
            self.next_close = k * self.h + self.size
        keep_lo = new_lo
        if self.closes:
            keep_lo = min(keep_lo, (self.next_close - self.size) // self.r)
        # 2. rows into their buckets
        b = ts // self.r
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
            keep_lo = min(keep_lo, (self.next_close - self.size) // self.r)
        while self.order and self.order[0] < keep_lo:
            self._drop(self.order.pop(0))
        if self.totals.stale():
            self.rebuild()

    def _leave(self, s: int) -> None:
        k = self.n_keys
        n = self.pn[s, :k]
        if not n.any():
            return
        self.totals.add_groups(n, self.ps[s, :k], self.pm2[s, :k] if self.needs.std else None, -1,
                               self.pabs[s, :k])
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
        for j in range(self.m):
            self.pabs[sl, kk, j] += np.bincount(gid, weights=absv[:, j], minlength=G)[touched]
        nb = st.n[touched]
        na = self.pn[sl, kk]
        nt = na + nb
        sa = self.ps[sl, kk]
        sb = st.s[touched]
        if needs.std:
            da = sa / np.maximum(na, 1)[:, None]
            db = sb / nb[:, None]
            d = db - da
            w = (na * nb / nt)[:, None]
            self.pm2[sl, kk] = self.pm2[sl, kk] + st.m2[touched] + d * d * w
        self.ps[sl, kk] = sa + sb
        self.pn[sl, kk] = nt
        if needs.minmax:
            self.pmn[sl, kk] = np.minimum(self.pmn[sl, kk], st.mn[touched])
            self.pmx[sl, kk] = np.maximum(self.pmx[sl, kk], st.mx[touched])
        if needs.sketch:
            keys = self.map.keys(vals)
            m = vals.shape[1]
            rs = np.repeat(slots[lb], m)
            g = np.repeat(codes, m)
            mm = np.tile(np.arange(m), codes.size)
            kr = keys.ravel()
            for s in np.unique(rs).tolist():
                sel = rs == s
                entry = (g[sel], mm[sel], kr[sel], np.ones(int(sel.sum()), dtype=np.int64))
                parts = self.sk.setdefault(s, [])
                parts.append(entry)
                # compact once raw entries outgrow the compacted part: memory stays
                # ~keys x bins per bucket whatever the event rate, at O(1) amortised
                raw = sum(p[0].size for p in parts[1:])
                if raw > 16384 + parts[0][0].size:
                    self._slot_sketch(s)

    def _stats_of(self, buckets: list[int], sketch: bool = True) -> Stats:
        """Pre-aggregates per (bucket position, key) for the given live buckets."""
        k = self.n_keys
        slots = np.array([self.slot_of[b] for b in buckets], dtype=np.int64)
        st = Stats(self.pn[slots, :k].reshape(-1), self.ps[slots, :k].reshape(-1, self.m),
                   self.pm2[slots, :k].reshape(-1, self.m), self.pmn[slots, :k].reshape(-1, self.m),
                   self.pmx[slots, :k].reshape(-1, self.m), None)
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
        st = self._stats_of(buckets, sketch=sketch)
        target = np.tile(np.arange(k), len(buckets))
        return combine(st, target, k)

    def rebuild(self) -> None:
        k = self.n_keys
        hi = self.order[-1] + 1 if self.order else 0
        buckets = self.window_buckets(self.win_lo, hi) if self.order else []
        if buckets:
            st = self.per_key(buckets, sketch=False)
            absum = self.pabs[[self.slot_of[b] for b in buckets], :k].sum(axis=0)
        else:
            z = np.zeros((k, self.m))
            st = Stats(np.zeros(k, dtype=np.int64), z, z.copy(), None, None)
            absum = np.zeros((k, self.m))
        self.totals.rebuild(st, absum)

    def _close(self, horizon: int) -> None:
        while self.next_close is not None and self.next_close <= horizon:
            end = self.next_close
            start = end - self.size
            lo, hi = start // self.r, end // self.r
            buckets = self.window_buckets(lo, hi)
            if buckets:
                self.closed.append((start, end, self.per_key(buckets)))
                self.next_close = end + self.h
            else:
                # jump over empty windows to the first one holding a live bucket
                i = bisect.bisect_left(self.order, hi)
                if i == len(self.order):
                    # nothing later is live: the next window that can hold a row
                    # ends after the horizon
                    k = (horizon - self.size) // self.h + 1
                    self.next_close = max(end + self.h, k * self.h + self.size)
                else:
                    first = self.order[i] * self.r
                    k = (first - self.size) // self.h + 1
                    self.next_close = max(end + self.h, k * self.h + self.size)

    # reading -------------------------------------------------------------
    def present(self) -> np.ndarray:
        return np.flatnonzero(self.totals.n > 0)

    def extra(self, qs, present) -> dict:
        out = {}
        if self.needs.std and self.totals.shift_drifted():
            self.rebuild()
        if self.needs.minmax:
            hi = self.order[-1] + 1 if self.order else 0
            slots = [self.slot_of[b] for b in self.window_buckets(self.win_lo, hi)]
            k = self.n_keys
            out["mn"] = self.pmn[slots, :k].min(axis=0)[present]
            out["mx"] = self.pmx[slots, :k].max(axis=0)[present]
        if qs:
            out["q"] = self.sketch.quantiles(qs, present)
        return out

    def memory_rows(self) -> int:
        return len(self.slot_of) * self.n_keys

    # merging -------------------------------------------------------------
    def export(self, remap: np.ndarray):
        """Live (bucket, key) groups with keys renumbered by ``remap``."""
        k = self.n_keys
        buckets = list(self.order)
        if not buckets:
            return None
        st = self._stats_of(buckets)
        keep = np.flatnonzero(st.n > 0)
        b = np.repeat(np.array(buckets, dtype=np.int64), k)[keep]
        codes = remap[np.tile(np.arange(k), len(buckets))[keep]]
        slots = np.array([self.slot_of[x] for x in buckets], dtype=np.int64)
        absum = self.pabs[slots, :k].reshape(-1, self.m)[keep]
        return b, codes, _take(st, keep), absum

    def load(self, parts, watermark: int) -> None:
        """Fill an empty ring with exported groups (equal groups are merged)."""
        parts = [p for p in parts if p is not None]
        self.win_lo = self.window_lo(watermark)
        if parts:
            b = np.concatenate([p[0] for p in parts])
            codes = np.concatenate([p[1] for p in parts])
            st = concat_stats([p[2] for p in parts])
            absum = np.concatenate([p[3] for p in parts])
            keep = b >= self.win_lo
            k = self.n_keys
            ug, target = np.unique(b * k + codes, return_inverse=True)
            merged = combine(st, target, ug.size)
            absum = np.stack([np.bincount(target, weights=absum[:, j], minlength=ug.size)
                              for j in range(self.m)], axis=1)
            ub, kk = ug // k, ug % k
            live = ub >= self.win_lo
            for x in np.unique(ub[live]).tolist():
                self._slot(x)
            sl = np.array([self.slot_of[x] for x in ub[live].tolist()], dtype=np.int64)
            kk = kk[live]
            idx = np.flatnonzero(live)
            self.pn[sl, kk] = merged.n[idx]
            self.ps[sl, kk] = merged.s[idx]
            self.pm2[sl, kk] = merged.m2[idx]
            self.pmn[sl, kk] = merged.mn[idx]
            self.pmx[sl, kk] = merged.mx[idx]
            self.pabs[sl, kk] = absum[idx]
            if merged.sk is not None:
                g, m, key, c = merged.sk
                pos = np.full(ug.size, -1, dtype=np.int64)
                pos[idx] = np.arange(idx.size)
                sel = pos[g] >= 0
                g, m, key, c = g[sel], m[sel], key[sel], c[sel]
                slot_of_g = sl[pos[g]]
                for s in np.unique(slot_of_g).tolist():
                    z = slot_of_g == s
                    self.sk[s] = [(kk[pos[g[z]]], m[z], key[z], c[z])]
            del keep
        self.rebuild()
        if self.sketch is not None:
            hi = self.order[-1] + 1 if self.order else 0
            for x in self.window_buckets(self.win_lo, hi):
                g, m, key, c = self._slot_sketch(self.slot_of[x])
                self.sketch.add_entries(g, m, key, c, self.n_keys, +1)


# --------------------------------------------------------------------------- sessions


class SessionWindows:
    """Per-key sessions: rows closer than ``gap`` in event time share a session.

    A session closes when no acceptable row can reach it any more: when
    ``W - lateness > end + gap``. Open sessions are kept as pre-aggregates (bounded by
    the number of keys, whatever the event rate), so merging two sessions bridged by a
    late row is a merge of their aggregates.
    """

    def __init__(self, gap_ns: int, lateness_ns: int, n_meas: int, needs: Needs,
                 relative_accuracy: float) -> None:
        self.gap = gap_ns
        self.lateness = lateness_ns
        self.m = n_meas
        self.needs = needs
        self.map = _mapping(relative_accuracy)
        e = np.empty(0, dtype=np.int64)
        self.key, self.start, self.end = e, e.copy(), e.copy()
        self.stats = Stats(e.copy(), np.empty((0, n_meas)), np.empty((0, n_meas)),
                           np.empty((0, n_meas)), np.empty((0, n_meas)),
                           (e.copy(), e.copy(), e.copy(), e.copy()) if needs.sketch else None)
        self.closed: deque = deque()
        self.n_keys = 0

    def grow(self, k: int) -> None:
        self.n_keys = max(self.n_keys, k)

    def insert(self, ts, codes, vals, watermark: int) -> None:
        if ts.size:
            self._merge(ts, codes, vals)
        self._close(watermark - self.lateness)

    def _merge(self, ts, codes, vals) -> None:
        touched = np.unique(codes)
        old = np.isin(self.key, touched)
        keep_idx, old_idx = np.flatnonzero(~old), np.flatnonzero(old)
        rows = stats_from_rows(np.arange(ts.size), ts.size, vals, minmax=True, m2=True,
                               sketch_keys=self.map.keys(vals) if self.needs.sketch else None)
        olds = _take(self.stats, old_idx)
        items = concat_stats([olds, rows])
        ikey = np.concatenate([self.key[old_idx], codes])
        istart = np.concatenate([self.start[old_idx], ts])
        iend = np.concatenate([self.end[old_idx], ts])
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
        starts = np.flatnonzero(new)
        skey = ikey[starts]
        sstart = istart[starts]
        send = np.maximum.reduceat(iend, starts)
        kept = _take(self.stats, keep_idx)
        self.stats = concat_stats([kept, merged])
        self.key = np.concatenate([self.key[keep_idx], skey])
        self.start = np.concatenate([self.start[keep_idx], sstart])
        self.end = np.concatenate([self.end[keep_idx], send])

    def _close(self, horizon: int) -> None:
        done = self.end + self.gap < horizon
        if not done.any():
            return
        idx = np.flatnonzero(done)
        order = idx[np.lexsort((self.key[idx], self.start[idx]))]
        self.closed.append((self.start[order], self.end[order], self.key[order],
                            _take(self.stats, order)))
        rest = np.flatnonzero(~done)
        self.stats = _take(self.stats, rest)
        self.key, self.start, self.end = self.key[rest], self.start[rest], self.end[rest]

    def latest(self) -> np.ndarray:
        """Index of each key's most recent open session."""
        if self.key.size == 0:
            return np.empty(0, dtype=np.int64)
        order = np.lexsort((self.start, self.key))
        last = np.ones(order.size, dtype=bool)
        last[:-1] = self.key[order][1:] != self.key[order][:-1]
        idx = order[last]
        return idx

    def memory_rows(self) -> int:
        return int(self.key.size)


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
