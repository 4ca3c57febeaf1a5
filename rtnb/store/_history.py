"""The history pivot every store answers ``history(metric, column)`` with.

One row per history entry (index ``newest_event``), one column per key, NaN where an
entry has no row for a key; keys sorted when they can be. :class:`MemoryStore` feeds it
the tables it keeps, ``RedisStore`` the key arrays and values it reads straight from
the encoded entries — the same function, so both stores give the same frame.

>>> import numpy as np, pandas as pd
>>> times = pd.DatetimeIndex(["2024-01-01 09:00", "2024-01-01 09:01"], name="newest_event")
>>> pivot_history(times, rows=np.array([0, 0, 1]), keys=pd.Index(["FR", "DE", "FR"],
...               name="country"), values=np.array([1, 2, 3]))
country               DE   FR
newest_event
2024-01-01 09:00:00  2.0  1.0
2024-01-01 09:01:00  NaN  3.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import UnknownNameError

__all__ = ["empty_history", "pivot_history", "unknown_column"]


def empty_history() -> pd.DataFrame:
    """The history of a metric with no entries.

    >>> empty_history().index.name
    'newest_event'
    """
    return pd.DataFrame(index=pd.DatetimeIndex([], name="newest_event", dtype="datetime64[ns]"))


def unknown_column(metric: str, column: Any, choices: list) -> UnknownNameError:
    """The error for a column no entry of ``metric`` has."""
    return UnknownNameError("column", column, list(choices),
                            reason=f"not an aggregate of metric {metric!r}")


def pivot_history(times: pd.DatetimeIndex, *, rows: np.ndarray, keys: pd.Index,
                  values: np.ndarray) -> pd.DataFrame:
    """Value ``i`` goes to row ``rows[i]`` (an entry) and the column of key ``keys[i]``.

    ``times`` is one time per entry (entries without the column stay all NaN).
    """
    codes, uniques = keys.factorize(use_na_sentinel=False)  # a NaN key is a key (Rolling keeps it)
    numeric = values.dtype.kind in "biuf"
    out = np.full((len(times), len(uniques)), np.nan if numeric else None,
                  dtype=np.float64 if numeric else object)
    out[rows, codes] = values
    frame = pd.DataFrame(out, index=times, columns=uniques)
    frame.columns.name = keys.name if not isinstance(uniques, pd.MultiIndex) else None
    try:
        frame = frame[uniques.sort_values()]
    except TypeError:  # keys of mixed types: keep the order of first appearance
        pass
    return frame
