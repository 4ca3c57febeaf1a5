"""The one-liner: source → pipeline → store → views → dashboard, with its runner."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._errors import ParameterError
from .._time import DurationLike, to_duration
from ._bars import LiveBars
from ._dashboard import Dashboard
from ._error_panel import ErrorPanel
from ._freshness import FreshnessBadge
from ._kpi import KpiTile, describe_span
from ._line import LiveLine
from ._style import KeyColours, axis_label
from ._table import LiveTable
from .._checks import check_bool, check_int, check_number

__all__ = ["dashboard"]


def dashboard(
    source: Any,
    metric: str = "amount",
    by: str | None = "country",
    window: DurationLike = "5min",
    *,
    limit: DurationLike = "10s",
    stale_after: DurationLike | None = None,
    clock: Any = None,
    tick: DurationLike = "1s",
    fps: float = 10,
    top_k: int = 5,
    points: int = 300,
    history: int = 600,
    unit: str = "",
    lateness: DurationLike = "2s",
    store: Any = None,
    title: str | None = None,
    columns: int = 2,
    cluster: Any = None,
    kind: str | None = None,
    resolution: DurationLike | None = None,
    table: bool = False,
) -> Dashboard:
    """A live dashboard of one measure in one line; ``dash.start(duration)`` runs it.

    Builds the runner (on ``clock``, default a ``SimClock``), the pipeline (rolling
    ``count``/``sum``/``mean`` of ``metric`` by ``by`` over ``window``), a store keeping
    ``history`` snapshots, and the views: a freshness badge against ``limit``, the sum
    over time per key (top ``top_k``), the sum per key now, KPI tiles of the sum and
    the count, the error panel, and with ``table=True`` a live table of the current
    values per key (sortable). The dashboard keeps them as ``dash.runner``,
    ``dash.pipeline`` and ``dash.store``. A ``metric`` or ``by`` that is not a column of
    a simulated or replayed source raises :class:`rtnb.UnknownNameError` at once.
    ``metric`` may also be an :class:`rtnb.Metric` (``by`` and ``window`` are then its
    own): the charts show its first derived column per key and the KPI tiles the
    derived columns' overall values (a ratio of the overall sums).
    ``cluster`` (a ``distributed.Client``) computes the aggregates on a Dask cluster
    (:mod:`rtnb.cluster`), partitioned by ``by``.
    ``kind``/``resolution`` pick the window engine (:class:`rtnb.Rolling`); by default
    it is ``"exact"`` for windows under 10 minutes holding at most a million events at
    the source's ``rate``, else ``"bucketed"`` at the finest of 1 s, 5 s, 10 s, 1 min, ...
    giving at most 3,600 buckets, so memory follows the window, not the event rate.

    >>> import pandas as pd, rtnb
    >>> orders = pd.DataFrame({"time": pd.date_range("2024-01-01", periods=600, freq="s"),
    ...                        "country": ["IT", "DE", "FR"] * 200, "amount": [1.0, 2.0, 3.0] * 200})
    >>> src = rtnb.replay(orders, time_col="time", start="2024-01-01")
    >>> dash = rtnb.dashboard(src, metric="amount", by="country", window="1min",
    ...                       clock=rtnb.SimClock(start="2024-01-01"))
    >>> dash.runner.run("2min")        # simulated time; dash.start(30) runs live
    >>> dash.views[1].lines.labels     # the line chart shows the top keys
    ['FR', 'DE', 'IT']
    >>> dash.views[0].state, dash.pipeline.counters.conserved
    ('fresh', True)
    """
    from ..pipeline.graph import build_pipeline
    from ..clock import SimClock
    from ._dashboard import MAX_COLUMNS, MAX_FPS
    from ..runner import Runner
    from ..store import MemoryStore

    import pandas as pd

    from ..pipeline.metric import Metric

    if isinstance(source, pd.DataFrame):
        raise ParameterError("source", f"DataFrame of {len(source)} rows", "is data, not a source: replay it "
                             "with rtnb.replay(df, time_col=..., speed=...) and pass that")
    if not isinstance(metric, (str, Metric)) or (isinstance(metric, str) and not metric):
        raise ParameterError("metric", metric, "must be a measure column name or an rtnb.Metric")
    if by is not None and (not isinstance(by, str) or not by):
        raise ParameterError("by", by, "must be a key column name or None")
    check_number("fps", fps, minimum=0, maximum=MAX_FPS, strict=True)
    check_int("columns", columns, minimum=1, maximum=MAX_COLUMNS)
    limit_td = to_duration(limit, "limit")
    runner = Runner(source, clock=clock if clock is not None else SimClock(), tick=tick, fps=fps)
    if store is None:
        store = MemoryStore(history=history)
    if isinstance(metric, Metric):
        return _metric_dashboard(metric, runner, store, limit_td, stale_after, top_k, points, unit, title, columns)
    kind, resolution = _window_kind(kind, resolution, window, getattr(source, "rate", None))
    pipe = build_pipeline(
        runner, metric=metric, by=by, window=window, aggs=("count", "sum", "mean"),
        lateness=lateness, store=store, cluster=cluster, kind=kind, resolution=resolution,
    )
    name = pipe.name
    colours = KeyColours()
    views = [
        FreshnessBadge(store, name, limit=limit_td, stale_after=stale_after),
        LiveLine(store, name, column="sum", top_k=top_k, points=points, unit=unit, colours=colours,
                 title=f"{metric} per {by or 'total'} · rolling {describe_span(to_duration(window, 'window'))} sum"),
        LiveBars(store, name, column="sum", top_k=max(top_k, 10), unit=unit, colours=colours,
                 title=f"{metric} by {by or 'total'} now"),
        KpiTile(store, name, column="sum", unit=unit, reference=window, title=f"{metric} · last {describe_span(to_duration(window, 'window'))}"),
        KpiTile(store, name, column="count", unit="events", reference=window, title=f"events · last {describe_span(to_duration(window, 'window'))}"),
        ErrorPanel(store, name, dead_letter=pipe.rejected, errors=runner.errors),
    ]
    if check_bool("table", table):
        views.append(LiveTable(store, name, sort_by="sum", rows=10, title=f"{metric} per {by or 'total'} now"))
    first = runner.sources[0] if runner.sources else None
    dash = Dashboard(
        views, runner=runner, source=first, columns=columns, colours=colours,
        title=title if title is not None else f"{getattr(first, 'name', 'source')} · {metric}",
    )
    dash.pipeline = pipe
    dash.store = store
    dash.owns_runner = True  # close() closes the runner and the pipeline it built
    return dash


def _metric_dashboard(m: Any, runner: Any, store: Any, limit: Any, stale_after: Any, top_k: int, points: int,
                      unit: str, title: str | None, columns: int) -> Dashboard:
    """The dashboard of an :class:`rtnb.Metric`: its first derived column (else its
    first aggregate) per key over time and now, KPI tiles of the derived columns'
    overall values (the ratio of the overall sums) and of the count."""
    from ..pipeline.graph import build_pipeline

    pipe = build_pipeline(runner, metric=m, store=store)
    name = pipe.name
    derived = [k for k, _ in m.derived]
    main = derived[0] if derived else m.aggregate_columns[1 if len(m.aggregate_columns) > 1 else 0]
    span = describe_span(m.window) if m.window is not None else "session"
    per = " · ".join(m.by) or "total"
    views = [FreshnessBadge(store, name, limit=limit, stale_after=stale_after)]
    colours = KeyColours()
    if m.by:
        line = LiveLine(store, name, column=main, top_k=top_k, points=points, unit=unit, colours=colours,
                        title=f"{_words(main)} per {per} · {span}")
        bars = LiveBars(store, name, column=main, top_k=max(top_k, 10), unit=unit, colours=colours,
                        title=f"{_words(main)} by {per} now")
        for chart in (line, bars):  # the axis in words, with the unit: "delay per flight (min)"
            chart.axes[1].label = axis_label(_words(main), unit)
        views += [line, bars]
    for col in (derived[:2] or [main]):
        views.append(KpiTile(store, name, column=col, combine="overall", unit=unit, decimals=3 if derived else 0,
                             reference=m.window if m.window is not None else "5min", title=f"{_words(col)} · overall"))
    views += [KpiTile(store, name, column="count", unit="events", reference=m.window or "5min",
                      title=f"events · {span}"),
              ErrorPanel(store, name, dead_letter=pipe.rejected, errors=runner.errors)]
    first = runner.sources[0] if runner.sources else None
    dash = Dashboard(views, runner=runner, source=first, columns=columns, colours=colours,
                     title=title if title is not None else f"{getattr(first, 'name', 'source')} · {m.name}")
    dash.pipeline = pipe
    dash.store = store
    dash.owns_runner = True  # as for a measure: close() closes the runner and pipeline it built
    return dash


def _words(column: str) -> str:
    """A column's name as a reader reads it: ``delay_per_flight`` → ``delay per flight``.

    >>> _words("delay_per_1000_miles")
    'delay per 1000 miles'
    """
    return column.replace("_", " ")


def _window_kind(kind, resolution, window, rate) -> tuple[str, Any]:
    """``kind=None``: exact for short windows at low rates, else bucketed (memory follows
    the window's buckets, not the event rate): windows of 10 min or more, or more than
    a million events in the window at the source's ``rate``."""
    from .._time import to_duration

    if kind is not None:
        return kind, resolution
    size = to_duration(window, "window")
    rate = rate if isinstance(rate, (int, float)) and not isinstance(rate, bool) else 0
    if size < pd.Timedelta("10min") and rate * size.total_seconds() <= 1_000_000:
        return "exact", None
    if resolution is None:
        resolution = next((r for r in ("1s", "5s", "10s", "1min", "5min", "1h")
                           if size.value % pd.Timedelta(r).value == 0
                           and size // pd.Timedelta(r) <= 3600), None)
        if resolution is None:
            return "exact", None
    return "bucketed", resolution
