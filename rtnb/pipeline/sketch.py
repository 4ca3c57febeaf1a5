"""A mergeable quantile sketch with a relative-error guarantee (DDSketch-style).

Values are counted in logarithmic bins: with relative accuracy ``a`` (default 0.5%)
and ``g = (1 + a) / (1 - a)``, a positive value ``x`` falls in bin
``i = ceil(log_g(x))`` — the interval ``(g**(i-1), g**i]`` — and the bin is read back as
``2 g**i / (g + 1)``, which is within ``a`` of every value of the bin (relative).
Negative values use the mirrored bins of ``|x|``, and zero is counted exactly.

**Which quantile.** ``quantile(q)`` approximates the ``q``-quantile *with the "lower"
definition*: the sorted value at position ``floor(q * (n - 1))`` (0-based), i.e.
``pandas.Series.quantile(q, interpolation="lower")``. The answer is within
``relative_accuracy`` of that value (0.5% by default, so well inside the 1% the
project promises). Bins are plain counts, so sketches merge exactly (``a + b``) and a
count can be taken away again (used by rolling windows when rows leave the window).

>>> sk = QuantileSketch().update([1.0, 2.0, 3.0, 4.0, 100.0])
>>> sk.count
5
>>> round(sk.quantile(0.5), 2)                 # exact "lower" median is 3.0
3.0
>>> abs(sk.quantile(0.99) / 4.0 - 1) <= 0.005   # floor(0.99 * 4) = 3 -> 4.0
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .._errors import ParameterError

__all__ = ["QuantileSketch", "DEFAULT_RELATIVE_ACCURACY"]

DEFAULT_RELATIVE_ACCURACY = 0.005


class _LogMapping:
    """Values <-> ordered integer bin keys (vectorised).

    Keys are ordered like the values: large negatives first, then zero, then positives,
    so a cumulative count over sorted keys walks the values in order.
    """

    def __init__(self, relative_accuracy: float) -> None:
        a = float(relative_accuracy)
        self.relative_accuracy = a
        self.gamma = (1.0 + a) / (1.0 - a)
        self.log_gamma = math.log(self.gamma)
        self.inv_log_gamma = 1.0 / self.log_gamma
        # every finite non-zero float (subnormals included) has |i| <= span
        self.span = int(math.ceil(746.0 * self.inv_log_gamma)) + 2
        self.zero_key = 2 * self.span + 1
        self.pos_base = 3 * self.span + 2  # key = pos_base + i for x > 0

    def keys(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        out = np.full(v.shape, self.zero_key, dtype=np.int64)
        nz = v != 0.0
        if nz.any():
            a = np.abs(v[nz])
            i = np.ceil(np.log(a) * self.inv_log_gamma).astype(np.int64)
            out[nz] = np.where(v[nz] > 0, self.pos_base + i, self.span - i)
        return out

    def values(self, keys: np.ndarray) -> np.ndarray:
        k = np.asarray(keys, dtype=np.int64)
        out = np.zeros(k.shape, dtype=np.float64)
        pos = k > self.zero_key
        neg = k < self.zero_key
        scale = 2.0 / (self.gamma + 1.0)
        if pos.any():
            out[pos] = scale * np.exp((k[pos] - self.pos_base) * self.log_gamma)
        if neg.any():
            out[neg] = -scale * np.exp((self.span - k[neg]) * self.log_gamma)
        return out


_MAPPINGS: dict[float, _LogMapping] = {}


def _mapping(relative_accuracy: float) -> _LogMapping:
    m = _MAPPINGS.get(relative_accuracy)
    if m is None:
        m = _MAPPINGS[relative_accuracy] = _LogMapping(relative_accuracy)
    return m


def _check_accuracy(relative_accuracy: float) -> float:
    try:
        a = float(relative_accuracy)
    except (TypeError, ValueError):
        raise ParameterError(
            "relative_accuracy", relative_accuracy, "must be a number in (0, 0.5)"
        ) from None
    if not (0.0 < a < 0.5) or isinstance(relative_accuracy, bool):
        raise ParameterError("relative_accuracy", relative_accuracy, "must be a number in (0, 0.5)")
    return a


def _lower_ranks(q: np.ndarray, n: np.ndarray) -> np.ndarray:
    """0-based rank of the "lower" q-quantile, computed as numpy/pandas do."""
    return np.floor(q * (n - 1)).astype(np.int64)


class QuantileSketch:
    """Approximate quantiles of a stream of numbers, mergeable, with bounded relative error.

    Parameters
    ----------
    relative_accuracy
        The guaranteed relative error of every quantile (default 0.005, i.e. 0.5%).

    ``update(values)`` adds an array of values (vectorised); ``quantile(q)`` reads the
    "lower" ``q``-quantile (see the module docstring), ``None`` when empty; ``a + b``
    merges two sketches of the same accuracy. Memory is one count per occupied bin:
    about ``ln(max/min) / (2 * relative_accuracy)`` bins, whatever the number of values.

    >>> a = QuantileSketch().update([-5.0, 0.0, 10.0])
    >>> b = QuantileSketch().update([20.0, 30.0])
    >>> ab = a + b
    >>> ab.count, ab.quantile(0.0), ab.quantile(0.25)
    (5, -5.0..., 0.0)
    >>> round(ab.quantile(1.0))
    30
    >>> QuantileSketch().quantile(0.5) is None
    True
    >>> ab
    QuantileSketch(count=5, bins=5, relative_accuracy=0.005)
    """

    __slots__ = ("_map", "_keys", "_counts")

    def __init__(self, relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY) -> None:
        self._map = _mapping(_check_accuracy(relative_accuracy))
        self._keys = np.empty(0, dtype=np.int64)
        self._counts = np.empty(0, dtype=np.int64)

    @property
    def relative_accuracy(self) -> float:
        """The relative error bound of every quantile."""
        return self._map.relative_accuracy

    @property
    def count(self) -> int:
        """How many values were added."""
        return int(self._counts.sum())

    def update(self, values: Iterable[float] | np.ndarray) -> QuantileSketch:
        """Add values (NaN and infinities are refused); returns the sketch itself."""
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size == 0:
            return self
        if not np.isfinite(v).all():
            raise ParameterError("values", "non-finite", "a sketch counts finite numbers only")
        self._add(self._map.keys(v), np.ones(v.size, dtype=np.int64))
        return self

    def _add(self, keys: np.ndarray, counts: np.ndarray) -> None:
        k = np.concatenate([self._keys, keys])
        c = np.concatenate([self._counts, counts])
        u, inv = np.unique(k, return_inverse=True)
        tot = np.bincount(inv, weights=c, minlength=u.size).astype(np.int64)
        keep = tot != 0
        self._keys, self._counts = u[keep], tot[keep]

    def quantile(self, q: float) -> float | None:
        """The approximate "lower" ``q``-quantile (``0 <= q <= 1``), ``None`` if empty."""
        qf = float(q)
        if not 0.0 <= qf <= 1.0:
            raise ParameterError("q", q, "must be between 0 and 1")
        n = self.count
        if n == 0:
            return None
        rank = int(_lower_ranks(np.float64(qf), np.int64(n)))
        cum = np.cumsum(self._counts)
        i = int(np.searchsorted(cum, rank, side="right"))
        return float(self._map.values(self._keys[i : i + 1])[0])

    @property
    def value(self) -> dict[str, float | None]:
        """The usual quantiles: ``{"p50": ..., "p90": ..., "p95": ..., "p99": ...}``."""
        return {f"p{int(q * 100)}": self.quantile(q) for q in (0.5, 0.9, 0.95, 0.99)}

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """A new sketch counting the values of both (same accuracy required)."""
        if not isinstance(other, QuantileSketch):
            raise ParameterError("other", type(other).__name__, "must be a QuantileSketch")
        if other.relative_accuracy != self.relative_accuracy:
            raise ParameterError(
                "other",
                other.relative_accuracy,
                f"relative_accuracy differs from {self.relative_accuracy}; only equal sketches merge",
            )
        out = QuantileSketch(self.relative_accuracy)
        out._keys, out._counts = self._keys.copy(), self._counts.copy()
        out._add(other._keys, other._counts)
        return out

    def __add__(self, other: QuantileSketch) -> QuantileSketch:
        if not isinstance(other, QuantileSketch):
            return NotImplemented
        return self.merge(other)

    def __iadd__(self, other: QuantileSketch) -> QuantileSketch:
        if not isinstance(other, QuantileSketch):
            return NotImplemented
        merged = self.merge(other)
        self._keys, self._counts = merged._keys, merged._counts
        return self

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return (
            f"QuantileSketch(count={self.count}, bins={self._keys.size}, "
            f"relative_accuracy={self.relative_accuracy})"
        )


class _SparseSketches:
    """One sketch per row (a key and measure), holding only the (row, bin) pairs counted.

    Used by rolling windows: ``add(rows, bins, +1/-1)`` counts values in or out of the
    window in O(batch log); ``quantiles(qs, rows)`` reads the rows asked for, costing
    O(their pairs), whatever the other rows hold. Memory follows the pairs with counts
    (16 bytes each), not rows x bins.

    Pairs are kept as ``row * width + bin`` in a few sorted runs with their counts
    (newest last; a run merges into the one before it once it is at least half its
    size, so there are O(log pairs) runs and a pair is moved O(log) times). Counts of
    one pair in several runs add up; pairs whose counts cancel are dropped when their
    runs merge.
    """

    def __init__(self, relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY) -> None:
        self.map = _mapping(relative_accuracy)
        self.width = self.map.pos_base + self.map.span + 1  # every bin key is < width
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted unique pair ids, counts)

    @property
    def pairs(self) -> int:
        """(row, bin) entries held (a pair counted in several runs more than once)."""
        return sum(r[0].size for r in self._runs)

    def nbytes(self) -> int:
        return sum(r[0].nbytes + r[1].nbytes for r in self._runs)

    @staticmethod
    def _reduce(ids: np.ndarray, counts: np.ndarray, presorted: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Sorted distinct ids with their summed counts, zero sums dropped."""
        if ids.size == 0:
            return ids, counts
        # two sorted runs concatenated: the stable sort (timsort) merges them in O(n)
        order = np.argsort(ids, kind="stable" if presorted else "quicksort")
        ids, counts = ids[order], counts[order]
        first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        ids, counts = ids[first], np.add.reduceat(counts, first)
        keep = counts != 0
        return (ids, counts) if keep.all() else (ids[keep], counts[keep])

    def add(self, rows: np.ndarray, bins: np.ndarray, n_rows: int = 0, sign: int = 1,
            weights: np.ndarray | None = None) -> None:
        """Count values of bin ``bins[i]`` in (``sign=+1``) or out (``-1``) of ``rows[i]``
        (``weights[i]`` times each, if given). ``n_rows`` is not needed (kept for callers)."""
        if bins.size == 0:
            return
        ids = np.asarray(rows, dtype=np.int64) * self.width + np.asarray(bins, dtype=np.int64)
        inc = (np.full(ids.size, sign, dtype=np.int64) if weights is None
               else sign * np.asarray(weights, dtype=np.int64))
        run = self._reduce(ids, inc)
        if run[0].size:
            self._runs.append(run)
        while len(self._runs) > 1 and self._runs[-2][0].size <= 2 * self._runs[-1][0].size:
            (a, ca), (b, cb) = self._runs[-2], self._runs.pop()
            self._runs[-1] = self._reduce(np.concatenate([a, b]), np.concatenate([ca, cb]), presorted=True)

    def _compact(self) -> tuple[np.ndarray, np.ndarray]:
        while len(self._runs) > 1:
            (a, ca), (b, cb) = self._runs[-2], self._runs.pop()
            self._runs[-1] = self._reduce(np.concatenate([a, b]), np.concatenate([ca, cb]), presorted=True)
        if not self._runs:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return self._runs[0]

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair with a count: ``(rows, bins, counts)``, sorted by row then bin."""
        ids, counts = self._compact()
        return ids // self.width, ids % self.width, counts.copy()

    def load_entries(self, rows: np.ndarray, bins: np.ndarray, counts: np.ndarray) -> None:
        """Replace everything by these pairs (as :meth:`entries` gives them)."""
        self._runs = []
        self.add(np.asarray(rows, dtype=np.int64), np.asarray(bins, dtype=np.int64), 0, +1,
                 weights=np.asarray(counts, dtype=np.int64))

    def load_dense(self, counts: np.ndarray, lo: int) -> None:
        """Replace everything by a dense ``rows x bins`` matrix whose column 0 is bin ``lo``
        (the form states were exported in before sketches were sparse)."""
        c = np.asarray(counts, dtype=np.int64)
        r, b = np.nonzero(c) if c.ndim == 2 else (np.empty(0, np.int64), np.empty(0, np.int64))
        self.load_entries(r, b + int(lo), c[r, b] if c.ndim == 2 else np.empty(0, np.int64))

    def keep(self, row_map: np.ndarray) -> None:
        """Renumber rows: row ``r`` becomes ``row_map[r]``; rows mapped to -1 (or beyond
        ``row_map``) are dropped."""
        rows, bins, counts = self.entries()
        new = np.full(rows.size, -1, dtype=np.int64)
        inside = rows < row_map.size
        new[inside] = row_map[rows[inside]]
        ok = new >= 0
        self.load_entries(new[ok], bins[ok], counts[ok])

    def frozen(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The sketches as they are now, for :meth:`quantiles` later (runs are never
        changed in place, only replaced: later counts do not reach this copy)."""
        return list(self._runs)

    def quantiles(self, qs: tuple[float, ...], rows: np.ndarray,
                  runs: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
        """Array [len(rows) x len(qs)] of "lower" quantiles; NaN for empty rows (of the
        sketches as they are, or as they were when ``runs = frozen()`` was taken)."""
        rows = np.asarray(rows, dtype=np.int64)
        runs = self._runs if runs is None else runs
        out = np.full((rows.size, len(qs)), np.nan)
        if rows.size == 0 or not runs:
            return out
        want, back = np.unique(rows, return_inverse=True)
        lo_id, hi_id = want * self.width, (want + 1) * self.width
        got_ids, got_counts = [], []
        for ids, counts in runs:  # the asked rows' pairs of every run
            a, z = np.searchsorted(ids, lo_id), np.searchsorted(ids, hi_id)
            n = z - a
            total = int(n.sum())
            if total:
                idx = np.repeat(a - np.cumsum(n) + n, n) + np.arange(total)
                got_ids.append(ids[idx])
                got_counts.append(counts[idx])
        if not got_ids:
            return out
        ids, counts = self._reduce(np.concatenate(got_ids), np.concatenate(got_counts), presorted=True)
        row_of = ids // self.width
        start = np.searchsorted(row_of, want)
        end = np.searchsorted(row_of, want, side="right")
        cum = np.cumsum(counts)
        base = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0)
        n = np.where(end > start, cum[np.maximum(end - 1, 0)] - base, 0)
        ok = n > 0
        res = np.full((want.size, len(qs)), np.nan)
        for j, q in enumerate(qs):
            rank = _lower_ranks(np.float64(q), n[ok])
            i = np.searchsorted(cum, base[ok] + rank, side="right")
            res[ok, j] = self.map.values(ids[i] % self.width)
        return res[back]
