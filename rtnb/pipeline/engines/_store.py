"""Sparse storage of bucketed pre-aggregates: each bucket holds only the keys it has rows of.

A bucket is a list of *parts*; every part is sorted by key code with distinct keys and
holds, per key, the count, per measure the sum, the sum of |x| (it bounds the running
totals' rounding; not stored when no row was negative: it is then the sum), and — only when the aggregates need them — M2 (Chan),
min, max and sketch entries (key, measure, bin, count sorted in that order). Rows of a
batch become one new part per bucket they fall in (O(batch)); a bucket's parts are
compacted into one when the new parts outgrow the compacted one (O(1) amortised per
group) or when the bucket is read. Memory is therefore the (bucket, key) groups that
have rows: for count/sum/mean of one measure, 14 bytes each (uint16 key below 65,536
keys, int32 count, float64 sum; +8 for sum |x| when a row was negative), not buckets x keys.

>>> import numpy as np
>>> from rtnb.pipeline.engines._base import Needs
>>> st = BucketStore(1, Needs(("count", "sum")))
>>> st.add_rows(np.array([5, 5, 6]), np.array([3, 1, 3]), np.array([[1.0], [2.0], [4.0]]))
>>> p = st.part(5)
>>> p.keys.tolist(), p.n.tolist(), p.s[:, 0].tolist(), st.groups()
([1, 3], [1, 1], [2.0, 1.0], 3)
"""

from __future__ import annotations

import bisect

import numpy as np

from .._buckets import compact_sketch
from ..sketch import _mapping

__all__ = ["Part", "BucketStore"]

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


class BucketStore:
    """Live buckets (bucket index -> parts) and their sorted indices.

    ``needs`` (a :class:`~._base.Needs`) says which pre-aggregates are kept.
    """

    BLOCK = 64  # buckets per block of cached per-key extremes

    def __init__(self, n_meas: int, needs, relative_accuracy: float = 0.005) -> None:
        self.m = n_meas
        self.needs = needs
        self.mapping = _mapping(relative_accuracy)
        self.parts: dict[int, list[Part]] = {}
        self.order: list[int] = []  # live bucket indices, ascending
        self._groups = 0  # groups over every part (upper bound of distinct groups)
        self._loose: dict[int, int] = {}  # bucket with more than one part -> groups past the first
        # per-key min / max of whole blocks of BLOCK buckets that no row can reach any more
        self._ext: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._final_below = np.iinfo(np.int64).min

    def __contains__(self, b: int) -> bool:
        return b in self.parts

    def __len__(self) -> int:
        return len(self.order)

    def between(self, lo: int, hi: int) -> list[int]:
        """Live bucket indices in ``[lo, hi)``."""
        i0 = bisect.bisect_left(self.order, lo)
        i1 = bisect.bisect_left(self.order, hi)
        return self.order[i0:i1]

    def _new_bucket(self, b: int) -> list[Part]:
        parts = self.parts[b] = []
        if not self.order or b > self.order[-1]:
            self.order.append(b)
        else:
            bisect.insort(self.order, b)
        return parts

    def add_part(self, b: int, part: Part) -> None:
        if part.size == 0:
            return
        parts = self.parts.get(b)
        if parts is None:
            parts = self._new_bucket(b)
        parts.append(part)
        self._groups += part.size
        if self._ext:
            self._ext.pop(b // self.BLOCK, None)
        if len(parts) > 1:
            raw = self._loose[b] = self._loose.get(b, 0) + part.size
            if raw > 16384 + 4 * parts[0].size:  # open buckets are few: compact at settle
                self._compact(b)

    def settle(self, final_below: int, window_lo: int) -> None:
        """Compact the buckets below ``final_below`` (no acceptable row can reach them any
        more), so a finished bucket holds each of its keys once; with min/max, cache the
        extremes of the blocks sealed now that lie in the window (from ``window_lo``)."""
        for b in [x for x in self._loose if x < final_below]:
            self._compact(b)
        B = self.BLOCK
        if self.needs.minmax and self.order and final_below > self._final_below:
            # blocks sealed now: cache their extremes once (spread over the run, not
            # built all at once by the first read that needs them)
            # blocks not sealed before, wholly in the window
            first = max(self._final_below // B, -(-window_lo // B))
            for blk in range(first, final_below // B):
                if blk not in self._ext and (buckets := self.between(blk * B, blk * B + B)):
                    self._ext[blk] = self._block_extremes(buckets)
        self._final_below = max(self._final_below, final_below)

    def _compact(self, b: int) -> Part:
        parts = self.parts[b]
        if len(parts) > 1:
            before = sum(p.size for p in parts)
            parts[:] = [combine_parts(parts)]
            self._groups += parts[0].size - before
        self._loose.pop(b, None)
        return parts[0]

    def part(self, b: int) -> Part:
        """Bucket ``b``'s groups as one part (compacted in place)."""
        return self._compact(b)

    def drop(self, b: int) -> None:
        parts = self.parts.pop(b)
        self._groups -= sum(p.size for p in parts)
        self._loose.pop(b, None)
        i = bisect.bisect_left(self.order, b)
        del self.order[i]

    def drop_before(self, lo: int) -> None:
        """Forget every bucket below ``lo``."""
        i = bisect.bisect_left(self.order, lo)
        for b in self.order[:i]:
            self._groups -= sum(p.size for p in self.parts.pop(b))
            self._loose.pop(b, None)
        del self.order[:i]
        for blk in [x for x in self._ext if (x + 1) * self.BLOCK <= lo]:
            del self._ext[blk]

    def groups(self, distinct: bool = False) -> int:
        """(bucket, key) groups held (parts not yet compacted may repeat a key;
        ``distinct=True`` compacts first)."""
        if distinct:
            for b in list(self._loose):
                self._compact(b)
        return self._groups

    def renumber(self, remap: np.ndarray) -> None:
        """Key code ``c`` becomes ``remap[c]`` in every part and cached block (an eviction:
        ``remap`` is ascending on the keys kept, -1 for a key gone, whose groups go too).
        O(groups held); the parts stay sorted by key."""
        for b, parts in self.parts.items():
            parts[:] = [q for q in (_renumbered(p, remap) for p in parts) if q.size]
        for b in [b for b, parts in self.parts.items() if not parts]:
            self.drop(b)
        self._groups = sum(p.size for parts in self.parts.values() for p in parts)
        self._loose = {b: sum(p.size for p in parts[1:]) for b, parts in self.parts.items() if len(parts) > 1}
        for blk, (keys, mn, mx) in list(self._ext.items()):
            new = remap[keys]
            ok = new >= 0
            self._ext[blk] = (small_keys(new[ok]), mn[ok], mx[ok])

    def nbytes(self) -> int:
        held = sum(p.nbytes() for parts in self.parts.values() for p in parts)
        return held + sum(a.nbytes for e in self._ext.values() for a in e)

    # extremes ------------------------------------------------------------
    def extremes(self, keys: np.ndarray, lo: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-key min and max (len(keys) x M) over the buckets from ``lo`` on.

        ``keys``: sorted, distinct. Whole blocks no row can reach any more are read
        from a per-block cache (built once), other buckets part by part: about
        window / BLOCK + BLOCK + lateness lookups instead of one per bucket.
        """
        mn = np.full((keys.size, self.m), np.inf)
        mx = np.full((keys.size, self.m), -np.inf)

        def fold(k, a, z) -> None:
            if k.size == 0:
                return
            pos = np.minimum(np.searchsorted(k, keys), k.size - 1)
            hit = np.flatnonzero(k[pos] == keys)
            if hit.size:
                at = pos[hit]
                mn[hit] = np.minimum(mn[hit], a[at])
                mx[hit] = np.maximum(mx[hit], z[at])

        order, B = self.order, self.BLOCK
        i = bisect.bisect_left(order, lo)
        while i < len(order):
            b = order[i]
            start = (b // B) * B
            if start >= lo and start + B <= self._final_below:
                ext = self._ext.get(b // B)
                if ext is None:
                    ext = self._ext[b // B] = self._block_extremes(self.between(start, start + B))
                fold(*ext)
                i = bisect.bisect_left(order, start + B)
                continue
            for p in self.parts[b]:
                fold(p.keys, p.mn, p.mx)
            i += 1
        return mn, mx

    def _block_extremes(self, buckets: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        parts = [p for b in buckets for p in self.parts[b]]
        keys, inv = np.unique(np.concatenate([p.keys for p in parts]), return_inverse=True)
        inv = inv.ravel()
        mn = np.full((keys.size, self.m), np.inf)
        mx = np.full((keys.size, self.m), -np.inf)
        a, z = np.concatenate([p.mn for p in parts]), np.concatenate([p.mx for p in parts])
        for j in range(self.m):
            np.minimum.at(mn[:, j], inv, a[:, j])
            np.maximum.at(mx[:, j], inv, z[:, j])
        return small_keys(keys), mn, mx

    # rows -> parts -------------------------------------------------------
    def add_rows(self, b: np.ndarray, codes: np.ndarray, vals: np.ndarray) -> None:
        """Rows (bucket index, key code, values N x M) into their buckets: one part each."""
        if b.size == 0:
            return
        needs = self.needs
        lo, hi = int(b.min()), int(b.max())
        top = int(codes.max()) + 1
        if lo == hi:
            gid_raw = codes
        else:
            gid_raw = (b - lo) * top + codes
        space = (hi - lo + 1) * top
        if space <= 4 * b.size + 64:  # few (bucket, key) pairs possible: count, no sort
            dense = np.bincount(gid_raw, minlength=space)
            ug = np.flatnonzero(dense)
            lut = np.cumsum(dense > 0) - 1
            gid = lut[gid_raw]
            n = dense[ug].astype(np.int32)
        else:
            ug, gid = np.unique(gid_raw, return_inverse=True)
            gid = gid.ravel()
            n = np.bincount(gid, minlength=ug.size).astype(np.int32)
        g = ug.size
        s = np.empty((g, self.m))
        ab = None if (vals >= 0).all() else np.empty((g, self.m))  # None: sum |x| is the sum
        m2 = np.empty((g, self.m)) if needs.std else None
        mn = np.full((g, self.m), np.inf) if needs.minmax else None
        mx = np.full((g, self.m), -np.inf) if needs.minmax else None
        for j in range(self.m):
            v = vals[:, j]
            s[:, j] = np.bincount(gid, weights=v, minlength=g)
            if ab is not None:
                ab[:, j] = np.bincount(gid, weights=np.abs(v), minlength=g)
            if m2 is not None:
                d = v - (s[:, j] / n)[gid]
                m2[:, j] = np.bincount(gid, weights=d * d, minlength=g)
            if mn is not None:
                np.minimum.at(mn[:, j], gid, v)
                np.maximum.at(mx[:, j], gid, v)
        sk_all = None
        if needs.sketch:
            bins = self.mapping.keys(vals)  # N x M
            rows = np.repeat(gid, self.m)
            meas = np.tile(np.arange(self.m), gid.size)
            sk_all = compact_sketch(rows, meas, bins.ravel(), np.ones(rows.size, dtype=np.int64))
        if lo == hi:
            bucket_of = None
            keys = ug
        else:
            bucket_of, keys = ug // top + lo, ug % top
        cut = [0, g] if bucket_of is None else [0, *np.flatnonzero(np.diff(bucket_of) != 0) + 1, g]
        sk_cut = None
        if sk_all is not None:
            sk_cut = np.searchsorted(sk_all[0], cut)
        for i in range(len(cut) - 1):
            a, z = cut[i], cut[i + 1]
            sk = None
            if sk_all is not None:
                sa, sz = sk_cut[i], sk_cut[i + 1]
                sk = (keys[sk_all[0][sa:sz]].astype(_KEY), sk_all[1][sa:sz].astype(np.int16),
                      sk_all[2][sa:sz].astype(np.int32), sk_all[3][sa:sz])
            pick = (lambda x: None if x is None else x[a:z])
            part = Part(small_keys(keys[a:z]), n[a:z], s[a:z], pick(ab), pick(m2), pick(mn), pick(mx), sk)
            self.add_part(lo if bucket_of is None else int(bucket_of[a]), part)

    # groups as flat arrays ----------------------------------------------
    def flat(self, buckets: list[int]) -> tuple[np.ndarray, Part]:
        """The groups of ``buckets`` (compacted) as one flat part: (bucket index per group, part).

        Sketch entries' first array holds the *group position* in the flat part.
        """
        parts = [self.part(b) for b in buckets]
        sizes = np.array([p.size for p in parts], dtype=np.int64)
        bidx = np.repeat(np.array(buckets, dtype=np.int64), sizes)
        m = self.m
        if not parts:
            e = np.empty(0, dtype=np.int64)
            z = np.empty((0, m))
            sk = (e, e.copy(), e.copy(), e.copy()) if self.needs.sketch else None
            return bidx, Part(e.copy(), e.copy(), z, None, z.copy() if self.needs.std else None,
                              z.copy() if self.needs.minmax else None, z.copy() if self.needs.minmax else None, sk)
        cat = (lambda name: None if getattr(parts[0], name) is None
               else np.concatenate([getattr(p, name) for p in parts]))
        sk = None
        if self.needs.sketch:
            offs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            gs = []
            for p, off in zip(parts, offs):
                gs.append(np.searchsorted(p.keys, p.sk[0]).astype(np.int64) + off)
            sk = (np.concatenate(gs), *(np.concatenate([p.sk[i] for p in parts]).astype(np.int64)
                                        for i in (1, 2, 3)))
        keys = np.concatenate([p.keys for p in parts]).astype(np.int64)
        n = np.concatenate([p.n for p in parts]).astype(np.int64)
        ab = None
        if any(p.ab is not None for p in parts):
            ab = np.concatenate([p.absum for p in parts])
        return bidx, Part(keys, n, cat("s"), ab, cat("m2"), cat("mn"), cat("mx"), sk)
