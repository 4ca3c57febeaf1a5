"""The dead-letter record: the recent rejected rows (bounded) and a count per rule.

A :class:`rtnb.Pipeline` adds every row it rejects here (validation, a failed stage, a
row the aggregate refused), with its ``reason`` and ``rule``; error panels read the
newest reasons and the totals per rule.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd

from .._errors import ParameterError

__all__ = ["DeadLetter"]


class DeadLetter:
    """The recent rejected rows (bounded) and a total count per rule, for error panels.

    >>> dl = DeadLetter(keep=2)
    >>> dl.add(pd.DataFrame({"amount": ["abc", None, -1],
    ...                      "reason": ["amount is not a number: 'abc'", "amount is missing", "amount is -1, below the minimum 0"],
    ...                      "rule": ["amount is not a number", "amount is missing", "amount is below the minimum"]}))
    >>> dl.total, len(dl.rows)
    (3, 2)
    >>> dl.last_reasons()
    ['amount is missing', 'amount is -1, below the minimum 0']
    >>> int(dl.counts["amount is not a number"])
    1
    """

    def __init__(self, keep: int = 1000) -> None:
        if isinstance(keep, bool) or not isinstance(keep, (int, np.integer)) or keep < 1:
            raise ParameterError("keep", keep, "must be a positive number of rows")
        self.keep = int(keep)
        self.total = 0
        self._frames: deque[pd.DataFrame] = deque()
        self._kept = 0
        self._counts: dict[str, int] = {}

    def add(self, rejected: pd.DataFrame) -> None:
        """Record rejected rows (a frame with ``reason`` and ``rule`` columns)."""
        n = len(rejected)
        if not n:
            return
        self.total += n
        for rule, k in rejected["rule"].value_counts(sort=False).items():
            self._counts[rule] = self._counts.get(rule, 0) + int(k)
        if n > self.keep:
            rejected = rejected.iloc[n - self.keep :]
        self._frames.append(rejected)
        self._kept += len(rejected)
        while self._kept - len(self._frames[0]) >= self.keep:
            self._kept -= len(self._frames.popleft())

    @property
    def rows(self) -> pd.DataFrame:
        """The most recent rejected rows (at most ``keep``), oldest first."""
        if not self._frames:
            return pd.DataFrame({"reason": pd.Series([], dtype=object), "rule": pd.Series([], dtype=object)})
        frame = pd.concat(list(self._frames), ignore_index=True) if len(self._frames) > 1 else self._frames[0]
        return frame.iloc[-self.keep :]

    @property
    def counts(self) -> pd.Series:
        """Rows rejected per rule since the start, most frequent first."""
        s = pd.Series(self._counts, dtype="int64", name="rows")
        s.index.name = "rule"
        return s.sort_values(ascending=False, kind="stable")

    def last_reasons(self, n: int = 10) -> list[str]:
        """The reasons of the ``n`` newest rejected rows, oldest first."""
        return [str(r) for r in self.rows["reason"].iloc[-n:]]

    def __repr__(self) -> str:
        return f"DeadLetter(total={self.total}, kept={min(self._kept, self.keep)}, rules={len(self._counts)})"
