"""One bucket's pre-aggregated groups (a :class:`Part`), and the arithmetic on parts.

A part is sorted by key code with distinct keys and holds, per key, the count, per
measure the sum, the sum of |x| (``None`` when no row was negative: it is then the
sum), and — only when the aggregates need them — M2 (Chan), min, max and sketch
entries (key, measure, bin, count sorted in that order). Parts of one bucket combine
(:func:`combine_parts`) and are renumbered when keys are evicted; the
:class:`~._store.BucketStore` holds them by bucket.
"""

from __future__ import annotations

import numpy as np

from .._buckets import compact_sketch

__all__ = ["Part", "combine_parts", "small_counts", "small_keys"]

_KEY = np.int32  # key codes < 2**31 (the key index is dense)


def small_keys(keys: np.ndarray) -> np.ndarray:
    """Sorted key codes in the smallest dtype that holds them (uint16 below 65,536)."""
    return keys.astype(np.uint16 if not keys.size or keys[-1] < 65536 else _KEY)


def small_counts(n: np.ndarray) -> np.ndarray:
    """Counts as int32 when they fit (a bucket's count of one key seldom passes 2**31)."""
    return n.astype(np.int32 if not n.size or n.max() < 2**31 else np.int64)


class Part:
    """Groups of one bucket, one per distinct key (ascending)."""

    __slots__ = ("keys", "n", "s", "ab", "m2", "mn", "mx", "sk")

    def __init__(self, keys, n, s, ab, m2=None, mn=None, mx=None, sk=None) -> None:
        self.keys, self.n, self.s, self.ab = keys, n, s, ab
        self.m2, self.mn, self.mx, self.sk = m2, mn, mx, sk

    @property
    def size(self) -> int:
        return self.keys.size

    @property
    def absum(self) -> np.ndarray:
        """Per group and measure, the sum of |x| (``ab is None``: no negative row, so ``s``)."""
        return self.s if self.ab is None else self.ab

    def nbytes(self) -> int:
        arrays = [self.keys, self.n, self.s, self.ab, self.m2, self.mn, self.mx, *(self.sk or ())]
        return sum(a.nbytes for a in arrays if a is not None)


def combine_parts(parts: list[Part]) -> Part:
    """One part holding every part's groups (equal keys combined), in O(groups) numpy calls."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    cat = (lambda name: np.concatenate([getattr(p, name) for p in parts]))
    keys, inv = np.unique(cat("keys"), return_inverse=True)
    inv = inv.ravel()
    g, m = keys.size, first.s.shape[1]
    n_all = cat("n")
    n = small_counts(np.bincount(inv, weights=n_all, minlength=g))
    s_all = cat("s")
    s = np.empty((g, m))
    ab = ab_all = None
    if any(p.ab is not None for p in parts):
        ab_all = np.concatenate([p.absum for p in parts])
        ab = np.empty((g, m))
    m2 = None if first.m2 is None else np.empty((g, m))
    mn = mx = None
    if first.mn is not None:
        mn, mx = np.full((g, m), np.inf), np.full((g, m), -np.inf)
        mn_all, mx_all = cat("mn"), cat("mx")
    m2_all = None if m2 is None else cat("m2")
    for j in range(m):
        s[:, j] = np.bincount(inv, weights=s_all[:, j], minlength=g)
        if ab is not None:
            ab[:, j] = np.bincount(inv, weights=ab_all[:, j], minlength=g)
        if m2 is not None:  # parallel variance: M2 = sum(M2_i + n_i (mean_i - mean)^2)
            d = s_all[:, j] / n_all - (s[:, j] / n)[inv]
            m2[:, j] = np.bincount(inv, weights=m2_all[:, j] + n_all * d * d, minlength=g)
        if mn is not None:
            np.minimum.at(mn[:, j], inv, mn_all[:, j])
            np.maximum.at(mx[:, j], inv, mx_all[:, j])
    sk = None
    if first.sk is not None:
        sk = _compact([p.sk for p in parts])
    return Part(small_keys(keys), n, s, ab, m2, mn, mx, sk)


def _renumbered(p: Part, remap: np.ndarray) -> Part:
    """``p`` with key codes renumbered by ``remap`` (ascending on kept keys; -1: dropped)."""
    new = remap[p.keys]
    ok = new >= 0
    whole = bool(ok.all())
    pick = (lambda a: a if a is None or whole else a[ok])
    sk = p.sk
    if sk is not None:
        sk_new = remap[sk[0]]
        keep = sk_new >= 0
        sk = (sk_new[keep].astype(_KEY), sk[1][keep], sk[2][keep], sk[3][keep])
    return Part(small_keys(new[ok]), pick(p.n), pick(p.s), pick(p.ab), pick(p.m2), pick(p.mn), pick(p.mx), sk)


def _compact(sketches) -> tuple:
    g, m, b, c = (np.concatenate([x[i] for x in sketches]) for i in range(4))
    g, m, b, c = compact_sketch(g.astype(np.int64), m.astype(np.int64), b.astype(np.int64), c)
    return g.astype(_KEY), m.astype(np.int16), b.astype(np.int32), c
