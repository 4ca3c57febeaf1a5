"""The most recent late rows, bounded: what ``late_rows`` shows, for every aggregate.

Late rows are kept out of the aggregates but never dropped silently: the newest
``keep`` of them stay readable (``Rolling.late_rows``, ``DaskRolling.late_rows``,
``LiveMetric.late_rows``). Frames are kept as they came and dropped whole, oldest
first, once the newer ones hold ``keep`` rows: adding costs no copy.

>>> import pandas as pd
>>> late = LateRows(keep=3)
>>> late.add(pd.DataFrame({"v": [1, 2]})); late.add(pd.DataFrame({"v": [3, 4]}))
>>> late.rows["v"].tolist()
[2, 3, 4]
>>> late.add(pd.DataFrame({"v": [5, 6, 7]}))
>>> late.rows["v"].tolist(), len(late.frames)
([5, 6, 7], 1)
"""

from __future__ import annotations

from collections import deque

import pandas as pd

__all__ = ["LateRows"]


class LateRows:
    """At most ``keep`` of the most recent late rows (``keep=0``: none are kept)."""

    def __init__(self, keep: int) -> None:
        self.keep = int(keep)
        self.frames: deque[pd.DataFrame] = deque()
        self._kept = 0

    def add(self, rows: pd.DataFrame) -> None:
        """Keep ``rows`` (a frame of its own, e.g. made by ``iloc``), drop what is older."""
        if not self.keep or not len(rows):
            return
        self.frames.append(rows)
        self._kept += len(rows)
        while self._kept - len(self.frames[0]) >= self.keep:
            self._kept -= len(self.frames.popleft())

    @property
    def rows(self) -> pd.DataFrame:
        """The newest ``keep`` late rows, oldest first (an empty frame before any)."""
        if not self.frames:
            return pd.DataFrame()
        return pd.concat(list(self.frames)).iloc[-self.keep:]
