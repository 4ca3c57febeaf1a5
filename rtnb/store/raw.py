"""Raw-event baselines: the dashboard's GROUP BY run over raw rows on every refresh.

A documented comparison path, **not a recommended one**. A common mistake in live
dashboards is to keep every raw event in a table and run the dashboard's query —
``GROUP BY key`` over the rows of the last window — each time a viewer refreshes. Its
cost grows with the event rate, the window length and the number of viewers; reading
pre-aggregates from a store (:class:`rtnb.store.MemoryStore`, ``RedisStore``) does not.
These classes make that cost measurable, with the same result columns as the
pipeline's aggregates:

- :class:`SQLiteBaseline` — SQLite (standard library), an index on event time;
- :class:`DuckDBBaseline` — DuckDB, a columnar engine (extra ``rtnb[duckdb]``).

Feed them the same batches as the pipeline (``runner.stream.sink(baseline.insert)``)
and call :meth:`~SQLiteBaseline.query` on each refresh; every answer is a
:class:`RawQuery` with the table, the query time, the CPU time and the rows scanned.

>>> import pandas as pd
>>> batch = pd.DataFrame({
...     "ts": pd.to_datetime(["2024-01-01 09:00:01", "2024-01-01 09:00:30",
...                           "2024-01-01 09:00:59"]).as_unit("ns"),
...     "country": ["FR", "DE", "FR"], "amount": [10.0, 5.0, 30.0]})
>>> raw = SQLiteBaseline(keys=("country",), measures=("amount",))
>>> raw.insert(batch)
3
>>> answer = raw.query(end=pd.Timestamp("2024-01-01 09:01"), window="60s")
>>> answer.table
         count   sum  mean
country
DE           1   5.0   5.0
FR           2  40.0  20.0
>>> answer.rows_scanned, answer.rows_stored
(3, 3)
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError, StoreError, UnknownNameError
from .._time import DurationLike, TimeLike, to_duration, to_timestamp
from ..clock import WallClock

_WALL = WallClock()

__all__ = ["RawQuery", "SQLiteBaseline", "DuckDBBaseline", "RAW_AGGREGATES"]

RAW_AGGREGATES = ("count", "sum", "mean", "min", "max")
_SQL = {"sum": "SUM", "mean": "AVG", "min": "MIN", "max": "MAX"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class RawQuery:
    """One refresh answered from raw events.

    ``table`` has one row per key and the same columns as the pipeline's aggregates
    (one measure: ``count``, ``sum``, ...; several: ``<measure>_<aggregate>``).
    ``seconds`` is the time the query took and ``cpu_seconds`` the CPU this process
    (the embedded database) spent on it; ``rows_scanned`` is how many raw rows the
    GROUP BY aggregated (the rows in the window), ``rows_stored`` how many the table
    holds.

    >>> RawQuery(engine="sqlite", table=pd.DataFrame(), seconds=0.002, cpu_seconds=0.002,
    ...          rows_scanned=600, rows_stored=3600).rows_per_second
    300000.0
    """

    engine: str
    table: pd.DataFrame
    seconds: float
    cpu_seconds: float
    rows_scanned: int
    rows_stored: int

    @property
    def rows_per_second(self) -> float | None:
        """Rows scanned per second of query time (``None`` for an instant query)."""
        return self.rows_scanned / self.seconds if self.seconds > 0 else None


def _names(value: Any, param: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        out = tuple(value)
    except TypeError:
        raise ParameterError(param, value, "must be a column name or a sequence of them") from None
    for name in out:
        if not isinstance(name, str) or not name.isidentifier():
            raise ParameterError(param, value, f"{name!r} is not a plain column name "
                                               "(letters, digits and _)")
    return out


class _RawBaseline:
    """What both engines share: configuration, the SQL text and result shaping."""

    engine = "raw"

    def __init__(
        self,
        *,
        keys: Sequence[str] | str = (),
        measures: Sequence[str] | str = (),
        aggs: Sequence[str] = ("count", "sum", "mean"),
        retention: DurationLike | None = None,
        timer: Callable[[], float] = _WALL.perf,
        cpu_timer: Callable[[], float] = _WALL.cpu,
    ) -> None:
        self.keys = _names(keys, "keys")
        self.measures = _names(measures, "measures")
        aggs = (aggs,) if isinstance(aggs, str) else tuple(aggs)
        if not aggs:
            raise ParameterError("aggs", aggs, "name at least one aggregate", RAW_AGGREGATES)
        for a in aggs:
            if a not in RAW_AGGREGATES:
                raise UnknownNameError("aggs", a, RAW_AGGREGATES,
                                       reason="not an aggregate the raw baselines compute")
        if not self.measures and aggs != ("count",):
            raise ParameterError("aggs", aggs, "without measures only 'count' is possible")
        clash = set(self.keys) & (set(self.measures) | {"ts"})
        if clash:
            raise ParameterError("keys", keys, f"{sorted(clash)} also used as measure or time")
        self.aggs = aggs
        self.retention = None if retention is None else to_duration(retention, "retention")
        # Measuring the cost is the point of these classes: the timers only time the
        # query, they never decide what data is shown (that is ``end``, passed in).
        self._timer = timer
        self._cpu_timer = cpu_timer
        self._rows = 0
        self._newest: int | None = None
        self._closed = False

    # --------------------------------------------------------------- shared logic

    @property
    def rows_stored(self) -> int:
        """How many raw rows the table holds now."""
        return self._rows

    def _columns(self) -> list[tuple[str, str]]:
        """(output name, SQL expression) per result column, in the pipeline's order."""
        single = len(self.measures) == 1
        if not self.measures:
            return [("count", "COUNT(*)")]
        cols = []
        for m in self.measures:
            for a in self.aggs:
                name = a if single else f"{m}_{a}"
                expr = f"COUNT({m})" if a == "count" else f"{_SQL[a]}({m})"
                cols.append((name, expr))
        return cols

    def sql(self) -> str:
        """The dashboard's query, with ``?`` for the window's start and end (ns).

        >>> print(SQLiteBaseline(keys="country", measures="amount").sql())
        SELECT country, COUNT(*) AS _rows, COUNT(amount) AS "count", SUM(amount) AS "sum", AVG(amount) AS "mean"
        FROM events WHERE ts >= ? AND ts < ? GROUP BY country
        """
        keys = "".join(f"{k}, " for k in self.keys)
        cols = ", ".join(f'{expr} AS "{name}"' for name, expr in self._columns())
        group = f" GROUP BY {', '.join(self.keys)}" if self.keys else ""
        return (f"SELECT {keys}COUNT(*) AS _rows, {cols}\n"
                f"FROM events WHERE ts >= ? AND ts < ?{group}")

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the {type(self).__name__} is closed")

    def _prepare(self, batch: pd.DataFrame) -> pd.DataFrame:
        """The batch's columns in table order, with ``ts`` as int64 nanoseconds."""
        self._check_open()
        if not isinstance(batch, pd.DataFrame):
            raise ParameterError("batch", type(batch).__name__, "must be a pandas DataFrame")
        missing = [c for c in ("ts", *self.keys, *self.measures) if c not in batch.columns]
        if missing:
            raise ParameterError("batch", list(batch.columns), f"lacks the columns {missing}")
        ts = batch["ts"]
        if ts.dtype.kind != "M":
            raise ParameterError("batch", str(ts.dtype), "its 'ts' column must be datetime64")
        out = {"ts": ts.to_numpy().astype("datetime64[ns]").view("int64")}
        # keys stay pandas strings (DuckDB scans them as Arrow); SQLite converts below
        for k in self.keys:
            out[k] = batch[k].astype("str").array
        for m in self.measures:
            out[m] = pd.to_numeric(batch[m], errors="coerce").to_numpy(dtype="float64",
                                                                      na_value=np.nan)
        return pd.DataFrame(out, index=pd.RangeIndex(len(batch)))

    def _after_insert(self, prepared: pd.DataFrame) -> None:
        if len(prepared):
            newest = int(prepared["ts"].max())
            self._newest = newest if self._newest is None else max(self._newest, newest)

    def _cutoff(self) -> int | None:
        if self.retention is None or self._newest is None:
            return None
        return self._newest - int(self.retention.value)

    def query(self, *, end: TimeLike, window: DurationLike) -> RawQuery:
        """Run the dashboard's GROUP BY over the raw rows with ``ts`` in [end - window, end).

        ``end`` is passed in (the clock's time or the watermark), never read here.
        """
        self._check_open()
        stop = to_timestamp(end, "end")
        span = to_duration(window, "window")
        lo, hi = int((stop - span).value), int(stop.value)
        t0, c0 = self._timer(), self._cpu_timer()
        result = self._run(lo, hi)
        seconds, cpu = self._timer() - t0, self._cpu_timer() - c0
        names = [name for name, _ in self._columns()]
        frame = pd.DataFrame(result, columns=[*self.keys, "_rows", *names])
        scanned = int(frame["_rows"].sum()) if len(frame) else 0
        frame = frame.drop(columns="_rows")
        for name in names:
            is_count = name == "count" or name.endswith("_count")
            frame[name] = frame[name].astype("int64" if is_count else "float64")
        if self.keys:
            for k in self.keys:
                frame[k] = frame[k].astype("str")
            frame = frame.set_index(list(self.keys)).sort_index()
        frame.columns = pd.Index(names, dtype=object)  # as the pipeline's tables have them
        return RawQuery(engine=self.engine, table=frame, seconds=max(seconds, 0.0),
                        cpu_seconds=max(cpu, 0.0), rows_scanned=scanned,
                        rows_stored=self._rows)

    def _run(self, lo: int, hi: int) -> list[tuple]:  # pragma: no cover - per engine
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(keys={self.keys}, measures={self.measures}, "
                f"rows_stored={self._rows})")


class SQLiteBaseline(_RawBaseline):
    """Raw events in SQLite (in memory by default), an index on ``ts``.

    Parameters
    ----------
    keys, measures
        Key columns (GROUP BY) and numeric measures of the batches.
    aggs
        Aggregates per measure, among ``count``, ``sum``, ``mean``, ``min``, ``max``.
    retention
        Delete raw rows older than this before the newest event (default: keep all).
    path
        A database file, or ``":memory:"``.
    timer, cpu_timer
        What times the query (defaults: ``WallClock().perf`` and ``WallClock().cpu``; the
        measurement is of this machine's work, so it is the one place a store reads a clock).

    >>> raw = SQLiteBaseline(keys="country", measures="amount", aggs=("max",),
    ...                      retention="1min")
    >>> t = pd.Timestamp("2024-01-01 09:00")
    >>> _ = raw.insert(pd.DataFrame({"ts": [t, t + pd.Timedelta("2min")],
    ...                              "country": ["FR", "FR"], "amount": [1.0, 2.0]}))
    >>> raw.rows_stored          # the first row fell out of the 1-minute retention
    1
    >>> SQLiteBaseline(aggs=("p99",))
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: aggs='p99' is unknown (not an aggregate the raw baselines compute); choose one of: 'count', 'sum', 'mean', 'min', 'max'
    """

    engine = "sqlite"

    def __init__(
        self,
        *,
        keys: Sequence[str] | str = (),
        measures: Sequence[str] | str = (),
        aggs: Sequence[str] = ("count", "sum", "mean"),
        retention: DurationLike | None = None,
        path: str = ":memory:",
        timer: Callable[[], float] = _WALL.perf,
        cpu_timer: Callable[[], float] = _WALL.cpu,
    ) -> None:
        super().__init__(keys=keys, measures=measures, aggs=aggs, retention=retention,
                         timer=timer, cpu_timer=cpu_timer)
        try:
            self._db = sqlite3.connect(path)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {path!r}: {exc}") from None
        cols = ["ts INTEGER NOT NULL", *(f"{k} TEXT" for k in self.keys),
                *(f"{m} REAL" for m in self.measures)]
        self._db.execute(f"CREATE TABLE IF NOT EXISTS events ({', '.join(cols)})")
        # the fair baseline: an index on event time, so the window is a range scan
        self._db.execute("CREATE INDEX IF NOT EXISTS events_ts ON events (ts)")
        self._rows = self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        self._insert_sql = (f"INSERT INTO events VALUES "
                            f"({', '.join('?' * (1 + len(self.keys) + len(self.measures)))})")

    def insert(self, batch: pd.DataFrame) -> int:
        """Append a batch of raw events; returns the number of rows inserted."""
        prepared = self._prepare(batch)
        cols = [prepared["ts"].tolist()]
        cols += [prepared[k].to_numpy(dtype=object, na_value=None).tolist() for k in self.keys]
        for m in self.measures:  # NaN as NULL, so COUNT/AVG skip it like pandas does
            values = prepared[m].to_numpy()
            col = values.tolist()
            if np.isnan(values).any():
                col = [None if v != v else v for v in col]
            cols.append(col)
        with self._db:
            self._db.executemany(self._insert_sql, zip(*cols))
            self._rows += len(prepared)
            self._after_insert(prepared)
            cutoff = self._cutoff()
            if cutoff is not None:
                self._rows -= self._db.execute("DELETE FROM events WHERE ts < ?",
                                               (cutoff,)).rowcount
        return len(prepared)

    def _run(self, lo: int, hi: int) -> list[tuple]:
        return self._db.execute(self.sql(), (lo, hi)).fetchall()

    def close(self) -> None:
        """Close the database; later calls raise :class:`rtnb.StoreError`."""
        self._db.close()
        self._closed = True


class DuckDBBaseline(_RawBaseline):
    """Raw events in DuckDB (in memory by default), a columnar engine.

    Same parameters as :class:`SQLiteBaseline`, plus ``threads`` (DuckDB's worker
    threads; default 1, so it is measured on the same footing as SQLite). Needs the
    extra ``rtnb[duckdb]``.

    >>> raw = DuckDBBaseline(keys="country", measures="amount", aggs=("count", "max"))
    >>> raw.insert(pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 09:00"] * 2),
    ...                          "country": ["FR", "FR"], "amount": [2.0, 5.0]}))
    2
    >>> raw.query(end="2024-01-01 09:01", window="5min").table
             count  max
    country
    FR           2  5.0
    >>> DuckDBBaseline(threads=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: threads=0 is invalid: must be a positive integer
    """

    engine = "duckdb"

    def __init__(
        self,
        *,
        keys: Sequence[str] | str = (),
        measures: Sequence[str] | str = (),
        aggs: Sequence[str] = ("count", "sum", "mean"),
        retention: DurationLike | None = None,
        path: str = ":memory:",
        threads: int = 1,
        timer: Callable[[], float] = _WALL.perf,
        cpu_timer: Callable[[], float] = _WALL.cpu,
    ) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ParameterError("threads", threads, "must be a positive integer")
        super().__init__(keys=keys, measures=measures, aggs=aggs, retention=retention,
                         timer=timer, cpu_timer=cpu_timer)
        try:
            import duckdb  # an optional extra
        except ImportError:
            raise StoreError(
                "DuckDBBaseline needs duckdb: pip install 'rtnb[duckdb]'") from None
        self._db = duckdb.connect(path)
        self._db.execute(f"SET threads = {threads}").fetchall()
        cols = ["ts BIGINT NOT NULL", *(f"{k} VARCHAR" for k in self.keys),
                *(f"{m} DOUBLE" for m in self.measures)]
        self._db.execute(f"CREATE TABLE IF NOT EXISTS events ({', '.join(cols)})").fetchall()
        self._rows = self._db.execute("SELECT COUNT(*) FROM events").fetchall()[0][0]

    def insert(self, batch: pd.DataFrame) -> int:
        """Append a batch of raw events; returns the number of rows inserted."""
        prepared = self._prepare(batch)
        if len(prepared):
            # DuckDB reads the DataFrame directly (a columnar append, no per-row Python)
            self._db.register("_rtnb_batch", prepared)
            try:
                self._db.execute("INSERT INTO events SELECT * FROM _rtnb_batch").fetchall()
            finally:
                self._db.unregister("_rtnb_batch")
        self._rows += len(prepared)
        self._after_insert(prepared)
        cutoff = self._cutoff()
        if cutoff is not None:
            deleted = self._db.execute("DELETE FROM events WHERE ts < ?", [cutoff]).fetchall()
            self._rows -= int(deleted[0][0]) if deleted else 0
        return len(prepared)

    def _run(self, lo: int, hi: int) -> list[tuple]:
        return self._db.execute(self.sql(), [lo, hi]).fetchall()

    def close(self) -> None:
        """Close the database; later calls raise :class:`rtnb.StoreError`."""
        self._db.close()
        self._closed = True
