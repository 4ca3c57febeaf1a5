"""What a scenario is: its description (:class:`Scenario`, with its :class:`Param` and
:class:`Burst` kinds) and what its value generator gets for one block of events
(:class:`Draw`, with the :class:`BurstHit` of each burst overlapping the block).

The catalogue of scenarios is :mod:`rtnb.sources._scenarios`; the simulator that
decides when events happen is :mod:`rtnb.sources.simulate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .._checks import check_int, check_number
from ._sampling import _TABLE

__all__ = ["Scenario", "Param", "Burst", "BurstHit", "Draw", "SECOND"]

SECOND = 1_000_000_000
_DAY = 86_400 * SECOND


# ---------------------------------------------------------------- descriptions


@dataclass(frozen=True, kw_only=True)
class Param:
    """A scenario parameter: name, default, meaning and valid range.

    >>> p = Param(name="hosts", default=40, doc="number of hosts", lo=1, hi=10_000, integer=True)
    >>> p.check(12)
    12
    >>> p.check(0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: hosts=0 is invalid: must be an integer between 1 and 10000
    """

    name: str
    default: Any
    doc: str
    lo: float = 0.0
    hi: float = math.inf
    integer: bool = False

    def check(self, value: Any) -> Any:
        """``value`` if valid for this parameter, else :class:`ParameterError`."""
        hi = None if self.hi == math.inf else self.hi
        if self.integer:
            return check_int(self.name, value, minimum=int(self.lo), maximum=None if hi is None else int(hi))
        return check_number(self.name, value, minimum=self.lo, maximum=hi)


@dataclass(frozen=True, kw_only=True)
class Burst:
    """A kind of burst: a launch, an incident, a live event.

    ``target`` names the key column the burst concentrates on and ``target_value`` the
    value (or ``None``: a value drawn by popularity for each occurrence); a fraction
    ``(intensity - 1) / intensity`` of the events during the burst is steered to it,
    which is exactly the extra traffic.

    >>> b = Burst(name="incident", doc="an outage of one service", per_day=0.5,
    ...           minutes=(10, 60), intensity=2.0, target="service")
    >>> b.steer_share
    0.5
    """

    name: str
    doc: str
    per_day: float
    minutes: tuple[float, float]
    intensity: float
    target: str | None = None
    target_value: str | None = None

    @property
    def steer_share(self) -> float:
        """Fraction of the burst's events steered to its target."""
        return (self.intensity - 1.0) / self.intensity if self.target else 0.0


@dataclass(frozen=True, kw_only=True, eq=False)
class Scenario:
    """One workload of the catalogue: its story, columns, parameters and behaviour.

    >>> from rtnb.sources._scenarios import CATALOGUE
    >>> s = CATALOGUE["system_health"]
    >>> s.keys, s.measures
    (('host', 'service'), ('latency_ms', 'cpu', 'error'))
    >>> s.dtypes["error"], s.dtypes["host"]
    ('int64', 'category')
    >>> [p.name for p in s.params]
    ['hosts', 'p50_latency_ms', 'error_rate']
    >>> print(s.describe().splitlines()[0])
    system_health: request metrics from a fleet of hosts running services (default rate 200/s)
    """

    name: str
    description: str
    default_rate: float
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    columns: Mapping[str, str]  # measure/key column -> meaning (with unit)
    integer_measures: tuple[str, ...]
    params: tuple[Param, ...]
    daily: tuple[float, ...]
    weekly: tuple[float, ...]
    bursts: tuple[Burst, ...]
    categories: Callable[[Mapping[str, Any]], dict[str, tuple[tuple[str, ...], np.ndarray]]]
    generate: Callable[[Draw], dict[str, np.ndarray]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))

    @property
    def dtypes(self) -> dict[str, str]:
        """The dtype of every column of a clean batch."""
        out = {"ts": "datetime64[ns]", "arrival": "datetime64[ns]", "event_id": "int64"}
        out.update({k: "category" for k in self.keys})
        out.update({m: "int64" if m in self.integer_measures else "float64" for m in self.measures})
        out["fault"] = "category"
        return out

    def defaults(self) -> dict[str, Any]:
        """The default value of every scenario parameter."""
        return {p.name: p.default for p in self.params}

    def describe(self) -> str:
        """A few lines: story, columns, parameters and bursts."""
        lines = [f"{self.name}: {self.description} (default rate {self.default_rate:g}/s)"]
        lines.append("  columns: ts, arrival, event_id, fault, and")
        for col, doc in self.columns.items():
            role = "key" if col in self.keys else "measure"
            lines.append(f"    {col} ({role}, {self.dtypes[col]}): {doc}")
        lines.append("  parameters:")
        for p in self.params:
            lines.append(f"    {p.name}={p.default!r}: {p.doc}")
        lines.append("  bursts:")
        for b in self.bursts:
            lines.append(
                f"    {b.name} (~{b.per_day:g}/day, {b.minutes[0]:g}-{b.minutes[1]:g} min, "
                f"x{b.intensity:g} rate): {b.doc}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, keys={self.keys}, measures={self.measures})"


# ---------------------------------------------------------------- block context


@dataclass(frozen=True)
class BurstHit:
    """One occurrence of a burst: kind, [start, end) in ns, target value code (or -1)."""

    kind: Burst
    start: int
    end: int
    target: int


class Draw:
    """What a value generator gets for one block of events.

    ``rng`` is the block's value generator, ``ts`` the event times (int64 ns, in
    generation order), ``params`` the resolved scenario parameters, ``hits`` the bursts
    overlapping the block, ``t0``/``t1`` the block's bounds in whole seconds.

    >>> d = Draw(np.random.default_rng(0), np.array([0, SECOND]), {}, {}, [], None, 0, 0, 1)
    >>> d.n, d.during("incident") is None
    (2, True)
    """

    __slots__ = ("rng", "ts", "n", "params", "tables", "hits", "profile", "seed", "t0", "t1", "extra")

    def __init__(self, rng, ts, params, tables, hits, profile, seed, t0, t1, extra=None):
        self.rng = rng
        self.ts = ts
        self.n = len(ts)
        self.params = params
        self.tables = tables
        self.hits = hits
        self.profile = profile
        self.seed = seed
        self.t0 = t0
        self.t1 = t1
        self.extra = extra if extra is not None else {}

    def key(self, name: str) -> np.ndarray:
        """Codes of key ``name`` drawn by popularity (int16)."""
        table = self.tables[name]
        return table[self.rng.integers(0, _TABLE, self.n, dtype=np.uint16)]

    def during(self, kind: str) -> np.ndarray | None:
        """Mask of events inside a burst of ``kind`` (None when there is none)."""
        mask = None
        for h in self.hits:
            if h.kind.name == kind:
                m = (self.ts >= h.start) & (self.ts < h.end)
                mask = m if mask is None else (mask | m)
        return mask

    def steer(self, kind: str, codes: np.ndarray) -> np.ndarray | None:
        """Steer a share of the events of each ``kind`` burst to its target value.

        Returns the mask of events that now carry a burst's target (including events
        that had it by chance), or None when no such burst overlaps the block.
        """
        hit_mask = None
        for h in self.hits:
            if h.kind.name != kind or h.target < 0:
                continue
            inside = (self.ts >= h.start) & (self.ts < h.end)
            u = self.rng.random(self.n)  # drawn for every event: independent of the mask
            codes[inside & (u < h.kind.steer_share)] = h.target
            m = inside & (codes == h.target)
            hit_mask = m if hit_mask is None else (hit_mask | m)
        return hit_mask

    def sample(self, table: np.ndarray) -> np.ndarray:
        """Values drawn from a quantile table (see :func:`quantile_table`)."""
        return table[self.rng.integers(0, _TABLE, self.n, dtype=np.uint16)]

    def lognormal(self, mean: float, sigma: float) -> np.ndarray:
        """Lognormal values with the given *mean* (not median)."""
        return self.rng.lognormal(math.log(mean) - sigma * sigma / 2, sigma, self.n)
