"""Simulated workloads: seeded, seasonal, bursty event streams with injectable faults.

``simulate(name, ...)`` makes a source from the catalogue (see :func:`scenarios`) that
follows the :class:`rtnb.Source` protocol: ``read(start, end)`` returns the events whose
*arrival* time is in ``[start, end)``, in arrival order.

>>> src = simulate("ecommerce_orders", rate=50, seed=1)
>>> batch = src.read(pd.Timestamp("2024-01-01 12:00"), pd.Timestamp("2024-01-01 12:01"))
>>> list(batch.columns)
['ts', 'arrival', 'event_id', 'country', 'channel', 'amount', 'items', 'fault']
>>> len(batch) > 1000, bool((batch.arrival >= batch.ts).all())
(True, True)

How events are made
-------------------
Time is cut into fixed blocks (a power of two seconds, 1 s to 1024 s, chosen so a block
holds about 32k events at the source's rate). Each block has its own random generators,
seeded from ``(seed, block)`` with :class:`numpy.random.SeedSequence`, and is generated
in one vectorised pass: a Poisson process whose intensity is
``rate x daily(t) x weekly(t) x bursts(t)`` (per second), drawn as exponential gaps in
cumulative intensity so the clean arrivals come out sorted; then each event's time
``ts = arrival - ingest delay``; then the scenario's values and the faults. A read
selects rows by arrival with a binary search per block. So the same seed gives the same
events **whatever the batch boundaries** (read an hour in 1 s steps, in 7.3 s steps or
in one piece: the concatenated frames are identical). Only the blocks a later read can
still need are cached, trimmed to their undelivered rows.

Delivery
--------
A clean event arrives ``d`` after it happened, ``d`` gamma-distributed (shape 2) with
mean ``ingest_delay`` (default 200 ms), capped at 5 x that mean (the *ingest cap*, 1 s
by default). Faults (:class:`Faults`) add late events, duplicates, malformed rows,
stalls and outages; every injected row is marked in the ``fault`` column. An outage
makes ``read`` raise :class:`rtnb.SourceUnavailable` when the whole interval lies
inside it (a poll made while the source is down); a read that straddles its start or
end returns what arrived outside it, and the events that would have arrived during it
arrive at its end. So nothing is lost whether the caller retries the failed interval
or moves on, and an outage shorter than the polling interval is not seen as one.

Batches
-------
Columns: ``ts``, ``arrival`` (``datetime64[ns]``), ``event_id`` (``int64``, unique per
event; a duplicate repeats it), the scenario's keys (categoricals with a fixed set of
categories), its measures (``float64``, or ``int64`` for counts) and ``fault``
(categorical: ``""`` for a clean row, else the fault kind). A malformed row changes its
batch's dtypes the way real data does: a missing or non-finite count makes that
column ``float64``, a string in a measure makes it ``object``.

Rate changes
------------
``source.rate`` can be set while the source runs (a dashboard slider): the new rate
applies to events arriving from the next whole second after the latest ``read`` end;
events already delivered, and late events and duplicates still in flight, are kept.
Determinism is promised for a fixed rate (the same rate changes after the same reads
also give the same events).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError, SourceUnavailable, UnknownNameError
from .._time import DurationLike, TimeLike, to_duration, to_timestamp
from ._faults import Faults, Intervals
# the catalogue, the making of blocks and of batches live in their own modules; the
# names this module had stay importable here (and pickled references)
from ._scenarios import _CATALOGUE, EXTRA, SECOND, BurstHit, Catalogue, Scenario, key_table, scenarios
from ._sim_batches import BatchFrames
from ._sim_blocks import _ARR, _END, BlockGeneration, _Block, _block_seconds, _gamma2_table, _Segment

__all__ = ["simulate", "scenarios", "SimulatedSource", "Scenario", "Faults", "Catalogue"]

_MAX_RATE = 1e6


def _check_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError("rate", value, "must be a number of events per second > 0")
    v = float(value)
    if not (0 < v <= _MAX_RATE):  # rejects NaN
        raise ParameterError("rate", value, f"must be > 0 and at most {_MAX_RATE:g} events per second")
    return v


class SimulatedSource(BlockGeneration, BatchFrames):
    """A simulated workload following the :class:`rtnb.Source` protocol.

    Made by :func:`simulate`; see the module documentation for how events are made
    and delivered.

    >>> src = simulate("system_health", rate=500, seed=3, faults={"late": 0.1})
    >>> src.name, src.keys, src.id_col
    ('system_health', ('host', 'service'), 'event_id')
    >>> b = src.read("2024-01-01 10:00", "2024-01-01 10:00:10")
    >>> sorted(set(b.fault))
    ['', 'late']
    >>> src.rate = 1000            # takes effect from the next whole second
    >>> src
    SimulatedSource('system_health', rate=1000, seed=3, start='2024-01-01T00:00:00', faults=Faults(late=0.1))
    """

    id_col = "event_id"

    def __init__(
        self,
        scenario: Scenario,
        *,
        rate: float,
        seed: int,
        faults: Faults,
        start: pd.Timestamp,
        ingest_delay: pd.Timedelta,
        bursts: float,
        params: Mapping[str, Any],
    ) -> None:
        self.scenario = scenario
        self.name = scenario.name
        self.keys = scenario.keys
        self.measures = scenario.measures
        self.seed = seed
        self.faults = faults
        self.start = start
        self.ingest_delay = ingest_delay
        self.bursts = bursts
        self.params = dict(params)
        self._origin = start.value
        self._ingest_mean = ingest_delay.value
        self._cap = 5 * self._ingest_mean
        # a block holds events by clean arrival; late events and duplicates arrive up to
        # max_delay after it
        self._lookback = faults.max_delay.value if (faults.late or faults.duplicates) else 0
        self._delays = _gamma2_table(self._ingest_mean, self._cap)
        self._intervals = Intervals.resolve(faults, start)
        cats = scenario.categories(self.params)
        self._categories = {k: cats[k][0] for k in scenario.keys}
        self._key_dtypes = {k: pd.CategoricalDtype(list(cats[k][0])) for k in scenario.keys}
        self._tables = {k: key_table(cats[k][1]) for k in scenario.keys}
        self._fields = ("ts", *scenario.keys, *scenario.measures)
        self._columns = pd.Index(list(scenario.dtypes))
        self._is_int = tuple(m in scenario.integer_measures for m in scenario.measures)
        daily = np.asarray(scenario.daily, dtype=float)
        daily = daily / daily.mean()
        self._daily = np.append(daily, daily[0])
        weekly = np.asarray(scenario.weekly, dtype=float)
        self._weekly = weekly / weekly.mean()
        self._max_burst = max((b.minutes[1] for b in scenario.bursts), default=0) * 60 * SECOND
        extra = EXTRA.get(scenario.name)
        self._extra = extra(self.params, seed, self._origin // SECOND) if extra else {}
        self._segments = [_Segment(self._origin, _END, rate, _block_seconds(rate))]
        self._seg_ends = [_END]
        self._cache: dict[tuple[int, int, float, int], _Block] = {}
        self._days: dict[int, list[BurstHit]] = {}
        self._read_end = self._origin
        if faults.late and faults.max_delay.value <= self._cap:
            raise ParameterError(
                "max_delay", faults.max_delay,
                f"must exceed the ingest cap {pd.Timedelta(self._cap)} (5 x ingest_delay) so that "
                "late events arrive after newer ones",
            )

    # -- the protocol ------------------------------------------------------------------

    @property
    def rate(self) -> float:
        """Mean events per second of event time (before bursts); settable while running."""
        return self._segments[-1].rate

    @rate.setter
    def rate(self, value: float) -> None:
        rate = _check_rate(value)
        t = -(-max(self._read_end, self._origin) // SECOND) * SECOND  # next whole second
        segs = [s for s in self._segments if s.start < t]
        if segs:
            last = segs[-1]
            segs[-1] = _Segment(last.start, t, last.rate, last.block_s)
        segs.append(_Segment(max(t, self._origin), _END, rate, _block_seconds(rate)))
        self._segments = segs
        self._seg_ends = [seg.end for seg in segs]
        # cached blocks of unchanged segments stay valid (the key holds start, end and
        # rate); those of the truncated one miss and are dropped by the next read

    @property
    def dtypes(self) -> dict[str, str]:
        """Column dtypes of a clean batch."""
        return self.scenario.dtypes

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of every batch, in order.

        >>> simulate("ecommerce_orders").columns[:3]
        ('ts', 'arrival', 'event_id')
        """
        return tuple(self.scenario.dtypes)

    def read(self, start: TimeLike, end: TimeLike) -> pd.DataFrame:
        """Events that arrived in ``[start, end)``, in arrival order.

        Raises :class:`rtnb.SourceUnavailable` when the whole interval lies inside an
        outage (the held-back events arrive when it ends).

        >>> src = simulate("trading_ticks", seed=0, faults={"outages": [("1h", "10min")]})
        >>> len(src.read("2024-01-01 14:00", "2024-01-01 14:00:01")) > 0
        True
        >>> src.read("2024-01-01 01:02", "2024-01-01 01:03")
        Traceback (most recent call last):
        ...
        rtnb._errors.SourceUnavailable: source 'trading_ticks' is unavailable (simulated outage 2024-01-01 01:00:00 to 2024-01-01 01:10:00); held-back events arrive when it ends
        """
        s = self._ns(start, "start")
        e = self._ns(end, "end")
        if e < s:
            raise ParameterError("end", pd.Timestamp(e), f"is before start {pd.Timestamp(s)}")
        down = self._intervals.down(s, e)
        if down is not None:
            raise SourceUnavailable(
                f"source {self.name!r} is unavailable (simulated outage {pd.Timestamp(down[0])} "
                f"to {pd.Timestamp(down[1])}); held-back events arrive when it ends"
            )
        self._read_end = max(self._read_end, e)
        if e == s:
            return self._frame(np.empty((self._nrows, 0), dtype=np.int64))
        ts_lo = max(self._intervals.earliest(s) - self._lookback, self._origin)
        ts_hi = self._intervals.earliest(e)  # events with ts >= this cannot arrive before e
        parts = []
        keep: dict[tuple[int, int, float, int], _Block] = {}
        # segments are sorted and disjoint: skip those that end before the range (a
        # slider dragged for minutes leaves thousands of them)
        first = bisect.bisect_right(self._seg_ends, ts_lo)
        for seg in self._segments[first:]:
            if seg.start >= ts_hi:
                break
            lo, hi = max(ts_lo, seg.start), min(ts_hi, seg.end)
            if lo >= hi:
                continue
            width = seg.block_s * SECOND
            for k in range(lo // width, (hi - 1) // width + 1):
                key = (seg.start, seg.end, seg.rate, k)
                blk = self._cache.get(key)
                if blk is None or blk.valid_from > s:
                    blk = _Block(self._generate(seg, k), -_END)
                i, j = np.searchsorted(blk.arrival, (s, e))
                if j > i:
                    parts.append(blk.data[:, i:j])
                if blk.max_arrival >= e:
                    if j > 0 and 2 * j >= blk.data.shape[1]:  # consumed most: keep the rest only
                        blk = _Block(blk.data[:, j:].copy(), e)
                    keep[key] = blk
        self._cache = keep
        if not parts:
            data = np.empty((self._nrows, 0), dtype=np.int64)
        elif len(parts) == 1:
            data = parts[0].copy()
        else:
            data = np.concatenate(parts, axis=1)
            arr = data[_ARR]
            if (arr[1:] < arr[:-1]).any():  # blocks overlap only through late rows/copies
                data = np.take(data, np.argsort(arr, kind="stable"), axis=1)
        return self._frame(data)

    def burst_schedule(self, start: TimeLike, end: TimeLike) -> pd.DataFrame:
        """The bursts overlapping ``[start, end)`` of event time, in start order.

        Columns: ``kind``, ``start``, ``end``, ``intensity`` (rate multiplier) and
        ``target`` (the key value the burst concentrates on, or ``""``). Useful to
        annotate a chart, or to check that a dashboard caught an incident.

        >>> src = simulate("system_health", seed=4)
        >>> sched = src.burst_schedule("2024-01-01", "2024-01-08")
        >>> list(sched.columns), sorted(set(sched.kind))
        (['kind', 'start', 'end', 'intensity', 'target'], ['deploy', 'incident'])
        >>> simulate("system_health", seed=4, bursts=0).burst_schedule("2024-01-01", "2024-01-08").empty
        True
        """
        s, e = self._ns(start, "start"), self._ns(end, "end")
        hits = sorted(self._hits(s, e), key=lambda h: (h.start, h.kind.name))
        rows = [
            {
                "kind": h.kind.name,
                "start": pd.Timestamp(h.start),
                "end": pd.Timestamp(h.end),
                "intensity": h.kind.intensity,
                "target": self._categories[h.kind.target][h.target] if h.target >= 0 else "",
            }
            for h in hits
        ]
        out = pd.DataFrame(rows, columns=["kind", "start", "end", "intensity", "target"])
        return out.astype({"start": "datetime64[ns]", "end": "datetime64[ns]", "intensity": float})

    def describe(self) -> str:
        """The scenario's description with this source's settings.

        >>> print(simulate("fraud_alerts", seed=2).describe().splitlines()[0])
        fraud_alerts: alerts raised by a card-fraud detection system (default rate 5/s)
        """
        lines = [self.scenario.describe()]
        lines.append(
            f"  this source: rate={self.rate:g}/s, seed={self.seed}, start={self.start}, "
            f"ingest_delay={self.ingest_delay}, bursts x{self.bursts:g}"
        )
        lines.append(f"  parameters: {self.params}")
        lines.append(f"  faults: {_faults_repr(self.faults)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"SimulatedSource({self.name!r}, rate={self.rate:g}, seed={self.seed}, "
            f"start={self.start.isoformat()!r}, faults={_faults_repr(self.faults)})"
        )

    # -- internals -------------------------------------------------------------------

    @property
    def _nrows(self) -> int:
        return 5 + len(self.keys) + len(self.measures)

    @staticmethod
    def _ns(value: Any, param: str) -> int:
        if isinstance(value, pd.Timestamp) and value.tzinfo is None:
            return value.value
        return to_timestamp(value, param).value


def _faults_repr(f: Faults) -> str:
    default = Faults()
    parts = []
    for name in ("late", "duplicates", "malformed", "malformed_kinds", "max_delay", "stalls", "outages"):
        v = getattr(f, name)
        if v != getattr(default, name):
            parts.append(f"{name}={v!r}" if name != "max_delay" else f"max_delay='{v}'")
    return f"Faults({', '.join(parts)})"


def simulate(
    name: str,
    *,
    rate: float | None = None,
    seed: int = 0,
    faults: Faults | Mapping[str, Any] | None = None,
    start: TimeLike = "2024-01-01",
    ingest_delay: DurationLike = "200ms",
    bursts: float = 1.0,
    **params: Any,
) -> SimulatedSource:
    """A simulated source of the scenario ``name`` (see :func:`scenarios`).

    Parameters
    ----------
    name
        The scenario, e.g. ``"ecommerce_orders"``.
    rate
        Mean events per second of event time, over a week (the daily and weekly profile
        modulate it; bursts come on top). Default: the scenario's own rate.
    seed
        Same seed, same events, whatever the batch boundaries (for a fixed rate).
    faults
        A :class:`Faults` or a dict of its fields (default: none).
    start
        Event time begins here (default ``2024-01-01``, a Monday, as
        ``rtnb.SimClock``); reading earlier gives empty batches.
    ingest_delay
        Mean delay between an event and its arrival (gamma, capped at 5 x the mean);
        ``0`` delivers every clean event at its event time.
    bursts
        Scales how often bursts happen (``0`` turns them off, ``2`` doubles them).
    **params
        The scenario's own parameters (see ``scenarios()[name].params``).

    >>> src = simulate("manufacturing_floor", rate=200, seed=7, lines=2, bursts=0)
    >>> b = src.read("2024-01-02 09:00", "2024-01-02 09:01")
    >>> sorted(b.line.cat.categories)
    ['L1', 'L2']
    >>> simulate("shop")
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: scenario='shop' is unknown; choose one of: 'ad_spend', 'broadcast_audience', 'ecommerce_orders', 'fraud_alerts', 'manufacturing_floor', 'saas_signups', 'support_queue', 'system_health', 'trading_ticks'
    >>> simulate("trading_ticks", rate=-5)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: rate=-5 is invalid: must be > 0 and at most 1e+06 events per second
    >>> simulate("trading_ticks", tickers=5)
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: trading_ticks parameter='tickers' is unknown; choose one of: 'symbols', 'volatility'
    """
    scenario = _CATALOGUE[name]
    rate = scenario.default_rate if rate is None else _check_rate(rate)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError("seed", seed, "must be an integer >= 0")
    faults = Faults.coerce(faults)
    start_ts = to_timestamp(start, "start")
    if not pd.Timestamp("1970-01-01") <= start_ts < pd.Timestamp("2200-01-01"):
        raise ParameterError("start", start, "must be between 1970 and 2200")
    ingest = to_duration(ingest_delay, "ingest_delay", allow_zero=True)
    if ingest > pd.Timedelta("1h"):
        raise ParameterError("ingest_delay", ingest_delay, "must be at most 1 hour")
    if isinstance(bursts, bool) or not isinstance(bursts, (int, float)) or not (0 <= bursts <= 100):
        raise ParameterError("bursts", bursts, "must be a frequency factor in [0, 100]")
    resolved = scenario.defaults()
    choices = list(resolved)
    for key, value in params.items():
        if key not in resolved:
            raise UnknownNameError(f"{name} parameter", key, choices)
    for p in scenario.params:
        resolved[p.name] = p.check(params.get(p.name, p.default))
    return SimulatedSource(
        scenario, rate=rate, seed=int(seed), faults=faults, start=start_ts,
        ingest_delay=ingest, bursts=float(bursts), params=resolved,
    )
