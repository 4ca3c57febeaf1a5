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

A part and its arithmetic are :mod:`._part`; rows going in as parts and buckets coming
out as flat arrays are :class:`~._store_rows.StoreRows` (a mixin of :class:`BucketStore`).

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

from ..sketch import _mapping
from ._part import Part, _renumbered, combine_parts, small_keys
from ._store_rows import StoreRows

__all__ = ["Part", "BucketStore"]


class BucketStore(StoreRows):
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
