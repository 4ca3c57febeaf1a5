"""A source fed from any thread: other threads ``push`` batches, the runner reads them."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

import pandas as pd

from .._checks import check_optional, check_int
from .._errors import ParameterError
from ..clock import Clock

__all__ = ["QueueSource"]


class QueueSource:
    """A source fed from any thread: ``push(df)`` hands batches over to the runner.

    Threads never touch the pipeline or widgets; the runner drains the queue on its own
    loop. Rows without an ``arrival`` column get the ``clock``'s time at push. A read
    hands on at most ``max_rows`` rows (the runner's cap) in push order and keeps the
    rest queued; ``pending`` is how many wait, which the runner shows as a backlog.

    >>> import rtnb
    >>> clock = rtnb.SimClock(start="2024-01-01")
    >>> q = QueueSource(clock=clock, measures=("value",))
    >>> q.push(pd.DataFrame({"ts": [clock.now()] * 3, "value": [1.0, 2.0, 3.0]}))
    >>> q.pending
    3
    >>> len(q.read(clock.now(), clock.now() + pd.Timedelta("1s"), max_rows=2)), q.pending
    (2, 1)
    >>> q.read(clock.now(), clock.now() + pd.Timedelta("1s"))["value"].tolist()
    [3.0]
    """

    def __init__(
        self,
        *,
        clock: Clock,
        name: str = "queue",
        keys: Sequence[str] = (),
        measures: Sequence[str] = (),
        id_col: str | None = None,
    ) -> None:
        self.clock = clock
        self.name = name
        self.keys = tuple(keys)
        self.measures = tuple(measures)
        self.id_col = id_col
        self._lock = threading.Lock()
        self._batches: deque[pd.DataFrame] = deque()
        self._pending = 0

    @property
    def pending(self) -> int:
        """Rows pushed and not yet read."""
        with self._lock:
            return self._pending

    def push(self, batch: pd.DataFrame) -> None:
        """Queue a batch (thread-safe); anything but a DataFrame raises ParameterError."""
        if not isinstance(batch, pd.DataFrame):
            raise ParameterError("batch", type(batch).__name__, "QueueSource.push takes a pandas DataFrame")
        if "arrival" not in batch.columns:
            batch = batch.assign(arrival=self.clock.now())
        if not len(batch):
            return
        with self._lock:
            self._batches.append(batch)
            self._pending += len(batch)

    def read(self, start: pd.Timestamp, end: pd.Timestamp, max_rows: int | None = None) -> pd.DataFrame:
        """Up to ``max_rows`` queued rows (all by default), in push order.

        The interval is the runner's step; rows are handed on in the order pushed.
        """
        limit = check_optional(check_int, "max_rows", max_rows, minimum=1)
        taken: list[pd.DataFrame] = []
        with self._lock:
            room = self._pending if limit is None else min(limit, self._pending)
            while room > 0:
                head = self._batches[0]
                if len(head) <= room:
                    taken.append(self._batches.popleft())
                else:
                    taken.append(head.iloc[:room])
                    self._batches[0] = head.iloc[room:]
                room -= len(taken[-1])
                self._pending -= len(taken[-1])
        if not taken:
            return pd.DataFrame()
        return pd.concat(taken, ignore_index=True) if len(taken) > 1 else taken[0]
