"""Running per-key totals over a window, and the per-key sketches rolling windows keep.

Running totals (count, sum, shifted power sums for the variance) are kept per key and
updated in O(batch); they are rebuilt from the live data (O(window)) only when the rows
evicted since the last rebuild outnumber or outweigh the live ones, which bounds the
rounding error by the live window's own magnitude and costs O(1) amortised per row.
"""

from __future__ import annotations

import numpy as np

from .._buckets import Stats
from ..sketch import _DenseSketches, _mapping

__all__ = ["Totals", "RowSketch"]

_TOTALS = ("s", "d1", "d2", "c", "live_abs", "ev_abs")


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
        for name in _TOTALS:
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

    def read(self, present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(count, sum, m2)`` of the keys ``present``."""
        n = self.n[present]
        nn = np.maximum(n, 1)[:, None]
        d1 = self.d1[present]
        m2 = np.maximum(self.d2[present] - d1 * d1 / nn, 0.0)
        return n, self.s[present], m2

    def export(self, n_keys: int) -> tuple[dict, dict]:
        arrays = {"totals_count": self.n[:n_keys].copy(), "totals_seen": self.seen[:n_keys].copy()}
        for name in _TOTALS:
            arrays[f"totals_{name}"] = getattr(self, name)[:n_keys].copy()
        return {"totals_evicted_rows": int(self.ev_n)}, arrays

    def load(self, meta: dict, arrays: dict) -> None:
        n = np.asarray(arrays["totals_count"], dtype=np.int64)
        k = n.shape[0]
        self.grow(k)
        self.n[:k] = n
        self.seen[:k] = arrays["totals_seen"]
        for name in _TOTALS:
            getattr(self, name)[:k] = arrays[f"totals_{name}"]
        self.ev_n = int(meta["totals_evicted_rows"])


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

    def export(self) -> tuple[dict, dict]:
        return {"sketch_lowest_bin": int(self.dense.lo)}, {"sketch_counts": self.dense.counts.copy()}

    def load(self, meta: dict, arrays: dict) -> None:
        self.dense.counts = np.array(arrays["sketch_counts"], dtype=np.int64)
        self.dense.lo = int(meta["sketch_lowest_bin"])
