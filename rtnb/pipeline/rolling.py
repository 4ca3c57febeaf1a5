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
               with ``floor`` to the resolution. Memory: buckets x keys,
               whatever the event rate.
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
session. Partial results merge: ``a + b`` (exact and bucketed kinds) or
``a.buckets() + b.buckets()`` (:class:`rtnb.Buckets`).

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
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._errors import ParameterError, UnknownNameError
from .._time import DurationLike, to_duration
from ..clock import Clock
from ..health import Counters, Snapshot
from ._buckets import QUANTILES, Buckets, Stats, check_aggs, column_names, finish, key_index
from ._input import read_batch
from ._windows import INT64_MIN, BucketRing, ExactWindow, Needs, SessionWindows
from .sketch import DEFAULT_RELATIVE_ACCURACY

__all__ = ["Rolling", "RollingConfig", "KINDS"]

KINDS = ("exact", "bucketed", "tumbling", "sliding", "session")


def _names(value, param: str, *, allow_none: bool) -> tuple[str, ...]:
    if value is None:
        if allow_none:
            return ()
        raise ParameterError(param, value, "name at least one column")
    if isinstance(value, str):
        return (value,)
    try:
        out = tuple(value)
    except TypeError:
        raise ParameterError(param, value, "must be a column name or a list of them") from None
    if not out and not allow_none:
        raise ParameterError(param, value, "name at least one column")
    for v in out:
        if not isinstance(v, str):
            raise ParameterError(param, value, f"column names must be strings, got {v!r}")
    if len(set(out)) != len(out):
        raise ParameterError(param, value, "names a column twice")
    return out


@dataclass(frozen=True, kw_only=True)
class RollingConfig:
    """The configuration of a :class:`Rolling`, validated on construction.

    >>> RollingConfig(window="1min", value="amount", kind="bucketed", resolution="10s").buckets
    6
    >>> RollingConfig(window="1min", value="amount", kind="bucketed", resolution="7s")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: resolution='7s' is invalid: must divide window=0 days 00:01:00 into whole buckets
    """

    window: DurationLike | None = None
    value: str | Sequence[str] = "value"
    by: str | Sequence[str] | None = None
    aggs: Sequence[str] = ("count", "sum", "mean")
    lateness: DurationLike = 0
    kind: str = "exact"
    resolution: DurationLike | None = None
    every: DurationLike | None = None
    gap: DurationLike | None = None
    time_col: str = "ts"
    id_col: str | None = None
    metric: str | None = None
    keep_late: int = 1000
    keep_closed: int = 100
    series: str | None = None
    relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY
    # derived
    size: pd.Timedelta | None = field(init=False, default=None)
    res: pd.Timedelta | None = field(init=False, default=None)
    hop: pd.Timedelta | None = field(init=False, default=None)
    late: pd.Timedelta = field(init=False, default=pd.Timedelta(0))
    session_gap: pd.Timedelta | None = field(init=False, default=None)
    measures: tuple[str, ...] = field(init=False, default=())
    keys: tuple[str, ...] = field(init=False, default=())
    agg_names: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        put = object.__setattr__
        if self.kind not in KINDS:
            raise UnknownNameError("kind", self.kind, KINDS)
        put(self, "measures", _names(self.value, "value", allow_none=False))
        put(self, "keys", _names(self.by, "by", allow_none=True))
        put(self, "agg_names", check_aggs(self.aggs))
        if not isinstance(self.time_col, str):
            raise ParameterError("time_col", self.time_col, "must be a column name")
        if self.id_col is not None and not isinstance(self.id_col, str):
            raise ParameterError("id_col", self.id_col, "must be a column name or None")
        clash = set(self.measures) & set(self.keys) | {self.time_col} & (set(self.measures) | set(self.keys))
        if clash:
            raise ParameterError("value", self.value, f"column(s) {sorted(clash)} used twice (as key, measure or time)")
        put(self, "late", to_duration(self.lateness, "lateness", allow_zero=True))
        for name in ("keep_late", "keep_closed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ParameterError(name, v, "must be a non-negative integer")
        if self.series is not None:
            if self.series not in self.agg_names and not any(
                self.series == f"{m}_{a}" for m in self.measures for a in self.agg_names
            ):
                raise ParameterError("series", self.series, "must name one of the table's columns",
                                     column_names(self.agg_names, self.measures, len(self.measures) == 1))
            if self.kind not in ("bucketed", "tumbling", "sliding"):
                raise ParameterError("series", self.series, "per-bucket series need kind='bucketed', 'tumbling' or 'sliding'")
        if not (isinstance(self.relative_accuracy, float) and 0 < self.relative_accuracy <= 0.01):
            raise ParameterError("relative_accuracy", self.relative_accuracy, "must be a float in (0, 0.01]")
        if self.kind == "session":
            if self.gap is None:
                raise ParameterError("gap", None, "kind='session' needs a gap such as '30s'")
            put(self, "session_gap", to_duration(self.gap, "gap"))
            for name in ("window", "resolution", "every"):
                if getattr(self, name) is not None:
                    raise ParameterError(name, getattr(self, name), "is not used by kind='session' (give gap=)")
            return
        if self.gap is not None:
            raise ParameterError("gap", self.gap, f"only kind='session' uses a gap, not kind={self.kind!r}")
        if self.window is None:
            raise ParameterError("window", None, "give a window such as '60s'")
        size = to_duration(self.window, "window")
        put(self, "size", size)
        if self.kind == "exact":
            for name in ("resolution", "every"):
                if getattr(self, name) is not None:
                    raise ParameterError(name, getattr(self, name), "is not used by kind='exact'")
            return
        if self.kind == "bucketed":
            if self.every is not None:
                raise ParameterError("every", self.every, "kind='bucketed' slides by its resolution; use kind='sliding'")
            res = to_duration(self.resolution if self.resolution is not None else "1s", "resolution")
            hop = res
        elif self.kind == "tumbling":
            if self.every is not None and to_duration(self.every, "every") != size:
                raise ParameterError("every", self.every, "a tumbling window moves by its own size; use kind='sliding'")
            res = to_duration(self.resolution, "resolution") if self.resolution is not None else size
            hop = size
        else:
            if self.every is None:
                raise ParameterError("every", None, "kind='sliding' needs every= (how far a window hops)")
            hop = to_duration(self.every, "every")
            if hop > size:
                raise ParameterError("every", self.every, f"must not exceed window={size}")
            if self.resolution is not None:
                res = to_duration(self.resolution, "resolution")
            else:
                res = pd.Timedelta(int(np.gcd(size.value, hop.value)), unit="ns")
            if hop.value % res.value:
                raise ParameterError("resolution", self.resolution, f"must divide every={hop} into whole buckets")
        if size.value % res.value:
            raise ParameterError("resolution", self.resolution, f"must divide window={size} into whole buckets")
        put(self, "res", res)
        put(self, "hop", hop)

    @property
    def buckets(self) -> int | None:
        """Buckets per window (bucketed, tumbling and sliding kinds)."""
        return None if self.res is None else self.size.value // self.res.value


class Rolling:
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
        known = [f.name for f in dataclasses.fields(RollingConfig) if f.init]
        for name in options:
            if name not in known:  # a typo would otherwise be a bare TypeError
                raise UnknownNameError("option", name, [*known, "clock"])
        self.config = RollingConfig(window=window, **options)
        if clock is not None and not callable(getattr(clock, "now", None)):
            raise ParameterError("clock", clock, "must be an rtnb Clock (with now())")
        self.clock = clock
        cfg = self.config
        self._needs = Needs(cfg.agg_names)
        self._single = len(cfg.measures) == 1
        self._qs = tuple(QUANTILES[a] for a in cfg.agg_names if a in QUANTILES)
        m = len(cfg.measures)
        ra = cfg.relative_accuracy
        if cfg.kind == "exact":
            self._engine = ExactWindow(cfg.size.value, m, self._needs, ra)
        elif cfg.kind == "session":
            self._engine = SessionWindows(cfg.session_gap.value, cfg.late.value, m, self._needs, ra)
        else:
            self._engine = BucketRing(cfg.size.value, cfg.res.value, cfg.hop.value, m, self._needs, ra,
                                      closes=cfg.kind in ("tumbling", "sliding"),
                                      lateness_ns=cfg.late.value)
        if hasattr(self._engine, "closed"):  # bounded whether or not anyone reads them
            self._engine.closed = deque(maxlen=cfg.keep_closed)
        self.metric = cfg.metric or "+".join(cfg.measures)
        self._index: dict = {}
        self._labels: list = []
        self._wm = INT64_MIN
        self._received = self._accepted = self._late = self._dups = 0
        self._late_parts: deque[pd.DataFrame] = deque()
        self._late_kept = 0
        self._ids: dict = {}
        self._ids_pruned_at = 0
        self._version = 0
        self._index_cache: tuple[np.ndarray, pd.Index] | None = None
        self._arrow_lookup = None
        self._columns = column_names(cfg.agg_names, cfg.measures, self._single)
        self._columns_index = pd.Index(self._columns, dtype=object)

    # ------------------------------------------------------------------ feeding
    def update(self, batch: pd.DataFrame) -> Rolling:
        """Feed a batch of events (a DataFrame); returns ``self``.

        Raises :class:`rtnb.ParameterError` (before changing any state) when the batch
        is not a DataFrame, lacks a column, has event times that are not datetimes, or
        measures that are not finite numbers.
        """
        cfg = self.config
        ts, vals, keycols, ids = read_batch(batch, cfg)
        n = ts.size
        if n == 0:
            return self
        codes = self._codes(keycols, n)
        late, dup = self._classify(ts, ids)
        acc = ~(late | dup)
        n_late = int(late.sum())
        n_dup = int(dup.sum())
        if n_late and cfg.keep_late:
            self._keep_late(batch.iloc[np.flatnonzero(late)])
        if n_late or n_dup:
            idx = np.flatnonzero(acc)
            ts_a, vals_a, codes = ts[idx], vals[idx], codes[idx]
        else:
            ts_a, vals_a = ts, vals
        if ts_a.size:
            self._wm = max(self._wm, int(ts_a.max()))
            if ids is not None:
                self._remember(ids, ts, acc)
            self._engine.insert(ts_a, codes, vals_a, self._wm)
        self._received += n
        self._accepted += int(ts_a.size)
        self._late += n_late
        self._dups += n_dup
        return self

    def _classify(self, ts: np.ndarray, ids) -> tuple[np.ndarray, np.ndarray]:
        lateness = self.config.late.value
        wm0 = self._wm
        run = np.maximum.accumulate(ts)
        before = np.empty_like(ts)
        before[0] = wm0
        np.maximum(run[:-1], wm0, out=before[1:])
        with np.errstate(over="ignore"):
            limit = np.where(before == INT64_MIN, INT64_MIN, before - lateness)
        late = ts < limit
        dup = np.zeros(ts.size, dtype=bool)
        if ids is None:
            return late, dup
        ok = ~late
        seen = self._ids
        mem = np.array([seen.get(x, INT64_MIN) for x in ids.tolist()], dtype=np.int64)
        dup = ok & (mem != INT64_MIN) & (mem >= limit)
        okids = pd.Series(ids[ok])
        if okids.duplicated().any() or (dup & (ts > before)).any():
            return self._classify_slow(ts, ids)
        return late, dup

    def _classify_slow(self, ts: np.ndarray, ids) -> tuple[np.ndarray, np.ndarray]:
        """Row by row (batches that repeat an id, or a repeat that would move W)."""
        lateness = self.config.late.value
        wm = self._wm
        seen = dict(self._ids)
        late = np.zeros(ts.size, dtype=bool)
        dup = np.zeros(ts.size, dtype=bool)
        for i, (t, x) in enumerate(zip(ts.tolist(), ids.tolist())):
            limit = INT64_MIN if wm == INT64_MIN else wm - lateness
            if t < limit:
                late[i] = True
                continue
            prev = seen.get(x)
            if prev is not None and prev >= limit:
                dup[i] = True
                continue
            seen[x] = t
            wm = max(wm, t)
        return late, dup

    def _remember(self, ids, ts, acc) -> None:
        seen = self._ids
        idx = np.flatnonzero(acc)
        seen.update(zip(ids[idx].tolist(), ts[idx].tolist()))
        if len(seen) > 2 * self._ids_pruned_at + 1024:
            limit = self._wm - self.config.late.value
            self._ids = {k: v for k, v in seen.items() if v >= limit}
            self._ids_pruned_at = len(self._ids)

    def _keep_late(self, rows: pd.DataFrame) -> None:
        keep = self.config.keep_late
        self._late_parts.append(rows.copy())
        self._late_kept += len(rows)
        while self._late_kept - len(self._late_parts[0]) >= keep:
            self._late_kept -= len(self._late_parts.popleft())

    def _codes(self, keycols: list[np.ndarray], n: int) -> np.ndarray:
        if not keycols:
            if not self._labels:
                self._new_labels([None])
            return np.zeros(n, dtype=np.int64)
        if len(keycols) == 1:
            fast = self._arrow_codes(keycols[0])
            if fast is not None:
                return fast
            local, uniques = pd.factorize(keycols[0], use_na_sentinel=False)
            labels = [_norm(u) for u in uniques]
        else:
            parts = [pd.factorize(k, use_na_sentinel=False) for k in keycols]
            combo = np.zeros(n, dtype=np.int64)
            for codes, uniq in parts:
                combo = combo * max(len(uniq), 1) + codes
            ucombo, local = np.unique(combo, return_inverse=True)
            labels = []
            for u in ucombo.tolist():
                lab = []
                for codes, uniq in reversed(parts):
                    u, r = divmod(u, max(len(uniq), 1))
                    lab.append(_norm(uniq[r]))
                labels.append(tuple(reversed(lab)))
        index = self._index
        lut = np.empty(len(labels), dtype=np.int64)
        fresh = []
        for i, lab in enumerate(labels):
            c = index.get(lab)
            if c is None:
                c = len(self._labels) + len(fresh)
                fresh.append(lab)
                index[lab] = c
            lut[i] = c
        if fresh:
            self._new_labels(fresh)
        return lut[np.asarray(local, dtype=np.int64)]

    def _new_labels(self, labels: list) -> None:
        for lab in labels:
            self._index.setdefault(lab, len(self._labels))
            self._labels.append(lab)
        self._engine.grow(len(self._labels))
        self._arrow_lookup = None

    def _arrow_codes(self, col: pd.Series) -> np.ndarray | None:
        """Key codes straight from an Arrow-backed string column (pandas 3's default
        ``str``): one hash lookup against the known labels, no Python objects. ``None``
        when the column is not Arrow-backed or holds a new or missing key."""
        to_arrow = getattr(col.array, "__arrow_array__", None)
        if to_arrow is None or not isinstance(col.dtype, pd.StringDtype) or not self._labels:
            return None
        if self._arrow_lookup is None:
            if not all(isinstance(x, str) for x in self._labels):
                return None
            import pyarrow as pa

            self._arrow_lookup = pa.compute.SetLookupOptions(value_set=pa.array(self._labels, pa.string()))
        import pyarrow.compute as pc

        arr = to_arrow()
        if arr.null_count:
            return None
        found = pc.index_in(arr, options=self._arrow_lookup)
        if found.null_count:
            return None
        return np.asarray(found.to_numpy(), dtype=np.int64)

    # ------------------------------------------------------------------ reading
    @property
    def counters(self) -> Counters:
        """Rows received, accepted, late and duplicated so far (conserved)."""
        return Counters(received=self._received, accepted=self._accepted, late=self._late,
                        duplicates=self._dups)

    @property
    def newest_event(self) -> pd.Timestamp | None:
        """The largest accepted event time (the watermark W), ``None`` before any row."""
        return None if self._wm == INT64_MIN else pd.Timestamp(self._wm, unit="ns")

    @property
    def watermark(self) -> pd.Timestamp | None:
        """``W - lateness``: event time up to which the window can no longer change."""
        return None if self._wm == INT64_MIN else pd.Timestamp(self._wm - self.config.late.value, unit="ns")

    @property
    def late_rows(self) -> pd.DataFrame:
        """The most recent late rows (at most ``keep_late``), as they came in."""
        if not self._late_parts:
            return pd.DataFrame()
        df = pd.concat(list(self._late_parts))
        return df.iloc[-self.config.keep_late :] if self.config.keep_late else df.iloc[:0]

    @property
    def bounds(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The current window's event-time bounds; ``None`` before any row or for sessions.

        Exact windows are ``(start, end]`` (end is W); bucket windows ``[start, end)``.
        """
        cfg = self.config
        if self._wm == INT64_MIN or cfg.kind == "session":
            return None
        if cfg.kind == "exact":
            return (pd.Timestamp(self._wm - cfg.size.value, unit="ns"), pd.Timestamp(self._wm, unit="ns"))
        eng = self._engine
        lo, hi = eng.window_lo(self._wm), eng.window_hi(self._wm)
        return pd.Timestamp(lo * eng.r, unit="ns"), pd.Timestamp(hi * eng.r, unit="ns")

    @property
    def value(self) -> pd.DataFrame:
        """The current aggregate table (same as ``snapshot().table``)."""
        return self._table()

    def _index_for(self, present: np.ndarray) -> pd.Index:
        cache = self._index_cache
        if cache is not None and np.array_equal(cache[0], present):
            return cache[1]
        idx = key_index(self._labels, present, self.config.keys)
        self._index_cache = (present.copy(), idx)
        return idx

    def _table(self) -> pd.DataFrame:
        cfg = self.config
        eng = self._engine
        if cfg.kind == "session":
            return self._session_table()
        present = eng.present()
        extra = eng.extra(self._qs, present)
        cols = eng.totals.columns(cfg.agg_names, cfg.measures, self._single, present, extra)
        return _frame(cols, self._index_for(present), self._columns_index)

    def _session_table(self) -> pd.DataFrame:
        cfg = self.config
        eng = self._engine
        idx = eng.latest()
        st = _take_stats(eng.stats, idx)
        cols = {"window_start": pd.DatetimeIndex(eng.start[idx].view("datetime64[ns]")),
                "window_end": pd.DatetimeIndex(eng.end[idx].view("datetime64[ns]"))}
        cols.update(finish(st, cfg.agg_names, cfg.measures, single=self._single,
                           relative_accuracy=cfg.relative_accuracy))
        return pd.DataFrame(cols, index=key_index(self._labels, eng.key[idx], cfg.keys))

    def snapshot(self, processed_at: pd.Timestamp | None = None) -> Snapshot:
        """An immutable :class:`rtnb.Snapshot` of the current window.

        The table is a fresh DataFrame owned by the snapshot (never shared with this
        aggregator's state). ``processed_at``: the argument, else the clock's ``now()``,
        else the newest event time (the epoch before any event).
        """
        if processed_at is not None:
            when = pd.Timestamp(processed_at).as_unit("ns")
        elif self.clock is not None:
            when = self.clock.now()
        else:
            when = self.newest_event if self._wm != INT64_MIN else pd.Timestamp(0, unit="ns")
        self._version += 1
        cfg = self.config
        series = self.series(cfg.series) if cfg.series is not None else None
        return Snapshot(metric=self.metric, table=self._table(), window=cfg.size,
                        watermark=self.watermark, newest_event=self.newest_event,
                        processed_at=when, counters=self.counters, series=series,
                        version=self._version)

    def series(self, column: str | None = None) -> pd.DataFrame:
        """Per-bucket values of one column of the table over the current window.

        Index: bucket start times; one column per key (bucket kinds only). Empty
        buckets count 0 and have NaN for the other aggregates.
        """
        cfg = self.config
        if not isinstance(self._engine, BucketRing):
            raise ParameterError("kind", cfg.kind, "per-bucket series need kind='bucketed', 'tumbling' or 'sliding'")
        column = column if column is not None else self._columns[0]
        if column not in self._columns:
            raise UnknownNameError("column", column, self._columns)
        if self._single:
            meas, agg = cfg.measures[0], column
        else:
            meas = next(m for m in cfg.measures if column.startswith(m + "_") and column[len(m) + 1 :] in cfg.agg_names)
            agg = column[len(meas) + 1 :]
        eng = self._engine
        k = len(self._labels)
        if self._wm == INT64_MIN:
            return pd.DataFrame(index=pd.DatetimeIndex([], name="bucket"))
        lo, hi = eng.window_lo(self._wm), eng.window_hi(self._wm)
        buckets = list(range(lo, hi))
        live = set(eng.window_buckets(lo, hi))
        have = [b for b in buckets if b in live]
        st = eng._stats_of(have) if have else None
        j = cfg.measures.index(meas)
        vals = np.full((len(buckets), k), 0.0 if agg == "count" else np.nan)
        if st is not None:
            one = finish(_select_measure(st, j), (agg,), (meas,), single=True,
                         relative_accuracy=cfg.relative_accuracy)[agg]
            pos = np.array([b - lo for b in have])
            vals[pos] = one.reshape(len(have), k)
            if agg != "count":
                n = st.n.reshape(len(have), k)
                vals[pos] = np.where(n > 0, vals[pos], np.nan)
        idx = pd.DatetimeIndex((np.array(buckets, dtype=np.int64) * eng.r).view("datetime64[ns]"), name="bucket")
        cols = key_index(self._labels, np.arange(k), cfg.keys)
        df = pd.DataFrame(vals, index=idx, columns=cols)
        if agg == "count":
            df = df.astype(np.int64)
        return df

    def closed_windows(self) -> pd.DataFrame:
        """Finished tumbling/sliding windows or sessions, oldest first.

        Index: ``window_start`` (+ key columns); columns ``window_end`` then the
        aggregates. For sessions ``window_end`` is the last event time of the session.
        Only the most recent ``keep_closed`` windows (or session closings) are kept.
        """
        cfg = self.config
        if cfg.kind not in ("tumbling", "sliding", "session"):
            raise ParameterError("kind", cfg.kind, "closed windows exist for kind='tumbling', 'sliding' or 'session'")
        eng = self._engine
        frames = []
        for item in eng.closed:
            if cfg.kind == "session":
                starts, ends, codes, st = item
            else:
                start, end, st = item
                codes = np.flatnonzero(st.n > 0)
                st = _take_stats(st, codes)
                starts = np.full(codes.size, start, dtype=np.int64)
                ends = np.full(codes.size, end, dtype=np.int64)
            cols = {"window_end": pd.DatetimeIndex(ends.view("datetime64[ns]"))}
            cols.update(finish(st, cfg.agg_names, cfg.measures, single=self._single,
                               relative_accuracy=cfg.relative_accuracy))
            wstart = pd.DatetimeIndex(starts.view("datetime64[ns]"), name="window_start")
            keys = key_index(self._labels, codes, cfg.keys)
            if cfg.keys:
                arrays = [wstart] + ([keys] if len(cfg.keys) == 1 else
                                     [keys.get_level_values(i) for i in range(len(cfg.keys))])
                index = pd.MultiIndex.from_arrays(arrays, names=["window_start", *cfg.keys])
            else:
                index = wstart
            frames.append(pd.DataFrame(cols, index=index))
        if not frames:
            return pd.DataFrame(columns=["window_end", *self._columns])
        return pd.concat(frames)

    def buckets(self) -> Buckets:
        """The live pre-aggregated buckets (bucket kinds), mergeable with ``+``."""
        cfg = self.config
        eng = self._engine
        if not isinstance(eng, BucketRing):
            raise ParameterError("kind", cfg.kind, "buckets exist for kind='bucketed', 'tumbling' or 'sliding'")
        k = len(self._labels)
        order = list(eng.order)
        if not order or k == 0:
            e = np.empty(0, dtype=np.int64)
            m = len(cfg.measures)
            st = Stats(e, np.empty((0, m)), np.empty((0, m)), np.empty((0, m)), np.empty((0, m)),
                       (e, e, e, e) if self._needs.sketch else None)
            return Buckets(resolution=cfg.res, by=cfg.keys, measures=cfg.measures, starts=e,
                           key_codes=e, labels=list(self._labels), stats=st,
                           relative_accuracy=cfg.relative_accuracy)
        st = eng._stats_of(order)
        keep = np.flatnonzero(st.n > 0)
        starts = np.repeat(np.array(order, dtype=np.int64) * eng.r, k)[keep]
        codes = np.tile(np.arange(k), len(order))[keep]
        return Buckets(resolution=cfg.res, by=cfg.keys, measures=cfg.measures, starts=starts,
                       key_codes=codes, labels=list(self._labels), stats=_take_stats(st, keep),
                       relative_accuracy=cfg.relative_accuracy)

    def merge(self, other: Rolling) -> Rolling:
        """A new aggregator holding the rows of both (partial results of several workers).

        Both must have the same configuration. The merged watermark is the larger one,
        counters and late rows add up, and the answer equals one aggregator fed all
        the accepted rows (exact and bucketed kinds). Tumbling/sliding windows and
        sessions merge through their buckets instead: ``a.buckets() + b.buckets()``.

        >>> import pandas as pd
        >>> ts = pd.to_datetime(["2024-01-01 00:00:01", "2024-01-01 00:00:02"]).as_unit("ns")
        >>> a = Rolling("1min", value="v", aggs=("count", "sum")).update(pd.DataFrame({"ts": ts[:1], "v": [1.0]}))
        >>> b = Rolling("1min", value="v", aggs=("count", "sum")).update(pd.DataFrame({"ts": ts[1:], "v": [2.0]}))
        >>> (a + b).value
           count  sum
        0      2  3.0
        """
        if not isinstance(other, Rolling):
            raise ParameterError("other", type(other).__name__, "must be a Rolling")
        cfg = self.config
        if other.config != cfg:
            raise ParameterError("other", other.config, "has a different configuration; only equal Rollings merge")
        if cfg.kind not in ("exact", "bucketed"):
            raise ParameterError("kind", cfg.kind, "merge exact or bucketed windows; for tumbling, sliding "
                                 "and session windows merge a.buckets() + b.buckets()")
        options = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.init and f.name != "window"}
        out = Rolling(cfg.window, clock=self.clock, **options)
        out._new_labels(list(self._labels))
        fresh = [lab for lab in other._labels if lab not in out._index]
        if fresh:
            out._new_labels(fresh)
        remap_self = np.arange(len(self._labels), dtype=np.int64)
        remap_other = np.array([out._index[lab] for lab in other._labels], dtype=np.int64)
        out._wm = max(self._wm, other._wm)
        out._received = self._received + other._received
        out._accepted = self._accepted + other._accepted
        out._late = self._late + other._late
        out._dups = self._dups + other._dups
        if cfg.keep_late:
            for part in (*self._late_parts, *other._late_parts):
                out._keep_late(part)
        ids = dict(self._ids)
        for key, t in other._ids.items():
            if ids.get(key, INT64_MIN) < t:
                ids[key] = t
        out._ids = ids
        if out._wm == INT64_MIN:
            return out
        if cfg.kind == "exact":
            parts = []
            for agg, remap in ((self, remap_self), (other, remap_other)):
                ts, codes, vals = agg._engine.live_rows()
                parts.append((ts, remap[codes] if codes.size else codes, vals))
            out._engine.insert(np.concatenate([p[0] for p in parts]),
                               np.concatenate([p[1] for p in parts]),
                               np.concatenate([p[2] for p in parts]), out._wm)
        else:
            out._engine.load([self._engine.export(remap_self), other._engine.export(remap_other)], out._wm)
        return out

    def __add__(self, other: Rolling) -> Rolling:
        if not isinstance(other, Rolling):
            return NotImplemented
        return self.merge(other)

    def __repr__(self) -> str:
        cfg = self.config
        size = "None" if cfg.size is None else _short(cfg.size)
        wm = "None" if self._wm == INT64_MIN else pd.Timestamp(self._wm, unit="ns").isoformat()
        return (f"Rolling(kind={cfg.kind!r}, window={size!r}, keys={len(self._labels)}, "
                f"watermark={wm!r}, received={self._received}, accepted={self._accepted}, "
                f"late={self._late}, duplicates={self._dups})")


def _frame(cols: dict[str, np.ndarray], index: pd.Index, columns: pd.Index) -> pd.DataFrame:
    """A DataFrame over fresh arrays that only it owns (no copy).

    ``DataFrame._from_arrays`` is 4x cheaper than the dict constructor on pandas 3
    (snapshots are taken after every batch); the public constructor is the fallback.
    """
    arrays = [cols[c] for c in columns]
    try:
        return pd.DataFrame._from_arrays(arrays, columns=columns, index=index, verify_integrity=False)
    except (AttributeError, TypeError):  # a pandas without the private fast path
        return pd.DataFrame(dict(zip(columns, arrays)), index=index, copy=False)


def _short(td: pd.Timedelta) -> str:
    s = td.total_seconds()
    return f"{s:g}s"


def _norm(label):
    """One object for every missing key (so NaN keys group together, never vanish)."""
    try:
        if pd.isna(label):
            return np.nan
    except (TypeError, ValueError):
        pass
    if isinstance(label, np.generic):
        return label.item()
    return label


def _take_stats(st: Stats, idx: np.ndarray) -> Stats:
    from ._windows import _take

    return _take(st, idx)


def _select_measure(st: Stats, j: int) -> Stats:
    sk = None
    if st.sk is not None:
        g, m, k, c = st.sk
        sel = m == j
        sk = (g[sel], np.zeros(int(sel.sum()), dtype=np.int64), k[sel], c[sel])
    sl = slice(j, j + 1)
    return Stats(st.n, st.s[:, sl], st.m2[:, sl], st.mn[:, sl], st.mx[:, sl], sk)
