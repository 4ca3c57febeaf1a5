"""How a simulated source makes one block of events (see :mod:`rtnb.sources.simulate`,
"How events are made"): the block's int64 matrix (one row per column: ``ts``,
``arrival``, ``event_id``, ``fault``, a fault's field, then keys and measures), the
segments of time generated at one rate, the seasonal and burst intensity, the Poisson
arrivals, the ingest delays, the scenario's values and the injected row faults.

:class:`BlockGeneration` is that part of :class:`~rtnb.SimulatedSource`; it reads the
settings and tables the source's constructor sets (``seed``, ``faults``, ``scenario``,
``params``, ``bursts``, ``_origin``, ``_cap``, ``_delays``, ``_intervals``,
``_categories``, ``_tables``, ``_fields``, ``_daily``, ``_weekly``, ``_max_burst``,
``_extra``, ``_days``, ``_nrows``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._faults import BAD_TIMESTAMP, CLEAN, DUPLICATE, LATE, MISSING, NON_FINITE, WRONG_TYPE
from ._scenario import _DAY, SECOND, BurstHit, Draw

__all__ = ["BlockGeneration"]

_TARGET_PER_BLOCK = 32_768
_MAX_BLOCK_S = 1024
_END = np.iinfo(np.int64).max
_ID_BITS = 28  # event_id = (first second of the block) << 28 | index in the block
_TS, _ARR, _ID, _FAULT, _FIELD = 0, 1, 2, 3, 4  # rows of a block's int64 matrix


@dataclass(frozen=True)
class _Segment:
    """A stretch of time generated at one rate: events whose clean arrival is in [start, end)."""

    start: int
    end: int
    rate: float
    block_s: int


class _Block:
    __slots__ = ("data", "arrival", "valid_from", "max_arrival")

    def __init__(self, data: np.ndarray, valid_from: int) -> None:
        self.data = data
        self.arrival = data[_ARR]
        self.valid_from = valid_from
        self.max_arrival = int(self.arrival[-1]) if data.shape[1] else -_END


def _block_seconds(rate: float) -> int:
    want = _TARGET_PER_BLOCK / rate
    return int(min(max(2 ** round(math.log2(want)), 1), _MAX_BLOCK_S)) if want >= 1 else 1


def _gamma2_table(mean: int, cap: int) -> np.ndarray:
    """Delays (ns) at 65536 evenly spaced quantiles of a gamma(2) of mean ``mean``, capped."""
    if mean == 0:
        return np.zeros(1, dtype=np.int64)
    x = np.linspace(0.0, 12.0, 200_001)
    cdf = 1.0 - np.exp(-x) * (1.0 + x)  # gamma(shape 2, scale 1)
    q = np.interp((np.arange(1 << 16) + 0.5) / (1 << 16), cdf, x)
    return np.minimum(q * (mean / 2.0), cap).astype(np.int64)


class BlockGeneration:
    """Generates the blocks of a :class:`~rtnb.SimulatedSource` (a mixin: see the module
    docstring)."""

    def _rng(self, block_s: int, k: int, stream: int) -> np.random.Generator:
        ss = np.random.SeedSequence(self.seed, spawn_key=(block_s, k, stream))
        return np.random.Generator(np.random.PCG64(ss))

    def _profile(self, t: np.ndarray) -> np.ndarray:
        """Seasonal factor (mean 1 over a week) at times ``t`` (int64 ns)."""
        hour = (t % _DAY) / (3600 * SECOND)
        weekday = (t // _DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        return np.interp(hour, np.arange(25), self._daily) * self._weekly[weekday]

    def _day_hits(self, day: int) -> list[BurstHit]:
        hits = self._days.get(day)
        if hits is not None:
            return hits
        hits = []
        if self.bursts > 0:
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=(0xB0, day))))
            for kind in self.scenario.bursts:
                count = rng.poisson(kind.per_day * self.bursts)
                starts = day * _DAY + (rng.random(count) * _DAY).astype(np.int64)
                minutes = kind.minutes[0] + rng.random(count) * (kind.minutes[1] - kind.minutes[0])
                for b, m in zip(starts, minutes):
                    target = -1
                    if kind.target:
                        cats = self._categories[kind.target]
                        if kind.target_value is not None:
                            target = cats.index(kind.target_value) if kind.target_value in cats else -1
                        else:
                            target = int(self._tables[kind.target][rng.integers(0, len(self._tables[kind.target]))])
                    hits.append(BurstHit(kind, int(b), int(b) + int(m * 60 * SECOND), target))
        if len(self._days) > 64:
            self._days.clear()
        self._days[day] = hits
        return hits

    def _hits(self, t0: int, t1: int) -> list[BurstHit]:
        out = []
        for day in range((t0 - self._max_burst) // _DAY, (t1 - 1) // _DAY + 1):
            out += [h for h in self._day_hits(day) if h.start < t1 and h.end > t0]
        return out

    @staticmethod
    def _burst_factor(t: np.ndarray, hits: list[BurstHit]) -> np.ndarray:
        f = np.ones(len(t))
        for h in hits:
            if h.kind.intensity == 1.0:
                continue
            ramp = max((h.end - h.start) // 10, 1)
            shape = np.clip(np.minimum(t - h.start, h.end - t) / ramp, 0.0, 1.0)
            f *= 1.0 + (h.kind.intensity - 1.0) * shape
        return f

    def _generate(self, seg: _Segment, k: int) -> np.ndarray:
        """Block ``k`` of segment ``seg`` as an int64 matrix (one row per column), sorted
        by arrival. A block holds the events whose clean arrival is in its interval."""
        width = seg.block_s
        t0, t1 = k * width * SECOND, (k + 1) * width * SECOND
        lo, hi = max(t0, seg.start, self._origin), min(t1, seg.end)
        rng = self._rng(width, k, 0)
        mids = np.arange(k * width, (k + 1) * width, dtype=np.int64) * SECOND + SECOND // 2
        hits = self._hits(t0 - self._cap, t1)
        lam = seg.rate * self._profile(mids) * self._burst_factor(mids, hits)
        # a Poisson process in operational time (cumulative intensity), mapped back to
        # time: arrivals come out sorted, with no sort
        cum = np.concatenate(([0.0], np.cumsum(lam)))
        total = float(cum[-1])
        op = np.cumsum(rng.standard_exponential(int(total + 6 * math.sqrt(total) + 16)))
        while op[-1] < total:  # about once in a billion blocks
            op = np.concatenate([op, op[-1] + np.cumsum(rng.standard_exponential(int(total * 0.1) + 16))])
        op = op[: int(np.searchsorted(op, total))]
        n = len(op)
        clean = t0 + np.interp(op, cum, np.arange(width + 1, dtype=np.float64) * SECOND).astype(np.int64)
        if self._ingest_mean:
            ts = clean - self._delays[rng.integers(0, len(self._delays), n, dtype=np.uint16)]
        else:
            ts = clean
        values = self.scenario.generate(
            Draw(self._rng(width, k, 1), ts, self.params, self._tables, hits, self._profile,
                 self.seed, t0 // SECOND, t1 // SECOND, self._extra)
        )
        data = np.empty((self._nrows, n), dtype=np.int64)
        data[_TS] = ts
        data[_ARR] = clean
        data[_ID] = (lo // SECOND << _ID_BITS) + np.arange(n, dtype=np.int64)
        data[_FAULT] = CLEAN
        data[_FIELD] = 0
        row = 5
        for key in self.keys:
            data[row] = values[key]
            row += 1
        for measure, is_int in zip(self.measures, self._is_int):
            v = values[measure]
            data[row] = v if is_int else np.ascontiguousarray(v, dtype=np.float64).view(np.int64)
            row += 1
        moved = None
        if self.faults.any_row_faults:
            moved = self._inject(data, self._rng(width, k, 2))
        if lo > t0 or hi < t1 or t0 - self._cap < self._origin:
            keep = (clean >= lo) & (clean < hi) & (ts >= self._origin)
            data = data[:, keep]
            moved = moved[keep] if moved is not None else None
        if self.faults.duplicates:
            data, moved = self._duplicate(data, moved)
        arr, label = self._intervals.hold(data[_ARR])
        if label.any():
            data[_ARR] = arr
            held = label > 0
            data[_FAULT] = np.where(held & (data[_FAULT] == CLEAN), label, data[_FAULT])
            moved = held if moved is None else (moved | held)
        if moved is None or not moved.any():
            return data
        # rows that kept their clean arrival are in order; merge the moved ones in
        arr = data[_ARR]
        stay, mv = np.flatnonzero(~moved), np.flatnonzero(moved)
        mv = mv[np.argsort(arr[mv], kind="stable")]
        pos = np.searchsorted(arr[stay], arr[mv], side="right") + np.arange(len(mv))
        order = np.empty(len(arr), dtype=np.int64)
        slot = np.zeros(len(arr), dtype=bool)
        slot[pos] = True
        order[pos] = mv
        order[~slot] = stay
        return np.take(data, order, axis=1)

    def _inject(self, data: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mark and apply row faults; returns the mask of rows whose arrival moved.

        Duplicates are only marked here (their delay kept in the field row); the copies
        are made by :meth:`_duplicate`, after the block is clipped.
        """
        f = self.faults
        n = data.shape[1]
        shares = [s for _, s in f.malformed_kinds]
        cuts = np.cumsum([f.late, f.duplicates, *(f.malformed * s for s in shares)])
        kinds = np.array([LATE, DUPLICATE, MISSING, WRONG_TYPE, NON_FINITE, BAD_TIMESTAMP, CLEAN])
        fault = kinds[np.searchsorted(cuts, rng.random(n), side="right")]
        data[_FAULT] = fault
        late = fault == LATE
        rows = np.flatnonzero(late)
        span = f.max_delay.value - self._cap
        data[_ARR, rows] = data[_TS, rows] + self._cap + 1 + (rng.random(len(rows)) * span).astype(np.int64)
        nm = len(self.measures)
        first_measure = 1 + len(self.keys)
        rows = np.flatnonzero(fault == MISSING)
        data[_FIELD, rows] = rng.integers(0, len(self._fields), len(rows)) * 4
        rows = np.flatnonzero(fault == WRONG_TYPE)
        data[_FIELD, rows] = (first_measure + rng.integers(0, nm, len(rows))) * 4
        rows = np.flatnonzero(fault == NON_FINITE)
        data[_FIELD, rows] = (first_measure + rng.integers(0, nm, len(rows))) * 4 + rng.integers(0, 3, len(rows))
        rows = np.flatnonzero(fault == BAD_TIMESTAMP)
        days = (1 + rng.random(len(rows)) * 3649) * _DAY
        sign = np.where(rng.random(len(rows)) < 0.5, -1, 1)
        data[_TS, rows] = data[_TS, rows] + (sign * days).astype(np.int64)
        rows = np.flatnonzero(fault == DUPLICATE)
        data[_FIELD, rows] = 1 + (rng.random(len(rows)) * f.max_delay.value).astype(np.int64)
        return late

    @staticmethod
    def _duplicate(data: np.ndarray, moved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Append the second delivery of every event marked as a duplicate."""
        rows = np.flatnonzero(data[_FAULT] == DUPLICATE)
        if not len(rows):
            return data, moved
        copies = data[:, rows]
        copies[_ARR] += copies[_FIELD]
        copies[_FIELD] = 0
        data[_FAULT, rows] = CLEAN  # the first delivery is the clean original
        data[_FIELD, rows] = 0
        moved = np.concatenate([moved, np.ones(len(rows), dtype=bool)])
        return np.concatenate([data, copies], axis=1), moved
