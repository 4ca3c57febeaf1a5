"""What a :class:`rtnb.Rolling` answers: its window's table and snapshot, the per-bucket
series, the closed windows and the live buckets.

A mixin (like :class:`~rtnb.pipeline._rolling_state._RollingState`): feeding lives in
:mod:`rtnb.pipeline.rolling`; these methods read the attributes its constructor sets:
``config``, ``clock``, ``metric``, ``_engine``, ``_keys``, ``_arrivals``, ``_qs``,
``_single``, ``_columns``, ``_columns_index`` and ``_version``, and its ``counters``,
``newest_event`` and ``watermark``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import ParameterError
from .._keytable import KeyTable
from ..health import Snapshot
from ._buckets import Buckets
from ._output import buckets_of, closed_frame, lazy_columns, series_frame
from .watermark import INT64_MIN

__all__ = ["RollingTables"]


def _float_limits() -> np.errstate:
    """Around the engines' arithmetic: values whose sum (or square) passes float64's
    range give ``±inf`` (or NaN for ``inf - inf``) in the table, as pandas does on the
    same rows, and numpy's overflow warnings stay out of the user's notebook (the table
    says it; the running totals rebuild once those rows leave, ``Totals.stale``)."""
    return np.errstate(over="ignore", invalid="ignore")


class RollingTables:
    """The window's table, snapshot, series, closed windows and buckets of a Rolling."""

    @property
    def bounds(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The current window's event-time bounds; ``None`` before any row or for sessions.

        Exact windows are ``(start, end]`` (end is W); bucket windows ``[start, end)``.
        """
        w = self._arrivals.newest
        b = None if w == INT64_MIN else self._engine.bounds(w)
        return None if b is None else (pd.Timestamp(b[0], unit="ns"), pd.Timestamp(b[1], unit="ns"))

    @property
    def value(self) -> pd.DataFrame:
        """The current aggregate table (same as ``snapshot().table``)."""
        return self._key_table().frame()

    def _key_table(self) -> KeyTable:
        cfg = self.config
        with _float_limits():
            ws = self._engine.read(self._qs)
        cols = lazy_columns(ws, cfg.agg_names, cfg.measures, self._single)
        columns = self._columns_index if ws.window_start is None else pd.Index(list(cols), dtype=object)
        return KeyTable(columns, [cols[c] for c in columns], ws.keys, self._keys.view())

    def snapshot(self, processed_at: pd.Timestamp | None = None) -> Snapshot:
        """An immutable :class:`rtnb.Snapshot` of the current window.

        The snapshot holds the window's per-key arrays (fresh, owned by it, never
        shared with this aggregator's state); its ``table`` is built on first read,
        and ``top(n, by)`` / ``key(label)`` build only the rows they return.
        ``processed_at``: the argument, else the clock's ``now()``, else the newest
        event time (the epoch before any event).
        """
        newest = self.newest_event
        if processed_at is not None:
            when = pd.Timestamp(processed_at).as_unit("ns")
        elif self.clock is not None:
            when = self.clock.now()
        else:
            when = newest if newest is not None else pd.Timestamp(0, unit="ns")
        self._version += 1
        cfg = self.config
        series = self.series(cfg.series) if cfg.series is not None else None
        return Snapshot(metric=self.metric, key_table=self._key_table(), window=cfg.size,
                        watermark=self.watermark, newest_event=newest,
                        processed_at=when, counters=self.counters, series=series,
                        version=self._version)

    def series(self, column: str | None = None) -> pd.DataFrame:
        """Per-bucket values of one column of the table over the current window.

        Index: bucket start times; one column per key (bucket kinds only). Empty
        buckets count 0 and have NaN for the other aggregates.
        """
        if not self._engine.has_buckets:
            raise ParameterError("kind", self.config.kind,
                                 "per-bucket series need kind='bucketed', 'tumbling' or 'sliding'")
        column = column if column is not None else self._columns[0]
        return series_frame(self._engine, self._arrivals.newest, column, self._columns, self._keys,
                            self.config, self._single)

    def closed_windows(self) -> pd.DataFrame:
        """Finished tumbling/sliding windows or sessions, oldest first.

        Index: ``window_start`` (+ key columns); columns ``window_end`` then the
        aggregates. For sessions ``window_end`` is the last event time of the session.
        Only the most recent ``keep_closed`` windows (or session closings) are kept.
        """
        if not self._engine.closes:
            raise ParameterError("kind", self.config.kind,
                                 "closed windows exist for kind='tumbling', 'sliding' or 'session'")
        return closed_frame(self._engine.closed_windows(), self._keys, self.config, self._single,
                            self._columns)

    def buckets(self) -> Buckets:
        """The live pre-aggregated buckets (bucket kinds), mergeable with ``+``."""
        if not self._engine.has_buckets:
            raise ParameterError("kind", self.config.kind,
                                 "buckets exist for kind='bucketed', 'tumbling' or 'sliding'")
        return buckets_of(self._engine, self._keys, self.config)
