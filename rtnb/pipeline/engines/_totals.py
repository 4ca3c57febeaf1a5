"""Running per-key totals over a window, and the per-key sketches rolling windows keep.

Running totals (count, sum, shifted power sums for the variance) are kept per key and
updated in O(batch); they are rebuilt from the live data (O(window)) only when the rows
evicted since the last rebuild outnumber or outweigh the live ones, which bounds the
rounding error by the live window's own magnitude and costs O(1) amortised per row.

Values near float64's limit: a window whose sum goes past it holds ``±inf`` (what pandas
gives for the same rows), and once those rows leave, a running total would keep
``inf - inf = NaN`` for ever; a key whose totals are not finite is rebuilt from its live
rows instead (see :meth:`Totals.stale`).
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from .._buckets import Stats
from ..sketch import _mapping, _SparseSketches

__all__ = ["Totals", "RowSketch", "LazyQuantiles"]

_TOTALS = ("s", "d1", "d2", "c", "live_abs", "ev_abs")
_DENSE = 32  # rows are grouped by bincount over every key slot when slots <= this x rows


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
        self._touched: list[np.ndarray] = []  # keys rows left since the last stale()
        self._lease = None  # weak reference to the lease of the count and sum arrays lent

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
        for name in _TOTALS:
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros((pad, self.m))]))
        self.seen = np.concatenate([self.seen, np.zeros(pad, dtype=bool)])
        self._lease = None  # new arrays: the ones lent stay as they were

    def keep(self, live: np.ndarray, remap: np.ndarray) -> None:
        """Keep the keys ``live`` only, as codes ``0..len(live)-1`` (new arrays: O(live))."""
        self.n = self.n[live]
        for name in _TOTALS:
            setattr(self, name, getattr(self, name)[live])
        self.seen = self.seen[live]
        self._lease = None  # new arrays: the ones lent stay as they were
        touched = [remap[t] for t in self._touched]
        self._touched = [t[t >= 0] for t in touched]

    def lend(self) -> tuple[np.ndarray, np.ndarray, _Lease]:
        """The count and sum arrays as they are (by key code, every slot), and a lease.

        Nothing is copied now: while the lease is held (by a snapshot that may read
        them later), the next change copies the two arrays first (copy on write, one
        memcpy of the slots), so the holder reads them as they were when lent; once the
        lease is gone, changes go in place again.
        """
        lease = self._lease() if self._lease is not None else None
        if lease is None:  # one lease per version of the arrays, shared by all its readers
            lease = _Lease()
            self._lease = weakref.ref(lease)
        return self.n, self.s, lease

    def _own(self) -> None:
        """Copy the arrays lent before changing them, if their lease is still held."""
        if self._lease is not None:
            if self._lease() is not None:
                self.n, self.s = self.n.copy(), self.s.copy()
            self._lease = None

    def _shift_new_keys(self, codes: np.ndarray, vals: np.ndarray) -> None:
        fresh = ~self.seen[codes]
        if fresh.any():
            idx = np.flatnonzero(fresh)
            u, first = np.unique(codes[idx], return_index=True)
            self.c[u] = vals[idx[first]]
            self.seen[u] = True

    def add_rows(self, codes: np.ndarray, vals: np.ndarray, sign: int, *, std: bool) -> None:
        """Add (or take away) rows; costs O(rows), whatever the number of keys.

        The rows are grouped by key with ``np.unique`` (a sort), or — when the key slots
        are few next to the rows (``keys <= 32 x rows``) — by ``bincount`` over every slot,
        O(rows + keys), 2-10x cheaper than the sort for a 1,000-row batch.
        """
        if codes.size == 0:
            return
        self._own()
        k = self.keys
        if k <= _DENSE * codes.size:
            local, counts = codes, np.bincount(codes, minlength=k)
            u = np.flatnonzero(counts)
            g = k
            pick = u
        else:
            u, local = np.unique(codes, return_inverse=True)
            local = local.ravel()
            g = u.size
            counts = np.bincount(local, minlength=g)
            pick = slice(None)
        self.n[u] += sign * counts[pick]
        if sign > 0 and std:  # the shifts only serve the variance
            self._shift_new_keys(codes, vals)
        absum = np.empty((u.size, self.m))
        for j in range(self.m):
            v = vals[:, j]
            sums = np.bincount(local, weights=v, minlength=g)[pick]
            self.s[u, j] += sign * sums
            if std:
                d = v - self.c[codes, j]
                self.d1[u, j] += sign * np.bincount(local, weights=d, minlength=g)[pick]
                self.d2[u, j] += sign * np.bincount(local, weights=d * d, minlength=g)[pick]
            # sum |x|: the sums themselves when no value is negative (amounts, durations)
            absum[:, j] = sums if v.min() >= 0 else np.bincount(local, weights=np.abs(v), minlength=g)[pick]
        self._account(u, absum, sign)

    def add_groups(self, keys: np.ndarray, n: np.ndarray, s: np.ndarray, m2: np.ndarray | None, sign: int,
                   absum: np.ndarray) -> None:
        """Add (or take away) whole groups, one per key of ``keys`` (distinct codes).

        ``n``, ``s``, ``m2`` and ``absum`` (the sum of the groups' rows' absolute values)
        are aligned with ``keys``; costs O(len(keys)), whatever the number of keys.
        """
        self._own()
        self.n[keys] += sign * n
        self.s[keys] += sign * s
        if m2 is not None:
            fresh = (~self.seen[keys]) & (n > 0)
            if sign > 0 and fresh.any():
                f = keys[fresh]
                self.c[f] = s[fresh] / n[fresh, None]
                self.seen[f] = True
            c = self.c[keys]
            safe = np.maximum(n, 1)[:, None]
            dm = s / safe - c
            self.d1[keys] += sign * (s - n[:, None] * c)
            self.d2[keys] += sign * (m2 + n[:, None] * dm * dm)
        has = n > 0
        self._account(keys[has], absum[has], sign)

    def _account(self, keys: np.ndarray, absum: np.ndarray, sign: int) -> None:
        """Track |x| of the rows of ``keys``; a key left without rows is reset to exact zeros."""
        if sign > 0:
            self.live_abs[keys] += absum
            return
        self.live_abs[keys] -= absum
        self.ev_abs[keys] += absum
        empty = keys[self.n[keys] == 0]
        if empty.size:  # its window holds no rows: its totals are exactly zero
            for name in ("s", "d1", "d2", "live_abs", "ev_abs"):
                getattr(self, name)[empty] = 0.0
        self._touched.append(keys)

    def stale(self) -> bool:
        """True when, for a key rows left since the last check, the evicted rows outweigh
        the live ones 64 to 1 (its running sums could have lost digits: rebuild due), or
        its running sums are not finite (rows past float64's range were in the window:
        ``inf - inf`` is NaN, and only the live rows can tell what is left).

        Only the keys rows left are looked at, so the check costs O(batch); a key
        whose rows all left is reset to zero instead (no rebuild). While the live rows
        themselves sum past float64's range, each eviction of that key rebuilds
        (O(window)): the price of an honest ``inf`` rather than a NaN that stays.
        """
        if not self._touched:
            return False
        touched = self._touched
        self._touched = []
        with np.errstate(over="ignore"):  # |x| near float64's max: 64x is inf, never stale
            if sum(t.size for t in touched) * _DENSE >= self.keys:  # every slot: cheaper than a sort
                keys: slice | np.ndarray = slice(None)
            else:
                keys = np.unique(np.concatenate(touched))
            live = self.live_abs[keys]
            if (self.ev_abs[keys] > 64.0 * np.maximum(live, 0.0)).any():
                return True
            return not (np.isfinite(self.s[keys]).all() and np.isfinite(live).all()
                        and np.isfinite(self.d1[keys]).all() and np.isfinite(self.d2[keys]).all())

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
        self._own()
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
        self.ev_abs[:] = 0.0
        self._touched = []

    def m2(self, present: np.ndarray) -> np.ndarray:
        """Sums of squared deviations from the mean of the keys ``present`` (K x M)."""
        nn = np.maximum(np.take(self.n, present), 1)[:, None]  # take: 2-3x faster than fancy indexing
        d1 = self.d1[present]
        return np.maximum(self.d2[present] - d1 * d1 / nn, 0.0)

    def export(self, n_keys: int) -> tuple[dict, dict]:
        arrays = {"totals_count": self.n[:n_keys].copy(), "totals_seen": self.seen[:n_keys].copy()}
        for name in _TOTALS:
            arrays[f"totals_{name}"] = getattr(self, name)[:n_keys].copy()
        return {}, arrays

    def load(self, meta: dict, arrays: dict) -> None:
        n = np.asarray(arrays["totals_count"], dtype=np.int64)
        k = n.shape[0]
        self.grow(k)
        self._own()
        self.n[:k] = n
        self.seen[:k] = arrays["totals_seen"]
        for name in _TOTALS:
            getattr(self, name)[:k] = arrays[f"totals_{name}"]


class _Lease:
    """Held by the reader of arrays :meth:`Totals.lend` handed out (only its life matters)."""

    __slots__ = ("__weakref__",)


class RowSketch:
    """Per-(key, measure) sketches, sparse (:class:`~rtnb.pipeline.sketch._SparseSketches`);
    sketch rows are key * M + measure.

    A read (:meth:`quantiles`) is lazy: it returns :class:`LazyQuantiles`, which computes
    a key's quantiles the first time they are read, and only when its sketch changed
    since the last computation (a per-key cache: O(keys read and changed x their bins)).
    It reads the sketches as they were at the read (their runs are replaced, never
    changed in place), so a snapshot answers for its own time whenever it is read.
    """

    def __init__(self, n_meas: int, relative_accuracy: float) -> None:
        self.m = n_meas
        self.dense = _SparseSketches(relative_accuracy)
        self.map = _mapping(relative_accuracy)
        self._lock = threading.Lock()  # a snapshot may be read while the next batch goes in
        self._reset()

    def _reset(self) -> None:
        with self._lock:  # a reader must never see the new epoch's arrays under the old one
            self._epoch = getattr(self, "_epoch", 0) + 1  # cache numbering: a read of another caches nothing
            self._fresh()

    def _fresh(self) -> None:
        self._qs: tuple[float, ...] | None = None
        self._cache = np.zeros((0, self.m, 0))
        self._dirty = np.zeros(0, dtype=bool)  # the cached quantiles of a key are stale
        self._changed = np.zeros(0, dtype=np.int64)  # version of each key's last change
        self._version = 0
        self._views: list = []  # weak references to reads not fully computed

    def _touch(self, keys: np.ndarray) -> None:
        with self._lock:
            self._version += 1
            if keys.size:
                top = int(keys.max()) + 1
                if top > self._dirty.size:
                    pad = max(top, 2 * self._dirty.size) - self._dirty.size
                    self._dirty = np.concatenate([self._dirty, np.ones(pad, dtype=bool)])
                    self._changed = np.concatenate([self._changed, np.zeros(pad, dtype=np.int64)])
                self._dirty[keys] = True
                self._changed[keys] = self._version
        self._settle()

    def _settle(self) -> None:
        """Compute the reads still pending but the newest: each one pins the sketches as
        they were, so at most one older copy is held (and a reader gets it at the same cost)."""
        with self._lock:
            views = [v for v in (r() for r in self._views) if v is not None and v.pending]
            self._views = [weakref.ref(v) for v in views[-1:]]
        for v in views[:-1]:
            v.compute()

    def add(self, codes: np.ndarray, vals: np.ndarray, n_keys: int, sign: int) -> None:
        rows = (codes[:, None] * self.m + np.arange(self.m)[None, :]).ravel()
        self.dense.add(rows, self.map.keys(vals).ravel(), n_keys * self.m, sign)
        self._touch(codes)

    def add_entries(self, g, m, k, c, n_keys: int, sign: int) -> None:
        self.dense.add(g * self.m + m, k, n_keys * self.m, sign, weights=c)
        self._touch(np.asarray(g, dtype=np.int64))

    def quantiles(self, qs, present: np.ndarray) -> LazyQuantiles:
        """The quantiles ``qs`` of the keys ``present`` (K x M x Q), computed when read."""
        qs = tuple(qs)
        with self._lock:
            need = int(present.max()) + 1 if present.size else 0
            if qs != self._qs or self._cache.shape[0] < need:
                size = max(need, 2 * self._cache.shape[0])
                grown = np.full((size, self.m, len(qs)), np.nan)
                if qs == self._qs:
                    grown[: self._cache.shape[0]] = self._cache
                else:
                    self._dirty[:] = True
                    self._epoch += 1
                self._cache, self._qs = grown, qs
            if self._dirty.size < need:
                pad = need - self._dirty.size
                self._dirty = np.concatenate([self._dirty, np.ones(pad, dtype=bool)])
                self._changed = np.concatenate([self._changed, np.zeros(pad, dtype=np.int64)])
            todo = self._dirty[present] if present.size else np.zeros(0, dtype=bool)
            view = LazyQuantiles(self, qs, present, self._cache[present], todo, self.dense.frozen(), self._version)
            if view.pending:
                self._views.append(weakref.ref(view))
        return view

    def _cached(self, view: LazyQuantiles, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``keys`` the cache holds as they were at ``view`` (computed by a later
        read, unchanged since), and their quantiles."""
        with self._lock:
            if view.epoch != self._epoch:  # renumbered since: nothing cached is the view's
                return np.zeros(keys.size, dtype=bool), np.empty((0,) + view.shape[1:])
            ok = ~self._dirty[keys] & (self._changed[keys] <= view.version)
            return ok, self._cache[keys[ok]]

    def _computed(self, view: LazyQuantiles, keys: np.ndarray, vals: np.ndarray) -> None:
        """A read computed ``keys``: cache them if their sketch has not changed since."""
        with self._lock:
            if view.epoch != self._epoch:  # keys renumbered or other quantiles since
                return
            ok = self._changed[keys] <= view.version
            self._cache[keys[ok]] = vals[ok]
            self._dirty[keys[ok]] = False

    def keep(self, live: np.ndarray) -> None:
        """Keep the sketches of the keys ``live`` only, renumbered ``0..len(live)-1``."""
        top = int(live.max()) + 1 if live.size else 0
        key_map = np.full(top, -1, dtype=np.int64)
        key_map[live] = np.arange(live.size)
        row_map = (key_map[:, None] * self.m + np.arange(self.m)[None, :]).ravel()
        row_map[np.repeat(key_map < 0, self.m)] = -1
        self.dense.keep(row_map)
        self._reset()

    def export(self) -> tuple[dict, dict]:
        rows, bins, counts = self.dense.entries()
        return {}, {"sketch_row": rows, "sketch_bin": bins, "sketch_count": counts}

    def load(self, meta: dict, arrays: dict) -> None:
        if "sketch_row" in arrays:
            self.dense.load_entries(arrays["sketch_row"], arrays["sketch_bin"], arrays["sketch_count"])
        else:  # a state exported when the sketches were a dense matrix
            self.dense.load_dense(arrays["sketch_counts"], int(meta["sketch_lowest_bin"]))
        self._reset()


class LazyQuantiles:
    """Quantiles of a read (K keys x M measures x Q), computed for the keys read.

    Indexed like the array it stands for (``q[:, j, i]``, ``q[rows, j, i]``); the keys
    whose sketch had changed are computed on the first read that includes them, from
    the sketches as they were at the read, then kept.
    """

    __slots__ = ("_owner", "_qs", "_present", "_vals", "_todo", "_runs", "version", "epoch", "__weakref__")

    def __init__(self, owner: RowSketch, qs, present, vals, todo, runs, version: int) -> None:
        self._owner, self._qs, self._present = owner, qs, present
        self._vals, self._todo, self._runs, self.version = vals, todo, runs, version
        self.epoch = owner._epoch
        if not todo.any():
            self._runs = self._owner = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._vals.shape

    @property
    def pending(self) -> bool:
        return self._runs is not None

    def compute(self, at: np.ndarray | None = None) -> None:
        """Compute the rows ``at`` (positions; every row if ``None``) not computed yet."""
        owner, runs = self._owner, self._runs  # another reader may finish meanwhile
        if runs is None or owner is None:
            return
        pos = np.flatnonzero(self._todo) if at is None else np.unique(at[self._todo[at]])
        if pos.size:  # computed by a later read in the meantime: from the cache
            ok, vals = owner._cached(self, self._present[pos])
            self._vals[pos[ok]] = vals
            self._todo[pos[ok]] = False
            pos = pos[~ok]
        if pos.size:
            m = owner.m
            keys = self._present[pos]
            rows = (keys[:, None] * m + np.arange(m)[None, :]).ravel()
            vals = owner.dense.quantiles(self._qs, rows, runs=runs).reshape(pos.size, m, len(self._qs))
            self._vals[pos] = vals
            self._todo[pos] = False
            owner._computed(self, keys, vals)
        if at is None or not self._todo.any():
            self._runs = self._owner = None  # everything computed: the old sketches can go

    def __getitem__(self, key):
        rows = key[0] if isinstance(key, tuple) else key
        if isinstance(rows, slice) and rows == slice(None):
            self.compute()
        else:
            self.compute(np.atleast_1d(np.arange(self._vals.shape[0])[rows]))
        return self._vals[key]

    def __array__(self, dtype=None, copy=None):
        self.compute()
        return self._vals if dtype is None else self._vals.astype(dtype)
