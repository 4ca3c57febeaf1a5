"""Checkpoints: save a pipeline's whole state, restart from it without loss.

A checkpoint holds everything a pipeline needs to go on as if it had never stopped:
the sources' offsets (the event log's stream id, a simulated source's or a replay's
position as the runner's cursor), the aggregate's exported state (window contents,
key labels, watermark, de-duplication ids), the counters and the dead-letter counts,
and the clock's time. The file is versioned and pickle-free, and written atomically
(:mod:`rtnb.checkpoint._format`).

:class:`Checkpointer` writes one every ``every`` of processing time (after the batch
that makes it due, once the store has it) or on demand (:meth:`Checkpointer.save`,
:meth:`rtnb.Pipeline.checkpoint`), then acknowledges the event log's entries the
checkpoint holds. :meth:`Checkpointer.restore` loads the file into a *fresh* pipeline
built with the same configuration — a different one is refused with a
:class:`rtnb.CheckpointError` naming what differs — and reports the restart on the
runner's errors (so the dashboard's error panel shows it). Entries of the event log
read after the checkpoint are read again; the store's history written after it is
rewound first (``store.rewind``), so the history is what an uninterrupted run writes.

>>> import rtnb, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "orders.ckpt"
>>> def build():
...     runner = rtnb.Runner(rtnb.simulate("ecommerce_orders", seed=1, rate=5),
...                          clock=rtnb.SimClock(start="2024-01-01"), tick="1s")
...     pipe = rtnb.build_pipeline(runner, metric="amount", by="country", window="1min")
...     return runner, pipe, Checkpointer(pipe, path, runner=runner, every="10s")
>>> runner, pipe, ckpt = build()
>>> runner.run("95s")                           # checkpoints at 10 s, 20 s, ... 90 s
>>> ckpt.saved, ckpt.last_saved_at
(9, Timestamp('2024-01-01 00:01:31'))
>>> runner, pipe2, ckpt = build()               # a new process: fresh objects
>>> ckpt.restore()
True
>>> runner.clock.now(), pipe2.counters == ckpt.restored_counters
(Timestamp('2024-01-01 00:01:31'), True)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import streamz

from .._errors import CheckpointError, ParameterError, RtnbError
from .._time import DurationLike, clock_time, to_duration
from ._format import FORMAT, read_checkpoint, write_checkpoint
from ._state import _latest as _latest_of
from ._state import _sources, capture, config_of, differences, restore, source_state

__all__ = ["Checkpointer", "read_checkpoint", "write_checkpoint", "FORMAT"]


class Restored(RtnbError):
    """Not a failure: how a restart from a checkpoint shows in the runner's errors."""


class Checkpointer:
    """Writes and restores checkpoints of one pipeline (and its runner and sources).

    Parameters
    ----------
    pipeline
        The :class:`rtnb.Pipeline` to save. Build the checkpointer after the pipeline:
        it watches the batches once the pipeline has taken them.
    path
        The checkpoint file (written atomically; its directory must exist).
    runner
        The :class:`rtnb.Runner` feeding the pipeline: its clock, its sources' cursors
        and the sources' offsets go in the checkpoint.
    every
        Write a checkpoint after a batch once this much processing time (the clock's)
        has passed since the last one; ``None``: only on demand.

    After each write, sources with ``acknowledge`` (the event log) are told the offset
    the checkpoint holds. ``saved``, ``bytes`` and ``last_saved_at`` say how it goes;
    ``last_error`` holds the last write that failed (the run goes on).

    >>> Checkpointer(object(), "x.ckpt")
    Traceback (most recent call last):
    ...
    rtnb._errors.ParameterError: pipeline=<object ...> is invalid: must be an rtnb.Pipeline
    """

    def __init__(self, pipeline: Any, path: str | os.PathLike, *, runner: Any | None = None,
                 every: DurationLike | None = None) -> None:
        if not all(hasattr(pipeline, a) for a in ("aggregate", "dead_letter", "batches", "store")):
            raise ParameterError("pipeline", pipeline, "must be an rtnb.Pipeline")
        if runner is not None and not isinstance(getattr(runner, "stream", None), streamz.Stream):
            raise ParameterError("runner", runner, "must be an rtnb.Runner")
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise ParameterError("path", path, "must be a file path")
        self.pipeline = pipeline
        self.runner = runner
        self.path = Path(path)
        self.every = None if every is None else to_duration(every, "every")
        self.saved = 0
        self.bytes = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_saved_at: pd.Timestamp | None = None
        self.restored_from: pd.Timestamp | None = None
        self.restored_counters = None
        self._offsets: dict[str, dict | None] = {n: source_state(s) for n, s in _sources(runner)}
        self._names = {id(s): n for n, s in _sources(runner)}
        self._started_at = self._now()  # the first checkpoint is due `every` after this
        watched = runner.stream if runner is not None else pipeline.batches
        self._sink = watched.sink(self._after_batch)

    # ------------------------------------------------------------------ writing

    def _now(self) -> pd.Timestamp | None:
        clock = self.runner.clock if self.runner is not None else self.pipeline.clock
        return None if clock is None else clock.now()

    def _after_batch(self, batch: Any) -> None:
        attrs = getattr(batch, "attrs", None) or {}
        name = attrs.get("source")
        if name in self._offsets:
            src = dict(self._sources_by_name())[name]
            state = source_state(src)
            if state is not None and "own" in state and isinstance(attrs.get("offset"), dict):
                state["own"] = dict(attrs["offset"])  # this batch's, not a read ahead's
            self._offsets[name] = state
        if self.every is None:
            return
        now = self._now()
        if now is None:
            return
        since = self.last_saved_at if self.last_saved_at is not None else self._started_at
        if since is None:
            self._started_at = since = now
        if now - since >= self.every:
            self.save(quiet=True)

    def _sources_by_name(self) -> list[tuple[str, Any]]:
        return _sources(self.runner)

    def save(self, *, quiet: bool = False) -> int:
        """Write a checkpoint now; returns its size in bytes.

        Raises :class:`rtnb.CheckpointError` if it cannot be written (with
        ``quiet=True``, as on the automatic schedule, the failure is recorded in
        ``last_error`` and on the runner's errors instead).
        """
        try:
            config = config_of(self.pipeline, self.runner)
            state = capture(self.pipeline, self.runner, dict(self._offsets))
            state["saved_at"] = self._now()
            size = write_checkpoint(self.path, config=config, state=state)
        except RtnbError as exc:
            self.failures += 1
            self.last_error = str(exc)
            if not quiet:
                raise
            self._report(exc)
            return 0
        self.saved += 1
        self.bytes = size
        self.last_saved_at = self._now()
        self._acknowledge()
        return size

    def _acknowledge(self) -> None:
        for name, src in self._sources_by_name():
            ack = getattr(src, "acknowledge", None)
            state = self._offsets.get(name)
            if not callable(ack) or not state or "own" not in state:
                continue
            position = state["own"].get("position")
            if position is None:
                continue
            try:
                ack(position)
            except RtnbError:  # still pending in the log: the next checkpoint acknowledges
                pass

    def _report(self, exc: BaseException) -> None:
        if self.runner is not None and callable(getattr(self.runner, "report_error", None)):
            self.runner.report_error("pipeline", f"{self.pipeline.name}: checkpoint", exc)

    # ------------------------------------------------------------------ restoring

    def restore(self, *, missing_ok: bool = True) -> bool:
        """Load the checkpoint into the (fresh) pipeline, runner and sources.

        Returns ``True`` once restored. When there is no checkpoint file yet
        (``missing_ok``) it writes the first one, of the state as it is, and returns
        ``False``: a crash before the next one then resumes from the start. A damaged file or one written by another configuration raises
        :class:`rtnb.CheckpointError` naming it and what is wrong, before anything
        is changed.
        """
        if not self.path.exists():
            if not missing_ok:
                raise CheckpointError(f"checkpoint {str(self.path)!r} does not exist")
            if _latest_of(self.pipeline) is not None:
                self._report(Restored(
                    "started without a checkpoint over earlier data of this metric in the "
                    "store: the window holds only the events read from now on"))
            self.save()  # a crash before the first scheduled one resumes from here
            return False
        doc = read_checkpoint(self.path)
        diff = differences(doc["config"], config_of(self.pipeline, self.runner))
        if diff:
            raise CheckpointError(f"checkpoint {str(self.path)!r} was written by a pipeline "
                                  "of another configuration: " + "; ".join(diff))
        state = doc["state"]
        try:
            restore(self.pipeline, self.runner, state)
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise CheckpointError(f"checkpoint {str(self.path)!r} does not hold a usable "
                                  f"state ({type(exc).__name__}: {exc})") from None
        self._offsets = {n: state["sources"].get(n) for n, _ in _sources(self.runner)}
        self.restored_from = state.get("saved_at")
        self.last_saved_at = self.restored_from
        self.restored_counters = self.pipeline.counters
        rewind = getattr(self.pipeline.store, "rewind", None)
        if callable(rewind):
            try:
                rewind(self.pipeline.name, state["store"]["newest_event"])
            except RtnbError as exc:
                self._report(exc)
        # In words, as the dashboards' clock says it ("12:00:25, Mon 01 Jan", "1,643 rows");
        # the full time stays in restored_from and the repr.
        self._report(Restored(
            f"restarted from the checkpoint of {clock_time(self.restored_from)} "
            f"({self.restored_counters.received:,} rows); events after it are read again"))
        return True

    def close(self) -> None:
        """Stop watching the batches (no more automatic checkpoints)."""
        self._sink.destroy()

    def __repr__(self) -> str:
        return (f"Checkpointer({str(self.path)!r}, every={self.every}, saved={self.saved}, "
                f"last_saved_at={self.last_saved_at})")
