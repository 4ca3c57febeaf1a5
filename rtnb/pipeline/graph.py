"""The usual streamz graph: batches → validate → aggregate → snapshot → store.

:func:`pipeline` builds it in one line from a :class:`rtnb.Runner` (or any streamz
``Stream`` of DataFrames); :class:`Pipeline` is the graph itself. Every element is a
micro-batch, never a single event. The nodes are ordinary streamz streams, so a user can
attach their own ``map``/``sink``:

``batches``
    the input (the runner's ``stream``);
``validated``
    the accepted rows of every batch, converted to the schema's dtypes (empty when
    every row of a batch was rejected);
``rejected``
    the dead-letter stream: rejected rows as they came in, with ``reason`` and ``rule``;
``late``
    rows older than the watermark minus the allowed lateness (kept out of the
    aggregates, never silently dropped);
``snapshots``
    one :class:`rtnb.Snapshot` after every batch, also put into the ``store``;
``errors``
    a :class:`rtnb.health.ErrorLog` of :class:`rtnb.RunError`, one per exception a stage
    raised (forwarded to ``errors_to``, e.g. the runner's log).

Failures never escape into the runner and are never silent: a stage that raises is
reported on ``errors`` (and on the runner's ``errors`` stream), and the rows it was
handling are counted as rejected with the reason ``"<stage> failed: ..."``. The
pipeline's counters conserve rows after every batch:
``received = accepted + rejected + late + duplicates``.

>>> import pandas as pd, streamz, rtnb
>>> from rtnb.pipeline.graph import Pipeline
>>> class CountPerKey:
...     '''A tiny aggregate for the example: events per key, ever.'''
...     def __init__(self):
...         self.table, self.n = pd.DataFrame({"count": []}), 0
...     def update(self, batch):
...         self.n += len(batch)
...         add = batch.groupby("country").size().rename("count").to_frame()
...         self.table = self.table.add(add, fill_value=0)
...     def snapshot(self, processed_at=None):
...         return rtnb.Snapshot(metric="orders", table=self.table, window=None,
...             watermark=None, newest_event=None, processed_at=processed_at,
...             counters=rtnb.Counters(received=self.n, accepted=self.n))
>>> batches = streamz.Stream()
>>> pipe = Pipeline(batches, aggregate=CountPerKey(),
...                 schema=rtnb.Schema.infer(keys="country", measures="amount"),
...                 clock=rtnb.SimClock(start="2024-01-01 09:00"))
>>> batches.emit(pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 08:59"] * 3),
...                            "country": ["FR", "FR", None], "amount": [1.0, -2.0, 3.0]}))
>>> pipe.latest().table
         count
country
FR         2.0
>>> pipe.counters
Counters(received=3, accepted=2, rejected=1, late=0, duplicates=0)
>>> pipe.dead_letter.counts
rule
country is missing    1
Name: rows, dtype: int64

The dead-letter record is :class:`DeadLetter` (defined in :mod:`rtnb.pipeline._dead_letter`)
and the one-line builder :func:`build_pipeline` (in :mod:`rtnb.pipeline._build`); both
are importable from here as before.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamz

from .._checks import check_int
from .._errors import ParameterError
from ..clock import Clock
from ..health import Counters, ErrorLog, Snapshot
from ..store import MemoryStore, Store
from ._build import _check_columns, build_pipeline  # noqa: F401  (the old import path)
from ._dead_letter import DeadLetter
from ._rejections import Rejections, _empty_like, _fail_rows
from .schema import Schema

__all__ = ["Pipeline", "DeadLetter", "build_pipeline"]


class Pipeline(Rejections):
    """A streamz graph from batches to snapshots in a store (see the module docstring).

    Parameters
    ----------
    batches
        A streamz ``Stream`` of DataFrames (e.g. ``runner.stream``).
    aggregate
        What turns accepted rows into a snapshot: an object with ``update(batch)`` and
        ``snapshot(processed_at=None) -> Snapshot`` (usually :class:`rtnb.Rolling`).
        Its snapshots' counters give the accepted, late and duplicate rows.
    schema
        The :class:`Schema` each batch is validated against; ``None`` skips validation
        (every DataFrame row goes to the aggregate; non-DataFrames are still rejected).
    store
        Where snapshots are put (default: a new :class:`rtnb.MemoryStore`).
    clock
        Gives ``now`` for plausible event times and the snapshots' processing time.
    metric
        The metric name in the store (default: the aggregate's snapshot metric).
    dead_letter
        How many recent rejected rows the :class:`DeadLetter` keeps.
    errors_to
        Another stream that also receives the errors (``build_pipeline()`` passes the
        runner's ``errors``).

    A stage that raises does not stop the stream; its rows are counted as rejected:

    >>> import rtnb
    >>> class Broken:
    ...     def update(self, batch): raise RuntimeError("disk full")
    ...     def snapshot(self, processed_at=None):
    ...         return rtnb.Snapshot(metric="x", table=pd.DataFrame(), window=None, watermark=None,
    ...                              newest_event=None, processed_at=processed_at)
    >>> batches = streamz.Stream()
    >>> pipe = Pipeline(batches, aggregate=Broken(), clock=rtnb.SimClock(), metric="x")
    >>> errors = pipe.errors.sink_to_list()
    >>> batches.emit(pd.DataFrame({"v": [1.0, 2.0]}))
    >>> errors[0].describe()
    '2024-01-01 00:00:00 pipeline x: aggregate: RuntimeError: disk full'
    >>> pipe.counters, pipe.dead_letter.last_reasons(1)
    (Counters(received=2, accepted=0, rejected=2, late=0, duplicates=0), ['aggregate failed: RuntimeError: disk full'])
    """

    def __init__(
        self,
        batches: streamz.Stream,
        *,
        aggregate: Any,
        schema: Schema | None = None,
        store: Store | None = None,
        clock: Clock | None = None,
        metric: str | None = None,
        dead_letter: int = 1000,
        errors_to: streamz.Stream | None = None,
    ) -> None:
        if not isinstance(batches, streamz.Stream):
            raise ParameterError("batches", batches, "must be a streamz.Stream of DataFrames (e.g. runner.stream)")
        for method in ("update", "snapshot"):
            if not callable(getattr(aggregate, method, None)):
                raise ParameterError("aggregate", aggregate, f"has no {method}() method; use rtnb.Rolling")
        if schema is not None and not isinstance(schema, Schema):
            raise ParameterError("schema", schema, "must be an rtnb.Schema or None")
        if store is None:
            store = MemoryStore()
        elif not isinstance(store, Store):
            raise ParameterError("store", store, "must follow the rtnb.store.Store protocol (e.g. rtnb.MemoryStore())")
        if clock is not None and not callable(getattr(clock, "now", None)):
            raise ParameterError("clock", clock, "has no now() method; use rtnb.SimClock or rtnb.WallClock")
        if metric is not None and (not isinstance(metric, str) or not metric):
            raise ParameterError("metric", metric, "must be a non-empty name")
        self.aggregate = aggregate
        self.schema = schema
        self.store = store
        self.clock = clock
        self.metric = metric
        self.dead_letter = DeadLetter(keep=check_int("dead_letter", dead_letter, minimum=1))
        self._errors_to = errors_to

        self._received = 0
        self._rejected = 0  # by validation and by failed stages
        self._inner = Counters()  # the aggregate's counters at its last snapshot
        self._snapshot_metric: str | None = None
        self._zone: str | None | bool = False  # time zone of the batches so far (False: none yet)

        self.batches = batches
        self.rejected = streamz.Stream(stream_name="rejected")
        self.late = streamz.Stream(stream_name="late")
        self.errors = ErrorLog(forward_to=errors_to)
        self.validated = batches.map(self._validate_stage, stream_name="validate")
        self.snapshots = self.validated.map(self._aggregate_stage, stream_name="aggregate").filter(
            lambda s: s is not None
        )
        self._store_sink = self.snapshots.sink(self._store_stage)

    # ------------------------------------------------------------------ stages
    def _now(self) -> pd.Timestamp | None:
        return None if self.clock is None else self.clock.now()

    def _validate_stage(self, batch: Any) -> pd.DataFrame:
        if self.schema is not None:
            schema = self.schema
        else:
            schema = _PASS_THROUGH
        try:
            out = schema.validate(batch, now=self._now())
        except Exception as exc:  # a bug in a rule must not lose the batch
            self._report("validate", exc)
            rejected = _fail_rows(batch, f"validation failed: {type(exc).__name__}: {exc}", "validation failed")
            self._received += len(rejected)
            self._reject(rejected)
            return _empty_like(batch)
        out = self._check_zone(batch, out)
        self._received += out.received
        if len(out.rejected):
            self._rejected += len(out.rejected)
            self._emit_rejected(out.rejected)
        return out.accepted

    def _aggregate_stage(self, accepted: pd.DataFrame) -> Snapshot | None:
        if len(accepted):
            try:
                self.aggregate.update(accepted)
            except Exception as exc:
                self._aggregate_rows(accepted, exc)
            take = getattr(self.aggregate, "take_rejected", None)
            rows = take() if callable(take) else None
            if rows is not None and len(rows):  # rejected row by row by the aggregate (counted there)
                self._emit_rejected(rows)
        try:
            snap = self.aggregate.snapshot(processed_at=self._now())
        except Exception as exc:
            self._report_aggregate_errors()
            self._report("snapshot", exc)
            # the rows were counted by the aggregate even if no snapshot could be taken
            counters = getattr(self.aggregate, "counters", None)
            if isinstance(counters, Counters):
                self._inner = counters
            return None
        self._report_aggregate_errors()
        self._inner = snap.counters
        self._snapshot_metric = snap.metric
        self._emit_late()
        return snap._replace(counters=self.counters, metric=self.name)  # keeps an unbuilt table unbuilt

    def _store_stage(self, snap: Snapshot) -> None:
        try:
            self.store.put(snap)
        except Exception as exc:
            self._report("store", exc)

    # ------------------------------------------------------------------ reading
    @property
    def name(self) -> str:
        """The metric name the snapshots are stored under."""
        if self.metric is not None:
            return self.metric
        if self._snapshot_metric:
            return self._snapshot_metric
        return str(getattr(self.aggregate, "metric", None) or "metric")

    @property
    def counters(self) -> Counters:
        """Rows of the whole pipeline: received = accepted + rejected + late + duplicates."""
        c = self._inner
        return Counters(
            received=self._received,
            accepted=c.accepted,
            rejected=self._rejected + c.rejected,
            late=c.late,
            duplicates=c.duplicates,
        )

    def latest(self) -> Snapshot | None:
        """The newest snapshot in the store (``None`` before the first batch)."""
        return self.store.latest(self.name)

    def history(self, column: str) -> pd.DataFrame:
        """The store's history of one aggregate column (one column per key)."""
        return self.store.history(self.name, column)

    def checkpoint(self, path: Any, *, runner: Any = None) -> int:
        """Write a checkpoint of this pipeline (and ``runner``) now; returns its size.

        See :class:`rtnb.Checkpointer` for checkpoints on a schedule and the restore.
        """
        from ..checkpoint import Checkpointer  # above the pipeline in the layers

        ckpt = Checkpointer(self, path, runner=runner)
        try:
            return ckpt.save()
        finally:
            ckpt.close()

    def restore(self, path: Any, *, runner: Any = None) -> None:
        """Resume this fresh pipeline (and ``runner``) from the checkpoint at ``path``.

        Raises :class:`rtnb.CheckpointError` for a missing or damaged file, or one
        written by a pipeline of another configuration (naming what differs).
        """
        from ..checkpoint import Checkpointer

        ckpt = Checkpointer(self, path, runner=runner)
        try:
            ckpt.restore(missing_ok=False)
        finally:
            ckpt.close()

    def close(self) -> None:
        """Disconnect from the input stream (e.g. before building a new pipeline).

        Also takes the store sink out of streamz's module-level set of sinks, which
        would otherwise keep this pipeline (and its aggregate) alive for ever.
        """
        self.validated.destroy()
        self._store_sink.destroy()

    def __repr__(self) -> str:
        return f"Pipeline(metric={self.name!r}, counters={self.counters!r})"


_PASS_THROUGH = Schema(fields=())
