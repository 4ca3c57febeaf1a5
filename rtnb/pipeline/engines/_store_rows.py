"""Rows into a :class:`~._store.BucketStore`'s parts, and its groups out as flat arrays.

A mixin: the buckets, their order and compaction live in :mod:`._store`; these methods
read the attributes its constructor sets (``m``, ``needs``, ``mapping``) and call its
``add_part`` and ``part``.
"""

from __future__ import annotations

import numpy as np

from .._buckets import compact_sketch
from ._part import _KEY, Part, small_keys

__all__ = ["StoreRows"]


class StoreRows:
    """Rows (bucket index, key code, values) in as parts; buckets out as one flat part."""

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
