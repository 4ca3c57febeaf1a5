"""The watermark: which rows of a batch are late, which are duplicates, and the counts.

``W`` is the largest event time accepted so far. Rows are judged in batch order; a
row whose event time is older than ``W - lateness`` (W as it was when the row
arrived) is *late*. With ids, a row whose id was accepted before is a *duplicate*
while a row with its event time could still be accepted (``>= W - lateness``), so the
memory of ids (:class:`~._seen.SeenIds`) is bounded by the lateness horizon. A row
both late and a repeat counts as late.

The judgement is vectorised over the batch (a running maximum for W, one sorted
lookup of the batch's ids); a batch where the answer depends on the order in a way
the vectorised pass cannot see — a repeat that would have moved W, or an id repeated
in the batch after its first copy expired — is judged row by row.

>>> import numpy as np
>>> wm = Watermark(lateness_ns=5, dedup=True)
>>> a = wm.admit(np.array([10, 20, 12, 20]), np.array([1, 2, 3, 2]))
>>> a.late.tolist(), a.duplicate.tolist(), wm.newest, wm.counters.accepted
([False, False, True, False], [False, False, False, True], 20, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..health import Counters
from ._seen import SeenIds

__all__ = ["Watermark", "Admission"]

INT64_MIN = np.iinfo(np.int64).min


@dataclass(frozen=True)
class Admission:
    """The verdict on one batch: boolean masks over its rows."""

    late: np.ndarray
    duplicate: np.ndarray

    @property
    def accepted(self) -> np.ndarray:
        return ~(self.late | self.duplicate)


class Watermark:
    """Event-time watermark, duplicate memory and the row counters of one aggregate."""

    def __init__(self, lateness_ns: int, *, dedup: bool) -> None:
        self.lateness = int(lateness_ns)
        self.dedup = dedup
        self.newest = INT64_MIN
        self.seen = SeenIds()
        self.received = self.accepted = self.late = self.duplicates = 0

    @property
    def counters(self) -> Counters:
        return Counters(received=self.received, accepted=self.accepted, late=self.late,
                        duplicates=self.duplicates)

    @property
    def limit(self) -> int:
        """``W - lateness``: rows older than this are late (INT64_MIN before any row)."""
        return INT64_MIN if self.newest == INT64_MIN else self.newest - self.lateness

    def admit(self, ts: np.ndarray, ids: np.ndarray | None = None) -> Admission:
        """Judge a batch and take its accepted rows in (W, ids, counters)."""
        verdict, keys, originals = self._judge(ts, ids if self.dedup else None)
        acc = verdict.accepted
        n_acc = int(acc.sum())
        if n_acc:
            self.newest = max(self.newest, int(ts[acc].max()))
            if keys is not None:
                self.seen.add(keys[acc], ts[acc], None if originals is None else originals[acc], self.limit)
        self.received += int(ts.size)
        self.accepted += n_acc
        self.late += int(verdict.late.sum())
        self.duplicates += int(verdict.duplicate.sum())
        return verdict

    def _judge(self, ts, ids):
        wm0 = self.newest
        n = ts.size
        before = np.empty_like(ts)
        if n:
            before[0] = wm0
            np.maximum(np.maximum.accumulate(ts)[:-1], wm0, out=before[1:])
        with np.errstate(over="ignore"):
            limit = np.where(before == INT64_MIN, INT64_MIN, before - self.lateness)
        late = ts < limit
        dup = np.zeros(n, dtype=bool)
        if ids is None or n == 0:
            return Admission(late, dup), None, None
        keys, originals = SeenIds.encode(ids)
        ok = np.flatnonzero(~late)
        mem = np.full(n, INT64_MIN, dtype=np.int64)
        mem[ok] = self.seen.lookup(keys[ok], None if originals is None else originals[ok])
        dup[ok] = (mem[ok] != INT64_MIN) & (mem[ok] >= limit[ok])
        okids = pd.Series(ids[ok])
        rep = okids.duplicated(keep="first").to_numpy()
        if rep.any():
            local = pd.factorize(okids)[0]
            _, first_of = np.unique(local, return_index=True)
            first = ok[first_of[local]]
            ref = np.where(dup[first], mem[first], ts[first])  # what a repeat is judged against
            later = ok[rep]
            if (ref[rep] < limit[later]).any():  # the first copy expired before the repeat
                return self._judge_rows(ts, keys, originals, mem), keys, originals
            dup[later] = True
        if (dup & (ts > before)).any():  # a dropped repeat would have moved W
            return self._judge_rows(ts, keys, originals, mem), keys, originals
        return Admission(late, dup), keys, originals

    def _judge_rows(self, ts, keys, originals, mem) -> Admission:
        """Row by row (rare batches), with the batch's own accepted ids in a dict."""
        wm = self.newest
        late = np.zeros(ts.size, dtype=bool)
        dup = np.zeros(ts.size, dtype=bool)
        own: dict = {}
        ids = originals if originals is not None else keys
        for i, (t, x) in enumerate(zip(ts.tolist(), ids.tolist())):
            limit = INT64_MIN if wm == INT64_MIN else wm - self.lateness
            if t < limit:
                late[i] = True
                continue
            prev = own.get(x, int(mem[i]))
            if prev != INT64_MIN and prev >= limit:
                dup[i] = True
                continue
            own[x] = t
            wm = max(wm, t)
        return Admission(late, dup)

    # ------------------------------------------------------------------ merge / state
    def merged(self, other: Watermark) -> Watermark:
        out = Watermark(self.lateness, dedup=self.dedup)
        out.newest = max(self.newest, other.newest)
        out.seen = self.seen.merged(other.seen, out.limit)
        for name in ("received", "accepted", "late", "duplicates"):
            setattr(out, name, getattr(self, name) + getattr(other, name))
        return out

    def export_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {"newest_ns": int(self.newest), "lateness_ns": self.lateness,
                **{f"rows_{k}": getattr(self, k) for k in ("received", "accepted", "late", "duplicates")}}
        return meta, (self.seen.export() if self.dedup else {})

    @classmethod
    def load_state(cls, meta: dict, arrays: dict, *, dedup: bool) -> Watermark:
        out = cls(int(meta["lateness_ns"]), dedup=dedup)
        out.newest = int(meta["newest_ns"])
        for k in ("received", "accepted", "late", "duplicates"):
            setattr(out, k, int(meta[f"rows_{k}"]))
        if dedup:
            out.seen = SeenIds.load(arrays)
        return out
