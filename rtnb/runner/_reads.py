"""Reading one source for the runner: its cursor, its cap and reads off the loop.

A :class:`SourceReader` asks its source for the events that arrived since its cursor,
in one of two ways:

- ``read_inline(now)`` calls ``read`` on the caller's thread (simulated stepping);
- ``begin(now)`` / ``collect(now)`` run ``read`` on a worker thread (or the source's
  own ``async def aread(start, end)`` as a task), so a read that blocks never blocks
  the kernel's loop; ``collect`` takes the answer when it has come. A read still
  unanswered after ``read_timeout`` seconds is recorded as an outage
  (``SourceHealth.timed_out``). An async read is cancelled and its interval asked for
  again; a thread cannot be killed, so its answer — which covers exactly the interval
  a retry would ask for — is waited for off the loop and used when it comes (a
  failure asks for the same interval again). One read per source is in flight at a
  time.

Reads are capped at ``max_rows`` rows. A source whose ``read`` takes a ``max_rows``
keyword caps itself (and may say how many rows wait in ``pending``); for the others
the reader narrows the interval using the rows per second its recent reads answered,
and an answer still over the cap is handed on ``max_rows`` rows per step. Either way
a backlog after an outage is caught up over several frames, shown as ``catching up``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import inspect
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from .._errors import SourceError, SourceUnavailable
from ..health import SourceHealth

__all__ = ["SourceReader", "SourceTimeout"]

_MIN_SPAN = pd.Timedelta("1ms")  # a narrowed read still moves time on
_RATE_SPAN = 1.0  # seconds of reads before their rate narrows the next read


class SourceTimeout(SourceUnavailable):
    """A source's read did not answer within the runner's ``read_timeout`` (an outage)."""


def _takes_max_rows(source: Any) -> bool:
    try:
        params = inspect.signature(source.read).parameters
    except (TypeError, ValueError):  # builtins, C extensions
        return False
    return "max_rows" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _rows(batch: Any) -> int:
    try:
        return len(batch) if batch is not None else 0
    except TypeError:  # e.g. a generator: one item, which validation rejects
        return 1


class SourceReader:
    """The runner's reader of one source: cursor, cap, rate and the read in flight.

    >>> import rtnb
    >>> class Ticks:
    ...     name = "ticks"
    ...     def read(self, start, end):
    ...         ts = pd.date_range(start.ceil("s"), end, freq="s", inclusive="left")
    ...         return pd.DataFrame({"ts": ts, "arrival": ts, "value": 1.0})
    >>> t0 = pd.Timestamp("2024-01-01")
    >>> h = SourceHealth(name="ticks", cursor=t0)
    >>> reader = SourceReader(Ticks(), h, max_rows=5, stall_after=pd.Timedelta("10s"))
    >>> [len(b) for b in reader.read_inline(t0 + pd.Timedelta("2s"))]
    [2]
    >>> [len(b) for b in reader.read_inline(t0 + pd.Timedelta("60s"))]  # capped: 5 of 58
    [5]
    >>> h.status, h.cursor, h.backlog
    ('catching up', Timestamp('2024-01-01 00:00:07'), 53)
    """

    def __init__(
        self,
        source: Any,
        health: SourceHealth,
        *,
        max_rows: int | None,
        stall_after: pd.Timedelta,
        read_timeout: float | None = None,
    ) -> None:
        self.source = source
        self.health = health
        self.name = health.name
        self.max_rows = max_rows
        self.stall_after = stall_after
        self.read_timeout = read_timeout
        self._self_capping = max_rows is not None and _takes_max_rows(source)
        self._rate: float | None = None  # rows per second of arrival time, recent reads
        # (rows, seconds) of the recent reads, empty ones included: the rate is their sum
        # over their sum, trusted once they cover _RATE_SPAN of time (a first read of a
        # microsecond holding two rows is not a million rows per second)
        self._recent: collections.deque = collections.deque(maxlen=64)
        self._held: collections.deque = collections.deque()  # answered rows beyond the cap
        self._flight: concurrent.futures.Future | None = None
        self._flight_span: tuple[pd.Timestamp, pd.Timestamp, pd.Timedelta] | None = None
        self._flight_since: float = 0.0
        self._flight_timed_out = False

    # -- planning ------------------------------------------------------------------

    @property
    def behind(self) -> bool:
        """True when rows are held back or the last read was capped short of its time."""
        return bool(self._held) or (self.health.status == "catching up" and self.health.behind > pd.Timedelta(0))

    @property
    def busy(self) -> bool:
        """True while a read is in flight on a worker thread."""
        return self._flight is not None and not self._flight.done()

    def _span(self, now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timedelta] | None:
        """The interval to read up to ``now``, and how far short of ``now`` the cap stops it."""
        start = self.health.cursor if self.health.cursor is not None else now
        if now <= start:
            return None
        end = now
        if self.max_rows is not None and not self._self_capping and self._rate:
            cap = pd.Timedelta(seconds=self.max_rows / self._rate)
            end = min(now, start + max(cap, _MIN_SPAN))
        return start, end, now - end

    def _call(self, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        if self._self_capping:
            return self.source.read(start, end, max_rows=self.max_rows)
        return self.source.read(start, end)

    # -- answers -------------------------------------------------------------------

    def _backlog(self, behind: pd.Timedelta) -> int:
        """Rows known to wait: held back, plus the recent rate over the time not read yet,
        plus what a self-capping source says is pending."""
        held = sum(len(b) for b in self._held)
        unread = int(round(self._rate * behind.total_seconds())) if self._rate and behind > pd.Timedelta(0) else 0
        pending = getattr(self.source, "pending", 0) if self._self_capping else 0
        if not isinstance(pending, int) or isinstance(pending, bool):
            pending = 0
        return held + unread + pending

    def _answered(self, span: tuple[pd.Timestamp, pd.Timestamp, pd.Timedelta], batch: Any,
                  now: pd.Timestamp, report: Callable[[str, BaseException], None]) -> list[Any]:
        start, end, behind = span
        n = _rows(batch)
        seconds = (end - start).total_seconds()
        if seconds > 0 and not self._self_capping and (n == 0 or isinstance(batch, pd.DataFrame)):
            self._recent.append((n, seconds))
            rows, covered = sum(r for r, _ in self._recent), sum(t for _, t in self._recent)
            self._rate = rows / covered if covered >= _RATE_SPAN and rows else None
        if n and isinstance(batch, pd.DataFrame):
            batch.attrs["source"] = self.name  # lets a stage tell sources apart
            if self.max_rows is not None and n > self.max_rows:
                for i in range(0, n, self.max_rows):
                    chunk = batch.iloc[i : i + self.max_rows]
                    chunk.attrs["source"] = self.name
                    self._held.append(chunk)
                out = [self._held.popleft()]
            else:
                out = [batch]
        elif n:
            # Emitted for validation to reject with a reason, and recorded here too: a
            # stage that filters by source cannot tell whose it is.
            report("source", SourceError(f"read() answered with a {type(batch).__name__}, not a DataFrame"))
            out = [batch]
        else:
            out = []
        self.health.answered(start=start, end=end, rows=n, at=now, stall_after=self.stall_after,
                             behind=behind, backlog=self._backlog(behind))
        return out

    def _failed(self, exc: BaseException, now: pd.Timestamp, report: Callable[[str, BaseException], None]) -> None:
        self.health.failed(f"{type(exc).__name__}: {exc}", at=now)
        report("source", exc)  # the cursor stays: the same interval is asked for again

    def _take_held(self, now: pd.Timestamp) -> list[Any]:
        batch = self._held.popleft()
        self.health.backlog = self._backlog(self.health.behind)
        if not self.health.backlog and self.health.behind <= pd.Timedelta(0):
            self.health.status = "up"
        return [batch]

    # -- simulated stepping: on the caller's thread ----------------------------------

    def read_inline(self, now: pd.Timestamp, report: Callable[[str, BaseException], None] | None = None) -> list[Any]:
        """Read up to ``now`` on this thread; returns the batches to emit (maybe none)."""
        report = report or (lambda where, exc: None)
        if self._flight is not None:  # a read left in flight by a live run comes first
            return self.collect(now, report) if self._flight.done() else []
        if self._held:
            return self._take_held(now)
        span = self._span(now)
        if span is None:
            return []
        try:
            batch = self._call(span[0], span[1])
        except Exception as exc:  # a source failure must not stop the loop
            self._failed(exc, now, report)
            return []
        return self._answered(span, batch, now, report)

    # -- live: on a worker thread ----------------------------------------------------

    def begin(self, now: pd.Timestamp, monotonic: float, on_done: Callable[[], None]) -> bool:
        """Start a read up to ``now`` off the loop (unless one is in flight or rows are
        held back): the source's own ``async def aread(start, end)`` as a task on the
        running loop if it has one, else ``read`` on a worker thread. ``on_done`` is
        called (from that thread, or the loop) when it answers."""
        if self._flight is not None or self._held:
            return False
        span = self._span(now)
        if span is None:
            return False
        aread = getattr(self.source, "aread", None)
        if inspect.iscoroutinefunction(aread):
            kwargs = {"max_rows": self.max_rows} if self._self_capping else {}
            task = asyncio.ensure_future(aread(span[0], span[1], **kwargs))
            task.add_done_callback(lambda _: on_done())
            flight: Any = task
        else:
            future: concurrent.futures.Future = concurrent.futures.Future()

            def work() -> None:
                try:
                    future.set_result(self._call(span[0], span[1]))
                except BaseException as exc:  # handed to the loop's thread, never lost
                    future.set_exception(exc)
                on_done()

            threading.Thread(target=work, name=f"rtnb-read-{self.name}", daemon=True).start()
            flight = future
        self._flight, self._flight_span = flight, span
        self._flight_since, self._flight_timed_out = monotonic, False
        return True

    def check_timeout(self, monotonic: float, now: pd.Timestamp,
                      report: Callable[[str, BaseException], None]) -> None:
        """Record the read in flight as an outage once it is older than ``read_timeout``.

        An async read is cancelled and its interval asked for again on the next frame;
        a thread cannot be cancelled, so its answer is waited for (it covers the same
        interval) and no second read of the source starts beside it.
        """
        if (self.read_timeout is None or not self.busy or self._flight_timed_out
                or monotonic - self._flight_since < self.read_timeout):
            return
        cancellable = isinstance(self._flight, asyncio.Future)
        message = self.health.timed_out(self.read_timeout, at=now, retried=cancellable)
        report("source", SourceTimeout(message))
        if cancellable:
            self._flight.cancel()
            self._flight = self._flight_span = None  # the cursor stays: asked again
        else:
            self._flight_timed_out = True

    def collect(self, now: pd.Timestamp, report: Callable[[str, BaseException], None]) -> list[Any]:
        """The batches to emit now: an answer that has come, or rows held back."""
        if self._flight is not None and self._flight.done():
            future, span = self._flight, self._flight_span
            self._flight = self._flight_span = None
            exc = future.exception()
            if exc is not None:
                self._failed(exc, now, report)
                return []
            return self._answered(span, future.result(), now, report)
        if self._flight is None and self._held:
            return self._take_held(now)
        return []
