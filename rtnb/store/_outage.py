"""What a store keeps while its server is away, and the notes of what was lost.

:class:`OutageBuffer` holds, per metric, the latest snapshot and the history entries
not yet written (at most ``history`` of them: older ones fall off and are counted), so a
pipeline never waits for, nor fails with, its serving layer. ``flush(write)`` hands each
metric's pending part to ``write`` — the only place that talks to a server — and forgets
it once ``write`` returned; if ``write`` raises, everything stays for the next flush.
The buffer knows nothing of Redis: tests drive it with a fake writer.

>>> import pandas as pd
>>> from rtnb import Counters, Snapshot
>>> def snap(i):
...     t = pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=i)
...     return Snapshot(metric="orders", table=pd.DataFrame({"count": [i]}), window=None,
...                     watermark=t, newest_event=t, processed_at=t, counters=Counters())
>>> buffer = OutageBuffer(history=2)
>>> for i in range(1, 5):
...     buffer.add(snap(i), b"blob%d" % i)
>>> buffer.waiting, buffer.latest("orders").table["count"].item()
(1, 4)
>>> written = []
>>> buffer.flush(lambda metric, pending, gap: written.append(
...     (metric, [b for _, b in pending.history], gap.missed)))
>>> written
[('orders', [b'blob3', b'blob4'], 2)]
>>> buffer.waiting
0
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from collections.abc import Callable
from typing import Any

import pandas as pd

from ..codec import _ns
from ..health import Snapshot

__all__ = ["HistoryGap", "OutageBuffer", "Pending"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class HistoryGap:
    """History entries of a metric that did not reach Redis (or that Redis lost).

    ``start`` and ``end`` are the newest-event times of the first and last missing
    entry (``None`` when unknown, e.g. entries lost when the server restarted empty),
    ``missed`` how many entries, ``reason`` why. A new writer taking over a metric
    (a kernel restarted on the same prefix) is noted too, with ``missed=0``.

    >>> HistoryGap(metric="orders", start=None, end=None, missed=3, reason="server restarted")
    HistoryGap(metric='orders', start=None, end=None, missed=3, reason='server restarted')
    """

    metric: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    missed: int
    reason: str

    def as_json(self) -> str:
        """The note as JSON (what is kept in Redis under ``{p}:m:{metric}:gaps``)."""
        return json.dumps({"metric": self.metric, "start": _ns(self.start),
                           "end": _ns(self.end), "missed": self.missed,
                           "reason": self.reason})

    @classmethod
    def from_json(cls, text: str | bytes) -> HistoryGap:
        """The note back from :meth:`as_json` (``ValueError`` if it is not one).

        >>> g = HistoryGap(metric="m", start=pd.Timestamp("2024-01-01"), end=None,
        ...                missed=1, reason="outage")
        >>> HistoryGap.from_json(g.as_json()) == g
        True
        """
        d = json.loads(text)
        if not isinstance(d, dict):
            raise ValueError("a gap note is a JSON object")
        for f in ("start", "end"):
            if d.get(f) is not None and type(d[f]) is not int:
                raise ValueError(f"a gap note's {f} is nanoseconds or null")
        if not (isinstance(d.get("metric"), str) and type(d.get("missed")) is int
                and isinstance(d.get("reason"), str)):
            raise ValueError("a gap note has a metric, a count and a reason")
        return cls(metric=d["metric"],
                   start=None if d["start"] is None else pd.Timestamp(d["start"], unit="ns"),
                   end=None if d["end"] is None else pd.Timestamp(d["end"], unit="ns"),
                   missed=d["missed"], reason=d["reason"])


@dataclasses.dataclass
class Pending:
    """What one metric still has to write: its latest snapshot and history entries."""

    history: deque                    # (newest_event ns, encoded snapshot), oldest first
    latest: Snapshot | None = None
    latest_blob: bytes = b""
    extra: dict = dataclasses.field(default_factory=dict)  # key -> bytes, same transaction
    overflow: int = 0                 # entries that fell off the full buffer
    overflow_start: pd.Timestamp | None = None
    overflow_end: pd.Timestamp | None = None

    @property
    def empty(self) -> bool:
        return self.latest is None and not self.history and not self.extra

    def overflow_gap(self, metric: str) -> HistoryGap | None:
        """The note for the entries that fell off, if any did."""
        if not self.overflow:
            return None
        return HistoryGap(metric=metric, start=self.overflow_start, end=self.overflow_end,
                          missed=self.overflow,
                          reason="Redis was down longer than the history buffer")


class OutageBuffer:
    """Per metric, the latest snapshot and up to ``history`` entries not yet written."""

    def __init__(self, history: int) -> None:
        self.history_length = history
        self._pending: dict[str, Pending] = {}

    def add(self, snapshot: Snapshot, blob: bytes, extra: dict | None = None) -> None:
        """Keep ``snapshot`` (encoded as ``blob``) as its metric's latest and, when it has
        a newest event, as a history entry (same event time: it replaces the last)."""
        p = self._pending.get(snapshot.metric)
        if p is None:
            p = self._pending[snapshot.metric] = Pending(
                history=deque(maxlen=self.history_length))
        p.latest, p.latest_blob = snapshot, blob
        if extra:
            p.extra.update(extra)
        t = _ns(snapshot.newest_event)
        if t is None:  # the store contract: no event, no history entry
            return
        if p.history and p.history[-1][0] == t:
            p.history[-1] = (t, blob)  # same event time: the newer answer wins
            return
        if len(p.history) == self.history_length:  # the oldest entry falls off
            t_old = pd.Timestamp(p.history[0][0], unit="ns")
            p.overflow += 1
            p.overflow_start = p.overflow_start or t_old
            p.overflow_end = t_old
        p.history.append((t, blob))

    def latest(self, metric: str) -> Snapshot | None:
        """The newest snapshot of ``metric`` still waiting, if any."""
        p = self._pending.get(metric)
        return None if p is None else p.latest

    @property
    def waiting(self) -> int:
        """How many metrics have a snapshot waiting to be written."""
        return sum(1 for p in self._pending.values() if p.latest is not None)

    def metrics(self) -> list[str]:
        """The metrics this buffer has seen."""
        return list(self._pending)

    def flush(self, write: Callable[[str, Pending, HistoryGap | None], Any]) -> None:
        """``write(metric, pending, gap)`` each metric with something pending, oldest
        metric first; a metric is forgotten once its write returned. The first write
        that raises stops the flush and its exception propagates (nothing is lost)."""
        for metric, p in self._pending.items():
            if p.empty:
                continue
            write(metric, p, p.overflow_gap(metric))
            p.latest, p.latest_blob = None, b""
            p.history.clear()
            p.extra.clear()
            p.overflow = 0
            p.overflow_start = p.overflow_end = None

    def clear(self) -> None:
        """Forget everything pending."""
        self._pending.clear()
