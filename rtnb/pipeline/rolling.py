"""Rolling aggregates in event time: exact, bucketed, tumbling, sliding and session windows.

:class:`Rolling` is fed micro-batches (``update(batch)``) and read as immutable
:class:`rtnb.Snapshot` values (``snapshot()``). Per-key aggregates are kept incrementally,
so an update costs O(batch), not O(window).

**Watermark, late rows and duplicates.** ``W`` is the largest event time accepted so
far. Rows are taken in batch order; a row whose event time is older than
``W - lateness`` (W as it was when the row arrived) is *late*: it is counted, kept in
``late_rows`` (the most recent ``keep_late``) and left out of the aggregates. With an
``id_col``, a row whose id was accepted before is a *duplicate*, dropped and counted;
an id is remembered while a row with its event time could still be accepted (event
time >= W - lateness), so memory is bounded by the rows of the lateness horizon. A row
that is both late and a repeat counts as late. After every update
``received == accepted + late + duplicates`` (``rejected`` stays 0: validation is the
stage before).

**Windows** (``kind=``), all in event time, with ``W`` the watermark:

=============  ===============================================================
``exact``      rows with event time in ``(W - window, W]``, like
               ``df.rolling(window)`` at the newest row; memory grows with the
               rows in the window.
``bucketed``   buckets of ``resolution`` aligned on the epoch; the window is the
               ``window / resolution`` buckets ending with W's bucket, i.e. event
               times in ``[floor(W) + resolution - window, floor(W) + resolution)``
               with ``floor`` to the resolution. Memory: the (bucket, key)
               pairs that have rows, whatever the event rate.
``tumbling``   windows ``[k * window, (k + 1) * window)``; the snapshot shows the one
               holding W (in progress); ``closed_windows()`` the finished ones.
``sliding``    windows ``[k * every, k * every + window)`` (hopping); the snapshot
               shows the one ending at the first multiple of ``every`` after W.
``session``    per key, rows less than or equal to ``gap`` apart form a session; the
               snapshot shows each key's latest open session, ``closed_windows()``
               the closed ones. ``window`` is not used.
=============  ===============================================================

A tumbling or sliding window (or a session) is *closed* once ``W - lateness`` has
passed its end (plus the gap for sessions): no acceptable row can change it any more.

**Memory.** ``exact`` keeps the rows of the window (O(rows in window)); the bucket
kinds keep count/sum/M2/min/max per bucket and key, whatever the event rate, plus —
only when a quantile is asked for — a sketch per bucket and key of at most ~1,000 bin
counts (values spanning a factor e^10); sessions keep one pre-aggregate per open
session. Partial results merge: ``a + b`` (every kind; see :meth:`Rolling.merge`), or
``a.buckets() + b.buckets()`` (:class:`rtnb.Buckets`) for bucket kinds.

**State.** ``agg.export_state()`` is the whole aggregator as plain data (configuration,
watermark, duplicate memory, counters, key index and window engine; numpy arrays and
a small dict, no pickle) and ``Rolling.from_state(state)`` (or ``fresh.load_state(state)``)
rebuilds an aggregator that
answers exactly the same, now and after any further batch. The late rows kept for
inspection (``late_rows``) are not part of it.

**Parts.** ``Rolling`` orchestrates: input decoding (:mod:`._input`), the watermark with
late and duplicate rows (:mod:`.watermark`), the key index (:mod:`.keys`), the window
engine (:mod:`.engines`) and the output tables (:mod:`._output`); merge, export and
load of a whole aggregator are in :mod:`._rolling_state`, and what it answers (table,
snapshot, series, closed windows, buckets) in :mod:`._rolling_tables`.

**Columns.** One measure (``value="amount"``): one column per aggregate, named by
it (``"sum"``). Several (``value=["amount", "items"]``): ``"<measure>_<aggregate>"``
(``"amount_sum"``). ``count`` is the number of rows. ``std`` is the sample standard
deviation (ddof=1, NaN for a single row, like pandas). ``p50``/``p90``/``p95``/``p99``
come from a :class:`rtnb.QuantileSketch` and approximate the "lower" quantile
(``Series.quantile(q, interpolation="lower")``) within 0.5% relative error.

>>> import pandas as pd, rtnb
>>> batch = pd.DataFrame({
...     "ts": pd.to_datetime(["2024-01-01 09:00:00", "2024-01-01 09:00:30",
...                           "2024-01-01 09:01:10"]).as_unit("ns"),
...     "key": ["a", "b", "a"], "value": [1.0, 2.0, 4.0]})
>>> agg = rtnb.Rolling(window="60s", by="key", value="value",
...                    aggs=("count", "sum", "mean"), lateness="2s")
>>> snap = agg.update(batch).snapshot()
>>> snap.table                       # (09:00:10, 09:01:10]
     count  sum  mean
key
a        1  4.0   4.0
b        1  2.0   2.0
>>> snap.watermark, snap.counters.accepted
(Timestamp('2024-01-01 09:01:08'), 3)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .._errors import ParameterError, UnknownNameError
from .._time import DurationLike
from ..clock import Clock
from ..health import Counters
from ._buckets import QUANTILES, column_names
from ._input import Rejected, check_zone, decode
from .config import KINDS, RollingConfig
from .engines import make_engine
from ._late import LateRows
from ._rolling_state import _RollingState
from ._rolling_tables import RollingTables, _float_limits
from .keys import KeyIndex
from .watermark import INT64_MIN, Watermark

__all__ = ["Rolling", "RollingConfig", "KINDS"]

_EVICT_MIN = 4096  # keys: below this, emptied keys are kept (their slots cost nothing to read)


class Rolling(_RollingState, RollingTables):
    """Per-key rolling aggregates of micro-batches in event time (see the module doc).

    Parameters
    ----------
    window
        Window length (``"60s"``); not used by ``kind="session"``.
    by
        Key column(s), or ``None`` for one global row.
    value
        Measure column(s).
    aggs
        Aggregates among ``count, sum, mean, min, max, std, p50, p90, p95, p99``.
    lateness
        How far behind the watermark a row may be and still count.
    kind, resolution, every, gap
        Window kind and its parameters (module docstring).
    time_col, id_col
        Event-time column (``ts``) and an optional event id for dropping duplicates.
    metric
        Name of the snapshots (default: the measures joined by ``+``).
    clock
        Where ``snapshot()`` reads the processing time when not given; without a clock
        and without an argument it is the newest event time (the epoch before any).
    keep_late, keep_closed
        How many recent late rows / closed windows to keep for inspection.
    series
        A column whose per-bucket values go in ``Snapshot.series`` (bucket kinds).

    >>> import pandas as pd
    >>> agg = Rolling(window="10s", value="v", aggs=("count", "max", "p50"),
    ...               kind="bucketed", resolution="1s", lateness="1s")
    >>> ts = pd.date_range("2024-01-01", periods=20, freq="1s").as_unit("ns")
    >>> snap = agg.update(pd.DataFrame({"ts": ts, "v": range(20)})).snapshot()
    >>> snap.table                     # buckets 00:00:10 .. 00:00:19
       count   max   p50
    0     10  19.0  14.0...
    >>> agg.update(pd.DataFrame({"ts": [ts[2]], "v": [1.0]})).counters
    Counters(received=21, accepted=20, rejected=0, late=1, duplicates=0)
    >>> agg
    Rolling(kind='bucketed', window='10s', keys=1, watermark='2024-01-01T00:00:19', received=21, accepted=20, late=1, duplicates=0)
    """

    def __init__(self, window: DurationLike | None = None, *, clock: Clock | None = None,
                 **options) -> None:
        fields = dataclasses.fields(RollingConfig)
        known = [f.name for f in fields if f.init]
        # Rolling(**asdict(config)) rebuilds a config: its derived fields must agree
        derived = {f.name: options.pop(f.name) for f in fields if not f.init and f.name in options}
        for name in options:
            if name not in known:  # a typo would otherwise be a bare TypeError
                raise UnknownNameError("option", name, [*known, "clock"])
        self.config = RollingConfig(window=window, **options)
        for name, v in derived.items():
            if _differs(getattr(self.config, name), v):
                raise ParameterError(name, v, f"is derived from the other options (here {getattr(self.config, name)!r})")
        if clock is not None and not callable(getattr(clock, "now", None)):
            raise ParameterError("clock", clock, "must be an rtnb Clock (with now())")
        self.clock = clock
        cfg = self.config
        self._single = len(cfg.measures) == 1
        self._qs = tuple(QUANTILES[a] for a in cfg.agg_names if a in QUANTILES)
        self.metric = cfg.metric or "+".join(cfg.measures)
        self._engine = make_engine(cfg)
        self._keys = KeyIndex(cfg.keys)
        self._arrivals = Watermark(cfg.late.value, dedup=cfg.id_col is not None)
        self._late = LateRows(cfg.keep_late)
        self._evict_min = _EVICT_MIN  # no eviction below this many keys
        self._evict_at = _EVICT_MIN  # the key count at which emptied keys are looked for
        self._last_late: tuple[pd.DataFrame, np.ndarray] | None = None
        self._version = 0
        self._rejected = Rejected()
        self._zone: str | None | bool = False  # time zone of the batches so far (False: none yet)
        self._columns = column_names(cfg.agg_names, cfg.measures, self._single)
        self._columns_index = pd.Index(self._columns, dtype=object)

    # ------------------------------------------------------------------ feeding
    def update(self, batch: pd.DataFrame) -> Rolling:
        """Feed a batch of events (a DataFrame); returns ``self``.

        A bad row (time missing or out of range, measure NaN, text, Decimal...) is
        rejected on its own, with a reason: counted in ``counters.rejected``, readable
        in :attr:`rejected_rows`; its batch-mates go on. Raises
        :class:`rtnb.ParameterError` (before changing any state) when no row can be
        read: not a DataFrame, a missing column (named by its parameter), times that
        are not datetimes, or naive times after aware ones.
        """
        d = decode(batch, self.config)
        self._last_late = None
        if d.ts.size:  # naive after aware reads 1-2 h off: refused before any change
            check_zone(self._zone, d.zone, self.config.time_col)
            self._zone = d.zone
        if len(d.rejected):
            self._rejected.add(d.rejected)
            batch = batch.iloc[d.keep]  # late rows are picked from the good ones
        ts, vals, keycols, ids = d.ts, d.vals, d.keycols, d.ids
        n = ts.size
        if n == 0:
            return self
        codes = self._keys.codes(keycols, n)
        self._engine.grow(len(self._keys))
        verdict = self._arrivals.admit(ts, ids)
        acc = verdict.accepted
        if verdict.late.any():
            self._last_late = (batch, verdict.late)
            if self.config.keep_late:
                self._late.add_rows(batch, np.flatnonzero(verdict.late))
        if not acc.all():
            idx = np.flatnonzero(acc)
            ts, vals, codes = ts[idx], vals[idx], codes[idx]
        if ts.size:
            with _float_limits():
                self._engine.insert(ts, codes, vals, self._arrivals.newest)
        if len(self._keys) >= self._evict_at:
            self._evict()
        return self

    def _evict(self) -> None:
        """Forget, in bulk, the keys whose window emptied, once they outnumber the live ones.

        Looked at when the key count doubled since the last look (O(keys) then, O(1)
        amortised per new key); the keys and the engine are renumbered in one pass
        (O(live keys + window rows)). Snapshots taken before keep their own arrays.
        """
        n = len(self._keys)
        if self._engine.evicts:
            live = self._engine.live_keys()
            if n - live.size >= max(live.size, 1):
                remap = self._keys.keep(live)
                self._engine.keep_keys(live, remap)
                n = live.size
        self._evict_at = 2 * max(n, self._evict_min)

    def advance(self, watermark: pd.Timestamp | int) -> Rolling:
        """Move the watermark W forward to ``watermark`` without rows; returns ``self``.

        For one partition of a larger stream (:mod:`rtnb.cluster`): the partition's
        window ends where the whole stream's window ends even while its own keys are
        quiet. An older ``watermark`` changes nothing; counters do not move.

        >>> import pandas as pd
        >>> agg = Rolling("10s", value="v").update(pd.DataFrame(
        ...     {"ts": pd.to_datetime(["2024-01-01 00:00:01"]).as_unit("ns"), "v": [1.0]}))
        >>> len(agg.advance(pd.Timestamp("2024-01-01 00:01")).value), agg.counters.received
        (0, 1)
        """
        w = int(watermark) if isinstance(watermark, (int, np.integer)) else pd.Timestamp(watermark).as_unit("ns").value
        if w <= self._arrivals.newest:
            return self
        self._arrivals.newest = w
        if len(self._keys):  # an engine that never had a row has nothing to move out
            m = len(self.config.measures)
            with _float_limits():
                self._engine.insert(np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, m)), w)
        return self

    # ------------------------------------------------------------------ reading
    @property
    def counters(self) -> Counters:
        """Rows received, accepted, late and duplicated so far (conserved)."""
        c, bad = self._arrivals.counters, self._rejected.count
        return c if not bad else dataclasses.replace(c, received=c.received + bad, rejected=c.rejected + bad)

    @property
    def rejected_rows(self) -> pd.DataFrame:
        """The most recent rows rejected one by one (at most 1,000), with ``reason`` and ``rule``."""
        return self._rejected.rows

    def take_rejected(self) -> pd.DataFrame | None:
        """The rows rejected since the last call, or ``None`` (a pipeline's dead-letter takes them)."""
        return self._rejected.take()

    @property
    def last_late(self) -> pd.DataFrame:
        """The late rows of the last ``update`` (empty when it had none)."""
        if self._last_late is None:
            return pd.DataFrame()
        batch, late = self._last_late
        return batch.iloc[np.flatnonzero(late)]

    @property
    def newest_event(self) -> pd.Timestamp | None:
        """The largest accepted event time (the watermark W), ``None`` before any row."""
        w = self._arrivals.newest
        return None if w == INT64_MIN else pd.Timestamp(w, unit="ns")

    @property
    def watermark(self) -> pd.Timestamp | None:
        """``W - lateness``: event time up to which the window can no longer change."""
        w = self._arrivals.newest
        return None if w == INT64_MIN else pd.Timestamp(self._arrivals.limit, unit="ns")

    @property
    def late_rows(self) -> pd.DataFrame:
        """The most recent late rows (at most ``keep_late``), as they came in."""
        return self._late.rows

    def __repr__(self) -> str:
        cfg = self.config
        size = "None" if cfg.size is None else f"{cfg.size.total_seconds():g}s"
        wm = "None" if self.newest_event is None else self.newest_event.isoformat()
        c = self.counters
        return (f"Rolling(kind={cfg.kind!r}, window={size!r}, keys={len(self._keys)}, "
                f"watermark={wm!r}, received={c.received}, accepted={c.accepted}, "
                f"late={c.late}, duplicates={c.duplicates})")


def _differs(mine, given) -> bool:
    if isinstance(mine, tuple) and isinstance(given, (list, tuple)):
        return tuple(given) != mine
    try:
        return bool(mine != given)
    except (TypeError, ValueError):
        return True
