"""The points a line chart draws: the rows it records each frame, and its gaps.

Pure functions of arrays and snapshots (no widget): :func:`break_gaps` breaks a line
where the data stopped, so a stall reads as a gap, not as a straight ramp.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..health import Snapshot

__all__ = ["GAP_FACTOR", "break_gaps", "drawable", "tracked", "values"]

#: Consecutive points farther apart than this many times their usual spacing are not
#: joined: the line breaks there, so a stall reads as a gap, not as a straight ramp.
GAP_FACTOR = 3.0


def drawable(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nothing to draw until there are two points: one point makes no line, and bqplot
    squeezes a (keys x 1) array to 1-D (one key: 0-D, a TraitError)."""
    return (x, y) if len(x) >= 2 else (x[:0], y[:, :0])


def break_gaps(x: np.ndarray, y: np.ndarray, factor: float = GAP_FACTOR) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN point wherever consecutive points are more than ``factor`` times
    their usual spacing (the upper quartile of the steps) apart: bqplot leaves NaN undrawn, so the line breaks there.

    >>> t = np.array(["2024-01-01T09:00:00", "2024-01-01T09:00:01", "2024-01-01T09:00:02",
    ...               "2024-01-01T09:00:30", "2024-01-01T09:00:31"], dtype="datetime64[ns]")
    >>> bx, by = break_gaps(t, np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]))
    >>> by.tolist(), str(bx[3])
    ([[1.0, 2.0, 3.0, nan, 4.0, 5.0]], '2024-01-01T09:00:03.000000000')
    """
    if len(x) < 3:
        return x, y
    step = np.diff(x.astype(np.int64))
    # "Usual" is the upper quartile, not the median: frames that slip on a busy kernel
    # spread points unevenly while the data kept coming (the quick-start's lines came
    # out dashed on a loaded machine); only a step well past the slow end of the usual
    # spread is a gap in the data.
    usual = float(np.quantile(step, 0.75))
    if usual <= 0:
        return x, y
    at = np.flatnonzero(step > factor * usual)
    if not len(at):
        return x, y
    # The break sits one median step after the last point before the gap.
    gap_t = x[at] + np.timedelta64(int(np.median(step)), "ns")
    return np.insert(x, at + 1, gap_t), np.insert(y, at + 1, np.nan, axis=1)


def tracked(snapshot: Snapshot, column: str, chosen: Any, top_k: int) -> pd.DataFrame:
    """The rows a line records this frame: the chosen keys' (one ``key`` read each),
    else the leading ``max(4 * top_k, 32)`` by ``column`` (one ``top`` read): O(k)
    rows, never the whole table."""
    if column not in snapshot.columns:
        return pd.DataFrame()
    if chosen is None:
        return snapshot.top(max(4 * top_k, 32), by=column)
    rows = {}
    for k in chosen:
        try:
            rows[k] = snapshot.key(k)
        except KeyError:
            continue
    return pd.DataFrame.from_dict(rows, orient="index") if rows else pd.DataFrame(columns=[column])


def values(rows: pd.DataFrame, column: str) -> dict[Any, float]:
    """``column`` of ``rows`` as numbers by key (what is not a number left out)."""
    if column not in rows.columns:
        return {}
    values = pd.to_numeric(rows[column], errors="coerce").dropna()
    return dict(zip(values.index, values.to_numpy(dtype=np.float64)))
