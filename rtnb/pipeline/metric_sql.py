"""A :class:`~rtnb.pipeline.metric.Metric` written as one SQL query (DuckDB dialect).

Times are computed in integer nanoseconds (``epoch_ns``), with floor division, so the
window a row falls in is decided exactly as the streaming engine decides it: window
``k`` of size ``S`` from origin ``O`` holds ``O + k*S <= t < O + (k+1)*S``. With a time
zone, ``t`` is the local wall-clock time (``ts AT TIME ZONE 'UTC' AT TIME ZONE tz``).

>>> from rtnb.pipeline.metric import Metric
>>> print(duckdb_query(Metric(name="orders", value="amount", by="country", window="1h",
...                           aggs=("sum", "max")), table="events"))
WITH src AS (
  SELECT *, epoch_ns("ts") AS __t
  FROM "events"
),
win AS (
  SELECT *, (__t // 3600000000000) * 3600000000000 AS __w FROM src
),
agg AS (
  SELECT make_timestamp_ns(__w) AS window_start, make_timestamp_ns(__w + 3600000000000) AS window_end, "country",
    count(*) AS "count",
    sum("amount") AS "amount_sum",
    max("amount") AS "amount_max"
  FROM win
  GROUP BY __w, "country"
)
SELECT *
FROM agg
ORDER BY window_start, "country"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ._buckets import QUANTILES
from .metric_expr import quote_ident, quote_literal

if TYPE_CHECKING:
    from .metric import Metric

__all__ = ["duckdb_query"]

_SQL_AGG = {"sum": "sum({})", "mean": "avg({})", "min": "min({})", "max": "max({})", "std": "stddev_samp({})"}


def _local_origin(m: Metric) -> int:
    return 0 if m.origin is None else int(m.origin.value)


def duckdb_query(m: Metric, *, table: str, overall: bool = False) -> str:
    """The SQL text of ``m`` over ``table`` (see :meth:`Metric.to_sql`)."""
    t = quote_ident(m.time_col)
    if m.tz is not None:
        t = f"({t} AT TIME ZONE 'UTC') AT TIME ZONE {quote_literal(m.tz)}"
    where = f"\n  WHERE {m.row_filter.sql()}" if m.row_filter is not None else ""
    parts = [f"WITH src AS (\n  SELECT *, epoch_ns({t}) AS __t\n  FROM {quote_ident(table)}{where}\n)"]
    o = _local_origin(m)
    size = m.window.value
    kind = m.kind
    if kind == "tumbling":
        parts.append(f"win AS (\n  SELECT *, {_floor('__t', size, o)} AS __w FROM src\n)")
        lo, hi = "__w", f"__w + {size}"
    elif kind == "sliding":
        hop = m.every.value
        shifted = f"__t - {o}" if o else "__t"
        parts.append(
            "win AS (\n  SELECT *, "
            + (f"{o} + " if o else "")
            + f"unnest(range(({shifted} - {size}) // {hop} + 1, ({shifted}) // {hop} + 1)) * {hop} AS __w FROM src\n)")
        lo, hi = "__w", f"__w + {size}"
    elif kind == "exact":
        parts.append("win AS (\n  SELECT *, (SELECT max(__t) FROM src) AS __w FROM src\n)")
        parts[-1] = parts[-1].replace(" FROM src\n)", f" FROM src\n),\nkept AS (\n  SELECT * FROM win WHERE __t > __w - {size}\n)")
        lo, hi = f"__w - {size}", "__w"
    else:  # bucketed: the window / resolution buckets ending with the newest row's bucket
        res = (m.resolution or pd.Timedelta("1s")).value
        top = f"{_floor('(SELECT max(__t) FROM src)', res, o)} + {res}"
        parts.append(f"win AS (\n  SELECT *, {top} AS __w FROM src\n),\n"
                     f"kept AS (\n  SELECT * FROM win WHERE __t >= __w - {size} AND __t < __w\n)")
        lo, hi = f"__w - {size}", "__w"
    source = "kept" if kind in ("exact", "bucketed") else "win"
    keys = [] if overall else [quote_ident(k) for k in m.by]
    start, end = f"make_timestamp_ns({lo})", f"make_timestamp_ns({hi})"
    if m.tz is not None:
        z = quote_literal(m.tz)
        start, end = f"{start} AT TIME ZONE {z}", f"{end} AT TIME ZONE {z}"
    select = [f"{start} AS window_start, {end} AS window_end" + "".join(f", {k}" for k in keys)]
    aggs = ['count(*) AS "count"']
    for meas in m.value:
        col = quote_ident(meas)
        for a in m.aggs:
            alias = quote_ident(f"{meas}_{a}")
            if a in QUANTILES:
                # the "lower" quantile, as pandas' interpolation="lower" (exact)
                aggs.append(f"list_sort(list({col}))[CAST(floor((count({col}) - 1) * {QUANTILES[a]}) AS BIGINT) + 1]"
                            f" AS {alias}")
            else:
                aggs.append(_SQL_AGG[a].format(col) + f" AS {alias}")
    group = ", ".join(["__w", *keys])
    parts.append("agg AS (\n  SELECT " + ", ".join(select) + ",\n    " + ",\n    ".join(aggs)
                 + f"\n  FROM {source}\n  GROUP BY {group}\n)")
    seconds = m.window.total_seconds()
    derived = "".join(f",\n  {d.sql(seconds=seconds)} AS {quote_ident(name)}" for name, d in m.derivations)
    order = ", ".join(["window_start", *keys])
    return ",\n".join(parts) + f"\nSELECT *{derived}\nFROM agg\nORDER BY {order}"


def _floor(x: str, step: int, origin: int) -> str:
    """``origin + floor((x - origin) / step) * step`` in integer SQL."""
    if origin:
        return f"{origin} + (({x} - {origin}) // {step}) * {step}"
    return f"({x} // {step}) * {step}"
