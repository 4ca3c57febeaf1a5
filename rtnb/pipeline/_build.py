"""``build_pipeline``: source → validate → aggregate → store, in one line.

It reads the runner (its stream, clock, errors and sources), checks the metric's
columns against the sources that declare theirs, infers the schema, builds the
aggregate (:class:`rtnb.Rolling`, :class:`rtnb.cluster.DaskRolling` on a cluster, or an
:class:`rtnb.Metric`'s own) and returns the :class:`rtnb.Pipeline` over them
(:mod:`rtnb.pipeline.graph`, which re-exports it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd  # noqa: F401  (the examples use it)
import streamz

from .._errors import ParameterError, UnknownNameError
from ..clock import Clock
from ..store import Store
from .schema import Schema

if TYPE_CHECKING:
    from .graph import Pipeline

__all__ = ["build_pipeline"]


_AUTO = "auto"
_AGGS = ("count", "sum", "mean")


def _check_columns(
    sources: Sequence[Any], from_source: str | None, measures: tuple[str, ...], keys: tuple[str, ...],
    *, time_col: str = "ts", id_col: str | None = None,
) -> None:
    """A misspelt ``metric``, ``by``, ``time_col`` or ``id_col`` fails here, naming the
    source's columns, rather than sending every row to the dead-letter as "missing
    column ..." (for sources that declare their ``columns``: simulate, replay; a plain
    stream's batches are data, and a batch without a column is rejected row by row)."""
    for src in sources:
        columns = getattr(src, "columns", None)
        if not isinstance(columns, (tuple, list)):
            continue
        if from_source is not None and getattr(src, "name", None) != from_source:
            continue
        where = f"not a column of source {getattr(src, 'name', '?')!r}"
        for m in measures:
            if m not in columns:
                raise UnknownNameError("metric", m, list(getattr(src, "measures", ())) or list(columns), where)
        for k in keys:
            if k not in columns:
                raise UnknownNameError("by", k, list(getattr(src, "keys", ())) or list(columns), where)
        for param, c in (("time_col", time_col), ("id_col", id_col)):
            if isinstance(c, str) and c != _AUTO and c not in columns:
                raise UnknownNameError(param, c, list(columns), where)


def build_pipeline(
    source: Any,
    *,
    metric: str | Sequence[str],
    by: str | Sequence[str] | None = None,
    window: Any = None,
    aggs: Sequence[str] = ("count", "sum", "mean"),
    lateness: Any = "2s",
    kind: str = "exact",
    resolution: Any = None,
    schema: Schema | None | str = _AUTO,
    store: Store | None = None,
    name: str | None = None,
    id_col: str | None = _AUTO,
    time_col: str = "ts",
    clock: Clock | None = None,
    dead_letter: int = 1000,
    from_source: str | None = None,
    cluster: Any = None,
    **options: Any,
) -> Pipeline:
    """Build source → validate → aggregate → store in one line.

    ``source`` is a :class:`rtnb.Runner` (its ``stream``, ``clock`` and ``errors`` are
    used) or a streamz ``Stream`` of DataFrames. ``metric`` is the measure column(s) to
    aggregate; ``by``, ``window``, ``aggs``, ``lateness``, ``kind`` and ``resolution``
    are passed to :class:`rtnb.Rolling` (``window`` defaults to five minutes, except for
    sessions). ``name`` is the metric's name in the store
    (default: ``metric``). ``schema`` defaults to :meth:`Schema.infer` from what the
    metric needs (time, ``by`` keys, ``metric`` measures, the id column); pass
    ``schema=None`` to skip validation (for a replay with ``rebase=False`` the inferred
    schema does not bound event times around the clock's now). ``id_col`` defaults to the runner's sources'
    id column (when they agree), used to drop duplicates. Other ``options`` (``every``,
    ``gap``, ``series``, ``keep_late``, ...) go to :class:`rtnb.Rolling` as they are.
    ``from_source`` takes only the batches of the runner's source of that name (the
    runner tags each batch with ``batch.attrs["source"]``), for runners of several sources.
    ``cluster`` (a ``distributed.Client`` or a scheduler address) computes the aggregate
    on a Dask cluster, partitioned by ``by`` (:class:`rtnb.cluster.DaskRolling`; the
    same answers as one process).

    >>> import rtnb
    >>> class Ticks:
    ...     name, keys, measures, id_col = "ticks", ("k",), ("value",), None
    ...     def read(self, start, end):
    ...         ts = pd.date_range(start.ceil("s"), end, freq="s", inclusive="left")
    ...         return pd.DataFrame({"ts": ts, "arrival": ts, "k": "a", "value": 2.0})
    >>> runner = rtnb.Runner(Ticks(), clock=rtnb.SimClock(start="2024-01-01"), tick="10s")
    >>> pipe = rtnb.build_pipeline(runner, metric="value", by="k", window="60s", lateness="0s")
    >>> runner.run("2min")
    >>> pipe.latest().table[["count", "sum"]]
       count    sum
    k
    a     60  120.0
    >>> pipe.counters.conserved, pipe.store.version("value")
    (True, 12)
    """
    from .metric import Metric as _Metric

    if not isinstance(metric, _Metric):  # one column, one role: say which argument clashes
        measures = [metric] if isinstance(metric, str) else list(metric) if isinstance(metric, (list, tuple)) else []
        keys = [by] if isinstance(by, str) else list(by) if isinstance(by, (list, tuple)) else []
        both = [c for c in keys if c in measures]
        if both:
            raise ParameterError("by", by, f"{both} is also the metric; a column is a key or a measure, not both")
        if time_col in measures or time_col in keys:
            which = "metric" if time_col in measures else "by"
            raise ParameterError(which, metric if which == "metric" else by,
                                 f"names the time column {time_col!r}; aggregate a measure, group by a key")
    if isinstance(source, streamz.Stream):
        batches, errors_to = source, None
    elif isinstance(getattr(source, "stream", None), streamz.Stream):
        batches, errors_to = source.stream, getattr(source, "errors", None)
        if clock is None:
            clock = getattr(source, "clock", None)
    else:
        raise ParameterError("source", source, "must be an rtnb.Runner or a streamz.Stream of DataFrames")
    if from_source is not None:
        names = [getattr(s, "name", None) for s in getattr(source, "sources", ())]
        if names and from_source not in names:
            raise UnknownNameError("from_source", from_source, names)
        batches = batches.filter(
            lambda b: getattr(b, "attrs", {}).get("source") == from_source
        )
        if id_col == _AUTO:
            ids = {getattr(s, "id_col", None) for s in getattr(source, "sources", ())
                   if getattr(s, "name", None) == from_source}
            id_col = ids.pop() if len(ids) == 1 else None
    from .metric import Metric

    if isinstance(metric, Metric):  # a definition: its own aggregate (derived columns, overall row)
        from .metric_live import metric_pipeline

        given = {k: v for k, v, default in (("by", by, None), ("window", window, None), ("aggs", aggs, _AGGS),
                                             ("lateness", lateness, "2s"), ("kind", kind, "exact"),
                                             ("resolution", resolution, None), ("id_col", id_col, _AUTO),
                                             ("time_col", time_col, "ts")) if v != default}
        return metric_pipeline(metric, batches, source, from_source=from_source, schema=schema, store=store,
                               name=name, clock=clock, dead_letter=dead_letter, errors_to=errors_to,
                               **given, **options)
    if isinstance(metric, (str, bytes)) or not isinstance(metric, Sequence):
        if not isinstance(metric, str):
            raise ParameterError("metric", metric, "must be a measure column name (or several) or an rtnb.Metric")
    measures = (metric,) if isinstance(metric, str) else tuple(metric)
    if not measures or not all(isinstance(m, str) and m for m in measures):
        raise ParameterError("metric", metric, "must be a measure column name (or several)")
    keys: tuple[str, ...] = () if by is None else ((by,) if isinstance(by, str) else tuple(by))
    _check_columns(getattr(source, "sources", ()), from_source, measures, keys, time_col=time_col, id_col=id_col)
    if id_col == _AUTO:
        ids = {getattr(s, "id_col", None) for s in getattr(source, "sources", ())}
        id_col = ids.pop() if len(ids) == 1 else None
    if name is None:
        name = measures[0] if len(measures) == 1 else "+".join(measures)
    if isinstance(schema, str) and schema == _AUTO:
        bounds: dict[str, Any] = {}
        feeding = [s for s in getattr(source, "sources", ())
                   if from_source is None or getattr(s, "name", None) == from_source]
        if any(getattr(s, "rebase", True) is False for s in feeding):
            # a replay that keeps the data's own times is not on the clock's timeline:
            # "too old" / "in the future" against the clock would reject every row
            bounds = {"max_age": None, "max_future": None}
        schema = Schema.infer(time=time_col, keys=keys, measures=measures, id_col=id_col, **bounds)

    from .rolling import Rolling  # built by its own module; imported here to keep layers light
    from .graph import Pipeline  # graph.py re-exports this builder: imported on use, no cycle

    if window is None and kind != "session":
        window = "5min"  # sessions have a gap instead of a window
    if cluster is not None:  # the same aggregate, partitioned by key over Dask workers
        from ..cluster import DaskRolling

        def make(w: Any, **kw: Any) -> Any:
            try:
                return DaskRolling(w, client=cluster, **kw)
            except ParameterError as exc:  # name the argument the user gave
                if exc.param != "client":
                    raise
                raise ParameterError("cluster", cluster, exc.reason) from None
    else:
        make = Rolling  # type: ignore[assignment]
    aggregate = make(
        window,
        by=by,
        value=metric,
        aggs=aggs,  # Rolling takes one name or several
        lateness=lateness,
        kind=kind,
        resolution=resolution,
        id_col=id_col,
        time_col=time_col,
        metric=name,
        clock=clock,
        **options,
    )
    return Pipeline(
        batches,
        aggregate=aggregate,
        schema=schema,
        store=store,
        clock=clock,
        metric=name,
        dead_letter=dead_letter,
        errors_to=errors_to,
    )
