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
        n = ts.size
        late = self._late(ts, None)
        dup = np.zeros(n, dtype=bool)
        if ids is None or n == 0:
            return Admission(late, dup), None, None
        keys, originals = SeenIds.encode(ids)
        mem = self.seen.lookup(keys, originals)
        local = _repeats(keys, ids, originals)
        # rows dropped as repeats do not move W: when one would have, judge again without
        # them; decisions are causal, so the fixpoint is the row-by-row answer
        prev = None
        for _ in range(4):
            limit = self._limits
            dup = ~late & (mem != INT64_MIN) & (mem >= limit)
            if local is not None:
                ok = np.flatnonzero(~late)
                _, first_of = np.unique(local[ok], return_index=True)
                if first_of.size < ok.size:
                    okrep = np.ones(ok.size, dtype=bool)
                    okrep[first_of] = False
                    code_first = np.full(int(local.max()) + 1, -1, dtype=np.int64)
                    code_first[local[ok][first_of]] = ok[first_of]
                    later = ok[okrep]
                    first = code_first[local[later]]
                    ref = np.where(dup[first], mem[first], ts[first])  # what a repeat is judged against
                    if (ref < limit[later]).any():  # the first copy expired before the repeat
                        return self._judge_rows(ts, keys, originals, mem), keys, originals
                    dup[later] = True
            acc = ~(late | dup)
            if prev is None:
                if not (dup & (ts > self._before)).any():  # no dropped row moved W
                    return Admission(late, dup), keys, originals
            elif np.array_equal(acc, prev):
                return Admission(late, dup), keys, originals
            prev = acc
            late = self._late(ts, acc)
        return self._judge_rows(ts, keys, originals, mem), keys, originals

    def _late(self, ts, accepted) -> np.ndarray:
        """Late rows given which rows are accepted (``None``: every row moves W)."""
        eff = ts if accepted is None else np.where(accepted, ts, INT64_MIN)
        before = np.empty_like(ts)
        if ts.size:
            before[0] = self.newest
            np.maximum(np.maximum.accumulate(eff)[:-1], self.newest, out=before[1:])
        with np.errstate(over="ignore"):
            self._limits = np.where(before == INT64_MIN, INT64_MIN, before - self.lateness)
        self._before = before
        return ts < self._limits

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


def _repeats(keys: np.ndarray, ids: np.ndarray, originals) -> np.ndarray | None:
    """Per row, a code shared by equal ids of the batch; ``None`` when all differ."""
    if originals is None:  # integer ids: the keys are the ids
        uniq, local = np.unique(keys, return_inverse=True)
        return None if uniq.size == keys.size else local.ravel()
    local, uniq = pd.factorize(pd.Series(ids))
    return None if len(uniq) == keys.size else np.asarray(local, dtype=np.int64)
