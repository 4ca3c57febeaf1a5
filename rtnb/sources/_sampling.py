"""Fast, seeded draws for the simulated scenarios' values: Zipf-like popularity weights,
lookup tables of key codes and of quantiles (one 16-bit integer per value instead of
numpy's slower samplers), a fast Poisson sampler, and a Brownian motion that can be
read at any second without its past (trade prices).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["zipf", "key_table", "quantile_table", "count_table", "poisson", "brownian_at"]

_TABLE = 1 << 16  # slots of a key-popularity lookup table


def zipf(n: int, skew: float) -> np.ndarray:
    """Zipf-like popularity weights of ``n`` values (the first is the most popular).

    >>> zipf(3, 1.0).round(3)
    array([0.545, 0.273, 0.182])
    """
    w = 1.0 / np.arange(1, n + 1, dtype=float) ** skew
    return w / w.sum()


def _shares(*w: float) -> np.ndarray:
    a = np.asarray(w, dtype=float)
    return a / a.sum()


def key_table(weights: np.ndarray) -> np.ndarray:
    """A lookup table of codes whose frequencies follow ``weights`` (every value >= 1 slot).

    >>> np.bincount(key_table(np.array([0.75, 0.25]))) / (1 << 16)
    array([0.75, 0.25])
    """
    w = np.asarray(weights, dtype=float)
    slots = np.maximum(np.floor(w / w.sum() * _TABLE).astype(np.int64), 1)
    while slots.sum() > _TABLE:  # only when many values were lifted to 1 slot
        slots[np.argmax(slots)] -= 1
    rest = _TABLE - int(slots.sum())
    if rest:
        slots[np.argsort(-(w / w.sum() * _TABLE - slots), kind="stable")[:rest]] += 1
    return np.repeat(np.arange(len(w), dtype=np.int16), slots)


_P_MID = (np.arange(_TABLE) + 0.5) / _TABLE


def quantile_table(x: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """65536 evenly spaced quantiles of a distribution given on a grid (``x``, ``cdf``).

    Drawing ``table[uniform 16-bit integer]`` samples the distribution at a resolution
    of 1/65536 in probability: far cheaper than numpy's beta or Pareto samplers, for
    bounded values and counts. Continuous heavy tails (amounts) use numpy's samplers.

    >>> t = quantile_table(np.array([0.0, 1.0]), np.array([0.0, 1.0]))  # uniform on [0, 1]
    >>> round(float(t.mean()), 6), float(t.min()) > 0
    (0.5, True)
    """
    return np.interp(_P_MID, cdf, x)


def count_table(survival: np.ndarray) -> np.ndarray:
    """A quantile table of a count ``k >= 0`` given ``P(K > k)`` for k = 0, 1, ...

    >>> np.bincount(count_table(np.array([0.5, 0.0])))[:2] / (1 << 16)  # P(0) = P(1) = 1/2
    array([0.5, 0.5])
    """
    cdf = 1.0 - np.asarray(survival, dtype=float)
    return np.minimum(np.searchsorted(cdf, _P_MID, side="right"), len(cdf) - 1).astype(np.int64)


def _lomax_counts(alpha: float, scale: float, cap: int) -> np.ndarray:
    """Table of ``floor(Pareto(alpha) x scale)`` (numpy's Lomax), capped at ``cap``."""
    k = np.arange(cap + 1, dtype=float)
    surv = (1.0 + (k + 1.0) / scale) ** -alpha  # P(floor(X) > k) = P(X >= k + 1)
    surv[-1] = 0.0
    return count_table(surv)


def _beta_table(a: float, b: float) -> np.ndarray:
    x = np.linspace(0.0, 1.0, 100_001)
    pdf = x ** (a - 1) * (1 - x) ** (b - 1)
    cdf = np.concatenate(([0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2)))
    return quantile_table(x, cdf / cdf[-1])


def _poisson_table(lam: float) -> np.ndarray:
    k = np.arange(64)
    pmf = np.exp(-lam + k * math.log(lam) - np.array([math.lgamma(i + 1) for i in k])) if lam > 0 else (k == 0) * 1.0
    return count_table(np.clip(1.0 - np.cumsum(pmf), 0.0, 1.0))


_POISSON_STEP = 0.25
_POISSON_GRID = np.arange(0.0, 10.0 + _POISSON_STEP / 2, _POISSON_STEP)
_POISSON_TABLES = np.stack([_poisson_table(lam) for lam in _POISSON_GRID]).astype(np.int8)


def poisson(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """Poisson counts with per-value means ``lam``, fast.

    Below a mean of 10: a mixture of the two neighbouring tabulated Poisson laws on a
    0.25 grid, weighted so the mean is exactly ``lam`` (numpy's exact sampler costs
    ~100 ns per value here). From 10 up: a rounded normal approximation.

    >>> rng = np.random.default_rng(0)
    >>> c = poisson(rng, np.full(200_000, 2.6))
    >>> round(float(c.mean()), 2), round(float(c.var()), 1)
    (2.6, 2.6)
    >>> int(poisson(rng, np.array([0.0]))[0]), abs(int(poisson(rng, np.array([1e6]))[0]) - 10**6) < 10_000
    (0, True)
    """
    lam = np.asarray(lam, dtype=np.float64)
    big = lam >= 10.0
    n_big = int(np.count_nonzero(big))
    if n_big == 0:
        return _poisson_small(rng, lam)
    if n_big == len(lam):
        return _poisson_big(rng, lam)
    out = np.empty(len(lam), dtype=np.int64)
    out[~big] = _poisson_small(rng, lam[~big])
    out[big] = _poisson_big(rng, lam[big])
    return out


def _poisson_small(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    x = lam * (1.0 / _POISSON_STEP)
    lo = np.floor(x)
    grid = (lo + (rng.random(len(lam)) < (x - lo))).astype(np.intp)  # stochastic rounding keeps the mean
    return _POISSON_TABLES[grid, rng.integers(0, _TABLE, len(lam), dtype=np.uint16)].astype(np.int64)


def _poisson_big(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    return np.maximum(np.rint(lam + np.sqrt(lam) * rng.standard_normal(len(lam))), 0).astype(np.int64)


_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrap-around arithmetic)."""
    x = x + _GOLD
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _hash_normal(seed: int, syms: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Standard normals keyed by (seed, symbol, node), shape ``syms x nodes``."""
    h = _mix(_mix(np.full(len(syms), seed, dtype=np.uint64)) ^ syms.astype(np.uint64))
    h1 = _mix(h[:, None] ^ nodes.astype(np.uint64)[None, :])
    h2 = _mix(h1)
    u1 = ((h1 >> np.uint64(11)).astype(np.float64) + 1.0) * 2.0**-53
    u2 = (h2 >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


_LEVELS = 36  # the walk is defined on [0, 2**36) seconds since 1970 (to year 4147)


def brownian_at(seed: int, syms: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """A standard Brownian motion per symbol at whole ``seconds``, in random access.

    Lévy's midpoint construction: the value at a dyadic point is the mean of its
    interval's ends plus a normal keyed by (seed, symbol, point), so any second can be
    computed without the past, and the same second always gives the same value.
    Returns an array ``len(syms) x len(seconds)``.

    >>> syms, t = np.arange(3), np.array([0, 1_700_000_000, 1_700_000_001])
    >>> w = brownian_at(7, syms, t)
    >>> w.shape, bool((w[:, 0] == 0).all())
    ((3, 3), True)
    >>> np.array_equal(w[:, 1:], brownian_at(7, syms, t[1:]))
    True
    """
    t = np.asarray(seconds, dtype=np.int64)[None, :]
    shape = (len(syms), t.shape[1])
    a = np.zeros(shape, dtype=np.int64)
    b = np.full(shape, 1 << _LEVELS, dtype=np.int64)
    wa = np.zeros(shape)
    wb = math.sqrt(1 << _LEVELS) * _hash_normal(seed, syms, np.array([1 << _LEVELS]))
    wb = np.broadcast_to(wb, shape).copy()
    for _ in range(_LEVELS):
        m = (a + b) >> 1
        # every element of a column follows the same path; key the normals per column
        z = _hash_normal(seed, syms, m[0])
        wm = 0.5 * (wa + wb) + np.sqrt((b - a) / 4.0) * z
        left = t < m
        b = np.where(left, m, b)
        wb = np.where(left, wm, wb)
        a = np.where(left, a, m)
        wa = np.where(left, wa, wm)
    return wa
