"""What V viewers see and what the server carries, in virtual time, vectorised.

For a workload (:mod:`~rtnb.tiers.workload`), a pattern (:mod:`~rtnb.tiers.delivery`),
V viewers and T hours, :func:`simulate` gives the data age each viewer sees
(time-weighted p50/p95/max, over time) and the loads: requests/s, open connections,
store queries/s, bytes/s and messages/s — and whether a metric's limit was kept.

The data age on a screen at time t is ``t - newest event time shown``: a sawtooth that
jumps down when an update lands and grows by one second per second until the next.
Each viewer's age is evaluated at one random instant in every ``resolution`` slice
(stratified sampling, so percentiles are time-weighted) from closed-form "last update
before t" arithmetic, and at the end of the display period containing it (for the max).
The store's answer is computed once per pipeline run or push slot and shared by every
viewer who reads it.

>>> sim = simulate(100.0, Polling(interval="30s", pipeline_delay="2s"), viewers=200, hours=2)
>>> round(sim.age_mean / 17.05, 2)   # closed form: 30/2 + 2 + 0.05 s
1.0
>>> round(sim.load_mean["requests_per_s"], 2)   # 200 viewers / 30 s
6.67

The closed-form arithmetic per delivery family (what each viewer's screen shows and
what the server carries, for pull and for push patterns) is in
:mod:`rtnb.tiers._screens`; this module holds the result, :class:`Simulation`, and the
functions that run it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError
from .._time import DurationLike, TimeLike, to_duration, to_timestamp
from ._screens import _MAX_SAMPLES, _simulate_pull, _simulate_push
from ._tiers import TIER_NAMES, get_tier
from .delivery import (  # the pattern classes are used by the examples too
    LOAD_COLUMNS,
    PATTERN_NAMES,
    Pattern,
    Polling,
    ServerSentEvents,
    WebSocketPush,
    _PatternBase,
    _seconds,
    get_pattern,
    pattern_for,
)
from .workload import Workload, _hours, as_workload

__all__ = ["Simulation", "simulate", "compare", "simulate_tiers"]


@dataclass(frozen=True, eq=False)
class Simulation:
    """What V viewers saw and what the server carried, for one pattern.

    ``ages`` is a (viewers x slices) matrix of data ages in seconds, one at a random
    instant of each ``resolution`` slice (NaN: nothing to show yet); ``loads`` a
    DataFrame per slice with :data:`LOAD_COLUMNS`. Summaries: ``age_mean``,
    ``age_p50``, ``age_p95``, ``age_max`` (seconds), ``load_mean``/``load_peak``,
    ``requests_peak_1s`` (the busiest second of connection attempts for push patterns,
    where reconnect storms last seconds; the busiest slice for pull patterns) and,
    with a ``limit``, ``within_limit`` and ``limit_kept``.

    >>> sim = simulate(20.0, ServerSentEvents(drop_rate=0), viewers=10, hours=1)
    >>> float(sim.loads["open_connections"].min())
    10.0
    >>> sim.summary()["pattern"]
    'sse'
    """

    pattern: Pattern
    workload: Workload
    viewers: int
    hours: float
    start: pd.Timestamp
    resolution: float
    ages: np.ndarray
    end_ages: np.ndarray
    loads: pd.DataFrame
    limit: float | None = None
    target: float = 0.99
    requests_peak_1s: float = 0.0
    _screen: Any = None

    # ---- data age
    @functools.cached_property
    def _age_stats(self) -> tuple[float, float, float]:
        a = self.ages.ravel()
        if np.isnan(a).any():
            a = a[~np.isnan(a)]
        if not a.size:
            return (float("nan"),) * 3
        p50, p95 = np.percentile(a, [50, 95])
        return float(a.mean()), float(p50), float(p95)

    @property
    def age_mean(self) -> float:
        """Time-weighted mean data age on viewers' screens, in seconds."""
        return self._age_stats[0]

    @property
    def age_p50(self) -> float:
        """Median (time-weighted) data age, in seconds."""
        return self._age_stats[1]

    @property
    def age_p95(self) -> float:
        """95th percentile (time-weighted) data age, in seconds."""
        return self._age_stats[2]

    @property
    def age_max(self) -> float:
        """Largest data age reached (just before a screen update), in seconds."""
        e = self.end_ages
        return float(np.nanmax(e)) if np.isfinite(e).any() else float("nan")

    @property
    def age_over_time(self) -> pd.DataFrame:
        """p50, p95 and max of the data age across viewers, per slice (seconds)."""
        a = self.ages
        with np.errstate(all="ignore"):
            if np.isnan(a).any():
                p50, p95 = np.nanpercentile(a, [50, 95], axis=0)
                mx = np.nanmax(np.where(np.isnan(self.end_ages), -np.inf, self.end_ages), axis=0)
            else:
                p50, p95 = np.percentile(a, [50, 95], axis=0)
                mx = self.end_ages.max(axis=0)
        return pd.DataFrame({"p50": p50, "p95": p95, "max": np.where(np.isinf(mx), np.nan, mx)},
                            index=self.loads.index)

    @property
    def within_limit(self) -> float | None:
        """Fraction of viewer-time the data age was within ``limit`` (None without one);
        time with nothing on screen counts as outside."""
        if self.limit is None:
            return None
        with np.errstate(invalid="ignore"):
            return float(np.mean(self.ages <= self.limit))

    @property
    def limit_kept(self) -> bool | None:
        """Whether the age was within ``limit`` at least ``target`` of the time."""
        w = self.within_limit
        return None if w is None else w >= self.target

    # ---- loads
    @property
    def load_mean(self) -> dict[str, float]:
        """Mean of each load over the run."""
        return {c: float(self.loads[c].mean()) for c in LOAD_COLUMNS}

    @property
    def load_peak(self) -> dict[str, float]:
        """Peak (largest slice) of each load."""
        return {c: float(self.loads[c].max()) for c in LOAD_COLUMNS}

    def summary(self) -> dict[str, Any]:
        """One row: pattern, data age (s) and mean/peak loads."""
        row: dict[str, Any] = {
            "pattern": self.pattern.name,
            "viewers": self.viewers,
            "age_mean_s": self.age_mean,
            "age_p50_s": self.age_p50,
            "age_p95_s": self.age_p95,
            "age_max_s": self.age_max,
        }
        peak = self.load_peak
        for c, v in self.load_mean.items():
            row[c] = v
            row[c.replace("_per_s", "") + "_peak" + ("_per_s" if c.endswith("_per_s") else "")] = peak[c]
        row["requests_peak_1s"] = self.requests_peak_1s
        if self.limit is not None:
            row["within_limit"] = self.within_limit
            row["limit_kept"] = self.limit_kept
        return row

    def screen(self, viewer: int = 0) -> pd.DataFrame:
        """Every screen update of one viewer: when it landed, the newest event time it
        showed, and the data age at that moment.

        >>> s = simulate(10.0, Polling(interval="10s"), viewers=3, hours=0.1).screen(1)
        >>> list(s.columns), len(s)
        (['shown_at', 'as_of', 'age_s'], 36)
        """
        if isinstance(viewer, bool) or not isinstance(viewer, (int, np.integer)) or not 0 <= viewer < self.viewers:
            raise ParameterError("viewer", viewer, f"must be an integer in [0, {self.viewers})")
        shown, asof = self._screen(int(viewer))
        keep = (shown >= 0) & (shown < self.hours * 3600.0)
        shown, asof = shown[keep], asof[keep]
        return pd.DataFrame({
            "shown_at": self.start + pd.to_timedelta(shown, unit="s"),
            "as_of": self.start + pd.to_timedelta(asof, unit="s"),
            "age_s": shown - asof,
        })

    def __repr__(self) -> str:
        return (f"Simulation(pattern={self.pattern.name!r}, viewers={self.viewers}, hours={self.hours:g}, "
                f"age_p50={self.age_p50:.3g}s, age_p95={self.age_p95:.3g}s)")


def simulate(
    workload: Any,
    pattern: Pattern | str,
    *,
    viewers: int,
    hours: float,
    limit: DurationLike | None = None,
    target: float = 0.99,
    resolution: DurationLike = "1min",
    restarts: Iterable[DurationLike] = (),
    restart_downtime: DurationLike = "30s",
    start: TimeLike | None = None,
    seed: int = 0,
) -> Simulation:
    """Simulate ``viewers`` viewers of a metric for ``hours`` under ``pattern``.

    ``workload`` is an event rate (events/s), an array of event times, a Source or a
    :class:`Workload`. ``limit`` is the metric's maximum acceptable age (the result
    then says whether it was kept ``target`` of the time). ``restarts`` are offsets
    from the start at which the server restarts, down for ``restart_downtime``: polls
    fail meanwhile, every push connection drops and reconnects (a reconnect storm).
    ``resolution`` is the time slice of the results (one sampled instant per viewer and
    slice; loads per slice); the same ``seed`` gives the same answer. ``start`` places
    the run on the calendar (default 2024-01-01; for a Source, its own start plus a
    two-hour warm-up, so the first hour looks like any other).

    >>> sim = simulate(50.0, "websocket", viewers=100, hours=1, limit="1s")
    >>> sim.limit_kept, sim.within_limit > 0.99
    (True, True)
    >>> simulate(5.0, "polling", viewers=-3, hours=1)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: viewers=-3 is invalid: must be an integer >= 1
    """
    if isinstance(pattern, str):
        pattern = get_pattern(pattern)
    if not isinstance(pattern, _PatternBase):
        raise ParameterError("pattern", pattern, "must be a pattern or one of its names", PATTERN_NAMES)
    if isinstance(viewers, bool) or not isinstance(viewers, (int, np.integer)) or viewers < 1:
        raise ParameterError("viewers", viewers, "must be an integer >= 1")
    hours = _hours(hours)
    t0 = to_timestamp("2024-01-01" if start is None else start, "start")
    wl = as_workload(workload, start=start, hours=hours)
    if wl.start is not None:
        t0 = wl.start
    T = hours * 3600.0
    res = _seconds(to_duration(resolution, "resolution"))
    M = max(1, int(np.ceil(T / res - 1e-9)))
    w = T / M
    if viewers * M > _MAX_SAMPLES:
        raise ParameterError("resolution", resolution,
                             f"gives {viewers * M:,} samples for {viewers} viewers over {hours:g} h; use a coarser one")
    lim = None if limit is None else _seconds(to_duration(limit, "limit"))
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
        raise ParameterError("target", target, "must be in (0, 1]")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError("seed", seed, "must be an integer >= 0")
    down = np.sort(np.array([_seconds(to_duration(r, "restarts", allow_zero=True)) for r in restarts], dtype=float))
    downtime = _seconds(to_duration(restart_downtime, "restart_downtime", allow_zero=True))

    rng = np.random.default_rng(seed)
    p = pattern._plan()
    t = (np.arange(M) + rng.random((int(viewers), M))) * w  # one instant per slice
    edges = np.arange(M + 1) * w
    run = _simulate_push if p.push else _simulate_pull
    ages, end_ages, loads, screen, peak_1s = run(wl, p, int(viewers), T, t, edges, down, downtime, rng)
    index = pd.DatetimeIndex(t0 + pd.to_timedelta(edges[:-1], unit="s"), name="time").as_unit("ns")
    loads_df = pd.DataFrame(loads, index=index)[list(LOAD_COLUMNS)]
    return Simulation(pattern=pattern, workload=wl, viewers=int(viewers), hours=hours, start=t0,
                      resolution=w, ages=ages, end_ages=end_ages, loads=loads_df, limit=lim,
                      target=float(target), requests_peak_1s=peak_1s, _screen=screen)


def compare(
    workload: Any,
    patterns: Mapping[str, Pattern] | Sequence[Pattern],
    *,
    viewers: int,
    hours: float,
    **options: Any,
) -> dict[str, Simulation]:
    """Simulate several patterns (or pattern names) on the same workload (read once);
    keys are the mapping's keys or the patterns' names. Options as for :func:`simulate`.

    >>> sims = compare(10.0, [Polling(interval="5s"), WebSocketPush()], viewers=50, hours=0.5)
    >>> sorted(sims)
    ['polling', 'websocket']
    """
    wl = as_workload(workload, start=options.get("start"), hours=_hours(hours))
    def name(pt: Any) -> Any:  # a pattern or its name, as simulate() takes
        return get_pattern(pt).name if isinstance(pt, str) else getattr(pt, "name", pt)

    items = patterns.items() if isinstance(patterns, Mapping) else [(name(pt), pt) for pt in patterns]
    return {name: simulate(wl, pt, viewers=viewers, hours=hours, **options) for name, pt in items}


def simulate_tiers(
    workload: Any,
    *,
    viewers: int,
    hours: float,
    tiers: Sequence[str] = TIER_NAMES,
    **options: Any,
) -> dict[str, Simulation]:
    """Each tier's usual pattern (see :func:`pattern_for`) on the same workload.

    >>> sims = simulate_tiers(20.0, viewers=1000, hours=4)
    >>> [round(s.age_mean / 60, 1) for s in sims.values()]   # minutes: batch ... sub-second
    [47.5, 1.5, 0.0, 0.0]
    >>> [round(s.age_mean / (s.pattern.expected_age(20.0) / pd.Timedelta("1s")), 1) for s in sims.values()]
    [1.0, 1.0, 1.0, 1.0]
    """
    return compare(workload, {get_tier(t).name: pattern_for(t) for t in tiers},
                   viewers=viewers, hours=hours, **options)
