"""What the runner knows about a run: its sources, its state and the errors it caught.

It lives below the runner and the pipeline (re-exported by :mod:`rtnb.health`), so
neither imports the other for it: :class:`SourceHealth` (one source; its state changes
are its methods), :class:`RunnerHealth` (the run), :class:`RunError` (one failure
caught) and :class:`ErrorLog` (the one error log the runner and the pipeline both
write to).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import streamz

from ._checks import check_int
from ._errors import ParameterError

__all__ = ["RunError", "ErrorLog", "SourceHealth", "RunnerHealth", "SourceStatus", "RunnerState", "Where"]

SourceStatus = Literal["idle", "up", "catching up", "stalled", "down"]
RunnerState = Literal["idle", "running", "paused", "stopped"]
Where = Literal["source", "pipeline", "frame"]


@dataclass(frozen=True, kw_only=True)
class RunError:
    """One failure caught while running: where it happened and what it was.

    ``where`` is ``"source"`` (a source's ``read`` raised or timed out), ``"pipeline"``
    (a stage or a user's sink downstream of the runner raised) or ``"frame"`` (a frame
    callback, i.e. a view, raised).

    >>> e = RunError(at=pd.Timestamp("2024-01-01"), where="source", name="orders",
    ...              kind="SourceUnavailable", message="outage")
    >>> e.describe()
    '2024-01-01 00:00:00 source orders: SourceUnavailable: outage'
    """

    at: pd.Timestamp
    where: Where
    name: str
    kind: str
    message: str

    def describe(self) -> str:
        """One line for logs and error panels."""
        return f"{self.at} {self.where} {self.name}: {self.kind}: {self.message}"


class ErrorLog(streamz.Stream):
    """The one error log: a stream of :class:`RunError` that also keeps count.

    Everything emitted on it is recorded (the newest ``keep`` in ``recent``, all of them
    in ``count``) and passed downstream, so ``log.sink(...)`` or an error panel sees
    each error once. A failing downstream sink never hides the error it was handed.
    ``forward_to`` (another stream, e.g. the runner's log) receives every error too:
    that is how a pipeline's errors reach the runner's health. It holds no reference to
    whoever reports into it, so it keeps nothing alive.

    >>> log = ErrorLog(keep=2)
    >>> seen = log.sink_to_list()
    >>> err = log.report("pipeline", "orders: aggregate", ValueError("boom"),
    ...                  at=pd.Timestamp("2024-01-01"))
    >>> log.count, list(log.recent) == [err], seen == [err]
    (1, True, True)
    >>> err.describe()
    '2024-01-01 00:00:00 pipeline orders: aggregate: ValueError: boom'
    """

    def __init__(self, keep: int = 100, *, forward_to: streamz.Stream | None = None,
                 stream_name: str = "errors") -> None:
        super().__init__(stream_name=stream_name)
        self.keep = check_int("keep", keep, minimum=1)
        if forward_to is not None and not isinstance(forward_to, streamz.Stream):
            raise ParameterError("forward_to", forward_to, "must be a streamz.Stream (e.g. runner.errors) or None")
        self.forward_to = forward_to
        self.recent: collections.deque = collections.deque(maxlen=self.keep)
        self.count = 0

    def report(self, where: Where, name: str, exc: BaseException, *, at: pd.Timestamp | None) -> RunError:
        """Record an exception caught at ``where``/``name`` (clock time ``at``); returns it."""
        err = RunError(at=at if at is not None else pd.Timestamp(0), where=where, name=name,
                       kind=type(exc).__name__, message=str(exc))
        self.emit(err)
        return err

    def _emit(self, x: Any, metadata: Any = None) -> list:
        self.recent.append(x)
        self.count += 1
        out: list = []
        try:
            out = super()._emit(x, metadata=metadata)
        except Exception:  # a user's error sink that fails must not hide the first error
            pass
        if self.forward_to is not None:
            try:
                self.forward_to.emit(x)
            except Exception:
                pass
        return out


@dataclass(kw_only=True)
class SourceHealth:
    """What the runner knows about one source; its methods are the state changes.

    ``status`` is ``idle`` before the first read, ``up`` when the last read answered
    and rows came within ``stall_after``, ``catching up`` when the last read answered
    but was capped (``max_rows``) and ``backlog`` rows (an estimate from the source's
    recent rate) over ``behind`` of clock time are still to be read, ``stalled`` when
    reads answer but no rows came for longer than ``stall_after``, and ``down`` when
    the last read raised or did not answer within the runner's ``read_timeout``.

    >>> h = SourceHealth(name="orders", cursor=pd.Timestamp("2024-01-01"))
    >>> h.status
    'idle'
    >>> h.failed("SourceUnavailable: outage", at=pd.Timestamp("2024-01-01 00:00:05"))
    >>> h.status, h.failures, h.cursor   # the cursor stays: the interval is asked again
    ('down', 1, Timestamp('2024-01-01 00:00:00'))
    >>> h.answered(start=h.cursor, end=pd.Timestamp("2024-01-01 00:00:02"), rows=200,
    ...            at=pd.Timestamp("2024-01-01 00:00:06"), stall_after=pd.Timedelta("10s"),
    ...            behind=pd.Timedelta("4s"), backlog=400)
    >>> h.status, h.behind, h.backlog
    ('catching up', Timedelta('0 days 00:00:04'), 400)
    """

    name: str
    status: SourceStatus = "idle"
    batches: int = 0
    rows: int = 0
    failures: int = 0
    timeouts: int = 0
    last_read_at: pd.Timestamp | None = None
    last_rows_at: pd.Timestamp | None = None
    last_error: str | None = None
    cursor: pd.Timestamp | None = None
    first_read_at: pd.Timestamp | None = None
    behind: pd.Timedelta = pd.Timedelta(0)
    backlog: int = 0

    @property
    def catching_up(self) -> bool:
        """True while a capped read left a backlog to read."""
        return self.status == "catching up"

    def answered(self, *, start: pd.Timestamp, end: pd.Timestamp, rows: int, at: pd.Timestamp,
                 stall_after: pd.Timedelta, behind: pd.Timedelta = pd.Timedelta(0), backlog: int = 0) -> None:
        """A read of ``[start, end)`` answered ``rows`` rows at clock time ``at``.

        A capped read stopped ``behind`` (clock time) short of the time it was asked at;
        ``backlog`` is the number of rows known (or estimated) to be waiting.
        """
        self.cursor = end
        self.last_read_at = at
        self.batches += 1
        self.behind = max(behind, pd.Timedelta(0))
        self.backlog = int(backlog)
        if rows:
            self.rows += int(rows)
            self.last_rows_at = at
        if self.behind > pd.Timedelta(0) or self.backlog:
            self.status = "catching up"
        elif rows:
            self.status = "up"
        else:
            ref = self.last_rows_at if self.last_rows_at is not None else self.first_read_at
            self.status = "stalled" if ref is not None and at - ref > stall_after else "up"
        if self.first_read_at is None:
            self.first_read_at = start

    def failed(self, error: str, *, at: pd.Timestamp) -> None:
        """A read raised (``error`` is ``"Kind: message"``); the cursor stays."""
        self.status = "down"
        self.failures += 1
        self.last_error = error
        self.last_read_at = at

    def timed_out(self, seconds: float, *, at: pd.Timestamp, retried: bool = False) -> str:
        """A read did not answer within ``seconds``; returns the message recorded.

        ``retried``: it was cancelled and its interval will be asked for again (else it
        is still waited for, off the loop).
        """
        self.timeouts += 1
        then = "cancelled, asked again" if retried else "waiting for it off the loop"
        message = f"read() did not answer within {seconds:g} s; {then}"
        self.failed(f"SourceTimeout: {message}", at=at)
        return message


@dataclass(kw_only=True)
class RunnerHealth:
    """The runner's state, per-source health and the errors it caught (an :class:`ErrorLog`).

    >>> h = RunnerHealth()
    >>> h.state, h.ok, h.catching_up
    ('idle', True, False)
    """

    state: RunnerState = "idle"
    sources: dict[str, SourceHealth] = field(default_factory=dict)
    log: ErrorLog = field(default_factory=ErrorLog)
    frames: int = 0

    @property
    def errors(self) -> collections.deque:
        """The newest errors caught (bounded)."""
        return self.log.recent

    @property
    def error_count(self) -> int:
        """Every error caught since the start."""
        return self.log.count

    @property
    def catching_up(self) -> bool:
        """True while any source is catching up on a backlog."""
        return any(s.catching_up for s in self.sources.values())

    @property
    def backlog(self) -> int:
        """Rows known to be waiting, over every source."""
        return sum(s.backlog for s in self.sources.values())

    @property
    def ok(self) -> bool:
        """True when no source is down and no error was caught since the start."""
        return self.error_count == 0 and all(s.status != "down" for s in self.sources.values())
