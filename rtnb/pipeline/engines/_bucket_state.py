"""A bucket engine's state: its (bucket, key) groups exported, loaded and merged.

:class:`_BucketState` is the half of :class:`~.buckets.BucketEngine` that turns the
live buckets into plain arrays and back (``export_state`` / ``load_state``, the
``groups`` that :func:`rtnb.pipeline._output.buckets_of` and merges read) and merges two
engines' buckets into a fresh one (``merge``); :class:`~.closing.ClosingBucketEngine`
adds its closed windows through ``_export_closed`` / ``_load_closed`` and its own
``merge``. The state form is the one of :mod:`rtnb.pipeline.engines` (``group_*``,
``totals_*``, ``sketch_*`` arrays).
"""

from __future__ import annotations

import numpy as np

from .._buckets import Stats, combine, concat_stats
from .._buckets import take_stats as _take
from ._base import stats_arrays, stats_from_arrays
from ._part import Part, _compact, small_counts, small_keys

__all__ = ["_BucketState"]

_BIG = np.iinfo(np.int64).max


class _BucketState:
    """Export, load and merge of a :class:`~.buckets.BucketEngine` (a mixin: it reads the
    engine's ``store``, ``totals``, ``sketch``, ``needs`` and window bounds)."""

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
        self._add_totals(meta, arrays)
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
