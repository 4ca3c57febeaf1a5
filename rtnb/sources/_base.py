"""What a source is: something the runner asks for the events that arrived in an interval.

A source is pulled, never pushes: ``read(start, end)`` returns a pandas DataFrame of the
events whose *arrival* (processing) time is in ``[start, end)``. Because the answer
depends only on the interval, the same source gives the same events whatever the batch
boundaries. Each batch has at least:

- ``ts`` — event time, ``datetime64[ns]`` (tz-naive UTC);
- ``arrival`` — when the event reached us, ``datetime64[ns]``;

plus the source's key columns and numeric measures. A temporarily failing source
raises :class:`rtnb.SourceUnavailable` and delivers the held-back events later.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

__all__ = ["Source", "BATCH_TIME_COLUMNS"]

BATCH_TIME_COLUMNS = ("ts", "arrival")


@runtime_checkable
class Source(Protocol):
    """The protocol every source follows.

    Attributes
    ----------
    name
        A short name shown in dashboards and errors.
    keys
        Key columns (dimensions), e.g. ``("country",)``; may be empty.
    measures
        Numeric measure columns, e.g. ``("amount",)``.
    id_col
        A column that identifies an event (for dropping duplicates), or ``None``.

    Optionally, ``columns`` (a tuple of the batches' column names) lets
    :func:`rtnb.build_pipeline` reject a misspelt metric or key at build time.

    Any object with these attributes and ``read`` is a source:

    >>> class Constant:
    ...     name, keys, measures, id_col = "constant", (), ("value",), None
    ...     def read(self, start, end):
    ...         return pd.DataFrame({"ts": [start], "arrival": [start], "value": [1.0]})
    >>> isinstance(Constant(), Source)
    True
    >>> len(Constant().read(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:00:01")))
    1
    """

    name: str
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    id_col: str | None

    def read(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Events that arrived in ``[start, end)``, in arrival order."""
        ...
