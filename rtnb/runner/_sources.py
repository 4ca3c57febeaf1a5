"""The runner's sources as one schedule: every source's reader, and its batches into the stream.

:class:`Sources` checks the sources a :class:`rtnb.Runner` is given (each has
``read(start, end)``, no two share a name), keeps one
:class:`~rtnb.runner._reads.SourceReader` per source, and hands every batch a read
answered to the stream. A stage that raises on a batch is reported (``"pipeline"``)
and the next batch goes on; a source's failures are reported by its reader. Simulated
stepping reads inline (:meth:`Sources.pull`); a live run starts reads off the loop
(:meth:`Sources.begin`) and hands on what has come (:meth:`Sources.collect`).

>>> import pandas as pd, streamz
>>> from rtnb.health import SourceHealth
>>> class Two:
...     name = "two"
...     def read(self, start, end):
...         return pd.DataFrame({"ts": [start, end]})
>>> stream = streamz.Stream()
>>> got = stream.sink_to_list()
>>> t0 = pd.Timestamp("2024-01-01")
>>> src = Sources([Two()], {"two": SourceHealth(name="two", cursor=t0)}, stream, report=print,
...               max_rows=None, stall_after=pd.Timedelta("10s"), read_timeout=None)
>>> src.pull(t0 + pd.Timedelta("1s")), len(got)
(2, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamz

from .._errors import ParameterError
from ..health import SourceHealth
from ._reads import SourceReader

__all__ = ["Sources", "source_names"]

Report = Callable[[str, str, BaseException], None]


def source_names(source: Any) -> tuple[list[Any], list[str]]:
    """The sources given (one or a list) and their names (``source<i>`` when unnamed);
    :class:`rtnb.ParameterError` for an item without ``read`` or two with one name."""
    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    for i, s in enumerate(sources):
        if not callable(getattr(s, "read", None)):
            raise ParameterError("source", s, f"item {i} has no read(start, end) method; see rtnb.Source")
    names = [str(getattr(s, "name", None) or f"source{i}") for i, s in enumerate(sources)]
    if len(set(names)) != len(names):
        raise ParameterError("source", names, "two sources have the same name")
    return sources, names


class Sources:
    """One reader per source (named as in ``health``) and the stream their batches go to.

    ``report(where, name, exc)`` records a failure (the runner's ``report_error``).
    """

    def __init__(self, sources: Sequence[Any], health: dict[str, SourceHealth], stream: streamz.Stream, *,
                 report: Report, max_rows: int | None, stall_after: pd.Timedelta,
                 read_timeout: float | None) -> None:
        self.stream = stream
        self.report = report
        self.readers = [SourceReader(s, h, max_rows=max_rows, stall_after=stall_after, read_timeout=read_timeout)
                        for s, h in zip(sources, health.values())]

    @property
    def behind(self) -> bool:
        """Some source has more rows waiting than its last read handed on (``max_rows``)."""
        return any(r.behind for r in self.readers)

    @property
    def busy(self) -> bool:
        """Some live read has not answered yet."""
        return any(r.busy for r in self.readers)

    def _reporter(self, name: str) -> Callable[[str, BaseException], None]:
        return lambda where, exc: self.report(where, name, exc)

    def pull(self, now: pd.Timestamp) -> int:
        """Read every source up to ``now`` on this thread and emit; the rows emitted."""
        return sum(self.emit(r.name, r.read_inline(now, self._reporter(r.name))) for r in self.readers)

    def begin(self, now: pd.Timestamp, monotonic: float, on_done: Callable[[], None]) -> None:
        """Start a read of every idle source off the loop (live)."""
        for reader in self.readers:
            reader.begin(now, monotonic, on_done)

    def collect(self, monotonic: float, now: pd.Timestamp) -> None:
        """Hand on every answer that has come; record reads that are over their time."""
        for reader in self.readers:
            report = self._reporter(reader.name)
            reader.check_timeout(monotonic, now, report)
            self.emit(reader.name, reader.collect(now, report))

    def emit(self, name: str, batches: list[Any]) -> int:
        """Each batch into the stream (a stage that raises is reported, the next goes on)."""
        rows = 0
        for batch in batches:
            rows += len(batch) if hasattr(batch, "__len__") else 1
            try:
                self.stream.emit(batch)
            except Exception as exc:  # a broken stage is reported, the loop goes on
                self.report("pipeline", name, exc)
        return rows
