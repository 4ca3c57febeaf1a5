"""A :class:`~rtnb.pipeline.metric_live.MetricAggregate`'s answer in the metric's terms:
the window table's columns under the metric's names (``count``, ``<measure>_<agg>``),
the derived columns, the **overall** row, and window bounds back in local time.

A mixin: feeding and the counters live in :mod:`rtnb.pipeline.metric_live`; these
methods read the attributes its constructor sets: ``metric``, ``rolling``, ``_aggs``,
``_total``, ``_local`` and ``_shift``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MetricTables"]


class MetricTables:
    """The metric's columns, derived values and overall row from the window's table."""

    def _named(self, table: pd.DataFrame) -> dict[str, np.ndarray]:
        """The raw table's columns under the metric's names (``count``, ``<m>_<agg>``),
        read once per snapshot (a column lookup costs more than the arithmetic)."""
        m = self.metric
        raw = {c: table[c].to_numpy() for c in table.columns}
        single = len(m.value) == 1
        out = {"count": raw["count"] if single else raw[f"{m.value[0]}_count"]}
        for meas in m.value:
            for a in self._aggs:
                if a != "count":
                    out[f"{meas}_{a}"] = raw[a] if single else raw[f"{meas}_{a}"]
        for c in ("window_start", "window_end"):
            if c in raw:
                out[c] = raw[c]
        return out

    def _present(self, table: pd.DataFrame, index_cols: tuple[str, ...] = (),
                 named: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
        m = self.metric
        named = self._named(table) if named is None else named
        out = {c: named[c] for c in index_cols}
        for c in m.aggregate_columns:
            out[c] = named[c]
        seconds = self._seconds(named)
        for name, d in m.derivations:
            out[name] = d.evaluate(out, seconds=seconds) * np.ones(len(table))
        return pd.DataFrame(out, index=table.index)

    def _seconds(self, named):
        if self.metric.kind == "session":
            return (np.asarray(named["window_end"], dtype="datetime64[ns]").view(np.int64)
                    - np.asarray(named["window_start"], dtype="datetime64[ns]").view(np.int64)) / 1e9
        return self.metric.window.total_seconds()

    def overall(self, table: pd.DataFrame | None = None, named: dict[str, np.ndarray] | None = None) -> pd.Series:
        """The overall row: aggregates folded over the keys, derived values on the totals."""
        m = self.metric
        if named is None:
            named = self._named(self.rolling.value if table is None else table)
        rows = len(named["count"])
        n = float(np.sum(named["count"])) if rows else 0.0
        vals: dict[str, float] = {"count": n}
        total = self._total.value if self._total is not None else None
        for meas in m.value:
            for a in m.aggs:
                name = f"{meas}_{a}"
                if not rows:
                    vals[name] = np.nan
                elif a == "sum":
                    vals[name] = float(np.sum(named[name]))
                elif a == "min":
                    vals[name] = float(np.min(named[name]))
                elif a == "max":
                    vals[name] = float(np.max(named[name]))
                elif a == "mean":
                    vals[name] = float(np.sum(named[f"{meas}_sum"])) / n if n else np.nan
                elif total is not None and len(total):
                    vals[name] = float(total[a].iloc[0] if len(m.value) == 1 else total[name].iloc[0])
                else:  # keyless: the one row is the total
                    vals[name] = float(named[name][0])
        if m.kind == "session":
            secs = self._seconds(named)
            seconds = float(np.max(secs)) if rows else None
        else:
            seconds = m.window.total_seconds()
        for name, d in m.derivations:
            vals[name] = float(d.evaluate(vals, seconds=seconds))
        return pd.Series(vals, name="overall")

    def _times(self, frame: pd.DataFrame) -> pd.DataFrame:
        m = self.metric
        if not self._local or not len(frame):
            return frame
        def fix(idx):
            idx = pd.DatetimeIndex(idx) + pd.Timedelta(self._shift, unit="ns")
            return idx.tz_localize(m.tz, ambiguous=True, nonexistent="shift_forward") if m.tz else idx
        frame = frame.copy()
        frame["window_end"] = fix(frame["window_end"]).to_numpy() if m.tz is None else fix(frame["window_end"])
        if isinstance(frame.index, pd.MultiIndex):
            lv = frame.index.levels[0]
            frame.index = frame.index.set_levels(fix(lv), level=0)
        else:
            frame.index = fix(frame.index).rename("window_start")
        return frame
