"""Replay a real data set — a DataFrame, a CSV or a Parquet file — as a live source.

>>> import pandas as pd
>>> import rtnb
>>> orders = pd.DataFrame({
...     "time": pd.to_datetime(["2011-09-01 08:00", "2011-09-01 08:01", "2011-09-01 08:03"]),
...     "country": ["UK", "FR", "UK"],
...     "amount": [10.0, 4.5, 7.25],
... })
>>> src = rtnb.replay(orders, time_col="time", speed=60, start="2024-01-01 00:00")
>>> src.read(pd.Timestamp("2024-01-01 00:00"), pd.Timestamp("2024-01-01 00:00:02"))
                   ts             arrival                time country  amount
0 2024-01-01 00:00:00 2024-01-01 00:00:00 2011-09-01 08:00:00      UK   10.00
1 2024-01-01 00:00:01 2024-01-01 00:00:01 2011-09-01 08:01:00      FR    4.50

At ``speed=60`` a minute of data arrives in a second; ``ts`` is on the clock's timeline
and the data's own ``time`` column is kept as it was.

How data time maps to clock time
--------------------------------
Let ``t_i`` be the event time of row ``i`` (the ``time_col``, parsed to
``datetime64[ns]``), rows numbered in *emission order* (below), and ``t_0`` the event
time of the first row emitted. The replay is anchored at clock time ``A``: the
``start=`` given, or else the ``start`` of the first :meth:`Replay.read` call.

- **Arrival.** Row ``i`` arrives at ``A + (m_i - t_0) / speed``, where ``m_i`` is the
  newest event time among rows ``0..i`` (the running maximum). Clock time elapsed is
  data time elapsed divided by ``speed``; the first row arrives exactly at ``A``.
- **Event time, ``rebase=True``** (default): ``ts = A + (t_i - t_0) / speed`` — the
  event time moved onto the clock's timeline and compressed like arrivals, so that
  *data age* = processing time − newest ``ts`` is honest under a ``SimClock`` or a
  ``WallClock`` (zero for an in-order row read the instant it arrives). Under
  ``speed=60`` an hour of data spans one minute of ``ts``: windows declared on ``ts``
  are in clock time. The original time column is kept, unchanged, under its own name
  (renamed ``ts_original`` if it was itself called ``ts``).
- **Event time, ``rebase=False``**: ``ts`` is the original event time ``t_i``.
  Arrivals are still on the clock's timeline, so data age then mixes two timelines;
  use it to window on the data's own time.

Offsets are computed in integer nanoseconds (exactly, for a whole-number ``speed``;
rounded to the nanosecond otherwise).

Emission order: sorted or declared disorder
-------------------------------------------
- ``sort=True`` (default): rows are put in event-time order first (a stable sort, so
  rows with equal times keep their file order). Then ``m_i = t_i``: every row arrives
  at its own (rebased) event time, ``ts == arrival``, nothing is late.
- ``sort=False`` — *declared disorder*: rows are emitted in the order of the data (file
  order). A row whose event time is older than a row emitted before it arrives
  together with the newest row so far (``m_i > t_i``), so it is late by
  ``(m_i - t_i) / speed`` of clock time relative to the newest event — exactly as much
  as it was out of order in the data. ``ts`` may then lie before ``A`` (a row older
  than the first row). Arrival times never go back, so batches are in arrival order.

Reading
-------
:meth:`Replay.read` returns the rows whose arrival is in ``[start, end)``, with ``ts``
and ``arrival`` first (both ``datetime64[ns]``), then the data's columns. The answer
depends only on the interval (and the anchor), so any split into reads gives the same
rows. ``position`` counts the rows delivered up to the furthest ``end`` read,
``exhausted`` says the last one has been. With ``loop=True`` the data plays again and
again: cycle ``k`` is shifted by ``k`` periods, a period being the data's span plus one
median step between distinct event times (divided by ``speed`` on the clock); a
``cycle`` column numbers the cycles, and a ``rebase=False`` ``ts`` is shifted by whole
data periods so that it keeps increasing.

Files are read once, when the replay is made, so a bad file or a bad time column
raises at once: :class:`~rtnb.ParameterError` / :class:`~rtnb.UnknownNameError` for
a wrong parameter (naming it and the value, listing the columns),
:class:`~rtnb.SourceError` for data that cannot be read or used (naming the file or the
column and the rows at fault). No row is ever dropped silently.
"""

from __future__ import annotations
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError
from .._time import TimeLike, to_timestamp
# reading the data and the replay's progress live in their own modules; their names stay
# importable here
from ._replay_data import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    DataLike,
    _check_id_col,
    _columns,
    _free_batch_names,
    _infer_keys,
    _infer_measures,
    _median_step,
    _parse_times,
    _pick_time_col,
    _read_data,
)
from ._replay_progress import ReplayProgress

__all__ = ["Replay", "replay", "CSV_SUFFIXES", "PARQUET_SUFFIXES"]

_MAX_SPEED = 1e12
_MAX_CLOCK_NS = 100 * 3.15576e16  # a replay lasts at most a century of clock time


class Replay(ReplayProgress):
    """A data set replayed in event-time order at any speed, as a :class:`~rtnb.Source`.

    Make one with :func:`replay`; the module docstring gives the exact time mapping.

    Attributes
    ----------
    name, keys, measures, id_col
        The :class:`~rtnb.Source` attributes (keys and measures inferred or given).
    time_col
        The data's event-time column.
    rows
        How many rows one pass replays.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": pd.to_datetime(["2020-05-01 10:00:00", "2020-05-01 10:00:10",
    ...                                          "2020-05-01 10:00:05"]), "v": [1, 2, 3]})
    >>> src = Replay(df, time_col="t", speed=10, sort=False)
    >>> src.read(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:00:05"))[["ts", "arrival", "v"]]
                           ts             arrival  v
    0 2024-01-01 00:00:00.000 2024-01-01 00:00:00  1
    1 2024-01-01 00:00:01.000 2024-01-01 00:00:01  2
    2 2024-01-01 00:00:00.500 2024-01-01 00:00:01  3
    >>> src.position, src.rows, src.exhausted
    (3, 3, True)
    """

    def __init__(
        self,
        data: DataLike,
        *,
        time_col: str | None = None,
        speed: float = 1.0,
        sort: bool = True,
        start: TimeLike | None = None,
        rebase: bool = True,
        loop: bool = False,
        keys: Iterable[str] | str | None = None,
        measures: Iterable[str] | str | None = None,
        id_col: str | None = None,
        name: str | None = None,
    ) -> None:
        # read-only after construction: the offsets below are computed from them
        self._speed = _check_speed(speed)
        self._sort = _check_flag(sort, "sort")
        self._rebase = _check_flag(rebase, "rebase")
        self._loop = _check_flag(loop, "loop")
        self._start = None if start is None else to_timestamp(start, "start")

        frame, default_name = _read_data(data)
        if not frame.columns.is_unique:  # every later step would pick one of them at random
            dup = frame.columns[frame.columns.duplicated()].unique().tolist()
            raise ParameterError("data", dup, "has duplicate column names; rename them (df.columns) first")
        col = _pick_time_col(frame, time_col)
        frame = frame.assign(**{col: _parse_times(frame[col], col)})
        frame, self._time_col = _free_batch_names(
            frame, col, keep_ts=not self.rebase and not self.loop
        )

        columns = list(frame.columns)
        self.id_col = _check_id_col(id_col, columns)
        if self.loop and self.id_col is not None:
            raise ParameterError(
                "loop", loop,
                f"cannot loop with id_col={self.id_col!r}: every cycle repeats the ids, "
                "so a pipeline would drop the repeats as duplicates; pass id_col=None",
            )
        if self.loop and len(frame) == 0:
            raise ParameterError("loop", loop, "the data has no rows to loop over")
        skip = {self.time_col, self.id_col}
        self.keys = _columns("keys", keys, columns) if keys is not None else _infer_keys(frame, skip)
        self.measures = (
            _columns("measures", measures, columns)
            if measures is not None
            else _infer_measures(frame, skip | set(self.keys))
        )
        self.name = _check_name(name if name is not None else default_name)

        t_ns = frame[self.time_col].to_numpy(dtype="datetime64[ns]").view("int64")
        if self.sort:
            order = np.argsort(t_ns, kind="stable")
            frame = frame.take(order)
            t_ns = t_ns[order]
        self._frame: pd.DataFrame | None = frame.reset_index(drop=True)
        #: The columns of every batch, in order (``ts`` and ``arrival`` first).
        self.columns: tuple[str, ...] = (
            ("ts", "arrival") + (("cycle",) if self.loop else ())
            + tuple(str(c) for c in frame.columns if c != "ts")
        )
        self._t_ns = t_ns
        self._rows = len(t_ns)

        t0 = int(t_ns[0]) if self.rows else 0
        newest = np.maximum.accumulate(t_ns) if self.rows else t_ns
        self._t0 = t0
        self._span_ns = int(newest[-1]) - t0 if self.rows else 0
        if self._span_ns / self._speed > _MAX_CLOCK_NS:  # clock times would overflow nanoseconds
            raise ParameterError("speed", speed, f"replays {pd.Timedelta(self._span_ns, unit='ns')} of data over "
                                 f"{self._span_ns / self._speed / 3.15576e16:,.0f} years of clock time; "
                                 "use a larger speed (1 = real time, 3600 = an hour per second)")
        self._arr_off = self._scale(newest - t0)
        self._ts_off = self._scale(t_ns - t0) if self.rebase else None
        self._last_off = int(self._arr_off[-1]) if self.rows else 0
        if self.loop:
            self._data_period = self._span_ns + _median_step(t_ns)
            self._period = max(int(self._scale(np.array([self._data_period]))[0]), self._last_off + 1)

        self._anchor: pd.Timestamp | None = None
        self._prepared: pd.DataFrame | None = None
        self._furthest: pd.Timestamp | None = None

    # -- the Source protocol -------------------------------------------------------------

    def read(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """The rows whose arrival time is in ``[start, end)``, in arrival order.

        The first call anchors the replay at ``start`` unless ``start=`` was given.

        >>> import pandas as pd
        >>> df = pd.DataFrame({"ts": pd.date_range("2020-01-01", periods=4, freq="1min"), "v": range(4)})
        >>> src = replay(df, speed=60, start="2024-01-01")
        >>> t = pd.Timestamp("2024-01-01")
        >>> len(src.read(t, t + pd.Timedelta("2s"))), len(src.read(t + pd.Timedelta("2s"), t + pd.Timedelta("1h")))
        (2, 2)
        >>> src.read(t, t + pd.Timedelta("2s"))["ts_original"].tolist()
        [Timestamp('2020-01-01 00:00:00'), Timestamp('2020-01-01 00:01:00')]
        """
        start = to_timestamp(start, "start")
        end = to_timestamp(end, "end")
        if end < start:
            raise ParameterError("end", end, f"is before start={start}")
        if self._anchor is None:
            self._anchor = self._start if self._start is not None else start
        if self._furthest is None or end > self._furthest:
            self._furthest = end
        lo = (start - self._anchor).value
        hi = (end - self._anchor).value
        if not self.loop:
            return self._batch(*self._slice(lo, hi), cycle=0)
        parts = []
        if hi > 0:
            for k in range(max(0, lo // self._period), (hi - 1) // self._period + 1):
                shift = k * self._period
                i, j = self._slice(lo - shift, hi - shift)
                if j > i:
                    parts.append(self._batch(i, j, cycle=k))
        if not parts:
            return self._batch(0, 0, cycle=0)
        return pd.concat(parts) if len(parts) > 1 else parts[0]

    # -- settings (read-only) ------------------------------------------------------------

    @property
    def speed(self) -> float:
        """The speed-up: clock time elapsed = data time elapsed / ``speed``."""
        return self._speed

    @property
    def sort(self) -> bool:
        """True: replayed in event-time order; False: in the data's order (declared disorder)."""
        return self._sort

    @property
    def rebase(self) -> bool:
        """True: ``ts`` is on the clock's timeline; False: ``ts`` is the data's own time."""
        return self._rebase

    @property
    def loop(self) -> bool:
        """True: the data plays again and again."""
        return self._loop

    @property
    def time_col(self) -> str:
        """The data's event-time column, as named in the batches."""
        return self._time_col

    @property
    def rows(self) -> int:
        """How many rows one pass replays."""
        return self._rows

    def __repr__(self) -> str:
        return (
            f"Replay(name={self.name!r}, rows={self.rows}, speed={self.speed:g}, "
            f"sort={self.sort}, position={self.position})"
        )

    # -- internals -------------------------------------------------------------------------

    def _scale(self, offsets: np.ndarray) -> np.ndarray:
        """Data-time offsets (int64 ns) to clock-time offsets (int64 ns)."""
        if float(self.speed).is_integer():
            return np.floor_divide(offsets, int(self.speed))
        return np.round(offsets / self.speed).astype("int64")

    def _slice(self, lo: int, hi: int) -> tuple[int, int]:
        i = int(np.searchsorted(self._arr_off, lo, side="left"))
        j = int(np.searchsorted(self._arr_off, hi, side="left"))
        return i, max(i, j)

    def _batch(self, i: int, j: int, *, cycle: int) -> pd.DataFrame:
        if self._prepared is None:
            self._prepared = self._prepare()
        out = self._prepared.iloc[i:j]
        if cycle:
            shift = pd.Timedelta(cycle * self._period, unit="ns")
            ts_shift = shift if self.rebase else pd.Timedelta(cycle * self._data_period, unit="ns")
            out = out.assign(ts=out["ts"] + ts_shift, arrival=out["arrival"] + shift, cycle=cycle)
        return out

    def _prepare(self) -> pd.DataFrame:
        """The data with ``ts`` and ``arrival`` (cycle 0) in front, once the anchor is known.

        Built once, so that a read is a binary search and a slice (inserting columns
        into every batch would cost ten times more).
        """
        anchor = self._anchor.value  # type: ignore[union-attr]
        ts = anchor + self._ts_off if self.rebase else self._t_ns  # type: ignore[operator]
        front = {"ts": ts.view("datetime64[ns]"), "arrival": (anchor + self._arr_off).view("datetime64[ns]")}
        if self.loop:
            front["cycle"] = np.zeros(self.rows, dtype="int64")
        data = self._frame
        assert data is not None  # prepared once; the anchor never changes
        if "ts" in data.columns:  # the data's own ``ts`` (rebase=False), taken as is
            data = data.drop(columns="ts")
        self._frame = None  # the prepared frame replaces it
        return pd.concat([pd.DataFrame(front, index=data.index), data], axis=1)


def replay(
    data: DataLike,
    *,
    time_col: str | None = None,
    speed: float = 1.0,
    sort: bool = True,
    start: TimeLike | None = None,
    rebase: bool = True,
    loop: bool = False,
    keys: Iterable[str] | str | None = None,
    measures: Iterable[str] | str | None = None,
    id_col: str | None = None,
    name: str | None = None,
) -> Replay:
    """Replay a DataFrame, a CSV or a Parquet file as a :class:`~rtnb.Source`.

    Parameters
    ----------
    data
        A DataFrame, or the path of a ``.csv`` (optionally ``.gz``/``.bz2``/``.xz``/``.zip``)
        or ``.parquet`` file (Parquet needs pyarrow: ``pip install 'rtnb[parquet]'``).
    time_col
        The event-time column. By default ``ts`` if there is one, else the only
        datetime column. Strings are parsed; tz-aware times are converted to UTC.
    speed
        Speed-up: clock time elapsed = data time elapsed / ``speed`` (``3600``: an hour
        of data per second). Must be > 0.
    sort
        ``True``: replay in event-time order. ``False``: declared disorder — replay in
        the data's order; out-of-order rows arrive late (see the module docstring).
    start
        The clock time the first row arrives at; default: the start of the first read.
    rebase
        Rewrite ``ts`` onto the clock's timeline (default) or keep the data's times.
    loop
        Play the data again and again (needs ``id_col=None``).
    keys, measures
        Key (dimension) and measure columns. Inferred by default: keys are string,
        categorical or boolean columns with at most 100 distinct values; measures are
        the other numeric columns.
    id_col
        A column identifying each row, or ``None``.
    name
        The source's name; default: the file's name without suffix, or ``"replay"``.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"when": ["2021-03-01 09:00:00", "2021-03-01 10:00:00"], "shop": ["A", "B"],
    ...                    "sales": [3.0, 5.0]})
    >>> src = replay(df, time_col="when", speed=3600, start="2024-01-01")
    >>> src.keys, src.measures, src.duration
    (('shop',), ('sales',), Timedelta('0 days 00:00:01'))
    >>> replay(df, time_col="date")
    Traceback (most recent call last):
    ...
    rtnb._errors.UnknownNameError: time_col='date' is unknown (not a column of the data); choose one of: 'when', 'shop', 'sales'
    >>> replay(df, time_col="when", speed=0)
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: speed=0 is invalid: must be a number > 0 (2 replays twice as fast as the data)
    """
    return Replay(
        data,
        time_col=time_col,
        speed=speed,
        sort=sort,
        start=start,
        rebase=rebase,
        loop=loop,
        keys=keys,
        measures=measures,
        id_col=id_col,
        name=name,
    )


# -- helpers -------------------------------------------------------------------------------


def _check_speed(speed: Any) -> float:
    ok = isinstance(speed, (int, float, np.integer, np.floating)) and not isinstance(speed, (bool, np.bool_))
    if not ok or not math.isfinite(speed) or speed <= 0:
        raise ParameterError("speed", speed, "must be a number > 0 (2 replays twice as fast as the data)")
    if speed > _MAX_SPEED:  # a nanosecond of clock time would hold more than a day of data
        raise ParameterError("speed", speed, f"must be at most {_MAX_SPEED:g} (2 replays twice as fast as the data)")
    return float(speed)


def _check_flag(value: Any, param: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(param, value, "must be True or False")
    return bool(value)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ParameterError("name", name, "must be a non-empty string")
    return name
