"""Input decoding for :class:`rtnb.Rolling`: a micro-batch DataFrame to plain arrays.

:func:`read_batch` checks that the batch has the columns a configuration names and
turns it into the arrays the window engines take: event times as int64 nanoseconds
(UTC, naive), measures as a float64 ``(rows, measures)`` matrix, the key columns as
they are and the event ids (or ``None``). A bad batch raises
:class:`rtnb.ParameterError` before any state changes.

>>> import pandas as pd
>>> from rtnb.pipeline.rolling import RollingConfig
>>> cfg = RollingConfig(window="1min", value="v", by="k")
>>> ts, vals, keys, ids = read_batch(pd.DataFrame(
...     {"ts": pd.to_datetime(["2024-01-01"]).as_unit("ns"), "k": ["a"], "v": [2]}), cfg)
>>> ts.tolist(), vals.tolist(), keys[0].tolist(), ids
([1704067200000000000], [[2.0]], ['a'], None)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import ParameterError

__all__ = ["read_batch"]

INT64_MIN = np.iinfo(np.int64).min


def read_batch(batch, cfg):
    """``(ts, vals, keycols, ids)`` of a batch for configuration ``cfg`` (a RollingConfig).

    An empty batch gives ``(empty int64 array, None, [], None)``.
    """
    if not isinstance(batch, pd.DataFrame):
        raise ParameterError("batch", type(batch).__name__, "must be a pandas DataFrame")
    needed = [cfg.time_col, *cfg.keys, *cfg.measures] + ([cfg.id_col] if cfg.id_col else [])
    for c in needed:
        if c not in batch.columns:
            raise ParameterError("batch", c, f"missing column {c!r}; present: {list(batch.columns)}")
    col = batch[cfg.time_col]
    if len(batch) == 0:
        return np.empty(0, dtype=np.int64), None, [], None
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_convert("UTC").dt.tz_localize(None)
    if not pd.api.types.is_datetime64_dtype(col.dtype):
        raise ParameterError("batch", cfg.time_col,
                             f"column {cfg.time_col!r} must hold datetimes, not {col.dtype}")
    ts = np.asarray(col.values).astype("datetime64[ns]", copy=False).view(np.int64)
    if (ts == INT64_MIN).any():
        raise ParameterError("batch", cfg.time_col, f"column {cfg.time_col!r} has missing times (NaT)")
    try:
        if len(cfg.measures) == 1:
            vals = batch[cfg.measures[0]].to_numpy(dtype=np.float64).reshape(-1, 1)
        else:
            vals = np.column_stack([batch[m].to_numpy(dtype=np.float64) for m in cfg.measures])
    except (TypeError, ValueError):
        raise ParameterError("batch", list(cfg.measures), "measures must be numbers") from None
    if not np.isfinite(vals).all():
        bad = [m for j, m in enumerate(cfg.measures) if not np.isfinite(vals[:, j]).all()]
        raise ParameterError("batch", bad, "measures must be finite numbers (validate upstream)")
    keycols = [batch[k] for k in cfg.keys]
    ids = batch[cfg.id_col].to_numpy() if cfg.id_col else None
    return ts, vals, keycols, ids
