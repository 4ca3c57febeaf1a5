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


class _DenseSketches:
    """One sketch per row (key), as a dense count matrix over the occupied key range.

    Used by rolling windows: ``add(rows, keys, +1/-1)`` counts values in or out of the
    window in O(batch); ``quantiles(qs, rows)`` reads the rows asked for. Bins are
    grouped in blocks of :attr:`BLOCK` whose totals are kept too, so a quantile walks
    the blocks, then one block: O(bins / BLOCK + BLOCK) per row, not O(bins). Rows and
    bins grow geometrically (by a quarter / an eighth: amortised O(1) per new row or bin).

    ``counts`` / ``lo`` are the occupied part (rows seen, bins ``lo .. lo + width``):
    what a state exports and loads.
    """

    BLOCK = 32

    def __init__(self, relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY) -> None:
        self.map = _mapping(relative_accuracy)
        self._c = np.zeros((0, 0), dtype=np.int64)  # capacity: rows x bins from self._base
        self._blocks = np.zeros((0, 0), dtype=np.int64)  # rows x (bins / BLOCK)
        self._base = 0  # bin key of column 0 (a multiple of BLOCK)
        self._rows = 0  # rows in use
        self._a = self._z = 0  # columns in use: [a, z)

    # the occupied part, as exported -------------------------------------
    @property
    def counts(self) -> np.ndarray:
        return self._c[: self._rows, self._a : self._z]

    @counts.setter
    def counts(self, value: np.ndarray) -> None:
        v = np.array(value, dtype=np.int64)
        self._set(v if v.ndim == 2 else v.reshape(0, 0), self.lo)

    @property
    def lo(self) -> int:
        return self._base + self._a

    @lo.setter
    def lo(self, value: int) -> None:
        self._set(self.counts.copy(), int(value))

    def _set(self, counts: np.ndarray, lo: int) -> None:
        rows, width = counts.shape
        B = self.BLOCK
        base = (lo // B) * B
        a = lo - base
        cap = -(-(a + width) // B) * B
        self._c = np.zeros((rows, cap), dtype=np.int64)
        self._c[:, a : a + width] = counts
        self._base, self._rows, self._a, self._z = base, rows, a, a + width
        self._blocks = self._c.reshape(rows, -1, B).sum(axis=2) if cap else np.zeros((rows, 0), dtype=np.int64)

    def _fit(self, n_rows: int, kmin: int, kmax: int) -> None:
        B = self.BLOCK
        rows_cap, cap = self._c.shape
        if cap == 0:
            self._base = (kmin // B) * B
        lo, hi = kmin - self._base, kmax + 1 - self._base  # wanted columns [lo, hi)
        if self._z > self._a:
            lo, hi = min(lo, self._a), max(hi, self._z)
        if n_rows <= rows_cap and 0 <= lo and hi <= cap:
            self._rows = max(self._rows, n_rows)
            self._a, self._z = lo, hi
            return
        new_rows = rows_cap if n_rows <= rows_cap else max(n_rows, rows_cap + rows_cap // 4, 8)
        # columns: keep the old ones, add an eighth of the width on the side that grew
        # (rows grow by a quarter: the matrix is the window's largest array)
        pad = (hi - lo) // 8 if cap else 0
        left = 0 if lo >= 0 else -(-(-lo + pad) // B) * B
        right = cap if hi <= cap else -(-(hi + pad) // B) * B
        new_cap = left + right
        new = np.zeros((new_rows, new_cap), dtype=np.int64)
        new[:rows_cap, left : left + cap] = self._c
        blocks = np.zeros((new_rows, new_cap // B), dtype=np.int64)
        blocks[:rows_cap, left // B : (left + cap) // B] = self._blocks
        self._c, self._blocks = new, blocks
        self._base -= left
        self._a, self._z = lo + left, hi + left
        self._rows = max(self._rows, n_rows)

    def add(self, rows: np.ndarray, keys: np.ndarray, n_rows: int, sign: int = 1,
            weights: np.ndarray | None = None) -> None:
        if keys.size == 0:
            if n_rows > self._rows:
                self._fit(n_rows, self.lo, self.lo + max(self._z - self._a - 1, 0))
            return
        self._fit(n_rows, int(keys.min()), int(keys.max()))
        col = keys - self._base
        rows = rows.astype(np.int64)
        inc = sign if weights is None else sign * np.asarray(weights, dtype=np.int64)
        # O(batch): scatter-add into the (contiguous) count matrices, no dense temporary
        np.add.at(self._c.reshape(-1), rows * self._c.shape[1] + col, inc)
        np.add.at(self._blocks.reshape(-1), rows * self._blocks.shape[1] + col // self.BLOCK, inc)

    def quantiles(self, qs: tuple[float, ...], rows: np.ndarray) -> np.ndarray:
        """Array [len(rows) x len(qs)]; NaN for empty rows."""
        out = np.full((rows.size, len(qs)), np.nan)
        if self._z <= self._a or rows.size == 0:
            return out
        B = self.BLOCK
        b0, b1 = self._a // B, -(-self._z // B)
        blk = self._blocks[rows, b0:b1]
        cumb = np.cumsum(blk, axis=1)
        n = cumb[:, -1]
        ok = n > 0
        r = np.arange(rows.size)
        inner = np.arange(B)
        for j, q in enumerate(qs):
            rank = _lower_ranks(np.float64(q), n)
            bi = (cumb > rank[:, None]).argmax(axis=1)  # the block holding the rank
            before = cumb[r, bi] - blk[r, bi]
            cols = (bi + b0)[:, None] * B + inner[None, :]
            cum = np.cumsum(self._c[rows[:, None], cols], axis=1) + before[:, None]
            idx = (cum > rank[:, None]).argmax(axis=1)
            vals = self.map.values((bi + b0) * B + idx + self._base)
            out[:, j] = np.where(ok, vals, np.nan)
        return out
